//! One `instance` block: its keys as they are read, each with its line,
//! and the checks that need the whole block before it becomes an
//! [`InstanceConfig`].

use core::net::IpAddr;

use crate::proto::fsm::PRIORITY_OWNER;
use crate::proto::wire::{Checksum, Family, Version, MAX_ADDRESSES, V2_AUTH_DATA_LEN};

use super::script::Scripts;
use super::track::{check_owner, Shared};
use super::values::{
    check_advert, parse_duration_ms, parse_int, parse_interface, parse_switch, parse_unicast,
    parse_vip,
};
use super::{is_link_local, set, At, Directive, Errors, InstanceConfig, Vip};

const DEFAULT_PRIORITY: u8 = 100;
const DEFAULT_ADVERT_CS: u16 = 100;
/// keepalived's `vrrp_garp_master_repeat`: gratuitous ARPs per VIP at once.
const DEFAULT_GARP_REPEAT: u8 = 5;
/// keepalived's `vrrp_garp_master_delay`: the second round, after 5 s.
const DEFAULT_GARP_DELAY_MS: u32 = 5000;
/// Longer `garp-delay` and `preempt-delay` values would only confuse (an
/// hour).
const MAX_DELAY_MS: u32 = 3_600_000;

/// An instance block while its directives are read.
pub(super) struct Block {
    pub(super) name: String,
    line: usize,
    interface: At<String>,
    vrid: At<u8>,
    priority: At<u8>,
    advert_ms: At<u32>,
    version: At<Version>,
    vips: Vec<(Vip, usize)>,
    preempt: At<bool>,
    notify: At<String>,
    checksum: At<Checksum>,
    auth_pass: At<String>,
    unicast_peers: Vec<(IpAddr, usize)>,
    unicast_src: At<IpAddr>,
    garp_repeat: At<u8>,
    garp_delay_ms: At<u32>,
    preempt_delay_ms: At<u32>,
    vmac: At<bool>,
    /// The trackers and the per-state notify commands.
    shared: Shared,
    /// A line of this block (or its header) was rejected: a key it names
    /// may look missing, so "has no ..." would only repeat that error.
    had_errors: bool,
}

impl Block {
    pub(super) fn new(name: String, line: usize, had_errors: bool) -> Block {
        Block {
            name,
            line,
            interface: None,
            vrid: None,
            priority: None,
            advert_ms: None,
            version: None,
            vips: Vec::new(),
            preempt: None,
            notify: None,
            checksum: None,
            auth_pass: None,
            unicast_peers: Vec::new(),
            unicast_src: None,
            garp_repeat: None,
            garp_delay_ms: None,
            preempt_delay_ms: None,
            vmac: None,
            shared: Shared::default(),
            had_errors,
        }
    }

    pub(super) fn apply(&mut self, directive: &Directive, errors: &mut Errors<'_>) {
        let before = errors.list.len();
        self.apply_value(directive, errors);
        self.had_errors |= errors.list.len() != before;
    }

