//! The IP layer around a VRRP message: the checked IPv4 header view, the
//! fixed IPv6 header, the [`Datagram`] a received packet of either family
//! becomes, and the headers written around an advert to send it.

use core::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use super::{internet_checksum, read_addr, read_addr6, read_u16, Advert, RxError, PROTO_VRRP, TTL};

/// RFC 8200 §3: the fixed IPv6 header.
pub const IPV6_HEADER_LEN: usize = 40;
/// Type of service for adverts: IP precedence "internetwork control", as
/// other VRRP implementations send it.
const TOS_INTERNETWORK_CONTROL: u8 = 0xc0;

mod ip_field {
    use core::ops::Range;
    pub const VER_IHL: usize = 0;
    pub const TOS: usize = 1;
    pub const TOTAL_LEN: Range<usize> = 2..4;
    pub const TTL: usize = 8;
    pub const PROTOCOL: usize = 9;
    pub const CHECKSUM: Range<usize> = 10..12;
    pub const SRC: Range<usize> = 12..16;
    pub const DST: Range<usize> = 16..20;
    pub const MIN_HEADER_LEN: usize = 20;
}

mod ip6_field {
    use core::ops::Range;
    pub const VER_TC_FLOW: Range<usize> = 0..4;
    pub const PAYLOAD_LEN: Range<usize> = 4..6;
    pub const NEXT_HEADER: usize = 6;
    pub const HOP_LIMIT: usize = 7;
    pub const SRC: Range<usize> = 8..24;
    pub const DST: Range<usize> = 24..40;
}

/// A checked view of an IPv4 header and its payload.
pub struct Ipv4Packet<T: AsRef<[u8]>> {
    buffer: T,
}

impl<T: AsRef<[u8]>> Ipv4Packet<T> {
    /// Checks that the header and the total length fit inside the buffer.
    pub fn new_checked(buffer: T) -> Result<Self, RxError> {
        let packet = Ipv4Packet { buffer };
        let data = packet.buffer.as_ref();
        if data.len() < ip_field::MIN_HEADER_LEN {
            return Err(RxError::Truncated);
        }
        if data[ip_field::VER_IHL] >> 4 != 4 || packet.header_len() < ip_field::MIN_HEADER_LEN {
            return Err(RxError::IpHeader);
        }
        let total = packet.total_len();
        if total < packet.header_len() {
            return Err(RxError::IpHeader);
        }
        if data.len() < total {
            return Err(RxError::Truncated);
        }
        if data.len() > total {
            return Err(RxError::Oversized);
        }
        Ok(packet)
    }

    pub fn header_len(&self) -> usize {
        usize::from(self.buffer.as_ref()[ip_field::VER_IHL] & 0x0f) * 4
    }

    pub fn total_len(&self) -> usize {
        usize::from(read_u16(self.buffer.as_ref(), ip_field::TOTAL_LEN.start))
    }

    pub fn ttl(&self) -> u8 {
        self.buffer.as_ref()[ip_field::TTL]
    }

    pub fn protocol(&self) -> u8 {
        self.buffer.as_ref()[ip_field::PROTOCOL]
    }

    /// More-fragments set or a fragment offset: VRRP is never fragmented.
    pub fn is_fragment(&self) -> bool {
        read_u16(self.buffer.as_ref(), 6) & 0x3fff != 0
    }

    pub fn src(&self) -> Ipv4Addr {
        read_addr(self.buffer.as_ref(), ip_field::SRC.start)
    }

    pub fn dst(&self) -> Ipv4Addr {
        read_addr(self.buffer.as_ref(), ip_field::DST.start)
    }

    pub fn payload(&self) -> &[u8] {
        &self.buffer.as_ref()[self.header_len()..self.total_len()]
    }
}

/// A received IP packet, whatever its family: what the receive checks of
/// RFC 5798 §7.1 need from the IP layer, and the VRRP message.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Datagram<'a> {
    pub src: IpAddr,
    pub dst: IpAddr,
    /// IPv4 TTL or IPv6 Hop Limit.
    pub ttl: u8,
    pub payload: &'a [u8],
}

