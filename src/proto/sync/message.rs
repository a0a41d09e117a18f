//! The sync messages on the wire: one UDP datagram each, never more than
//! [`MAX_MESSAGE`] bytes, so no IP fragmentation on a 1500-byte link.
//!
//! ```text
//!  0  version (1)   1  type   2  file (its place in the config)   3  0
//!  4  sequence number, 64 bits, big-endian
//! 12  body (by type, below)
//! -32 HMAC-SHA-256 under the shared key of every byte before it
//! ```
//!
//! A file is named by its place among the `file` lines of its sync block,
//! never by a path: nothing from the wire can make us write elsewhere.
//! Bodies, all numbers big-endian:
//! - Hello: empty. A receiver to the master, every interval.
//! - Announce: per file, its place, 1 if the source has it (0: missing
//!   or over max-size), its size (32 bits) and its SHA-256.
//! - ManifestRequest: the SHA-256 of the version wanted.
//! - Manifest: the SHA-256, the size, the chunk count, the index of the
//!   first chunk here, then per chunk its id (6 bytes) and length (16 bits).
//! - ChunkRequest: the version (the SHA-256's first 8 bytes), then chunk
//!   indexes (32 bits each).
//! - Chunk: the version, the chunk's index (32 bits), the offset in the
//!   chunk (16 bits), then bytes of the chunk up to the end of the datagram.

use hmac::{Hmac, Mac};
use sha2::Sha256;

use super::chunk::{ChunkId, Digest, CHUNK_ID_LEN};

/// The largest message: a 1500-byte MTU less the IPv6 and UDP headers,
/// with room to spare for tunnels.
pub const MAX_MESSAGE: usize = 1400;
pub const HEADER_LEN: usize = 12;
pub const TAG_LEN: usize = 32;
const VERSION: u8 = 1;
/// A file's entry in an Announce.
pub const ANNOUNCE_ENTRY_LEN: usize = 1 + 1 + 4 + 32;
/// A chunk's entry in a Manifest.
pub const MANIFEST_ENTRY_LEN: usize = CHUNK_ID_LEN + 2;
const MANIFEST_FIXED: usize = 32 + 4 + 4 + 4;
/// Chunk entries per Manifest message.
pub const MANIFEST_PER_MESSAGE: usize =
    (MAX_MESSAGE - HEADER_LEN - TAG_LEN - MANIFEST_FIXED) / MANIFEST_ENTRY_LEN;
const CHUNK_FIXED: usize = 8 + 4 + 2;
/// Bytes of a chunk per Chunk message: a 4 KiB chunk takes 4.
pub const PIECE_LEN: usize = 1024;
/// Chunk indexes per ChunkRequest.
pub const REQUEST_PER_MESSAGE: usize = (MAX_MESSAGE - HEADER_LEN - TAG_LEN - 8) / 4;
/// The place of no file (Hello, Announce).
pub const NO_FILE: u8 = 0xff;

/// The version a ChunkRequest or Chunk is for: the file's SHA-256's start.
pub type Version = [u8; 8];

pub fn version_of(digest: &Digest) -> Version {
    let mut version = [0; 8];
    version.copy_from_slice(&digest[..8]);
    version
}

/// Why a datagram was dropped, each counted under its own name.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Drop {
    /// Shorter than a header and a tag.
    Truncated,
    /// Longer than [`MAX_MESSAGE`].
    Oversized,
    /// Its tag is not ours under the shared key.
    Unauthenticated,
    /// Its sequence number is not above the last one from its sender.
    Replayed,
    /// From an address that is not a peer.
    NotPeer,
    /// Authenticated, but its body does not parse (a newer or broken peer).
    Malformed,
}

impl Drop {
    pub const ALL: [Drop; 6] = [
        Drop::Truncated,
        Drop::Oversized,
        Drop::Unauthenticated,
        Drop::Replayed,
        Drop::NotPeer,
        Drop::Malformed,
    ];

    pub fn index(self) -> usize {
        self as usize
    }

