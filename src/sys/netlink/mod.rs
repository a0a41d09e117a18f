//! rtnetlink over a rustix socket: look up, create (macvlan), set up or
//! down and delete links; list, add and delete IPv4 and IPv6 addresses.
//! Messages use the host's byte order (netlink is native-endian), which
//! matters on big-endian MIPS. Requests are built by `message`; link
//! changes are read by `watch`.

mod message;
mod watch;

use message::{align4, attributes, Message};
use watch::link_change;
pub use watch::{link_changes, LinkChange, LinkEvents, LinkWatch};

use core::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use core::time::Duration;
use std::io;
use std::os::fd::{AsFd, OwnedFd};

use rustix::io::Errno;
use rustix::net::netlink::SocketAddrNetlink;
use rustix::net::{AddressFamily, RecvFlags, SendFlags, SocketFlags, SocketType};

/// How long to wait for the kernel's answer to one request.
const REPLY_TIMEOUT: Duration = Duration::from_secs(2);
const NLMSG_HDR_LEN: usize = 16;
/// Address requests per send in [`Netlink::change_addresses`]: the kernel
/// queues an answer of well under a kilobyte to each on our socket, and
/// its default receive buffer (208 KiB) takes this many several times over.
const BATCH: usize = 32;
/// A request's answer in [`Netlink::exchange`] before it arrives; answers
/// are 0 or negative.
const PENDING: i32 = 1;
const NLMSG_ERROR: u16 = 2;
const NLMSG_DONE: u16 = 3;
const NLM_F_REQUEST: u16 = 0x1;
const NLM_F_ACK: u16 = 0x4;
const NLM_F_DUMP: u16 = 0x300;
const NLM_F_EXCL: u16 = 0x200;
const NLM_F_CREATE: u16 = 0x400;
const RTM_NEWLINK: u16 = 16;
const RTM_DELLINK: u16 = 17;
const RTM_GETLINK: u16 = 18;
const RTM_NEWADDR: u16 = 20;
const RTM_DELADDR: u16 = 21;
const RTM_GETADDR: u16 = 22;
const IFINFOMSG_LEN: usize = 16;
const IFADDRMSG_LEN: usize = 8;
const IFLA_ADDRESS: u16 = 1;
const IFLA_IFNAME: u16 = 3;
const IFLA_LINK: u16 = 5;
const IFLA_LINKINFO: u16 = 18;
const IFLA_INFO_KIND: u16 = 1;
const IFLA_INFO_DATA: u16 = 2;
const IFLA_MACVLAN_MODE: u16 = 1;
/// macvlan mode bridge: the macvlan and its parent's other macvlans reach
/// each other, as FRR and keepalived create theirs.
const MACVLAN_MODE_BRIDGE: u32 = 4;
/// Marks an attribute as holding nested attributes.
const NLA_F_NESTED: u16 = 0x8000;
const IFA_ADDRESS: u16 = 1;
const IFA_LOCAL: u16 = 2;
const IFA_F_SECONDARY: u8 = 0x01;
/// RFC 4862 §5.4: skip Duplicate Address Detection. A VIP moves between
/// routers on purpose; DAD would hold it unusable for a second or more.
const IFA_F_NODAD: u8 = 0x02;
/// DAD has not finished: the address cannot be bound yet.
const IFA_F_TENTATIVE: u8 = 0x40;
const IFA_F_DADFAILED: u8 = 0x08;
const AF_INET: u8 = 2;
const AF_INET6: u8 = 10;
const AF_UNSPEC: u8 = 0;
const IFF_UP: u32 = 0x1;

/// What we need to know about an interface.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Link {
    pub index: u32,
    pub mac: [u8; 6],
    /// Administratively up and with carrier: adverts can leave and arrive.
    pub up: bool,
}

/// One address on an interface.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AddressEntry {
    pub address: IpAddr,
    pub prefix: u8,
    pub secondary: bool,
    /// IPv6 DAD is still running (or failed): not usable as a source yet.
    pub tentative: bool,
}

