//! The state and counters of every instance and interface, as one
//! snapshot, in two forms from the same fields ([`render`]): aligned tables
//! (the status socket, and SIGUSR1 logs them) and JSON (see README,
//! "Status").

mod fields;
pub mod render;

use core::net::IpAddr;
use core::time::Duration;

use log::info;

use super::Daemon;
use crate::proto::fsm::Health;
use crate::proto::fsm::StateKind;
use crate::proto::time::Instant;
use crate::proto::track::ScriptState;
use crate::proto::wire::{Family, Version};
use crate::sys;

pub use super::instance::InstanceCounters;
pub use super::links::RxCounters;
pub use super::scripts::ScriptCounters;

/// Everything status reports, borrowed from the daemon.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Snapshot<'a> {
    pub instances: Vec<InstanceStatus<'a>>,
    pub links: Vec<LinkStatus<'a>>,
    pub groups: Vec<GroupStatus<'a>>,
    pub scripts: Vec<ScriptStatus<'a>>,
    pub fifo: Option<FifoStatus<'a>>,
    pub syncs: Vec<SyncStatus<'a>>,
    pub sync_files: Vec<SyncFileStatus<'a>>,
}

/// A `sync` block: its role and the datagrams it dropped, by reason.
#[cfg(feature = "sync")]
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SyncStatus<'a> {
    pub name: &'a str,
    pub instance: &'a str,
    pub port: u16,
    /// `source`, `receiver` or `idle`.
    pub role: &'static str,
    pub drops: Vec<(&'static str, u64)>,
}

/// A synced file.
#[cfg(feature = "sync")]
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SyncFileStatus<'a> {
    pub sync: &'a str,
    pub path: &'a str,
    /// The SHA-256 of our copy, in hex; None without one.
    pub digest: Option<String>,
    /// Seconds since the epoch: when it was last replaced here (a
    /// receiver) or last sent from here (the source).
    pub last_sync: Option<u64>,
    pub bytes_sent: u64,
    pub bytes_received: u64,
    pub errors: u64,
}

/// Without file sync there are no sync records: types without values, so
/// that their (empty) lists compile to no code (size).
#[cfg(not(feature = "sync"))]
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SyncStatus<'a>(core::convert::Infallible, core::marker::PhantomData<&'a ()>);
#[cfg(not(feature = "sync"))]
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SyncFileStatus<'a>(core::convert::Infallible, core::marker::PhantomData<&'a ()>);

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GroupStatus<'a> {
    pub name: &'a str,
    /// None before its first member started.
    pub state: Option<StateKind>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ScriptStatus<'a> {
    pub name: &'a str,
    pub state: ScriptState,
    pub counters: &'a ScriptCounters,
}

/// `notify-fifo`: its path and the lines it could not take.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FifoStatus<'a> {
    pub path: &'a str,
    pub lines_lost: u64,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InstanceStatus<'a> {
    pub name: &'a str,
    pub interface: &'a str,
    pub family: Family,
    pub vrid: u8,
    pub version: Version,
    pub state: StateKind,
    /// How long it has been in that state.
    pub in_state: Duration,
    /// The priority it runs with: the base moved by its trackers.
    pub priority: u8,
    /// The configured priority (254 for a `priority 255` that does not own
    /// its addresses).
    pub base_priority: u8,
    /// What its link and trackers say (its group may add a fault).
    pub health: Health,
    pub group: Option<&'a str>,
    /// The current master as far as the instance knows (itself when Master).
    pub master: Option<IpAddr>,
    pub vips: &'a [IpAddr],
    /// Until its next timer: an advert (Master) or Master_Down (Backup).
    pub next_event: Option<Duration>,
    pub counters: &'a InstanceCounters,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LinkStatus<'a> {
    pub name: &'a str,
    pub family: Family,
    pub primary: IpAddr,
    /// Up and with carrier.
    pub up: bool,
    pub counters: &'a RxCounters,
}

impl Daemon {
    /// The state and counters of every instance and of every link in use.
    pub fn status(&self, now: Instant) -> Snapshot<'_> {
        let instances = self.instances.iter().map(|instance| InstanceStatus {
            name: &instance.config.name,
            interface: &instance.config.interface,
            family: instance.config.family(),
            vrid: instance.config.vrid,
            version: instance.config.version,
            state: instance.fsm.kind(),
            in_state: now.saturating_since(instance.entered_at),
            priority: instance.fsm.priority(),
            base_priority: instance.fsm.params().priority,
            health: instance.health,
            group: instance.group.map(|g| self.groups[g].config.name.as_str()),
            master: instance.fsm.master(),
            vips: &instance.fsm.params().vips,
            next_event: instance.fsm.poll_at().map(|at| at.saturating_since(now)),
            counters: &instance.counters,
        });
        let links = self.links.iter().map(|link| LinkStatus {
            name: &link.name,
            family: link.family,
            primary: link.primary,
            up: link.up,
            counters: &link.rx,
        });
        let groups = self.groups.iter().map(|group| GroupStatus {
            name: &group.config.name,
            state: group.sync.state(),
        });
        let scripts = self.tracking.scripts.iter().map(|script| ScriptStatus {
            name: &script.config.name,
            state: script.state,
            counters: &script.counters,
        });
        let fifo = &self.notifications.fifo;
        let (syncs, sync_files) = self.sync_status();
        Snapshot {
            instances: instances.collect(),
            links: links.collect(),
            groups: groups.collect(),
            scripts: scripts.collect(),
            fifo: fifo.path.as_deref().map(|path| FifoStatus {
                path,
                lines_lost: fifo.lines_lost,
            }),
            syncs,
            sync_files,
        }
    }

    /// SIGUSR1: the tables, a log line each.
    pub(super) fn log_status(&self) {
        for line in self.status(sys::now()).tables().lines() {
            info!("{line}");
        }
    }
}

#[cfg(test)]
mod tests;
