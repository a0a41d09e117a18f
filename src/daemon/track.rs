//! The trackers at run time: tracked interfaces (followed by name through
//! the link watch), tracked files (re-read on inotify events) and
//! health-check scripts, and what they make of each instance's priority
//! and health ([`crate::proto::track`]).

use core::time::Duration;

use super::earliest;
use super::scripts::Script;
use crate::config::{InstanceConfig, ScriptConfig, Target, Trackers};
use crate::proto::time::{is_due, Instant};
use crate::proto::track::{self, Effective, FileValue, Verdict};
use crate::sys::inotify::{Changes, FileWatch};
use crate::sys::netlink::{LinkChange, Netlink};

/// keepalived reads only this much of a tracked file.
const FILE_READ_LIMIT: usize = 127;
/// A file whose directory could not be watched is tried again this often.
const WATCH_RETRY: Duration = Duration::from_secs(5);

/// A tracked interface: up means up with carrier.
pub(super) struct TrackedInterface {
    pub(super) name: String,
    /// Its index while it exists: a link deleted and created again comes
    /// back under a new one, found by its name.
    index: Option<u32>,
    pub(super) up: bool,
}

/// A tracked file and the value it last held.
pub(super) struct TrackedFile {
    pub(super) path: String,
    pub(super) value: i32,
    /// Its directory is watched; until then it is retried.
    watched: bool,
    /// Said once that it reads as 0, until it holds a number again.
    said_not_a_number: bool,
}

#[derive(Default)]
pub(super) struct Tracking {
    pub(super) interfaces: Vec<TrackedInterface>,
    pub(super) files: Vec<TrackedFile>,
    pub(super) scripts: Vec<Script>,
    pub(super) watch: Option<FileWatch>,
    watch_retry_at: Option<Instant>,
}

impl Tracking {
    /// The trackers a config uses, looked up now. Scripts that run
    /// unchanged in `old` keep running, with their state, so a reload does
    /// not send a healthy instance back to waiting for a first result.
    pub(super) fn new(
        instances: &[&InstanceConfig],
        scripts: &[ScriptConfig],
        old: Option<Tracking>,
        netlink: &mut Netlink,
        now: Instant,
    ) -> Tracking {
        let mut old_scripts = old.map(|old| old.scripts).unwrap_or_default();
        let mut tracking = Tracking::default();
        for t in instances.iter().flat_map(|i| &i.trackers) {
            match t.target {
                Target::Interface => {
                    if tracking.interfaces.iter().any(|i| i.name == t.name) {
                        continue;
                    }
                    let mut interface = TrackedInterface {
                        name: t.name.clone(),
                        index: None,
                        up: false,
                    };
                    interface.look_up(netlink);
                    tracking.interfaces.push(interface);
                }
                Target::File => {
                    if tracking.files.iter().any(|f| f.path == t.name) {
                        continue;
                    }
                    tracking.files.push(TrackedFile {
                        path: t.name.clone(),
                        value: 0,
                        watched: false,
                        said_not_a_number: false,
                    });
                }
                Target::Script => {
                    if tracking.scripts.iter().any(|s| s.config.name == t.name) {
                        continue;
                    }
                    let Some(config) = scripts.iter().find(|s| s.name == t.name) else {
                        continue;
                    };
                    let script = match old_scripts.iter().position(|s| s.config == *config) {
                        Some(at) => old_scripts.swap_remove(at),
                        None => Script::new(config.clone(), now),
                    };
                    tracking.scripts.push(script);
                }
            }
        }
        for script in &mut old_scripts {
            script.stop();
        }
        if !tracking.files.is_empty() {
            match FileWatch::open() {
                Ok(watch) => tracking.watch = Some(watch),
                Err(e) => log_at!(Warn, "cannot watch tracked files: {e}"),
            }
            tracking.watch_files(now);
            for file in &mut tracking.files {
                file.read();
            }
        }
        tracking
    }

    /// Watches the directories of the files not watched yet.
    fn watch_files(&mut self, now: Instant) {
        self.watch_retry_at = None;
        let Some(watch) = &mut self.watch else {
            return;
        };
        for file in self.files.iter_mut().filter(|f| !f.watched) {
            match watch.watch(&file.path) {
                Ok(()) => file.watched = true,
                Err(e) => {
                    log_at!(
                        Warn,
                        "track-file {}: cannot watch it: {e}; retrying",
                        file.path
                    );
                    self.watch_retry_at = Some(now + WATCH_RETRY);
                }
            }
        }
    }

    /// The earliest deadline: a script to run, time out or kill, or a
    /// directory to watch again.
    pub(super) fn poll_at(&self) -> Option<Instant> {
        let mut next = self.watch_retry_at;
        for script in &self.scripts {
            next = earliest(next, Some(script.poll_at()));
        }
        next
    }

    /// Runs what is due (and reaps scripts that ended, after SIGCHLD).
    /// Returns true when a tracker changed.
    pub(super) fn poll(&mut self, now: Instant) -> bool {
        if is_due(self.watch_retry_at, now) {
            self.watch_files(now);
            for file in self.files.iter_mut() {
                file.read();
            }
        }
        let mut changed = false;
        for script in &mut self.scripts {
            changed |= script.poll(now);
        }
        changed
    }

