//! What runs before the command line is read. The binary has its own C
//! `main` (`#![no_main]`, see main.rs) rather than std's runtime start,
//! which also set up what tinyvrrp never uses (the main thread's name and
//! id, a stack overflow handler that prints before aborting, `std::env::args`
//! and the flush of std's stdout at exit): 5.3 KB of the mips image. The two
//! things of it that matter are done here the same way.

use core::ffi::{c_char, c_int, c_ulong, CStr};

use rustix::fs::{Mode, OFlags};
use rustix::process::Signal;

use super::ffi::PollFd;

/// poll(2)'s answer for a descriptor that is not open.
const POLLNVAL: i16 = 0x20;
/// `SIG_IGN`, the same on every Linux architecture.
const SIG_IGN: usize = 1;

extern "C" {
    fn poll(fds: *mut PollFd, count: c_ulong, timeout: c_int) -> c_int;
    fn signal(signal: c_int, handler: usize) -> usize;
}

/// As std's runtime start: stdin, stdout and stderr that are not open
/// become `/dev/null`, so that no socket or file we open takes their
/// numbers and receives what is printed; and SIGPIPE is ignored, so that a
/// write to a pipe or socket whose reader went away (a notify FIFO, the
/// status socket, `tinyvrrp status | head`) fails with EPIPE instead of
/// killing the process.
pub fn prepare() {
    let mut fds = [0, 1, 2].map(|fd| PollFd {
        fd,
        events: 0,
        revents: 0,
    });
    // SAFETY: `fds` is a live array of three `pollfd`; a zero timeout
    // only reports, without waiting.
    while unsafe { poll(fds.as_mut_ptr(), 3, 0) } < 0 {
        let error = std::io::Error::last_os_error();
        if error.raw_os_error() != Some(rustix::io::Errno::INTR.raw_os_error()) {
            break;
        }
    }
    for fd in fds {
        if fd.revents & POLLNVAL != 0 {
            // The lowest free number: this one. Kept open for good.
            if let Ok(null) = rustix::fs::open("/dev/null", OFlags::RDWR, Mode::empty()) {
                core::mem::forget(null);
            }
        }
    }
    // SAFETY: setting a signal's disposition to SIG_IGN installs no code.
    unsafe { signal(Signal::PIPE.as_raw(), SIG_IGN) };
}

/// The command line as C's `main` received it, as text: the program, then
/// the arguments; or the first word that is not UTF-8.
///
/// # Safety
///
/// `argv` must point to `argc` pointers to NUL-terminated strings that
/// live as long as the process: the arguments of C's `main`.
pub unsafe fn args(
    argc: c_int,
    argv: *const *const c_char,
) -> Result<Vec<&'static str>, &'static CStr> {
    let mut words = Vec::with_capacity(argc as usize);
    for i in 0..argc as usize {
        // SAFETY: by the caller's promise, this is such a pointer.
        let arg = unsafe { CStr::from_ptr(*argv.add(i)) };
        words.push(arg.to_str().map_err(|_| arg)?);
    }
    Ok(words)
}
