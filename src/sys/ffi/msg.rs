//! recvmmsg(2) and sendmmsg(2): several datagrams per system call. rustix
//! 1.1 has no recvmmsg and does not parse the control messages we read (an
//! IPv6 datagram's destination and hop limit, any datagram's arrival
//! time); its sendmmsg wants its own address types, where ours is a
//! `sockaddr_ll` it does not have.

use core::ffi::{c_int, c_uint, c_void};
use core::net::Ipv6Addr;
use std::io;
use std::os::fd::{AsFd, AsRawFd, BorrowedFd};

use super::{abi, set_option, Timespec64};

// `MsgHdr` below uses `usize` for the lengths that musl declares as an int
// plus padding on 64-bit targets; that reads the same only where the
// padding comes after the int, i.e. on little-endian ones.
#[cfg(all(target_pointer_width = "64", target_endian = "big"))]
compile_error!("64-bit big-endian targets need musl's msghdr padding order (see sys::ffi)");

extern "C" {
    #[cfg_attr(
        all(target_env = "musl", target_pointer_width = "32"),
        link_name = "__recvmmsg_time64"
    )]
    fn recvmmsg(
        fd: c_int,
        msgs: *mut MMsgHdr,
        count: c_uint,
        flags: c_uint,
        timeout: *mut Timespec64,
    ) -> c_int;
    fn sendmmsg(fd: c_int, msgs: *mut MMsgHdr, count: c_uint, flags: c_uint) -> c_int;
}

/// Datagrams per recvmmsg(2) and sendmmsg(2) call: a burst of adverts
/// from a master of many instances is read in a few calls, not one each.
pub const BATCH: usize = 8;
/// Room for one received datagram: any advert on a 1500-octet link. A
/// longer one is truncated, and counted.
pub const DATAGRAM_ROOM: usize = 2048;

const IPPROTO_IPV6: c_int = 41;
const IPV6_RECVPKTINFO: c_int = 49;
const IPV6_PKTINFO: c_int = 50;
const IPV6_RECVHOPLIMIT: c_int = 51;
const IPV6_HOPLIMIT: c_int = 52;
const MSG_TRUNC: c_int = 0x20;
/// Return what is queued instead of waiting for a whole batch, whatever
/// the socket's own blocking mode.
const MSG_DONTWAIT: c_uint = 0x40;
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

/// `struct mmsghdr`: a message and the length the kernel moved.
#[repr(C)]
struct MMsgHdr {
    hdr: MsgHdr,
    len: c_uint,
}

