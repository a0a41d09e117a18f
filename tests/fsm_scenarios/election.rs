//! RFC 5798 §6.4 scenarios: election, preemption, priority 0, the owner,
//! faults, reload, announcements.

use std::time::Duration;

use crate::segment::*;
use tinyvrrp::proto::fsm::{AdvertDrop, Instance, Output, State, StateKind};
use tinyvrrp::proto::wire::{Advert, Checksum, V2Auth, Version};

#[test]
fn election_highest_priority_wins_after_its_master_down_interval() {
    let mut segment = three_routers();
    segment.run_until(at_ms(10_000));
    assert_eq!(segment.masters(), vec![0]);
    assert_eq!(segment.vip_holders(), vec![0]);
    let elected = segment.became_master(0, at_ms(0)).unwrap();
    assert_eq!(elected - at_ms(0), master_down(150));
    // The winner announces itself with an advert and a gratuitous ARP.
    assert!(segment.log.contains(&(
        elected,
        Event::Advert {
            from: 0,
            priority: 150
        }
    )));
    assert!(segment.log.contains(&(elected, Event::Garp { from: 0 })));
    // No one else ever became master.
    assert_eq!(segment.became_master(1, at_ms(0)), None);
    assert_eq!(segment.became_master(2, at_ms(0)), None);
}

#[test]
fn master_loss_next_priority_takes_over_after_master_down_interval() {
    let mut segment = three_routers();
    segment.run_until(at_ms(10_000));
    let last_advert = segment.last_advert_from(0).unwrap();
    segment.crash(0);
    segment.run_until(at_ms(20_000));
    let takeover = segment.became_master(1, at_ms(10_000)).unwrap();
    assert_eq!(takeover - last_advert, master_down(120));
    assert_eq!(segment.masters(), vec![1]);
    assert!(segment.log.contains(&(takeover, Event::Garp { from: 1 })));
}

#[test]
fn priority_zero_hands_over_after_skew_time() {
    let mut segment = three_routers();
    segment.run_until(at_ms(10_000));
    segment.stop(0);
    assert!(segment.log.contains(&(
        at_ms(10_000),
        Event::Advert {
            from: 0,
            priority: 0
        }
    )));
    assert_eq!(segment.vip_holders(), Vec::<usize>::new());
    segment.run_until(at_ms(20_000));
    let takeover = segment.became_master(1, at_ms(10_000)).unwrap();
    // RFC 5798 §6.4.2: Skew_Time = (256 - 120) * 1 s / 256.
    assert_eq!(
        takeover - at_ms(10_000),
        Duration::from_micros(136 * 1_000_000 / 256)
    );
    assert_eq!(segment.masters(), vec![1]);
    assert_eq!(segment.vip_holders(), vec![1]);
}

#[test]
fn returning_higher_priority_preempts() {
    let mut segment = three_routers();
    segment.run_until(at_ms(10_000));
    segment.crash(0);
    segment.run_until(at_ms(20_000));
    assert_eq!(segment.masters(), vec![1]);
    segment.start(0);
    segment.run_until(at_ms(30_000));
    assert_eq!(segment.masters(), vec![0]);
    assert_eq!(segment.vip_holders(), vec![0]);
    let back = segment.became_master(0, at_ms(20_000)).unwrap();
    assert_eq!(back - at_ms(20_000), master_down(150));
}

#[test]
fn returning_higher_priority_without_preempt_stays_backup() {
    let mut segment = Segment::new(vec![params(1, 150, false), params(2, 120, true)]);
    segment.start(1);
    segment.run_until(at_ms(10_000));
    assert_eq!(segment.masters(), vec![1]);
    segment.start(0);
    segment.run_until(at_ms(60_000));
    assert_eq!(segment.masters(), vec![1]);
    assert_eq!(segment.vip_holders(), vec![1]);
    assert!(matches!(segment.nodes[0].fsm.state(), State::Backup { .. }));
}