    /// Files the inotify watch says changed are read again. Returns true
    /// when a value changed.
    pub(super) fn read_files(&mut self) -> bool {
        let Some(watch) = &mut self.watch else {
            return false;
        };
        let changes = match watch.read() {
            Ok(changes) => changes,
            Err(e) => {
                log_at!(Warn, "track-file: cannot read changes: {e}");
                return false;
            }
        };
        let mut changed = false;
        for file in &mut self.files {
            let touched = match &changes {
                Changes::Paths(paths) => paths.contains(&file.path),
                Changes::Overflow => true,
            };
            if touched {
                changed |= file.read();
            }
        }
        changed
    }

    /// A link change from the kernel; returns true when a tracked
    /// interface changed.
    pub(super) fn link_changed(&mut self, change: &LinkChange) -> bool {
        let mut changed = false;
        for interface in &mut self.interfaces {
            let by_name = change.name.as_deref() == Some(interface.name.as_str());
            let by_index = interface.index == Some(change.index);
            if !by_index && !by_name {
                continue;
            }
            let up = if by_name {
                interface.index = Some(change.index);
                change.up
            } else if change.name.is_some() {
                // Renamed away: the name is what is tracked.
                interface.index = None;
                false
            } else {
                change.up
            };
            if interface.up != up {
                interface.up = up;
                interface.say();
                changed = true;
            }
        }
        changed
    }

    /// Looks every tracked interface up again (link changes were lost).
    pub(super) fn look_up_interfaces(&mut self, netlink: &mut Netlink) -> bool {
        let mut changed = false;
        for interface in &mut self.interfaces {
            let was = interface.up;
            interface.look_up(netlink);
            changed |= interface.up != was;
        }
        changed
    }

    /// An instance's priority and health: its link, then each tracker.
    pub(super) fn effective(&self, base: u8, trackers: &Trackers, link_up: bool) -> Effective {
        let mut verdicts = Vec::new();
        if !link_up {
            verdicts.push(Verdict::Fault);
        }
        for t in trackers {
            let verdict = match t.target {
                Target::Interface => {
                    let up = self.interfaces.iter().any(|i| i.name == t.name && i.up);
                    track::interface(t.weight, up)
                }
                // Every tracked script is running (Tracking::new); a missing
                // one would be a bug, and FAULT the safe answer.
                Target::Script => match self.scripts.iter().find(|s| s.config.name == t.name) {
                    Some(script) => track::script(t.weight, script.state),
                    None => Verdict::Fault,
                },
                Target::File => {
                    let file = self.files.iter().find(|f| f.path == t.name);
                    track::file(t.weight, file.map_or(0, |f| f.value))
                }
            };
            verdicts.push(verdict);
        }
        track::effective(base, &verdicts)
    }

    /// At exit: running scripts are killed.
    pub(super) fn stop(&mut self) {
        for script in &mut self.scripts {
            script.stop();
        }
    }
}

impl TrackedInterface {
    fn look_up(&mut self, netlink: &mut Netlink) {
        match netlink.link(&self.name) {
            Ok(Some(found)) => {
                self.index = Some(found.index);
                self.up = found.up;
            }
            Ok(None) => {
                self.index = None;
                self.up = false;
            }
            Err(e) => log_at!(
                Warn,
                "track-interface {}: cannot look it up: {e}",
                self.name
            ),
        }
        self.say();
    }

    fn say(&self) {
        if self.up {
            log_at!(Info, "track-interface {}: up", self.name);
        } else {
            log_at!(Warn, "track-interface {}: down", self.name);
        }
    }
}

impl TrackedFile {
    /// Reads the value again; true when it changed. Missing, empty or not a
    /// number reads as 0 (said once); out of range keeps the old value.
    fn read(&mut self) -> bool {
        let mut content = [0; FILE_READ_LIMIT];
        let value = match crate::sys::read_prefix(&self.path, &mut content) {
            Ok(Some(read)) => track::parse_file_value(&content[..read]),
            Ok(None) => FileValue::NotANumber,
            Err(e) => {
                log_at!(
                    Warn,
                    "track-file {}: {e}; keeping {}",
                    self.path,
                    self.value
                );
                return false;
            }
        };
        let value = match value {
            FileValue::Number(n) => {
                self.said_not_a_number = false;
                n
            }
            FileValue::NotANumber => {
                if !self.said_not_a_number {
                    log_at!(
                        Warn,
                        "track-file {}: missing, empty or not a number; counts as 0",
                        self.path
                    );
                    self.said_not_a_number = true;
                }
                0
            }
            FileValue::OutOfRange => {
                log_at!(
                    Warn,
                    "track-file {}: value out of range; keeping {}",
                    self.path,
                    self.value
                );
                return false;
            }
        };
        if value == self.value {
            return false;
        }
        log_at!(Info, "track-file {}: {} -> {value}", self.path, self.value);
        self.value = value;
        true
    }
}
