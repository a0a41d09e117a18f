//! The few libc calls we make ourselves. std links the C library already, so
//! this adds no dependency.
//!
//! - `setsockopt` for SO_BINDTODEVICE, IP_HDRINCL, IPV6_RECVPKTINFO and
//!   IPV6_RECVHOPLIMIT, `recvmmsg` with those control messages, `sendmmsg`, the signal
//!   mask and `signalfd`: rustix 1.1 does not wrap them (its `recvmsg`
//!   parses only SCM_RIGHTS and SCM_CREDENTIALS).
//! - `posix_spawnp` for notify scripts: std's `Command` costs about 10 KB
//!   of the router image, and cannot start a child in its own process
//!   group with our blocked signals unblocked in one call.
//! - `clock_gettime` and `ppoll`: rustix 1.1 gets `struct timespec` wrong on
//!   32-bit musl (README, "Router images", MIPS timers). Its libc backend
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

use core::ffi::{c_char, c_int, c_short, c_uint, c_ulong, c_void};
use std::io;
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, FromRawFd, OwnedFd};

mod msg;

pub use msg::{
    receive, send_to_all, set_ipv6_receive_info, set_receive_timestamps, Datagrams, Received, BATCH,
};

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
pub(super) struct PollFd {
    pub(super) fd: c_int,
    pub(super) events: c_short,
    pub(super) revents: c_short,
}

const POLLIN: c_short = 0x1;
const POLLOUT: c_short = 0x4;
const CLOCK_REALTIME: c_int = 0;
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
    fn posix_spawnp(
        pid: *mut c_int,
        file: *const c_char,
        actions: *const SpawnBuffer,
        attr: *const SpawnBuffer,
        argv: *const *const c_char,
        envp: *const *const c_char,
    ) -> c_int;
    fn posix_spawnattr_init(attr: *mut SpawnBuffer) -> c_int;
    fn posix_spawnattr_destroy(attr: *mut SpawnBuffer) -> c_int;
    fn posix_spawnattr_setflags(attr: *mut SpawnBuffer, flags: c_short) -> c_int;
    fn posix_spawnattr_setsigmask(attr: *mut SpawnBuffer, mask: *const SigSet) -> c_int;
    fn posix_spawnattr_setsigdefault(attr: *mut SpawnBuffer, set: *const SigSet) -> c_int;
    fn posix_spawnattr_setpgroup(attr: *mut SpawnBuffer, pgroup: c_int) -> c_int;
    fn posix_spawn_file_actions_init(actions: *mut SpawnBuffer) -> c_int;
    fn posix_spawn_file_actions_destroy(actions: *mut SpawnBuffer) -> c_int;
    fn posix_spawn_file_actions_addopen(
        actions: *mut SpawnBuffer,
        fd: c_int,
        path: *const c_char,
        flags: c_int,
        mode: c_uint,
    ) -> c_int;
    static environ: *const *const c_char;
    fn pthread_self() -> usize;
    fn pthread_setschedparam(thread: usize, policy: c_int, param: *const SchedParam) -> c_int;
    fn mlockall(flags: c_int) -> c_int;
}

/// `struct sched_param`, with room for musl's reserved fields after the
/// priority (the kernel reads only the priority).
#[repr(C)]
struct SchedParam {
    priority: c_int,
    reserved: [c_int; 15],
}

const SCHED_RR: c_int = 2;
/// Children start under SCHED_OTHER: scripts never inherit the real-time
/// priority (sched(7)).
const SCHED_RESET_ON_FORK: c_int = 0x4000_0000;
const MCL_CURRENT: c_int = 1;
const MCL_FUTURE: c_int = 2;

/// Room for `posix_spawnattr_t` or `posix_spawn_file_actions_t`: 336 and
/// 80 bytes in glibc and musl on every target we build; the C library
/// writes only inside its own size.
#[repr(C, align(8))]
struct SpawnBuffer([u8; 512]);

/// posix_spawn(3) flags, the same in glibc and musl.
const POSIX_SPAWN_SETPGROUP: c_short = 2;
const POSIX_SPAWN_SETSIGDEF: c_short = 4;
const POSIX_SPAWN_SETSIGMASK: c_short = 8;
const O_RDONLY: c_int = 0;

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
        // SFD_NONBLOCK is O_NONBLOCK, whose value differs on MIPS: rustix
        // has it per architecture. (Not a FIONBIO ioctl afterwards: musl's
        // ioctl(3) brings 1.2 KB of time64 conversions into the image.)
        let nonblock = rustix::fs::OFlags::NONBLOCK.bits() as c_int;
        let fd = check(signalfd(-1, &set, SFD_CLOEXEC | nonblock))?;
        Ok(OwnedFd::from_raw_fd(fd))
    }
}

