//! What the engine sends: messages queued as what they are for, written
//! (and signed) only when the daemon can send them, so the queue holds no
//! datagrams and a message for a file that changed since is dropped.

use core::net::IpAddr;

use super::chunk::Digest;
use super::message::{
    self, announce_entry, manifest_entry, version_of, Body, Message, MANIFEST_PER_MESSAGE, NO_FILE,
    PIECE_LEN,
};
use super::{Local, Sync};
use crate::proto::time::Instant;

/// A message to send, in the caller's buffer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Transmit {
    pub to: IpAddr,
    pub len: usize,
    /// The file whose content it carries (a source's manifest or chunk):
    /// the daemon's last-sync time of the file.
    pub content_of: Option<usize>,
}

/// A message waiting to be sent.
pub(super) enum Out {
    Hello(IpAddr),
    Announce(IpAddr),
    AskManifest(IpAddr, u8, Digest),
    /// Part of the manifest of the version `digest`, from chunk `first`.
    Manifest {
        to: IpAddr,
        file: u8,
        digest: Digest,
        first: u32,
    },
    Ask {
        to: IpAddr,
        file: u8,
        indexes: Vec<u32>,
    },
    /// Bytes of chunk `index` of the version `digest`, from `offset`.
    Piece {
        to: IpAddr,
        file: u8,
        digest: Digest,
        index: u32,
        offset: u16,
    },
}

impl Sync {
    /// Our copy of `file` if it is still the version `digest`.
    fn local(&self, file: u8, digest: &Digest) -> Option<&Local> {
        let local = self.files.get(usize::from(file))?.local.as_ref()?;
        (local.digest == *digest).then_some(local)
    }

    /// Whether messages wait to be sent.
    pub fn wants_send(&self) -> bool {
        !self.queue.is_empty()
    }

    /// The next message to send, written into `buf` (at least
    /// [`message::MAX_MESSAGE`] bytes).
    pub fn poll_transmit(&mut self, now: Instant, buf: &mut [u8]) -> Option<Transmit> {
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
    fn encode(&mut self, out: &Out, now: Instant, buf: &mut [u8]) -> Option<Transmit> {
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
            Out::Manifest {
                to,
                file,
                digest,
                first,
            } => {
                let local = self.local(file, &digest)?;
                let end = local
                    .chunks()
                    .len()
                    .min(first as usize + MANIFEST_PER_MESSAGE);
                for c in local.chunks().get(first as usize..end)? {
                    manifest_entry(&mut scratch, &c.id, c.len);
                }
                let body = Body::Manifest {
                    digest: local.digest,
                    size: local.data.len() as u32,
                    total: local.chunks().len() as u32,
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
                digest,
                index,
                offset,
            } => {
                let local = self.local(file, &digest)?;
                let chunk = local.chunks().get(index as usize)?;
                let start = chunk.offset as usize + usize::from(offset);
                let end = (chunk.offset as usize + usize::from(chunk.len)).min(start + PIECE_LEN);
                let body = Body::Chunk {
                    version: version_of(&digest),
                    index,
                    offset,
                    data: local.data.get(start..end)?,
                };
                (to, file, body)
            }
        };
        let content = matches!(body, Body::Manifest { .. } | Body::Chunk { .. });
        let len = message::emit(&self.key, buf, &Message { file, seq, body });
        if let Some(f) = self.files.get_mut(usize::from(file)) {
            f.counters.bytes_sent += len as u64;
        }
        Some(Transmit {
            to,
            len,
            content_of: content.then_some(usize::from(file)),
        })
    }
}