impl<'a> Datagram<'a> {
    /// An IPv4 datagram as a raw socket reads it, header included.
    pub fn ipv4(bytes: &'a [u8]) -> Result<Datagram<'a>, RxError> {
        let ip = Ipv4Packet::new_checked(bytes)?;
        if ip.protocol() != PROTO_VRRP || ip.is_fragment() {
            return Err(RxError::IpHeader);
        }
        let (header_len, total_len) = (ip.header_len(), ip.total_len());
        Ok(Datagram {
            src: IpAddr::V4(ip.src()),
            dst: IpAddr::V4(ip.dst()),
            ttl: ip.ttl(),
            payload: &bytes[header_len..total_len],
        })
    }

    /// An IPv6 packet with its fixed header (a capture, or a packet socket).
    /// VRRP adverts carry no extension headers (RFC 5798 §5.1.2), so the
    /// next header must be VRRP itself.
    pub fn ipv6(bytes: &'a [u8]) -> Result<Datagram<'a>, RxError> {
        if bytes.len() < IPV6_HEADER_LEN {
            return Err(RxError::Truncated);
        }
        if bytes[ip6_field::VER_TC_FLOW.start] >> 4 != 6 {
            return Err(RxError::IpHeader);
        }
        if bytes[ip6_field::NEXT_HEADER] != PROTO_VRRP {
            return Err(RxError::IpHeader);
        }
        let payload_len = usize::from(read_u16(bytes, ip6_field::PAYLOAD_LEN.start));
        let payload = &bytes[IPV6_HEADER_LEN..];
        if payload.len() < payload_len {
            return Err(RxError::Truncated);
        }
        if payload.len() > payload_len {
            return Err(RxError::Oversized);
        }
        Ok(Datagram {
            src: IpAddr::V6(read_addr6(bytes, ip6_field::SRC.start)),
            dst: IpAddr::V6(read_addr6(bytes, ip6_field::DST.start)),
            ttl: bytes[ip6_field::HOP_LIMIT],
            payload,
        })
    }
}

impl<A: AsRef<[IpAddr]>> Advert<A> {
    /// Writes a whole IPv4 datagram (header built by us, for IP_HDRINCL) and
    /// returns its length.
    pub fn emit_ipv4(&self, src: Ipv4Addr, dst: Ipv4Addr, buf: &mut [u8]) -> usize {
        let header = ip_field::MIN_HEADER_LEN;
        let total = header + self.buffer_len();
        let ip = &mut buf[..total];
        ip[..header].fill(0);
        ip[ip_field::VER_IHL] = 0x45;
        ip[ip_field::TOS] = TOS_INTERNETWORK_CONTROL;
        ip[ip_field::TOTAL_LEN].copy_from_slice(&(total as u16).to_be_bytes());
        ip[ip_field::TTL] = TTL;
        ip[ip_field::PROTOCOL] = PROTO_VRRP;
        ip[ip_field::SRC].copy_from_slice(&src.octets());
        ip[ip_field::DST].copy_from_slice(&dst.octets());
        let sum = internet_checksum(0, &ip[..header]);
        ip[ip_field::CHECKSUM].copy_from_slice(&sum.to_be_bytes());
        self.emit(src, dst, &mut ip[header..]);
        total
    }

    /// Writes a whole IPv6 packet (for a packet socket, which sends what we
    /// build: RFC 5798 §5.1.2 fields, Hop Limit 255) and returns its length.
    pub fn emit_ipv6(&self, src: Ipv6Addr, dst: Ipv6Addr, buf: &mut [u8]) -> usize {
        let message_len = self.buffer_len();
        let total = IPV6_HEADER_LEN + message_len;
        let ip = &mut buf[..total];
        write_ipv6_header(ip, src, dst, PROTO_VRRP, message_len);
        self.emit(src, dst, &mut ip[IPV6_HEADER_LEN..]);
        total
    }
}

/// The fixed IPv6 header (RFC 8200 §3): traffic class "internetwork
/// control" as for IPv4, no flow label, Hop Limit 255 (RFC 5798 §5.1.2.3;
/// RFC 4861 §7.1.2 for neighbour discovery).
pub fn write_ipv6_header(
    buf: &mut [u8],
    src: Ipv6Addr,
    dst: Ipv6Addr,
    next_header: u8,
    payload_len: usize,
) {
    let first_word = (6u32 << 28) | (u32::from(TOS_INTERNETWORK_CONTROL) << 20);
    buf[ip6_field::VER_TC_FLOW].copy_from_slice(&first_word.to_be_bytes());
    buf[ip6_field::PAYLOAD_LEN].copy_from_slice(&(payload_len as u16).to_be_bytes());
    buf[ip6_field::NEXT_HEADER] = next_header;
    buf[ip6_field::HOP_LIMIT] = TTL;
    buf[ip6_field::SRC].copy_from_slice(&src.octets());
    buf[ip6_field::DST].copy_from_slice(&dst.octets());
}
