//! The VRRP message itself (RFC 5798 §5.2, RFC 3768 §5.3): the checked view
//! [`VrrpPacket`], v2 authentication, and the validated [`Advert`] with
//! `parse` and `emit`.

use core::net::IpAddr;

use super::{
    checksum_over, read_addr, read_addr6, read_u16, Checksum, Family, RxError, Version,
    MAX_ADDRESSES, MAX_ADVER_INT_CS, TYPE_ADVERTISEMENT,
};

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

/// An advertisement: one received and validated, its addresses copied out
/// of the packet, or (`Advert<&[IpAddr]>`) one to send, borrowing its
/// instance's addresses, so that building it copies none of them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Advert<A = heapless::Vec<IpAddr, MAX_ADDRESSES>> {
    pub version: Version,
    pub vrid: u8,
    pub priority: u8,
    /// Advertisement interval in centiseconds (v2 seconds are scaled by 100).
    pub interval_cs: u16,
    /// All of one family: the family of the IP header that carries them.
    pub addresses: A,
    /// Present for v2 only.
    pub auth: Option<V2Auth>,
    /// The form the checksum is sent in, or was found valid in.
    pub checksum: Checksum,
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
}

impl<A: AsRef<[IpAddr]>> Advert<A> {
    /// Length of the VRRP message this advert emits.
    pub fn buffer_len(&self) -> usize {
        let addresses: usize = self
            .addresses
            .as_ref()
            .iter()
            .map(|a| Family::of(*a).address_len())
            .sum();
        message_len(self.version, Family::Ipv4, 0) + addresses
    }

    /// Writes the VRRP message into `buf` (which must hold `buffer_len()`
    /// octets) with the checksum for the given IP addresses.
    pub fn emit(&self, src: impl Into<IpAddr>, dst: impl Into<IpAddr>, buf: &mut [u8]) -> usize {
        self.emit_message(src.into(), dst.into(), buf)
    }

    /// [`Advert::emit`] compiled once, not once per address type.
    fn emit_message(&self, src: IpAddr, dst: IpAddr, buf: &mut [u8]) -> usize {
        let len = self.buffer_len();
        let buf = &mut buf[..len];
        buf[field::VER_TYPE] = (self.version.number() << 4) | TYPE_ADVERTISEMENT;
        buf[field::VRID] = self.vrid;
        buf[field::PRIORITY] = self.priority;
        let addresses = self.addresses.as_ref();
        buf[field::COUNT] = addresses.len() as u8;
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
        for address in addresses {
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
}