    /// Its counter's name in the status.
    pub fn name(self) -> &'static str {
        match self {
            Drop::Truncated => "truncated",
            Drop::Oversized => "oversized",
            Drop::Unauthenticated => "unauthenticated",
            Drop::Replayed => "replayed",
            Drop::NotPeer => "not-peer",
            Drop::Malformed => "malformed",
        }
    }
}

/// A message's body, borrowed from the datagram.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Body<'a> {
    Hello,
    /// [`ANNOUNCE_ENTRY_LEN`]-byte entries; see [`announced`].
    Announce(&'a [u8]),
    ManifestRequest(Digest),
    Manifest {
        digest: Digest,
        size: u32,
        total: u32,
        first: u32,
        /// [`MANIFEST_ENTRY_LEN`]-byte entries; see [`manifest_entries`].
        entries: &'a [u8],
    },
    ChunkRequest {
        version: Version,
        /// 32-bit chunk indexes; see [`requested`].
        indexes: &'a [u8],
    },
    Chunk {
        version: Version,
        index: u32,
        offset: u16,
        data: &'a [u8],
    },
}

impl Body<'_> {
    fn kind(&self) -> u8 {
        match self {
            Body::Hello => 1,
            Body::Announce(_) => 2,
            Body::ManifestRequest(_) => 3,
            Body::Manifest { .. } => 4,
            Body::ChunkRequest { .. } => 5,
            Body::Chunk { .. } => 6,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Message<'a> {
    pub file: u8,
    pub seq: u64,
    pub body: Body<'a>,
}

/// The shared key, keyed once.
#[derive(Clone)]
pub struct Key(Hmac<Sha256>);

impl Key {
    /// Any length works for HMAC (RFC 2104 §3); the config asks for at
    /// least 16 bytes.
    pub fn new(secret: &[u8]) -> Key {
        Key(Hmac::new_from_slice(secret).expect("HMAC takes keys of any length"))
    }

    fn tag(&self, bytes: &[u8]) -> [u8; TAG_LEN] {
        let mut mac = self.0.clone();
        mac.update(bytes);
        mac.finalize().into_bytes().into()
    }
}

/// The checks that need no key: the datagram's length.
pub fn check_len(datagram: &[u8]) -> Result<(), Drop> {
    if datagram.len() < HEADER_LEN + TAG_LEN {
        Err(Drop::Truncated)
    } else if datagram.len() > MAX_MESSAGE {
        Err(Drop::Oversized)
    } else {
        Ok(())
    }
}

/// The authenticated sequence number of a datagram of a valid length,
/// before its body is read. The tag is compared in constant time.
pub fn authenticate(key: &Key, datagram: &[u8]) -> Result<u64, Drop> {
    check_len(datagram)?;
    let (signed, tag) = datagram.split_at(datagram.len() - TAG_LEN);
    let mut mac = key.0.clone();
    mac.update(signed);
    mac.verify_slice(tag).map_err(|_| Drop::Unauthenticated)?;
    Ok(u64_at(signed, 4))
}

fn u16_at(bytes: &[u8], at: usize) -> u16 {
    u16::from_be_bytes([bytes[at], bytes[at + 1]])
}

fn u32_at(bytes: &[u8], at: usize) -> u32 {
    u32::from_be_bytes([bytes[at], bytes[at + 1], bytes[at + 2], bytes[at + 3]])
}

fn u64_at(bytes: &[u8], at: usize) -> u64 {
    (u64::from(u32_at(bytes, at)) << 32) | u64::from(u32_at(bytes, at + 4))
}

fn array<const N: usize>(bytes: &[u8]) -> [u8; N] {
    let mut out = [0; N];
    out.copy_from_slice(&bytes[..N]);
    out
}

/// Reads an authenticated datagram (see [`authenticate`]). Every length
/// is checked against the datagram; nothing is trusted.
pub fn parse(datagram: &[u8]) -> Result<Message<'_>, Drop> {
    check_len(datagram)?;
    let signed = &datagram[..datagram.len() - TAG_LEN];
    if signed[0] != VERSION || signed[3] != 0 {
        return Err(Drop::Malformed);
    }
    let body = &signed[HEADER_LEN..];
    let fits =
        |fixed: usize, entry: usize| body.len() >= fixed && (body.len() - fixed) % entry == 0;
    let body = match signed[1] {
        1 if body.is_empty() => Body::Hello,
        2 if fits(0, ANNOUNCE_ENTRY_LEN) => Body::Announce(body),
        3 if body.len() == 32 => Body::ManifestRequest(array(body)),
        4 if fits(MANIFEST_FIXED, MANIFEST_ENTRY_LEN) => Body::Manifest {
            digest: array(body),
            size: u32_at(body, 32),
            total: u32_at(body, 36),
            first: u32_at(body, 40),
            entries: &body[MANIFEST_FIXED..],
        },
        5 if fits(8, 4) => Body::ChunkRequest {
            version: array(body),
            indexes: &body[8..],
        },
        6 if body.len() > CHUNK_FIXED && body.len() - CHUNK_FIXED <= PIECE_LEN => Body::Chunk {
            version: array(body),
            index: u32_at(body, 8),
            offset: u16_at(body, 12),
            data: &body[CHUNK_FIXED..],
        },
        _ => return Err(Drop::Malformed),
    };
    Ok(Message {
        file: signed[2],
        seq: u64_at(signed, 4),
        body,
    })
}

