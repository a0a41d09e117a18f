//! Explicit time for the sans-IO core: the daemon reads the clock and passes
//! `now` in; tests pass virtual time.

use core::ops::{Add, Sub};
use core::time::Duration;

/// A point on a monotonic clock, in microseconds since an arbitrary origin.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Instant(u64);

impl Instant {
    pub const fn from_micros(micros: u64) -> Instant {
        Instant(micros)
    }

    pub const fn as_micros(self) -> u64 {
        self.0
    }

    /// Time left until `self`, zero if it has passed. Not inlined: its
    /// 64-bit division is a library call on 32-bit MIPS, set up at each
    /// call site.
    #[inline(never)]
    pub fn saturating_since(self, earlier: Instant) -> Duration {
        Duration::from_micros(self.0.saturating_sub(earlier.0))
    }
}

impl Add<Duration> for Instant {
    type Output = Instant;

    /// In 64-bit arithmetic: `Duration::as_micros` is 128-bit, which on
    /// 32-bit MIPS cost 1.7 KB of code over the call sites.
    #[inline(never)]
    fn add(self, rhs: Duration) -> Instant {
        let micros = rhs
            .as_secs()
            .saturating_mul(1_000_000)
            .saturating_add(u64::from(rhs.subsec_micros()));
        Instant(self.0.saturating_add(micros))
    }
}

impl Sub<Instant> for Instant {
    type Output = Duration;

    fn sub(self, rhs: Instant) -> Duration {
        self.saturating_since(rhs)
    }
}

/// Whether a deadline, if there is one, has come. Not inlined: comparing
/// 64-bit options is long on 32-bit MIPS.
#[inline(never)]
pub fn is_due(at: Option<Instant>, now: Instant) -> bool {
    at.is_some_and(|at| at <= now)
}

/// The next periodic deadline after `due`: keeps the cadence exact when the
/// loop wakes a little late, and skips missed ticks after a long stall
/// instead of bursting.
pub fn next_tick(due: Instant, now: Instant, interval: Duration) -> Instant {
    let next = due + interval;
    if next > now {
        next
    } else {
        now + interval
    }
}

/// Reports a repeated event at most once per period, with how many times
/// it happened: the first time at once, then on the first occurrence after
/// each period. For log lines that a flood of bad packets would otherwise
/// repeat once per packet.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Throttle {
    reported_at: Option<Instant>,
    /// Occurrences since the last report, this one included.
    count: u64,
}

impl Throttle {
    /// Counts one occurrence; returns how many to report now, if due.
    pub fn hit(&mut self, now: Instant, period: Duration) -> Option<u64> {
        self.count += 1;
        if self.reported_at.is_some_and(|at| now < at + period) {
            return None;
        }
        self.reported_at = Some(now);
        Some(core::mem::take(&mut self.count))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_throttle_reports_the_first_then_once_a_period_with_the_count() {
        let period = Duration::from_secs(60);
        let mut throttle = Throttle::default();
        let at = |s: u64| Instant::from_micros(s * 1_000_000);
        assert_eq!(throttle.hit(at(10), period), Some(1));
        for s in 11..70 {
            assert_eq!(throttle.hit(at(s), period), None);
        }
        assert_eq!(throttle.hit(at(70), period), Some(60));
        assert_eq!(throttle.hit(at(200), period), Some(1));
    }
}
