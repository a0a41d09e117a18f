//! One `script NAME` block (keepalived's `vrrp_script`): a command run
//! every `interval` whose exit status a `track-script` follows.

use super::track::MAX_WEIGHT;
use super::values::{parse_duration_ms, parse_int, parse_switch, parse_weight};
use super::{set, At, Directive, Errors, ScriptConfig};

/// keepalived's defaults: every second, one result in a row decides.
const DEFAULT_INTERVAL_MS: u32 = 1000;
const DEFAULT_RISE_FALL: u32 = 1;
/// `interval` and `timeout`: 10ms..3600s.
const MIN_PERIOD_MS: u32 = 10;
const MAX_PERIOD_MS: u32 = 3_600_000;
const MAX_RISE_FALL: u32 = 1000;

/// A script block while its directives are read.
pub(super) struct ScriptBlock {
    pub(super) name: String,
    line: usize,
    exec: At<Vec<String>>,
    interval_ms: At<u32>,
    timeout_ms: At<u32>,
    rise: At<u32>,
    fall: At<u32>,
    weight: At<i32>,
    init_fail: At<bool>,
    /// A line of this block (or its header) was rejected.
    had_errors: bool,
}

impl ScriptBlock {
    pub(super) fn new(name: String, line: usize, had_errors: bool) -> ScriptBlock {
        ScriptBlock {
            name,
            line,
            exec: None,
            interval_ms: None,
            timeout_ms: None,
            rise: None,
            fall: None,
            weight: None,
            init_fail: None,
            had_errors,
        }
    }

    pub(super) fn apply(&mut self, directive: &Directive, errors: &mut Errors<'_>) {
        let line = directive.line;
        let key = directive.key.as_str();
        let value = directive.value();
        let result = match key {
            "exec" => match directive.words() {
                words if words.is_empty() => Err("'exec' needs a command".to_string()),
                words => Ok(set(
                    &mut self.exec,
                    words.iter().map(|w| w.to_string()).collect(),
                    line,
                )),
            },
            "interval" | "timeout" => value.and_then(|v| parse_period(key, v)).map(|ms| {
                let slot = match key {
                    "interval" => &mut self.interval_ms,
                    _ => &mut self.timeout_ms,
                };
                set(slot, ms, line)
            }),
            "rise" | "fall" => value
                .and_then(|v| parse_int(v, 1, MAX_RISE_FALL, key))
                .map(|n| {
                    let slot = match key {
                        "rise" => &mut self.rise,
                        _ => &mut self.fall,
                    };
                    set(slot, n, line)
                }),
            "weight" => value
                .and_then(|v| parse_weight(v, MAX_WEIGHT))
                .map(|w| set(&mut self.weight, w, line)),
            "init-fail" => value
                .and_then(|v| parse_switch(key, v))
                .map(|on| set(&mut self.init_fail, on, line)),
            _ => Err(format!("unknown key '{key}' in script '{}'", self.name)),
        };
        match result {
            Ok(true) => return,
            Ok(false) => errors.fmt(
                line,
                format_args!("'{key}' given twice in script '{}'", self.name),
            ),
            Err(message) => errors.at(line, message),
        }
        self.had_errors = true;
    }

    fn finish(self, errors: &mut Errors<'_>) -> Option<ScriptConfig> {
        if self.had_errors {
            return None;
        }
        let Some((exec, _)) = self.exec else {
            errors.fmt(
                self.line,
                format_args!("script '{}' has no exec", self.name),
            );
            return None;
        };
        let interval_ms = self.interval_ms.map_or(DEFAULT_INTERVAL_MS, |(ms, _)| ms);
        Some(ScriptConfig {
            name: self.name,
            line: self.line,
            exec,
            interval_ms,
            timeout_ms: self.timeout_ms.map_or(interval_ms, |(ms, _)| ms),
            rise: self.rise.map_or(DEFAULT_RISE_FALL, |(n, _)| n),
            fall: self.fall.map_or(DEFAULT_RISE_FALL, |(n, _)| n),
            weight: self.weight.map_or(0, |(w, _)| w),
            init_fail: self.init_fail.is_some_and(|(on, _)| on),
        })
    }
}

fn parse_period(key: &str, value: &str) -> Result<u32, String> {
    let ms = parse_duration_ms(key, value)?;
    if (MIN_PERIOD_MS..=MAX_PERIOD_MS).contains(&ms) {
        Ok(ms)
    } else {
        Err(format!("{key} must be 10ms..3600s, not {ms}ms"))
    }
}

/// The script blocks once read: the valid ones, and the names of all, so
/// that a `track-script` naming a block with errors is not blamed too.
pub(super) struct Scripts {
    pub(super) built: Vec<ScriptConfig>,
    names: Vec<String>,
}

impl Scripts {
    /// Validates every block; a name given twice is an error at the second.
    pub(super) fn finish(blocks: Vec<ScriptBlock>, errors: &mut Errors<'_>) -> Scripts {
        let names = blocks.iter().map(|b| b.name.clone()).collect();
        let mut built: Vec<ScriptConfig> = Vec::new();
        for block in blocks {
            let Some(script) = block.finish(errors) else {
                continue;
            };
            match built.iter().find(|s| s.name == script.name) {
                Some(other) => errors.fmt(
                    script.line,
                    format_args!(
                        "script '{}' already defined at line {}",
                        script.name, other.line
                    ),
                ),
                None => built.push(script),
            }
        }
        Scripts { built, names }
    }

    /// The weight a `track-script NAME` without `weight` gets: the block's
    /// (0 when the block has errors of its own); None when no block has
    /// that name.
    pub(super) fn weight(&self, name: &str) -> Option<i32> {
        if !self.names.iter().any(|n| n == name) {
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
