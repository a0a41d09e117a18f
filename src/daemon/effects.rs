//! The state machine's outputs turned into syscalls: adverts,
//! announcements (gratuitous ARP, unsolicited NA) and notify scripts. The
//! VIPs are not placed by actions but reconciled: an instance wants all of
//! them on its interface while it is Master and none otherwise, and after
//! every state-machine call the daemon brings what it has applied in line
//! with that.

use core::net::IpAddr;
use core::time::Duration;
use std::io;

use super::{increment, Daemon};
use crate::config::Vip;
use crate::proto::fsm::{Output, StateKind, PRIORITY_STOP};
use crate::proto::time::{is_due, Instant};
use crate::sys::{FrameSender, VrrpSocket};

/// A failed address change is tried again after this long.
const VIP_RETRY: Duration = Duration::from_secs(1);

/// One address change, as reconciliation asks for it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Change {
    Add,
    Remove,
}

/// The VIPs one instance has put on its interface, and what it last wanted
/// there.
#[derive(Debug, Default)]
pub(super) struct VipPlacement {
    /// Added by us and not removed since: all that we ever remove.
    applied: Vec<Vip>,
    /// The desired set the last changes were made for.
    target: Vec<Vip>,
    /// After a failed change, when to try again. The same desired set is
    /// not tried before then, so a master advertising every 10 ms does not
    /// ask the kernel a hundred times a second.
    retry_at: Option<Instant>,
}

impl VipPlacement {
    /// When a failed change is due to be tried again.
    pub(super) fn retry_at(&self) -> Option<Instant> {
        self.retry_at
    }

    /// Makes `desired` the set in place, through `apply`, which makes the
    /// changes of one kind to a list of VIPs and says per VIP whether it
    /// failed (`None`), made it (`Some(true)`) or found it made already
    /// (`Some(false)`): removes what was applied and is no longer desired,
    /// then adds what is missing. An address that was there already is
    /// someone else's (the system's, or another instance's): never recorded
    /// as applied, so never removed by this one. Does nothing when
    /// `desired` is what the last call wanted, unless a retry is due.
    /// Returns the VIPs it added.
    pub(super) fn reconcile(
        &mut self,
        now: Instant,
        desired: &[Vip],
        mut apply: impl FnMut(Change, &[Vip]) -> Vec<Option<bool>>,
    ) -> Vec<Vip> {
        let retry_due = is_due(self.retry_at, now);
        if !retry_due && desired == self.target {
            return Vec::new();
        }
        self.target.clear();
        self.target.extend_from_slice(desired);
        let mut failed = false;
        // Removals first: a VIP whose prefix a reload changed is the same
        // address removed and added again.
        let (mut applied, stale): (Vec<Vip>, Vec<Vip>) = self
            .applied
            .drain(..)
            .partition(|vip| self.target.contains(vip));
        if !stale.is_empty() {
            let results = apply(Change::Remove, &stale);
            for (position, &vip) in stale.iter().enumerate() {
                if results.get(position).copied().flatten().is_none() {
                    failed = true;
                    applied.push(vip);
                }
            }
        }
        let mut missing = Vec::new();
        for &vip in &self.target {
            if !applied.contains(&vip) {
                missing.push(vip);
            }
        }
        let mut added = Vec::new();
        if !missing.is_empty() {
            let results = apply(Change::Add, &missing);
            for (position, &vip) in missing.iter().enumerate() {
                match results.get(position).copied().flatten() {
                    Some(true) => {
                        applied.push(vip);
                        added.push(vip);
                    }
                    Some(false) => {}
                    None => failed = true,
                }
            }
        }
        self.applied = applied;
        self.retry_at = failed.then(|| now + VIP_RETRY);
        added
    }
}

