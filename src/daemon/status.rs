//! The state and counters of every instance and interface, as one
//! snapshot: SIGUSR1 logs it, one line per instance and per interface, in
//! the form tests and operators parse (see README, "Status").

use core::fmt;
use core::net::IpAddr;

use log::info;

use super::Daemon;
use crate::proto::fsm::{AdvertDrop, Health, StateKind};
use crate::proto::track::ScriptState;
use crate::proto::wire::{Family, RxError, Version};

pub use super::instance::InstanceCounters;
pub use super::links::RxCounters;
pub use super::scripts::ScriptCounters;

/// Everything status reports, copied out of the daemon.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Snapshot<'a> {
    pub instances: Vec<InstanceStatus<'a>>,
    pub links: Vec<LinkStatus<'a>>,
    pub groups: Vec<GroupStatus<'a>>,
    pub scripts: Vec<ScriptStatus<'a>>,
    /// With `notify-fifo`: the lines it could not take.
    pub fifo_lines_lost: Option<u64>,
}

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

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InstanceStatus<'a> {
    pub name: &'a str,
    pub interface: &'a str,
    pub family: Family,
    pub vrid: u8,
    pub version: Version,
    pub state: StateKind,
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

impl Snapshot<'_> {
    /// The status lines: instances, interfaces, groups, scripts, the FIFO.
    pub fn lines(&self) -> Vec<String> {
        let mut lines: Vec<String> = Vec::new();
        for instance in &self.instances {
            lines.push(instance.to_string());
        }
        for link in &self.links {
            lines.push(link.to_string());
        }
        for group in &self.groups {
            let state = group.state.map_or("none", StateKind::name);
            lines.push(format!("status group={} state={state}", group.name));
        }
        for script in &self.scripts {
            let c = &script.counters;
            let state = match script.state {
                ScriptState::Pending => "PENDING",
                ScriptState::Ok => "OK",
                ScriptState::Ko => "KO",
            };
            lines.push(format!(
                "status script={} state={state} runs={} failures={} timeouts={} skipped={}",
                script.name, c.runs, c.failures, c.timeouts, c.skipped
            ));
        }
        if let Some(lost) = self.fifo_lines_lost {
            lines.push(format!("status notify-fifo fifo_lines_lost={lost}"));
        }
        lines
    }
}

/// `status instance=NAME interface=... checksum_form_mismatch=N`.
impl fmt::Display for InstanceStatus<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "status instance={} interface={} family={} vrid={} version={} state={} priority={} base_priority={} health={} group={} master=",
            self.name,
            self.interface,
            self.family.name(),
            self.vrid,
            self.version.number(),
            self.state.name(),
            self.priority,
            self.base_priority,
            health_name(self.health),
            self.group.unwrap_or("none"),
        )?;
        match self.master {
            Some(master) => write!(f, "{master}")?,
            None => f.write_str("none")?,
        }
        let counters = &self.counters;
        write!(
            f,
            " advert_rx={} advert_tx={} send_errors={}",
            counters.adverts_rx, counters.adverts_tx, counters.send_errors
        )?;
        for reason in AdvertDrop::ALL {
            write!(f, " {}={}", reason.name(), counters.drops[reason.index()])?;
        }
        write!(
            f,
            " checksum_form_mismatch={}",
            counters.checksum_form_mismatch
        )
    }
}

/// `status interface=NAME primary=... rx_checksum=N`.
impl fmt::Display for LinkStatus<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "status interface={} family={} primary={} link={} unknown_vrid={}",
            self.name,
            self.family.name(),
            self.primary,
            if self.up { "up" } else { "down" },
            self.counters.unknown_vrid
        )?;
        for reason in RxError::ALL {
            write!(
                f,
                " rx_{}={}",
                reason.name(),
                self.counters.errors[reason.index()]
            )?;
        }
        Ok(())
    }
}

/// How status names a health.
fn health_name(health: Health) -> &'static str {
    match health {
        Health::Healthy => "ok",
        Health::Pending => "pending",
        Health::Fault => "fault",
    }
}

impl Daemon {
    /// The state and counters of every instance and of every link in use.
    pub fn status(&self) -> Snapshot<'_> {
        let instances = self.instances.iter().map(|instance| InstanceStatus {
            name: &instance.config.name,
            interface: &instance.config.interface,
            family: instance.config.family(),
            vrid: instance.config.vrid,
            version: instance.config.version,
            state: instance.fsm.kind(),
            priority: instance.fsm.priority(),
            base_priority: instance.fsm.params().priority,
            health: instance.health,
            group: instance.group.map(|g| self.groups[g].config.name.as_str()),
            master: instance.fsm.master(),
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
        Snapshot {
            instances: instances.collect(),
            links: links.collect(),
            groups: groups.collect(),
            scripts: scripts.collect(),
            fifo_lines_lost: self
                .notifications
                .fifo
                .path
                .as_ref()
                .map(|_| self.notifications.fifo.lines_lost),
        }
    }

    /// SIGUSR1: one line per instance and per interface.
    pub(super) fn log_status(&self) {
        for line in self.status().lines() {
            info!("{line}");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The lines of README's "Status" example, which tests/netns parse.
    #[test]
    fn lines_have_the_documented_keys_in_order() {
        let counters = InstanceCounters {
            adverts_rx: 13,
            adverts_tx: 10,
            ..InstanceCounters::default()
        };
        let mut instance = InstanceStatus {
            name: "lan",
            interface: "eth0",
            family: Family::Ipv4,
            vrid: 51,
            version: Version::V3,
            state: StateKind::Master,
            priority: 150,
            base_priority: 150,
            health: Health::Healthy,
            group: None,
            master: Some([10, 0, 0, 2].into()),
            counters: &counters,
        };
        let rx = RxCounters::default();
        let link = LinkStatus {
            name: "eth0",
            family: Family::Ipv4,
            primary: [10, 0, 0, 2].into(),
            up: true,
            counters: &rx,
        };
        let snapshot = Snapshot {
            instances: vec![instance.clone()],
            links: vec![link],
            groups: vec![],
            scripts: vec![],
            fifo_lines_lost: None,
        };
        let lines = snapshot.lines();
        assert_eq!(
            lines,
            [
                "status instance=lan interface=eth0 family=ipv4 vrid=51 version=3 state=MASTER priority=150 base_priority=150 health=ok group=none master=10.0.0.2 advert_rx=13 advert_tx=10 send_errors=0 version_mismatch=0 interval_mismatch=0 address_list_mismatch=0 owner_ignores_advert=0 auth_mismatch=0 not_a_unicast_peer=0 checksum_form_mismatch=0",
                "status interface=eth0 family=ipv4 primary=10.0.0.2 link=up unknown_vrid=0 rx_truncated=0 rx_oversized=0 rx_ip_header=0 rx_ttl=0 rx_version=0 rx_type=0 rx_count=0 rx_checksum=0",
            ]
        );
        let mut dropped = counters.clone();
        dropped.drops[AdvertDrop::Auth.index()] = 4;
        instance.state = StateKind::Fault;
        instance.master = None;
        instance.counters = &dropped;
        let line = instance.to_string();
        assert!(line.contains(" state=FAULT "), "{line}");
        assert!(line.contains(" master=none "), "{line}");
        assert!(line.contains(" auth_mismatch=4 "), "{line}");
    }
}
