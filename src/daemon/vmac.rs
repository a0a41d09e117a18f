//! The virtual MAC (RFC 5798 §7.3, `vmac on`): an instance's VIPs live on a
//! macvlan of its interface whose MAC is 00-00-5E-00-0{1,2}-{VRID}, so a
//! takeover changes no neighbour's cache and no switch's table more than
//! once. The macvlan is up only while the instance is master: a backup's
//! has no address, sends nothing and answers nothing, while the master's
//! virtual MAC is the same on every router.
//!
//! Sysctls set, and why (the macvlan's go with it; the parent's are put
//! back at exit):
//! - parent `ipv4/conf/PARENT/arp_ignore = 1`: answer ARP only for
//!   addresses on the interface the request came in on. Broadcasts reach
//!   the parent and its macvlans alike; without this the parent would also
//!   answer for a VIP on the macvlan, with its own MAC.
//! - parent `ipv4/conf/PARENT/arp_announce = 2`: the master's replies to
//!   clients leave through the parent (its subnet route comes first) with
//!   a VIP as source; the ARP requests the parent sends for them must not
//!   name the VIP as sender, or every client would learn the VIP at the
//!   parent's MAC. With 2 the sender is the parent's own address.
//! - macvlan `ipv4/conf/NAME/arp_ignore = 1`: likewise, the macvlan answers
//!   only for its VIPs, never for the parent's own addresses.
//! - macvlan `ipv4/conf/NAME/rp_filter = 0`: the VIP's subnet route via the
//!   parent comes first, so strict reverse-path filtering would drop every
//!   packet a client sends to the virtual MAC. (The kernel uses the larger
//!   of this and `conf/all/rp_filter`, which must not be 1 either.)
//! - IPv4 macvlan `ipv6/conf/NAME/disable_ipv6 = 1`, IPv6 macvlan
//!   `addr_gen_mode = 1` (none) and `accept_ra = 0`: no link-local or SLAAC
//!   address derived from the virtual MAC, which every router shares, so no
//!   duplicate addresses and no DAD failures between them.
//! - IPv6 macvlan `accept_dad = 0`: the VIPs move between routers on purpose
//!   (they are added with `IFA_F_NODAD` too).
//!
//! IPv6 needs nothing on the parent: the kernel answers a Neighbor
//! Solicitation only for addresses of the interface it arrived on.

use std::io;

use super::Daemon;
use crate::config::{vmac_name, InstanceConfig};
use crate::proto::wire::Family;
use crate::sys;
use crate::sys::netlink::Netlink;

/// The sysctls set on an IPv4 macvlan, as (family, key, value) under
/// `net/FAMILY/conf/NAME/KEY`; see the module notes for why.
const MACVLAN_IPV4_SYSCTLS: [(&str, &str, &str); 3] = [
    ("ipv4", "arp_ignore", "1"),
    ("ipv4", "rp_filter", "0"),
    ("ipv6", "disable_ipv6", "1"),
];
/// The sysctls set on an IPv6 macvlan.
const MACVLAN_IPV6_SYSCTLS: [(&str, &str, &str); 4] = [
    ("ipv6", "addr_gen_mode", "1"),
    ("ipv6", "accept_ra", "0"),
    ("ipv6", "accept_dad", "0"),
    // It holds no IPv4 address, but by default Linux answers ARP for any
    // of its addresses on any interface: beside an IPv4 macvlan on the
    // same parent it would answer for the IPv4 VIPs with the IPv6 virtual
    // MAC.
    ("ipv4", "arp_ignore", "1"),
];
/// The sysctls set on the parent of an IPv4 macvlan, put back at exit.
const PARENT_IPV4_SYSCTLS: [(&str, &str, &str); 2] =
    [("ipv4", "arp_ignore", "1"), ("ipv4", "arp_announce", "2")];

