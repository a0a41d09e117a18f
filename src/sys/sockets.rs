//! The VRRP sockets, one raw socket per interface and family, and the
//! packet socket that sends whole frames: gratuitous ARPs, unsolicited
//! Neighbor Advertisements, and adverts from a virtual MAC.

use core::net::{IpAddr, SocketAddrV4, SocketAddrV6};
use std::io;
use std::os::fd::{AsFd, BorrowedFd, OwnedFd};

use rustix::net::addr::{SocketAddrArg, SocketAddrLen, SocketAddrOpaque};
use rustix::net::{sockopt, AddressFamily, Protocol, SendFlags, SocketFlags, SocketType};

use super::{ffi, now};
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

    /// One datagram and when it arrived, `None` when nothing is queued. A
    /// datagram whose IP layer is malformed (IPv4 header) or too long for
    /// `buf` comes back as the reason to count.
    pub fn recv<'b>(&self, buf: &'b mut [u8]) -> io::Result<Option<Received<'b>>> {
        let fd = match self {
            VrrpSocket::V4(fd) | VrrpSocket::V6 { fd, .. } => fd,
        };
        let Some(info) = ffi::receive(fd, buf)? else {
            return Ok(None);
        };
        let arrival = info.arrival.and_then(arrival);
        let datagram = match self {
            _ if info.truncated => Err(RxError::Oversized),
            VrrpSocket::V4(_) => Datagram::ipv4(&buf[..info.len]),
            VrrpSocket::V6 { .. } => Ok(Datagram {
                src: IpAddr::V6(info.src),
                dst: IpAddr::V6(info.dst),
                ttl: info.hop_limit,
                payload: &buf[..info.len],
            }),
        };
        Ok(Some((datagram, arrival)))
    }

    /// Sends `advert` from `src` to `dst` (a multicast group or a peer).
    pub fn send(&self, advert: &Advert, src: IpAddr, dst: IpAddr) -> io::Result<()> {
        let mut packet = [0u8; MAX_PACKET];
        match (self, src, dst) {
            (VrrpSocket::V4(fd), IpAddr::V4(src), IpAddr::V4(dst)) => {
                let len = advert.emit_ipv4(src, dst, &mut packet);
                rustix::net::sendto(
                    fd,
                    &packet[..len],
                    SendFlags::empty(),
                    &SocketAddrV4::new(dst, 0),
                )?;
            }
            (VrrpSocket::V6 { fd, index }, IpAddr::V6(_), IpAddr::V6(dst)) => {
                let len = advert.emit(src, dst, &mut packet);
                rustix::net::sendto(
                    fd,
                    &packet[..len],
                    SendFlags::empty(),
                    &SocketAddrV6::new(dst, 0, 0, *index),
                )?;
            }
            _ => return Err(io::Error::from(io::ErrorKind::InvalidInput)),
        }
        Ok(())
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

/// The longest advert: 255 IPv6 addresses and an IPv6 header.
const MAX_PACKET: usize = IPV6_HEADER_LEN + 8 + 255 * 16;

/// `struct sockaddr_ll` (packet(7)); rustix 1.1 has no type for it.
#[repr(C)]
struct SockaddrLl {
    family: u16,
    protocol_be: u16,
    ifindex: i32,
    hatype: u16,
    pkttype: u8,
    halen: u8,
    addr: [u8; 8],
}

/// A link-layer destination for a packet socket.
struct LinkAddr {
    ifindex: u32,
    ethertype: u16,
    mac: [u8; 6],
}

// SAFETY: `with_sockaddr` passes a pointer to a `SockaddrLl` that lives on
// the stack for the whole call, with exactly its size, and the struct has the
// kernel's `sockaddr_ll` layout (repr(C), same field types and order).
unsafe impl SocketAddrArg for LinkAddr {
    unsafe fn with_sockaddr<R>(
        &self,
        f: impl FnOnce(*const SocketAddrOpaque, SocketAddrLen) -> R,
    ) -> R {
        let mut addr = [0u8; 8];
        addr[..6].copy_from_slice(&self.mac);
        let raw = SockaddrLl {
            family: AddressFamily::PACKET.as_raw(),
            protocol_be: self.ethertype.to_be(),
            ifindex: self.ifindex as i32,
            hatype: 0,
            pkttype: 0,
            halen: 6,
            addr,
        };
        f(
            (&raw as *const SockaddrLl).cast(),
            core::mem::size_of::<SockaddrLl>() as SocketAddrLen,
        )
    }
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

    fn send(&self, ifindex: u32, ethertype: u16, mac: [u8; 6], payload: &[u8]) -> io::Result<()> {
        let to = LinkAddr {
            ifindex,
            ethertype,
            mac,
        };
        rustix::net::sendto(&self.fd, payload, SendFlags::empty(), &to)?;
        Ok(())
    }

    /// RFC 5798 §6.4.1: a gratuitous ARP (IPv4) or an unsolicited Neighbor
    /// Advertisement (IPv6) saying that `address` lives at `mac`. `src` is
    /// the interface's link-local address, the NA's source.
    pub fn announce(
        &self,
        ifindex: u32,
        mac: [u8; 6],
        address: IpAddr,
        src: IpAddr,
    ) -> io::Result<()> {
        match (address, src) {
            (IpAddr::V4(address), _) => {
                let payload = arp::gratuitous(mac, address);
                self.send(ifindex, ETH_P_ARP, BROADCAST_MAC, &payload)
            }
            (IpAddr::V6(target), IpAddr::V6(src)) => {
                let packet = nd::unsolicited_na(src, mac, target);
                let all_nodes = multicast_mac(IpAddr::V6(nd::ALL_NODES));
                self.send(ifindex, ETH_P_IPV6, all_nodes, &packet)
            }
            (IpAddr::V6(_), IpAddr::V4(_)) => Err(io::Error::from(io::ErrorKind::InvalidInput)),
        }
    }

    /// A multicast advert built whole by us and sent on `ifindex`.
    pub fn send_advert(&self, ifindex: u32, advert: &Advert, src: IpAddr) -> io::Result<()> {
        let mut packet = [0u8; MAX_PACKET];
        let group = Family::of(src).multicast_group();
        let (ethertype, len) = match (src, group) {
            (IpAddr::V4(src), IpAddr::V4(dst)) => {
                (ETH_P_IP, advert.emit_ipv4(src, dst, &mut packet))
            }
            (IpAddr::V6(src), IpAddr::V6(dst)) => {
                (ETH_P_IPV6, advert.emit_ipv6(src, dst, &mut packet))
            }
            _ => return Err(io::Error::from(io::ErrorKind::InvalidInput)),
        };
        self.send(ifindex, ethertype, multicast_mac(group), &packet[..len])
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
        let mut buf = [0u8; 64];
        let received = ffi::receive(&socket, &mut buf).unwrap().unwrap();
        let after = now();
        assert_eq!(
            (&buf[..received.len], received.truncated),
            (&b"advert"[..], false)
        );
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