pub struct Netlink {
    fd: OwnedFd,
    seq: u32,
    buf: Vec<u8>,
}

impl Netlink {
    pub fn open() -> io::Result<Netlink> {
        let fd = route_socket(SocketFlags::empty(), 0)?;
        Ok(Netlink {
            fd,
            seq: 0,
            buf: vec![0; 32 * 1024],
        })
    }

    /// RTM_GETLINK by name: the index and hardware address.
    pub fn link(&mut self, name: &str) -> io::Result<Option<Link>> {
        // NLM_F_ACK: a plain get is answered without a terminating message.
        let mut msg = Message::new(RTM_GETLINK, NLM_F_REQUEST | NLM_F_ACK);
        msg.ifinfo(AF_UNSPEC, 0);
        msg.attr(IFLA_IFNAME, &nul_terminated(name));
        let mut link = None;
        let result = self.transact(msg, &mut |kind, body| {
            if let Some(change) = link_change(kind, body) {
                let mut mac = [0; 6];
                for (kind, value) in attributes(&body[IFINFOMSG_LEN..]) {
                    if kind == IFLA_ADDRESS && value.len() == 6 {
                        mac.copy_from_slice(value);
                    }
                }
                link = Some(Link {
                    index: change.index,
                    mac,
                    up: change.up,
                });
            }
        });
        match result {
            Ok(()) => Ok(link),
            Err(e) if e.raw_os_error() == Some(Errno::NODEV.raw_os_error()) => Ok(None),
            Err(e) => Err(e),
        }
    }

    /// RTM_GETADDR dump, filtered to one interface.
    pub fn addresses(&mut self, index: u32) -> io::Result<Vec<AddressEntry>> {
        let mut msg = Message::new(RTM_GETADDR, NLM_F_REQUEST | NLM_F_DUMP);
        msg.ifaddr(AF_UNSPEC, 0, 0, 0);
        let mut list = Vec::new();
        self.transact(msg, &mut |kind, body| {
            if kind == RTM_NEWADDR {
                list.extend(address_entry(index, body));
            }
        })?;
        Ok(list)
    }

    /// Deletes an address; one that is already gone, or whose interface is
    /// gone (its addresses went with it), counts as success.
    pub fn del_address(&mut self, index: u32, address: IpAddr, prefix: u8) -> io::Result<()> {
        let mut result = Ok(());
        self.change_addresses(false, index, 1, &|_| (address, prefix), &mut |_, done| {
            result = done.map(|_| ());
        });
        result
    }

    /// Adds (`add`, IPv6 without DAD) or deletes `count` addresses with
    /// their prefixes, the `i`th given by `address(i)`, on the interface
    /// `index`, and tells `done` of each: `Ok(true)` when made,
    /// `Ok(false)` when there already (an add); a delete of an address
    /// already gone, or whose interface is gone (its addresses went with
    /// it), counts as made. Up to [`BATCH`] requests go in one send and
    /// their answers are read after it: 200 VIPs cost 7 round trips to the
    /// kernel, not 200.
    pub fn change_addresses(
        &mut self,
        add: bool,
        index: u32,
        count: usize,
        address: &dyn Fn(usize) -> (IpAddr, u8),
        done: &mut dyn FnMut(usize, io::Result<bool>),
    ) {
        let (kind, flags) = match add {
            true => (
                RTM_NEWADDR,
                NLM_F_REQUEST | NLM_F_ACK | NLM_F_CREATE | NLM_F_EXCL,
            ),
            false => (RTM_DELADDR, NLM_F_REQUEST | NLM_F_ACK),
        };
        let mut requests = Vec::new();
        let mut first = 0;
        while first < count {
            let batch = (count - first).min(BATCH);
            requests.clear();
            let first_seq = self.seq.wrapping_add(1);
            for i in first..first + batch {
                let (address, prefix) = address(i);
                self.seq = self.seq.wrapping_add(1);
                let mut msg = Message::new(kind, flags);
                let (v4, v6);
                let octets: &[u8] = match address {
                    IpAddr::V4(a) => {
                        msg.ifaddr(AF_INET, prefix, 0, index);
                        v4 = a.octets();
                        &v4
                    }
                    IpAddr::V6(a) => {
                        msg.ifaddr(AF_INET6, prefix, IFA_F_NODAD, index);
                        v6 = a.octets();
                        &v6
                    }
                };
                msg.attr(IFA_LOCAL, octets);
                msg.attr(IFA_ADDRESS, octets);
                requests.extend_from_slice(msg.finish(self.seq));
            }
            let mut codes = [PENDING; BATCH];
            self.exchange(&requests, first_seq, &mut codes[..batch], &mut |_, _| {});
            for (offset, &code) in codes[..batch].iter().enumerate() {
                // Added, or there already (EEXIST); deleted, or gone.
                let errno = -code;
                let made = match add {
                    true => code == 0 || errno == Errno::EXIST.raw_os_error(),
                    false => {
                        code == 0
                            || errno == Errno::ADDRNOTAVAIL.raw_os_error()
                            || errno == Errno::NODEV.raw_os_error()
                    }
                };
                done(
                    first + offset,
                    match made {
                        true => Ok(code == 0 || !add),
                        // Answered: an error, not 0.
                        false => Err(io::Error::from_raw_os_error(errno)),
                    },
                );
            }
            first += batch;
        }
    }

