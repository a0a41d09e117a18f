//! VRRP advertisements on the wire, carried in IPv4 or IPv6.
//!
//! Layout follows smoltcp: a checked view over untrusted bytes (`Ipv4Packet`,
//! `VrrpPacket`) with field offsets as named constants, and a validated
//! `Advert` representation with `parse` and `emit`. Whatever the family, a
//! received packet becomes a [`Datagram`] (source, destination, TTL or hop
//! limit, payload), and every receive check of RFC 5798 §7.1 / RFC 3768 §7.1
//! that can be decided from the bytes alone lives in [`parse`] and maps to
//! exactly one [`RxError`].

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
/// RFC 8200 §3: the fixed IPv6 header.
pub const IPV6_HEADER_LEN: usize = 40;
/// RFC 5798 §5.2.1: the only packet type defined.
pub const TYPE_ADVERTISEMENT: u8 = 1;
/// RFC 5798 §5.2.7: the largest interval the 12-bit field holds (centiseconds).
pub const MAX_ADVER_INT_CS: u16 = 0x0fff;
/// The address count is one octet (RFC 5798 §5.2.5).
pub const MAX_ADDRESSES: usize = 255;
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

mod field {
    use core::ops::Range;
    pub const VER_TYPE: usize = 0;
    pub const VRID: usize = 1;
    pub const PRIORITY: usize = 2;
    pub const COUNT: usize = 3;
    /// RFC 3768 §5.3.6: v2 authentication type.
    pub const AUTH_TYPE: usize = 4;
    /// RFC 3768 §5.3.7: v2 advertisement interval, whole seconds.
    pub const V2_ADVER_INT: usize = 5;
    /// RFC 5798 §5.2.7: 4 reserved bits then a 12-bit interval in centiseconds.
    pub const V3_MAX_ADVER_INT: Range<usize> = 4..6;
    pub const CHECKSUM: Range<usize> = 6..8;
    pub const ADDRESSES: usize = 8;
    /// RFC 3768 §5.3.10: two words of authentication data follow the addresses.
    pub const V2_AUTH_DATA_LEN: usize = 8;
}

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
            RxError::Truncated => "truncated",
            RxError::Oversized => "oversized",
            RxError::IpHeader => "ip_header",
            RxError::Ttl => "ttl",
            RxError::Version => "version",
            RxError::Type => "type",
            RxError::Count => "count",
            RxError::Checksum => "checksum",
        }
    }

    pub fn index(self) -> usize {
        self as usize
    }
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

/// A checked view of a VRRP message (the IP payload).
pub struct VrrpPacket<T: AsRef<[u8]>> {
    buffer: T,
}

impl<T: AsRef<[u8]>> VrrpPacket<T> {
    /// Checks the fixed header, the version, and that the length matches the
    /// address count exactly (RFC 5798 §7.1: "contains the complete VRRP
    /// packet (including fixed fields, and IPvX address(es))").
    pub fn new_checked(buffer: T, family: Family) -> Result<Self, RxError> {
        let packet = VrrpPacket { buffer };
        let data = packet.buffer.as_ref();
        if data.len() < field::ADDRESSES {
            return Err(RxError::Truncated);
        }
        let version = packet.version()?;
        if version == Version::V2 && family == Family::Ipv6 {
            return Err(RxError::Version);
        }
        if packet.count() == 0 {
            return Err(RxError::Count);
        }
        let expected = message_len(version, family, usize::from(packet.count()));
        if data.len() < expected {
            return Err(RxError::Truncated);
        }
        if data.len() > expected {
            return Err(RxError::Oversized);
        }
        Ok(packet)
    }

    pub fn version(&self) -> Result<Version, RxError> {
        match self.buffer.as_ref()[field::VER_TYPE] >> 4 {
            2 => Ok(Version::V2),
            3 => Ok(Version::V3),
            _ => Err(RxError::Version),
        }
    }

    pub fn kind(&self) -> u8 {
        self.buffer.as_ref()[field::VER_TYPE] & 0x0f
    }

    pub fn vrid(&self) -> u8 {
        self.buffer.as_ref()[field::VRID]
    }