impl Daemon {
    /// Carries out what one state-machine event asked for, in the order of
    /// RFC 5798 §6.4: the advert, then the VIPs placed to match the new
    /// state, then their announcements, then the notify scripts. A new
    /// master's virtual MAC interface comes up before its first advert; a
    /// former master's goes down once its VIPs are gone.
    pub(super) fn execute(&mut self, slot: usize, now: Instant, output: &Output) {
        let holds_vips = self.instances[slot].fsm.holds_vips();
        if holds_vips {
            self.set_vmac_up(slot, true);
        }
        // A periodic advert, with nothing else to do, may wait for the
        // batch `run_timers` sends; anything more goes out in order, after
        // the adverts queued before it.
        let periodic = output.transition.is_none() && !output.announce && !output.lower_priority;
        if !periodic {
            self.send_queued_adverts();
        }
        if let Some(priority) = output.advert {
            if !(periodic && self.queue_advert(slot, priority)) {
                self.send_advert(slot, priority);
            }
        }
        self.reconcile_vips(slot, now);
        if output.announce {
            self.announce(slot, None);
        }
        if !holds_vips {
            self.set_vmac_up(slot, false);
        }
        if output.lower_priority {
            increment(&mut self.instances[slot].counters.lower_priority_rx);
            if output.advert.is_some() {
                self.notify_lower_priority(slot, now);
            }
        }
        if let Some(transition) = output.transition {
            let instance = &mut self.instances[slot];
            instance.entered_at = now;
            if transition.to == StateKind::Master {
                increment(&mut instance.counters.master_transitions);
            }
            self.notify(slot, now, transition.to);
        }
    }

    /// Brings the instance's VIPs in line with its state: all of them while
    /// Master, none otherwise, on its interface or on its virtual MAC
    /// interface. Addresses it did not add are left alone: the interface's
    /// primary address, and an address owner's own addresses (RFC 5798
    /// §5.2.4), there before we start and after we stop. Returns the VIPs
    /// added.
    pub(super) fn reconcile_vips(&mut self, slot: usize, now: Instant) -> Vec<Vip> {
        let instance = &mut self.instances[slot];
        let link = &self.links[instance.link];
        let master = instance.fsm.holds_vips();
        let (index, device) = match &instance.vmac {
            Some(vmac) => (vmac.index, vmac.name.as_str()),
            None => (link.index, link.name.as_str()),
        };
        // Asked after every advert: a buffer kept for it, so that an
        // advert allocates nothing.
        let desired = &mut self.desired_vips;
        desired.clear();
        for &vip in &instance.config.vips {
            if master && vip.address != link.primary && !instance.owned.contains(&vip.address) {
                desired.push(vip);
            }
        }
        let netlink = &mut self.netlink;
        let name = &instance.config.name;
        instance.vips.reconcile(now, desired, |change, vips| {
            let mut made = vec![None; vips.len()];
            let address = |i: usize| (vips[i].address, vips[i].prefix);
            netlink.change_addresses(
                change == Change::Add,
                index,
                vips.len(),
                &address,
                &mut |i, result| match result {
                    Ok(done) => made[i] = Some(done),
                    Err(e) => log_at!(Error, "{name}: {} on {device}: {e}; retrying", vips[i]),
                },
            );
            made
        })
    }

    /// Sends one advert to the multicast group, or to each unicast peer.
    /// With a virtual MAC it leaves from the macvlan, so its Ethernet source
    /// is the virtual MAC (RFC 5798 §7.3).
    fn send_advert(&mut self, slot: usize, priority: u8) {
        let instance = &self.instances[slot];
        let link = &self.links[instance.link];
        // A link that is down takes nothing (a master entering Fault for
        // it would send priority 0).
        if !link.up {
            return;
        }
        let vmac = instance.vmac.as_ref().map(|vmac| vmac.index);
        let group = link.family.multicast_group();
        let peers = instance.fsm.params().unicast_peers.len();
        for peer in 0..peers.max(1) {
            let params = self.instances[slot].fsm.params();
            let dst = params.unicast_peers.get(peer).copied().unwrap_or(group);
            self.send_adverts(&[(slot, priority)], dst, vmac);
        }
    }

    /// Queues `slot`'s advert for [`Daemon::send_queued_adverts`] while
    /// `run_timers` runs, if it is an ordinary one: multicast, from the
    /// link's own socket. Says whether it did.
    fn queue_advert(&mut self, slot: usize, priority: u8) -> bool {
        let instance = &self.instances[slot];
        let link = &self.links[instance.link];
        let ordinary = instance.vmac.is_none()
            && instance.fsm.params().unicast_peers.is_empty()
            && link.up
            && link.socket.is_some();
        if self.queueing_adverts && ordinary {
            self.advert_queue.push((slot, priority));
        }
        self.queueing_adverts && ordinary
    }

