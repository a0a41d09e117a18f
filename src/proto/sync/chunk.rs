//! Content-defined chunking: a file is cut where a rolling hash of the
//! bytes just read hits a pattern, not every N bytes, so inserting or
//! deleting a line moves only the cut points around it and every chunk
//! after it keeps its bytes and its id (the FastCDC idea: a gear hash,
//! with a minimum and a maximum chunk length).

use sha2::{Digest as _, Sha256};

/// A whole file's SHA-256: what a receiver checks a rebuilt file against.
pub type Digest = [u8; 32];

/// A chunk's id: the start of its SHA-256. Only tells chunks of one file
/// apart; a collision would make a rebuilt file fail its whole-file
/// digest, never be used.
pub type ChunkId = [u8; CHUNK_ID_LEN];
pub const CHUNK_ID_LEN: usize = 6;

/// No cut before this many bytes of a chunk: a lease file's line is about
/// 80 bytes, so a chunk holds a few of them.
pub const MIN_CHUNK: usize = 256;
/// A cut wherever the hash's top 10 bits are zero after [`MIN_CHUNK`]:
/// chunks of about 1.25 KiB on average.
const CUT_MASK: u32 = 0xffc0_0000;
/// Always a cut here, so a chunk's length fits in 16 bits and a chunk in
/// a few datagrams.
pub const MAX_CHUNK: usize = 4096;

/// One chunk of a file: where it starts, how long it is, its id.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Chunk {
    pub offset: u32,
    pub len: u16,
    pub id: ChunkId,
}

/// The gear table: a random-looking word per byte value, from splitmix64
/// (fixed, so both ends cut at the same places).
const GEAR: [u32; 256] = {
    let mut table = [0u32; 256];
    let mut state: u64 = 0x9e37_79b9_7f4a_7c15;
    let mut i = 0;
    while i < 256 {
        state = state.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = state;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        table[i] = (z ^ (z >> 31)) as u32;
        i += 1;
    }
    table
};

/// The length of the chunk at the start of `data`. The hash is
/// `h = (h << 1) + GEAR[byte]`: after 32 bytes a byte has shifted out,
/// so a cut depends only on the 32 bytes before it.
fn cut(data: &[u8]) -> usize {
    if data.len() <= MIN_CHUNK {
        return data.len();
    }
    let end = data.len().min(MAX_CHUNK);
    let mut hash: u32 = 0;
    // The window before the first possible cut primes the hash.
    for &byte in &data[MIN_CHUNK - 32..MIN_CHUNK] {
        hash = (hash << 1).wrapping_add(GEAR[usize::from(byte)]);
    }
    for (i, &byte) in data[MIN_CHUNK..end].iter().enumerate() {
        hash = (hash << 1).wrapping_add(GEAR[usize::from(byte)]);
        if hash & CUT_MASK == 0 {
            return MIN_CHUNK + i + 1;
        }
    }
    end
}

/// A whole file's SHA-256 at once (the daemon hashes a slice at a time,
/// see `hashing`).
#[cfg(test)]
pub fn digest(data: &[u8]) -> Digest {
    Sha256::digest(data).into()
}

pub fn chunk_id(data: &[u8]) -> ChunkId {
    let mut id = [0; CHUNK_ID_LEN];
    id.copy_from_slice(&Sha256::digest(data)[..CHUNK_ID_LEN]);
    id
}

/// The chunk of `data` that starts at `offset` (before its end). `data`
/// is at most `u32::MAX` bytes (the config caps `max-size` far below).
pub fn next(data: &[u8], offset: usize) -> Chunk {
    let len = cut(&data[offset..]);
    Chunk {
        offset: offset as u32,
        len: len as u16,
        id: chunk_id(&data[offset..offset + len]),
    }
}

/// The chunks of `data`, in order.
#[cfg(test)]
pub fn split(data: &[u8]) -> Vec<Chunk> {
    let mut chunks = Vec::new();
    let mut offset = 0;
    while offset < data.len() {
        let chunk = next(data, offset);
        offset += usize::from(chunk.len);
        chunks.push(chunk);
    }
    chunks
}

/// Chunks by id, to find which of a manifest's a receiver has: an
/// open-addressing table at most half full, keyed by the id's first bytes
/// (a SHA-256's, so already uniform). Not a sort and a binary search:
/// std's sorts are 5 KB of code.
pub struct Index<'a> {
    chunks: &'a [Chunk],
    /// Index + 1 into `chunks`; 0 is empty.
    slots: Vec<u32>,
}

