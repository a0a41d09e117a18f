//! The few libc calls we make ourselves. std links the C library already, so
//! this adds no dependency.
//!
//! - `setsockopt` for SO_BINDTODEVICE and IP_HDRINCL, the signal mask and
//!   `signalfd`: rustix 1.1 does not wrap them.
//! - `clock_gettime` and `ppoll`: rustix 1.1 gets `struct timespec` wrong on
//!   32-bit musl (DESIGN.md §4, the MIPS timer hazard). Its libc backend
//!   hands its own 16-byte `Timespec` to the C library as if musl's 64-bit
//!   time ABI were in use, but the `libc` crate declares musl's 32-bit
//!   `time_t` (and the time32 symbols) unless built with
//!   `--cfg libc_unstable_musl_v1_2`, so the C library reads and writes an
//!   8-byte struct: garbage clocks, timers armed with garbage. Even with
//!   that cfg, rustix puts a 32-bit `tv_nsec` at offset 8, where big-endian
//!   musl has padding (musl's `tv_nsec` sits at offset 12 there): the
//!   nanoseconds are dropped and a 300 ms timeout becomes 0 s. mipsel only
//!   escaped through rustix's raw-syscall backend; big-endian MIPS is forced
//!   onto the libc backend. Here we call musl's explicit 64-bit-time entry
//!   points with a `{i64, i64}` struct that we zero first: its second word
//!   holds `tv_nsec` and zero padding in the right order on either
//!   endianness.

use core::ffi::{c_int, c_short, c_uint, c_ulong, c_void};
use std::io;
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, FromRawFd, OwnedFd};

/// `sigset_t` is 128 bytes in glibc and musl on every Linux architecture.
#[repr(C, align(8))]
struct SigSet([u8; 128]);

// A 32-bit C library other than musl has its own time64 story; we build for
// none, so refuse rather than guess.
#[cfg(all(target_pointer_width = "32", not(target_env = "musl")))]
compile_error!("32-bit targets are supported with musl only (see sys::ffi time calls)");

/// `struct timespec` with 64-bit time: on 64-bit targets it is `{long, long}`;
/// on 32-bit musl it is `{time_t, long}` plus 4 bytes of padding placed so
/// that, zeroed, the pair reads as this struct on either endianness.
#[repr(C)]
#[derive(Debug, Default, Clone, Copy)]
pub struct Timespec64 {
    pub tv_sec: i64,
    pub tv_nsec: i64,
}

/// `struct pollfd`, the same on every Linux architecture.
#[repr(C)]
struct PollFd {
    fd: c_int,
    events: c_short,
    revents: c_short,
}

const POLLIN: c_short = 0x1;
const CLOCK_MONOTONIC: c_int = 1;

extern "C" {
    #[cfg_attr(
        all(target_env = "musl", target_pointer_width = "32"),
        link_name = "__clock_gettime64"
    )]
    fn clock_gettime(clock: c_int, ts: *mut Timespec64) -> c_int;
    #[cfg_attr(
        all(target_env = "musl", target_pointer_width = "32"),
        link_name = "__ppoll_time64"
    )]
    fn ppoll(
        fds: *mut PollFd,
        n: c_ulong,
        timeout: *const Timespec64,
        mask: *const c_void,
    ) -> c_int;
    fn setsockopt(fd: c_int, level: c_int, name: c_int, value: *const c_void, len: c_uint)
        -> c_int;
    fn sigemptyset(set: *mut SigSet) -> c_int;
    fn sigaddset(set: *mut SigSet, signal: c_int) -> c_int;
    fn sigprocmask(how: c_int, set: *const SigSet, old: *mut SigSet) -> c_int;
    fn signalfd(fd: c_int, mask: *const SigSet, flags: c_int) -> c_int;
}

/// MIPS numbers SOL_SOCKET and SIG_BLOCK differently from the generic ABI.
#[cfg(any(target_arch = "mips", target_arch = "mips64"))]
mod abi {
    pub const SOL_SOCKET: i32 = 0xffff;
    pub const SIG_BLOCK: i32 = 1;
}
#[cfg(not(any(target_arch = "mips", target_arch = "mips64")))]
mod abi {
    pub const SOL_SOCKET: i32 = 1;
    pub const SIG_BLOCK: i32 = 0;
}