    /// Creates a macvlan `name` on `parent` with the given MAC, in bridge
    /// mode, left down; returns its index.
    pub fn create_macvlan(&mut self, parent: u32, name: &str, mac: [u8; 6]) -> io::Result<u32> {
        let flags = NLM_F_REQUEST | NLM_F_ACK | NLM_F_CREATE | NLM_F_EXCL;
        let mut msg = Message::new(RTM_NEWLINK, flags);
        msg.ifinfo(AF_UNSPEC, 0);
        msg.attr(IFLA_IFNAME, &nul_terminated(name));
        msg.attr(IFLA_LINK, &parent.to_ne_bytes());
        msg.attr(IFLA_ADDRESS, &mac);
        let mut data = Message::empty();
        data.attr(IFLA_MACVLAN_MODE, &MACVLAN_MODE_BRIDGE.to_ne_bytes());
        let mut info = Message::empty();
        info.attr(IFLA_INFO_KIND, b"macvlan");
        info.attr(IFLA_INFO_DATA | NLA_F_NESTED, &data.bytes);
        msg.attr(IFLA_LINKINFO | NLA_F_NESTED, &info.bytes);
        self.transact(msg, &mut |_, _| {})?;
        self.link(name)?
            .map(|link| link.index)
            .ok_or_else(|| super::error(io::ErrorKind::NotFound, "macvlan vanished".into()))
    }

    /// Sets a link administratively up or down.
    pub fn set_link_up(&mut self, index: u32, up: bool) -> io::Result<()> {
        let mut msg = Message::new(RTM_NEWLINK, NLM_F_REQUEST | NLM_F_ACK);
        msg.ifinfo_flags(index, if up { IFF_UP } else { 0 }, IFF_UP);
        self.transact(msg, &mut |_, _| {})
    }

    /// Deletes a link; one already gone counts as success.
    pub fn delete_link(&mut self, index: u32) -> io::Result<()> {
        let mut msg = Message::new(RTM_DELLINK, NLM_F_REQUEST | NLM_F_ACK);
        msg.ifinfo(AF_UNSPEC, index);
        match self.transact(msg, &mut |_, _| {}) {
            Err(e) if e.raw_os_error() == Some(Errno::NODEV.raw_os_error()) => Ok(()),
            other => other,
        }
    }

