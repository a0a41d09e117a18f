//! Everything that makes a system call. Small on purpose: sockets, netlink,
//! the clock and signals. Any `unsafe` lives here, each with a SAFETY note.

pub mod ffi;
pub mod netlink;

use core::net::{Ipv4Addr, SocketAddrV4};
use core::num::NonZeroU64;
use core::time::Duration;
use std::io;
use std::os::fd::{AsFd, BorrowedFd, OwnedFd};

use rustix::net::addr::{SocketAddrArg, SocketAddrLen, SocketAddrOpaque};
use rustix::net::{AddressFamily, Protocol, RecvFlags, SendFlags, SocketFlags, SocketType};

use crate::proto::time::Instant;
use crate::proto::wire::{MULTICAST_GROUP, PROTO_VRRP};

/// CLOCK_MONOTONIC: failover timing must not jump with wall-clock changes.
pub fn now() -> Instant {
    let ts = ffi::monotonic_now();
    Instant::from_micros(ts.tv_sec as u64 * 1_000_000 + ts.tv_nsec as u64 / 1000)
}

/// The default 50 µs timer slack would delay every deadline; ask for 1 ns.
pub fn tighten_timer_slack() -> io::Result<()> {
    rustix::thread::set_current_timer_slack(NonZeroU64::new(1)).map_err(Into::into)
}

/// poll(2) lets the kernel fire up to 0.1 % of the timeout late, whatever the
/// timer slack (fs/select.c, `select_estimate_accuracy`): 3.6 ms on a 1 s
/// Master_Down_Interval. Asking for that much less wakes us at or just
/// before the deadline; the loop then polls the small remainder, whose slack
/// is a thousand times smaller.
const POLL_SLACK_DIVISOR: u32 = 1000;

/// Sleeps until one of `fds` is readable or `timeout` passes. Returns which
/// descriptors are readable.
pub fn wait_readable(fds: &[BorrowedFd<'_>], timeout: Option<Duration>) -> io::Result<Vec<bool>> {
    let timeout = timeout.map(|t| {
        let t = t.saturating_sub(t / POLL_SLACK_DIVISOR);
        ffi::Timespec64 {
            tv_sec: t.as_secs() as i64,
            tv_nsec: i64::from(t.subsec_nanos()),
        }
    });
    ffi::poll_readable(fds, timeout)
}

/// A raw IPv4 socket for protocol 112 on one interface: joined to
/// 224.0.0.18 there, writing its own IP header (TTL 255, source = primary).
pub struct VrrpSocket {
    fd: OwnedFd,
}

impl VrrpSocket {
    pub fn open(interface: &str, index: u32, primary: Ipv4Addr) -> io::Result<VrrpSocket> {
        let fd = rustix::net::socket_with(
            AddressFamily::INET,
            SocketType::RAW,
            SocketFlags::CLOEXEC | SocketFlags::NONBLOCK,
            Some(Protocol::from_raw(
                rustix::net::RawProtocol::new(u32::from(PROTO_VRRP)).expect("112 is non-zero"),
            )),
        )?;
        ffi::bind_to_device(&fd, interface)?;
        ffi::set_header_included(&fd)?;
        rustix::net::sockopt::set_ip_multicast_loop(&fd, false)?;
        rustix::net::sockopt::set_ip_multicast_if_with_ifindex(
            &fd,
            &MULTICAST_GROUP,
            &primary,
            index,
        )?;
        rustix::net::sockopt::set_ip_add_membership_with_ifindex(
            &fd,
            &MULTICAST_GROUP,
            &primary,
            index,
        )?;
        Ok(VrrpSocket { fd })
    }

    /// One datagram, IP header included; `None` when nothing is queued.
    pub fn recv<'b>(&self, buf: &'b mut [u8]) -> io::Result<Option<&'b [u8]>> {
        match rustix::net::recv(&self.fd, &mut *buf, RecvFlags::TRUNC) {
            Ok((_, len)) if len > buf.len() => Ok(Some(&[])),
            Ok((len, _)) => Ok(Some(&buf[..len])),
            Err(rustix::io::Errno::AGAIN) => Ok(None),
            Err(e) => Err(e.into()),
        }
    }

    pub fn send(&self, datagram: &[u8], to: Ipv4Addr) -> io::Result<()> {
        rustix::net::sendto(
            &self.fd,
            datagram,
            SendFlags::empty(),
            &SocketAddrV4::new(to, 0),
        )?;
        Ok(())
    }
}

impl AsFd for VrrpSocket {
    fn as_fd(&self) -> BorrowedFd<'_> {
        self.fd.as_fd()
    }
}

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

const ETH_P_ARP: u16 = 0x0806;
const BROADCAST_MAC: [u8; 6] = [0xff; 6];

/// A send-only packet socket for gratuitous ARP. Protocol 0 so that the
/// kernel never queues received frames on it.
pub struct ArpSender {
    fd: OwnedFd,
}

impl ArpSender {
    pub fn open() -> io::Result<ArpSender> {
        let fd = rustix::net::socket_with(
            AddressFamily::PACKET,
            SocketType::DGRAM,
            SocketFlags::CLOEXEC | SocketFlags::NONBLOCK,
            None,
        )?;
        Ok(ArpSender { fd })
    }

    pub fn send(&self, ifindex: u32, payload: &[u8]) -> io::Result<()> {
        let to = LinkAddr {
            ifindex,
            ethertype: ETH_P_ARP,
            mac: BROADCAST_MAC,
        };
        rustix::net::sendto(&self.fd, payload, SendFlags::empty(), &to)?;
        Ok(())
    }
}
