//! State-machine scenarios on virtual time: instances on a simulated
//! segment, timers jumped to, every effect logged and asserted.

/// Runs each named scenario of the enclosing module again with the
/// segment's family set to IPv6: `in_ipv6!(scenario_a, scenario_b)` inside
/// a `mod ipv6` of that module.
macro_rules! in_ipv6 {
    ($($scenario:ident),* $(,)?) => {$(
        #[test]
        fn $scenario() {
            crate::segment::FAMILY.with(|family| {
                family.set(tinyvrrp::proto::wire::Family::Ipv6)
            });
            super::$scenario();
        }
    )*};
}

mod election;
mod groups;
mod rollout;
mod segment;
mod split_brain;
mod tracking;