    fn apply_value(&mut self, directive: &Directive, errors: &mut Errors<'_>) {
        let line = directive.line;
        let key = directive.key.as_str();
        if let Some(result) = self.shared.apply(directive, "instance", &self.name) {
            if let Err(message) = result {
                errors.at(line, message);
            }
            return;
        }
        let value = match directive.value() {
            Ok(value) => value,
            Err(message) => return errors.at(line, message),
        };
        let result = match key {
            "interface" => parse_interface(value).map(|v| set(&mut self.interface, v, line)),
            "vrid" => parse_int(value, 1, 255, "vrid").map(|v| set(&mut self.vrid, v as u8, line)),
            "priority" => {
                parse_int(value, 1, 255, "priority").map(|v| set(&mut self.priority, v as u8, line))
            }
            "advert" => parse_duration_ms(key, value).map(|v| set(&mut self.advert_ms, v, line)),
            "version" => match value {
                "2" => Ok(set(&mut self.version, Version::V2, line)),
                "3" => Ok(set(&mut self.version, Version::V3, line)),
                _ => Err(format!("version must be 2 or 3, not '{value}'")),
            },
            "vip" => parse_vip(value).map(|vip| {
                if self.vips.iter().any(|(v, _)| v.address == vip.address) {
                    false
                } else {
                    self.vips.push((vip, line));
                    true
                }
            }),
            "preempt" => parse_switch(key, value).map(|on| set(&mut self.preempt, on, line)),
            "vmac" => parse_switch(key, value).map(|on| set(&mut self.vmac, on, line)),
            "notify" => Ok(set(&mut self.notify, value.to_string(), line)),
            "v3-checksum" => match value {
                "pseudo-header" => Ok(set(&mut self.checksum, Checksum::PseudoHeader, line)),
                "as-v2" => Ok(set(&mut self.checksum, Checksum::MessageOnly, line)),
                _ => Err(format!(
                    "v3-checksum must be pseudo-header or as-v2, not '{value}'"
                )),
            },
            "auth-pass" => {
                if value.is_empty() || value.len() > V2_AUTH_DATA_LEN {
                    Err(format!(
                        "auth-pass must be 1..{V2_AUTH_DATA_LEN} octets, not {}",
                        value.len()
                    ))
                } else {
                    Ok(set(&mut self.auth_pass, value.to_string(), line))
                }
            }
            "unicast-peer" => parse_unicast(value).map(|peer| {
                if self.unicast_peers.iter().any(|(p, _)| *p == peer) {
                    false
                } else {
                    self.unicast_peers.push((peer, line));
                    true
                }
            }),
            "unicast-src" => parse_unicast(value).map(|src| set(&mut self.unicast_src, src, line)),
            "garp-repeat" => parse_int(value, 1, 255, "garp-repeat")
                .map(|v| set(&mut self.garp_repeat, v as u8, line)),
            "garp-delay" | "preempt-delay" => parse_duration_ms(key, value).and_then(|ms| {
                if ms > MAX_DELAY_MS {
                    return Err(format!("{key} must be 0s..3600s, not {ms}ms"));
                }
                let slot = match key {
                    "garp-delay" => &mut self.garp_delay_ms,
                    _ => &mut self.preempt_delay_ms,
                };
                Ok(set(slot, ms, line))
            }),
            _ => Err(format!("unknown key '{key}'")),
        };
        match result {
            Ok(true) => {}
            Ok(false) if key == "vip" || key == "unicast-peer" => {
                errors.fmt(line, format_args!("{key} {value} listed twice"))
            }
            Ok(false) => errors.fmt(
                line,
                format_args!("'{key}' given twice in instance '{}'", self.name),
            ),
            Err(message) => errors.at(line, message),
        }
    }

