//! recvmsg(2) with control messages, which rustix 1.1 does not parse for
//! us: an IPv6 datagram's destination and hop limit, and any datagram's
//! arrival time.

use core::ffi::{c_int, c_uint, c_void};
use core::net::Ipv6Addr;
use std::io;
use std::os::fd::{AsFd, AsRawFd};

use super::{abi, set_option, Timespec64};

// `MsgHdr` below uses `usize` for the lengths that musl declares as an int
// plus padding on 64-bit targets; that reads the same only where the
// padding comes after the int, i.e. on little-endian ones.
#[cfg(all(target_pointer_width = "64", target_endian = "big"))]
compile_error!("64-bit big-endian targets need musl's msghdr padding order (see sys::ffi)");

extern "C" {
    fn recvmsg(fd: c_int, msg: *mut MsgHdr, flags: c_int) -> isize;
}

const IPPROTO_IPV6: c_int = 41;
const IPV6_RECVPKTINFO: c_int = 49;
const IPV6_PKTINFO: c_int = 50;
const IPV6_RECVHOPLIMIT: c_int = 51;
const IPV6_HOPLIMIT: c_int = 52;
const MSG_TRUNC: c_int = 0x20;
/// The same number, option and control message, on every architecture.
const SO_TIMESTAMPNS_NEW: c_int = 64;
/// `struct sockaddr_in6`: family, port, flow info, address, scope.
const SOCKADDR_IN6_LEN: usize = 28;
const SOCKADDR_IN6_ADDR: core::ops::Range<usize> = 8..24;
/// Room for IPV6_PKTINFO and IPV6_HOPLIMIT with their headers.
const CONTROL_LEN: usize = 128;

/// `struct iovec`.
#[repr(C)]
struct IoVec {
    base: *mut c_void,
    len: usize,
}

/// `struct msghdr`: glibc's layout, which musl's matches on 32-bit and on
/// 64-bit little-endian targets once zeroed (see the compile_error above).
#[repr(C)]
struct MsgHdr {
    name: *mut c_void,
    name_len: c_uint,
    iov: *mut IoVec,
    iov_len: usize,
    control: *mut c_void,
    control_len: usize,
    flags: c_int,
}

/// Asks the kernel to report each IPv6 datagram's destination and hop
/// limit (RFC 3542 §6), which a raw IPv6 socket does not include in the data
/// and RFC 5798 §7.1 checks need.
pub fn set_ipv6_receive_info(fd: impl AsFd) -> io::Result<()> {
    let on = 1i32.to_ne_bytes();
    set_option(fd.as_fd(), IPPROTO_IPV6, IPV6_RECVPKTINFO, &on)?;
    set_option(fd, IPPROTO_IPV6, IPV6_RECVHOPLIMIT, &on)
}

/// Asks for each datagram's arrival time (SO_TIMESTAMPNS_NEW, Linux 5.1:
/// a 64-bit `struct __kernel_timespec` on every target, CLOCK_REALTIME).
pub fn set_receive_timestamps(fd: impl AsFd) -> io::Result<()> {
    set_option(fd, abi::SOL_SOCKET, SO_TIMESTAMPNS_NEW, &1i32.to_ne_bytes())
}

/// One datagram from a raw socket: for IPv6 with its addresses and hop
/// limit (IPv4's are in the header it carries), and when the kernel
/// received it.
#[derive(Debug, Clone, Copy)]
pub struct Received {
    pub len: usize,
    /// The datagram did not fit the buffer.
    pub truncated: bool,
    /// IPv6: the source.
    pub src: Ipv6Addr,
    /// IPv6: unspecified if the kernel sent no IPV6_PKTINFO.
    pub dst: Ipv6Addr,
    /// IPv6: 0 if the kernel sent no IPV6_HOPLIMIT.
    pub hop_limit: u8,
    /// CLOCK_REALTIME, if the kernel sent a timestamp.
    pub arrival: Option<Timespec64>,
}

