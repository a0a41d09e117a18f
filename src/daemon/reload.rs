//! SIGHUP: a changed config applied without disturbing what did not change.
//! Which instances to keep, stop and start is a pure [`plan`], tested
//! without root; the daemon then carries it out.

use super::groups;
use super::notifications::Fifo;
use super::resolve::{self, Resolved};
use super::track::Tracking;
use super::{Daemon, StartError};
use crate::config::{GroupConfig, InstanceConfig, ScriptConfig, SyncConfig};
use crate::proto::time::Instant;
use crate::sys;

/// An instance as a reload sees it: its config and the kernel index of the
/// interface it runs on (running) or would run on (new).
#[derive(Debug, Clone, Copy)]
pub(super) struct Bound<'a> {
    pub(super) config: &'a InstanceConfig,
    pub(super) link_index: u32,
}

impl Bound<'_> {
    /// The same instance: it keeps its state and takes the new settings.
    /// The interface name alone is not enough: one deleted and created
    /// again under that name is another link, with new sockets.
    fn same_as(&self, other: &Bound<'_>) -> bool {
        self.config.name == other.config.name
            && self.config.interface == other.config.interface
            && self.config.vrid == other.config.vrid
            && self.config.version == other.config.version
            && self.config.family() == other.config.family()
            && self.config.vmac == other.config.vmac
            && self.link_index == other.link_index
    }
}

/// What a new config holds besides its instances.
pub(super) struct Shared {
    scripts: Vec<ScriptConfig>,
    groups: Vec<GroupConfig>,
    notify_fifo: Option<String>,
    syncs: Vec<SyncConfig>,
    /// The sync blocks' keys, read (a key file that fails its checks
    /// fails the reload).
    keys: Vec<Vec<u8>>,
}

/// What a reload does, by position in the running and the new lists.
#[derive(Debug, Default, PartialEq, Eq)]
pub(super) struct Plan {
    /// `(running, new)`: updated in place, in the new config's order.
    pub(super) keep: Vec<(usize, usize)>,
    /// Running instances the new config no longer has, in ascending order.
    pub(super) stop: Vec<usize>,
    /// New instances, in the new config's order.
    pub(super) start: Vec<usize>,
}

/// Matches each new instance with the running one it is the same as (at
/// most one: the config allows a VRID once per interface); the running ones
/// left over stop and the new ones left over start.
pub(super) fn plan(running: &[Bound<'_>], new: &[Bound<'_>]) -> Plan {
    let mut plan = Plan::default();
    let mut kept = vec![false; running.len()];
    for (n, new) in new.iter().enumerate() {
        let same = (0..running.len()).find(|&r| !kept[r] && running[r].same_as(new));
        match same {
            Some(r) => {
                kept[r] = true;
                plan.keep.push((r, n));
            }
            None => plan.start.push(n),
        }
    }
    for (r, &kept) in kept.iter().enumerate() {
        if !kept {
            plan.stop.push(r);
        }
    }
    plan
}

impl Daemon {
    /// SIGHUP: apply a changed config without disturbing what did not change.
    /// An instance keeps its state when its interface, VRID and version stay
    /// the same; others are stopped (priority 0) or started. A config that
    /// does not parse or names a missing interface changes nothing.
    pub(super) fn reload(&mut self) -> Result<(), Vec<String>> {
        // Link changes queued before the lookups below are older than them,
        // and an interface created again is attached first, so that its
        // instances count as unchanged.
        self.handle_link_changes();
        if self.reattach_at.take().is_some() {
            self.reattach(sys::now());
        }
        let (shared, resolved) = self.read_config().inspect_err(|errors| {
            for e in errors {
                log_at!(Error, "reload: {e}");
            }
        })?;
        self.apply_reload(shared, resolved);
        Ok(())
    }

