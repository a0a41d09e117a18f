//! Notify scripts run one at a time, in order, with a timeout, and a
//! missing or failing script is only logged.

use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::time::Duration;

use tinyvrrp::notify::{Call, Notifier};
use tinyvrrp::sys;
use tinyvrrp::sys::child::Child;

/// Each test writes scripts and then runs them. Run side by side (cargo
/// test's threads), one test's fork can inherit the other's still-open
/// write descriptor, and exec then fails with ETXTBSY: one test at a time.
static ONE_AT_A_TIME: Mutex<()> = Mutex::new(());

fn script(dir: &Path, name: &str, body: &str) -> String {
    let path = dir.join(name);
    fs::write(&path, format!("#!/bin/sh\n{body}\n")).unwrap();
    fs::set_permissions(&path, fs::Permissions::from_mode(0o755)).unwrap();
    path.to_string_lossy().into_owned()
}

fn scratch(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("tinyvrrp-notify-{name}-{}", std::process::id()));
    let _ = fs::remove_dir_all(&dir);
    fs::create_dir_all(&dir).unwrap();
    dir
}

fn call(script: &str, state: &str) -> Call {
    Call {
        script: script.to_string(),
        args: ["INSTANCE", "lan", state, "150"].map(String::from).to_vec(),
    }
}

#[test]
fn scripts_run_in_transition_order_even_when_the_first_is_slow() {
    let _serial = ONE_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner());
    let dir = scratch("order");
    let log = dir.join("log");
    // The first call sleeps; started at once (as keepalived does), the second
    // would finish first and the log would read MASTER before BACKUP.
    let slow = script(
        &dir,
        "notify",
        &format!(
            "[ \"$3\" = BACKUP ] && sleep 0.3\necho \"$1 $2 $3 $4\" >> {}",
            log.display()
        ),
    );
    let mut notifier = Notifier::default();
    notifier.push(call(&slow, "BACKUP"), sys::now());
    notifier.push(call(&slow, "MASTER"), sys::now());
    notifier.push(
        call(&dir.join("missing").to_string_lossy(), "STOP"),
        sys::now(),
    );
    notifier.push(call(&script(&dir, "fails", "exit 3"), "STOP"), sys::now());
    notifier.drain(sys::now);
    assert_eq!(
        fs::read_to_string(&log).unwrap(),
        "INSTANCE lan BACKUP 150\nINSTANCE lan MASTER 150\n"
    );
}

#[test]
fn a_hanging_script_is_killed_and_the_next_one_runs() {
    let _serial = ONE_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner());
    let dir = scratch("hang");
    let log = dir.join("log");
    let hang = script(&dir, "hang", "exec sleep 30");
    let next = script(&dir, "next", &format!("echo \"$3\" >> {}", log.display()));
    let mut notifier = Notifier::with_timeout(Duration::from_millis(200));
    let started = sys::now();
    notifier.push(call(&hang, "MASTER"), started);
    notifier.push(call(&next, "BACKUP"), started);
    notifier.drain(sys::now);
    let took = sys::now() - started;
    assert_eq!(fs::read_to_string(&log).unwrap(), "BACKUP\n");
    assert!(
        took < Duration::from_secs(10),
        "the hanging script held the queue for {took:?}"
    );
}

#[test]
fn a_timeout_kills_what_the_script_started_too() {
    let _serial = ONE_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner());
    let dir = scratch("group");
    let pid_file = dir.join("pid");
    // The script leaves a grandchild behind and hangs; the timeout must
    // reach both, as they share the script's process group.
    let hang = script(
        &dir,
        "hang",
        &format!("sleep 30 &\necho $! > {}\nwait", pid_file.display()),
    );
    let mut notifier = Notifier::with_timeout(Duration::from_millis(300));
    notifier.push(call(&hang, "MASTER"), sys::now());
    notifier.drain(sys::now);
    let grandchild = fs::read_to_string(&pid_file).unwrap();
    let status = format!("/proc/{}/status", grandchild.trim());
    // Killed; at most a zombie until init reaps it. SIGKILL is delivered
    // after kill(2) returns, so give it a moment (a survivor would run 30 s).
    let alive = || {
        fs::read_to_string(&status)
            .map(|s| {
                !s.lines()
                    .any(|l| l.starts_with("State:") && l.contains('Z'))
            })
            .unwrap_or(false)
    };
    let started = sys::now();
    while alive() && sys::now() - started < Duration::from_secs(5) {
        sys::wait(&[], Some(Duration::from_millis(10))).unwrap();
    }
    assert!(!alive(), "the script's own child outlived the timeout");
}

#[test]
fn a_script_starts_with_no_signal_blocked_and_sigpipe_at_its_default() {
    let _serial = ONE_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner());
    let dir = scratch("signals");
    let out = dir.join("status");
    // The daemon blocks the signals it reads through a signalfd; a script
    // must not inherit that, nor std's ignored SIGPIPE. `cp` (no shell,
    // which might reset them itself) copies its own status.
    let _fd = sys::ffi::signal_fd(&[rustix::process::Signal::USR2.as_raw()]).unwrap();
    let args = [
        "/proc/self/status".to_string(),
        out.to_string_lossy().into_owned(),
    ];
    let child = Child::spawn("cp", &args).unwrap();
    let started = sys::now();
    while child.try_wait().unwrap().is_none() {
        assert!(sys::now() - started < Duration::from_secs(10), "cp hangs");
        sys::wait(&[], Some(Duration::from_millis(5))).unwrap();
    }
    let status = fs::read_to_string(&out).unwrap();
    let mask = |name: &str| {
        let line = status.lines().find(|l| l.starts_with(name)).unwrap();
        u64::from_str_radix(line.split_whitespace().nth(1).unwrap(), 16).unwrap()
    };
    assert_eq!(mask("SigBlk:"), 0, "{status}");
    let sigpipe = 1u64 << (rustix::process::Signal::PIPE.as_raw() - 1);
    assert_eq!(mask("SigIgn:") & sigpipe, 0, "{status}");
    let decimal = |name: &str| {
        let line = status.lines().find(|l| l.starts_with(name)).unwrap();
        line.split_whitespace().nth(1).unwrap().to_string()
    };
    assert_eq!(
        decimal("NSpgid:"),
        decimal("Pid:"),
        "a process group of its own"
    );
}
