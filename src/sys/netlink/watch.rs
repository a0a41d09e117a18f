//! Link changes from the kernel (RTMGRP_LINK), read without blocking.

use std::io;
use std::os::fd::{AsFd, OwnedFd};

use rustix::io::Errno;
use rustix::net::{RecvFlags, SocketFlags};

use super::message::{align4, attributes};
use super::{
    route_socket, AF_UNSPEC, IFF_UP, IFINFOMSG_LEN, IFLA_IFNAME, NLMSG_HDR_LEN, RTM_DELLINK,
    RTM_NEWLINK,
};

/// The multicast group of link changes (`RTMGRP_LINK`).
const RTMGRP_LINK: u32 = 1;
/// The driver reports carrier (operationally up, RFC 2863).
const IFF_RUNNING: u32 = 0x40;

/// A link changed (RTM_NEWLINK) or went away (RTM_DELLINK).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LinkChange {
    pub index: u32,
    pub up: bool,
    /// Its name, when the message carries one: a link deleted and created
    /// again comes back under a new index with the old name.
    pub name: Option<String>,
}

/// What the link-change socket has to say.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LinkEvents {
    Changes(Vec<LinkChange>),
    /// The socket's buffer overflowed and changes were lost: look every
    /// link up again.
    Lost,
}

/// A netlink socket subscribed to link changes, read without blocking.
pub struct LinkWatch {
    fd: OwnedFd,
    buf: Vec<u8>,
}

impl LinkWatch {
    pub fn open() -> io::Result<LinkWatch> {
        let fd = route_socket(SocketFlags::NONBLOCK, RTMGRP_LINK)?;
        Ok(LinkWatch {
            fd,
            buf: vec![0; 32 * 1024],
        })
    }

    /// Everything queued since the last call.
    pub fn read(&mut self) -> io::Result<LinkEvents> {
        let mut changes = Vec::new();
        loop {
            match rustix::net::recv(&self.fd, &mut self.buf[..], RecvFlags::empty()) {
                Ok((received, _)) => changes.extend(link_changes(&self.buf[..received])),
                Err(Errno::AGAIN) => return Ok(LinkEvents::Changes(changes)),
                Err(Errno::NOBUFS) => {
                    // Drain what is queued; it is older than the lookup to come.
                    while rustix::net::recv(&self.fd, &mut self.buf[..], RecvFlags::empty()).is_ok()
                    {
                    }
                    return Ok(LinkEvents::Lost);
                }
                Err(e) => return Err(e.into()),
            }
        }
    }
}

impl AsFd for LinkWatch {
    fn as_fd(&self) -> std::os::fd::BorrowedFd<'_> {
        self.fd.as_fd()
    }
}

/// The link changes in one datagram of netlink messages. Public for the
/// fuzz target (`fuzz/fuzz_targets/netlink_parse.rs`); the daemon reads
/// them through [`LinkWatch::read`].
#[doc(hidden)]
pub fn link_changes(mut rest: &[u8]) -> Vec<LinkChange> {
    let mut changes = Vec::new();
    while rest.len() >= NLMSG_HDR_LEN {
        let len = u32::from_ne_bytes([rest[0], rest[1], rest[2], rest[3]]) as usize;
        if len < NLMSG_HDR_LEN || len > rest.len() {
            break;
        }
        let kind = u16::from_ne_bytes([rest[4], rest[5]]);
        changes.extend(link_change(kind, &rest[NLMSG_HDR_LEN..len]));
        rest = &rest[align4(len).min(rest.len())..];
    }
    changes
}

/// An RTM_NEWLINK or RTM_DELLINK body: the index and whether the link can
/// carry adverts.
pub(super) fn link_change(kind: u16, body: &[u8]) -> Option<LinkChange> {
    // AF_BRIDGE messages speak of bridge ports: a port leaving its bridge
    // is an RTM_DELLINK for an interface that still exists.
    if body.len() < IFINFOMSG_LEN
        || body[0] != AF_UNSPEC
        || !matches!(kind, RTM_NEWLINK | RTM_DELLINK)
    {
        return None;
    }
    let index = u32::from_ne_bytes([body[4], body[5], body[6], body[7]]);
    let flags = u32::from_ne_bytes([body[8], body[9], body[10], body[11]]);
    let running = IFF_UP | IFF_RUNNING;
    let name = attributes(&body[IFINFOMSG_LEN..])
        .find(|(kind, _)| *kind == IFLA_IFNAME)
        .map(|(_, value)| {
            let name = value.split(|&b| b == 0).next().unwrap_or_default();
            String::from_utf8_lossy(name).into_owned()
        });
    Some(LinkChange {
        index,
        up: kind == RTM_NEWLINK && flags & running == running,
        name,
    })
}

#[cfg(test)]
mod tests {
    use super::super::message::Message;
    use super::super::RTM_NEWADDR;
    use super::*;

    const AF_BRIDGE: u8 = 7;

    fn link_message(kind: u16, index: u32, flags: u32) -> Vec<u8> {
        let mut msg = Message::new(kind, 0);
        msg.ifinfo(AF_UNSPEC, index);
        msg.bytes[NLMSG_HDR_LEN + 8..NLMSG_HDR_LEN + 12].copy_from_slice(&flags.to_ne_bytes());
        msg.attr(IFLA_IFNAME, b"eth0\0");
        msg.finish(0).to_vec()
    }

    #[test]
    fn link_changes_need_up_and_running_and_deletion_is_down() {
        let mut datagram = link_message(RTM_NEWLINK, 3, IFF_UP | IFF_RUNNING | 0x1000);
        datagram.extend(link_message(RTM_NEWLINK, 4, IFF_UP));
        datagram.extend(link_message(RTM_NEWLINK, 5, IFF_RUNNING));
        datagram.extend(link_message(RTM_DELLINK, 6, IFF_UP | IFF_RUNNING));
        datagram.extend(link_message(RTM_NEWADDR, 7, IFF_UP | IFF_RUNNING));
        let mut bridge_port_left = link_message(RTM_DELLINK, 8, IFF_UP | IFF_RUNNING);
        bridge_port_left[NLMSG_HDR_LEN] = AF_BRIDGE;
        datagram.extend(bridge_port_left);
        let expected: Vec<_> = [(3, true), (4, false), (5, false), (6, false)]
            .into_iter()
            .map(|(index, up)| LinkChange {
                index,
                up,
                name: Some("eth0".to_string()),
            })
            .collect();
        assert_eq!(link_changes(&datagram), expected);
    }

    #[test]
    fn a_truncated_link_message_ends_the_datagram() {
        let mut datagram = link_message(RTM_NEWLINK, 3, IFF_UP | IFF_RUNNING);
        let whole = datagram.len();
        datagram.extend(link_message(RTM_NEWLINK, 4, IFF_UP | IFF_RUNNING));
        datagram.truncate(whole + 20);
        let changes = link_changes(&datagram);
        assert_eq!(changes.len(), 1);
        assert_eq!((changes[0].index, changes[0].up), (3, true));
        assert_eq!(link_changes(&datagram[..10]), vec![]);
    }
}
