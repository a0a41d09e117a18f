//! The instances: each one's config, state machine and counters, started,
//! updated in place by a reload, and fed the adverts for its VRID.

use core::net::IpAddr;

use log::Level;

use super::effects::VipPlacement;
use super::links::{LinkId, DROP_LOG_PERIOD};
use super::log_line;
use super::resolve::Resolved;
use super::status::render::two_lists_text;
use super::vmac::{create_vmac, Vmac};
use super::{increment, Daemon};
use crate::config::InstanceConfig;
use crate::proto::fsm::{AdvertDrop, Health, Instance, Params, PRIORITY_OWNER, PRIORITY_STOP};
use crate::proto::time::{Instant, Throttle};
use crate::proto::wire::{Checksum, Received};
use crate::sys;

/// What a `priority 255` instance runs as when it does not own all its
/// VIPs: the highest priority that still takes part in the election.
const PRIORITY_HIGHEST_NON_OWNER: u8 = PRIORITY_OWNER - 1;

/// What happened to an instance's adverts, for status.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct InstanceCounters {
    /// When counting began (RFC 8347 `discontinuity-datetime`), in seconds
    /// since the Unix epoch.
    pub since: u64,
    /// Times it became Master.
    pub master_transitions: u64,
    /// Adverts for its VRID that passed the link's checks.
    pub adverts_rx: u64,
    pub adverts_tx: u64,
    pub priority_zero_rx: u64,
    pub priority_zero_tx: u64,
    /// Adverts of a lower priority heard while Master: another master
    /// that does not hear us, as after a partition.
    pub lower_priority_rx: u64,
    pub send_errors: u64,
    /// Adverts dropped by the checks of RFC 5798 §7.1 that need the
    /// configuration, by [`AdvertDrop::index`]; under
    /// [`AdvertDrop::AddressList`] also those taken although their address
    /// list differs from ours.
    pub drops: [u64; AdvertDrop::ALL.len()],
    /// Adverts whose checksum was valid only in the form we do not send: the
    /// peer's `v3-checksum` setting differs, so it drops our adverts.
    pub checksum_form_mismatch: u64,
}

/// One instance: its config, its state machine and its counters.
pub(super) struct Runtime {
    pub(super) config: InstanceConfig,
    pub(super) fsm: Instance,
    pub(super) link: LinkId,
    pub(super) counters: InstanceCounters,
    /// The VIPs it has put on its interface.
    pub(super) vips: VipPlacement,
    /// The VIPs that are its interface's own addresses (an address owner's,
    /// RFC 5798 §5.2.4): never added or removed by us.
    pub(super) owned: Vec<IpAddr>,
    /// Its macvlan with the virtual MAC (`vmac on`).
    pub(super) vmac: Option<Vmac>,
    /// What its link and its trackers say, before its group's say.
    pub(super) health: Health,
    /// Its sync group, by index into the daemon's groups.
    pub(super) group: Option<usize>,
    /// When it entered its current state.
    pub(super) entered_at: Instant,
    /// The drop log of each [`AdvertDrop`], at most once a minute.
    pub(super) drop_logs: [Throttle; AdvertDrop::ALL.len()],
    /// The pairs of differing address lists already logged.
    pub(super) logged_lists: LoggedLists,
}

impl Runtime {
    /// An advert whose address list differs from ours (RFC 5798 §7.1),
    /// `taken` (it shares an address with ours, see
    /// [`crate::proto::fsm::Output::address_list_differs`]) or dropped:
    /// counted each time, logged once per pair of lists, naming both, so a
    /// rollout of a VIP change says what differs without a line per advert.
    fn address_list_differs(&mut self, now: Instant, received: &Received, taken: bool) {
        increment(&mut self.counters.drops[AdvertDrop::AddressList.index()]);
        let (theirs, ours) = (&received.advert.addresses, &self.fsm.params().vips);
        if !self.logged_lists.first_time(now, theirs, ours) {
            return;
        }
        let (level, what, vmac) = if taken {
            (
                Level::Warn,
                "an address in common: the same virtual router, its vips changing; following it",
                "",
            )
        } else {
            (
                Level::Error,
                "no address in common: another virtual router on our vrid; dropping its adverts, both are master",
                // RFC 5798 §7.3: the virtual MAC is the VRID's.
                if self.config.vmac {
                    " with one virtual MAC"
                } else {
                    ""
                },
            )
        };
        log_line(
            level,
            module_path!(),
            format_args!(
                "{}: {} advertises {}: {what}{vmac}",
                self.config.name,
                received.src,
                two_lists_text(theirs, ", we ", ours)
            ),
        );
    }

