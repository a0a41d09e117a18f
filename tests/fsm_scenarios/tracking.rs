//! Trackers: each kind moves the effective priority or causes FAULT as
//! keepalived defines it, the clamp holds, the owner stays at 255, and the
//! state machine acts on a change at once.

use std::time::Duration;

use crate::segment::*;
use tinyvrrp::proto::fsm::{Health, Instance, StateKind, PRIORITY_OWNER, PRIORITY_STOP};
use tinyvrrp::proto::track::{self, Effective, ScriptState, Verdict};

#[test]
fn interface_trackers_weight_zero_faults_positive_adds_while_up_negative_subtracts_while_down() {
    assert_eq!(track::interface(0, false), Verdict::Fault);
    assert_eq!(track::interface(0, true), Verdict::Add(0));
    assert_eq!(track::interface(20, true), Verdict::Add(20));
    assert_eq!(track::interface(20, false), Verdict::Add(0));
    assert_eq!(track::interface(-20, false), Verdict::Add(-20));
    assert_eq!(track::interface(-20, true), Verdict::Add(0));
}

#[test]
fn script_trackers_wait_for_a_first_result_only_when_unweighted() {
    assert_eq!(track::script(0, ScriptState::Pending), Verdict::Pending);
    assert_eq!(track::script(-10, ScriptState::Pending), Verdict::Add(0));
    assert_eq!(track::script(0, ScriptState::Ko), Verdict::Fault);
    assert_eq!(track::script(0, ScriptState::Ok), Verdict::Add(0));
    assert_eq!(track::script(10, ScriptState::Ok), Verdict::Add(10));
    assert_eq!(track::script(-10, ScriptState::Ko), Verdict::Add(-10));
}

#[test]
fn file_trackers_multiply_and_fault_at_minus_254_or_on_any_value_with_weight_zero() {
    assert_eq!(track::file(1, 0), Verdict::Add(0));
    assert_eq!(track::file(1, -50), Verdict::Add(-50));
    assert_eq!(track::file(-2, 10), Verdict::Add(-20));
    assert_eq!(track::file(1, 300), Verdict::Add(253));
    assert_eq!(track::file(2, -127), Verdict::Fault);
    assert_eq!(track::file(1, -253), Verdict::Add(-253));
    assert_eq!(track::file(0, 0), Verdict::Add(0));
    assert_eq!(track::file(0, 7), Verdict::Fault);
    assert_eq!(track::file(0, -1), Verdict::Fault);
    assert_eq!(track::file(254, i32::MIN), Verdict::Fault);
}

#[test]
fn the_effective_priority_is_clamped_to_1_through_254_and_an_owner_keeps_255() {
    let healthy = |priority| Effective {
        priority,
        health: Health::Healthy,
    };
    assert_eq!(track::effective(100, &[Verdict::Add(30)]), healthy(130));
    assert_eq!(
        track::effective(100, &[Verdict::Add(200), Verdict::Add(200)]),
        healthy(254)
    );
    assert_eq!(track::effective(100, &[Verdict::Add(-253)]), healthy(1));
    assert_eq!(
        track::effective(PRIORITY_OWNER, &[Verdict::Add(-50)]),
        healthy(255)
    );
    assert_eq!(
        track::effective(100, &[Verdict::Pending, Verdict::Add(-10)]),
        Effective {
            priority: 90,
            health: Health::Pending
        }
    );
    assert_eq!(
        track::effective(PRIORITY_OWNER, &[Verdict::Pending, Verdict::Fault]).health,
        Health::Fault,
        "an unweighted tracker still faults an owner"
    );
}

