//! The VRRP sockets, one raw socket per interface and family, and the
//! packet socket that sends whole frames: gratuitous ARPs, unsolicited
//! Neighbor Advertisements, and adverts from a virtual MAC.

use core::net::{IpAddr, SocketAddrV6};
use std::io;
use std::os::fd::{AsFd, BorrowedFd, OwnedFd};

use rustix::net::{sockopt, AddressFamily, Protocol, SocketFlags, SocketType};

use super::ffi::{self, Datagrams};
use super::now;
use crate::proto::time::Instant;
use crate::proto::wire::{
    Advert, Datagram, Family, RxError, IPV6_HEADER_LEN, MULTICAST_GROUP, MULTICAST_GROUP_V6,
    PROTO_VRRP, TTL,
};
use crate::proto::{arp, nd};

/// The receive buffer of a VRRP socket (the kernel doubles it for its
/// bookkeeping): room for a burst of adverts from a few hundred instances.
const RECEIVE_BUFFER: usize = 1 << 20;

/// A raw socket for protocol 112 on one interface, of the instance's
/// family. IPv4: joined to 224.0.0.18 there, writing its own IP header (TTL
/// 255, source = primary, RFC 5798 §5.1.1). IPv6: joined to ff02::12, bound
/// to the link-local source (RFC 5798 §5.1.2.1), Hop Limit 255 set on the
/// socket, destination and hop limit of each received datagram reported by
/// the kernel.
pub enum VrrpSocket {
    V4(OwnedFd),
    V6 { fd: OwnedFd, index: u32 },
}

impl VrrpSocket {
    pub fn open(interface: &str, index: u32, primary: IpAddr) -> io::Result<VrrpSocket> {
        let family = match primary {
            IpAddr::V4(_) => AddressFamily::INET,
            IpAddr::V6(_) => AddressFamily::INET6,
        };
        let fd = rustix::net::socket_with(
            family,
            SocketType::RAW,
            SocketFlags::CLOEXEC | SocketFlags::NONBLOCK,
            Some(Protocol::from_raw(
                rustix::net::RawProtocol::new(u32::from(PROTO_VRRP)).expect("112 is non-zero"),
            )),
        )?;
        ffi::bind_to_device(&fd, interface)?;
        // Without timestamps (a kernel older than 5.1) adverts are timed
        // from when we read them.
        let _ = ffi::set_receive_timestamps(&fd);
        // A master of many instances sends their adverts in one burst: 255
        // of them overflowed the default buffer (208 KiB, about 250
        // adverts' worth) on a backup that read a moment late. Without
        // CAP_NET_ADMIN the default stays.
        let _ = sockopt::set_socket_recv_buffer_size_force(&fd, RECEIVE_BUFFER);
        match primary {
            IpAddr::V4(primary) => {
                ffi::set_header_included(&fd)?;
                sockopt::set_ip_multicast_loop(&fd, false)?;
                sockopt::set_ip_multicast_if_with_ifindex(&fd, &MULTICAST_GROUP, &primary, index)?;
                sockopt::set_ip_add_membership_with_ifindex(
                    &fd,
                    &MULTICAST_GROUP,
                    &primary,
                    index,
                )?;
                Ok(VrrpSocket::V4(fd))
            }
            IpAddr::V6(primary) => {
                rustix::net::bind(&fd, &SocketAddrV6::new(primary, 0, 0, index))?;
                sockopt::set_ipv6_multicast_loop(&fd, false)?;
                // No IPV6_MULTICAST_IF: SO_BINDTODEVICE, the bind's scope and
                // each sendto's scope already pick the interface, and the
                // kernel reads the multicast interface only when none of them
                // does. qemu-user (10.0) refuses the option with ENOPROTOOPT,
                // which kept router images from starting IPv6 instances there.
                sockopt::set_ipv6_multicast_hops(&fd, u32::from(TTL))?;
                sockopt::set_ipv6_unicast_hops(&fd, Some(TTL))?;
                sockopt::set_ipv6_add_membership(&fd, &MULTICAST_GROUP_V6, index)?;
                ffi::set_ipv6_receive_info(&fd)?;
                Ok(VrrpSocket::V6 { fd, index })
            }
        }
    }

