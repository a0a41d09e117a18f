//! Priorities, health and sync groups at run time: after a link or a
//! tracker changed, every instance gets the priority and health they give
//! it, and after any event of a group's member the group's rules run
//! ([`crate::proto::group`]).

use super::instance::Runtime;
use super::Daemon;
use crate::config::GroupConfig;
use crate::proto::fsm::Instance;
use crate::proto::group::SyncGroup;
use crate::proto::time::Instant;

/// A group, with its state.
pub(super) struct Group {
    pub(super) config: GroupConfig,
    pub(super) sync: SyncGroup,
}

/// The groups of a new config. One whose members are unchanged keeps its
/// state, so a reload notifies nothing for it.
pub(super) fn rebuild(configs: Vec<GroupConfig>, old: Vec<Group>) -> Vec<Group> {
    configs
        .into_iter()
        .map(|config| {
            let sync = old
                .iter()
                .find(|g| g.config.name == config.name && g.config.members == config.members)
                .map(|g| g.sync.clone())
                .unwrap_or_default();
            Group { config, sync }
        })
        .collect()
}

impl Daemon {
    /// Gives every instance the priority and health its link and trackers
    /// say, then runs every group's rules.
    pub(super) fn refresh(&mut self, now: Instant) {
        for slot in 0..self.instances.len() {
            let instance = &self.instances[slot];
            let effective = self.tracking.effective(
                instance.fsm.params().priority,
                &instance.config.trackers,
                self.links[instance.link].up,
            );
            let output = self.instances[slot]
                .fsm
                .set_priority(now, effective.priority);
            self.execute(slot, now, &output);
            self.instances[slot].health = effective.health;
            if self.instances[slot].group.is_none() {
                let output = self.instances[slot].fsm.set_health(now, effective.health);
                self.execute(slot, now, &output);
            }
        }
        for group in 0..self.groups.len() {
            self.settle_group(group, now);
        }
    }

    /// After an event of an instance: its group's rules, if it has one.
    pub(super) fn settle_group_of(&mut self, slot: usize, now: Instant) {
        if let Some(group) = self.instances[slot].group {
            self.settle_group(group, now);
        }
    }

    fn settle_group(&mut self, group: usize, now: Instant) {
        // The members' slots and health, in slot order.
        let (mut slots, mut health) = (Vec::new(), Vec::new());
        for (slot, instance) in self.instances.iter().enumerate() {
            if instance.group == Some(group) {
                slots.push(slot);
                health.push(instance.health);
            }
        }
        if slots.is_empty() {
            return;
        }
        let mut members = members_of(&mut self.instances, group);
        let (outputs, transition) = self.groups[group].sync.settle(now, &mut members, &health);
        for (index, output) in &outputs {
            self.execute(slots[*index], now, output);
        }
        if let Some(transition) = transition {
            self.notify_group(group, now, transition.to);
        }
    }

    /// At shutdown, once every member stopped: the groups' STOP.
    pub(super) fn stop_groups(&mut self, now: Instant) {
        for group in 0..self.groups.len() {
            let members = members_of(&mut self.instances, group);
            if let Some(transition) = self.groups[group].sync.observe(&members) {
                self.notify_group(group, now, transition.to);
            }
        }
    }

    /// The group an instance of this name belongs to, by index.
    pub(super) fn group_index(&self, instance: &str) -> Option<usize> {
        self.groups
            .iter()
            .position(|g| g.config.members.iter().any(|m| m == instance))
    }
}

/// The state machines of a group's members, in slot order.
fn members_of(instances: &mut [Runtime], group: usize) -> Vec<&mut Instance> {
    let mut members = Vec::new();
    for instance in instances {
        if instance.group == Some(group) {
            members.push(&mut instance.fsm);
        }
    }
    members
}
