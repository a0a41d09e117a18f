//! The interfaces in use, each attached once per address family however
//! many instances run on it: its socket, its state and its receive
//! counters. A link keeps its [`LinkId`] for as long as it is in use,
//! through a re-attach to an interface created again, so instances and the
//! poll set can name it.

use core::net::IpAddr;
use core::ops::{Index, IndexMut};
use core::time::Duration;
use std::io;

use super::effects::VipPlacement;
use super::resolve::{advert_source, Resolved};
use super::vmac::create_vmac;
use super::{increment, Daemon};
use crate::proto::time::{Instant, Throttle};
use crate::proto::wire::{self, Family, Received, RxError};
use crate::sys::netlink::{LinkChange, LinkEvents};
use crate::sys::{self, VrrpSocket};

/// An interface created again without its address yet (IPv4, or an IPv6
/// link-local still in DAD) is looked at again after this long.
const REATTACH_RETRY: Duration = Duration::from_secs(1);

/// Names a link in use. Never reused: a link dropped by a reload and
/// attached again gets a new one.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct LinkId(u32);

/// One interface and family with at least one instance on it.
pub(super) struct Link {
    pub(super) name: String,
    pub(super) family: Family,
    pub(super) index: u32,
    pub(super) mac: [u8; 6],
    /// The advert source: the primary IPv4 address, or the IPv6 link-local
    /// address (RFC 5798 §5.1.1.1, §5.1.2.1); unspecified while waiting.
    pub(super) primary: IpAddr,
    /// Up and with carrier; while not, its instances are in Fault.
    pub(super) up: bool,
    /// Created again, or without a usable address yet, and waiting until we
    /// can bind to it (said once).
    pub(super) reattach_waiting: bool,
    /// None while waiting for an address to bind to.
    pub(super) socket: Option<VrrpSocket>,
    pub(super) rx: RxCounters,
    /// The drop log of each [`RxError`], at most once a [`DROP_LOG_PERIOD`].
    pub(super) drop_logs: [Throttle; RxError::ALL.len()],
}

/// Bad packets are logged at most this often per cause, with a count: a
/// flood of them must not flood the log.
pub(super) const DROP_LOG_PERIOD: Duration = Duration::from_secs(60);

/// What a link received and dropped before any instance saw it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RxCounters {
    /// Adverts for a VRID no instance on the link has.
    pub unknown_vrid: u64,
    /// Packets that failed a check of RFC 5798 §7.1 (RFC 3768 §7.1 for v2)
    /// the bytes alone show, by [`RxError::index`].
    pub errors: [u64; RxError::ALL.len()],
}

/// The links in use, in the order they were attached.
#[derive(Default)]
pub(super) struct Links {
    next: u32,
    entries: Vec<(LinkId, Link)>,
}

impl Links {
    // Not inlined: links are looked up by id in some twenty places, each
    // of which had its own copy of the search.
    #[inline(never)]
    fn get(&self, id: LinkId) -> Option<&Link> {
        self.entries.iter().find(|(i, _)| *i == id).map(|(_, l)| l)
    }

    #[inline(never)]
    fn get_mut(&mut self, id: LinkId) -> Option<&mut Link> {
        self.entries
            .iter_mut()
            .find(|(i, _)| *i == id)
            .map(|(_, l)| l)
    }

    pub(super) fn ids(&self) -> impl Iterator<Item = LinkId> + '_ {
        self.entries.iter().map(|(id, _)| *id)
    }

    pub(super) fn iter(&self) -> impl Iterator<Item = &Link> {
        self.entries.iter().map(|(_, l)| l)
    }

    /// How many links are in use.
    fn count(&self) -> usize {
        self.entries.len()
    }

    /// The id of the link at `position` in attach order: for loops that
    /// change the daemon as they go, without collecting the ids first.
    fn id_at(&self, position: usize) -> LinkId {
        self.entries[position].0
    }

    fn insert(&mut self, link: Link) -> LinkId {
        let id = LinkId(self.next);
        self.next += 1;
        self.entries.push((id, link));
        id
    }

    /// Drops the links for which `keep` is false, closing their sockets.
    pub(super) fn retain(&mut self, mut keep: impl FnMut(LinkId) -> bool) {
        self.entries.retain(|(id, _)| keep(*id));
    }
}

