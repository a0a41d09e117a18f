//! Everything that makes a system call. Small on purpose: sockets, netlink,
//! sysctls, the clock and signals. Any `unsafe` lives here, each with a SAFETY note.

pub mod child;
pub mod ffi;
pub mod fifo;
mod files;
pub mod inotify;
pub mod netlink;
mod sockets;
pub mod start;
#[cfg(feature = "sync")]
pub mod sync;
pub mod unix;

pub use ffi::Datagrams;
pub use files::{
    read_prefix, read_sysctl, read_to_string, remove_file, write_all, write_file, write_sysctl,
};
pub use sockets::{FrameSender, Packets, Received, VrrpSocket};

use core::fmt;
use core::num::NonZeroU64;
use core::time::Duration;
use std::io;
use std::os::fd::BorrowedFd;

use crate::proto::time::Instant;

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

/// poll(2) lets the kernel fire up to 0.1 % of the timeout late, whatever the
/// timer slack (fs/select.c, `select_estimate_accuracy`): 3.6 ms on a 1 s
/// Master_Down_Interval. Asking for that much less wakes us at or just
/// before the deadline; the loop then polls the small remainder, whose slack
/// is a thousand times smaller.
const POLL_SLACK_DIVISOR: u32 = 1000;

/// The descriptors the loop waits on, kept from one wait to the next so
/// that a wake-up allocates nothing. Rebuilt before each wait: it holds
/// raw descriptor numbers, and one closed since would only be reported
/// as failed.
#[derive(Default)]
pub struct PollSet {
    fds: Vec<ffi::PollFd>,
}

impl PollSet {
    pub fn clear(&mut self) {
        self.fds.clear();
    }

    /// Adds `fd`, waited on to read or (`write`) to write; its position
    /// is the number of descriptors added before it.
    pub fn add(&mut self, fd: BorrowedFd<'_>, write: bool) {
        self.fds.push(ffi::poll_fd(fd, write));
    }

    /// Sleeps until a descriptor is ready or `timeout` passes.
    pub fn wait(&mut self, timeout: Option<Duration>) -> io::Result<()> {
        ffi::poll(&mut self.fds, timeout.map(less_poll_slack))
    }

    /// Whether the descriptor at `position` is ready (or failed).
    pub fn is_ready(&self, position: usize) -> bool {
        self.fds.get(position).is_some_and(|fd| fd.revents != 0)
    }
}

/// `timeout` less its [`POLL_SLACK_DIVISOR`]th part, to the nanosecond,
/// as ppoll takes it. By hand rather than `Duration`'s division: one 64-bit
/// division (a library call on 32-bit MIPS) instead of its several.
fn less_poll_slack(timeout: Duration) -> ffi::Timespec64 {
    const NANOS_PER_SEC: u32 = 1_000_000_000;
    const _: () = assert!(NANOS_PER_SEC % POLL_SLACK_DIVISOR == 0);
    let (secs, nanos) = (timeout.as_secs(), timeout.subsec_nanos());
    let slack_secs = secs / u64::from(POLL_SLACK_DIVISOR);
    // The seconds' remainder, below the divisor, and the nanoseconds
    // divided: less than a second.
    let remainder = (secs - slack_secs * u64::from(POLL_SLACK_DIVISOR)) as u32;
    let slack_nanos = remainder * (NANOS_PER_SEC / POLL_SLACK_DIVISOR) + nanos / POLL_SLACK_DIVISOR;
    let (mut tv_sec, mut tv_nsec) = (secs - slack_secs, nanos);
    if tv_nsec < slack_nanos {
        tv_sec -= 1;
        tv_nsec += NANOS_PER_SEC;
    }
    ffi::Timespec64 {
        tv_sec: tv_sec as i64,
        tv_nsec: i64::from(tv_nsec - slack_nanos),
    }
}

/// Sleeps until one of `fds` is readable (or, with `true` beside it,
/// writable) or `timeout` passes. Returns which descriptors are ready.
pub fn wait(fds: &[(BorrowedFd<'_>, bool)], timeout: Option<Duration>) -> io::Result<Vec<bool>> {
    let mut set = PollSet::default();
    for &(fd, write) in fds {
        set.add(fd, write);
    }
    set.wait(timeout)?;
    Ok((0..fds.len()).map(|i| set.is_ready(i)).collect())
}

/// This process's id.
pub fn pid() -> u32 {
    rustix::process::getpid().as_raw_nonzero().get() as u32
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn poll_slack_is_taken_off_to_the_nanosecond() {
        for micros in [
            0,
            1,
            999,
            1_000,
            10_000,
            999_999,
            1_000_000,
            3_600_123,
            12_345_678_901,
        ] {
            let timeout = Duration::from_micros(micros);
            let expected = timeout - timeout / POLL_SLACK_DIVISOR;
            let ts = less_poll_slack(timeout);
            assert_eq!(
                (ts.tv_sec, ts.tv_nsec),
                (
                    expected.as_secs() as i64,
                    i64::from(expected.subsec_nanos())
                ),
                "{micros} µs"
            );
        }
        let odd = Duration::new(1_234, 999_999_999);
        let ts = less_poll_slack(odd);
        let expected = odd - odd / POLL_SLACK_DIVISOR;
        assert_eq!(
            (ts.tv_sec, ts.tv_nsec),
            (
                expected.as_secs() as i64,
                i64::from(expected.subsec_nanos())
            )
        );
    }
}