const SO_BINDTODEVICE: c_int = 25;
const IPPROTO_IP: c_int = 0;
const IP_HDRINCL: c_int = 3;
const SFD_CLOEXEC: c_int = 0o2000000;

fn check(result: c_int) -> io::Result<c_int> {
    if result < 0 {
        Err(io::Error::last_os_error())
    } else {
        Ok(result)
    }
}

fn set_option(fd: impl AsFd, level: c_int, name: c_int, value: &[u8]) -> io::Result<()> {
    // SAFETY: `value` is a live slice for the duration of the call and its
    // length is passed with it; the kernel copies it before returning.
    let result = unsafe {
        setsockopt(
            fd.as_fd().as_raw_fd(),
            level,
            name,
            value.as_ptr().cast(),
            value.len() as c_uint,
        )
    };
    check(result).map(drop)
}

/// Restricts a socket to one interface, for sending and receiving.
pub fn bind_to_device(fd: impl AsFd, interface: &str) -> io::Result<()> {
    set_option(fd, abi::SOL_SOCKET, SO_BINDTODEVICE, interface.as_bytes())
}

/// We write the IPv4 header ourselves (source address, TTL 255, RFC 5798 §5.1.1).
pub fn set_header_included(fd: impl AsFd) -> io::Result<()> {
    set_option(fd, IPPROTO_IP, IP_HDRINCL, &1i32.to_ne_bytes())
}

/// Blocks `signals` for the process and returns a non-blocking signalfd
/// that reports them instead.
pub fn signal_fd(signals: &[i32]) -> io::Result<OwnedFd> {
    let mut set = SigSet([0; 128]);
    // SAFETY: `set` is a properly sized and aligned sigset_t that outlives
    // every call; the signal numbers come from rustix's per-arch constants.
    unsafe {
        check(sigemptyset(&mut set))?;
        for &signal in signals {
            check(sigaddset(&mut set, signal))?;
        }
        check(sigprocmask(abi::SIG_BLOCK, &set, core::ptr::null_mut()))?;
        let fd = OwnedFd::from_raw_fd(check(signalfd(-1, &set, SFD_CLOEXEC))?);
        // FIONBIO rather than SFD_NONBLOCK, whose value differs on MIPS.
        rustix::io::ioctl_fionbio(&fd, true)?;
        Ok(fd)
    }
}

/// CLOCK_MONOTONIC.
pub fn monotonic_now() -> Timespec64 {
    let mut ts = Timespec64::default();
    // SAFETY: `ts` is a live, zeroed `Timespec64` with the layout the
    // selected symbol writes (see the module notes); CLOCK_MONOTONIC always
    // exists on Linux, so the call cannot fail.
    unsafe { clock_gettime(CLOCK_MONOTONIC, &mut ts) };
    ts
}

/// ppoll(2) for readability. Returns, per descriptor, whether it is
/// readable; an interrupted wait reports nothing ready.
pub fn poll_readable(fds: &[BorrowedFd<'_>], timeout: Option<Timespec64>) -> io::Result<Vec<bool>> {
    let mut pollfds: Vec<PollFd> = fds
        .iter()
        .map(|fd| PollFd {
            fd: fd.as_raw_fd(),
            events: POLLIN,
            revents: 0,
        })
        .collect();
    let timeout_ptr = timeout
        .as_ref()
        .map_or(core::ptr::null(), |t| t as *const Timespec64);
    // SAFETY: `pollfds` is a live array of `pollfd` of the length passed, the
    // timeout is null or points to a live `Timespec64` laid out as the symbol
    // expects, and a null signal mask leaves the mask unchanged.
    let result = unsafe {
        ppoll(
            pollfds.as_mut_ptr(),
            pollfds.len() as c_ulong,
            timeout_ptr,
            core::ptr::null(),
        )
    };
    if result < 0 {
        let error = io::Error::last_os_error();
        if error.kind() == io::ErrorKind::Interrupted {
            return Ok(vec![false; fds.len()]);
        }
        return Err(error);
    }
    Ok(pollfds.iter().map(|p| p.revents != 0).collect())
}
