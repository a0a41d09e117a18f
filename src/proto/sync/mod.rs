//! File sync (`sync` blocks), sans-IO: the master of the named instance
//! is the source of every file of the block, the other routers receive.
//!
//! Who talks to whom, in one UDP port per block:
//! - a receiver sends Hello to its master (the advert source it follows)
//!   every interval, and at once when its own copy changes;
//! - the source answers a Hello with an Announce (each file's size and
//!   SHA-256), sends one every interval to the receivers it heard from in
//!   the last three intervals and to the `unicast-peer`s, and one at once
//!   to all of them when a file changes (inotify);
//! - a receiver whose copy differs asks for the manifest (the file's
//!   chunk ids), then for the chunks it lacks ([`fetch`]), and replaces
//!   its file only once the whole file's SHA-256 matches.
//!
//! A receiver takes files only from the master it follows and answers no
//! request, so it never sends its copy back; the source never takes one.
//! Replays: every message has a sequence number, the sender's wall clock
//! in microseconds at start plus its monotonic clock since (so a
//! restarted sender goes on above its last number), and a receiver keeps
//! the highest authenticated number of each sender. That memory is
//! dropped after three intervals of silence, so a sender whose clock went
//! back is heard again; a replay is only taken in that window.

pub mod chunk;
pub mod fetch;
pub mod message;

#[cfg(test)]
mod tests;

use core::net::IpAddr;
use core::time::Duration;
use std::collections::VecDeque;

use chunk::{Chunk, Digest};
use fetch::{Fetch, Step};
use message::{
    announce_entry, announced, authenticate, check_len, manifest_entry, parse, requested,
    version_of, Body, Drop, Key, Message, MANIFEST_PER_MESSAGE, NO_FILE, PIECE_LEN,
    REQUEST_PER_MESSAGE,
};

use crate::proto::time::{next_tick, Instant};

/// Files per block: their Announce fits one message.
pub const MAX_FILES: usize = 32;
/// Messages waiting to be sent: enough for the windows of a few receivers;
/// a request that finds it full is dropped and asked for again.
const MAX_QUEUE: usize = 2048;
/// Senders whose sequence numbers are remembered.
const MAX_SENDERS: usize = 32;
/// Intervals after which a silent receiver, or a sender's sequence
/// number, is forgotten.
const FORGET_AFTER: u32 = 3;

/// Who may send to us.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Peers {
    /// The instance's `unicast-peer`s.
    Listed(Vec<IpAddr>),
    /// Anyone in a subnet of the interface's own addresses.
    Subnets(Vec<(IpAddr, u8)>),
}

impl Peers {
    pub fn contains(&self, address: IpAddr) -> bool {
        match self {
            Peers::Listed(list) => list.contains(&address),
            Peers::Subnets(nets) => nets
                .iter()
                .any(|&(net, prefix)| same_subnet(net, address, prefix)),
        }
    }
}

fn same_subnet(a: IpAddr, b: IpAddr, prefix: u8) -> bool {
    let (a, b, bits) = match (a, b) {
        (IpAddr::V4(a), IpAddr::V4(b)) => (u128::from(a.to_bits()), u128::from(b.to_bits()), 32),
        (IpAddr::V6(a), IpAddr::V6(b)) => (a.to_bits(), b.to_bits(), 128),
        _ => return false,
    };
    let shift = bits - u32::from(prefix).min(bits);
    shift >= bits || (a ^ b) >> shift == 0
}

/// What the instance's state makes of this router.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    /// Neither master nor a backup that knows its master.
    Idle,
    Source,
    /// A backup, following the master at this address.
    Receiver(IpAddr),
}

#[derive(Debug, Clone)]
pub struct Settings {
    pub interval: Duration,
    pub max_size: u32,
    pub peers: Peers,
}

/// A file's counters, for the status.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct FileCounters {
    pub bytes_sent: u64,
    pub bytes_received: u64,
    /// Transfers that failed, and files that could not be read or written.
    pub errors: u64,
}

/// Our copy of a file.
struct Local {
    data: Vec<u8>,
    digest: Digest,
    chunks: Vec<Chunk>,
}

