//! The VIPs of a running cluster changed one router at a time (RFC 5798
//! §7.1 makes verifying the address list optional): an advert whose list
//! shares an address with ours takes part in the election as if the lists
//! matched, and is reported; one with nothing in common is another virtual
//! router on our VRID, dropped.

use std::net::IpAddr;

use crate::segment::*;
use tinyvrrp::proto::fsm::{AdvertDrop, Instance, Params, StateKind};
use tinyvrrp::proto::time::Instant;
use tinyvrrp::proto::wire::Version;

/// Router `n`'s params with the VIPs at these last octets.
fn with_vips(n: u8, priority: u8, vips: &[u8]) -> Params {
    let mut p = params(n, priority, true);
    p.vips = vips.iter().map(|&v| addr(v)).collect();
    p
}

fn vips_at(last: &[u8]) -> Vec<IpAddr> {
    last.iter().map(|&v| addr(v)).collect()
}

/// Nothing but the master ever advertised or became master since `since`.
fn only_master_advertised(segment: &Segment, master: usize, since: Instant) {
    for (at, event) in &segment.log {
        if *at < since {
            continue;
        }
        match event {
            Event::Advert { from, .. } => assert_eq!(*from, master, "{at:?} {event:?}"),
            Event::State { state, .. } => assert_ne!(*state, StateKind::Master, "{at:?}"),
            Event::Garp { .. } => {}
        }
    }
}

/// A master (router 1, 150) and a backup (router 2, 100) with `before`;
/// one reloads with `after` at 10 s, the other at 20 s.
fn rollout(before: &[u8], after: &[u8], master_first: bool) {
    let mut segment = Segment::new(vec![with_vips(1, 150, before), with_vips(2, 100, before)]);
    segment.start_all(&[0, 1]);
    segment.run_until(at_ms(10_000));
    assert_eq!(segment.masters(), vec![0]);
    let steady = at_ms(10_000);
    let order = if master_first { [0, 1] } else { [1, 0] };
    for (step, node) in order.into_iter().enumerate() {
        let mut p = segment.nodes[node].fsm.params().clone();
        p.vips = vips_at(after);
        segment.nodes[node].fsm.reconfigure(p);
        segment.run_until(at_ms(20_000 + 10_000 * step as u64));
        assert_eq!(segment.masters(), vec![0], "after step {step}");
        assert_eq!(segment.vip_holders(), vec![0], "after step {step}");
    }
    only_master_advertised(&segment, 0, steady);
    assert_eq!(segment.nodes[1].fsm.kind(), StateKind::Backup);
}

#[test]
fn adding_a_vip_master_first_keeps_one_master() {
    rollout(&[100], &[100, 101], true);
}

#[test]
fn adding_a_vip_backup_first_keeps_one_master() {
    rollout(&[100], &[100, 101], false);
}

#[test]
fn removing_a_vip_master_first_keeps_one_master() {
    rollout(&[100, 101], &[100], true);
}

#[test]
fn removing_a_vip_backup_first_keeps_one_master() {
    rollout(&[100, 101], &[100], false);
}

#[test]
fn an_overlapping_list_is_taken_and_reported_in_both_versions() {
    for version in [Version::V3, Version::V2] {
        let mut p = with_vips(2, 100, &[100]);
        p.version = version;
        let mut backup = Instance::new(p.clone());
        backup.startup(at_ms(0));
        let mut master = p;
        master.primary = addr(1);
        master.vips = vips_at(&[101, 100]);
        let output = backup
            .handle_advert(at_ms(1_000), addr(1), &master.advert(150))
            .unwrap();
        assert!(output.address_list_differs);
        // It re-armed Master_Down_Interval from this advert: it follows
        // the master as if the lists matched.
        assert_eq!(
            backup.poll_at(),
            Some(at_ms(1_000) + backup.master_down_interval())
        );
        assert_eq!(backup.master(), Some(addr(1)));
        // The same list is not reported.
        master.vips = vips_at(&[100]);
        let output = backup
            .handle_advert(at_ms(1_100), addr(1), &master.advert(150))
            .unwrap();
        assert!(!output.address_list_differs);
    }
}

#[test]
fn an_overlapping_list_takes_part_in_the_election_both_ways() {
    // A master with one VIP; a higher-priority router joins with two.
    let mut segment = Segment::new(vec![
        with_vips(1, 100, &[100]),
        with_vips(2, 150, &[100, 101]),
    ]);
    segment.start(0);
    segment.run_until(at_ms(10_000));
    assert_eq!(segment.masters(), vec![0]);
    segment.start(1);
    segment.run_until(at_ms(20_000));
    // It preempted, and the old master stepped down at its first advert
    // instead of staying master beside it.
    assert_eq!(segment.masters(), vec![1]);
    assert_eq!(segment.vip_holders(), vec![1]);
    let took_over = segment.became_master(1, at_ms(10_000)).unwrap();
    assert!(segment.log.contains(&(
        took_over,
        Event::State {
            node: 0,
            state: StateKind::Backup
        }
    )));
    // Two masters of equal priority after a split segment heals: the
    // higher address wins (RFC 5798 §6.4.3), lists aside.
    let mut segment = Segment::new(vec![
        with_vips(1, 100, &[100]),
        with_vips(2, 100, &[101, 100]),
    ]);
    segment.connected = false;
    segment.start_all(&[0, 1]);
    segment.run_until(at_ms(10_000));
    assert_eq!(segment.masters(), vec![0, 1]);
    segment.connected = true;
    segment.run_until(at_ms(12_000));
    assert_eq!(segment.masters(), vec![1]);
    assert_eq!(segment.vip_holders(), vec![1]);
}

#[test]
fn a_disjoint_list_is_dropped_and_both_are_master() {
    let mut segment = Segment::new(vec![with_vips(1, 150, &[100]), with_vips(2, 100, &[101])]);
    segment.start_all(&[0, 1]);
    segment.run_until(at_ms(10_000));
    assert_eq!(segment.masters(), vec![0, 1]);
    assert_eq!(segment.vip_holders(), vec![0, 1]);
    // Each drops the other's adverts, whichever priority they carry.
    for (to, from, priority) in [(1, 0, 150), (0, 1, 100)] {
        let sender = segment.nodes[from].fsm.params().clone();
        let advert = sender.advert(priority);
        let result =
            segment.nodes[to]
                .fsm
                .handle_advert(at_ms(10_001), addr(from as u8 + 1), &advert);
        assert_eq!(result, Err(AdvertDrop::AddressList));
    }
    assert_eq!(segment.masters(), vec![0, 1]);
}

#[test]
fn the_owner_is_followed_whatever_its_list() {
    let mut backup = Instance::new(with_vips(2, 100, &[100]));
    backup.startup(at_ms(0));
    let owner = with_vips(1, 255, &[101]);
    let output = backup
        .handle_advert(at_ms(1_000), addr(1), &owner.advert(255))
        .unwrap();
    // RFC 5798 §7.1: the owner's list is never verified, so not reported.
    assert!(!output.address_list_differs);
    assert_eq!(backup.master(), Some(addr(1)));
}

/// The same scenarios for an IPv6 virtual router.
mod ipv6 {
    in_ipv6!(
        adding_a_vip_master_first_keeps_one_master,
        adding_a_vip_backup_first_keeps_one_master,
        removing_a_vip_master_first_keeps_one_master,
        removing_a_vip_backup_first_keeps_one_master,
        an_overlapping_list_takes_part_in_the_election_both_ways,
        a_disjoint_list_is_dropped_and_both_are_master,
        the_owner_is_followed_whatever_its_list,
    );
}
