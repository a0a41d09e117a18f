//! What `tinyvrrp check` prints: one line per block, with no line numbers,
//! so the two syntaxes of one config print the same.

use core::fmt;

use crate::proto::fsm::PRIORITY_OWNER;
use crate::proto::wire::{Checksum, Version};

#[cfg(feature = "sync")]
use super::SyncConfig;
use super::{vmac_name, GroupConfig, InstanceConfig, ScriptConfig, StateScripts, Trackers};

impl fmt::Display for InstanceConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "instance {}: interface {}, vrid {}, {}, version {}, priority {}{}, advert {}ms, preempt {}, vip",
            self.name,
            self.interface,
            self.vrid,
            self.family().name(),
            self.version.number(),
            self.priority,
            if self.priority == PRIORITY_OWNER { " (address owner)" } else { "" },
            u32::from(self.advert_cs) * 10,
            if self.preempt { "on" } else { "off" },
        )?;
        for vip in &self.vips {
            write!(f, " {vip}")?;
        }
        if let Some(script) = &self.notify {
            write!(f, ", notify {script}")?;
        }
        if self.version == Version::V3 && self.checksum == Checksum::MessageOnly {
            write!(f, ", v3-checksum as-v2")?;
        }
        if self.auth_pass.is_some() {
            write!(f, ", auth-pass set")?;
        }
        if !self.unicast_peers.is_empty() {
            write!(f, ", unicast-peer")?;
            for peer in &self.unicast_peers {
                write!(f, " {peer}")?;
            }
        }
        if let Some((src, _)) = self.unicast_src {
            write!(f, ", unicast-src {src}")?;
        }
        write!(
            f,
            ", garp-repeat {}, garp-delay {}ms",
            self.garp_repeat, self.garp_delay_ms
        )?;
        if self.vmac {
            write!(f, ", vmac {}", vmac_name(self.family(), self.vrid))?;
        }
        if self.preempt_delay_ms > 0 {
            write!(f, ", preempt-delay {}ms", self.preempt_delay_ms)?;
        }
        write_trackers(f, &self.trackers)?;
        write_states(f, &self.notify_states)?;
        if let Some(argv) = &self.notify_lower_priority {
            write!(f, ", notify-master-rx-lower-pri {}", argv.join(" "))?;
        }
        Ok(())
    }
}

impl fmt::Display for ScriptConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "script {}: exec {}, interval {}ms, timeout {}ms, rise {}, fall {}, weight {}, init-fail {}",
            self.name,
            self.exec.join(" "),
            self.interval_ms,
            self.timeout_ms,
            self.rise,
            self.fall,
            self.weight,
            if self.init_fail { "on" } else { "off" },
        )
    }
}

impl fmt::Display for GroupConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "group {}: member {}", self.name, self.members.join(" "))?;
        write_trackers(f, &self.trackers)?;
        if let Some(script) = &self.notify {
            write!(f, ", notify {script}")?;
        }
        write_states(f, &self.notify_states)
    }
}

#[cfg(feature = "sync")]
impl fmt::Display for SyncConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "sync {}: instance {}, port {}, key {}, interval {}ms, max-size {}, file",
            self.name, self.instance, self.port, self.key.0, self.interval_ms, self.max_size
        )?;
        for (path, _) in &self.files {
            write!(f, " {path}")?;
        }
        if let Some(argv) = &self.after_update {
            write!(f, ", after-update {}", argv.join(" "))?;
        }
        Ok(())
    }
}

/// Each tracker with the weight it counts with (a `track-script`'s
/// resolved), as `, track-interface eth1 weight -20`.
fn write_trackers(f: &mut fmt::Formatter<'_>, trackers: &Trackers) -> fmt::Result {
    for t in trackers {
        write!(f, ", {} {} weight {}", t.target.key(), t.name, t.weight)?;
    }
    Ok(())
}

/// Each per-state command as `, notify-master CMD ARGS...`.
fn write_states(f: &mut fmt::Formatter<'_>, states: &StateScripts) -> fmt::Result {
    let keys = [
        ("notify-master", &states.master),
        ("notify-backup", &states.backup),
        ("notify-fault", &states.fault),
        ("notify-stop", &states.stop),
    ];
    for &(key, argv) in &keys {
        if let Some(argv) = argv {
            write!(f, ", {key} {}", argv.join(" "))?;
        }
    }
    Ok(())
}