#[derive(Default)]
struct File {
    /// None: missing, unreadable or over max-size.
    local: Option<Local>,
    /// A receiver: what the source last announced.
    announced: Option<(u32, Digest)>,
    counters: FileCounters,
}

/// A message waiting to be sent.
enum Out {
    Hello(IpAddr),
    Announce(IpAddr),
    AskManifest(IpAddr, u8, Digest),
    Manifest {
        to: IpAddr,
        file: u8,
        first: u32,
    },
    Ask {
        to: IpAddr,
        file: u8,
        indexes: Vec<u32>,
    },
    Piece {
        to: IpAddr,
        file: u8,
        index: u32,
        offset: u16,
    },
}

/// What the daemon must do after a datagram or a timeout.
#[derive(Debug, PartialEq, Eq)]
pub enum Event {
    /// Write this as the file's new content (atomically), then tell
    /// [`Sync::replaced`] or [`Sync::write_failed`].
    Replace { file: usize, data: Vec<u8> },
    /// A transfer was given up, for this reason (counted).
    Failed { file: usize, why: &'static str },
}

pub struct Sync {
    key: Key,
    settings: Settings,
    /// Added to `now` for our sequence numbers (see the module's note).
    seed: u64,
    seq: u64,
    role: Role,
    files: Vec<File>,
    /// (sender, highest sequence number, when).
    senders: Vec<(IpAddr, u64, Instant)>,
    /// A source: the receivers heard from, and when.
    receivers: Vec<(IpAddr, Instant)>,
    queue: VecDeque<Out>,
    fetch: Option<Fetch>,
    tick_at: Instant,
    /// Datagrams dropped, by [`Drop::index`].
    pub drops: [u64; Drop::ALL.len()],
}

impl Sync {
    /// `seed`: the wall clock in microseconds less `now`'s.
    pub fn new(key: Key, settings: Settings, seed: u64, files: usize, now: Instant) -> Sync {
        Sync {
            key,
            settings,
            seed,
            seq: 0,
            role: Role::Idle,
            files: (0..files.min(MAX_FILES)).map(|_| File::default()).collect(),
            senders: Vec::new(),
            receivers: Vec::new(),
            queue: VecDeque::new(),
            fetch: None,
            tick_at: now,
            drops: [0; Drop::ALL.len()],
        }
    }

    /// Who may send to us, once the daemon knows the instance's address.
    pub fn set_peers(&mut self, peers: Peers) {
        self.settings.peers = peers;
    }

    pub fn role(&self) -> Role {
        self.role
    }

    pub fn counters(&self, file: usize) -> &FileCounters {
        &self.files[file].counters
    }

    /// The SHA-256 of our copy, None when we have none.
    pub fn digest(&self, file: usize) -> Option<&Digest> {
        self.files[file].local.as_ref().map(|l| &l.digest)
    }

    /// Follows the instance: mastership moves the direction with it. A
    /// transfer in progress and the queue belong to the old role.
    pub fn set_role(&mut self, role: Role, now: Instant) {
        if role == self.role {
            return;
        }
        self.role = role;
        self.fetch = None;
        self.queue.clear();
        self.receivers.clear();
        for file in &mut self.files {
            file.announced = None;
        }
        self.tick_at = now;
    }

    /// Our copy of `file` as just read (None: missing, or over
    /// `max-size`, which the daemon logs). A change is announced at once
    /// by a source; a receiver asks its master whether it is still right.
    pub fn set_local(&mut self, file: usize, data: Option<Vec<u8>>, now: Instant) {
        let data = data.filter(|d| d.len() <= self.settings.max_size as usize);
        let digest = data.as_deref().map(chunk::digest);
        let entry = &mut self.files[file];
        if entry.local.as_ref().map(|l| l.digest) == digest {
            return;
        }
        entry.local = data.zip(digest).map(|(data, digest)| Local {
            chunks: chunk::split(&data),
            data,
            digest,
        });
        match self.role {
            Role::Source => {
                for to in self.audience() {
                    self.push(Out::Announce(to));
                }
            }
            Role::Receiver(master) => {
                let announced = entry.announced.map(|(_, d)| d);
                if announced.is_some() && announced != digest {
                    self.push(Out::Hello(master));
                }
                self.maybe_fetch(now);
            }
            Role::Idle => {}
        }
    }