#[test]
fn address_owner_becomes_master_at_once_and_ignores_others() {
    let mut segment = Segment::new(vec![params(1, 200, true), params(2, 255, true)]);
    segment.start(0);
    segment.run_until(at_ms(10_000));
    assert_eq!(segment.masters(), vec![0]);
    segment.start(1);
    // RFC 5798 §6.4.1: priority 255 goes straight to Master.
    assert_eq!(segment.became_master(1, at_ms(10_000)), Some(at_ms(10_000)));
    segment.run_until(at_ms(20_000));
    assert_eq!(segment.masters(), vec![1]);
    assert_eq!(segment.vip_holders(), vec![1]);
    let advert: Advert = Advert {
        version: Version::V3,
        vrid: 51,
        priority: 254,
        interval_cs: 100,
        addresses: vips().into_iter().collect(),
        auth: None,
        checksum: Checksum::PseudoHeader,
    };
    // A lower-priority master is answered (split brain, see
    // split_brain.rs), never obeyed; the owner stays.
    let owner = &mut segment.nodes[1].fsm;
    let output = owner
        .handle_advert(at_ms(20_000), addr(9), &advert)
        .unwrap();
    assert!(output.lower_priority && output.advert == Some(255) && output.transition.is_none());
    assert_eq!(owner.kind(), StateKind::Master);
    // Outside Master an owner ignores every advert (RFC 5798 §7.1).
    segment.link(1, false);
    let owner = &mut segment.nodes[1].fsm;
    assert_eq!(owner.kind(), StateKind::Fault);
    assert_eq!(
        owner.handle_advert(at_ms(20_001), addr(9), &advert),
        Err(AdvertDrop::Owner)
    );
}

#[test]
fn equal_priority_is_won_by_the_higher_primary_address() {
    let mut segment = Segment::new(vec![params(1, 100, true), params(2, 100, true)]);
    segment.connected = false;
    segment.start(0);
    segment.start(1);
    segment.run_until(at_ms(10_000));
    assert_eq!(segment.masters(), vec![0, 1]);
    // The segment heals: RFC 5798 §6.4.3, the lower address steps down.
    segment.connected = true;
    segment.run_until(at_ms(20_000));
    assert_eq!(segment.masters(), vec![1]);
    assert_eq!(segment.vip_holders(), vec![1]);
}

#[test]
fn master_answers_priority_zero_at_once() {
    let mut segment = Segment::new(vec![params(1, 150, true)]);
    segment.start(0);
    segment.run_until(at_ms(10_000));
    let advert: Advert = Advert {
        version: Version::V3,
        vrid: 51,
        priority: 0,
        interval_cs: 100,
        addresses: vips().into_iter().collect(),
        auth: None,
        checksum: Checksum::PseudoHeader,
    };
    let now = at_ms(10_050);
    let actions = segment.nodes[0]
        .fsm
        .handle_advert(now, addr(9), &advert)
        .unwrap();
    assert_eq!(
        actions,
        Output {
            advert: Some(150),
            ..Output::default()
        }
    );
    assert_eq!(segment.nodes[0].fsm.poll_at(), Some(at_ms(11_050)));
}

#[test]
fn v3_backup_learns_the_masters_interval() {
    let mut fast = params(1, 150, true);
    fast.advert_interval_cs = 10;
    let mut segment = Segment::new(vec![fast, params(2, 100, true)]);
    segment.start(0);
    segment.start(1);
    segment.run_until(at_ms(5_000));
    assert_eq!(segment.masters(), vec![0]);
    assert_eq!(segment.nodes[1].fsm.master_adver_interval_cs(), 10);
    segment.crash(0);
    segment.run_until(at_ms(10_000));
    let takeover = segment.became_master(1, at_ms(5_000)).unwrap();
    // 3 × 100 ms + (256 - 100) × 100 ms / 256, after the last advert at or before 5 s.
    assert!(takeover - at_ms(5_000) <= Duration::from_micros(300_000 + 156 * 100_000 / 256));
}

#[test]
fn v2_drops_an_interval_mismatch_and_a_different_address_list() {
    let mut p = params(1, 100, true);
    p.version = Version::V2;
    let mut backup = Instance::new(p);
    backup.startup(at_ms(0));
    let mut advert: Advert = Advert {
        version: Version::V2,
        vrid: 51,
        priority: 150,
        interval_cs: 200,
        addresses: vips().into_iter().collect(),
        auth: None,
        checksum: Checksum::PseudoHeader,
    };
    let src = addr(2);
    assert_eq!(
        backup.handle_advert(at_ms(1), src, &advert),
        Err(AdvertDrop::Interval)
    );
    advert.interval_cs = 100;
    advert.addresses = [addr(101)].into_iter().collect();
    assert_eq!(
        backup.handle_advert(at_ms(1), src, &advert),
        Err(AdvertDrop::AddressList)
    );
    advert.version = Version::V3;
    assert_eq!(
        backup.handle_advert(at_ms(1), src, &advert),
        Err(AdvertDrop::Version)
    );
}

