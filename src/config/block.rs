//! One `instance` block: its keys as they are read, each with its line,
//! and the checks that need the whole block before it becomes an
//! [`InstanceConfig`].

use core::net::IpAddr;

use crate::proto::fsm::PRIORITY_OWNER;
use crate::proto::wire::{Checksum, Family, Version, MAX_ADDRESSES, V2_AUTH_DATA_LEN};

use super::script::Scripts;
use super::settings::{Settings, Syntax};
use super::track::{check_owner, state_scripts, Tracked, STATE_KEYS};
use super::values::{check_advert, parse_unicast, parse_vip};
use super::{is_link_local, Directive, Errors, InstanceConfig, Vip};

const DEFAULT_PRIORITY: u8 = 100;
const DEFAULT_ADVERT_CS: u16 = 100;
/// keepalived's `vrrp_garp_master_repeat`: gratuitous ARPs per VIP at once.
const DEFAULT_GARP_REPEAT: u8 = 5;
/// keepalived's `vrrp_garp_master_delay`: the second round, after 5 s.
const DEFAULT_GARP_DELAY_MS: u32 = 5000;
/// Longer `garp-delay` and `preempt-delay` values would only confuse (an
/// hour).
const DELAY: Syntax = Syntax::Duration {
    min: 0,
    max: 3_600_000,
    range: "0s..3600s",
};

/// The single-valued keys of an instance besides [`STATE_KEYS`].
const KEYS: &[(&str, Syntax)] = &[
    ("interface", Syntax::Interface),
    ("vrid", Syntax::Number(1, 255)),
    ("priority", Syntax::Number(1, 255)),
    // Checked against the version once the block is read.
    (
        "advert",
        Syntax::Duration {
            min: 0,
            max: u32::MAX,
            range: "",
        },
    ),
    ("version", Syntax::Either("2", "3")),
    ("preempt", Syntax::Switch),
    ("vmac", Syntax::Switch),
    ("notify", Syntax::Text),
    ("v3-checksum", Syntax::Either("pseudo-header", "as-v2")),
    ("auth-pass", Syntax::Secret(V2_AUTH_DATA_LEN)),
    ("unicast-src", Syntax::Unicast),
    ("garp-repeat", Syntax::Number(1, 255)),
    ("garp-delay", DELAY),
    ("preempt-delay", DELAY),
];

/// An instance block while its directives are read.
pub(super) struct Block {
    pub(super) name: String,
    line: usize,
    settings: Settings,
    vips: Vec<(Vip, usize)>,
    unicast_peers: Vec<(IpAddr, usize)>,
    tracked: Tracked,
    /// A line of this block (or its header) was rejected: a key it names
    /// may look missing, so "has no ..." would only repeat that error.
    had_errors: bool,
}

impl Block {
    pub(super) fn new(name: String, line: usize, had_errors: bool) -> Block {
        Block {
            name,
            line,
            settings: Settings::default(),
            vips: Vec::new(),
            unicast_peers: Vec::new(),
            tracked: Tracked::default(),
            had_errors,
        }
    }

    pub(super) fn apply(&mut self, directive: &Directive, errors: &mut Errors<'_>) {
        if let Err(message) = self.apply_value(directive) {
            errors.at(directive.line, message);
            self.had_errors = true;
        }
    }

