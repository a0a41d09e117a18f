//! A partition heals with two masters on the segment: the higher one
//! answers the lower one's adverts at once (an advert and announcements,
//! again after a delay), at most once a second; the lower one steps down at
//! the first higher advert it hears.

use crate::segment::*;
use tinyvrrp::proto::fsm::{StateKind, LOWER_PRIORITY_ANSWER_GAP, LOWER_PRIORITY_REPEAT_DELAY};

/// Two routers that became masters while the segment was split.
fn split_pair() -> Segment {
    let mut segment = Segment::new(vec![params(1, 150, true), params(2, 100, true)]);
    segment.connected = false;
    segment.start_all(&[0, 1]);
    segment.run_until(at_ms(10_000));
    assert_eq!(segment.masters(), vec![0, 1]);
    segment
}

#[test]
fn the_lower_master_steps_down_at_the_first_higher_advert() {
    let mut segment = split_pair();
    segment.connected = true;
    let healed = at_ms(10_000);
    segment.run_until(at_ms(12_000));
    assert_eq!(segment.masters(), vec![0]);
    assert_eq!(segment.vip_holders(), vec![0]);
    let stepped_down = segment.log.iter().find(|(at, e)| {
        *at >= healed
            && *e
                == Event::State {
                    node: 1,
                    state: StateKind::Backup,
                }
    });
    let first_higher = segment
        .log
        .iter()
        .find(|(at, e)| {
            *at >= healed
                && *e
                    == Event::Advert {
                        from: 0,
                        priority: 150,
                    }
        })
        .map(|(at, _)| *at);
    assert_eq!(stepped_down.map(|(at, _)| *at), first_higher);
}

#[test]
fn the_higher_master_answers_a_lower_advert_at_once_then_repeats_its_announcements() {
    let mut segment = split_pair();
    // The lower master's advert arrives before the higher one's.
    segment.connected = true;
    let heard = at_ms(10_003);
    segment.now = heard;
    segment.deliver(1, 100);
    assert!(segment.log.contains(&(
        heard,
        Event::Advert {
            from: 0,
            priority: 150
        }
    )));
    assert!(segment.log.contains(&(heard, Event::Garp { from: 0 })));
    // Our answer made the lower one step down at once.
    assert_eq!(segment.masters(), vec![0]);
    segment.run_until(heard + LOWER_PRIORITY_REPEAT_DELAY);
    let garps: Vec<_> = segment
        .log
        .iter()
        .filter(|(at, e)| *at >= heard && *e == Event::Garp { from: 0 })
        .map(|(at, _)| *at)
        .collect();
    assert_eq!(garps, [heard, heard + LOWER_PRIORITY_REPEAT_DELAY]);
}

#[test]
fn a_flood_of_lower_adverts_is_answered_once_a_second() {
    let mut segment = split_pair();
    let master = &mut segment.nodes[0].fsm;
    let params = master.params().clone();
    let lower = params.advert(100);
    let mut answers = Vec::new();
    // 1,000 lower adverts a second for three seconds, from a master that
    // does not hear us.
    for ms in 0..3000 {
        let now = at_ms(10_000 + ms);
        let output = master.handle_advert(now, addr(2), &lower).unwrap();
        assert!(output.lower_priority);
        if output.advert.is_some() {
            assert!(output.announce);
            answers.push(now);
        }
        assert_eq!(master.kind(), StateKind::Master);
    }
    let gap = LOWER_PRIORITY_ANSWER_GAP.as_millis() as u64;
    assert_eq!(
        answers,
        [at_ms(10_000), at_ms(10_000 + gap), at_ms(10_000 + 2 * gap)]
    );
}

#[test]
fn an_equal_priority_from_a_lower_address_is_answered_too() {
    let mut segment = Segment::new(vec![params(2, 100, true), params(1, 100, true)]);
    segment.connected = false;
    segment.start_all(&[0, 1]);
    segment.run_until(at_ms(10_000));
    segment.connected = true;
    segment.now = at_ms(10_001);
    segment.deliver(1, 100);
    assert!(segment
        .log
        .contains(&(at_ms(10_001), Event::Garp { from: 0 })));
    assert_eq!(segment.masters(), vec![0]);
}
