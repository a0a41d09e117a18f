//! Sync groups (keepalived's `vrrp_sync_group`): router A (LAN node 0,
//! WAN node 1) and router B (LAN node 2, WAN node 3), each router's pair
//! a group. Each of the four rules moves the group as one.

use std::time::Duration;

use crate::segment::*;
use tinyvrrp::proto::fsm::{Health, Params, StateKind, PRIORITY_STOP};

const A_LAN: usize = 0;
const A_WAN: usize = 1;
const B_LAN: usize = 2;
const B_WAN: usize = 3;

fn wan(params: Params) -> Params {
    Params { vrid: 52, ..params }
}

/// A (priority 150) and B (100), both preempting, grouped per router.
fn two_routers() -> (Segment, usize, usize) {
    let mut segment = Segment::new(vec![
        params(1, 150, true),
        wan(params(1, 150, true)),
        params(2, 100, true),
        wan(params(2, 100, true)),
    ]);
    let a = segment.group(&[A_LAN, A_WAN]);
    let b = segment.group(&[B_LAN, B_WAN]);
    (segment, a, b)
}

fn started() -> (Segment, usize, usize) {
    let (mut segment, a, b) = two_routers();
    for node in 0..4 {
        segment.start(node);
    }
    segment.run_until(at_ms(10_000));
    assert_eq!(segment.masters(), vec![A_LAN, A_WAN]);
    (segment, a, b)
}

fn group_states(segment: &Segment, group: usize) -> Vec<StateKind> {
    segment
        .group_log
        .iter()
        .filter(|(_, g, _)| *g == group)
        .map(|(_, _, state)| *state)
        .collect()
}

#[test]
fn members_become_master_together_when_all_want_to() {
    let (mut segment, a, b) = two_routers();
    segment.start(A_LAN);
    // A's WAN starts a second later: A's LAN timer fires first and waits.
    segment.run_until(at_ms(1_000));
    segment.start(A_WAN);
    segment.run_until(at_ms(10_000));
    let lan = segment.became_master(A_LAN, at_ms(0)).unwrap();
    let wan = segment.became_master(A_WAN, at_ms(0)).unwrap();
    assert_eq!(lan, wan, "both members become master at one instant");
    assert_eq!(wan - at_ms(1_000), master_down(150));
    assert_eq!(segment.masters(), vec![A_LAN, A_WAN]);
    assert_eq!(
        group_states(&segment, a),
        [StateKind::Backup, StateKind::Master]
    );
    assert_eq!(group_states(&segment, b), []);
}

#[test]
fn one_member_in_fault_takes_the_whole_group_to_fault_and_the_other_router_takes_both() {
    let (mut segment, a, b) = started();
    let fault_at = segment.now;
    segment.set_health(A_WAN, Health::Fault);
    assert_eq!(segment.nodes[A_LAN].fsm.kind(), StateKind::Fault);
    assert_eq!(segment.nodes[A_WAN].fsm.kind(), StateKind::Fault);
    assert_eq!(segment.vip_holders(), Vec::<usize>::new());
    // Both masters sent priority 0 as they left.
    for node in [A_LAN, A_WAN] {
        assert!(segment.log.contains(&(
            fault_at,
            Event::Advert {
                from: node,
                priority: PRIORITY_STOP
            }
        )));
    }
    segment.run_until(at_ms(20_000));
    assert_eq!(segment.masters(), vec![B_LAN, B_WAN]);
    let lan = segment.became_master(B_LAN, fault_at).unwrap();
    let wan = segment.became_master(B_WAN, fault_at).unwrap();
    assert_eq!(lan, wan);
    assert_eq!(
        lan - fault_at,
        Duration::from_micros(156 * 1_000_000 / 256),
        "priority 0: B takes over after its Skew_Time"
    );
    assert_eq!(
        group_states(&segment, a),
        [StateKind::Backup, StateKind::Master, StateKind::Fault]
    );
    assert_eq!(
        group_states(&segment, b),
        [StateKind::Backup, StateKind::Master]
    );

    // The fault clears: A's pair comes back as backups, preempts together.
    let back_at = segment.now;
    segment.set_health(A_WAN, Health::Healthy);
    assert_eq!(segment.nodes[A_LAN].fsm.kind(), StateKind::Backup);
    assert_eq!(segment.nodes[A_WAN].fsm.kind(), StateKind::Backup);
    segment.run_until(at_ms(30_000));
    assert_eq!(segment.masters(), vec![A_LAN, A_WAN]);
    assert_eq!(
        segment.became_master(A_LAN, back_at),
        segment.became_master(A_WAN, back_at)
    );
    assert_eq!(
        group_states(&segment, b),
        [StateKind::Backup, StateKind::Master, StateKind::Backup]
    );
}

