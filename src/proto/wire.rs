//! VRRP advertisements on the wire, carried in IPv4.
//!
//! Layout follows smoltcp: a checked view over untrusted bytes (`Ipv4Packet`,
//! `VrrpPacket`) with field offsets as named constants, and a validated
//! `Advert` representation with `parse` and `emit`. Every receive check of
//! RFC 5798 §7.1 / RFC 3768 §7.1 that can be decided from the bytes alone
//! lives in [`parse_ipv4`] and maps to exactly one [`RxError`].

use core::net::Ipv4Addr;

/// IANA protocol number for VRRP (RFC 5798 §5.1.1.4).
pub const PROTO_VRRP: u8 = 112;
/// RFC 5798 §5.1.1.2: the IPv4 multicast address assigned to VRRP.
pub const MULTICAST_GROUP: Ipv4Addr = Ipv4Addr::new(224, 0, 0, 18);
/// RFC 5798 §5.1.1.3: adverts are sent, and must arrive, with TTL 255.
pub const TTL: u8 = 255;
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

/// Why a received packet was dropped. Each variant has its own counter.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RxError {
    /// Shorter than the headers, the IP total length, or the address count needs.
    Truncated,
    /// Longer than the address count (and v2 auth data) accounts for.
    Oversized,
    /// Not IPv4, a bad header length, a fragment, or not protocol 112.
    IpHeader,
    /// RFC 5798 §7.1: TTL other than 255 (the packet crossed a router).
    Ttl,
    /// VRRP version neither 2 nor 3, or not the version configured.
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
    pub fn new_checked(buffer: T) -> Result<Self, RxError> {
        let packet = VrrpPacket { buffer };
        let data = packet.buffer.as_ref();
        if data.len() < field::ADDRESSES {
            return Err(RxError::Truncated);
        }
        let version = packet.version()?;
        if packet.count() == 0 {
            return Err(RxError::Count);
        }
        let expected = message_len(version, usize::from(packet.count()));
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

    pub fn address(&self, index: usize) -> Ipv4Addr {
        read_addr(self.buffer.as_ref(), field::ADDRESSES + 4 * index)
    }
}

/// Length of a VRRP message with `count` IPv4 addresses.
pub fn message_len(version: Version, count: usize) -> usize {
    let auth = match version {
        Version::V2 => field::V2_AUTH_DATA_LEN,
        Version::V3 => 0,
    };
    field::ADDRESSES + 4 * count + auth
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
    /// RFC 5798 §5.2.8: v3 sums an IPv4 pseudo-header before the message
    /// (keepalived's and FRR's default).
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
    pub addresses: heapless::Vec<Ipv4Addr, MAX_ADDRESSES>,
    /// Present for v2 only.
    pub auth: Option<V2Auth>,
    /// The form the checksum is sent in, or was found valid in.
    pub checksum: Checksum,
}

/// An advertisement with the IP fields the state machine needs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Received {
    pub src: Ipv4Addr,
    pub dst: Ipv4Addr,
    pub advert: Advert,
}

/// Parses an IPv4 datagram as read from a raw socket, running every byte-level
/// check of RFC 5798 §7.1 and RFC 3768 §7.1.
pub fn parse_ipv4(datagram: &[u8]) -> Result<Received, RxError> {
    let ip = Ipv4Packet::new_checked(datagram)?;
    if ip.protocol() != PROTO_VRRP || ip.is_fragment() {
        return Err(RxError::IpHeader);
    }
    // RFC 5798 §7.1: "MUST verify that the IPv4 TTL ... is 255".
    if ip.ttl() != TTL {
        return Err(RxError::Ttl);
    }
    let (src, dst) = (ip.src(), ip.dst());
    let advert = Advert::parse(ip.payload(), src, dst)?;
    Ok(Received { src, dst, advert })
}

impl Advert {
    /// Parses a VRRP message whose IP header carried `src` and `dst`.
    pub fn parse(message: &[u8], src: Ipv4Addr, dst: Ipv4Addr) -> Result<Advert, RxError> {
        let packet = VrrpPacket::new_checked(message)?;
        let version = packet.version()?;
        // RFC 5798 §7.1: checksum first, so a corrupted type reads as
        // corruption. A v3 message valid only without the pseudo-header is
        // accepted and marked, for the instance to count against its setting.
        let checksum = [Checksum::standard(version), Checksum::MessageOnly]
            .into_iter()
            .find(|&form| checksum_over(form, src, dst, message) == 0)
            .ok_or(RxError::Checksum)?;
        if packet.kind() != TYPE_ADVERTISEMENT {
            return Err(RxError::Type);
        }
        let mut addresses = heapless::Vec::new();
        for index in 0..usize::from(packet.count()) {
            // Cannot fail: the count is one octet and the capacity is 255.
            let _ = addresses.push(packet.address(index));
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
        message_len(self.version, self.addresses.len())
    }

    /// Writes the VRRP message into `buf` (which must hold `buffer_len()`
    /// octets) with the checksum for the given IP addresses.
    pub fn emit(&self, src: Ipv4Addr, dst: Ipv4Addr, buf: &mut [u8]) -> usize {
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
                let start = field::ADDRESSES + 4 * self.addresses.len();
                buf[start..].copy_from_slice(&auth.data);
            }
            Version::V3 => {
                // RFC 5798 §5.2.6: reserved bits are sent as zero.
                let interval = self.interval_cs & MAX_ADVER_INT_CS;
                buf[field::V3_MAX_ADVER_INT].copy_from_slice(&interval.to_be_bytes());
            }
        }
        for (index, address) in self.addresses.iter().enumerate() {
            let at = field::ADDRESSES + 4 * index;
            buf[at..at + 4].copy_from_slice(&address.octets());
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
}

/// The checksum of `message` as the given version defines it: v3 covers an
/// IPv4 pseudo-header (RFC 5798 §5.2.8), v2 only the message (RFC 3768 §5.3.8).
/// Over a message with a valid checksum this returns 0.
pub fn checksum_for(version: Version, src: Ipv4Addr, dst: Ipv4Addr, message: &[u8]) -> u16 {
    checksum_over(Checksum::standard(version), src, dst, message)
}

/// The checksum of `message` in the given form; 0 over a valid message.
pub fn checksum_over(form: Checksum, src: Ipv4Addr, dst: Ipv4Addr, message: &[u8]) -> u16 {
    let initial = match form {
        Checksum::MessageOnly => 0,
        Checksum::PseudoHeader => pseudo_header_sum(src, dst, message.len()),
    };
    internet_checksum(initial, message)
}

fn pseudo_header_sum(src: Ipv4Addr, dst: Ipv4Addr, len: usize) -> u32 {
    let mut sum = 0u32;
    for octets in [src.octets(), dst.octets()] {
        sum += u32::from(u16::from_be_bytes([octets[0], octets[1]]));
        sum += u32::from(u16::from_be_bytes([octets[2], octets[3]]));
    }
    sum + u32::from(PROTO_VRRP) + len as u32
}

/// RFC 1071 one's-complement sum, folded and complemented.
fn internet_checksum(initial: u32, data: &[u8]) -> u16 {
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
