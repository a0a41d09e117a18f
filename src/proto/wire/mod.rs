//! VRRP advertisements on the wire, carried in IPv4 or IPv6.
//!
//! Layout follows smoltcp: a checked view over untrusted bytes (`Ipv4Packet`,
//! `VrrpPacket`) with field offsets as named constants, and a validated
//! `Advert` representation with `parse` and `emit`. Whatever the family, a
//! received packet becomes a [`Datagram`] (source, destination, TTL or hop
//! limit, payload), and every receive check of RFC 5798 §7.1 / RFC 3768 §7.1
//! that can be decided from the bytes alone lives in [`parse`] and maps to
//! exactly one [`RxError`].
//!
//! This module holds what the layers share (the protocol constants,
//! [`Version`], [`Family`], [`RxError`]) and the receive entry points. The IP
//! headers are in `ip`, the VRRP message in `vrrp`, and its checksum in
//! `checksum`; all are re-exported here, so callers name only `wire`.

mod checksum;
mod ip;
mod vrrp;

pub use checksum::{checksum_for, checksum_over, internet_checksum, pseudo_header_sum, Checksum};
pub use ip::{write_ipv6_header, Datagram, Ipv4Packet, IPV6_HEADER_LEN};
pub use vrrp::{
    message_len, Advert, V2Auth, VrrpPacket, AUTH_TYPE_NONE, AUTH_TYPE_SIMPLE_PASSWORD,
    V2_AUTH_DATA_LEN,
};

use core::net::{IpAddr, Ipv4Addr, Ipv6Addr};

/// IANA protocol number for VRRP (RFC 5798 §5.1.1.4).
pub const PROTO_VRRP: u8 = 112;
/// RFC 5798 §5.1.1.2: the IPv4 multicast address assigned to VRRP.
pub const MULTICAST_GROUP: Ipv4Addr = Ipv4Addr::new(224, 0, 0, 18);
/// RFC 5798 §5.1.2.2: the IPv6 multicast address assigned to VRRP.
pub const MULTICAST_GROUP_V6: Ipv6Addr = Ipv6Addr::new(0xff02, 0, 0, 0, 0, 0, 0, 0x12);
/// RFC 5798 §5.1.1.3 and §5.1.2.3: adverts are sent, and must arrive, with
/// TTL (IPv4) or Hop Limit (IPv6) 255.
pub const TTL: u8 = 255;
/// RFC 5798 §5.2.1: the only packet type defined.
pub const TYPE_ADVERTISEMENT: u8 = 1;
/// RFC 5798 §5.2.7: the largest interval the 12-bit field holds (centiseconds).
pub const MAX_ADVER_INT_CS: u16 = 0x0fff;
/// The address count is one octet (RFC 5798 §5.2.5).
pub const MAX_ADDRESSES: usize = 255;

/// VRRP protocol version (the high nibble of the first octet).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Version {
    /// RFC 3768: second intervals, auth fields, checksum without pseudo-header.
    V2,
    /// RFC 5798: centisecond intervals, pseudo-header checksum.
    V3,
}

impl Version {
    pub fn number(self) -> u8 {
        match self {
            Version::V2 => 2,
            Version::V3 => 3,
        }
    }
}

/// The address family a virtual router runs on (RFC 5798 §5.1.1, §5.1.2).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Family {
    Ipv4,
    Ipv6,
}

impl Family {
    pub fn of(address: IpAddr) -> Family {
        match address {
            IpAddr::V4(_) => Family::Ipv4,
            IpAddr::V6(_) => Family::Ipv6,
        }
    }

    /// Octets of one address in the advert's list.
    pub fn address_len(self) -> usize {
        match self {
            Family::Ipv4 => 4,
            Family::Ipv6 => 16,
        }
    }

    /// Where multicast adverts go.
    pub fn multicast_group(self) -> IpAddr {
        match self {
            Family::Ipv4 => IpAddr::V4(MULTICAST_GROUP),
            Family::Ipv6 => IpAddr::V6(MULTICAST_GROUP_V6),
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            Family::Ipv4 => "ipv4",
            Family::Ipv6 => "ipv6",
        }
    }

