//! A receiver's transfer of one file: the manifest first, then only the
//! chunks its own copy lacks, a bounded window of them at a time, then the
//! whole file checked against the announced SHA-256. Memory: the new file
//! (at most `max-size`) and a few words per chunk.

use core::time::Duration;

use super::chunk::{self, Chunk, ChunkId, Digest, MIN_CHUNK};
use super::hashing::Verifying;
use super::message::{manifest_entries, PIECE_LEN};
use crate::proto::time::Instant;

/// Chunks asked for at once: at most 32 × 4 KiB in flight, so a slow
/// receiver holds the source's queue small and a 1 MB file comes in some
/// 30 round trips.
pub const WINDOW: usize = 32;
/// With no progress for this long, what is missing is asked for again.
pub const RETRY: Duration = Duration::from_millis(300);
/// After this many retries without progress the transfer is given up; the
/// next announce starts it again.
const MAX_STALLS: u8 = 5;

/// What the transfer needs next.
#[derive(Debug, PartialEq, Eq)]
pub enum Step {
    Wait,
    AskManifest,
    Ask(Vec<u32>),
    /// Every chunk is in: the whole file's SHA-256 is checked next, a
    /// slice at a time ([`Fetch::verify`]).
    Verify,
    /// The new file, its SHA-256 checked.
    Done(Vec<u8>),
    Failed(&'static str),
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Have {
    Missing,
    Asked,
    /// The pieces received so far, a bit each.
    Pieces(u8),
    Done,
}

pub struct Fetch {
    pub file: u8,
    pub digest: Digest,
    size: u32,
    /// The manifest as it comes in; empty until its first part.
    entries: Vec<Option<(ChunkId, u16)>>,
    /// Once the manifest is whole: the file being rebuilt, where each chunk
    /// starts in it and what we have of each.
    data: Vec<u8>,
    offsets: Vec<u32>,
    have: Vec<Have>,
    /// Missing chunks not asked for yet, from the next one on.
    next_missing: usize,
    in_flight: usize,
    pub deadline: Instant,
    stalls: u8,
    /// The rebuilt file's check, once every chunk is in.
    verifying: Option<Verifying>,
}

impl Fetch {
    pub fn new(file: u8, digest: Digest, size: u32, now: Instant) -> Fetch {
        Fetch {
            file,
            digest,
            size,
            entries: Vec::new(),
            data: Vec::new(),
            offsets: Vec::new(),
            have: Vec::new(),
            next_missing: 0,
            in_flight: 0,
            deadline: now + RETRY,
            stalls: 0,
            verifying: None,
        }
    }

    fn progress(&mut self, now: Instant) {
        self.deadline = now + RETRY;
        self.stalls = 0;
    }

    /// A part of the manifest; once it is whole, the chunks `local` (the
    /// receiver's own copy, and its chunks) has are copied from it.
    pub fn manifest(
        &mut self,
        now: Instant,
        (size, total, first): (u32, u32, u32),
        entries: &[u8],
        local: (&[u8], &[Chunk]),
    ) -> Step {
        if !self.have.is_empty() {
            return Step::Wait;
        }
        // Every chunk but the last is at least MIN_CHUNK long.
        if size != self.size || total as usize > size as usize / MIN_CHUNK + 1 {
            return Step::Failed("manifest does not match the announced file");
        }
        if self.entries.is_empty() {
            self.entries = vec![None; total as usize];
        }
        if self.entries.len() != total as usize {
            return Step::Failed("manifest changed its chunk count");
        }
        for (i, entry) in manifest_entries(entries).enumerate() {
            // Checked: `first` is the peer's, and usize is 32 bits on routers.
            let at = (first as usize).checked_add(i);
            let Some(slot) = at.and_then(|at| self.entries.get_mut(at)) else {
                return Step::Failed("manifest entry out of range");
            };
            *slot = Some(entry);
        }
        self.progress(now);
        if self.entries.iter().any(Option::is_none) {
            return Step::Wait;
        }
        self.plan(local)
    }

    /// The manifest is whole: lay the file out and fill it from `local`.
    fn plan(&mut self, (local, chunks): (&[u8], &[Chunk])) -> Step {
        let mut offset: u64 = 0;
        for &(_, len) in self.entries.iter().flatten() {
            if usize::from(len) > chunk::MAX_CHUNK || len == 0 {
                return Step::Failed("manifest chunk length out of range");
            }
            self.offsets.push(offset as u32);
            offset += u64::from(len);
        }
        if offset != u64::from(self.size) {
            return Step::Failed("manifest lengths do not add up to the size");
        }
        let ours = chunk::Index::new(chunks);
        self.data = vec![0; self.size as usize];
        for (i, &(id, len)) in self.entries.iter().flatten().enumerate() {
            let at = self.offsets[i] as usize;
            let found = ours.find(&id).filter(|c| c.len == len);
            self.have.push(match found {
                Some(c) => {
                    let from = c.offset as usize;
                    self.data[at..at + usize::from(len)]
                        .copy_from_slice(&local[from..from + usize::from(len)]);
                    Have::Done
                }
                None => Have::Missing,
            });
        }
        self.ask()
    }

    /// The next window of missing chunks, or the end.
    fn ask(&mut self) -> Step {
        if self.in_flight > 0 {
            return Step::Wait;
        }
        let mut ask = Vec::new();
        while self.next_missing < self.have.len() && ask.len() < WINDOW {
            if self.have[self.next_missing] == Have::Missing {
                self.have[self.next_missing] = Have::Asked;
                ask.push(self.next_missing as u32);
            }
            self.next_missing += 1;
        }
        if !ask.is_empty() {
            self.in_flight = ask.len();
            return Step::Ask(ask);
        }
        if let Some(first) = self.have.iter().position(|h| *h != Have::Done) {
            // A chunk that failed its id is asked for again.
            self.next_missing = first;
            return self.ask_again();
        }
        self.verifying = Some(Verifying::new());
        Step::Verify
    }

    pub fn verifying(&self) -> bool {
        self.verifying.is_some()
    }

    /// A slice of the rebuilt file's check.
    pub fn verify(&mut self) -> Step {
        let Some(digest) = self.verifying.as_mut().and_then(|v| v.step(&self.data)) else {
            return Step::Wait;
        };
        if digest == self.digest {
            Step::Done(core::mem::take(&mut self.data))
        } else {
            Step::Failed("rebuilt file does not match its SHA-256")
        }
    }

    /// Everything not done, from `next_missing` on, asked for again.
    fn ask_again(&mut self) -> Step {
        for have in &mut self.have[self.next_missing..] {
            if *have != Have::Done {
                *have = Have::Missing;
            }
        }
        self.in_flight = 0;
        self.ask()
    }

    /// A piece of chunk `index` at `offset` within it.
    pub fn chunk(&mut self, now: Instant, index: u32, offset: u16, piece: &[u8]) -> Step {
        let i = index as usize;
        let (Some(&have), Some(&Some((id, len)))) = (self.have.get(i), self.entries.get(i)) else {
            return Step::Wait;
        };
        let (offset, len) = (usize::from(offset), usize::from(len));
        let bit = offset / PIECE_LEN;
        let expected = PIECE_LEN.min(len.saturating_sub(offset));
        let mask = match have {
            Have::Asked => 0,
            Have::Pieces(mask) => mask,
            Have::Missing | Have::Done => return Step::Wait,
        };
        if offset % PIECE_LEN != 0 || offset >= len || piece.len() != expected {
            return Step::Wait;
        }
        let at = self.offsets[i] as usize;
        self.data[at + offset..at + offset + piece.len()].copy_from_slice(piece);
        let mask = mask | 1 << bit;
        self.progress(now);
        if mask.count_ones() as usize != len.div_ceil(PIECE_LEN) {
            self.have[i] = Have::Pieces(mask);
            return Step::Wait;
        }
        self.in_flight = self.in_flight.saturating_sub(1);
        self.have[i] = if chunk::chunk_id(&self.data[at..at + len]) == id {
            Have::Done
        } else {
            Have::Missing
        };
        self.ask()
    }

    /// The deadline passed without progress.
    pub fn timeout(&mut self, now: Instant) -> Step {
        self.deadline = now + RETRY;
        if self.verifying() {
            return Step::Wait;
        }
        self.stalls += 1;
        if self.stalls > MAX_STALLS {
            return Step::Failed("the source stopped answering");
        }
        if self.have.is_empty() {
            return Step::AskManifest;
        }
        self.next_missing = 0;
        self.ask_again()
    }
}
