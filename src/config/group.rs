//! One `group NAME` block (keepalived's `vrrp_sync_group`), and the checks
//! that tie the groups to their member instances.

use crate::proto::fsm::PRIORITY_OWNER;

use super::script::Scripts;
use super::settings::{Settings, Syntax};
use super::track::{check_owner, state_scripts, Tracked, STATE_KEYS};
use super::{Directive, Errors, GroupConfig, InstanceConfig, Trackers};

/// The single-valued keys of a group besides [`STATE_KEYS`].
const KEYS: &[(&str, Syntax)] = &[("notify", Syntax::Text)];

/// A group block while its directives are read.
pub(super) struct GroupBlock {
    name: String,
    line: usize,
    members: Vec<(String, usize)>,
    settings: Settings,
    tracked: Tracked,
    /// A line of this block (or its header) was rejected.
    had_errors: bool,
}

impl GroupBlock {
    pub(super) fn new(name: String, line: usize, had_errors: bool) -> GroupBlock {
        GroupBlock {
            name,
            line,
            members: Vec::new(),
            settings: Settings::default(),
            tracked: Tracked::default(),
            had_errors,
        }
    }

    pub(super) fn apply(&mut self, directive: &Directive, errors: &mut Errors<'_>) {
        if let Err(message) = self.apply_value(directive) {
            errors.at(directive.line, message);
            self.had_errors = true;
        }
    }

    fn apply_value(&mut self, directive: &Directive) -> Result<(), String> {
        let settings = &mut self.settings;
        let name = &self.name;
        let known = self.tracked.apply(directive).or_else(|| {
            settings
                .apply(STATE_KEYS, directive, "group", name)
                .or_else(|| settings.apply(KEYS, directive, "group", name))
        });
        if let Some(result) = known {
            return result;
        }
        let key = &directive.key;
        if key != "member" {
            return Err(format!("unknown key '{key}' in group '{name}'"));
        }
        let member = directive.value()?;
        if self.members.iter().any(|(m, _)| m == member) {
            return Err(format!("member {member} listed twice"));
        }
        self.members.push((member.to_string(), directive.line));
        Ok(())
    }

    /// The group, with the line of each member; None after errors.
    fn finish(
        mut self,
        scripts: &Scripts,
        errors: &mut Errors<'_>,
    ) -> Option<(GroupConfig, Vec<usize>)> {
        let before = errors.list.len();
        let trackers = self.tracked.finish(scripts, errors);
        if self.had_errors {
            return None;
        }
        if self.members.is_empty() {
            errors.fmt(
                self.line,
                format_args!("group '{}' has no member", self.name),
            );
        }
        if errors.list.len() != before {
            return None;
        }
        let (members, lines) = self.members.into_iter().unzip();
        let group = GroupConfig {
            name: self.name,
            line: self.line,
            members,
            trackers,
            notify: self.settings.text("notify").map(|(script, _)| script),
            notify_states: state_scripts(&mut self.settings),
        };
        Some((group, lines))
    }
}

/// Validates the group blocks and ties them to the instances: a member
/// names an instance (`instance_names` holds every instance block's, also
/// of those with errors, which are not blamed twice), an instance is in
/// one group at most, and each member gets the group's trackers after its
/// own, none of them weighted if it is an address owner.
pub(super) fn finish_groups(
    blocks: Vec<GroupBlock>,
    scripts: &Scripts,
    instances: &mut [InstanceConfig],
    instance_names: &[String],
    errors: &mut Errors<'_>,
) -> Vec<GroupConfig> {
    let mut groups: Vec<GroupConfig> = Vec::new();
    // (instance, its group, the member line) of each member seen so far.
    let mut placed: Vec<(String, String, usize)> = Vec::new();
    for block in blocks {
        let Some((group, lines)) = block.finish(scripts, errors) else {
            continue;
        };
        if let Some(other) = groups.iter().find(|g| g.name == group.name) {
            errors.fmt(
                group.line,
                format_args!(
                    "group '{}' already defined at line {}",
                    group.name, other.line
                ),
            );
            continue;
        }
        for (member, &line) in group.members.iter().zip(&lines) {
            if !instance_names.contains(member) {
                errors.fmt(line, format_args!("member {member} names no instance"));
                continue;
            }
            if let Some((_, other, other_line)) = placed.iter().find(|(m, _, _)| m == member) {
                errors.fmt(
                    line,
                    format_args!(
                        "instance '{member}' is already a member of group '{other}' at line {other_line}"
                    ),
                );
                continue;
            }
            placed.push((member.clone(), group.name.clone(), line));
            let Some(instance) = instances.iter_mut().find(|i| i.name == *member) else {
                continue;
            };
            if instance.priority == PRIORITY_OWNER {
                let whose = format!(
                    "of group '{}' reaches instance '{member}' (priority 255)",
                    group.name
                );
                check_owner(&group.trackers, &whose, errors);
            }
            append(&mut instance.trackers, &group.trackers);
        }
        groups.push(group);
    }
    groups
}

fn append(to: &mut Trackers, from: &Trackers) {
    to.interfaces.extend(from.interfaces.iter().cloned());
    to.scripts.extend(from.scripts.iter().cloned());
    to.files.extend(from.files.iter().cloned());
}
