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
mod hashing;
pub mod message;
mod roles;
mod transmit;

#[cfg(test)]
mod tests;

use core::net::IpAddr;
use core::time::Duration;
use std::collections::VecDeque;

use chunk::{Chunk, Digest};
use fetch::Fetch;
use hashing::Hashing;
use message::{authenticate, check_len, parse, Drop, Key, Message};
use transmit::Out;
pub use transmit::Transmit;

use crate::proto::time::{next_tick, Instant};

/// Files per block: their Announce fits one message.
pub const MAX_FILES: usize = 32;
/// Messages waiting to be sent: enough for the windows of a few receivers;
/// a request that finds it full is dropped and asked for again.
const MAX_QUEUE: usize = 2048;
/// Senders whose sequence numbers are remembered.
const MAX_SENDERS: usize = 32;
/// Receivers a source announces to besides its `unicast-peer`s.
const MAX_RECEIVERS: usize = 32;
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

/// Our copy of a file, hashed.
struct Local {
    data: Vec<u8>,
    digest: Digest,
    chunks: Vec<Chunk>,
}

impl Local {
    fn chunks(&self) -> &[Chunk] {
        &self.chunks
    }
}

#[derive(Default)]
struct File {
    /// None: missing, unreadable or over max-size.
    local: Option<Local>,
    /// A newer copy being hashed; `local` stays until it is done.
    hashing: Option<Hashing>,
    /// A receiver: what the source last announced.
    announced: Option<(u32, Digest)>,
    counters: FileCounters,
}

/// What the daemon must do after a datagram or a timeout.
#[derive(Debug, PartialEq, Eq)]
pub enum Event {
    /// Write this as the file's new content (atomically), then tell
    /// [`Sync::replaced`] or [`Sync::write_failed`].
    Replace {
        file: usize,
        data: Vec<u8>,
        digest: Digest,
    },
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
    /// Hashing waits (a file read, a rebuilt file to check): a slice of it
    /// is done each loop turn until none is left.
    work_at: Option<Instant>,
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
            work_at: None,
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
    /// It is hashed first, a slice per loop turn ([`hashing`]).
    pub fn set_local(&mut self, file: usize, data: Option<Vec<u8>>, now: Instant) {
        match data.filter(|d| d.len() <= self.settings.max_size as usize) {
            Some(data) => self.hash(file, data, None, now),
            None => {
                self.files[file].hashing = None;
                self.set_known(file, None, now);
            }
        }
    }

    fn hash(&mut self, file: usize, data: Vec<u8>, known: Option<Digest>, now: Instant) {
        self.files[file].hashing = Some(Hashing::new(data, known));
        self.work_at.get_or_insert(now);
    }

    /// Our copy of `file` is now `local`, hashed.
    fn set_known(&mut self, file: usize, local: Option<Local>, now: Instant) {
        let digest = local.as_ref().map(|l| l.digest);
        let entry = &mut self.files[file];
        if entry.local.as_ref().map(|l| l.digest) == digest {
            self.maybe_fetch(now);
            return;
        }
        entry.local = local;
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

    /// The new content of `file` was written; it is now our copy (once
    /// cut into chunks), its digest the one the transfer checked.
    pub fn replaced(&mut self, file: usize, data: Vec<u8>, digest: Digest, now: Instant) {
        self.hash(file, data, Some(digest), now);
    }

    /// A slice of the hashing that waits: a rebuilt file's check first (a
    /// transfer waits on it), then the files read.
    fn work(&mut self, now: Instant) -> Option<Event> {
        let event = match self.fetch.as_mut().filter(|f| f.verifying()) {
            Some(fetch) => {
                let step = fetch.verify();
                self.step(step, now)
            }
            None => {
                let file = self.files.iter().position(|f| f.hashing.is_some());
                if let Some(file) = file {
                    let hashing = self.files[file].hashing.as_mut();
                    if let Some(digest) = hashing.and_then(Hashing::step) {
                        let done = self.files[file].hashing.take();
                        let local = done.map(|h| Local {
                            data: h.data,
                            digest,
                            chunks: h.chunks,
                        });
                        self.set_known(file, local, now);
                    }
                }
                None
            }
        };
        let more = self.fetch.as_ref().is_some_and(Fetch::verifying)
            || self.files.iter().any(|f| f.hashing.is_some());
        self.work_at = more.then_some(now);
        event
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
            return self.work_at;
        }
        let mut at = self.tick_at;
        for other in [self.fetch.as_ref().map(|f| f.deadline), self.work_at] {
            at = other.map_or(at, |other| at.min(other));
        }
        Some(at)
    }

    pub fn handle_timeout(&mut self, now: Instant) -> Option<Event> {
        if self.work_at.is_some_and(|at| at <= now) {
            if let Some(event) = self.work(now) {
                return Some(event);
            }
        }
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
        self.step(step, now)
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
}