#[test]
fn a_late_wakeup_keeps_the_advert_cadence() {
    let mut segment = Segment::new(vec![params(1, 255, true)]);
    segment.start(0);
    // The loop wakes 3 ms late; the next deadline stays on the 1 s grid.
    let actions = segment.nodes[0].fsm.handle_timeout(at_ms(1_003));
    assert_eq!(
        actions,
        Output {
            advert: Some(255),
            ..Output::default()
        }
    );
    assert_eq!(segment.nodes[0].fsm.poll_at(), Some(at_ms(2_000)));
    // After a long stall it does not burst to catch up.
    segment.nodes[0].fsm.handle_timeout(at_ms(9_500));
    assert_eq!(segment.nodes[0].fsm.poll_at(), Some(at_ms(10_500)));
}

#[test]
fn reconfigure_keeps_state_and_deadlines() {
    let mut segment = three_routers();
    segment.run_until(at_ms(10_000));
    let before = segment.nodes[0].fsm.poll_at();
    let mut changed = params(1, 140, true);
    changed.vips.push(addr(101));
    segment.nodes[0].fsm.reconfigure(changed);
    assert_eq!(segment.nodes[0].fsm.kind(), StateKind::Master);
    assert_eq!(segment.nodes[0].fsm.poll_at(), before);
    let backup_deadline = segment.nodes[1].fsm.poll_at();
    segment.nodes[1].fsm.reconfigure(params(2, 110, true));
    assert_eq!(segment.nodes[1].fsm.kind(), StateKind::Backup);
    assert_eq!(segment.nodes[1].fsm.poll_at(), backup_deadline);
    // The priority it runs with stays until the daemon gives it the new
    // one (its trackers may move it); then a master says so at once.
    assert_eq!(segment.nodes[0].fsm.priority(), 150);
    let actions = segment.nodes[0].fsm.set_priority(at_ms(10_000), 140);
    assert_eq!(
        actions,
        Output {
            advert: Some(140),
            ..Output::default()
        }
    );
    let actions = segment.nodes[0].fsm.handle_timeout(at_ms(11_000));
    assert_eq!(
        actions,
        Output {
            advert: Some(140),
            ..Output::default()
        }
    );
}

#[test]
fn v2_password_must_match_type_and_data() {
    let mut p = params(1, 100, true);
    p.version = Version::V2;
    p.auth = V2Auth::simple_password(b"secret1");
    let mut backup = Instance::new(p.clone());
    backup.startup(at_ms(0));
    let mut sender = p;
    sender.primary = addr(2);
    sender.priority = 150;
    let src = sender.primary;
    let good = sender.advert(150);
    assert_eq!(good.auth.unwrap().data, *b"secret1\0");
    assert!(backup.handle_advert(at_ms(1), src, &good).is_ok());
    assert_eq!(backup.master(), Some(src));

    for wrong in [V2Auth::simple_password(b"secret2"), V2Auth::NONE] {
        let mut advert = good.clone();
        advert.auth = Some(wrong);
        assert_eq!(
            backup.handle_advert(at_ms(2), src, &advert),
            Err(AdvertDrop::Auth)
        );
    }
    // With no authentication configured, a password advert is refused too
    // (RFC 3768 §7.1: the type must match), and the data of type 0 is ignored.
    let mut open = params(1, 100, true);
    open.version = Version::V2;
    let mut open = Instance::new(open);
    open.startup(at_ms(0));
    assert_eq!(
        open.handle_advert(at_ms(1), src, &good),
        Err(AdvertDrop::Auth)
    );
    let mut type0_with_data = good.clone();
    type0_with_data.auth = Some(V2Auth {
        auth_type: 0,
        data: *b"ignored!",
    });
    assert!(open.handle_advert(at_ms(1), src, &type0_with_data).is_ok());
}