#[test]
fn the_group_leaves_fault_only_when_no_member_has_a_fault_reason() {
    let (mut segment, a, _) = started();
    segment.set_health(A_LAN, Health::Fault);
    segment.set_health(A_WAN, Health::Fault);
    segment.set_health(A_LAN, Health::Healthy);
    assert_eq!(segment.nodes[A_LAN].fsm.kind(), StateKind::Fault);
    assert_eq!(segment.nodes[A_WAN].fsm.kind(), StateKind::Fault);
    segment.run_until(at_ms(20_000));
    assert_eq!(segment.nodes[A_LAN].fsm.kind(), StateKind::Fault);
    segment.set_health(A_WAN, Health::Healthy);
    assert_eq!(segment.nodes[A_LAN].fsm.kind(), StateKind::Backup);
    assert_eq!(segment.nodes[A_WAN].fsm.kind(), StateKind::Backup);
    assert_eq!(
        group_states(&segment, a),
        [
            StateKind::Backup,
            StateKind::Master,
            StateKind::Fault,
            StateKind::Backup
        ]
    );
}

#[test]
fn a_master_member_demoted_to_backup_takes_every_member_to_backup() {
    let (mut segment, a, b) = started();
    let demoted_at = segment.now;
    // A router outside the groups advertises the WAN with priority 200.
    segment.inject(A_WAN, addr(9), 200);
    assert_eq!(segment.nodes[A_WAN].fsm.kind(), StateKind::Backup);
    assert_eq!(
        segment.nodes[A_LAN].fsm.kind(),
        StateKind::Backup,
        "the LAN follows the WAN"
    );
    assert!(segment.log.contains(&(
        demoted_at,
        Event::Advert {
            from: A_LAN,
            priority: PRIORITY_STOP
        }
    )));
    assert_eq!(group_states(&segment, a).last(), Some(&StateKind::Backup));
    // B's WAN follows the outsider too, so B's LAN, whose timer fires as
    // nobody advertises the LAN, may not become master alone: keepalived's
    // rule prefers no master over a split group.
    segment.inject(B_WAN, addr(9), 200);
    segment.run_until(demoted_at + Duration::from_millis(2_000));
    assert_eq!(segment.masters(), Vec::<usize>::new());
    assert_eq!(group_states(&segment, b), [StateKind::Backup]);
}

#[test]
fn an_owner_in_a_group_waits_for_the_group() {
    let mut segment = Segment::new(vec![params(1, 255, true), wan(params(1, 150, true))]);
    let a = segment.group(&[0, 1]);
    // As the daemon does: every instance exists before the groups settle.
    segment.start_all(&[0, 1]);
    assert_eq!(
        segment.masters(),
        Vec::<usize>::new(),
        "the WAN is no owner"
    );
    segment.run_until(at_ms(10_000));
    assert_eq!(segment.masters(), vec![0, 1]);
    assert_eq!(
        segment.became_master(0, at_ms(0)),
        segment.became_master(1, at_ms(0))
    );
    assert_eq!(
        group_states(&segment, a),
        [StateKind::Backup, StateKind::Master]
    );
}

#[test]
fn a_single_member_group_behaves_as_the_instance_alone() {
    let mut segment = Segment::new(vec![params(1, 150, true), params(2, 100, true)]);
    segment.group(&[0]);
    segment.start(0);
    segment.start(1);
    segment.run_until(at_ms(10_000));
    assert_eq!(segment.masters(), vec![0]);
    assert_eq!(
        segment.became_master(0, at_ms(0)).unwrap() - at_ms(0),
        master_down(150)
    );
}