    fn apply_value(&mut self, directive: &Directive) -> Result<(), String> {
        let settings = &mut self.settings;
        let known = self.tracked.apply(directive).or_else(|| {
            let name = &self.name;
            settings
                .apply(STATE_KEYS, directive, "instance", name)
                .or_else(|| settings.apply(KEYS, directive, "instance", name))
        });
        if let Some(result) = known {
            return result;
        }
        let line = directive.line;
        let key = directive.key.as_str();
        let value = directive.value()?;
        let added = match key {
            "vip" => {
                let vip = parse_vip(value)?;
                add(&mut self.vips, vip, line, |v| v.address == vip.address)
            }
            "unicast-peer" => {
                let peer = parse_unicast(value)?;
                add(&mut self.unicast_peers, peer, line, |p| *p == peer)
            }
            _ => return Err(format!("unknown key '{key}'")),
        };
        if added {
            Ok(())
        } else {
            Err(format!("{key} {value} listed twice"))
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
        let priority = self
            .settings
            .number("priority")
            .map_or(DEFAULT_PRIORITY, |(p, _)| p as u8);
        let trackers = core::mem::take(&mut self.tracked).finish(scripts, errors);
        if priority == PRIORITY_OWNER {
            let whose = format!("on instance '{}' (priority 255)", self.name);
            check_owner(&trackers, &whose, errors);
        }
        if self.had_errors {
            return None;
        }
        let version = match self.settings.choice("version") {
            Some(("2", _)) => Version::V2,
            _ => Version::V3,
        };
        check_families(&self, version, errors);
        let settings = &mut self.settings;
        let Some((interface, interface_line)) = settings.text("interface") else {
            errors.fmt(
                self.line,
                format_args!("instance '{}' has no interface", self.name),
            );
            return None;
        };
        let Some((vrid, _)) = settings.number("vrid") else {
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
        let advert_cs = match settings.number("advert") {
            None => DEFAULT_ADVERT_CS,
            Some((ms, line)) => match check_advert(version, ms as u32) {
                Ok(cs) => cs,
                Err(message) => {
                    errors.at(line, message);
                    DEFAULT_ADVERT_CS
                }
            },
        };
        let checksum = match (version, settings.choice("v3-checksum")) {
            (_, None) => Checksum::standard(version),
            (Version::V3, Some(("as-v2", _))) => Checksum::MessageOnly,
            (Version::V3, Some(_)) => Checksum::PseudoHeader,
            (Version::V2, Some((_, line))) => {
                errors.fmt(line, format_args!("v3-checksum applies to version 3 only"));
                Checksum::standard(version)
            }
        };
        let auth_pass = settings.text("auth-pass");
        // RFC 5798 removed authentication (§9); only v2 carries a password.
        if let (Version::V3, Some((_, line))) = (version, &auth_pass) {
            errors.fmt(
                *line,
                format_args!("auth-pass needs version 2 (VRRPv3 has no authentication)"),
            );
        }
        let unicast_src = settings.address("unicast-src");
        if let Some((src, line)) = unicast_src {
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
            vrid: vrid as u8,
            priority,
            advert_cs,
            version,
            vips: self.vips.into_iter().map(|(vip, _)| vip).collect(),
            preempt: settings.switch("preempt").is_none_or(|(on, _)| on),
            notify: settings.text("notify").map(|(script, _)| script),
            checksum,
            auth_pass: auth_pass.map(|(secret, _)| secret),
            unicast_peers: self.unicast_peers.into_iter().map(|(p, _)| p).collect(),
            unicast_src,
            garp_repeat: settings
                .number("garp-repeat")
                .map_or(DEFAULT_GARP_REPEAT, |(n, _)| n as u8),
            garp_delay_ms: settings
                .number("garp-delay")
                .map_or(DEFAULT_GARP_DELAY_MS, |(ms, _)| ms as u32),
            vmac: settings.switch("vmac").is_some_and(|(on, _)| on),
            preempt_delay_ms: settings
                .number("preempt-delay")
                .map_or(0, |(ms, _)| ms as u32),
            notify_states: state_scripts(settings),
            trackers,
        })
    }
}

/// Adds an item of a list key unless `same` finds it there already.
fn add<T>(list: &mut Vec<(T, usize)>, item: T, line: usize, same: impl Fn(&T) -> bool) -> bool {
    if list.iter().any(|(given, _)| same(given)) {
        return false;
    }
    list.push((item, line));
    true
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
    let settings = &block.settings;
    if family == Family::Ipv6 {
        if let (Version::V2, Some((_, line))) = (version, settings.choice("version")) {
            errors.fmt(
                line,
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
    let unicast_src = settings.address("unicast-src");
    let wrong_family = block
        .unicast_peers
        .iter()
        .chain(unicast_src.iter())
        .filter(|(address, _)| Family::of(*address) != family);
    for (address, line) in wrong_family {
        errors.fmt(*line, format_args!("{address}: not the family of the vips"));
    }
    // RFC 5798 §5.1.2.1: IPv6 adverts come from a link-local address.
    if let Some((src, line)) = unicast_src {
        if family == Family::Ipv6 && Family::of(src) == family && !is_link_local(src) {
            errors.fmt(
                line,
                format_args!("unicast-src {src}: IPv6 adverts come from a link-local address"),
            );
        }
    }
    if let (Some((true, line)), Some(_)) = (settings.switch("vmac"), block.unicast_peers.first()) {
        errors.fmt(
            line,
            format_args!("vmac needs multicast adverts: remove the unicast-peer lines or vmac"),
        );
    }
}