    /// The new content of `file` was written; it is now our copy.
    pub fn replaced(&mut self, file: usize, data: Vec<u8>, now: Instant) {
        self.set_local(file, Some(data), now);
        self.maybe_fetch(now);
    }

    /// The new content of `file` could not be written: counted, and asked
    /// for again at the next announce.
    pub fn write_failed(&mut self, file: usize) {
        self.files[file].counters.errors += 1;
        self.files[file].announced = None;
    }

    /// Counts a file that could not be read.
    pub fn read_failed(&mut self, file: usize) {
        self.files[file].counters.errors += 1;
    }

    /// The receivers a source announces to.
    fn audience(&self) -> Vec<IpAddr> {
        let mut to: Vec<IpAddr> = self.receivers.iter().map(|r| r.0).collect();
        if let Peers::Listed(peers) = &self.settings.peers {
            for &peer in peers {
                if !to.contains(&peer) {
                    to.push(peer);
                }
            }
        }
        to
    }

    fn push(&mut self, out: Out) -> bool {
        if self.queue.len() >= MAX_QUEUE {
            return false;
        }
        self.queue.push_back(out);
        true
    }

    /// The next deadline: the periodic check, or a transfer's retry.
    pub fn poll_at(&self) -> Option<Instant> {
        if self.role == Role::Idle {
            return None;
        }
        let fetch = self.fetch.as_ref().map(|f| f.deadline);
        Some(fetch.map_or(self.tick_at, |at| at.min(self.tick_at)))
    }

    pub fn handle_timeout(&mut self, now: Instant) -> Option<Event> {
        if self.role != Role::Idle && self.tick_at <= now {
            self.tick_at = next_tick(self.tick_at, now, self.settings.interval);
            let forget = self.settings.interval * FORGET_AFTER;
            match self.role {
                Role::Source => {
                    self.receivers
                        .retain(|r| now.saturating_since(r.1) < forget);
                    for to in self.audience() {
                        self.push(Out::Announce(to));
                    }
                }
                Role::Receiver(master) => {
                    self.push(Out::Hello(master));
                }
                Role::Idle => {}
            }
        }
        let fetch = self.fetch.as_mut().filter(|f| f.deadline <= now)?;
        let step = fetch.timeout(now);
        self.step(step)
    }

    /// Whether messages wait to be sent.
    pub fn wants_send(&self) -> bool {
        !self.queue.is_empty()
    }

    /// The next message to send, written into `buf` (at least
    /// [`message::MAX_MESSAGE`] bytes): its destination and length.
    pub fn poll_transmit(&mut self, now: Instant, buf: &mut [u8]) -> Option<(IpAddr, usize)> {
        loop {
            let out = self.queue.pop_front()?;
            if let Some(sent) = self.encode(&out, now, buf) {
                return Some(sent);
            }
        }
    }

    fn next_seq(&mut self, now: Instant) -> u64 {
        self.seq = (self.seq + 1).max(self.seed.wrapping_add(now.as_micros()));
        self.seq
    }