    /// Reads up to [`ffi::BATCH`] queued datagrams into `datagrams`;
    /// returns how many, 0 when nothing is queued. [`VrrpSocket::datagram`]
    /// then gives each.
    pub fn recv(&self, datagrams: &mut Datagrams) -> io::Result<usize> {
        ffi::receive(self, datagrams)
    }

    /// The `index`th datagram of the last [`VrrpSocket::recv`] and when it
    /// arrived. A datagram whose IP layer is malformed (IPv4 header) or
    /// too long for its room comes back as the reason to count.
    pub fn datagram<'d>(&self, datagrams: &'d Datagrams, index: usize) -> Received<'d> {
        let (info, payload) = datagrams.get(index);
        let arrival = info.arrival.and_then(arrival);
        let datagram = match self {
            _ if info.truncated => Err(RxError::Oversized),
            VrrpSocket::V4(_) => Datagram::ipv4(payload),
            VrrpSocket::V6 { .. } => Ok(Datagram {
                src: IpAddr::V6(info.src),
                dst: IpAddr::V6(info.dst),
                ttl: info.hop_limit,
                payload,
            }),
        };
        (datagram, arrival)
    }

    /// Sends `packets` (built by [`Packets::push_advert`]) to `dst`, a
    /// multicast group or a peer. Says how many were sent before an error
    /// stopped it.
    pub fn send(&self, packets: &Packets, dst: IpAddr) -> (usize, io::Result<()>) {
        let (fd, scope) = match self {
            VrrpSocket::V4(fd) => (fd, 0),
            VrrpSocket::V6 { fd, index } => (fd, *index),
        };
        if Family::of(dst) != self.family() {
            return (0, Err(io::Error::from(io::ErrorKind::InvalidInput)));
        }
        let (name, len) = socket_address(dst, scope);
        ffi::send_to_all(fd.as_fd(), &name[..len], &packets.bytes, &packets.ends)
    }

    fn family(&self) -> Family {
        match self {
            VrrpSocket::V4(_) => Family::Ipv4,
            VrrpSocket::V6 { .. } => Family::Ipv6,
        }
    }
}

/// `struct sockaddr_in` (16 bytes) or `struct sockaddr_in6` (28 bytes,
/// with the scope of a link-local destination) for `address`, as bytes,
/// and its length.
fn socket_address(address: IpAddr, scope: u32) -> ([u8; 28], usize) {
    let mut name = [0u8; 28];
    match address {
        IpAddr::V4(address) => {
            name[..2].copy_from_slice(&AddressFamily::INET.as_raw().to_ne_bytes());
            name[4..8].copy_from_slice(&address.octets());
            (name, 16)
        }
        IpAddr::V6(address) => {
            name[..2].copy_from_slice(&AddressFamily::INET6.as_raw().to_ne_bytes());
            name[8..24].copy_from_slice(&address.octets());
            name[24..].copy_from_slice(&scope.to_ne_bytes());
            (name, 28)
        }
    }
}

/// Packets to send in one go, built in place, and kept from one send to
/// the next so that, once grown, sending allocates nothing.
#[derive(Default)]
pub struct Packets {
    bytes: Vec<u8>,
    /// Where each packet in `bytes` ends.
    ends: Vec<usize>,
}

impl Packets {
    pub fn clear(&mut self) {
        self.bytes.clear();
        self.ends.clear();
    }

    pub fn is_empty(&self) -> bool {
        self.ends.is_empty()
    }

