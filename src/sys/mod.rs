//! Everything that makes a system call. Small on purpose: sockets, netlink,
//! sysctls, the clock and signals. Any `unsafe` lives here, each with a SAFETY note.

pub mod child;
pub mod ffi;
pub mod fifo;
pub mod inotify;
pub mod netlink;
pub mod start;
pub mod unix;

use core::fmt;
use core::net::{IpAddr, SocketAddrV4, SocketAddrV6};
use core::num::NonZeroU64;
use core::time::Duration;
use std::io;
use std::os::fd::{AsFd, BorrowedFd, OwnedFd};

use rustix::fs::{Mode, OFlags};
use rustix::net::addr::{SocketAddrArg, SocketAddrLen, SocketAddrOpaque};
use rustix::net::{sockopt, AddressFamily, Protocol, SendFlags, SocketFlags, SocketType};

use crate::proto::time::Instant;
use crate::proto::wire::{
    Advert, Datagram, Family, RxError, IPV6_HEADER_LEN, MULTICAST_GROUP, MULTICAST_GROUP_V6,
    PROTO_VRRP, TTL,
};
use crate::proto::{arp, nd};

/// An error of `kind` that says `message`. `io::Error::new(kind, message)`
/// would box the `String` as std's own error type, whose `Debug` (str's,
/// with all its escaping) would then be in the image for text that is only
/// ever displayed: 1.5 KB on MIPS, once std's file opening, which makes
/// such errors too, is not used either (see [`read_to_string`]).
pub(crate) fn error(kind: io::ErrorKind, message: String) -> io::Error {
    io::Error::new(kind, Message(message))
}

#[derive(Debug)]
struct Message(String);