    pub fn priority(&self) -> u8 {
        self.buffer.as_ref()[field::PRIORITY]
    }

    pub fn count(&self) -> u8 {
        self.buffer.as_ref()[field::COUNT]
    }

    /// The advertisement interval in centiseconds, whatever the version.
    pub fn interval_cs(&self) -> Result<u16, RxError> {
        let data = self.buffer.as_ref();
        Ok(match self.version()? {
            Version::V2 => u16::from(data[field::V2_ADVER_INT]) * 100,
            Version::V3 => read_u16(data, field::V3_MAX_ADVER_INT.start) & MAX_ADVER_INT_CS,
        })
    }

    pub fn address(&self, family: Family, index: usize) -> IpAddr {
        let at = field::ADDRESSES + family.address_len() * index;
        let data = self.buffer.as_ref();
        match family {
            Family::Ipv4 => IpAddr::V4(read_addr(data, at)),
            Family::Ipv6 => IpAddr::V6(read_addr6(data, at)),
        }
    }
}

/// Length of a VRRP message with `count` addresses of `family`.
pub fn message_len(version: Version, family: Family, count: usize) -> usize {
    let auth = match version {
        Version::V2 => field::V2_AUTH_DATA_LEN,
        Version::V3 => 0,
    };
    field::ADDRESSES + family.address_len() * count + auth
}

/// RFC 3768 §5.3.6.1: no authentication; the data is zero and ignored.
pub const AUTH_TYPE_NONE: u8 = 0;
/// RFC 2338 §5.3.6.2 (kept by RFC 3768 implementations such as keepalived's
/// `auth_type PASS`): a clear-text password of up to 8 octets.
pub const AUTH_TYPE_SIMPLE_PASSWORD: u8 = 1;
/// Octets of v2 authentication data, and so the longest simple password.
pub const V2_AUTH_DATA_LEN: usize = field::V2_AUTH_DATA_LEN;

/// v2 authentication (RFC 3768 §5.3.6): none, or a simple password.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct V2Auth {
    pub auth_type: u8,
    pub data: [u8; field::V2_AUTH_DATA_LEN],
}

impl V2Auth {
    pub const NONE: V2Auth = V2Auth {
        auth_type: AUTH_TYPE_NONE,
        data: [0; field::V2_AUTH_DATA_LEN],
    };

    /// A simple password, zero-padded to 8 octets as keepalived sends it;
    /// longer input is cut (the config refuses it before this).
    pub fn simple_password(secret: &[u8]) -> V2Auth {
        let mut data = [0; field::V2_AUTH_DATA_LEN];
        let len = secret.len().min(data.len());
        data[..len].copy_from_slice(&secret[..len]);
        V2Auth {
            auth_type: AUTH_TYPE_SIMPLE_PASSWORD,
            data,
        }
    }

    /// RFC 3768 §7.1: the type must match ours; a password must match too.
    /// With no authentication the data is ignored (RFC 3768 §5.3.6.1).
    pub fn accepts(&self, received: &V2Auth) -> bool {
        received.auth_type == self.auth_type
            && (self.auth_type == AUTH_TYPE_NONE || received.data == self.data)
    }
}

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

/// A validated advertisement.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Advert {
    pub version: Version,
    pub vrid: u8,
    pub priority: u8,
    /// Advertisement interval in centiseconds (v2 seconds are scaled by 100).
    pub interval_cs: u16,
    /// All of one family: the family of the IP header that carries them.
    pub addresses: heapless::Vec<IpAddr, MAX_ADDRESSES>,
    /// Present for v2 only.
    pub auth: Option<V2Auth>,
    /// The form the checksum is sent in, or was found valid in.
    pub checksum: Checksum,
}

/// An advertisement with the IP fields the state machine needs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Received {
    pub src: IpAddr,
    pub dst: IpAddr,
    pub advert: Advert,
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

