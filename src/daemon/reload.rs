//! SIGHUP: a changed config applied without disturbing what did not change.

use log::{error, info};

use super::{links, Daemon, StartError};
use crate::sys;

impl Daemon {
    /// SIGHUP: apply a changed config without disturbing what did not change.
    /// An instance keeps its state when its interface, VRID and version stay
    /// the same; others are stopped (priority 0) or started. A config that
    /// does not parse or names a missing interface changes nothing.
    pub(super) fn reload(&mut self) {
        // Link changes queued before the lookups below are older than them,
        // and an interface created again is attached first, so that its
        // instances count as unchanged.
        self.handle_link_changes();
        if self.reattach_at.take().is_some() {
            self.reattach(sys::now());
        }
        let config = match std::fs::read_to_string(&self.file) {
            Ok(text) => crate::config::parse(&self.file, &text),
            Err(e) => {
                error!(
                    "reload: cannot read {}: {e}; keeping the running config",
                    self.file
                );
                return;
            }
        };
        let resolved = match config
            .map_err(StartError::Config)
            .and_then(|config| links::resolve(&mut self.netlink, &self.file, config))
        {
            Ok(resolved) => resolved,
            Err(StartError::Config(errors)) => {
                for e in errors {
                    error!("reload: {e}");
                }
                if self.links.iter().any(|l| l.reattach_waiting) {
                    info!("reload: trying again once the re-created interface is attached");
                    self.reload_after_reattach = true;
                } else {
                    error!("reload: keeping the running config");
                }
                return;
            }
            Err(StartError::Io(e)) => {
                error!("reload: {e}; keeping the running config");
                return;
            }
        };
        let now = sys::now();
        let mut kept = vec![false; self.instances.len()];
        let mut added = Vec::new();
        for new in resolved {
            let same = self.instances.iter().position(|old| {
                old.config.name == new.config.name
                    && old.config.interface == new.config.interface
                    && old.config.vrid == new.config.vrid
                    && old.config.version == new.config.version
                    && self.links[old.link].index == new.link.index
            });
            match same {
                Some(slot) => {
                    kept[slot] = true;
                    self.update_instance(slot, new.config, now);
                }
                None => added.push(new),
            }
        }
        for slot in (0..self.instances.len()).rev() {
            if !kept[slot] {
                info!("{}: removed by reload", self.instances[slot].config.name);
                self.stop_instance(slot, now);
            }
        }
        self.drop_unused_links();
        for new in added {
            if let Err(e) = self.start_instance(new, now) {
                error!("reload: cannot start an instance: {e}");
            }
        }
        info!("reload: {} instances running", self.instances.len());
    }
}