    /// The instance, its `track-script`s resolved against `scripts`; None
    /// after errors.
    pub(super) fn finish(
        mut self,
        scripts: &Scripts,
        errors: &mut Errors<'_>,
    ) -> Option<InstanceConfig> {
        let before = errors.list.len();
        let priority = self.priority.map_or(DEFAULT_PRIORITY, |(p, _)| p);
        let (trackers, notify_states) = core::mem::take(&mut self.shared).finish(scripts, errors);
        if priority == PRIORITY_OWNER {
            let whose = format!("on instance '{}' (priority 255)", self.name);
            check_owner(&trackers, &whose, errors);
        }
        if self.had_errors {
            return None;
        }
        check_families(&self, self.version.map_or(Version::V3, |(v, _)| v), errors);
        let Some((interface, interface_line)) = self.interface else {
            errors.fmt(
                self.line,
                format_args!("instance '{}' has no interface", self.name),
            );
            return None;
        };
        let Some((vrid, _)) = self.vrid else {
            errors.fmt(
                self.line,
                format_args!("instance '{}' has no vrid", self.name),
            );
            return None;
        };
        if self.vips.is_empty() {
            errors.fmt(
                self.line,
                format_args!("instance '{}' has no vip", self.name),
            );
        }
        if self.vips.len() > MAX_ADDRESSES {
            errors.fmt(
                self.line,
                format_args!("at most {MAX_ADDRESSES} vips per instance"),
            );
        }
        let version = self.version.map_or(Version::V3, |(v, _)| v);
        let advert_cs = match self.advert_ms {
            None => DEFAULT_ADVERT_CS,
            Some((ms, line)) => match check_advert(version, ms) {
                Ok(cs) => cs,
                Err(message) => {
                    errors.at(line, message);
                    DEFAULT_ADVERT_CS
                }
            },
        };
        let checksum = match (version, self.checksum) {
            (_, None) => Checksum::standard(version),
            (Version::V3, Some((form, _))) => form,
            (Version::V2, Some((_, line))) => {
                errors.fmt(line, format_args!("v3-checksum applies to version 3 only"));
                Checksum::standard(version)
            }
        };
        // RFC 5798 removed authentication (§9); only v2 carries a password.
        if let (Version::V3, Some((_, line))) = (version, &self.auth_pass) {
            errors.fmt(
                *line,
                format_args!("auth-pass needs version 2 (VRRPv3 has no authentication)"),
            );
        }
        if let Some((src, line)) = self.unicast_src {
            if self.unicast_peers.is_empty() {
                errors.fmt(
                    line,
                    format_args!("unicast-src needs at least one unicast-peer"),
                );
            }
            if let Some((_, peer_line)) = self.unicast_peers.iter().find(|(p, _)| *p == src) {
                errors.fmt(
                    *peer_line,
                    format_args!("unicast-peer {src} is our own unicast-src"),
                );
            }
        }
        if errors.list.len() != before {
            return None;
        }
        Some(InstanceConfig {
            name: self.name,
            line: self.line,
            interface,
            interface_line,
            vrid,
            priority,
            advert_cs,
            version,
            vips: self.vips.into_iter().map(|(vip, _)| vip).collect(),
            preempt: self.preempt.is_none_or(|(p, _)| p),
            notify: self.notify.map(|(script, _)| script),
            checksum,
            auth_pass: self.auth_pass.map(|(secret, _)| secret),
            unicast_peers: self.unicast_peers.into_iter().map(|(p, _)| p).collect(),
            unicast_src: self.unicast_src,
            garp_repeat: self.garp_repeat.map_or(DEFAULT_GARP_REPEAT, |(n, _)| n),
            garp_delay_ms: self
                .garp_delay_ms
                .map_or(DEFAULT_GARP_DELAY_MS, |(ms, _)| ms),
            vmac: self.vmac.is_some_and(|(on, _)| on),
            preempt_delay_ms: self.preempt_delay_ms.map_or(0, |(ms, _)| ms),
            trackers,
            notify_states,
        })
    }
}

/// One family per instance (RFC 5798 §5.2.9: the address list is of one
/// family), IPv6 only with version 3 (RFC 3768 is IPv4 only), the first
/// IPv6 address link-local (RFC 5798 §5.2.9), peers of the same family,
/// and a virtual MAC only with multicast.
fn check_families(block: &Block, version: Version, errors: &mut Errors<'_>) {
    let Some(&(first, _)) = block.vips.first() else {
        return;
    };
    let family = Family::of(first.address);
    for (vip, line) in &block.vips {
        if Family::of(vip.address) != family {
            errors.fmt(
                *line,
                format_args!(
                    "vip {vip}: an instance holds one family; write one per family (they may share the vrid)"
                ),
            );
        }
    }
    if family == Family::Ipv6 {
        if let (Version::V2, Some((_, line))) = (version, &block.version) {
            errors.fmt(
                *line,
                format_args!("IPv6 needs version 3 (VRRPv2, RFC 3768, is IPv4 only)"),
            );
        }
        if !is_link_local(first.address) {
            errors.fmt(
                block.vips[0].1,
                format_args!(
                    "the first IPv6 vip must be link-local (RFC 5798 §5.2.9), e.g. 'vip fe80::1/64' before 'vip {first}'"
                ),
            );
        }
    }
    let wrong_family = block
        .unicast_peers
        .iter()
        .chain(block.unicast_src.iter())
        .filter(|(address, _)| Family::of(*address) != family);
    for (address, line) in wrong_family {
        errors.fmt(*line, format_args!("{address}: not the family of the vips"));
    }
    // RFC 5798 §5.1.2.1: IPv6 adverts come from a link-local address.
    if let Some((src, line)) = block.unicast_src {
        if family == Family::Ipv6 && Family::of(src) == family && !is_link_local(src) {
            errors.fmt(
                line,
                format_args!("unicast-src {src}: IPv6 adverts come from a link-local address"),
            );
        }
    }
    if let (Some((true, line)), Some(_)) = (block.vmac, block.unicast_peers.first()) {
        errors.fmt(
            line,
            format_args!("vmac needs multicast adverts: remove the unicast-peer lines or vmac"),
        );
    }
}
