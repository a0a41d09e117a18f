//! Notify scripts, keepalived-style: `SCRIPT INSTANCE NAME STATE PRIORITY`.
//!
//! keepalived starts every notify script at once, so two quick transitions
//! can run their scripts out of order (BACKUP's script finishing after
//! MASTER's). Here scripts run one at a time, in the order the transitions
//! happened; a script that hangs is killed after [`SCRIPT_TIMEOUT`] so it
//! cannot hold back the next one. A failing script is logged, never fatal.

use core::fmt;
use std::time::Duration;

use log::{log, Level};

use crate::proto::time::Instant;
use crate::sys::child::Child;

/// How long one notify script may run before it is killed.
pub const SCRIPT_TIMEOUT: Duration = Duration::from_secs(10);

/// One call of a script.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Call {
    pub script: String,
    pub args: Vec<String>,
}

struct Running {
    call: Call,
    child: Child,
    deadline: Instant,
}

pub struct Notifier {
    /// Calls waiting, oldest first: a few at most, so a Vec (taken from
    /// its front) rather than a VecDeque and its code.
    queue: Vec<Call>,
    running: Option<Running>,
    timeout: Duration,
}

impl Default for Notifier {
    fn default() -> Notifier {
        Notifier::with_timeout(SCRIPT_TIMEOUT)
    }
}

impl Notifier {
    pub fn with_timeout(timeout: Duration) -> Notifier {
        Notifier {
            queue: Vec::new(),
            running: None,
            timeout,
        }
    }

    pub fn push(&mut self, call: Call, now: Instant) {
        self.queue.push(call);
        self.poll(now);
    }

    /// When a running script is due to be killed. Its end comes sooner as
    /// SIGCHLD, after which the daemon calls [`Notifier::poll`].
    pub fn poll_at(&self) -> Option<Instant> {
        self.running.as_ref().map(|running| running.deadline)
    }

    /// Reaps a finished script, kills an overdue one, starts the next.
    pub fn poll(&mut self, now: Instant) {
        loop {
            if let Some(running) = &mut self.running {
                let call = &running.call;
                let ended = match running.child.try_wait() {
                    Ok(Some(status)) if status.success() => {
                        say(Level::Debug, "", call, format_args!(" finished"));
                        Ok(())
                    }
                    Ok(Some(status)) => {
                        say(Level::Warn, "", call, format_args!(" failed: {status}"));
                        Ok(())
                    }
                    Ok(None) if now >= running.deadline => {
                        let ms =
                            self.timeout.as_secs() * 1000 + u64::from(self.timeout.subsec_millis());
                        say(
                            Level::Error,
                            "",
                            call,
                            format_args!(" still running after {ms} ms; killed"),
                        );
                        running.child.kill()
                    }
                    Ok(None) => return,
                    Err(e) => Err(e),
                };
                if let Err(e) = ended {
                    say(Level::Warn, "", call, format_args!(": {e}"));
                }
                self.running = None;
            }
            if self.queue.is_empty() {
                return;
            }
            let call = self.queue.remove(0);
            match Child::spawn(&call.script, &call.args) {
                Ok(child) => {
                    self.running = Some(Running {
                        call,
                        child,
                        deadline: now + self.timeout,
                    });
                }
                Err(e) => say(Level::Error, "cannot run ", &call, format_args!(": {e}")),
            }
        }
    }

    /// At exit: runs what is queued, each within its timeout.
    pub fn drain(&mut self, mut now: impl FnMut() -> Instant) {
        while self.running.is_some() || !self.queue.is_empty() {
            self.poll(now());
            if self.running.is_some() {
                // Not std::thread::sleep: every wait goes through sys, whose
                // time handling is proven on MIPS.
                let _ = crate::sys::wait(&[], Some(Duration::from_millis(5)));
            }
        }
    }
}

/// Logs `notify: `, `before`, `SCRIPT ARGS` and then `what`: one logging
/// call for every outcome of a script.
fn say(level: Level, before: &str, call: &Call, what: fmt::Arguments<'_>) {
    log!(
        level,
        "notify: {before}{} {}{what}",
        call.script,
        call.args.join(" ")
    );
}