    /// Adds `advert` from `src` to `dst` as it is sent: a whole IPv4
    /// datagram (a VRRP socket writes its own header; a frame), a whole
    /// IPv6 packet (a frame, [`FrameSender::send_adverts`]), or the VRRP
    /// message alone (`payload_only`: an IPv6 VRRP socket's payload). One
    /// function for both senders, for the image's size.
    pub fn push_advert(
        &mut self,
        advert: &Advert<&[IpAddr]>,
        src: IpAddr,
        dst: IpAddr,
        payload_only: bool,
    ) {
        self.push(IPV6_HEADER_LEN + advert.buffer_len(), |buf| {
            match (src, dst) {
                (IpAddr::V4(src), IpAddr::V4(dst)) => advert.emit_ipv4(src, dst, buf),
                (IpAddr::V6(src), IpAddr::V6(dst)) if !payload_only => {
                    advert.emit_ipv6(src, dst, buf)
                }
                _ => advert.emit(src, dst, buf),
            }
        });
    }

    /// Appends the packet that `write` puts in at most `room` bytes.
    fn push(&mut self, room: usize, write: impl FnOnce(&mut [u8]) -> usize) {
        let start = self.bytes.len();
        self.bytes.resize(start + room, 0);
        let len = write(&mut self.bytes[start..]);
        self.bytes.truncate(start + len);
        self.ends.push(start + len);
    }
}

/// A received datagram (or why it is dropped) and when the kernel received
/// it, on our clock.
pub type Received<'b> = (Result<Datagram<'b>, RxError>, Option<Instant>);

/// The kernel's CLOCK_REALTIME receive timestamp on our monotonic clock,
/// through the clocks' offset now. Master_Down_Timer then starts when the
/// advert arrived, not when the loop got to it (RFC 5798 §6.4.2), which
/// takes the loop's wake-up latency off every failover. A timestamp from
/// the future or older than a second (the wall clock was stepped) is not
/// used.
fn arrival(stamp: ffi::Timespec64) -> Option<Instant> {
    let (monotonic, real) = (now(), ffi::realtime_now());
    let age_ns = (real.tv_sec - stamp.tv_sec) * 1_000_000_000 + (real.tv_nsec - stamp.tv_nsec);
    if !(0..1_000_000_000).contains(&age_ns) {
        return None;
    }
    Some(Instant::from_micros(
        monotonic.as_micros().saturating_sub(age_ns as u64 / 1000),
    ))
}

impl AsFd for VrrpSocket {
    fn as_fd(&self) -> BorrowedFd<'_> {
        match self {
            VrrpSocket::V4(fd) | VrrpSocket::V6 { fd, .. } => fd.as_fd(),
        }
    }
}

/// `struct sockaddr_ll` (packet(7)) as bytes: the link-layer destination
/// of a packet socket's send. rustix 1.1 has no type for it.
fn link_address(ifindex: u32, ethertype: u16, mac: [u8; 6]) -> [u8; 20] {
    let mut name = [0u8; 20];
    name[..2].copy_from_slice(&AddressFamily::PACKET.as_raw().to_ne_bytes());
    name[2..4].copy_from_slice(&ethertype.to_be_bytes());
    name[4..8].copy_from_slice(&ifindex.to_ne_bytes());
    // sll_hatype and sll_pkttype stay 0; sll_halen, then sll_addr.
    name[11] = 6;
    name[12..18].copy_from_slice(&mac);
    name
}

const ETH_P_IP: u16 = 0x0800;
const ETH_P_ARP: u16 = 0x0806;
const ETH_P_IPV6: u16 = 0x86dd;
const BROADCAST_MAC: [u8; 6] = [0xff; 6];

/// RFC 1112 §6.4 and RFC 2464 §7: the Ethernet address of an IP multicast
/// group.
fn multicast_mac(group: IpAddr) -> [u8; 6] {
    match group {
        IpAddr::V4(a) => {
            let o = a.octets();
            [0x01, 0x00, 0x5e, o[1] & 0x7f, o[2], o[3]]
        }
        IpAddr::V6(a) => {
            let o = a.octets();
            [0x33, 0x33, o[12], o[13], o[14], o[15]]
        }
    }
}