#[test]
fn unicast_accepts_only_configured_peers() {
    let peer = addr(2);
    let mut p = params(1, 100, true);
    p.unicast_peers = vec![peer];
    let mut backup = Instance::new(p);
    backup.startup(at_ms(0));
    let sender = params(2, 150, true);
    let advert = sender.advert(150);
    assert_eq!(
        backup.handle_advert(at_ms(1), addr(3), &advert),
        Err(AdvertDrop::NotAPeer)
    );
    assert_eq!(backup.master(), None);
    assert!(backup.handle_advert(at_ms(1), peer, &advert).is_ok());
    assert_eq!(backup.master(), Some(peer));
}

#[test]
fn link_down_is_fault_and_link_up_rejoins_and_preempts() {
    let mut segment = three_routers();
    segment.run_until(at_ms(10_000));
    assert_eq!(segment.masters(), vec![0]);
    let last_advert = segment.last_advert_from(0).unwrap();
    segment.link(0, false);
    // The VIP goes at once; no priority 0 can leave a dead link.
    assert_eq!(segment.vip_holders(), Vec::<usize>::new());
    assert_eq!(segment.nodes[0].fsm.kind(), StateKind::Fault);
    assert_eq!(segment.nodes[0].fsm.poll_at(), None);
    assert_eq!(
        segment.log.last(),
        Some(&(
            at_ms(10_000),
            Event::State {
                node: 0,
                state: StateKind::Fault
            }
        ))
    );
    let log_len = segment.log.len();
    segment.link(0, false);
    assert_eq!(
        segment.log.len(),
        log_len,
        "a second link-down changes nothing"
    );
    segment.run_until(at_ms(20_000));
    assert_eq!(
        segment.became_master(1, at_ms(10_000)).unwrap() - last_advert,
        master_down(120)
    );
    assert_eq!(segment.vip_holders(), vec![1]);
    assert_eq!(
        segment.nodes[0].fsm.kind(),
        StateKind::Fault,
        "adverts do not end Fault"
    );

    segment.link(0, true);
    assert_eq!(
        segment.log.last(),
        Some(&(
            at_ms(20_000),
            Event::State {
                node: 0,
                state: StateKind::Backup
            }
        ))
    );
    segment.link(1, true);
    assert_eq!(
        segment.masters(),
        vec![1],
        "link-up outside Fault changes nothing"
    );
    segment.run_until(at_ms(30_000));
    assert_eq!(
        segment.became_master(0, at_ms(20_000)).unwrap() - at_ms(20_000),
        master_down(150)
    );
    assert_eq!(segment.masters(), vec![0]);
    assert_eq!(segment.vip_holders(), vec![0]);
}

#[test]
fn a_backup_in_fault_stops_with_stop_and_an_owner_returns_as_master() {
    let mut segment = Segment::new(vec![params(1, 255, true), params(2, 100, true)]);
    segment.start(0);
    segment.start(1);
    segment.link(1, false);
    assert_eq!(segment.nodes[1].fsm.kind(), StateKind::Fault);
    segment.stop(1);
    assert_eq!(
        segment.log.last().map(|(_, e)| e.clone()),
        Some(Event::State {
            node: 1,
            state: StateKind::Initialize
        })
    );
    segment.link(0, false);
    assert_eq!(segment.vip_holders(), Vec::<usize>::new());
    segment.link(0, true);
    assert_eq!(segment.masters(), vec![0]);
    assert_eq!(segment.vip_holders(), vec![0]);
}

#[test]
fn a_new_master_repeats_its_gratuitous_arp_once_after_the_garp_delay() {
    let mut with_delay = params(1, 150, true);
    with_delay.garp_delay = Some(Duration::from_secs(5));
    let mut segment = Segment::new(vec![with_delay, params(2, 100, true)]);
    segment.start(0);
    segment.start(1);
    segment.run_until(at_ms(30_000));
    let elected = segment.became_master(0, at_ms(0)).unwrap();
    let garps: Vec<_> = segment
        .log
        .iter()
        .filter(|(_, e)| *e == Event::Garp { from: 0 })
        .map(|(t, _)| *t)
        .collect();
    assert_eq!(garps, vec![elected, elected + Duration::from_secs(5)]);
    // The adverts kept their cadence around the second round.
    let adverts: Vec<_> = segment
        .log
        .iter()
        .filter(|(_, e)| matches!(e, Event::Advert { from: 0, .. }))
        .map(|(t, _)| *t)
        .collect();
    assert!(adverts
        .windows(2)
        .all(|w| w[1] - w[0] == Duration::from_secs(1)));
}