/// Instances hold the id of a link in use; a link is only dropped once no
/// instance holds its id, so a lookup by id cannot miss.
impl Index<LinkId> for Links {
    type Output = Link;

    fn index(&self, id: LinkId) -> &Link {
        self.get(id).expect("a link in use")
    }
}

impl IndexMut<LinkId> for Links {
    fn index_mut(&mut self, id: LinkId) -> &mut Link {
        self.get_mut(id).expect("a link in use")
    }
}

impl Daemon {
    /// The link for a resolved interface and family: the one already bound
    /// to it, or a new one with its own socket. Without a usable address
    /// yet (an IPv6 link-local in DAD), the link waits, down, and is looked
    /// at again like an interface created again.
    pub(super) fn attach(&mut self, resolved: &Resolved, now: Instant) -> io::Result<LinkId> {
        let family = resolved.config.family();
        let index = resolved.link.index;
        if let Some(id) = self.links.ids().find(|&id| {
            let link = &self.links[id];
            link.index == index && link.family == family
        }) {
            return Ok(id);
        }
        let name = &resolved.config.interface;
        let socket = match resolved.primary {
            Some(primary) => Some(VrrpSocket::open(name, resolved.link.index, primary)?),
            None => {
                log_at!(
                    Warn,
                    "{name}: no {} link-local address yet; waiting",
                    family.name()
                );
                self.reattach_at = Some(now + REATTACH_RETRY);
                None
            }
        };
        Ok(self.links.insert(Link {
            name: name.clone(),
            family,
            index: resolved.link.index,
            mac: resolved.link.mac,
            primary: resolved.primary.unwrap_or(match family {
                Family::Ipv4 => IpAddr::V4(core::net::Ipv4Addr::UNSPECIFIED),
                Family::Ipv6 => IpAddr::V6(core::net::Ipv6Addr::UNSPECIFIED),
            }),
            up: resolved.link.up && socket.is_some(),
            reattach_waiting: socket.is_none(),
            socket,
            rx: RxCounters::default(),
            drop_logs: Default::default(),
        }))
    }

    /// Closes sockets of interfaces no instance uses any more.
    pub(super) fn drop_unused_links(&mut self) {
        let instances = &self.instances;
        self.links
            .retain(|id| instances.iter().any(|instance| instance.link == id));
    }

    /// Reads every queued datagram of a link, [`sys::Datagrams`] at a
    /// time: each that passes the checks of RFC 5798 §7.1 goes to the
    /// instance of its VRID, each that does not is counted on the link.
    pub(super) fn receive(&mut self, id: LinkId) {
        // Taken out while its adverts go to their instances.
        let mut datagrams = core::mem::take(&mut self.datagrams);
        // A reload may have dropped the link after the poll.
        while let Some(socket) = self.links.get(id).and_then(|link| link.socket.as_ref()) {
            let count = match socket.recv(&mut datagrams) {
                Ok(count) => count,
                Err(e) => {
                    log_at!(Warn, "{}: receive failed: {e}", self.links[id].name);
                    break;
                }
            };
            let now = sys::now();
            for index in 0..count {
                let Some(socket) = self.links.get(id).and_then(|link| link.socket.as_ref()) else {
                    break;
                };
                let (datagram, arrival) = socket.datagram(&datagrams, index);
                // Timers restarted by this advert count from its arrival.
                let now = arrival.unwrap_or(now);
                let received = datagram.and_then(|datagram| wire::parse(&datagram));
                self.handle_datagram(id, now, received);
            }
            // Fewer than asked for: the queue is empty.
            if count < sys::ffi::BATCH {
                break;
            }
        }
        self.datagrams = datagrams;
    }