    /// Writes one queued message; None when what it was for is gone (the
    /// file changed since it was asked for).
    fn encode(&mut self, out: &Out, now: Instant, buf: &mut [u8]) -> Option<(IpAddr, usize)> {
        let seq = self.next_seq(now);
        let mut scratch = Vec::new();
        let (to, file, body) = match *out {
            Out::Hello(to) => (to, NO_FILE, Body::Hello),
            Out::Announce(to) => {
                for (i, file) in self.files.iter().enumerate() {
                    let has = file
                        .local
                        .as_ref()
                        .map(|l| (l.data.len() as u32, &l.digest));
                    announce_entry(&mut scratch, i as u8, has);
                }
                (to, NO_FILE, Body::Announce(&scratch))
            }
            Out::AskManifest(to, file, digest) => (to, file, Body::ManifestRequest(digest)),
            Out::Manifest { to, file, first } => {
                let local = self.files[usize::from(file)].local.as_ref()?;
                let end = local
                    .chunks
                    .len()
                    .min(first as usize + MANIFEST_PER_MESSAGE);
                for c in &local.chunks[first as usize..end] {
                    manifest_entry(&mut scratch, &c.id, c.len);
                }
                let body = Body::Manifest {
                    digest: local.digest,
                    size: local.data.len() as u32,
                    total: local.chunks.len() as u32,
                    first,
                    entries: &scratch,
                };
                (to, file, body)
            }
            Out::Ask {
                to,
                file,
                ref indexes,
            } => {
                let fetch = self.fetch.as_ref().filter(|f| f.file == file)?;
                scratch.extend(indexes.iter().flat_map(|i| i.to_be_bytes()));
                let version = version_of(&fetch.digest);
                let body = Body::ChunkRequest {
                    version,
                    indexes: &scratch,
                };
                (to, file, body)
            }
            Out::Piece {
                to,
                file,
                index,
                offset,
            } => {
                let local = self.files[usize::from(file)].local.as_ref()?;
                let chunk = local.chunks.get(index as usize)?;
                let start = chunk.offset as usize + usize::from(offset);
                let end = (chunk.offset as usize + usize::from(chunk.len)).min(start + PIECE_LEN);
                let body = Body::Chunk {
                    version: version_of(&local.digest),
                    index,
                    offset,
                    data: &local.data[start..end],
                };
                (to, file, body)
            }
        };
        let len = message::emit(&self.key, buf, &Message { file, seq, body });
        if let Some(f) = self.files.get_mut(usize::from(file)) {
            f.counters.bytes_sent += len as u64;
        }
        Some((to, len))
    }

    /// A datagram from `from`: checked (length, peer, tag, sequence
    /// number, body) before anything is done with it.
    pub fn handle_datagram(
        &mut self,
        now: Instant,
        from: IpAddr,
        datagram: &[u8],
    ) -> Result<Option<Event>, Drop> {
        let result = self.check(now, from, datagram);
        let message = match result {
            Ok(message) => message,
            Err(drop) => {
                self.drops[drop.index()] += 1;
                return Err(drop);
            }
        };
        if let Some(f) = self.files.get_mut(usize::from(message.file)) {
            f.counters.bytes_received += datagram.len() as u64;
        }
        Ok(match self.role {
            Role::Source => {
                self.serve(now, from, message);
                None
            }
            Role::Receiver(master) if master == from => self.receive(now, message),
            Role::Receiver(_) | Role::Idle => None,
        })
    }