    /// Sends one request and reads replies until the ack, the end of a dump,
    /// or an error, handing each reply's type and body to `each` (a `dyn`,
    /// so the loop exists once in the image, not once per request kind).
    fn transact(&mut self, mut msg: Message, each: &mut dyn FnMut(u16, &[u8])) -> io::Result<()> {
        self.seq = self.seq.wrapping_add(1);
        let seq = self.seq;
        let mut code = [PENDING];
        self.exchange(msg.finish(seq), seq, &mut code, each);
        reply_result(code[0])
    }

    /// Sends `requests`, whole messages numbered from `first`, in one send
    /// and reads replies until each request has its answer: its ack or
    /// error, or the end of its dump, as 0 or a negative errno in `codes`
    /// (by number from `first`). Other replies go to `each`. What stays
    /// unanswered gets the error that ended the wait.
    fn exchange(
        &mut self,
        requests: &[u8],
        first: u32,
        codes: &mut [i32],
        each: &mut dyn FnMut(u16, &[u8]),
    ) {
        let mut unanswered = codes.len();
        let mut failure = rustix::net::sendto(
            &self.fd,
            requests,
            SendFlags::empty(),
            &SocketAddrNetlink::new(0, 0),
        )
        .err();
        while unanswered > 0 && failure.is_none() {
            // The kernel answers at once; never let a lost reply stall the loop.
            match super::wait(&[(self.fd.as_fd(), false)], Some(REPLY_TIMEOUT)) {
                Ok(ready) if ready[0] => {}
                Ok(_) => {
                    failure = Some(Errno::TIMEDOUT);
                    break;
                }
                Err(e) => {
                    failure = Some(Errno::from_io_error(&e).unwrap_or(Errno::IO));
                    break;
                }
            }
            let received = match rustix::net::recv(&self.fd, &mut self.buf[..], RecvFlags::empty())
            {
                Ok((received, _)) => received,
                Err(e) => {
                    failure = Some(e);
                    break;
                }
            };
            let mut rest = &self.buf[..received];
            while rest.len() >= NLMSG_HDR_LEN {
                let len = u32::from_ne_bytes([rest[0], rest[1], rest[2], rest[3]]) as usize;
                if len < NLMSG_HDR_LEN || len > rest.len() {
                    failure = Some(Errno::BADMSG);
                    break;
                }
                let kind = u16::from_ne_bytes([rest[4], rest[5]]);
                let reply_seq = u32::from_ne_bytes([rest[8], rest[9], rest[10], rest[11]]);
                let body = &rest[NLMSG_HDR_LEN..len];
                rest = &rest[align4(len).min(rest.len())..];
                let Some(code) = codes.get_mut(reply_seq.wrapping_sub(first) as usize) else {
                    continue;
                };
                match kind {
                    NLMSG_DONE | NLMSG_ERROR if *code == PENDING => {
                        *code = body
                            .get(..4)
                            .map_or(0, |b| i32::from_ne_bytes([b[0], b[1], b[2], b[3]]));
                        // NLMSG_DONE carries the dump's status, 0 when whole.
                        *code = (*code).min(0);
                        unanswered -= 1;
                    }
                    _ => each(kind, body),
                }
            }
        }
        if let Some(failure) = failure {
            for code in codes.iter_mut().filter(|code| **code == PENDING) {
                *code = -failure.raw_os_error();
            }
        }
    }
}

/// An answer in [`Netlink::exchange`]'s terms as a result.
fn reply_result(code: i32) -> io::Result<()> {
    match code {
        0 => Ok(()),
        _ => Err(io::Error::from_raw_os_error(-code)),
    }
}

/// A NETLINK_ROUTE socket, joined to the multicast `groups` (0: none).
fn route_socket(flags: SocketFlags, groups: u32) -> io::Result<OwnedFd> {
    let fd = rustix::net::socket_with(
        AddressFamily::NETLINK,
        SocketType::RAW,
        SocketFlags::CLOEXEC | flags,
        // NETLINK_ROUTE is protocol 0.
        None,
    )?;
    rustix::net::bind(&fd, &SocketAddrNetlink::new(0, groups))?;
    Ok(fd)
}