impl fmt::Display for Message {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for Message {}

/// CLOCK_MONOTONIC: failover timing must not jump with wall-clock changes.
pub fn now() -> Instant {
    let ts = ffi::monotonic_now();
    Instant::from_micros(ts.tv_sec as u64 * 1_000_000 + ts.tv_nsec as u64 / 1000)
}

/// CLOCK_REALTIME, in whole seconds since the Unix epoch: only for
/// reporting when something happened, never for timing.
pub fn wall_clock_secs() -> u64 {
    ffi::realtime_now().tv_sec as u64
}

/// Fails unless this process's effective set holds CAP_NET_RAW (raw and
/// packet sockets) and CAP_NET_ADMIN (addresses, links, net sysctls), as
/// root's does. Without the first no socket would open; without the
/// second a master would never hold its VIPs, only log each refusal, while
/// its adverts kept the backups from taking over. (capget of ourselves
/// does not fail; if it did, that would count as lacking them.)
pub fn check_capabilities() -> io::Result<()> {
    use rustix::thread::{capabilities, CapabilitySet};
    let needed = CapabilitySet::NET_RAW | CapabilitySet::NET_ADMIN;
    if capabilities(None).is_ok_and(|sets| sets.effective.contains(needed)) {
        return Ok(());
    }
    Err(error(
        io::ErrorKind::PermissionDenied,
        "needs CAP_NET_RAW and CAP_NET_ADMIN".into(),
    ))
}

/// The default 50 µs timer slack would delay every deadline; ask for 1 ns.
pub fn tighten_timer_slack() -> io::Result<()> {
    rustix::thread::set_current_timer_slack(NonZeroU64::new(1)).map_err(Into::into)
}

/// The receive buffer of a VRRP socket (the kernel doubles it for its
/// bookkeeping): room for a burst of adverts from a few hundred instances.
const RECEIVE_BUFFER: usize = 1 << 20;

/// poll(2) lets the kernel fire up to 0.1 % of the timeout late, whatever the
/// timer slack (fs/select.c, `select_estimate_accuracy`): 3.6 ms on a 1 s
/// Master_Down_Interval. Asking for that much less wakes us at or just
/// before the deadline; the loop then polls the small remainder, whose slack
/// is a thousand times smaller.
const POLL_SLACK_DIVISOR: u32 = 1000;

/// Sleeps until one of `fds` is readable (or, with `true` beside it,
/// writable) or `timeout` passes. Returns which descriptors are ready.
pub fn wait(fds: &[(BorrowedFd<'_>, bool)], timeout: Option<Duration>) -> io::Result<Vec<bool>> {
    let timeout = timeout.map(|t| {
        let t = t.saturating_sub(t / POLL_SLACK_DIVISOR);
        ffi::Timespec64 {
            tv_sec: t.as_secs() as i64,
            tv_nsec: i64::from(t.subsec_nanos()),
        }
    });
    ffi::poll(fds, timeout)
}

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

/// All of the file at `path` as text, like `std::fs::read_to_string`, with
/// the same errors. Once nothing opens files through std, std's code for
/// opening and reading them leaves the image: 7.5 KB on MIPS.
pub fn read_to_string(path: &str) -> io::Result<String> {
    let fd = rustix::fs::open(path, OFlags::RDONLY | OFlags::CLOEXEC, Mode::empty())?;
    let mut bytes = Vec::new();
    loop {
        bytes.reserve(READ_CHUNK);
        match rustix::io::read(&fd, rustix::buffer::spare_capacity(&mut bytes)) {
            Ok(0) => break,
            Ok(_) | Err(rustix::io::Errno::INTR) => {}
            Err(e) => return Err(e.into()),
        }
    }
    String::from_utf8(bytes).map_err(|_| {
        error(
            io::ErrorKind::InvalidData,
            "stream did not contain valid UTF-8".into(),
        )
    })
}

/// How much more room [`read_to_string`] makes before each read.
const READ_CHUNK: usize = 4096;

/// Reads a sysctl under /proc/sys/net, e.g. `ipv4/conf/eth0/arp_ignore`.
pub fn read_sysctl(path: &str) -> io::Result<String> {
    let text = read_to_string(&format!("/proc/sys/net/{path}"))?;
    Ok(text.trim_end_matches('\n').to_string())
}

/// The start of a file, as much as one read gives into `buf` (all of a
/// short file); returns how much that is, None if there is no such file.
pub fn read_prefix(path: &str, buf: &mut [u8]) -> io::Result<Option<usize>> {
    let fd = match rustix::fs::open(path, OFlags::RDONLY | OFlags::CLOEXEC, Mode::empty()) {
        Ok(fd) => fd,
        Err(rustix::io::Errno::NOENT) => return Ok(None),
        Err(e) => return Err(e.into()),
    };
    Ok(Some(rustix::io::read(&fd, buf)?))
}

/// Writes a sysctl under /proc/sys/net.
pub fn write_sysctl(path: &str, value: &str) -> io::Result<()> {
    write_file(&format!("/proc/sys/net/{path}"), value)
}

/// Writes `value` as the whole of the file at `path`, creating it (mode
/// 0644) if need be.
pub fn write_file(path: &str, value: &str) -> io::Result<()> {
    let fd = rustix::fs::open(
        path,
        OFlags::WRONLY | OFlags::CREATE | OFlags::TRUNC | OFlags::CLOEXEC,
        Mode::from_raw_mode(0o644),
    )?;
    write_all(fd.as_fd(), value.as_bytes())
}

/// Writes all of `rest` to `fd` (a file, or stdout and stderr).
pub fn write_all(fd: BorrowedFd<'_>, mut rest: &[u8]) -> io::Result<()> {
    while !rest.is_empty() {
        match rustix::io::write(fd, rest) {
            Ok(0) => {
                return Err(error(
                    io::ErrorKind::WriteZero,
                    "failed to write whole buffer".into(),
                ))
            }
            Ok(written) => rest = &rest[written..],
            Err(rustix::io::Errno::INTR) => {}
            Err(e) => return Err(e.into()),
        }
    }
    Ok(())
}

/// Removes the file at `path`; one already gone is fine.
pub fn remove_file(path: &str) -> io::Result<()> {
    match rustix::fs::unlink(path) {
        Ok(()) | Err(rustix::io::Errno::NOENT) => Ok(()),
        Err(e) => Err(e.into()),
    }
}

/// This process's id.
pub fn pid() -> u32 {
    rustix::process::getpid().as_raw_nonzero().get() as u32
}

#[cfg(test)]
mod tests {
    use super::*;
    use core::net::{Ipv4Addr, Ipv6Addr};

    #[test]
    fn files_read_whole_or_their_start() {
        let dir = std::env::temp_dir().join(format!("tinyvrrp-sys-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("long");
        let text: String = (0..3 * READ_CHUNK)
            .map(|i| char::from(b'a' + (i % 26) as u8))
            .collect();
        std::fs::write(&path, &text).unwrap();
        let path = path.to_str().unwrap();
        assert_eq!(read_to_string(path).unwrap(), text);
        let mut start = [0; 5];
        assert_eq!(read_prefix(path, &mut start).unwrap(), Some(5));
        assert_eq!(&start, b"abcde");

        let bad = dir.join("latin1");
        std::fs::write(&bad, b"caf\xe9\n").unwrap();
        let error = read_to_string(bad.to_str().unwrap()).unwrap_err();
        assert_eq!(error.kind(), io::ErrorKind::InvalidData);
        assert_eq!(error.to_string(), "stream did not contain valid UTF-8");
        let missing = dir.join("missing");
        let error = read_to_string(missing.to_str().unwrap()).unwrap_err();
        assert_eq!(error.kind(), io::ErrorKind::NotFound);
        assert_eq!(
            read_prefix(missing.to_str().unwrap(), &mut start).unwrap(),
            None
        );
        std::fs::remove_dir_all(&dir).unwrap();
    }

    /// Through a UDP socket on loopback (no privilege needed): the same
    /// recvmsg and timestamp as the raw sockets.
    #[test]
    fn datagrams_carry_their_arrival_on_our_clock() {
        let socket = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
        ffi::set_receive_timestamps(&socket).unwrap();
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