/// One file of an Announce: (place, (size, SHA-256) when the source has it).
pub fn announced(entries: &[u8]) -> impl Iterator<Item = (u8, Option<(u32, Digest)>)> + '_ {
    entries.chunks_exact(ANNOUNCE_ENTRY_LEN).map(|e| {
        let has = e[1] == 1;
        (e[0], has.then(|| (u32_at(e, 2), array(&e[6..]))))
    })
}

/// The chunks of a Manifest: (id, length).
pub fn manifest_entries(entries: &[u8]) -> impl Iterator<Item = (ChunkId, u16)> + '_ {
    entries
        .chunks_exact(MANIFEST_ENTRY_LEN)
        .map(|e| (array(e), u16_at(e, CHUNK_ID_LEN)))
}

/// The chunk indexes of a ChunkRequest.
pub fn requested(indexes: &[u8]) -> impl Iterator<Item = u32> + '_ {
    indexes.chunks_exact(4).map(|e| u32_at(e, 0))
}

/// Writes a message into `buf` ([`MAX_MESSAGE`] bytes at least) and signs
/// it; `fill` writes the body after the fixed part and returns its length.
/// Returns the datagram's length.
pub fn emit(key: &Key, buf: &mut [u8], message: &Message<'_>) -> usize {
    buf[0] = VERSION;
    buf[1] = message.body.kind();
    buf[2] = message.file;
    buf[3] = 0;
    buf[4..12].copy_from_slice(&message.seq.to_be_bytes());
    let mut w = Writer {
        buf,
        at: HEADER_LEN,
    };
    match message.body {
        Body::Hello => {}
        Body::Announce(entries) => w.put(entries),
        Body::ManifestRequest(digest) => w.put(&digest),
        Body::Manifest {
            digest,
            size,
            total,
            first,
            entries,
        } => {
            w.put(&digest);
            w.put(&size.to_be_bytes());
            w.put(&total.to_be_bytes());
            w.put(&first.to_be_bytes());
            w.put(entries);
        }
        Body::ChunkRequest { version, indexes } => {
            w.put(&version);
            w.put(indexes);
        }
        Body::Chunk {
            version,
            index,
            offset,
            data,
        } => {
            w.put(&version);
            w.put(&index.to_be_bytes());
            w.put(&offset.to_be_bytes());
            w.put(data);
        }
    }
    let at = w.at;
    let tag = key.tag(&buf[..at]);
    buf[at..at + TAG_LEN].copy_from_slice(&tag);
    at + TAG_LEN
}

struct Writer<'a> {
    buf: &'a mut [u8],
    at: usize,
}

impl Writer<'_> {
    fn put(&mut self, bytes: &[u8]) {
        self.buf[self.at..self.at + bytes.len()].copy_from_slice(bytes);
        self.at += bytes.len();
    }
}

