//! Health-check scripts (keepalived's `vrrp_script`): each runs every
//! `interval` as a child process, never waited for. Its exit is seen on
//! SIGCHLD; one that overruns its `timeout` gets SIGTERM, its process
//! group SIGKILL 2 s later, and the run counts as a failure. A run still
//! going at the next interval is skipped, not stacked.

use core::time::Duration;

use super::increment;
use crate::config::ScriptConfig;
use crate::proto::time::{next_tick, Instant};
use crate::proto::track::ScriptState;
use crate::sys::child::Child;

/// keepalived's grace between SIGTERM and SIGKILL for a script that
/// overran its timeout.
const KILL_AFTER: Duration = Duration::from_secs(2);

/// What a script has done, for status.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ScriptCounters {
    pub runs: u64,
    pub failures: u64,
    pub timeouts: u64,
    /// Intervals at which the previous run was still going.
    pub skipped: u64,
}

struct Run {
    child: Child,
    /// When it gets SIGTERM and counts as failed.
    timeout_at: Instant,
    /// Set once it timed out: when its group gets SIGKILL.
    kill_at: Option<Instant>,
}

pub(super) struct Script {
    pub(super) config: ScriptConfig,
    pub(super) state: ScriptState,
    pub(super) counters: ScriptCounters,
    /// Results in a row: successes while positive, failures while negative.
    streak: i64,
    next_run: Instant,
    run: Option<Run>,
    /// A run that timed out and ended on SIGTERM: its process group still
    /// gets SIGKILL at this instant, for what it started and left behind.
    leftover: Option<(Child, Instant)>,
}

impl Script {
    /// A script that runs first at `now`. With `init-fail` it starts KO.
    pub(super) fn new(config: ScriptConfig, now: Instant) -> Script {
        let state = if config.init_fail {
            ScriptState::Ko
        } else {
            ScriptState::Pending
        };
        Script {
            config,
            state,
            counters: ScriptCounters::default(),
            streak: 0,
            next_run: now,
            run: None,
            leftover: None,
        }
    }

    fn interval(&self) -> Duration {
        Duration::from_millis(u64::from(self.config.interval_ms))
    }

    pub(super) fn poll_at(&self) -> Instant {
        let mut at = self.next_run;
        if let Some(run) = &self.run {
            at = at.min(run.kill_at.unwrap_or(run.timeout_at));
        }
        if let Some((_, leftover_at)) = &self.leftover {
            at = at.min(*leftover_at);
        }
        at
    }

    /// Starts a run when one is due, times out or kills an overdue one, and
    /// reaps one that ended. Returns true when its state changed.
    pub(super) fn poll(&mut self, now: Instant) -> bool {
        if self.leftover.as_ref().is_some_and(|(_, at)| now >= *at) {
            self.kill_leftover();
        }
        let mut changed = self.reap(now);
        if now >= self.next_run {
            self.next_run = next_tick(self.next_run, now, self.interval());
            if self.run.is_some() {
                increment(&mut self.counters.skipped);
                log_at!(
                    Warn,
                    "script {}: still running at its next interval; this run is skipped",
                    self.config.name
                );
            } else {
                changed |= self.start(now);
            }
        }
        changed
    }

    fn start(&mut self, now: Instant) -> bool {
        increment(&mut self.counters.runs);
        let spawned = match self.config.exec.split_first() {
            Some((program, args)) => Child::spawn(program, args),
            None => Err(std::io::Error::from(std::io::ErrorKind::InvalidInput)),
        };
        match spawned {
            Ok(child) => {
                self.run = Some(Run {
                    child,
                    timeout_at: now + Duration::from_millis(u64::from(self.config.timeout_ms)),
                    kill_at: None,
                });
                false
            }
            Err(e) => {
                log_at!(Error, "script {}: cannot run it: {e}", self.config.name);
                self.record(false)
            }
        }
    }

    /// The run's end, its timeout, or its kill, whichever has come.
    fn reap(&mut self, now: Instant) -> bool {
        let Some(run) = &mut self.run else {
            return false;
        };
        match run.child.try_wait() {
            Ok(Some(exit)) => {
                log_at!(Debug, "script {}: {exit}", self.config.name);
                if let Some(Run {
                    child,
                    kill_at: Some(kill_at),
                    ..
                }) = self.run.take()
                {
                    // Counted when it timed out. An earlier run's group
                    // still waiting for its SIGKILL gets it now.
                    self.kill_leftover();
                    self.leftover = Some((child, kill_at));
                    return false;
                }
                return self.record(exit.success());
            }
            Ok(None) => {}
            Err(e) => {
                failed_call(&self.config.name, &e);
                self.run = None;
                return self.record(false);
            }
        }
        match run.kill_at {
            None if now >= run.timeout_at => {
                log_at!(
                    Warn,
                    "script {}: no result after {} ms; terminated, counted as a failure",
                    self.config.name,
                    self.config.timeout_ms
                );
                if let Err(e) = run.child.terminate() {
                    failed_call(&self.config.name, &e);
                }
                run.kill_at = Some(now + KILL_AFTER);
                increment(&mut self.counters.timeouts);
                self.record(false)
            }
            Some(kill_at) if now >= kill_at => {
                log_at!(
                    Warn,
                    "script {}: killed (SIGKILL to its group)",
                    self.config.name
                );
                if let Err(e) = run.child.kill() {
                    failed_call(&self.config.name, &e);
                }
                self.run = None;
                false
            }
            _ => false,
        }
    }

    /// One result: OK after `rise` successes in a row, KO after `fall`
    /// failures; the first result decides at once (unless `init-fail`,
    /// which started it KO). Returns true when the state changed.
    fn record(&mut self, success: bool) -> bool {
        if !success {
            increment(&mut self.counters.failures);
        }
        self.streak = match (success, self.streak) {
            (true, n) if n > 0 => n + 1,
            (true, _) => 1,
            (false, n) if n < 0 => n - 1,
            (false, _) => -1,
        };
        let state = match self.state {
            ScriptState::Pending if success => ScriptState::Ok,
            ScriptState::Pending => ScriptState::Ko,
            ScriptState::Ko if self.streak >= i64::from(self.config.rise) => ScriptState::Ok,
            ScriptState::Ok if -self.streak >= i64::from(self.config.fall) => ScriptState::Ko,
            state => state,
        };
        if state == self.state {
            return false;
        }
        log_at!(
            Info,
            "script {}: {}",
            self.config.name,
            if state == ScriptState::Ok { "OK" } else { "KO" }
        );
        self.state = state;
        true
    }

    fn kill_leftover(&mut self) {
        if let Some((child, _)) = self.leftover.take() {
            if let Err(e) = child.kill_group() {
                failed_call(&self.config.name, &e);
            }
        }
    }

    /// At exit or when a reload drops it: its run is killed.
    pub(super) fn stop(&mut self) {
        self.kill_leftover();
        if let Some(run) = self.run.take() {
            if let Err(e) = run.child.kill() {
                failed_call(&self.config.name, &e);
            }
        }
    }
}

/// A wait for, or a signal to, a script's run failed.
fn failed_call(script: &str, e: &std::io::Error) {
    log_at!(Warn, "script {script}: {e}");
}