impl<'a> Index<'a> {
    pub fn new(chunks: &'a [Chunk]) -> Index<'a> {
        let mut index = Index {
            chunks,
            slots: vec![0; (2 * chunks.len()).next_power_of_two()],
        };
        for (i, chunk) in chunks.iter().enumerate() {
            let mut at = index.start(&chunk.id);
            while index.slots[at] != 0 {
                at = (at + 1) % index.slots.len();
            }
            index.slots[at] = i as u32 + 1;
        }
        index
    }

    fn start(&self, id: &ChunkId) -> usize {
        u32::from_le_bytes([id[0], id[1], id[2], id[3]]) as usize % self.slots.len()
    }

    /// A chunk with this id; the table always has an empty slot, which
    /// ends the probe.
    pub fn find(&self, id: &ChunkId) -> Option<&'a Chunk> {
        let mut at = self.start(id);
        loop {
            let chunk = &self.chunks[(self.slots[at] as usize).checked_sub(1)?];
            if chunk.id == *id {
                return Some(chunk);
            }
            at = (at + 1) % self.slots.len();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A dnsmasq lease file: `EXPIRY MAC IP NAME CLIENT-ID` per line.
    pub(crate) fn leases(count: usize) -> Vec<u8> {
        let mut text = String::new();
        for i in 0..count {
            text.push_str(&format!(
                "{} 02:00:00:{:02x}:{:02x}:{:02x} 10.{}.{}.{} host-{i} 01:02:00:00:{:02x}:{:02x}:{:02x}\n",
                1_700_000_000 + i * 37,
                i >> 16 & 255,
                i >> 8 & 255,
                i & 255,
                i >> 16 & 255,
                i >> 8 & 255,
                i & 255,
                i >> 16 & 255,
                i >> 8 & 255,
                i & 255
            ));
        }
        text.into_bytes()
    }

    #[test]
    fn the_index_finds_every_chunk_and_nothing_else() {
        let chunks = split(&leases(500));
        let index = Index::new(&chunks);
        for chunk in &chunks {
            assert_eq!(index.find(&chunk.id), Some(chunk));
        }
        assert_eq!(index.find(&[0xee; CHUNK_ID_LEN]), None);
        assert_eq!(Index::new(&[]).find(&[0; CHUNK_ID_LEN]), None);
    }

    fn changed(before: &[Chunk], after: &[Chunk]) -> usize {
        after
            .iter()
            .filter(|c| !before.iter().any(|b| b.id == c.id))
            .map(|c| usize::from(c.len))
            .sum()
    }

    #[test]
    fn chunks_cover_the_file_within_their_bounds() {
        let data = leases(1500);
        let chunks = split(&data);
        let mut offset = 0;
        for (i, chunk) in chunks.iter().enumerate() {
            assert_eq!(chunk.offset as usize, offset);
            let len = usize::from(chunk.len);
            assert!(len <= MAX_CHUNK);
            assert!(len >= MIN_CHUNK || i == chunks.len() - 1, "{len}");
            offset += len;
        }
        assert_eq!(offset, data.len());
        let average = data.len() / chunks.len();
        assert!((512..=2048).contains(&average), "{average}");
        assert!(split(&[]).is_empty());
        assert_eq!(split(b"short").len(), 1);
    }

    #[test]
    fn an_edit_in_the_middle_changes_only_the_chunks_around_it() {
        let data = leases(1600);
        assert!(data.len() > 100_000);
        let before = split(&data);
        let middle = data.len() / 2;
        let line = middle + data[middle..].iter().position(|&b| b == b'\n').unwrap() + 1;
        // The same length (an expiry rewritten), one line longer, one
        // line shorter.
        let mut same = data.clone();
        same[line..line + 10].copy_from_slice(b"1800000000");
        let mut longer = data.clone();
        longer.splice(
            line..line,
            b"1800000000 02:00:00:aa:bb:cc 10.9.9.9 new 01:02\n".to_vec(),
        );
        let mut shorter = data.clone();
        let end = line + data[line..].iter().position(|&b| b == b'\n').unwrap() + 1;
        shorter.drain(line..end);
        for edited in [same, longer, shorter] {
            let after = split(&edited);
            let moved = changed(&before, &after);
            assert!(moved <= 2 * MAX_CHUNK, "{moved} bytes in new chunks");
            assert!(after.len().abs_diff(before.len()) <= 2);
        }
    }
}
