//! Netlink requests as bytes, and the rtattrs of replies.

use super::{AF_UNSPEC, IFADDRMSG_LEN, IFINFOMSG_LEN, NLMSG_HDR_LEN};

/// A request being built.
pub(super) struct Message {
    pub(super) bytes: Vec<u8>,
}

impl Message {
    /// Attributes only, to nest inside another attribute.
    pub(super) fn empty() -> Message {
        Message { bytes: Vec::new() }
    }

    pub(super) fn ifinfo_flags(&mut self, index: u32, flags: u32, change: u32) {
        self.ifinfo(AF_UNSPEC, index);
        let body = self.bytes.len() - IFINFOMSG_LEN;
        self.bytes[body + 8..body + 12].copy_from_slice(&flags.to_ne_bytes());
        self.bytes[body + 12..body + 16].copy_from_slice(&change.to_ne_bytes());
    }

    pub(super) fn new(kind: u16, flags: u16) -> Message {
        let mut bytes = vec![0; NLMSG_HDR_LEN];
        bytes[4..6].copy_from_slice(&kind.to_ne_bytes());
        bytes[6..8].copy_from_slice(&flags.to_ne_bytes());
        Message { bytes }
    }

    pub(super) fn ifinfo(&mut self, family: u8, index: u32) {
        let mut body = [0u8; IFINFOMSG_LEN];
        body[0] = family;
        body[4..8].copy_from_slice(&index.to_ne_bytes());
        self.bytes.extend_from_slice(&body);
    }

    pub(super) fn ifaddr(&mut self, family: u8, prefix: u8, flags: u8, index: u32) {
        let mut body = [0u8; IFADDRMSG_LEN];
        body[0] = family;
        body[1] = prefix;
        body[2] = flags;
        body[4..8].copy_from_slice(&index.to_ne_bytes());
        self.bytes.extend_from_slice(&body);
    }

    pub(super) fn attr(&mut self, kind: u16, value: &[u8]) {
        let len = 4 + value.len();
        self.bytes.extend_from_slice(&(len as u16).to_ne_bytes());
        self.bytes.extend_from_slice(&kind.to_ne_bytes());
        self.bytes.extend_from_slice(value);
        self.bytes.resize(align4(self.bytes.len()), 0);
    }

    pub(super) fn finish(&mut self, seq: u32) -> &[u8] {
        let len = self.bytes.len() as u32;
        self.bytes[0..4].copy_from_slice(&len.to_ne_bytes());
        self.bytes[8..12].copy_from_slice(&seq.to_ne_bytes());
        &self.bytes
    }
}

pub(super) fn align4(len: usize) -> usize {
    (len + 3) & !3
}

/// Iterates over the rtattrs in `data`, stopping at the first malformed one.
pub(super) fn attributes(mut data: &[u8]) -> impl Iterator<Item = (u16, &[u8])> {
    core::iter::from_fn(move || {
        if data.len() < 4 {
            return None;
        }
        let len = usize::from(u16::from_ne_bytes([data[0], data[1]]));
        let kind = u16::from_ne_bytes([data[2], data[3]]) & 0x3fff;
        if len < 4 || len > data.len() {
            return None;
        }
        let value = &data[4..len];
        data = &data[align4(len).min(data.len())..];
        Some((kind, value))
    })
}

#[cfg(test)]
mod tests {
    use super::super::*;
    use super::*;

    #[test]
    fn request_layout_is_native_endian_and_padded() {
        let mut msg = Message::new(RTM_NEWADDR, NLM_F_REQUEST | NLM_F_ACK);
        msg.ifaddr(AF_INET, 24, 0, 7);
        msg.attr(IFA_LOCAL, &[10, 0, 0, 1]);
        msg.attr(IFLA_IFNAME, b"eth0\0");
        let bytes = msg.finish(9).to_vec();
        assert_eq!(bytes.len(), 16 + 8 + 8 + 12);
        assert_eq!(u32::from_ne_bytes(bytes[0..4].try_into().unwrap()), 44);
        assert_eq!(u16::from_ne_bytes([bytes[4], bytes[5]]), RTM_NEWADDR);
        assert_eq!(u32::from_ne_bytes(bytes[8..12].try_into().unwrap()), 9);
        assert_eq!(&bytes[16..18], &[AF_INET, 24]);
        assert_eq!(u32::from_ne_bytes(bytes[20..24].try_into().unwrap()), 7);
        let attrs: Vec<_> = attributes(&bytes[24..]).collect();
        assert_eq!(
            attrs,
            vec![
                (IFA_LOCAL, &[10, 0, 0, 1][..]),
                (IFLA_IFNAME, &b"eth0\0"[..])
            ]
        );
    }

    #[test]
    fn macvlan_attributes_nest() {
        let mut data = Message::empty();
        data.attr(IFLA_MACVLAN_MODE, &MACVLAN_MODE_BRIDGE.to_ne_bytes());
        let mut info = Message::empty();
        info.attr(IFLA_INFO_KIND, b"macvlan");
        info.attr(IFLA_INFO_DATA | NLA_F_NESTED, &data.bytes);
        let outer: Vec<_> = attributes(&info.bytes).collect();
        assert_eq!(outer[0], (IFLA_INFO_KIND, &b"macvlan"[..]));
        assert_eq!(outer[1].0, IFLA_INFO_DATA, "the nested flag is masked off");
        let inner: Vec<_> = attributes(outer[1].1).collect();
        assert_eq!(inner, vec![(IFLA_MACVLAN_MODE, &4u32.to_ne_bytes()[..])]);
    }

    #[test]
    fn malformed_attributes_stop_iteration() {
        let mut data = vec![0u8; 4];
        data[0..2].copy_from_slice(&200u16.to_ne_bytes());
        assert_eq!(attributes(&data).count(), 0);
        assert_eq!(attributes(&[1, 0]).count(), 0);
    }
}
