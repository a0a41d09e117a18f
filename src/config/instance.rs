//! The `instance` blocks: their keys, the checks that need a whole block
//! before it becomes an [`InstanceConfig`], and those across instances.

use core::net::IpAddr;

use crate::proto::fsm::PRIORITY_OWNER;
use crate::proto::wire::{Checksum, Family, Version, MAX_ADDRESSES, V2_AUTH_DATA_LEN};

use super::block::{of_kind, Block, Kind};
use super::script::Scripts;
use super::settings::{Settings, Syntax, Value, SWITCH};
use super::track::{check_owner, state_scripts, trackers};
use super::values::check_advert;
use super::{is_link_local, vmac_name, Errors, InstanceConfig, Vip};

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

/// The keys of an instance besides the shared ones.
pub(super) const KEYS: &[(&str, Syntax)] = &[
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
    ("version", Syntax::Choice(&["2"], &["3"])),
    ("vip", Syntax::Vip),
    ("preempt", SWITCH),
    ("vmac", SWITCH),
    ("notify", Syntax::Text),
    (
        "v3-checksum",
        Syntax::Choice(&["pseudo-header"], &["as-v2"]),
    ),
    ("auth-pass", Syntax::Secret(V2_AUTH_DATA_LEN)),
    ("unicast-peer", Syntax::Peer),
    ("unicast-src", Syntax::Unicast),
    ("garp-repeat", Syntax::Number(1, 255)),
    ("garp-delay", DELAY),
    ("preempt-delay", DELAY),
    ("notify-master-rx-lower-pri", Syntax::Command),
];

/// An instance's lists as read, and the line of each item.
struct Lists {
    vips: Vec<Vip>,
    vip_lines: Vec<usize>,
    peers: Vec<IpAddr>,
    peer_lines: Vec<usize>,
}

impl Lists {
    fn of(settings: &Settings) -> Lists {
        let mut lists = Lists {
            vips: Vec::new(),
            vip_lines: Vec::new(),
            peers: Vec::new(),
            peer_lines: Vec::new(),
        };
        for &(key, ref value, line) in settings.iter() {
            match value {
                Value::Vip(vip) => {
                    lists.vips.push(*vip);
                    lists.vip_lines.push(line);
                }
                Value::Address(peer) if key == "unicast-peer" => {
                    lists.peers.push(*peer);
                    lists.peer_lines.push(line);
                }
                _ => {}
            }
        }
        lists
    }
}

/// Validates the instance blocks among `blocks`, with the checks across
/// instances.
pub(super) fn finish_instances(
    blocks: &[Block],
    scripts: &Scripts,
    errors: &mut Errors<'_>,
) -> Vec<InstanceConfig> {
    let mut instances: Vec<InstanceConfig> = Vec::new();
    for block in of_kind(blocks, Kind::Instance) {
        let Some(instance) = finish(block, scripts, errors) else {
            continue;
        };
        let family = instance.family();
        if let Some(other) = instances.iter().find(|i| i.name == instance.name) {
            errors.defined_twice("instance", &instance.name, instance.line, other.line);
        } else if let Some(other) = instances.iter().find(|i| {
            i.interface == instance.interface && i.vrid == instance.vrid && i.family() == family
        }) {
            // RFC 5798 §7.3: IPv4 and IPv6 virtual routers with one VRID
            // are distinct (their virtual MACs differ); one family may
            // use a VRID once per interface.
            errors.fmt(
                instance.line,
                format_args!(
                    "vrid {} on {} ({}) is already used by instance '{}' at line {}",
                    instance.vrid,
                    instance.interface,
                    family.name(),
                    other.name,
                    other.line
                ),
            );
        } else if let Some(other) = instances
            .iter()
            .find(|i| instance.vmac && i.vmac && i.vrid == instance.vrid && i.family() == family)
        {
            errors.fmt(
                instance.line,
                format_args!(
                    "vmac {} is already used by instance '{}' at line {}",
                    vmac_name(family, instance.vrid),
                    other.name,
                    other.line
                ),
            );
        } else {
            instances.push(instance);
        }
    }
    instances
}