/// An RTM_NEWADDR body on interface `index`, IPv4 or IPv6. Public for the
/// fuzz target (`fuzz/fuzz_targets/netlink_parse.rs`); the daemon gets
/// addresses through [`Netlink::addresses`].
#[doc(hidden)]
pub fn address_entry(index: u32, body: &[u8]) -> Option<AddressEntry> {
    if body.len() < IFADDRMSG_LEN {
        return None;
    }
    let entry_index = u32::from_ne_bytes([body[4], body[5], body[6], body[7]]);
    if entry_index != index {
        return None;
    }
    let mut local = None;
    let mut address = None;
    for (kind, value) in attributes(&body[IFADDRMSG_LEN..]) {
        let parsed = match (body[0], value.len()) {
            (AF_INET, 4) => <[u8; 4]>::try_from(value)
                .ok()
                .map(|o| IpAddr::V4(Ipv4Addr::from(o))),
            (AF_INET6, 16) => <[u8; 16]>::try_from(value)
                .ok()
                .map(|o| IpAddr::V6(Ipv6Addr::from(o))),
            _ => None,
        };
        match kind {
            IFA_LOCAL => local = parsed.or(local),
            IFA_ADDRESS => address = parsed.or(address),
            _ => {}
        }
    }
    let flags = body[2];
    Some(AddressEntry {
        address: local.or(address)?,
        prefix: body[1],
        secondary: flags & IFA_F_SECONDARY != 0,
        tentative: flags & (IFA_F_TENTATIVE | IFA_F_DADFAILED) != 0,
    })
}

fn nul_terminated(name: &str) -> Vec<u8> {
    let mut bytes = name.as_bytes().to_vec();
    bytes.push(0);
    bytes
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ipv6_addresses_parse_with_their_flags() {
        let mut msg = Message::new(RTM_NEWADDR, 0);
        msg.ifaddr(AF_INET6, 64, IFA_F_TENTATIVE, 7);
        let link_local = Ipv6Addr::new(0xfe80, 0, 0, 0, 0, 0, 0, 1);
        msg.attr(IFA_ADDRESS, &link_local.octets());
        let bytes = msg.finish(0).to_vec();
        let body = &bytes[NLMSG_HDR_LEN..];
        assert_eq!(
            address_entry(7, body),
            Some(AddressEntry {
                address: IpAddr::V6(link_local),
                prefix: 64,
                secondary: false,
                tentative: true,
            })
        );
        assert_eq!(address_entry(8, body), None, "another interface");
        let mut v4 = Message::new(RTM_NEWADDR, 0);
        v4.ifaddr(AF_INET, 24, IFA_F_SECONDARY, 7);
        v4.attr(IFA_LOCAL, &[10, 0, 0, 2]);
        let bytes = v4.finish(0).to_vec();
        let entry = address_entry(7, &bytes[NLMSG_HDR_LEN..]).unwrap();
        assert_eq!(entry.address, IpAddr::V4(Ipv4Addr::new(10, 0, 0, 2)));
        assert!(entry.secondary && !entry.tentative);
    }

    #[test]
    fn vip_requests_skip_dad_for_ipv6_only() {
        let mut msg = Message::new(RTM_NEWADDR, 0);
        msg.ifaddr(AF_INET6, 64, IFA_F_NODAD, 3);
        assert_eq!(msg.bytes[NLMSG_HDR_LEN + 2], IFA_F_NODAD);
    }

    #[test]
    fn set_link_up_changes_only_the_up_flag() {
        let mut msg = Message::new(RTM_NEWLINK, 0);
        msg.ifinfo_flags(9, IFF_UP, IFF_UP);
        let body = &msg.bytes[NLMSG_HDR_LEN..];
        assert_eq!(u32::from_ne_bytes(body[4..8].try_into().unwrap()), 9);
        assert_eq!(u32::from_ne_bytes(body[8..12].try_into().unwrap()), IFF_UP);
        assert_eq!(u32::from_ne_bytes(body[12..16].try_into().unwrap()), IFF_UP);
    }
}