#[test]
fn a_master_advertises_a_priority_change_at_once_and_a_preempting_backup_takes_over() {
    let mut segment = Segment::new(vec![params(1, 150, true), params(2, 120, true)]);
    segment.start(0);
    segment.start(1);
    segment.run_until(at_ms(10_500));
    assert_eq!(segment.masters(), vec![0]);
    let last_accepted = segment.last_advert_from(0).unwrap();
    segment.set_priority(0, 100);
    assert_eq!(
        segment.log.last(),
        Some(&(
            at_ms(10_500),
            Event::Advert {
                from: 0,
                priority: 100
            }
        )),
        "the lower priority goes out at once, not at the next interval"
    );
    segment.run_until(at_ms(20_000));
    assert_eq!(segment.masters(), vec![1]);
    assert_eq!(
        segment.became_master(1, at_ms(10_500)).unwrap() - last_accepted,
        master_down(120),
        "the backup discards the lower adverts and its timer runs out"
    );
    segment.set_priority(0, 150);
    segment.run_until(at_ms(30_000));
    assert_eq!(segment.masters(), vec![0], "restored, it preempts again");
}

#[test]
fn a_backup_that_rises_above_the_master_preempts() {
    let mut segment = Segment::new(vec![params(1, 150, true), params(2, 120, true)]);
    segment.start(0);
    segment.start(1);
    segment.run_until(at_ms(10_000));
    segment.set_priority(1, 200);
    segment.run_until(at_ms(20_000));
    assert_eq!(segment.masters(), vec![1]);
    assert_eq!(segment.nodes[1].fsm.priority(), 200);
    assert_eq!(segment.nodes[1].fsm.params().priority, 120);
}

#[test]
fn a_master_faulted_by_a_tracker_sends_priority_zero_and_the_backup_takes_over_after_skew_time() {
    let mut segment = Segment::new(vec![params(1, 150, true), params(2, 120, true)]);
    segment.start(0);
    segment.start(1);
    segment.run_until(at_ms(10_000));
    segment.set_health(0, Health::Fault);
    assert!(segment.log.contains(&(
        at_ms(10_000),
        Event::Advert {
            from: 0,
            priority: PRIORITY_STOP
        }
    )));
    assert_eq!(segment.nodes[0].fsm.kind(), StateKind::Fault);
    segment.run_until(at_ms(20_000));
    assert_eq!(
        segment.became_master(1, at_ms(10_000)).unwrap() - at_ms(10_000),
        Duration::from_micros(136 * 1_000_000 / 256)
    );
    segment.set_health(0, Health::Healthy);
    segment.run_until(at_ms(30_000));
    assert_eq!(segment.masters(), vec![0]);
}

#[test]
fn a_pending_script_holds_the_instance_in_initialize_until_its_first_result() {
    let mut fsm = Instance::new(params(1, 150, true));
    assert_eq!(
        fsm.set_health(at_ms(0), Health::Pending),
        Default::default()
    );
    assert_eq!(fsm.kind(), StateKind::Initialize);
    assert_eq!(fsm.poll_at(), None);
    let output = fsm.set_health(at_ms(300), Health::Healthy);
    assert_eq!(fsm.kind(), StateKind::Backup);
    assert_eq!(output.transition.map(|t| t.to), Some(StateKind::Backup));
    assert_eq!(fsm.poll_at(), Some(at_ms(300) + master_down(150)));
}

#[test]
fn an_owner_never_changes_priority() {
    let mut segment = Segment::new(vec![params(1, PRIORITY_OWNER, true)]);
    segment.start(0);
    let output = segment.nodes[0].fsm.set_priority(at_ms(0), 100);
    assert_eq!(output, Default::default());
    assert_eq!(segment.nodes[0].fsm.priority(), PRIORITY_OWNER);
}

#[test]
fn reconfigure_keeps_the_effective_priority_until_the_trackers_give_a_new_one() {
    let mut fsm = Instance::new(params(1, 150, true));
    fsm.set_health(at_ms(0), Health::Healthy);
    fsm.set_priority(at_ms(0), 90);
    fsm.reconfigure(params(1, 160, true));
    assert_eq!(fsm.priority(), 90);
    fsm.set_priority(at_ms(10), 100);
    assert_eq!(fsm.priority(), 100);
}