    /// The protocol parameters with the interface's advert source. A
    /// `priority 255` that owns not all of its VIPs runs as 254: an owner
    /// takes over at once and ignores every advert (RFC 5798 §6.4.1,
    /// §7.1), which is only safe for the router whose addresses they are.
    pub(super) fn params(&self, primary: IpAddr) -> Params {
        params(&self.config, &self.owned, primary)
    }
}

/// See [`Runtime::params`].
fn params(config: &InstanceConfig, owned: &[IpAddr], primary: IpAddr) -> Params {
    let mut params = config.params(primary);
    let owns_all = !owned.is_empty() && owned.len() == config.vips.len();
    if !owns_all && params.priority == PRIORITY_OWNER {
        params.priority = PRIORITY_HIGHEST_NON_OWNER;
    }
    params
}

impl Daemon {
    /// Opens the interface's socket if needed, removes stale VIPs and makes
    /// the state machine. The caller's [`Daemon::refresh`], once every new
    /// instance exists (so a group's members start together), starts it
    /// (RFC 5798 §6.4.1) or puts it in Fault, as its link and trackers say.
    pub(super) fn start_instance(
        &mut self,
        resolved: Resolved,
        now: Instant,
    ) -> std::io::Result<()> {
        let link = self.attach(&resolved, now)?;
        let Resolved {
            config,
            addresses,
            owned,
            ..
        } = resolved;
        let primary = self.links[link].primary;
        let index = self.links[link].index;
        // A VIP left behind by a crashed run would answer ARP for an address
        // another router now owns. An owner's own addresses are not VIPs
        // left behind.
        for vip in &config.vips {
            let Some(stale) = addresses.iter().find(|a| a.address == vip.address) else {
                continue;
            };
            if vip.address != primary && !owned.contains(&vip.address) {
                log_at!(Info, "{}: removing stale {vip}", config.interface);
                // With the prefix it has, which a changed config may not.
                if let Err(e) = self.netlink.del_address(index, stale.address, stale.prefix) {
                    log_at!(Warn, "{}: cannot remove stale {vip}: {e}", config.interface);
                }
            }
        }
        let vmac = if config.vmac {
            let (netlink, sysctls) = (&mut self.netlink, &mut self.sysctls);
            Some(create_vmac(
                netlink,
                sysctls,
                &config,
                &config.interface,
                index,
            )?)
        } else {
            None
        };
        let params = params(&config, &owned, primary);
        self.warn_if_not_owner(&config, params.priority);
        log_at!(
            Info,
            "{}: starting on {} from {primary}, priority {}",
            config.name,
            config.interface,
            params.priority
        );
        if !self.links[link].up {
            log_at!(Warn, "{}: {} is down", config.name, config.interface);
        }
        let group = self.group_index(&config.name);
        let mut fsm = Instance::new(params);
        fsm.set_sync_hold(group.is_some());
        self.instances.push(Runtime {
            config,
            fsm,
            link,
            counters: InstanceCounters {
                since: sys::wall_clock_secs(),
                ..InstanceCounters::default()
            },
            vips: VipPlacement::default(),
            owned,
            vmac,
            health: Health::Pending,
            group,
            entered_at: now,
            drop_logs: Default::default(),
            logged_lists: LoggedLists::default(),
        });
        Ok(())
    }