    /// Sends the queued adverts, a batch for each run of instances on one
    /// link: a master of many instances whose adverts fall due together
    /// sends them in a few sendmmsg calls, not one each.
    pub(super) fn send_queued_adverts(&mut self) {
        let mut queue = core::mem::take(&mut self.advert_queue);
        let mut start = 0;
        while start < queue.len() {
            let link = self.instances[queue[start].0].link;
            let mut end = start + 1;
            while end < queue.len() && self.instances[queue[end].0].link == link {
                end += 1;
            }
            let group = self.links[link].family.multicast_group();
            self.send_adverts(&queue[start..end], group, None);
            start = end;
        }
        queue.clear();
        self.advert_queue = queue;
    }

    /// Sends the adverts of `adverts` (by slot, with their priority), whose
    /// instances share a link, to `dst`: from the link's socket, or from
    /// the virtual MAC interface `vmac`. Counts each as sent or not.
    fn send_adverts(&mut self, adverts: &[(usize, u8)], dst: IpAddr, vmac: Option<u32>) {
        let link = &self.links[self.instances[adverts[0].0].link];
        let packets = &mut self.packets;
        packets.clear();
        // From the virtual MAC, a frame to the multicast group; from the
        // link's socket, as that socket sends to `dst`.
        let (to, payload_only) = match (vmac, &link.socket) {
            (Some(_), _) => (Some(link.family.multicast_group()), false),
            (None, Some(VrrpSocket::V6 { .. })) => (Some(dst), true),
            (None, Some(VrrpSocket::V4(_))) => (Some(dst), false),
            (None, None) => (None, false),
        };
        for &(slot, priority) in adverts {
            let params = self.instances[slot].fsm.params();
            if let Some(to) = to {
                packets.push_advert(&params.advert(priority), params.primary, to, payload_only);
            }
        }
        let (sent, result) = match (vmac, &link.socket) {
            (Some(index), _) => self.frames.send_adverts(index, link.family, packets),
            (None, Some(socket)) => socket.send(packets, dst),
            (None, None) => (0, Err(io::Error::from(io::ErrorKind::NotConnected))),
        };
        for (position, &(slot, priority)) in adverts.iter().enumerate() {
            let counters = &mut self.instances[slot].counters;
            if position < sent {
                increment(&mut counters.adverts_tx);
                if priority == PRIORITY_STOP {
                    increment(&mut counters.priority_zero_tx);
                }
            } else {
                increment(&mut counters.send_errors);
            }
        }
        if let Err(e) = result {
            let name = match adverts {
                [(slot, _)] => &self.instances[*slot].config.name,
                _ => &link.name,
            };
            log_at!(
                Warn,
                "{name}: {} advert(s) to {dst} not sent: {e}",
                adverts.len() - sent
            );
        }
    }

