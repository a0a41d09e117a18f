//! One `group NAME` block (keepalived's `vrrp_sync_group`), and the checks
//! that tie the groups to their member instances.

use crate::proto::fsm::PRIORITY_OWNER;

use super::block::{of_kind, Block, Kind};
use super::script::Scripts;
use super::settings::{Syntax, Value};
use super::track::{check_owner, state_scripts, trackers};
use super::{Errors, GroupConfig, InstanceConfig, Target, Trackers};

/// The keys of a group besides the shared ones.
pub(super) const KEYS: &[(&str, Syntax)] = &[("member", Syntax::Member), ("notify", Syntax::Text)];

/// The group of a block, and each member with its line; None after
/// errors.
fn finish<'a>(
    block: &'a Block,
    scripts: &Scripts,
    errors: &mut Errors<'_>,
) -> Option<(GroupConfig, Vec<(&'a str, usize)>)> {
    let before = errors.list.len();
    let settings = &block.settings;
    let trackers = trackers(settings, scripts, errors);
    if block.had_errors {
        return None;
    }
    let mut members = Vec::new();
    let mut listed = Vec::new();
    for (key, value, line) in settings.iter() {
        if let ("member", Value::Text(member)) = (*key, value) {
            members.push(member.clone());
            listed.push((member.as_str(), *line));
        }
    }
    if members.is_empty() {
        errors.fmt(
            block.line,
            format_args!("group '{}' has no member", block.name),
        );
    }
    if errors.list.len() != before {
        return None;
    }
    let group = GroupConfig {
        members,
        trackers,
        notify: settings.text("notify").map(|(script, _)| script),
        notify_states: state_scripts(settings),
        name: block.name.to_string(),
        line: block.line,
    };
    Some((group, listed))
}

/// Validates the group blocks among `blocks` and ties them to the
/// instances: a member names an instance block (one with errors too, which
/// is not blamed twice), an instance is in one group at most, and each
/// member gets the group's trackers after its own, none of them weighted
/// if it is an address owner.
pub(super) fn finish_groups(
    blocks: &[Block],
    scripts: &Scripts,
    instances: &mut [InstanceConfig],
    errors: &mut Errors<'_>,
) -> Vec<GroupConfig> {
    let mut groups: Vec<GroupConfig> = Vec::new();
    // (instance, its group, the member line) of each member seen so far.
    let mut placed: Vec<(&str, &str, usize)> = Vec::new();
    for block in of_kind(blocks, Kind::Group) {
        let Some((group, listed)) = finish(block, scripts, errors) else {
            continue;
        };
        if let Some(other) = groups.iter().find(|g| g.name == group.name) {
            errors.defined_twice("group", &group.name, group.line, other.line);
            continue;
        }
        for (member, line) in listed {
            if !of_kind(blocks, Kind::Instance).any(|b| b.name == member) {
                errors.fmt(line, format_args!("member {member} names no instance"));
                continue;
            }
            if let Some((_, other, other_line)) = placed.iter().find(|(m, _, _)| *m == member) {
                errors.fmt(
                    line,
                    format_args!(
                        "instance '{member}' is already a member of group '{other}' at line {other_line}"
                    ),
                );
                continue;
            }
            placed.push((member, &block.name, line));
            let Some(instance) = instances.iter_mut().find(|i| i.name == member) else {
                continue;
            };
            if instance.priority == PRIORITY_OWNER {
                let whose = format_args!(
                    "of group '{}' reaches instance '{member}' (priority 255)",
                    group.name
                );
                check_owner(&group.trackers, whose, errors);
            }
            append(&mut instance.trackers, &group.trackers);
        }
        groups.push(group);
    }
    groups
}

/// `to`'s trackers, then `from`'s, kind by kind.
fn append(to: &mut Trackers, from: &Trackers) {
    let own = core::mem::take(to);
    for &target in &Target::ALL {
        for list in [&own, from] {
            for tracker in list {
                if tracker.target == target {
                    to.push(tracker.clone());
                }
            }
        }
    }
}
