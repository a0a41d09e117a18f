//! A file's SHA-256 and chunks, computed a slice at a time: hashing a
//! megabyte takes milliseconds on a fast CPU and far longer on a router's,
//! and the loop must come back to its timers in between (an advert is due
//! every second or faster). One slice, [`SLICE`] bytes, is one loop turn's
//! work.

use sha2::{Digest as _, Sha256};

use super::chunk::{self, Chunk, Digest};

/// Bytes hashed per loop turn: a few milliseconds on a slow router.
pub const SLICE: usize = 64 * 1024;

/// A file being hashed: its whole-file SHA-256 (unless already known,
/// for a file a transfer checked), then its chunks.
pub struct Hashing {
    pub data: Vec<u8>,
    known: Option<Digest>,
    sha: Sha256,
    hashed: usize,
    pub chunks: Vec<Chunk>,
    cut: usize,
}

impl Hashing {
    pub fn new(data: Vec<u8>, known: Option<Digest>) -> Hashing {
        let hashed = if known.is_some() { data.len() } else { 0 };
        Hashing {
            chunks: Vec::with_capacity(data.len() / 1024 + 1),
            data,
            known,
            sha: Sha256::new(),
            hashed,
            cut: 0,
        }
    }

    /// Hashes about [`SLICE`] more bytes; the digest once all is done.
    pub fn step(&mut self) -> Option<Digest> {
        let mut budget = SLICE;
        if self.hashed < self.data.len() {
            let end = self.data.len().min(self.hashed + budget);
            self.sha.update(&self.data[self.hashed..end]);
            budget -= end - self.hashed;
            self.hashed = end;
        }
        while budget > 0 && self.cut < self.data.len() {
            let chunk = chunk::next(&self.data, self.cut);
            self.cut += usize::from(chunk.len);
            budget = budget.saturating_sub(usize::from(chunk.len));
            self.chunks.push(chunk);
        }
        if self.hashed < self.data.len() || self.cut < self.data.len() {
            return None;
        }
        Some(match self.known {
            Some(digest) => digest,
            None => core::mem::take(&mut self.sha).finalize().into(),
        })
    }
}

/// A whole file's SHA-256, a slice at a time: a receiver's check of a
/// rebuilt file.
pub struct Verifying {
    sha: Sha256,
    hashed: usize,
}

impl Verifying {
    pub fn new() -> Verifying {
        Verifying {
            sha: Sha256::new(),
            hashed: 0,
        }
    }

    /// Hashes [`SLICE`] more bytes of `data`; the digest once all is done.
    pub fn step(&mut self, data: &[u8]) -> Option<Digest> {
        let end = data.len().min(self.hashed + SLICE);
        self.sha.update(&data[self.hashed..end]);
        self.hashed = end;
        (end == data.len()).then(|| core::mem::take(&mut self.sha).finalize().into())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slices_add_up_to_the_whole_file() {
        for len in [0, 1, SLICE - 1, SLICE, 3 * SLICE + 17] {
            let data: Vec<u8> = (0..len).map(|i| (i * 7919 % 251) as u8).collect();
            let mut hashing = Hashing::new(data.clone(), None);
            let mut steps = 1;
            let digest = loop {
                match hashing.step() {
                    Some(digest) => break digest,
                    None => steps += 1,
                }
            };
            assert_eq!(digest, chunk::digest(&data));
            assert_eq!(hashing.chunks, chunk::split(&data));
            assert!(
                steps <= 2 * len / SLICE + 2,
                "{steps} steps for {len} bytes"
            );
            let mut verifying = Verifying::new();
            let digest = loop {
                if let Some(digest) = verifying.step(&data) {
                    break digest;
                }
            };
            assert_eq!(digest, chunk::digest(&data));
        }
    }
}