    fn handle_datagram(&mut self, id: LinkId, now: Instant, received: Result<Received, RxError>) {
        let link = &mut self.links[id];
        let received = match received {
            Ok(received) => received,
            Err(reason) => {
                increment(&mut link.rx.errors[reason.index()]);
                let log = &mut link.drop_logs[reason.index()];
                if let Some(count) = log.hit(now, DROP_LOG_PERIOD) {
                    log_at!(
                        Warn,
                        "{}: dropped {count} packet(s) failing the {} check (logged at most once a minute)",
                        link.name,
                        reason.name()
                    );
                }
                return;
            }
        };
        if received.src == link.primary {
            return;
        }
        let Some(slot) = self
            .instances
            .iter()
            .position(|i| i.link == id && i.config.vrid == received.advert.vrid)
        else {
            increment(&mut link.rx.unknown_vrid);
            return;
        };
        self.handle_advert(slot, now, &received);
    }

    /// Link changes from the kernel: instances on a link that went down
    /// enter Fault; when it comes back they start again.
    pub(super) fn handle_link_changes(&mut self) {
        let now = sys::now();
        let (changes, tracked_changed) = match self.link_watch.read() {
            Ok(LinkEvents::Changes(changes)) => {
                let mut tracked_changed = false;
                for change in &changes {
                    tracked_changed |= self.tracking.link_changed(change);
                }
                (changes, tracked_changed)
            }
            Ok(LinkEvents::Lost) => {
                log_at!(
                    Warn,
                    "link changes were lost; looking every interface up again"
                );
                let tracked_changed = self.tracking.look_up_interfaces(&mut self.netlink);
                (self.look_up_links(now), tracked_changed)
            }
            Err(e) => {
                log_at!(Warn, "cannot read link changes: {e}");
                return;
            }
        };
        for change in &changes {
            self.set_link_state(change, now);
        }
        if tracked_changed {
            self.refresh(now);
        }
    }

    /// The current state of every link in use. A link that was deleted, or
    /// replaced by a new one of the same name, counts as down until
    /// `reattach` binds to its successor.
    fn look_up_links(&mut self, now: Instant) -> Vec<LinkChange> {
        let mut changes = Vec::new();
        for link in self.links.iter() {
            let up = match self.netlink.link(&link.name) {
                Ok(Some(found)) if found.index == link.index => found.up,
                Ok(Some(_)) => {
                    self.reattach_at = Some(now);
                    false
                }
                Ok(None) => false,
                Err(e) => {
                    log_at!(Warn, "{}: cannot look the link up: {e}", link.name);
                    link.up
                }
            };
            changes.push(LinkChange {
                index: link.index,
                up,
                name: None,
            });
        }
        changes
    }

    fn set_link_state(&mut self, change: &LinkChange, now: Instant) {
        // The links (one per family) bound to the interface.
        let mut bound = false;
        for position in 0..self.links.count() {
            let id = self.links.id_at(position);
            let link = &self.links[id];
            if link.index != change.index {
                continue;
            }
            bound = true;
            // A link still waiting for its address comes up through
            // `reattach`, once it has a socket.
            if link.socket.is_some() {
                self.set_link_up(id, change.up, now);
            }
        }
        if bound {
            return;
        }
        // A new index under a name in use: the interface was deleted and
        // created again (netifd does so to br-lan on a network restart).
        if let Some(name) = &change.name {
            if self.links.iter().any(|l| &l.name == name) {
                self.reattach_at.get_or_insert(now);
            }
        }
    }

