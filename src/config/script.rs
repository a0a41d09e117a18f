//! One `script NAME` block (keepalived's `vrrp_script`): a command run
//! every `interval` whose exit status a `track-script` follows.

use super::block::{of_kind, Block, Kind};
use super::settings::{Syntax, SWITCH};
use super::track::MAX_WEIGHT;
use super::{Errors, ScriptConfig};

/// keepalived's defaults: every second, one result in a row decides.
const DEFAULT_INTERVAL_MS: i64 = 1000;
const DEFAULT_RISE_FALL: i64 = 1;
/// `interval` and `timeout`: 10ms..3600s.
const PERIOD: Syntax = Syntax::Duration {
    min: 10,
    max: 3_600_000,
    range: "10ms..3600s",
};
const RISE_FALL: Syntax = Syntax::Number(1, 1000);

/// The keys of a script block.
pub(super) const KEYS: &[(&str, Syntax)] = &[
    ("exec", Syntax::Command),
    ("interval", PERIOD),
    ("timeout", PERIOD),
    ("rise", RISE_FALL),
    ("fall", RISE_FALL),
    ("weight", Syntax::Number(-MAX_WEIGHT, MAX_WEIGHT)),
    ("init-fail", SWITCH),
];

/// The script of a block; None after errors.
fn finish(block: &Block, errors: &mut Errors<'_>) -> Option<ScriptConfig> {
    if block.had_errors {
        return None;
    }
    let settings = &block.settings;
    let Some(exec) = settings.command("exec") else {
        errors.fmt(
            block.line,
            format_args!("script '{}' has no exec", block.name),
        );
        return None;
    };
    let interval_ms = settings.number_or("interval", DEFAULT_INTERVAL_MS);
    Some(ScriptConfig {
        exec,
        interval_ms: interval_ms as u32,
        timeout_ms: settings.number_or("timeout", interval_ms) as u32,
        rise: settings.number_or("rise", DEFAULT_RISE_FALL) as u32,
        fall: settings.number_or("fall", DEFAULT_RISE_FALL) as u32,
        weight: settings.number_or("weight", 0) as i32,
        init_fail: settings.switch("init-fail").is_some_and(|(on, _)| on),
        name: block.name.to_string(),
        line: block.line,
    })
}

/// The script blocks once read: the valid ones, and all blocks, so that a
/// `track-script` naming a script block with errors is not blamed too.
pub(super) struct Scripts<'a> {
    pub(super) built: Vec<ScriptConfig>,
    blocks: &'a [Block],
}

impl<'a> Scripts<'a> {
    /// Validates every script block; a name given twice is an error at the
    /// second.
    pub(super) fn finish(blocks: &'a [Block], errors: &mut Errors<'_>) -> Scripts<'a> {
        let mut built: Vec<ScriptConfig> = Vec::new();
        for block in of_kind(blocks, Kind::Script) {
            let Some(script) = finish(block, errors) else {
                continue;
            };
            match built.iter().find(|s| s.name == script.name) {
                Some(other) => {
                    errors.defined_twice("script", &script.name, script.line, other.line)
                }
                None => built.push(script),
            }
        }
        Scripts { built, blocks }
    }

    /// The weight a `track-script NAME` without `weight` gets: the block's
    /// (0 when the block has errors of its own); None when no block has
    /// that name.
    pub(super) fn weight(&self, name: &str) -> Option<i32> {
        if !of_kind(self.blocks, Kind::Script).any(|b| b.name == name) {
            return None;
        }
        Some(
            self.built
                .iter()
                .find(|s| s.name == name)
                .map_or(0, |s| s.weight),
        )
    }
}