    /// RFC 5798 §6.4.1: a gratuitous ARP (IPv4) or an unsolicited Neighbor
    /// Advertisement (IPv6) for each of `vips` (`None`: all of the
    /// instance's), from the virtual MAC when there is one.
    pub(super) fn announce(&mut self, slot: usize, vips: Option<&[Vip]>) {
        let instance = &self.instances[slot];
        let vips = vips.unwrap_or(&instance.config.vips);
        let link = &self.links[instance.link];
        let (index, mac) = match &instance.vmac {
            Some(vmac) => (vmac.index, vmac.mac),
            None => (link.index, link.mac),
        };
        // keepalived's `vrrp_garp_master_repeat`: several at once, since one
        // lost frame would leave a neighbour pointing at the old master.
        // Round by round, so that with many VIPs the last is announced once
        // as soon as possible, not after every repeat of the others; all
        // in as few system calls as batches allow.
        let packets = &mut self.packets;
        packets.clear();
        for _ in 0..instance.config.garp_repeat {
            for vip in vips {
                FrameSender::push_announcement(packets, mac, vip.address, link.primary);
            }
        }
        if let Err(e) = self.frames.announce(index, link.family, packets) {
            log_at!(Warn, "{}: announcing its VIPs: {e}", instance.config.name);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn vip(last: u8) -> Vip {
        Vip {
            address: [10, 0, 0, last].into(),
            prefix: 24,
        }
    }

    fn at(ms: u64) -> Instant {
        Instant::from_micros(ms * 1000)
    }

    /// Reconciles against `desired`, recording the changes; those for VIPs
    /// in `failing` fail.
    fn run(
        placement: &mut VipPlacement,
        now: Instant,
        desired: &[Vip],
        failing: &[Vip],
    ) -> (Vec<(Change, Vip)>, Vec<Vip>) {
        let mut changes = Vec::new();
        let added = placement.reconcile(now, desired, |change, vips| {
            let mut results = Vec::new();
            for &vip in vips {
                changes.push((change, vip));
                results.push((!failing.contains(&vip)).then_some(true));
            }
            results
        });
        (changes, added)
    }

    #[test]
    fn master_adds_all_then_nothing_until_the_state_changes() {
        let mut p = VipPlacement::default();
        let (changes, added) = run(&mut p, at(0), &[vip(1), vip(2)], &[]);
        assert_eq!(changes, [(Change::Add, vip(1)), (Change::Add, vip(2))]);
        assert_eq!(added, [vip(1), vip(2)]);
        assert_eq!(run(&mut p, at(10), &[vip(1), vip(2)], &[]).0, []);
        let (changes, added) = run(&mut p, at(20), &[], &[]);
        assert_eq!(
            changes,
            [(Change::Remove, vip(1)), (Change::Remove, vip(2))]
        );
        assert_eq!(added, []);
        assert_eq!(p.retry_at(), None);
    }

    #[test]
    fn a_failed_add_is_retried_at_the_deadline_not_before() {
        let mut p = VipPlacement::default();
        let (_, added) = run(&mut p, at(0), &[vip(1), vip(2)], &[vip(2)]);
        assert_eq!(added, [vip(1)]);
        assert_eq!(p.retry_at(), Some(at(0) + VIP_RETRY));
        assert_eq!(run(&mut p, at(500), &[vip(1), vip(2)], &[]).0, []);
        let (changes, added) = run(&mut p, at(1000), &[vip(1), vip(2)], &[]);
        assert_eq!(changes, [(Change::Add, vip(2))]);
        assert_eq!(added, [vip(2)]);
        assert_eq!(p.retry_at(), None);
    }

    #[test]
    fn stepping_down_removes_only_what_was_added_and_does_not_wait_for_a_retry() {
        let mut p = VipPlacement::default();
        run(&mut p, at(0), &[vip(1), vip(2)], &[vip(2)]);
        let (changes, _) = run(&mut p, at(100), &[], &[]);
        assert_eq!(changes, [(Change::Remove, vip(1))]);
        assert_eq!(p.retry_at(), None);
    }

    #[test]
    fn a_failed_removal_stays_applied_and_is_retried() {
        let mut p = VipPlacement::default();
        run(&mut p, at(0), &[vip(1)], &[]);
        run(&mut p, at(100), &[], &[vip(1)]);
        assert_eq!(p.retry_at(), Some(at(100) + VIP_RETRY));
        let (changes, _) = run(&mut p, at(1100), &[], &[]);
        assert_eq!(changes, [(Change::Remove, vip(1))]);
        assert_eq!(p.retry_at(), None);
    }

    #[test]
    fn a_new_list_removes_the_dropped_first_and_adds_only_the_new() {
        let mut p = VipPlacement::default();
        run(&mut p, at(0), &[vip(1), vip(2)], &[]);
        let (changes, added) = run(&mut p, at(100), &[vip(2), vip(3)], &[]);
        assert_eq!(changes, [(Change::Remove, vip(1)), (Change::Add, vip(3))]);
        assert_eq!(added, [vip(3)]);
    }

    #[test]
    fn an_address_that_was_there_already_is_never_removed() {
        let mut p = VipPlacement::default();
        let mut changes = Vec::new();
        let added = p.reconcile(at(0), &[vip(1), vip(2)], |change, vips| {
            let mut results = Vec::new();
            for &v in vips {
                changes.push((change, v));
                results.push(Some(v != vip(2)));
            }
            results
        });
        assert_eq!(added, [vip(1)], "vip 2 was someone else's");
        let (changes, _) = run(&mut p, at(100), &[], &[]);
        assert_eq!(changes, [(Change::Remove, vip(1))]);
        assert_eq!(p.retry_at(), None);
    }

    #[test]
    fn a_changed_prefix_is_removed_and_added_again() {
        let mut p = VipPlacement::default();
        run(&mut p, at(0), &[vip(1)], &[]);
        let host = Vip {
            prefix: 32,
            ..vip(1)
        };
        let (changes, added) = run(&mut p, at(100), &[host], &[]);
        assert_eq!(changes, [(Change::Remove, vip(1)), (Change::Add, host)]);
        assert_eq!(added, [host]);
    }
}
