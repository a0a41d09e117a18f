//! The keys that instance and group blocks share: the trackers
//! (`track-interface`, `track-script`, `track-file`) and the per-state
//! notify commands (`notify-master`, `notify-backup`, `notify-fault`,
//! `notify-stop`). Each takes several words, which UCI gives as one quoted
//! value.

use super::script::Scripts;
use super::values::{parse_interface, parse_path, parse_weight};
use super::{
    set, At, Directive, Errors, StateScripts, TrackFile, TrackInterface, TrackScript, Trackers,
};

/// keepalived's ranges: interfaces and scripts -253..253, files -254..254.
pub(super) const MAX_WEIGHT: i32 = 253;
const MAX_FILE_WEIGHT: i32 = 254;
/// A `track-file` without `weight` adds the number in the file.
const DEFAULT_FILE_WEIGHT: i32 = 1;

/// The shared keys of one block while its directives are read.
#[derive(Default)]
pub(super) struct Shared {
    interfaces: Vec<TrackInterface>,
    scripts: Vec<ScriptRef>,
    files: Vec<TrackFile>,
    master: At<Vec<String>>,
    backup: At<Vec<String>>,
    fault: At<Vec<String>>,
    stop: At<Vec<String>>,
}

/// A `track-script` while the script blocks are not all known: without
/// `weight N` its weight is the script block's.
struct ScriptRef {
    script: String,
    weight: Option<i32>,
    line: usize,
}

impl Shared {
    /// Reads `directive` when its key is a shared one, else returns None.
    /// `kind` and `name` name the block in messages.
    pub(super) fn apply(
        &mut self,
        directive: &Directive,
        kind: &str,
        name: &str,
    ) -> Option<Result<(), String>> {
        let line = directive.line;
        let key = directive.key.as_str();
        let words = directive.words();
        let slot = match key {
            "track-interface" => return Some(self.track_interface(&words, line)),
            "track-script" => return Some(self.track_script(&words, line)),
            "track-file" => return Some(self.track_file(&words, line)),
            "notify-master" => &mut self.master,
            "notify-backup" => &mut self.backup,
            "notify-fault" => &mut self.fault,
            "notify-stop" => &mut self.stop,
            _ => return None,
        };
        Some(if words.is_empty() {
            Err(format!("'{key}' needs a command"))
        } else if set(slot, words.iter().map(|w| w.to_string()).collect(), line) {
            Ok(())
        } else {
            Err(format!("'{key}' given twice in {kind} '{name}'"))
        })
    }

    fn track_interface(&mut self, words: &[&str], line: usize) -> Result<(), String> {
        let key = "track-interface";
        let (name, weight) = target_and_weight(key, "IFNAME", words, MAX_WEIGHT)?;
        let interface = parse_interface(name)?;
        if let Some(other) = self.interfaces.iter().find(|t| t.interface == interface) {
            return Err(already(key, name, other.line));
        }
        self.interfaces.push(TrackInterface {
            interface,
            weight: weight.unwrap_or(0),
            line,
        });
        Ok(())
    }

    fn track_script(&mut self, words: &[&str], line: usize) -> Result<(), String> {
        let key = "track-script";
        let (script, weight) = target_and_weight(key, "NAME", words, MAX_WEIGHT)?;
        if let Some(other) = self.scripts.iter().find(|t| t.script == script) {
            return Err(already(key, script, other.line));
        }
        self.scripts.push(ScriptRef {
            script: script.to_string(),
            weight,
            line,
        });
        Ok(())
    }

    fn track_file(&mut self, words: &[&str], line: usize) -> Result<(), String> {
        let key = "track-file";
        let (path, weight) = target_and_weight(key, "PATH", words, MAX_FILE_WEIGHT)?;
        let path = parse_path(key, path)?;
        if let Some(other) = self.files.iter().find(|t| t.path == path) {
            return Err(already(key, &path, other.line));
        }
        self.files.push(TrackFile {
            path,
            weight: weight.unwrap_or(DEFAULT_FILE_WEIGHT),
            line,
        });
        Ok(())
    }

    /// The trackers, each `track-script` with its weight resolved, and the
    /// notify commands. A `track-script` naming no script block is an
    /// error.
    pub(super) fn finish(
        self,
        scripts: &Scripts,
        errors: &mut Errors<'_>,
    ) -> (Trackers, StateScripts) {
        let mut resolved = Vec::new();
        for reference in self.scripts {
            match scripts.weight(&reference.script) {
                Some(weight) => resolved.push(TrackScript {
                    script: reference.script,
                    weight: reference.weight.unwrap_or(weight),
                    line: reference.line,
                }),
                None => errors.fmt(
                    reference.line,
                    format_args!("track-script {} names no script block", reference.script),
                ),
            }
        }
        let trackers = Trackers {
            interfaces: self.interfaces,
            scripts: resolved,
            files: self.files,
        };
        let command = |slot: At<Vec<String>>| slot.map(|(argv, _)| argv);
        let states = StateScripts {
            master: command(self.master),
            backup: command(self.backup),
            fault: command(self.fault),
            stop: command(self.stop),
        };
        (trackers, states)
    }
}

/// `TARGET` or `TARGET weight N`.
fn target_and_weight<'a>(
    key: &str,
    what: &str,
    words: &[&'a str],
    max: i32,
) -> Result<(&'a str, Option<i32>), String> {
    match words {
        [target] => Ok((target, None)),
        [target, "weight", n] => Ok((target, Some(parse_weight(n, max)?))),
        [] => Err(format!("'{key}' needs a value")),
        _ => Err(format!(
            "expected: {key} {what} [weight N], not '{}'",
            words.join(" ")
        )),
    }
}

fn already(key: &str, target: &str, line: usize) -> String {
    format!("{key} {target} is already tracked at line {line}")
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
