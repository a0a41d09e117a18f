//! The VRRP checksum in its two forms, and the Internet checksum and
//! pseudo-header sum it is built from (neighbour discovery uses them too).

use core::net::IpAddr;

use super::{Version, PROTO_VRRP};

/// What a VRRP checksum covers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Checksum {
    /// RFC 5798 §5.2.8: v3 sums a pseudo-header before the message (IPv4:
    /// keepalived's and FRR's default; IPv6: the only form, RFC 8200 §8.1).
    PseudoHeader,
    /// The message alone: always for v2 (RFC 3768 §5.3.8); for v3 what some
    /// routers send (Cisco; keepalived's `v3_checksum_as_v2`; FRR with
    /// `no checksum-with-ipv4-pseudoheader`).
    MessageOnly,
}

impl Checksum {
    /// The form the RFC of `version` defines.
    pub fn standard(version: Version) -> Checksum {
        match version {
            Version::V2 => Checksum::MessageOnly,
            Version::V3 => Checksum::PseudoHeader,
        }
    }
}

/// The checksum of `message` as the given version defines it: v3 covers a
/// pseudo-header (RFC 5798 §5.2.8), v2 only the message (RFC 3768 §5.3.8).
/// Over a message with a valid checksum this returns 0.
pub fn checksum_for(
    version: Version,
    src: impl Into<IpAddr>,
    dst: impl Into<IpAddr>,
    message: &[u8],
) -> u16 {
    checksum_over(Checksum::standard(version), src, dst, message)
}

/// The checksum of `message` in the given form; 0 over a valid message.
pub fn checksum_over(
    form: Checksum,
    src: impl Into<IpAddr>,
    dst: impl Into<IpAddr>,
    message: &[u8],
) -> u16 {
    let initial = match form {
        Checksum::MessageOnly => 0,
        Checksum::PseudoHeader => {
            pseudo_header_sum(src.into(), dst.into(), PROTO_VRRP, message.len())
        }
    };
    internet_checksum(initial, message)
}

/// The pseudo-header of an upper-layer checksum: IPv4 (RFC 768 layout, as
/// RFC 5798 §5.2.8 uses it) or IPv6 (RFC 8200 §8.1). Both sum to the
/// addresses, the protocol and the length, so one sum serves both.
pub fn pseudo_header_sum(src: IpAddr, dst: IpAddr, protocol: u8, len: usize) -> u32 {
    let mut sum = 0u32;
    for address in [src, dst] {
        sum += match address {
            IpAddr::V4(a) => fold_words(&a.octets()),
            IpAddr::V6(a) => fold_words(&a.octets()),
        };
    }
    sum + u32::from(protocol) + len as u32
}

fn fold_words(data: &[u8]) -> u32 {
    data.chunks_exact(2)
        .map(|pair| u32::from(u16::from_be_bytes([pair[0], pair[1]])))
        .sum()
}

/// RFC 1071 one's-complement sum, folded and complemented.
pub fn internet_checksum(initial: u32, data: &[u8]) -> u16 {
    let mut sum = initial;
    let mut chunks = data.chunks_exact(2);
    for pair in &mut chunks {
        sum += u32::from(u16::from_be_bytes([pair[0], pair[1]]));
    }
    if let [last] = chunks.remainder() {
        sum += u32::from(*last) << 8;
    }
    while sum > 0xffff {
        sum = (sum & 0xffff) + (sum >> 16);
    }
    !(sum as u16)
}
