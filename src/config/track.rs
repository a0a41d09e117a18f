//! The keys that instance and group blocks share: the trackers
//! (`track-interface`, `track-script`, `track-file`) and the per-state
//! notify commands (`notify-master`, `notify-backup`, `notify-fault`,
//! `notify-stop`). Each takes several words, which UCI gives as one quoted
//! value.

use core::fmt;

use super::script::Scripts;
use super::settings::{Settings, Syntax, Value};
use super::{Errors, StateScripts, Target, Tracker, Trackers};

/// keepalived's ranges: interfaces and scripts -253..253, files -254..254.
pub(super) const MAX_WEIGHT: i32 = 253;
const MAX_FILE_WEIGHT: i32 = 254;
/// A `track-file` without `weight` adds the number in the file.
const DEFAULT_FILE_WEIGHT: i32 = 1;

/// The keys of instances and groups alike.
pub(super) const SHARED_KEYS: &[(&str, Syntax)] = &[
    (
        "track-interface",
        Syntax::Track(Target::Interface, "IFNAME", MAX_WEIGHT),
    ),
    (
        "track-script",
        Syntax::Track(Target::Script, "NAME", MAX_WEIGHT),
    ),
    (
        "track-file",
        Syntax::Track(Target::File, "PATH", MAX_FILE_WEIGHT),
    ),
    ("notify-master", Syntax::Command),
    ("notify-backup", Syntax::Command),
    ("notify-fault", Syntax::Command),
    ("notify-stop", Syntax::Command),
];

/// The trackers of a block, each with its weight: its `weight N`, else
/// its key's default, for a `track-script` the script block's. A
/// `track-script` naming no script block is an error.
pub(super) fn trackers(
    settings: &Settings,
    scripts: &Scripts,
    errors: &mut Errors<'_>,
) -> Trackers {
    let mut trackers = Trackers::new();
    for &target in &Target::ALL {
        for &(_, ref value, line) in settings.iter() {
            let Value::Tracker(of, name, weight) = value else {
                continue;
            };
            if *of != target {
                continue;
            }
            let default = match target {
                Target::Interface => 0,
                Target::Script => match scripts.weight(name) {
                    Some(default) => default,
                    None => {
                        errors.fmt(
                            line,
                            format_args!("track-script {name} names no script block"),
                        );
                        continue;
                    }
                },
                Target::File => DEFAULT_FILE_WEIGHT,
            };
            trackers.push(Tracker {
                target,
                name: name.clone(),
                weight: weight.unwrap_or(default),
                line,
            });
        }
    }
    trackers
}

/// The per-state notify commands of a block.
pub(super) fn state_scripts(settings: &Settings) -> StateScripts {
    StateScripts {
        master: settings.command("notify-master"),
        backup: settings.command("notify-backup"),
        fault: settings.command("notify-fault"),
        stop: settings.command("notify-stop"),
    }
}

/// RFC 5798 §5.2.4: an address owner's priority is 255 whatever happens,
/// so a weighted tracker reaching one is an error at the tracker's line;
/// `whose` says how it reaches the instance. (keepalived drops such
/// trackers with a warning.) Unweighted ones may still put it in FAULT.
pub(super) fn check_owner(trackers: &Trackers, whose: fmt::Arguments<'_>, errors: &mut Errors<'_>) {
    for t in trackers.iter().filter(|t| t.weight != 0) {
        errors.fmt(
            t.line,
            format_args!(
                "weighted trackers cannot change an address owner's priority (RFC 5798 §5.2.4): {} {} (weight {}) {whose}",
                t.target.key(),
                t.name,
                t.weight
            ),
        );
    }
}
