//! Telling operators of every state change, as keepalived does: the
//! per-state command (`notify-master` ...) as written, then the generic
//! `notify SCRIPT TYPE NAME STATE PRIORITY` and `--notify-all`, then one
//! line on the notify FIFO. Scripts queue and run one at a time in the
//! order of the transitions ([`crate::notify`]); the FIFO line is written
//! at once and never blocks.

use super::Daemon;
use crate::config::StateScripts;
use crate::notify::{Call, Notifier};
use crate::proto::fsm::StateKind;
use crate::proto::time::Instant;
use crate::sys::fifo::NotifyFifo;

/// The notify FIFO, opened when first needed and again after an error.
#[derive(Default)]
pub(super) struct Fifo {
    pub(super) path: Option<String>,
    open: Option<NotifyFifo>,
    /// Lines that could not be written (the reader is too slow and the
    /// pipe is full, or the FIFO cannot be opened); keepalived loses them
    /// silently.
    pub(super) lines_lost: u64,
}

impl Fifo {
    pub(super) fn new(path: Option<String>) -> Fifo {
        let mut fifo = Fifo {
            path,
            ..Fifo::default()
        };
        if let Some(path) = &fifo.path {
            match NotifyFifo::open(path) {
                Ok(open) => fifo.open = Some(open),
                Err(e) => log_at!(
                    Warn,
                    "notify-fifo {path}: {e}; trying again at the next event"
                ),
            }
        }
        fifo
    }

    fn write(&mut self, line: &str) {
        let Some(path) = &self.path else {
            return;
        };
        let result = match &self.open {
            Some(open) => open.write_line(line),
            None => NotifyFifo::open(path).and_then(|open| {
                let result = open.write_line(line);
                self.open = Some(open);
                result
            }),
        };
        let Err(e) = result else {
            return;
        };
        self.lines_lost += 1;
        // A full pipe (EAGAIN: nobody reads) stays open; after any other
        // error it is opened again at the next line. (Not `e.kind()`: its
        // table of every errno would be in the image for this.)
        if e.raw_os_error() != Some(rustix::io::Errno::AGAIN.raw_os_error()) {
            self.open = None;
        }
        if self.lines_lost == 1 {
            log_at!(
                Warn,
                "notify-fifo {path}: a line was lost ({e}); losses are counted in the status (fifo_lines_lost), this is said once"
            );
        }
    }
}

/// Whose state changed, and what to run for it.
struct Source<'a> {
    /// `INSTANCE` or `GROUP`, the first notify argument.
    kind: &'static str,
    name: &'a str,
    states: &'a StateScripts,
    generic: Option<&'a str>,
    priority: u8,
}

/// Where state changes are told: the script queue, `--notify-all` and the
/// notify FIFO.
pub(super) struct Notifications {
    pub(super) notifier: Notifier,
    pub(super) fifo: Fifo,
    /// Run on every state change of every instance and group, after its own.
    notify_all: Option<String>,
}

impl Notifications {
    pub(super) fn new(notify_all: Option<String>, fifo: Fifo) -> Notifications {
        Notifications {
            notifier: Notifier::default(),
            fifo,
            notify_all,
        }
    }

    /// Queues a per-state command, with no arguments appended.
    fn run_as_written(&mut self, argv: &Option<Vec<String>>, now: Instant) {
        if let Some((script, args)) = argv.as_ref().and_then(|argv| argv.split_first()) {
            let call = Call {
                script: script.clone(),
                args: args.to_vec(),
            };
            self.notifier.push(call, now);
        }
    }

    fn dispatch(&mut self, source: Source<'_>, state: StateKind, now: Instant) {
        let specific = match state {
            StateKind::Master => &source.states.master,
            StateKind::Backup => &source.states.backup,
            StateKind::Fault => &source.states.fault,
            StateKind::Initialize => &source.states.stop,
        };
        self.run_as_written(specific, now);
        let (kind, name, word, priority) = (
            source.kind,
            source.name,
            state.notify_word(),
            source.priority,
        );
        for script in [source.generic, self.notify_all.as_deref()]
            .into_iter()
            .flatten()
        {
            let call = Call {
                script: script.to_string(),
                args: Vec::from([kind, name, word, &priority.to_string()].map(String::from)),
            };
            self.notifier.push(call, now);
        }
        self.fifo
            .write(&format!("{kind} \"{name}\" {word} {priority}"));
    }
}

impl Daemon {
    /// An instance entered `state`.
    pub(super) fn notify(&mut self, slot: usize, now: Instant, state: StateKind) {
        let instance = &self.instances[slot];
        log_at!(
            Info,
            "{}: entering {} state",
            instance.config.name,
            state.name()
        );
        let source = Source {
            kind: "INSTANCE",
            name: &instance.config.name,
            states: &instance.config.notify_states,
            generic: instance.config.notify.as_deref(),
            priority: instance.fsm.priority(),
        };
        self.notifications.dispatch(source, state, now);
    }

    /// An instance, as Master, answered a lower-priority master: its
    /// `notify-master-rx-lower-pri` as written and a `MASTER_RX_LOWER_PRI`
    /// FIFO line, as in keepalived (the generic scripts only hear of
    /// state changes).
    pub(super) fn notify_lower_priority(&mut self, slot: usize, now: Instant) {
        let instance = &self.instances[slot];
        let notifications = &mut self.notifications;
        notifications.run_as_written(&instance.config.notify_lower_priority, now);
        notifications.fifo.write(&format!(
            "INSTANCE \"{}\" MASTER_RX_LOWER_PRI {}",
            instance.config.name,
            instance.fsm.priority()
        ));
    }

    /// A sync group entered `state`; groups report priority 0, as in
    /// keepalived.
    pub(super) fn notify_group(&mut self, group: usize, now: Instant, state: StateKind) {
        let config = &self.groups[group].config;
        log_at!(
            Info,
            "group {}: entering {} state",
            config.name,
            state.name()
        );
        let source = Source {
            kind: "GROUP",
            name: &config.name,
            states: &config.notify_states,
            generic: config.notify.as_deref(),
            priority: 0,
        };
        self.notifications.dispatch(source, state, now);
    }
}

#[cfg(test)]
mod tests {
    use std::os::unix::fs::OpenOptionsExt;

    use super::*;

    #[test]
    fn a_full_fifo_loses_lines_counted_and_never_blocks() {
        let dir = std::env::temp_dir().join(format!("tinyvrrp-fifo-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("notify.fifo").to_string_lossy().into_owned();
        let mut fifo = Fifo::new(Some(path.clone()));
        // Nobody reads: a pipe holds 64 KiB, about 2,000 of these lines.
        let line = "INSTANCE \"lan\" MASTER 150";
        for _ in 0..10_000 {
            fifo.write(line);
        }
        assert!(
            fifo.lines_lost > 0 && fifo.lines_lost < 10_000,
            "{}",
            fifo.lines_lost
        );
        let written = 10_000 - fifo.lines_lost as usize;
        let mut reader = std::fs::OpenOptions::new()
            .read(true)
            .custom_flags(rustix::fs::OFlags::NONBLOCK.bits() as i32)
            .open(&path)
            .unwrap();
        let mut content = Vec::new();
        let _ = std::io::Read::read_to_end(&mut reader, &mut content);
        assert_eq!(
            content.len(),
            written * (line.len() + 1),
            "whole lines only"
        );
        assert!(content.starts_with(b"INSTANCE \"lan\" MASTER 150\nINSTANCE"));
        drop(fifo);
        assert!(!std::path::Path::new(&path).exists(), "ours, so removed");
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
