//! Sync groups, keepalived's `vrrp_sync_group`: virtual routers that must
//! move together, such as a LAN and a WAN, or traffic enters one router and
//! leaves through the other. Pure: the daemon hands the members' state
//! machines in after each event of a member and carries out what comes
//! back.
//!
//! The rules, each as keepalived has it:
//! - one member in FAULT puts every member in FAULT (a master sends
//!   priority 0 and releases its addresses), and the group leaves FAULT
//!   only when no member has a fault reason;
//! - a master member that becomes backup takes every member to backup;
//! - a member becomes master only when every member wants to, and then
//!   they all do, together.

use super::fsm::{Health, Instance, Output, StateKind, Transition};
use super::time::Instant;

/// A group's state, as its notifications report it.
#[derive(Debug, Clone, Default)]
pub struct SyncGroup {
    state: Option<StateKind>,
}

impl SyncGroup {
    /// The state last reported: FAULT if a member is in Fault, MASTER if
    /// all are masters, INIT before start and after stop, BACKUP
    /// otherwise. None before the first member started.
    pub fn state(&self) -> Option<StateKind> {
        self.state
    }

    /// Applies the rules after an event of a member. `health` is each
    /// member's own (its link and its trackers, the group's trackers
    /// included). Returns the members' outputs in the order they happened,
    /// by index into `members`, and the group's transition.
    pub fn settle(
        &mut self,
        now: Instant,
        members: &mut [&mut Instance],
        health: &[Health],
    ) -> (Vec<(usize, Output)>, Option<Transition>) {
        let mut outputs = Vec::new();
        let group_fault = health.contains(&Health::Fault);
        for (index, member) in members.iter_mut().enumerate() {
            member.set_sync_hold(true);
            let health = if group_fault {
                Health::Fault
            } else {
                health[index]
            };
            outputs.push((index, member.set_health(now, health)));
        }
        if !group_fault {
            let all_masters = members.iter().all(|m| m.kind() == StateKind::Master);
            if self.state == Some(StateKind::Master) && !all_masters {
                // keepalived's vrrp_sync_backup.
                for (index, member) in members.iter_mut().enumerate() {
                    outputs.push((index, member.force_backup(now)));
                }
            } else if members.iter().all(|m| m.wants_master()) {
                // keepalived's vrrp_sync_can_goto_master, then vrrp_sync_master.
                for (index, member) in members.iter_mut().enumerate() {
                    outputs.push((index, member.force_master(now)));
                }
            }
        }
        outputs.retain(|(_, output)| *output != Output::default());
        (outputs, self.observe(members))
    }

    /// Takes the group's state from its members without applying a rule
    /// (at shutdown); returns the transition if it changed.
    pub fn observe(&mut self, members: &[&mut Instance]) -> Option<Transition> {
        let kinds = || members.iter().map(|m| m.kind());
        let state = if kinds().any(|k| k == StateKind::Fault) {
            StateKind::Fault
        } else if kinds().all(|k| k == StateKind::Master) {
            StateKind::Master
        } else if kinds().all(|k| k == StateKind::Initialize) {
            StateKind::Initialize
        } else {
            StateKind::Backup
        };
        let from = match self.state {
            None if state == StateKind::Initialize => return None,
            None => StateKind::Initialize,
            Some(from) if from == state => return None,
            Some(from) => from,
        };
        self.state = Some(state);
        Some(Transition { from, to: state })
    }
}