    /// RFC 5798 §7.3: the virtual router MAC address, 00-00-5E-00-01-{VRID}
    /// for IPv4 and 00-00-5E-00-02-{VRID} for IPv6.
    pub fn virtual_mac(self, vrid: u8) -> [u8; 6] {
        let family = match self {
            Family::Ipv4 => 1,
            Family::Ipv6 => 2,
        };
        [0x00, 0x00, 0x5e, 0x00, family, vrid]
    }
}

/// Why a received packet was dropped. Each variant has its own counter.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RxError {
    /// Shorter than the headers, the IP total length, or the address count needs.
    Truncated,
    /// Longer than the address count (and v2 auth data) accounts for.
    Oversized,
    /// Not IPv4 or IPv6, a bad header length, a fragment, an IPv6 extension
    /// header, or not protocol 112.
    IpHeader,
    /// RFC 5798 §7.1: TTL or Hop Limit other than 255 (the packet crossed a
    /// router).
    Ttl,
    /// VRRP version neither 2 nor 3, or v2 over IPv6 (RFC 3768 is IPv4 only).
    Version,
    /// RFC 5798 §5.2.2: type other than Advertisement.
    Type,
    /// RFC 5798 §5.2.5: an address count of zero.
    Count,
    /// RFC 5798 §5.2.8: the checksum does not verify.
    Checksum,
}

impl RxError {
    pub const ALL: [RxError; 8] = [
        RxError::Truncated,
        RxError::Oversized,
        RxError::IpHeader,
        RxError::Ttl,
        RxError::Version,
        RxError::Type,
        RxError::Count,
        RxError::Checksum,
    ];

    pub fn name(self) -> &'static str {
        match self {
            RxError::Truncated => "packet-length-errors",
            RxError::Oversized => "oversized-pkts",
            RxError::IpHeader => "ip-header-errors",
            RxError::Ttl => "ip-ttl-errors",
            RxError::Version => "version-errors",
            RxError::Type => "invalid-type-pkts-rcvd",
            RxError::Count => "address-count-errors",
            RxError::Checksum => "checksum-errors",
        }
    }

    pub fn index(self) -> usize {
        self as usize
    }
}

/// An advertisement with the IP fields the state machine needs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Received {
    pub src: IpAddr,
    pub dst: IpAddr,
    pub advert: Advert,
}

/// Runs every byte-level check of RFC 5798 §7.1 and RFC 3768 §7.1 on a
/// received datagram of either family.
pub fn parse(datagram: &Datagram<'_>) -> Result<Received, RxError> {
    // RFC 5798 §7.1: "MUST verify that the IPv4 TTL/IPv6 Hop Limit is 255".
    if datagram.ttl != TTL {
        return Err(RxError::Ttl);
    }
    if Family::of(datagram.src) != Family::of(datagram.dst) {
        return Err(RxError::IpHeader);
    }
    let advert = Advert::parse(datagram.payload, datagram.src, datagram.dst)?;
    Ok(Received {
        src: datagram.src,
        dst: datagram.dst,
        advert,
    })
}

/// Parses an IPv4 datagram as read from a raw socket.
pub fn parse_ipv4(bytes: &[u8]) -> Result<Received, RxError> {
    parse(&Datagram::ipv4(bytes)?)
}

/// Parses an IPv6 packet with its fixed header.
pub fn parse_ipv6(bytes: &[u8]) -> Result<Received, RxError> {
    parse(&Datagram::ipv6(bytes)?)
}

fn read_u16(data: &[u8], at: usize) -> u16 {
    u16::from_be_bytes([data[at], data[at + 1]])
}

fn read_addr(data: &[u8], at: usize) -> Ipv4Addr {
    Ipv4Addr::new(data[at], data[at + 1], data[at + 2], data[at + 3])
}

fn read_addr6(data: &[u8], at: usize) -> Ipv6Addr {
    let mut octets = [0; 16];
    octets.copy_from_slice(&data[at..at + 16]);
    Ipv6Addr::from(octets)
}