/// A send-only packet socket: announcements (gratuitous ARP, unsolicited
/// NA), and adverts that must leave from a virtual MAC. The kernel writes
/// the Ethernet header with the sending interface's own MAC as the source,
/// so sending on a macvlan sends from its virtual MAC (RFC 5798 §7.3).
/// Protocol 0 so that the kernel never queues received frames on it.
pub struct FrameSender {
    fd: OwnedFd,
}

impl FrameSender {
    pub fn open() -> io::Result<FrameSender> {
        let fd = rustix::net::socket_with(
            AddressFamily::PACKET,
            SocketType::DGRAM,
            SocketFlags::CLOEXEC | SocketFlags::NONBLOCK,
            None,
        )?;
        Ok(FrameSender { fd })
    }

    /// RFC 5798 §6.4.1: adds a gratuitous ARP (IPv4) or an unsolicited
    /// Neighbor Advertisement (IPv6) saying that `address` lives at `mac`
    /// to `packets`. `src` is the interface's link-local address, the NA's
    /// source.
    pub fn push_announcement(packets: &mut Packets, mac: [u8; 6], address: IpAddr, src: IpAddr) {
        match (address, src) {
            (IpAddr::V4(address), _) => packets.push(arp::ARP_LEN, |buf| {
                buf[..arp::ARP_LEN].copy_from_slice(&arp::gratuitous(mac, address));
                arp::ARP_LEN
            }),
            (IpAddr::V6(target), IpAddr::V6(src)) => packets.push(nd::PACKET_LEN, |buf| {
                buf[..nd::PACKET_LEN].copy_from_slice(&nd::unsolicited_na(src, mac, target));
                nd::PACKET_LEN
            }),
            (IpAddr::V6(_), IpAddr::V4(_)) => {}
        }
    }

    /// Sends the announcements in `packets`, all of `family`, on `ifindex`:
    /// ARP to the broadcast MAC, NAs to the all-nodes group's.
    pub fn announce(&self, ifindex: u32, family: Family, packets: &Packets) -> io::Result<()> {
        let (ethertype, mac) = match family {
            Family::Ipv4 => (ETH_P_ARP, BROADCAST_MAC),
            Family::Ipv6 => (ETH_P_IPV6, multicast_mac(IpAddr::V6(nd::ALL_NODES))),
        };
        self.send(ifindex, ethertype, mac, packets).1
    }

    /// Sends the multicast adverts in `packets`, all of `family`, on
    /// `ifindex`.
    /// Says how many were sent before an error stopped it.
    pub fn send_adverts(
        &self,
        ifindex: u32,
        family: Family,
        packets: &Packets,
    ) -> (usize, io::Result<()>) {
        let group = family.multicast_group();
        let ethertype = match family {
            Family::Ipv4 => ETH_P_IP,
            Family::Ipv6 => ETH_P_IPV6,
        };
        self.send(ifindex, ethertype, multicast_mac(group), packets)
    }