    /// Applies new settings to a running instance in place. A master moves
    /// its addresses to the new list and announces the new ones.
    pub(super) fn update_instance(&mut self, slot: usize, new: Resolved, now: Instant) {
        let instance = &mut self.instances[slot];
        if instance.config == new.config && instance.owned == new.owned {
            return;
        }
        log_at!(Info, "{}: settings changed by reload", new.config.name);
        let primary = self.links[instance.link].primary;
        instance.config = new.config;
        instance.owned = new.owned;
        let params = instance.params(primary);
        self.warn_if_not_owner(&self.instances[slot].config, params.priority);
        self.instances[slot].fsm.reconfigure(params);
        let added = self.reconcile_vips(slot, now);
        self.announce(slot, Some(&added));
    }

    /// `priority 255` without owning every VIP runs as 254; say so with
    /// the line to fix.
    fn warn_if_not_owner(&self, config: &InstanceConfig, priority: u8) {
        if config.priority == PRIORITY_OWNER && priority != PRIORITY_OWNER {
            log_at!(
                Warn,
                "{}:{}: priority 255 is the address owner, but not every vip is on {}; running as priority 254",
                self.file, config.line, config.interface
            );
        }
    }

    /// Stops an instance (RFC 5798 §6.4.3 Shutdown) and forgets it.
    pub(super) fn stop_instance(&mut self, slot: usize, now: Instant) {
        let output = self.instances[slot].fsm.shutdown();
        self.execute(slot, now, &output);
        self.remove_vmac(slot);
        self.instances.remove(slot);
    }

    /// An advert for the instance's VRID that passed the link's checks.
    pub(super) fn handle_advert(&mut self, slot: usize, now: Instant, received: &Received) {
        let instance = &mut self.instances[slot];
        increment(&mut instance.counters.adverts_rx);
        match instance
            .fsm
            .handle_advert(now, received.src, &received.advert)
        {
            Ok(output) => {
                if output.address_list_differs {
                    instance.address_list_differs(now, received, true);
                }
                // Only an advert the state machine took (so one of our
                // version) tells how our peer sends its checksums, or is a
                // peer leaving; a dropped one (a non-peer's, say) counts
                // under its drop reason alone (README, "Status").
                if received.advert.priority == PRIORITY_STOP {
                    increment(&mut instance.counters.priority_zero_rx);
                }
                let params = instance.fsm.params();
                if received.advert.checksum != params.checksum {
                    if instance.counters.checksum_form_mismatch == 0 {
                        log_at!(
                            Warn,
                            "{}: {} sends v3 checksums {} the pseudo-header, we send them {}; it will drop ours (set v3-checksum to match)",
                            instance.config.name,
                            received.src,
                            checksum_words(received.advert.checksum),
                            checksum_words(params.checksum),
                        );
                    }
                    increment(&mut instance.counters.checksum_form_mismatch);
                }
                self.execute(slot, now, &output);
                self.settle_group_of(slot, now);
            }
            Err(AdvertDrop::AddressList) => instance.address_list_differs(now, received, false),
            Err(reason) => {
                increment(&mut instance.counters.drops[reason.index()]);
                let log = &mut instance.drop_logs[reason.index()];
                if let Some(count) = log.hit(now, DROP_LOG_PERIOD) {
                    log_at!(
                        Warn,
                        "{}: dropped {count} advert(s), the last from {}: {} (logged at most once a minute)",
                        instance.config.name,
                        received.src,
                        reason.name()
                    );
                }
            }
        }
    }
}

/// How many pairs of differing address lists an instance remembers having
/// logged: enough for a rollout across a few routers.
const LOGGED_LISTS: usize = 4;

/// The pairs (theirs, ours) of differing address lists already logged, as
/// digests. Bounded, so a peer sending ever new lists cannot grow it; once
/// it is full a new pair takes the oldest place at most once a
/// [`DROP_LOG_PERIOD`], so such a peer cannot flood the log either.
#[derive(Default)]
pub(super) struct LoggedLists {
    /// Digests; 0 is a free place.
    seen: [u32; LOGGED_LISTS],
    /// Pairs logged: the next goes to this place modulo [`LOGGED_LISTS`].
    logged: usize,
    when_full: Throttle,
}

