//! Resolution, at start and on every reload: each instance's interface
//! looked up, its primary address chosen and the addresses it owns found,
//! before any link is attached.

use core::net::IpAddr;

use super::StartError;
use crate::config::{is_link_local, ConfigError, InstanceConfig};
use crate::proto::fsm::PRIORITY_OWNER;
use crate::proto::wire::Family;
use crate::sys::netlink::{self, AddressEntry, Netlink};

/// An instance whose interface exists, with what start needs to know.
pub(super) struct Resolved {
    pub(super) config: InstanceConfig,
    pub(super) link: netlink::Link,
    /// None: an IPv6 interface whose link-local address is not usable yet;
    /// the instance waits in Fault for it.
    pub(super) primary: Option<IpAddr>,
    pub(super) addresses: Vec<AddressEntry>,
    /// The VIPs that are the interface's own addresses, for an address
    /// owner (RFC 5798 §5.2.4): never added, never removed.
    pub(super) owned: Vec<IpAddr>,
}

/// Looks up every instance's interface and primary address. Errors carry the
/// line of the `interface` directive.
pub(super) fn resolve(
    netlink: &mut Netlink,
    file: &str,
    instances: Vec<InstanceConfig>,
) -> Result<Vec<Resolved>, StartError> {
    let mut errors = Vec::new();
    let mut resolved = Vec::new();
    for instance in instances {
        let error = |message: String| ConfigError {
            file: file.to_string(),
            line: instance.interface_line,
            message,
        };
        let Some(link) = netlink.link(&instance.interface)? else {
            errors.push(error(format!(
                "interface '{}' does not exist",
                instance.interface
            )));
            continue;
        };
        let addresses = netlink.addresses(link.index)?;
        if let Some((src, line)) = instance.unicast_src {
            if !addresses.iter().any(|a| a.address == src) {
                errors.push(ConfigError {
                    file: file.to_string(),
                    line,
                    message: format!(
                        "unicast-src {src} is not an address of interface '{}'",
                        instance.interface
                    ),
                });
                continue;
            }
        }
        let owned = owned_addresses(&addresses, &instance);
        if instance.vmac && !owned.is_empty() {
            // Its own addresses stay on the interface and answer with its
            // MAC; announcing them at the virtual MAC would split clients.
            errors.push(error(
                "vmac: an address owner's addresses are the interface's own; use vmac off".into(),
            ));
            continue;
        }
        if let Some(message) = owner_problem(&addresses, &instance) {
            errors.push(error(message));
            continue;
        }
        let primary = advert_source(&addresses, &instance);
        if primary.is_none() && instance.family() == Family::Ipv4 {
            errors.push(error(format!(
                "interface '{}' has no IPv4 address",
                instance.interface
            )));
            continue;
        }
        resolved.push(Resolved {
            config: instance,
            link,
            primary,
            addresses,
            owned,
        });
    }
    if errors.is_empty() {
        Ok(resolved)
    } else {
        Err(StartError::Config(errors))
    }
}

/// The address a link's socket sends from: the interface's primary
/// address, or for IPv6 the `unicast-src` when there is one, since an IPv6
/// socket sends from the address it is bound to.
pub(super) fn advert_source(
    addresses: &[AddressEntry],
    instance: &InstanceConfig,
) -> Option<IpAddr> {
    match (instance.family(), instance.unicast_src) {
        (Family::Ipv6, Some((src, _))) => Some(src),
        _ => primary_address(addresses, instance),
    }
}

/// The source address for adverts. IPv4 (RFC 5798 §5.1.1.1: "the primary
/// IPv4 address of the interface"): the first primary address that is not
/// one of our VIPs, or, for an address owner, the owned address itself.
/// IPv6 (RFC 5798 §5.1.2.1: "the IPv6 link-local address of the
/// interface"): the first link-local address past DAD that is not a VIP.
fn primary_address(addresses: &[AddressEntry], instance: &InstanceConfig) -> Option<IpAddr> {
    let family = instance.family();
    // In one loop, not a chain of `find`s (smaller on mips): the first
    // usable address that is primary and no VIP, else the first that is
    // no VIP, else the first.
    let (mut first, mut not_vip) = (None, None);
    for a in of_family(addresses, family) {
        if a.tentative {
            continue;
        }
        first = first.or(Some(a.address));
        if instance.vips.iter().any(|v| v.address == a.address) {
            continue;
        }
        if !a.secondary {
            return Some(a.address);
        }
        not_vip = not_vip.or(Some(a.address));
    }
    not_vip.or(first)
}

/// The addresses of `family` an instance could send from: for IPv6 the
/// link-local ones (RFC 5798 §5.1.2.1).
fn of_family(addresses: &[AddressEntry], family: Family) -> Vec<&AddressEntry> {
    let mut found = Vec::new();
    for a in addresses {
        if Family::of(a.address) == family && (family == Family::Ipv4 || is_link_local(a.address)) {
            found.push(a);
        }
    }
    found
}

/// RFC 5798 §5.2.4: priority 255 is the router that owns the addresses, as
/// addresses of its own interface. Those it finds there at start are its
/// own; tinyvrrp never removes them.
fn owned_addresses(addresses: &[AddressEntry], instance: &InstanceConfig) -> Vec<IpAddr> {
    if instance.priority != PRIORITY_OWNER {
        return Vec::new();
    }
    let mut owned = Vec::new();
    for vip in &instance.vips {
        if addresses.iter().any(|a| a.address == vip.address) {
            owned.push(vip.address);
        }
    }
    owned
}

/// What keeps an instance from running on this interface as configured:
/// a non-owner whose VIP is the interface's only address of its family
/// would remove that address as a backup (RFC 5798 §6.4.2), leaving the
/// interface without one.
fn owner_problem(addresses: &[AddressEntry], instance: &InstanceConfig) -> Option<String> {
    if instance.priority == PRIORITY_OWNER {
        return None;
    }
    let only = match of_family(addresses, instance.family()).as_slice() {
        [only] => only.address,
        _ => return None,
    };
    let vip = instance.vips.iter().find(|v| v.address == only)?;
    Some(format!(
        "vip {vip} is the interface's only address of its family: a backup would remove it; give the interface an address of its own, or make this router the address owner (priority 255)"
    ))
}