    /// The config file read, parsed and resolved again, or why the running
    /// config stays.
    fn read_config(&mut self) -> Result<(Shared, Vec<Resolved>), Vec<String>> {
        let text = sys::read_to_string(&self.file).map_err(|e| {
            let error = format!("{}:0: cannot read config: {e}", self.file);
            vec![error, "keeping the running config".into()]
        })?;
        let config = crate::config::parse(&self.file, &text);
        match config.map_err(StartError::Config).and_then(|config| {
            let resolved = resolve::resolve(&mut self.netlink, &self.file, config.instances)?;
            let keys = super::sync::read_keys(&self.file, &config.syncs)?;
            let shared = Shared {
                scripts: config.scripts,
                groups: config.groups,
                notify_fifo: config.notify_fifo,
                syncs: config.syncs,
                keys,
            };
            Ok((shared, resolved))
        }) {
            Ok(found) => Ok(found),
            Err(StartError::Config(errors)) => {
                let mut errors: Vec<String> = errors.iter().map(ToString::to_string).collect();
                if self.links.iter().any(|l| l.reattach_waiting) {
                    log_at!(
                        Info,
                        "reload: trying again once the re-created interface is attached"
                    );
                    self.reload_after_reattach = true;
                } else {
                    errors.push("keeping the running config".into());
                }
                Err(errors)
            }
            Err(StartError::Io(e)) => Err(vec![format!("{e}; keeping the running config")]),
        }
    }

    /// Carries out the [`plan`] for the resolved new config.
    fn apply_reload(&mut self, shared: Shared, resolved: Vec<Resolved>) {
        let running: Vec<Bound<'_>> = self
            .instances
            .iter()
            .map(|i| Bound {
                config: &i.config,
                link_index: self.links[i.link].index,
            })
            .collect();
        let new: Vec<Bound<'_>> = resolved
            .iter()
            .map(|r| Bound {
                config: &r.config,
                link_index: r.link.index,
            })
            .collect();
        let plan = plan(&running, &new);
        let now = sys::now();
        let mut resolved: Vec<Option<Resolved>> = resolved.into_iter().map(Some).collect();
        // Stopped first: a VIP that moves from a removed instance to a kept
        // one is removed before the kept one adds it. From the highest slot
        // down, so the lower ones stay where they are.
        for &slot in plan.stop.iter().rev() {
            log_at!(
                Info,
                "{}: removed by reload",
                self.instances[slot].config.name
            );
            self.stop_instance(slot, now);
        }
        let mut configs = Vec::new();
        for new in resolved.iter().flatten() {
            configs.push(&new.config);
        }
        self.apply_shared_config(shared, &configs, now);
        for &(slot, new) in &plan.keep {
            let stopped_below = plan.stop.iter().filter(|&&stopped| stopped < slot).count();
            if let Some(new) = resolved[new].take() {
                self.update_instance(slot - stopped_below, new, now);
            }
        }
        self.drop_unused_links();
        for new in plan.start.iter().filter_map(|&new| resolved[new].take()) {
            if let Err(e) = self.start_instance(new, now) {
                log_at!(Error, "reload: cannot start an instance: {e}");
            }
        }
        self.refresh(now);
        log_at!(Info, "reload: {} instances running", self.instances.len());
    }

    /// What is not per instance: the trackers (an unchanged script keeps
    /// running with its state), the groups (one with the same members keeps
    /// its state) and the notify FIFO.
    fn apply_shared_config(&mut self, shared: Shared, instances: &[&InstanceConfig], now: Instant) {
        let old = std::mem::take(&mut self.tracking);
        self.tracking = Tracking::new(
            instances,
            &shared.scripts,
            Some(old),
            &mut self.netlink,
            now,
        );
        self.groups = groups::rebuild(shared.groups, std::mem::take(&mut self.groups));
        for slot in 0..self.instances.len() {
            let group = self.group_index(&self.instances[slot].config.name);
            let instance = &mut self.instances[slot];
            instance.group = group;
            instance.fsm.set_sync_hold(group.is_some());
        }
        if shared.notify_fifo != self.notifications.fifo.path {
            self.notifications.fifo = Fifo::new(shared.notify_fifo);
        }
        self.start_syncs(shared.syncs, shared.keys, now);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Parses one config; each instance's interface `ethN` has index N.
    fn configs(text: &str) -> Vec<InstanceConfig> {
        crate::config::parse("test.conf", text)
            .expect("a valid config")
            .instances
    }

    fn bound(configs: &[InstanceConfig]) -> Vec<Bound<'_>> {
        configs
            .iter()
            .map(|config| Bound {
                config,
                link_index: config.interface[3..].parse().expect("ethN"),
            })
            .collect()
    }

