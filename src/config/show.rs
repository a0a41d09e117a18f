//! What `tinyvrrp check` prints: one line per block, with no line numbers,
//! so the two syntaxes of one config print the same.

use core::fmt;

use crate::proto::fsm::PRIORITY_OWNER;
use crate::proto::wire::{Checksum, Version};

use super::{vmac_name, InstanceConfig};

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
        Ok(())
    }
}
