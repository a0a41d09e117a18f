//! The few libc calls rustix 1.1 does not wrap: `setsockopt` for
//! SO_BINDTODEVICE and IP_HDRINCL, and the signal mask plus `signalfd` that
//! turn SIGTERM/SIGINT/SIGHUP/SIGUSR1 into a readable descriptor. std links
//! the C library already, so this adds no dependency.

use core::ffi::{c_int, c_uint, c_void};
use std::io;
use std::os::fd::{AsFd, AsRawFd, FromRawFd, OwnedFd};

/// `sigset_t` is 128 bytes in glibc and musl on every Linux architecture.
#[repr(C, align(8))]
struct SigSet([u8; 128]);

extern "C" {
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