/// An instance's macvlan.
#[derive(Debug)]
pub(super) struct Vmac {
    pub(super) name: String,
    pub(super) index: u32,
    pub(super) mac: [u8; 6],
    /// Administratively up (only while master).
    pub(super) up: bool,
}

/// Sysctls of interfaces that outlive us, with the values they had.
#[derive(Debug, Default)]
pub(super) struct Sysctls {
    saved: Vec<(String, String)>,
}

impl Sysctls {
    /// Sets a sysctl that outlives us, remembering its first value.
    fn set(&mut self, path: &str, value: &str) -> io::Result<()> {
        let old = sys::read_sysctl(path)?;
        if old == value {
            return Ok(());
        }
        if !self.saved.iter().any(|(saved, _)| saved == path) {
            self.saved.push((path.to_string(), old));
        }
        sys::write_sysctl(path, value)
    }

    /// Puts every changed sysctl back.
    pub(super) fn restore(&mut self) {
        for (path, value) in &self.saved {
            if let Err(e) = sys::write_sysctl(path, value) {
                log_at!(Warn, "{path}: {e}");
            }
        }
        self.saved.clear();
    }
}

/// Creates an instance's macvlan on `parent`, down, after removing a
/// leftover of the same name (a crashed run's), and sets the sysctls it and
/// its parent need.
pub(super) fn create_vmac(
    netlink: &mut Netlink,
    sysctls: &mut Sysctls,
    config: &InstanceConfig,
    parent: &str,
    parent_index: u32,
) -> io::Result<Vmac> {
    let family = config.family();
    let name = vmac_name(family, config.vrid);
    if let Some(leftover) = netlink.link(&name)? {
        log_at!(Info, "{}: removing leftover {name}", config.name);
        netlink.delete_link(leftover.index)?;
    }
    let mac = family.virtual_mac(config.vrid);
    let index = netlink.create_macvlan(parent_index, &name, mac)?;
    let (own, parents) = match family {
        Family::Ipv4 => (&MACVLAN_IPV4_SYSCTLS[..], &PARENT_IPV4_SYSCTLS[..]),
        Family::Ipv6 => (&MACVLAN_IPV6_SYSCTLS[..], &[][..]),
    };
    // The macvlan's, then the parent's (which outlive us, so are saved):
    // one loop for both, for the image's size.
    for (interface, sysctls_of, saved) in [(&name[..], own, false), (parent, parents, true)] {
        for (dir, key, value) in sysctls_of {
            let path = format!("{dir}/conf/{interface}/{key}");
            let result = match saved {
                true => sysctls.set(&path, value),
                false => sys::write_sysctl(&path, value),
            };
            if let Err(e) = result {
                log_at!(Warn, "{path}: {e}");
            }
        }
    }
    log_at!(Info, "{}: virtual MAC on {name}", config.name);
    Ok(Vmac {
        name,
        index,
        mac,
        up: false,
    })
}

impl Daemon {
    /// Brings the instance's macvlan up or down, if it has one; a failure is
    /// logged and tried again at the next call.
    pub(super) fn set_vmac_up(&mut self, slot: usize, up: bool) {
        let instance = &mut self.instances[slot];
        let Some(vmac) = &mut instance.vmac else {
            return;
        };
        if vmac.up == up {
            return;
        }
        match self.netlink.set_link_up(vmac.index, up) {
            Ok(()) => vmac.up = up,
            Err(e) => log_at!(Warn, "{}: up={up}: {e}", vmac.name),
        }
    }

    /// Deletes the instance's macvlan, if it has one.
    pub(super) fn remove_vmac(&mut self, slot: usize) {
        let instance = &mut self.instances[slot];
        if let Some(vmac) = instance.vmac.take() {
            if let Err(e) = self.netlink.delete_link(vmac.index) {
                log_at!(
                    Warn,
                    "{}: could not delete {}: {e}",
                    instance.config.name,
                    vmac.name
                );
            }
        }
    }
}