    fn send(
        &self,
        ifindex: u32,
        ethertype: u16,
        mac: [u8; 6],
        packets: &Packets,
    ) -> (usize, io::Result<()>) {
        let to = link_address(ifindex, ethertype, mac);
        ffi::send_to_all(self.fd.as_fd(), &to, &packets.bytes, &packets.ends)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use core::net::{Ipv4Addr, Ipv6Addr};
    use core::time::Duration;

    /// Through a UDP socket on loopback (no privilege needed): the same
    /// recvmsg and timestamp as the raw sockets. qemu-user (the router
    /// images' tests) does not emulate the option; the daemon then times
    /// adverts from when it reads them, and so does this test say.
    #[test]
    fn datagrams_carry_their_arrival_on_our_clock() {
        let socket = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
        if let Err(e) = ffi::set_receive_timestamps(&socket) {
            assert_eq!(
                e.raw_os_error(),
                Some(rustix::io::Errno::NOPROTOOPT.raw_os_error())
            );
            eprintln!("SKIPPED: no SO_TIMESTAMPNS_NEW here ({e}): qemu-user?");
            return;
        }
        // The first socket asking for timestamps turns on the kernel's
        // stamping of incoming packets from a work queue, a moment later;
        // until then the receive call stamps them.
        std::thread::sleep(Duration::from_millis(100));
        let before = now();
        socket
            .send_to(b"advert", socket.local_addr().unwrap())
            .unwrap();
        std::thread::sleep(Duration::from_millis(50));
        let mut datagrams = Datagrams::default();
        assert_eq!(ffi::receive(&socket, &mut datagrams).unwrap(), 1);
        let after = now();
        let (received, payload) = datagrams.get(0);
        assert_eq!((payload, received.truncated), (&b"advert"[..], false));
        let arrival = arrival(received.arrival.expect("a timestamp")).expect("recent");
        // It arrived at once; we read it 50 ms later.
        assert!(
            before <= arrival + Duration::from_millis(2),
            "{before:?} {arrival:?}"
        );
        assert!(
            arrival + Duration::from_millis(40) <= after,
            "{arrival:?} {after:?}"
        );
    }

    /// The C layouts sendmmsg(2) reads: `sockaddr_in`, `sockaddr_in6` and
    /// `sockaddr_ll`, host-order family and index, network-order
    /// ethertype.
    #[test]
    fn socket_addresses_as_the_kernel_reads_them() {
        let (v4, len) = socket_address(IpAddr::V4(MULTICAST_GROUP), 7);
        let family = AddressFamily::INET.as_raw().to_ne_bytes();
        assert_eq!(len, 16);
        assert_eq!(
            v4[..16],
            [family[0], family[1], 0, 0, 224, 0, 0, 18, 0, 0, 0, 0, 0, 0, 0, 0]
        );
        let (v6, len) = socket_address(IpAddr::V6(MULTICAST_GROUP_V6), 7);
        assert_eq!(len, 28);
        assert_eq!(v6[..2], AddressFamily::INET6.as_raw().to_ne_bytes());
        assert_eq!(v6[2..8], [0; 6]);
        assert_eq!(v6[8..24], MULTICAST_GROUP_V6.octets());
        assert_eq!(v6[24..], 7u32.to_ne_bytes());
        let ll = link_address(3, ETH_P_ARP, BROADCAST_MAC);
        assert_eq!(ll[..2], AddressFamily::PACKET.as_raw().to_ne_bytes());
        assert_eq!(ll[2..4], [0x08, 0x06]);
        assert_eq!(ll[4..8], 3u32.to_ne_bytes());
        assert_eq!(ll[8..12], [0, 0, 0, 6]);
        assert_eq!(ll[12..], [0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0, 0]);
    }

    #[test]
    fn multicast_macs_of_the_vrrp_groups() {
        assert_eq!(
            multicast_mac(IpAddr::V4(MULTICAST_GROUP)),
            [0x01, 0x00, 0x5e, 0x00, 0x00, 0x12]
        );
        assert_eq!(
            multicast_mac(IpAddr::V6(MULTICAST_GROUP_V6)),
            [0x33, 0x33, 0x00, 0x00, 0x00, 0x12]
        );
        assert_eq!(
            multicast_mac(IpAddr::V4(Ipv4Addr::new(239, 129, 2, 3))),
            [0x01, 0x00, 0x5e, 0x01, 0x02, 0x03]
        );
        assert_eq!(
            multicast_mac(IpAddr::V6(Ipv6Addr::new(
                0xff02, 0, 0, 0, 0, 1, 0xff00, 0x100
            ))),
            [0x33, 0x33, 0xff, 0x00, 0x01, 0x00]
        );
    }
}
