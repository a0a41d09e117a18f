//! The keys that instance and group blocks share: the trackers
//! (`track-interface`, `track-script`, `track-file`) and the per-state
//! notify commands (`notify-master`, `notify-backup`, `notify-fault`,
//! `notify-stop`). Each takes several words, which UCI gives as one quoted
//! value.

use super::script::Scripts;
use super::settings::{Settings, Syntax};
use super::values::{parse_interface, parse_number, parse_path};
use super::{Directive, Errors, StateScripts, TrackFile, TrackInterface, TrackScript, Trackers};

/// keepalived's ranges: interfaces and scripts -253..253, files -254..254.
pub(super) const MAX_WEIGHT: i32 = 253;
const MAX_FILE_WEIGHT: i32 = 254;
/// A `track-file` without `weight` adds the number in the file.
const DEFAULT_FILE_WEIGHT: i32 = 1;

/// The per-state notify commands, read as settings of the block.
pub(super) const STATE_KEYS: &[(&str, Syntax)] = &[
    ("notify-master", Syntax::Command),
    ("notify-backup", Syntax::Command),
    ("notify-fault", Syntax::Command),
    ("notify-stop", Syntax::Command),
];

/// What a tracker watches.
#[derive(Clone, Copy, PartialEq)]
enum Target {
    Interface,
    Script,
    File,
}

/// Each tracker key: what it watches, the TARGET of its syntax, and the
/// largest weight.
const TRACK_KEYS: [(&str, Target, &str, i32); 3] = [
    ("track-interface", Target::Interface, "IFNAME", MAX_WEIGHT),
    ("track-script", Target::Script, "NAME", MAX_WEIGHT),
    ("track-file", Target::File, "PATH", MAX_FILE_WEIGHT),
];

/// The trackers of one block while its directives are read, in the order
/// written. Without `weight N` a tracker's weight is its key's default,
/// for a `track-script` the script block's, which is known only later.
#[derive(Default)]
pub(super) struct Tracked(Vec<Tracker>);

struct Tracker {
    target: Target,
    name: String,
    weight: Option<i32>,
    line: usize,
}

impl Tracked {
    /// Reads `directive` when its key is a tracker's, else returns None.
    pub(super) fn apply(&mut self, directive: &Directive) -> Option<Result<(), String>> {
        let &(key, target, what, max) = TRACK_KEYS.iter().find(|k| k.0 == directive.key)?;
        Some(self.read(key, target, what, max, directive))
    }

    fn read(
        &mut self,
        key: &str,
        target: Target,
        what: &str,
        max: i32,
        directive: &Directive,
    ) -> Result<(), String> {
        let words = directive.words();
        let (name, weight) = match words.as_slice() {
            [name] => (name, None),
            [name, "weight", n] => (name, Some(parse_number("weight", n, -max, max)?)),
            [] => return Err(format!("'{key}' needs a value")),
            _ => {
                return Err(format!(
                    "expected: {key} {what} [weight N], not '{}'",
                    words.join(" ")
                ))
            }
        };
        let name = match target {
            Target::Interface => parse_interface(name)?,
            Target::Script => name.to_string(),
            Target::File => parse_path(key, name)?,
        };
        let same = |t: &&Tracker| t.target == target && t.name == name;
        if let Some(other) = self.0.iter().find(same) {
            return Err(format!(
                "{key} {name} is already tracked at line {}",
                other.line
            ));
        }
        self.0.push(Tracker {
            target,
            name,
            weight,
            line: directive.line,
        });
        Ok(())
    }

    /// The trackers, each `track-script` with its weight resolved. A
    /// `track-script` naming no script block is an error.
    pub(super) fn finish(self, scripts: &Scripts, errors: &mut Errors<'_>) -> Trackers {
        let mut trackers = Trackers::default();
        for Tracker {
            target,
            name,
            weight,
            line,
        } in self.0
        {
            match target {
                Target::Interface => trackers.interfaces.push(TrackInterface {
                    interface: name,
                    weight: weight.unwrap_or(0),
                    line,
                }),
                Target::Script => match scripts.weight(&name) {
                    Some(default) => trackers.scripts.push(TrackScript {
                        script: name,
                        weight: weight.unwrap_or(default),
                        line,
                    }),
                    None => errors.fmt(
                        line,
                        format_args!("track-script {name} names no script block"),
                    ),
                },
                Target::File => trackers.files.push(TrackFile {
                    path: name,
                    weight: weight.unwrap_or(DEFAULT_FILE_WEIGHT),
                    line,
                }),
            }
        }
        trackers
    }
}

/// The per-state notify commands among a block's settings.
pub(super) fn state_scripts(settings: &mut Settings) -> StateScripts {
    StateScripts {
        master: settings.command("notify-master"),
        backup: settings.command("notify-backup"),
        fault: settings.command("notify-fault"),
        stop: settings.command("notify-stop"),
    }
}

/// Every tracker as (key, what it tracks, weight, line), in the order
/// interfaces, scripts, files.
pub(super) fn entries(trackers: &Trackers) -> impl Iterator<Item = (&str, &str, i32, usize)> {
    let interfaces = trackers
        .interfaces
        .iter()
        .map(|t| ("track-interface", t.interface.as_str(), t.weight, t.line));
    let scripts = trackers
        .scripts
        .iter()
        .map(|t| ("track-script", t.script.as_str(), t.weight, t.line));
    let files = trackers
        .files
        .iter()
        .map(|t| ("track-file", t.path.as_str(), t.weight, t.line));
    interfaces.chain(scripts).chain(files)
}

/// RFC 5798 §5.2.4: an address owner's priority is 255 whatever happens,
/// so a weighted tracker reaching one is an error at the tracker's line;
/// `whose` says how it reaches the instance. (keepalived drops such
/// trackers with a warning.) Unweighted ones may still put it in FAULT.
pub(super) fn check_owner(trackers: &Trackers, whose: &str, errors: &mut Errors<'_>) {
    for (key, target, weight, line) in entries(trackers) {
        if weight != 0 {
            errors.fmt(
                line,
                format_args!(
                    "weighted trackers cannot change an address owner's priority (RFC 5798 §5.2.4): {key} {target} (weight {weight}) {whose}"
                ),
            );
        }
    }
}