    /// Records whether a link in use is up; on a change its instances enter
    /// or leave Fault (unless another fault reason holds).
    fn set_link_up(&mut self, id: LinkId, up: bool, now: Instant) {
        let link = &mut self.links[id];
        if link.up == up {
            return;
        }
        link.up = up;
        if up {
            log_at!(Info, "{}: link up", link.name);
        } else {
            log_at!(Warn, "{}: link down", link.name);
        }
        self.refresh(now);
    }

    /// Binds to interfaces in use that were deleted and created again, or
    /// that had no usable address; their instances waited in Fault and keep
    /// going (keepalived re-attaches the same way). One still without an
    /// address (IPv4, or an IPv6 link-local past DAD) is tried again later.
    pub(super) fn reattach(&mut self, now: Instant) {
        for position in 0..self.links.count() {
            let id = self.links.id_at(position);
            match self.rebind(id, now) {
                Ok(Some(up)) => self.set_link_up(id, up, now),
                Ok(None) => {}
                Err(e) => {
                    let link = &mut self.links[id];
                    if !link.reattach_waiting {
                        log_at!(
                            Warn,
                            "{}: cannot attach to the new interface yet: {e}",
                            link.name
                        );
                    }
                    link.reattach_waiting = true;
                    self.reattach_at = Some(now + REATTACH_RETRY);
                }
            }
        }
        if self.reload_after_reattach && !self.links.iter().any(|l| l.reattach_waiting) {
            self.reload_after_reattach = false;
            log_at!(
                Info,
                "reload: the re-created interface is attached; reloading now"
            );
            // Errors are logged; the running config stays.
            let _ = self.reload();
        }
    }

    /// Moves a link to the interface that now has its name. Returns whether
    /// the new one is up, or None when nothing changed.
    fn rebind(&mut self, id: LinkId, now: Instant) -> io::Result<Option<bool>> {
        let name = &self.links[id].name;
        let Some(found) = self.netlink.link(name)? else {
            return Ok(None);
        };
        let Some(config) = self
            .instances
            .iter()
            .find(|i| i.link == id)
            .map(|i| &i.config)
        else {
            return Ok(None);
        };
        let link = &self.links[id];
        if found.index == link.index && link.socket.is_some() {
            return Ok(None);
        }
        let family = link.family;
        let addresses = self.netlink.addresses(found.index)?;
        // IPv4: no address yet; IPv6: no link-local address past DAD.
        let primary = advert_source(&addresses, config)
            .ok_or_else(|| io::Error::from(io::ErrorKind::AddrNotAvailable))?;
        let socket = VrrpSocket::open(name, found.index, primary)?;
        // A macvlan goes with the interface it sits on: the virtual MAC
        // interfaces of this link's instances are made again on the new
        // one, before anything is committed, so a failure leaves the link
        // waiting and the next attempt starts afresh.
        let mut vmacs = Vec::new();
        let (netlink, sysctls) = (&mut self.netlink, &mut self.sysctls);
        for (slot, instance) in self.instances.iter().enumerate() {
            if instance.link == id && instance.config.vmac {
                let vmac = create_vmac(netlink, sysctls, &instance.config, name, found.index)?;
                vmacs.push((slot, vmac));
            }
        }
        log_at!(
            Info,
            "{name}: attached to index {} ({} from {primary})",
            found.index,
            family.name()
        );
        // The old interface may live on under another name (renamed, or its
        // deletion not read yet): leave it as if it went down, VIPs and all.
        self.set_link_up(id, false, now);
        let link = &mut self.links[id];
        link.index = found.index;
        link.mac = found.mac;
        link.primary = primary;
        link.socket = Some(socket);
        link.reattach_waiting = false;
        for instance in self.instances.iter_mut().filter(|i| i.link == id) {
            instance.fsm.reconfigure(instance.params(primary));
        }
        for (slot, vmac) in vmacs {
            let instance = &mut self.instances[slot];
            instance.vmac = Some(vmac);
            instance.vips = VipPlacement::default();
        }
        Ok(Some(found.up))
    }
}
