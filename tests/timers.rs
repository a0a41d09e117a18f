//! The clock and the event-loop sleep are right on every target, whatever
//! the C library's time ABI. On MIPS musl these were broken (README,
//! "Router images", MIPS timers): run this under qemu-user for the cross
//! targets.

use std::time::Duration;

use tinyvrrp::sys;

/// Seconds since boot from /proc/uptime: a clock that shares no code path
/// with ours (only 10 ms resolution, enough to catch a broken one).
fn uptime() -> f64 {
    let text = std::fs::read_to_string("/proc/uptime").unwrap();
    text.split_whitespace().next().unwrap().parse().unwrap()
}

#[test]
fn monotonic_clock_advances_with_real_time() {
    let (start, start_uptime) = (sys::now(), uptime());
    let deadline = start_uptime + 0.3;
    while uptime() < deadline {
        std::hint::spin_loop();
    }
    let ours = (sys::now() - start).as_secs_f64();
    let reference = uptime() - start_uptime;
    assert!(
        (ours - reference).abs() < 0.1,
        "clock says {ours} s, /proc/uptime says {reference} s"
    );
}

#[test]
fn sleep_is_never_early_and_always_ends() {
    for wanted in [
        Duration::from_millis(1),
        Duration::from_millis(50),
        Duration::from_millis(300),
    ] {
        let (start, start_uptime) = (sys::now(), uptime());
        sys::wait(&[], Some(wanted)).unwrap();
        let slept = sys::now() - start;
        let reference = uptime() - start_uptime;
        // poll(2) may wake up to 0.1 % early by our own design (the loop then
        // polls the remainder); anything earlier is a broken timeout.
        assert!(
            slept + wanted / 999 >= wanted,
            "asked {wanted:?}, woke after {slept:?}"
        );
        assert!(
            slept < wanted + Duration::from_secs(2),
            "asked {wanted:?}, slept {slept:?}"
        );
        assert!(
            reference < wanted.as_secs_f64() + 2.0,
            "/proc/uptime saw {reference} s"
        );
        assert!(
            reference + 0.02 >= wanted.as_secs_f64(),
            "/proc/uptime saw only {reference} s"
        );
    }
}