/// recvmsg(2) on a raw socket set up by [`set_ipv6_receive_info`] (IPv6)
/// and [`set_receive_timestamps`]; `None` when nothing is queued.
pub fn receive(fd: impl AsFd, buf: &mut [u8]) -> io::Result<Option<Received>> {
    /// Aligned for `cmsghdr`, whose first field is a `size_t`.
    #[repr(C, align(8))]
    struct Control([u8; CONTROL_LEN]);
    let mut name = [0u8; SOCKADDR_IN6_LEN];
    let mut control = Control([0; CONTROL_LEN]);
    let mut iov = IoVec {
        base: buf.as_mut_ptr().cast(),
        len: buf.len(),
    };
    let mut msg = MsgHdr {
        name: name.as_mut_ptr().cast(),
        name_len: SOCKADDR_IN6_LEN as c_uint,
        iov: &mut iov,
        iov_len: 1,
        control: control.0.as_mut_ptr().cast(),
        control_len: CONTROL_LEN,
        flags: 0,
    };
    // SAFETY: every pointer in `msg` points to a live local buffer whose
    // length is passed beside it (`buf` through `iov`); the kernel writes at
    // most those lengths and updates `name_len`, `control_len` and `flags`.
    let received = unsafe { recvmsg(fd.as_fd().as_raw_fd(), &mut msg, 0) };
    if received < 0 {
        let error = io::Error::last_os_error();
        if error.raw_os_error() == Some(rustix::io::Errno::AGAIN.raw_os_error()) {
            return Ok(None);
        }
        return Err(error);
    }
    let mut info = Received {
        len: received as usize,
        truncated: msg.flags & MSG_TRUNC != 0,
        src: Ipv6Addr::from(<[u8; 16]>::try_from(&name[SOCKADDR_IN6_ADDR]).unwrap_or([0; 16])),
        dst: Ipv6Addr::UNSPECIFIED,
        hop_limit: 0,
        arrival: None,
    };
    let control_len = msg.control_len.min(CONTROL_LEN);
    for (level, kind, data) in control_messages(&control.0[..control_len]) {
        match (level, kind) {
            (IPPROTO_IPV6, IPV6_PKTINFO) if data.len() >= 16 => {
                info.dst = Ipv6Addr::from(<[u8; 16]>::try_from(&data[..16]).unwrap_or([0; 16]));
            }
            (IPPROTO_IPV6, IPV6_HOPLIMIT) if data.len() >= 4 => {
                let hops = c_int::from_ne_bytes([data[0], data[1], data[2], data[3]]);
                info.hop_limit = u8::try_from(hops).unwrap_or(0);
            }
            (abi::SOL_SOCKET, SO_TIMESTAMPNS_NEW) if data.len() >= 16 => {
                let word = |at: usize| {
                    let mut bytes = [0u8; 8];
                    bytes.copy_from_slice(&data[at..at + 8]);
                    i64::from_ne_bytes(bytes)
                };
                info.arrival = Some(Timespec64 {
                    tv_sec: word(0),
                    tv_nsec: word(8),
                });
            }
            _ => {}
        }
    }
    Ok(Some(info))
}

/// Walks `struct cmsghdr`s (cmsg(3)): a `size_t` length, level and type,
/// data at the header's size rounded up to `size_t`, stopping at the first
/// malformed one.
fn control_messages(mut data: &[u8]) -> impl Iterator<Item = (c_int, c_int, &[u8])> {
    const WORD: usize = core::mem::size_of::<usize>();
    let align = |len: usize| (len + WORD - 1) & !(WORD - 1);
    let header = align(WORD + 8);
    core::iter::from_fn(move || {
        if data.len() < header {
            return None;
        }
        let mut len_bytes = [0u8; WORD];
        len_bytes.copy_from_slice(&data[..WORD]);
        let len = usize::from_ne_bytes(len_bytes);
        if len < header || len > data.len() {
            return None;
        }
        let word =
            |at: usize| c_int::from_ne_bytes([data[at], data[at + 1], data[at + 2], data[at + 3]]);
        let (level, kind) = (word(WORD), word(WORD + 4));
        let value = &data[header..len];
        data = &data[align(len).min(data.len())..];
        Some((level, kind, value))
    })
}