/// An Announce entry, written into `out`.
pub fn announce_entry(out: &mut Vec<u8>, file: u8, has: Option<(u32, &Digest)>) {
    out.push(file);
    out.push(u8::from(has.is_some()));
    let (size, digest) = has.unwrap_or((0, &[0; 32]));
    out.extend_from_slice(&size.to_be_bytes());
    out.extend_from_slice(digest);
}

/// A Manifest entry, written into `out`.
pub fn manifest_entry(out: &mut Vec<u8>, id: &ChunkId, len: u16) {
    out.extend_from_slice(id);
    out.extend_from_slice(&len.to_be_bytes());
}

#[cfg(test)]
mod tests {
    use super::*;

    fn round_trip(body: Body<'_>) {
        let key = Key::new(b"0123456789abcdef");
        let message = Message {
            file: 3,
            seq: 0x0102_0304_0506_0708,
            body,
        };
        let mut buf = [0xa5u8; MAX_MESSAGE];
        let len = emit(&key, &mut buf, &message);
        assert!(len <= MAX_MESSAGE);
        let datagram = &buf[..len];
        assert_eq!(authenticate(&key, datagram), Ok(message.seq));
        assert_eq!(parse(datagram), Ok(message));
        // Any bit flipped anywhere: the tag no longer matches.
        for at in [0, 5, len / 2, len - 1] {
            let mut bad = datagram.to_vec();
            bad[at] ^= 0x10;
            assert_eq!(authenticate(&key, &bad), Err(Drop::Unauthenticated));
        }
        let other = Key::new(b"another key, 16+");
        assert_eq!(authenticate(&other, datagram), Err(Drop::Unauthenticated));
    }

    #[test]
    fn every_message_round_trips_and_a_changed_bit_fails_its_tag() {
        let mut announce = Vec::new();
        announce_entry(&mut announce, 0, Some((100, &[7; 32])));
        announce_entry(&mut announce, 1, None);
        let got: Vec<_> = announced(&announce).collect();
        assert_eq!(got, [(0, Some((100, [7; 32]))), (1, None)]);
        let mut entries = Vec::new();
        for i in 0..MANIFEST_PER_MESSAGE {
            manifest_entry(&mut entries, &[i as u8; 6], 4096);
        }
        assert_eq!(manifest_entries(&entries).count(), MANIFEST_PER_MESSAGE);
        let indexes: Vec<u8> = (0..REQUEST_PER_MESSAGE as u32)
            .flat_map(u32::to_be_bytes)
            .collect();
        assert_eq!(
            requested(&indexes).last(),
            Some(REQUEST_PER_MESSAGE as u32 - 1)
        );
        for body in [
            Body::Hello,
            Body::Announce(&announce),
            Body::ManifestRequest([9; 32]),
            Body::Manifest {
                digest: [1; 32],
                size: 1 << 20,
                total: 900,
                first: 164,
                entries: &entries,
            },
            Body::ChunkRequest {
                version: [2; 8],
                indexes: &indexes,
            },
            Body::Chunk {
                version: [3; 8],
                index: 77,
                offset: 1024,
                data: &[0x5a; PIECE_LEN],
            },
        ] {
            round_trip(body);
        }
    }

    #[test]
    fn lengths_are_checked_before_anything_else() {
        assert_eq!(
            check_len(&[0; HEADER_LEN + TAG_LEN - 1]),
            Err(Drop::Truncated)
        );
        assert_eq!(check_len(&[0; MAX_MESSAGE + 1]), Err(Drop::Oversized));
        let key = Key::new(b"0123456789abcdef");
        // Authentic, but a body of the wrong length for its type.
        let mut buf = [0u8; MAX_MESSAGE];
        let len = emit(
            &key,
            &mut buf,
            &Message {
                file: 0,
                seq: 1,
                body: Body::ManifestRequest([0; 32]),
            },
        );
        let mut short = buf[..len - TAG_LEN - 1].to_vec();
        let tag = key.tag(&short);
        short.extend_from_slice(&tag);
        assert_eq!(authenticate(&key, &short), Ok(1));
        assert_eq!(parse(&short), Err(Drop::Malformed));
    }
}