    fn instance(name: &str, interface: &str, vrid: u8, extra: &str) -> String {
        format!(
            "instance {name}\n  interface {interface}\n  vrid {vrid}\n  vip 10.0.0.{vrid}\n{extra}"
        )
    }

    #[test]
    fn unchanged_instances_are_all_kept() {
        let old = configs(&(instance("a", "eth1", 1, "") + &instance("b", "eth2", 2, "")));
        let plan = plan(&bound(&old), &bound(&old));
        assert_eq!(
            plan,
            Plan {
                keep: vec![(0, 0), (1, 1)],
                stop: vec![],
                start: vec![],
            }
        );
    }

    #[test]
    fn changed_settings_keep_the_instance() {
        let old = configs(&instance("a", "eth1", 1, "  priority 150\n"));
        let new = configs(&instance(
            "a",
            "eth1",
            1,
            "  priority 140\n  vip 10.0.0.9\n  preempt off\n",
        ));
        assert_eq!(plan(&bound(&old), &bound(&new)).keep, [(0, 0)]);
    }

    #[test]
    fn removed_stop_and_added_start_in_config_order() {
        let old = configs(
            &(instance("a", "eth1", 1, "")
                + &instance("b", "eth1", 2, "")
                + &instance("c", "eth1", 3, "")),
        );
        let new = configs(
            &(instance("d", "eth1", 4, "")
                + &instance("b", "eth1", 2, "")
                + &instance("e", "eth2", 5, "")),
        );
        assert_eq!(
            plan(&bound(&old), &bound(&new)),
            Plan {
                keep: vec![(1, 1)],
                stop: vec![0, 2],
                start: vec![0, 2],
            }
        );
    }

    #[test]
    fn a_new_name_interface_vrid_or_version_is_another_instance() {
        let old = configs(&instance("a", "eth1", 1, ""));
        for new in [
            instance("renamed", "eth1", 1, ""),
            instance("a", "eth2", 1, ""),
            instance("a", "eth1", 7, ""),
            instance("a", "eth1", 1, "  version 2\n"),
        ] {
            let new = configs(&new);
            let plan = plan(&bound(&old), &bound(&new));
            assert_eq!(
                (plan.keep, plan.stop, plan.start),
                (vec![], vec![0], vec![0])
            );
        }
    }

    #[test]
    fn an_interface_created_again_is_another_link() {
        let old = configs(&instance("a", "eth1", 1, ""));
        let running = bound(&old);
        let mut new = running.clone();
        new[0].link_index = 9;
        let plan = plan(&running, &new);
        assert_eq!(
            (plan.keep, plan.stop, plan.start),
            (vec![], vec![0], vec![0])
        );
    }

    #[test]
    fn an_empty_side_starts_or_stops_everything() {
        let some = configs(&(instance("a", "eth1", 1, "") + &instance("b", "eth2", 2, "")));
        let started = plan(&[], &bound(&some));
        assert_eq!(
            (started.keep, started.stop, started.start),
            (vec![], vec![], vec![0, 1])
        );
        let stopped = plan(&bound(&some), &[]);
        assert_eq!(
            (stopped.keep, stopped.stop, stopped.start),
            (vec![], vec![0, 1], vec![])
        );
    }
}