    fn check<'a>(
        &mut self,
        now: Instant,
        from: IpAddr,
        datagram: &'a [u8],
    ) -> Result<Message<'a>, Drop> {
        check_len(datagram)?;
        if !self.settings.peers.contains(from) {
            return Err(Drop::NotPeer);
        }
        let seq = authenticate(&self.key, datagram)?;
        let forget = self.settings.interval * FORGET_AFTER;
        let known = self.senders.iter().position(|s| s.0 == from);
        if let Some(i) = known {
            let (_, last, at) = self.senders[i];
            if seq <= last && now.saturating_since(at) < forget {
                return Err(Drop::Replayed);
            }
        }
        let message = parse(datagram)?;
        match known {
            Some(i) => self.senders[i] = (from, seq, now),
            None => {
                if self.senders.len() >= MAX_SENDERS {
                    let oldest = (0..self.senders.len()).min_by_key(|&i| self.senders[i].2);
                    self.senders.swap_remove(oldest.unwrap_or(0));
                }
                self.senders.push((from, seq, now));
            }
        }
        Ok(message)
    }

    /// A source answers requests from its receivers.
    fn serve(&mut self, now: Instant, from: IpAddr, message: Message<'_>) {
        let file = message.file;
        let local = self
            .files
            .get(usize::from(file))
            .and_then(|f| f.local.as_ref());
        match message.body {
            Body::Hello => {
                match self.receivers.iter_mut().find(|r| r.0 == from) {
                    Some(r) => r.1 = now,
                    None => self.receivers.push((from, now)),
                }
                self.push(Out::Announce(from));
            }
            Body::ManifestRequest(digest) => match local {
                Some(local) if local.digest == digest => {
                    let total = local.chunks.len();
                    for first in (0..total.max(1)).step_by(MANIFEST_PER_MESSAGE) {
                        let first = first as u32;
                        self.push(Out::Manifest {
                            to: from,
                            file,
                            first,
                        });
                    }
                }
                // Asked for an older version: tell it the current one.
                _ => {
                    self.push(Out::Announce(from));
                }
            },
            Body::ChunkRequest { version, indexes } => {
                let Some(local) = local.filter(|l| version_of(&l.digest) == version) else {
                    self.push(Out::Announce(from));
                    return;
                };
                let mut pieces = Vec::new();
                for index in requested(indexes).take(fetch::WINDOW) {
                    let Some(chunk) = local.chunks.get(index as usize) else {
                        continue;
                    };
                    for offset in (0..usize::from(chunk.len)).step_by(PIECE_LEN) {
                        pieces.push((index, offset as u16));
                    }
                }
                for (index, offset) in pieces {
                    if !self.push(Out::Piece {
                        to: from,
                        file,
                        index,
                        offset,
                    }) {
                        break;
                    }
                }
            }
            Body::Announce(_) | Body::Manifest { .. } | Body::Chunk { .. } => {}
        }
    }

    /// A receiver takes what its master sends.
    fn receive(&mut self, now: Instant, message: Message<'_>) -> Option<Event> {
        let step = match message.body {
            Body::Announce(entries) => {
                for (file, has) in announced(entries) {
                    if let Some(f) = self.files.get_mut(usize::from(file)) {
                        f.announced = has;
                    }
                }
                let stale = self.fetch.as_ref().is_some_and(|f| {
                    self.files[usize::from(f.file)].announced.map(|a| a.1) != Some(f.digest)
                });
                if stale {
                    self.fetch = None;
                }
                self.maybe_fetch(now);
                return None;
            }
            Body::Manifest {
                digest,
                size,
                total,
                first,
                entries,
            } => {
                let fetch = self
                    .fetch
                    .as_mut()
                    .filter(|f| f.file == message.file && f.digest == digest)?;
                let local = self.files[usize::from(message.file)].local.as_ref();
                let local = local.map_or(&[][..], |l| &l.data);
                fetch.manifest(now, (size, total, first), entries, local)
            }
            Body::Chunk {
                version,
                index,
                offset,
                data,
            } => {
                let fetch = self
                    .fetch
                    .as_mut()
                    .filter(|f| f.file == message.file && version_of(&f.digest) == version)?;
                fetch.chunk(now, index, offset, data)
            }
            Body::Hello | Body::ManifestRequest(_) | Body::ChunkRequest { .. } => return None,
        };
        self.step(step)
    }

    /// Carries out what a transfer needs next.
    fn step(&mut self, step: Step) -> Option<Event> {
        let Role::Receiver(master) = self.role else {
            return None;
        };
        let fetch = self.fetch.as_ref()?;
        let file = fetch.file;
        match step {
            Step::Wait => None,
            Step::AskManifest => {
                self.push(Out::AskManifest(master, file, fetch.digest));
                None
            }
            Step::Ask(indexes) => {
                for part in indexes.chunks(REQUEST_PER_MESSAGE) {
                    self.push(Out::Ask {
                        to: master,
                        file,
                        indexes: part.to_vec(),
                    });
                }
                None
            }
            Step::Done(data) => {
                self.fetch = None;
                Some(Event::Replace {
                    file: usize::from(file),
                    data,
                })
            }
            Step::Failed(why) => {
                self.fetch = None;
                let f = &mut self.files[usize::from(file)];
                f.counters.errors += 1;
                // Not again until the next announce.
                f.announced = None;
                Some(Event::Failed {
                    file: usize::from(file),
                    why,
                })
            }
        }
    }

    /// A receiver with no transfer going starts one for the first file
    /// whose copy differs from what was announced.
    fn maybe_fetch(&mut self, now: Instant) {
        let Role::Receiver(master) = self.role else {
            return;
        };
        if self.fetch.is_some() {
            return;
        }
        let differs = self.files.iter().enumerate().find_map(|(i, f)| {
            let (size, digest) = f.announced?;
            let ours = f.local.as_ref().map(|l| l.digest);
            (ours != Some(digest) && size <= self.settings.max_size).then_some((i, size, digest))
        });
        let Some((file, size, digest)) = differs else {
            return;
        };
        self.fetch = Some(Fetch::new(file as u8, digest, size, now));
        self.push(Out::AskManifest(master, file as u8, digest));
    }
}