impl MMsgHdr {
    fn new(name: *mut c_void, name_len: usize, iov: *mut IoVec) -> MMsgHdr {
        MMsgHdr {
            hdr: MsgHdr {
                name,
                name_len: name_len as c_uint,
                iov,
                iov_len: 1,
                control: core::ptr::null_mut(),
                control_len: 0,
                flags: 0,
            },
            len: 0,
        }
    }
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
    /// The datagram did not fit its room.
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

impl Received {
    const NONE: Received = Received {
        len: 0,
        truncated: false,
        src: Ipv6Addr::UNSPECIFIED,
        dst: Ipv6Addr::UNSPECIFIED,
        hop_limit: 0,
        arrival: None,
    };
}

/// Aligned for `cmsghdr`, whose first field is a `size_t`.
#[repr(C, align(8))]
struct Control([u8; CONTROL_LEN]);

/// Room for [`BATCH`] datagrams with their addresses and control messages,
/// refilled by each [`receive`]. The datagrams' room is allocated at the
/// first receive.
pub struct Datagrams {
    data: Vec<u8>,
    names: [[u8; SOCKADDR_IN6_LEN]; BATCH],
    controls: [Control; BATCH],
    received: [Received; BATCH],
}

impl Default for Datagrams {
    fn default() -> Datagrams {
        Datagrams {
            data: Vec::new(),
            names: [[0; SOCKADDR_IN6_LEN]; BATCH],
            controls: [const { Control([0; CONTROL_LEN]) }; BATCH],
            received: [Received::NONE; BATCH],
        }
    }
}

impl Datagrams {
    /// The `index`th datagram of the last [`receive`] and what the kernel
    /// said of it.
    pub fn get(&self, index: usize) -> (&Received, &[u8]) {
        let info = &self.received[index];
        let start = index * DATAGRAM_ROOM;
        (info, &self.data[start..start + info.len.min(DATAGRAM_ROOM)])
    }
}

/// recvmmsg(2) on a raw socket set up by [`set_ipv6_receive_info`] (IPv6)
/// and [`set_receive_timestamps`]: up to [`BATCH`] queued datagrams into
/// `datagrams`. Returns how many; 0 when nothing is queued.
pub fn receive(fd: impl AsFd, datagrams: &mut Datagrams) -> io::Result<usize> {
    if datagrams.data.is_empty() {
        datagrams.data = vec![0; BATCH * DATAGRAM_ROOM];
    }
    let data = datagrams.data.as_mut_ptr();
    let mut iovs: [IoVec; BATCH] = core::array::from_fn(|i| IoVec {
        base: data.wrapping_add(i * DATAGRAM_ROOM).cast(),
        len: DATAGRAM_ROOM,
    });
    let iov = iovs.as_mut_ptr();
    let names = datagrams.names.as_mut_ptr();
    let controls = datagrams.controls.as_mut_ptr();
    let mut msgs: [MMsgHdr; BATCH] = core::array::from_fn(|i| {
        let mut msg = MMsgHdr::new(
            names.wrapping_add(i).cast(),
            SOCKADDR_IN6_LEN,
            iov.wrapping_add(i),
        );
        msg.hdr.control = controls.wrapping_add(i).cast();
        msg.hdr.control_len = CONTROL_LEN;
        msg
    });
    // SAFETY: each message points to its own live buffers, of the lengths
    // passed beside them: its slice of `data` through its iovec, its name
    // and its control buffer. The kernel writes at most those lengths and
    // updates each message's lengths and flags; no timeout is passed.
    let count = unsafe {
        recvmmsg(
            fd.as_fd().as_raw_fd(),
            msgs.as_mut_ptr(),
            BATCH as c_uint,
            MSG_DONTWAIT,
            core::ptr::null_mut(),
        )
    };
    if count < 0 {
        let error = io::Error::last_os_error();
        if error.raw_os_error() == Some(rustix::io::Errno::AGAIN.raw_os_error()) {
            return Ok(0);
        }
        return Err(error);
    }
    let count = (count as usize).min(BATCH);
    for (index, msg) in msgs[..count].iter().enumerate() {
        let mut info = Received {
            len: msg.len as usize,
            truncated: msg.hdr.flags & MSG_TRUNC != 0,
            src: address(&datagrams.names[index][SOCKADDR_IN6_ADDR]),
            ..Received::NONE
        };
        let control_len = msg.hdr.control_len.min(CONTROL_LEN);
        for (level, kind, data) in control_messages(&datagrams.controls[index].0[..control_len]) {
            match (level, kind) {
                (IPPROTO_IPV6, IPV6_PKTINFO) if data.len() >= 16 => {
                    info.dst = address(&data[..16]);
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
        datagrams.received[index] = info;
    }
    Ok(count)
}

/// sendmmsg(2): every packet of `bytes`, which end at `ends`, to `name`,
/// a C socket address (`struct sockaddr_in`, `sockaddr_in6` or
/// `sockaddr_ll`) as bytes, up to [`BATCH`] per call. Stops at the first
/// error, and says how many were sent before it.
#[inline(never)]
pub fn send_to_all(
    fd: BorrowedFd<'_>,
    name: &[u8],
    bytes: &[u8],
    ends: &[usize],
) -> (usize, io::Result<()>) {
    let (name, name_len) = (name.as_ptr().cast_mut().cast(), name.len());
    let (mut start, mut done) = (0, 0);
    for batch in ends.chunks(BATCH) {
        let mut iovs = [const {
            IoVec {
                base: core::ptr::null_mut(),
                len: 0,
            }
        }; BATCH];
        for (iov, &end) in iovs.iter_mut().zip(batch) {
            let packet = &bytes[start.min(end)..end.min(bytes.len())];
            *iov = IoVec {
                base: packet.as_ptr().cast_mut().cast(),
                len: packet.len(),
            };
            start = end;
        }
        let iov = iovs.as_mut_ptr();
        let mut msgs: [MMsgHdr; BATCH] =
            core::array::from_fn(|i| MMsgHdr::new(name, name_len, iov.wrapping_add(i)));
        let mut sent = 0;
        while sent < batch.len() {
            // SAFETY: the first `batch.len()` messages point to live
            // buffers of the lengths beside them: the packets, slices of
            // `bytes`, through their iovecs, and `name`.
            // sendmmsg(2) only reads them (and writes each message's `len`).
            let result = unsafe {
                sendmmsg(
                    fd.as_raw_fd(),
                    msgs.as_mut_ptr().wrapping_add(sent),
                    (batch.len() - sent) as c_uint,
                    0,
                )
            };
            if result <= 0 {
                return (done + sent, Err(io::Error::last_os_error()));
            }
            sent += result as usize;
        }
        done += sent;
    }
    (done, Ok(()))
}

/// The IPv6 address in `octets`, 16 of them.
fn address(octets: &[u8]) -> Ipv6Addr {
    let mut address = [0; 16];
    address.copy_from_slice(octets);
    Ipv6Addr::from(address)
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