/// Starts `program` (looked up in PATH, as a shell would) with `args`, in a
/// process group of its own so a timeout can stop all it started, with no
/// signal blocked, `default_signals` back to their default action
/// ([`super::start`] ignores SIGPIPE in us), and stdin from /dev/null. Returns its pid.
pub fn spawn(program: &str, args: &[String], default_signals: &[i32]) -> io::Result<i32> {
    // The program and its arguments, each NUL-terminated, one after another
    // in one buffer, and where each starts.
    let mut strings = Vec::new();
    let mut starts = Vec::with_capacity(args.len() + 1);
    for arg in core::iter::once(program).chain(args.iter().map(String::as_str)) {
        if arg.as_bytes().contains(&0) {
            return Err(io::ErrorKind::InvalidInput.into());
        }
        starts.push(strings.len());
        strings.extend_from_slice(arg.as_bytes());
        strings.push(0);
    }
    let mut argv: Vec<*const c_char> = starts
        .iter()
        .map(|&start| strings[start..].as_ptr().cast())
        .collect();
    argv.push(core::ptr::null());
    let mut attr = SpawnBuffer([0; 512]);
    let mut actions = SpawnBuffer([0; 512]);
    let mut empty = SigSet([0; 128]);
    let mut defaults = SigSet([0; 128]);
    let mut pid: c_int = 0;
    // SAFETY: `attr` and `actions` are zeroed buffers larger than and
    // aligned for the C library's types, initialised before use and
    // destroyed after; the signal sets are properly sized sigset_t; every
    // string in `strings` is NUL-terminated, `argv` points at their starts
    // and ends in a null pointer, and neither changes until posix_spawnp
    // returns; `environ` is the C library's own.
    unsafe {
        check(sigemptyset(&mut empty))?;
        check(sigemptyset(&mut defaults))?;
        for &signal in default_signals {
            check(sigaddset(&mut defaults, signal))?;
        }
        spawn_error(posix_spawnattr_init(&mut attr))?;
        spawn_error(posix_spawn_file_actions_init(&mut actions))?;
        let flags = POSIX_SPAWN_SETPGROUP | POSIX_SPAWN_SETSIGDEF | POSIX_SPAWN_SETSIGMASK;
        let result = spawn_error(posix_spawnattr_setflags(&mut attr, flags))
            .and_then(|()| spawn_error(posix_spawnattr_setpgroup(&mut attr, 0)))
            .and_then(|()| spawn_error(posix_spawnattr_setsigmask(&mut attr, &empty)))
            .and_then(|()| spawn_error(posix_spawnattr_setsigdefault(&mut attr, &defaults)))
            .and_then(|()| {
                let null = c"/dev/null".as_ptr();
                spawn_error(posix_spawn_file_actions_addopen(
                    &mut actions,
                    0,
                    null,
                    O_RDONLY,
                    0,
                ))
            })
            .and_then(|()| {
                spawn_error(posix_spawnp(
                    &mut pid,
                    argv[0],
                    &actions,
                    &attr,
                    argv.as_ptr(),
                    environ,
                ))
            });
        posix_spawn_file_actions_destroy(&mut actions);
        posix_spawnattr_destroy(&mut attr);
        result.map(|()| pid)
    }
}

/// posix_spawn and pthread functions return the error number instead of
/// setting errno.
fn spawn_error(code: c_int) -> io::Result<()> {
    match code {
        0 => Ok(()),
        code => Err(io::Error::from_raw_os_error(code)),
    }
}

/// CLOCK_MONOTONIC.
pub fn monotonic_now() -> Timespec64 {
    clock_now(CLOCK_MONOTONIC)
}

/// CLOCK_REALTIME.
pub fn realtime_now() -> Timespec64 {
    clock_now(CLOCK_REALTIME)
}

fn clock_now(clock: c_int) -> Timespec64 {
    let mut ts = Timespec64::default();
    // SAFETY: `ts` is a live, zeroed `Timespec64` with the layout the
    // selected symbol writes (see the module notes); both clocks always
    // exist on Linux, so the call cannot fail.
    unsafe { clock_gettime(clock, &mut ts) };
    ts
}

/// `struct pollfd` for `fd`, waiting to read or (`write`) to write.
pub(super) fn poll_fd(fd: BorrowedFd<'_>, write: bool) -> PollFd {
    PollFd {
        fd: fd.as_raw_fd(),
        events: if write { POLLOUT } else { POLLIN },
        revents: 0,
    }
}

/// ppoll(2) on `fds`, whose `revents` then say which are ready (or failed);
/// an interrupted wait reports nothing ready.
pub(super) fn poll(fds: &mut [PollFd], timeout: Option<Timespec64>) -> io::Result<()> {
    let timeout_ptr = timeout
        .as_ref()
        .map_or(core::ptr::null(), |t| t as *const Timespec64);
    // SAFETY: `fds` is a live array of `pollfd` of the length passed, the
    // timeout is null or points to a live `Timespec64` laid out as the symbol
    // expects, and a null signal mask leaves the mask unchanged.
    let result = unsafe {
        ppoll(
            fds.as_mut_ptr(),
            fds.len() as c_ulong,
            timeout_ptr,
            core::ptr::null(),
        )
    };
    if result < 0 {
        for fd in fds {
            fd.revents = 0;
        }
        let error = io::Error::last_os_error();
        if error.raw_os_error() == Some(rustix::io::Errno::INTR.raw_os_error()) {
            return Ok(());
        }
        return Err(error);
    }
    Ok(())
}

/// Puts the process under SCHED_RR at `priority`, its children reset to
/// SCHED_OTHER. musl's sched_setscheduler(3) only says ENOSYS; its
/// pthread_setschedparam(3) makes the system call for the thread, which in
/// a single-threaded process is the process.
pub fn set_realtime(priority: c_int) -> io::Result<()> {
    let param = SchedParam {
        priority,
        reserved: [0; 15],
    };
    // SAFETY: `param` is live for the call and at least as large as the C
    // library's `struct sched_param`; pthread_self() is the calling thread.
    spawn_error(unsafe {
        pthread_setschedparam(pthread_self(), SCHED_RR | SCHED_RESET_ON_FORK, &param)
    })
}

/// Locks all memory, present and future, so no page of the daemon is
/// swapped out or dropped and read again in the middle of a deadline.
pub fn lock_memory() -> io::Result<()> {
    // SAFETY: mlockall takes flags only.
    check(unsafe { mlockall(MCL_CURRENT | MCL_FUTURE) }).map(drop)
}