#[test]
fn a_master_that_steps_down_sends_no_second_round() {
    let mut first = params(1, 150, true);
    first.garp_delay = Some(Duration::from_secs(5));
    let mut segment = Segment::new(vec![first, params(2, 200, true)]);
    segment.start(0);
    segment.run_until(at_ms(4_000));
    assert_eq!(segment.masters(), vec![0]);
    segment.start(1);
    segment.run_until(at_ms(30_000));
    assert_eq!(segment.masters(), vec![1]);
    let garps_from_0 = segment
        .log
        .iter()
        .filter(|(_, e)| *e == Event::Garp { from: 0 })
        .count();
    assert_eq!(garps_from_0, 1);
}

#[test]
fn preempt_delay_holds_a_returning_higher_priority_back_then_it_preempts() {
    let mut delayed = params(1, 150, true);
    delayed.preempt_delay = Some(Duration::from_secs(10));
    let mut segment = Segment::new(vec![delayed, params(2, 120, true)]);
    segment.start(1);
    segment.run_until(at_ms(20_000));
    assert_eq!(segment.masters(), vec![1]);
    segment.start(0);
    segment.run_until(at_ms(30_000));
    // keepalived's preempt_delay: within the delay after start-up the
    // lower-priority master is followed, as with preemption off.
    assert_eq!(segment.masters(), vec![1]);
    assert_eq!(segment.became_master(0, at_ms(20_000)), None);
    segment.run_until(at_ms(40_000));
    assert_eq!(segment.masters(), vec![0]);
    assert_eq!(segment.vip_holders(), vec![0]);
    // After the delay the lower adverts are discarded (RFC 5798 §6.4.2) and
    // the backup takes over one Master_Down_Interval after the last one it
    // accepted, which came before the delay ended.
    let back = segment.became_master(0, at_ms(20_000)).unwrap();
    assert!(
        back > at_ms(30_000),
        "preempted during the delay at {back:?}"
    );
    assert!(back <= at_ms(30_000) + master_down(150), "late: {back:?}");
}

#[test]
fn preempt_delay_does_not_hold_back_an_election_without_a_master() {
    let mut delayed = params(1, 150, true);
    delayed.preempt_delay = Some(Duration::from_secs(10));
    let mut segment = Segment::new(vec![delayed, params(2, 120, true)]);
    segment.start(0);
    segment.start(1);
    segment.run_until(at_ms(10_000));
    assert_eq!(segment.masters(), vec![0]);
    assert_eq!(
        segment.became_master(0, at_ms(0)).unwrap() - at_ms(0),
        master_down(150)
    );
}

/// The same scenarios for an IPv6 virtual router (RFC 5798 is one protocol
/// for both families): link-local primaries, a link-local first VIP. The v2
/// scenarios have no IPv6 form (RFC 3768 is IPv4 only).
mod ipv6 {
    in_ipv6!(
        election_highest_priority_wins_after_its_master_down_interval,
        master_loss_next_priority_takes_over_after_master_down_interval,
        priority_zero_hands_over_after_skew_time,
        returning_higher_priority_preempts,
        returning_higher_priority_without_preempt_stays_backup,
        address_owner_becomes_master_at_once_and_ignores_others,
        equal_priority_is_won_by_the_higher_primary_address,
        master_answers_priority_zero_at_once,
        v3_backup_learns_the_masters_interval,
        a_late_wakeup_keeps_the_advert_cadence,
        reconfigure_keeps_state_and_deadlines,
        unicast_accepts_only_configured_peers,
        link_down_is_fault_and_link_up_rejoins_and_preempts,
        a_backup_in_fault_stops_with_stop_and_an_owner_returns_as_master,
        a_new_master_repeats_its_gratuitous_arp_once_after_the_garp_delay,
        a_master_that_steps_down_sends_no_second_round,
        preempt_delay_holds_a_returning_higher_priority_back_then_it_preempts,
        preempt_delay_does_not_hold_back_an_election_without_a_master,
    );

    #[test]
    fn the_family_really_is_ipv6() {
        crate::segment::FAMILY.with(|family| family.set(tinyvrrp::proto::wire::Family::Ipv6));
        assert!(super::addr(1).is_ipv6());
        assert!(super::vips().iter().all(|vip| vip.is_ipv6()));
    }
}