/// The instance, its `track-script`s resolved against `scripts`; None
/// after errors.
fn finish(block: &Block, scripts: &Scripts, errors: &mut Errors<'_>) -> Option<InstanceConfig> {
    let before = errors.list.len();
    let Block {
        name,
        line,
        settings,
        had_errors,
        ..
    } = block;
    let line = *line;
    let priority = settings.number_or("priority", DEFAULT_PRIORITY.into()) as u8;
    let trackers = trackers(settings, scripts, errors);
    if priority == PRIORITY_OWNER {
        let whose = format_args!("on instance '{name}' (priority 255)");
        check_owner(&trackers, whose, errors);
    }
    if *had_errors {
        return None;
    }
    let version = match settings.choice("version") {
        Some(("2", _)) => Version::V2,
        _ => Version::V3,
    };
    let lists = Lists::of(settings);
    check_families(settings, &lists, version, errors);
    let Some((interface, interface_line)) = settings.text("interface") else {
        errors.fmt(line, format_args!("instance '{name}' has no interface"));
        return None;
    };
    let Some((vrid, _)) = settings.number("vrid") else {
        errors.fmt(line, format_args!("instance '{name}' has no vrid"));
        return None;
    };
    if lists.vips.is_empty() {
        errors.fmt(line, format_args!("instance '{name}' has no vip"));
    }
    if lists.vips.len() > MAX_ADDRESSES {
        errors.fmt(
            line,
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
        if lists.peers.is_empty() {
            errors.fmt(
                line,
                format_args!("unicast-src needs at least one unicast-peer"),
            );
        }
        if let Some(index) = lists.peers.iter().position(|p| *p == src) {
            errors.fmt(
                lists.peer_lines[index],
                format_args!("unicast-peer {src} is our own unicast-src"),
            );
        }
    }
    if errors.list.len() != before {
        return None;
    }
    Some(InstanceConfig {
        name: name.to_string(),
        line,
        interface,
        interface_line,
        vrid: vrid as u8,
        priority,
        advert_cs,
        version,
        vips: lists.vips,
        preempt: settings.switch("preempt").is_none_or(|(on, _)| on),
        notify: settings.text("notify").map(|(script, _)| script),
        checksum,
        auth_pass: auth_pass.map(|(secret, _)| secret),
        unicast_peers: lists.peers,
        unicast_src,
        garp_repeat: settings.number_or("garp-repeat", DEFAULT_GARP_REPEAT.into()) as u8,
        garp_delay_ms: settings.number_or("garp-delay", DEFAULT_GARP_DELAY_MS.into()) as u32,
        vmac: settings.switch("vmac").is_some_and(|(on, _)| on),
        preempt_delay_ms: settings.number_or("preempt-delay", 0) as u32,
        notify_states: state_scripts(settings),
        notify_lower_priority: settings.command("notify-master-rx-lower-pri"),
        trackers,
    })
}

/// One family per instance (RFC 5798 §5.2.9: the address list is of one
/// family), IPv6 only with version 3 (RFC 3768 is IPv4 only), the first
/// IPv6 address link-local (RFC 5798 §5.2.9), peers of the same family,
/// and a virtual MAC only with multicast.
fn check_families(settings: &Settings, lists: &Lists, version: Version, errors: &mut Errors<'_>) {
    let (Some(&first), Some(&first_line)) = (lists.vips.first(), lists.vip_lines.first()) else {
        return;
    };
    let family = Family::of(first.address);
    for (vip, &line) in lists.vips.iter().zip(&lists.vip_lines) {
        if Family::of(vip.address) != family {
            errors.fmt(
                line,
                format_args!(
                    "vip {vip}: an instance holds one family; write one per family (they may share the vrid)"
                ),
            );
        }
    }
    if family == Family::Ipv6 {
        if let (Version::V2, Some((_, line))) = (version, settings.choice("version")) {
            errors.fmt(
                line,
                format_args!("IPv6 needs version 3 (VRRPv2, RFC 3768, is IPv4 only)"),
            );
        }
        if !is_link_local(first.address) {
            errors.fmt(
                first_line,
                format_args!(
                    "the first IPv6 vip must be link-local (RFC 5798 §5.2.9), e.g. 'vip fe80::1/64' before 'vip {first}'"
                ),
            );
        }
    }
    for (&peer, &line) in lists.peers.iter().zip(&lists.peer_lines) {
        if Family::of(peer) != family {
            errors.fmt(line, format_args!("{peer}: not the family of the vips"));
        }
    }
    if let Some((src, line)) = settings.address("unicast-src") {
        if Family::of(src) != family {
            errors.fmt(line, format_args!("{src}: not the family of the vips"));
        } else if family == Family::Ipv6 && !is_link_local(src) {
            // RFC 5798 §5.1.2.1: IPv6 adverts come from a link-local address.
            errors.fmt(
                line,
                format_args!("unicast-src {src}: IPv6 adverts come from a link-local address"),
            );
        }
    }
    if let (Some((true, line)), Some(_)) = (settings.switch("vmac"), lists.peers.first()) {
        errors.fmt(
            line,
            format_args!("vmac needs multicast adverts: remove the unicast-peer lines or vmac"),
        );
    }
}