impl LoggedLists {
    /// Whether this pair is to be logged now: not logged before.
    fn first_time(&mut self, now: Instant, theirs: &[IpAddr], ours: &[IpAddr]) -> bool {
        let digest = digest([theirs, ours]);
        if self.seen.contains(&digest) {
            return false;
        }
        let place = &mut self.seen[self.logged % LOGGED_LISTS];
        if *place != 0 && self.when_full.hit(now, DROP_LOG_PERIOD).is_none() {
            return false;
        }
        *place = digest;
        self.logged += 1;
        true
    }
}

/// FNV-1a over each list's length and addresses (an IPv6 one folded to 32
/// bits), never 0: no allocation per advert, and one list's end cannot
/// pass for the next one's start.
fn digest(lists: [&[IpAddr]; 2]) -> u32 {
    let mut hash = 0x811c_9dc5_u32;
    for list in lists {
        let mut word = list.len() as u32;
        let mut rest = list.iter();
        loop {
            hash = (hash ^ word).wrapping_mul(0x0100_0193);
            word = match rest.next() {
                None => break,
                Some(IpAddr::V4(a)) => a.to_bits(),
                Some(IpAddr::V6(a)) => {
                    let bits = a.to_bits();
                    let half = (bits ^ bits >> 64) as u64;
                    (half ^ half >> 32) as u32
                }
            };
        }
    }
    hash | 1
}

fn checksum_words(form: Checksum) -> &'static str {
    match form {
        Checksum::PseudoHeader => "with",
        Checksum::MessageOnly => "without",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn list(last: &[u8]) -> Vec<IpAddr> {
        last.iter().map(|&n| IpAddr::from([10, 0, 0, n])).collect()
    }

    fn at_s(s: u64) -> Instant {
        Instant::from_micros(s * 1_000_000)
    }

    #[test]
    fn each_pair_of_lists_is_logged_once() {
        let mut logged = LoggedLists::default();
        let (ours, theirs) = (list(&[1]), list(&[1, 2]));
        assert!(logged.first_time(at_s(0), &theirs, &ours));
        for s in 0..100 {
            assert!(!logged.first_time(at_s(s), &theirs, &ours));
        }
        // Another list of theirs, or ours after a reload, is another pair,
        // and so is the pair the other way round.
        assert!(logged.first_time(at_s(1), &list(&[1, 3]), &ours));
        assert!(logged.first_time(at_s(1), &theirs, &list(&[1, 3])));
        assert!(logged.first_time(at_s(1), &ours, &theirs));
        assert!(!logged.first_time(at_s(2), &theirs, &ours));
    }

    #[test]
    fn a_peer_cycling_through_lists_is_logged_once_a_period_once_full() {
        let mut logged = LoggedLists::default();
        let ours = list(&[1]);
        let mut lines = 0;
        for n in 0..=250 {
            for s in 0..2 {
                if logged.first_time(at_s(s), &list(&[1, n]), &ours) {
                    lines += 1;
                }
            }
        }
        // Four places, then one a period.
        assert_eq!(lines, LOGGED_LISTS + 1);
        assert!(logged.first_time(at_s(61), &list(&[2, 3]), &ours));
        assert!(!logged.first_time(at_s(62), &list(&[2, 4]), &ours));
    }

    #[test]
    fn ipv6_lists_that_differ_in_any_bit_are_distinct_pairs() {
        let a: IpAddr = "fe80::1".parse().unwrap();
        let b: IpAddr = "2001:db8::1".parse().unwrap();
        let c: IpAddr = "fe80::1:0:0:1".parse().unwrap();
        let ours = [a];
        let digests = [
            digest([&[a, b], &ours]),
            digest([&[a, c], &ours]),
            digest([&[a], &[a, b]]),
            digest([&[a, a], &[b]]),
        ];
        for (i, d) in digests.iter().enumerate() {
            assert_ne!(*d, 0);
            assert!(!digests[i + 1..].contains(d), "{digests:x?}");
        }
    }
}