impl Advert {
    /// Parses a VRRP message whose IP header carried `src` and `dst`; their
    /// family is the family of the address list.
    pub fn parse(message: &[u8], src: IpAddr, dst: IpAddr) -> Result<Advert, RxError> {
        let family = Family::of(src);
        let packet = VrrpPacket::new_checked(message, family)?;
        let version = packet.version()?;
        // RFC 5798 §7.1: checksum first, so a corrupted type reads as
        // corruption. A v3 IPv4 message valid only without the pseudo-header
        // is accepted and marked, for the instance to count against its
        // setting; over IPv6 the pseudo-header is mandatory (RFC 8200 §8.1).
        let forms: &[Checksum] = match family {
            Family::Ipv4 => &[Checksum::standard(version), Checksum::MessageOnly],
            Family::Ipv6 => &[Checksum::PseudoHeader],
        };
        let checksum = forms
            .iter()
            .copied()
            .find(|&form| checksum_over(form, src, dst, message) == 0)
            .ok_or(RxError::Checksum)?;
        if packet.kind() != TYPE_ADVERTISEMENT {
            return Err(RxError::Type);
        }
        let mut addresses = heapless::Vec::new();
        for index in 0..usize::from(packet.count()) {
            // Cannot fail: the count is one octet and the capacity is 255.
            let _ = addresses.push(packet.address(family, index));
        }
        let auth = match version {
            Version::V2 => {
                let start = field::ADDRESSES + 4 * addresses.len();
                let mut data = [0; field::V2_AUTH_DATA_LEN];
                data.copy_from_slice(&message[start..start + field::V2_AUTH_DATA_LEN]);
                Some(V2Auth {
                    auth_type: message[field::AUTH_TYPE],
                    data,
                })
            }
            Version::V3 => None,
        };
        Ok(Advert {
            version,
            vrid: packet.vrid(),
            priority: packet.priority(),
            interval_cs: packet.interval_cs()?,
            addresses,
            auth,
            checksum,
        })
    }

    /// Length of the VRRP message this advert emits.
    pub fn buffer_len(&self) -> usize {
        let addresses: usize = self
            .addresses
            .iter()
            .map(|a| Family::of(*a).address_len())
            .sum();
        message_len(self.version, Family::Ipv4, 0) + addresses
    }

    /// Writes the VRRP message into `buf` (which must hold `buffer_len()`
    /// octets) with the checksum for the given IP addresses.
    pub fn emit(&self, src: impl Into<IpAddr>, dst: impl Into<IpAddr>, buf: &mut [u8]) -> usize {
        let (src, dst) = (src.into(), dst.into());
        let len = self.buffer_len();
        let buf = &mut buf[..len];
        buf[field::VER_TYPE] = (self.version.number() << 4) | TYPE_ADVERTISEMENT;
        buf[field::VRID] = self.vrid;
        buf[field::PRIORITY] = self.priority;
        buf[field::COUNT] = self.addresses.len() as u8;
        match self.version {
            Version::V2 => {
                let auth = self.auth.unwrap_or(V2Auth::NONE);
                buf[field::AUTH_TYPE] = auth.auth_type;
                // RFC 3768 §5.3.7: whole seconds; the config only allows those.
                buf[field::V2_ADVER_INT] = (self.interval_cs / 100).min(255) as u8;
                buf[len - field::V2_AUTH_DATA_LEN..].copy_from_slice(&auth.data);
            }
            Version::V3 => {
                // RFC 5798 §5.2.6: reserved bits are sent as zero.
                let interval = self.interval_cs & MAX_ADVER_INT_CS;
                buf[field::V3_MAX_ADVER_INT].copy_from_slice(&interval.to_be_bytes());
            }
        }
        let mut at = field::ADDRESSES;
        for address in &self.addresses {
            match address {
                IpAddr::V4(a) => buf[at..at + 4].copy_from_slice(&a.octets()),
                IpAddr::V6(a) => buf[at..at + 16].copy_from_slice(&a.octets()),
            }
            at += Family::of(*address).address_len();
        }
        buf[field::CHECKSUM].copy_from_slice(&[0, 0]);
        let sum = checksum_over(self.checksum, src, dst, buf);
        buf[field::CHECKSUM].copy_from_slice(&sum.to_be_bytes());
        len
    }

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
