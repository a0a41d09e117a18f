//! What a source and a receiver do with an authenticated message: a
//! source answers requests, a receiver takes what its master sends and
//! drives its transfer ([`super::fetch`]).

use core::net::IpAddr;

use super::fetch::{self, Fetch, Step};
use super::message::{
    announced, requested, version_of, Body, Message, MANIFEST_PER_MESSAGE, PIECE_LEN,
    REQUEST_PER_MESSAGE,
};
use super::transmit::Out;
use super::{Event, Role, Sync, MAX_RECEIVERS};
use crate::proto::time::Instant;

impl Sync {
    /// A source answers requests from its receivers.
    pub(super) fn serve(&mut self, now: Instant, from: IpAddr, message: Message<'_>) {
        let file = message.file;
        let local = self
            .files
            .get(usize::from(file))
            .and_then(|f| f.local.as_ref());
        match message.body {
            Body::Hello => {
                match self.receivers.iter().position(|r| r.0 == from) {
                    Some(i) => self.receivers[i].1 = now,
                    None if self.receivers.len() < MAX_RECEIVERS => {
                        self.receivers.push((from, now))
                    }
                    // Full: it is answered, not announced to.
                    None => {}
                }
                self.push(Out::Announce(from));
            }
            Body::ManifestRequest(digest) => match local {
                Some(local) if local.digest == digest => {
                    let total = local.chunks().len();
                    for first in (0..total.max(1)).step_by(MANIFEST_PER_MESSAGE) {
                        let first = first as u32;
                        self.push(Out::Manifest {
                            to: from,
                            file,
                            digest,
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
                let digest = local.digest;
                let mut pieces = Vec::new();
                for index in requested(indexes).take(fetch::WINDOW) {
                    let Some(chunk) = local.chunks().get(index as usize) else {
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
                        digest,
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
    pub(super) fn receive(&mut self, now: Instant, message: Message<'_>) -> Option<Event> {
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
                let local = local.map_or((&[][..], &[][..]), |l| (&l.data[..], &l.chunks[..]));
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
        self.step(step, now)
    }

    /// Carries out what a transfer needs next.
    pub(super) fn step(&mut self, step: Step, now: Instant) -> Option<Event> {
        let Role::Receiver(master) = self.role else {
            return None;
        };
        let fetch = self.fetch.as_ref()?;
        let file = fetch.file;
        match step {
            Step::Wait => None,
            // The rebuilt file is checked a slice per loop turn.
            Step::Verify => {
                self.work_at.get_or_insert(now);
                None
            }
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
                let digest = fetch.digest;
                self.fetch = None;
                Some(Event::Replace {
                    file: usize::from(file),
                    data,
                    digest,
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
    pub(super) fn maybe_fetch(&mut self, now: Instant) {
        let Role::Receiver(master) = self.role else {
            return;
        };
        if self.fetch.is_some() {
            return;
        }
        // A file being hashed is looked at once it is hashed.
        let differs = self.files.iter().enumerate().find_map(|(i, f)| {
            let (size, digest) = f.announced.filter(|_| f.hashing.is_none())?;
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
