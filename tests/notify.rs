//! Notify scripts run one at a time, in order, with a timeout, and a
//! missing or failing script is only logged.

use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::time::Duration;

use tinyvrrp::notify::{Call, Notifier};
use tinyvrrp::sys;

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
