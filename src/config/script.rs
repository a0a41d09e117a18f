//! One `script NAME` block (keepalived's `vrrp_script`): a command run
//! every `interval` whose exit status a `track-script` follows.

use super::settings::{Settings, Syntax};
use super::track::MAX_WEIGHT;
use super::{Directive, Errors, ScriptConfig};

/// keepalived's defaults: every second, one result in a row decides.
const DEFAULT_INTERVAL_MS: u32 = 1000;
const DEFAULT_RISE_FALL: u32 = 1;
/// `interval` and `timeout`: 10ms..3600s.
const PERIOD: Syntax = Syntax::Duration {
    min: 10,
    max: 3_600_000,
    range: "10ms..3600s",
};
const RISE_FALL: Syntax = Syntax::Number(1, 1000);

/// The keys of a script block.
const KEYS: &[(&str, Syntax)] = &[
    ("exec", Syntax::Command),
    ("interval", PERIOD),
    ("timeout", PERIOD),
    ("rise", RISE_FALL),
    ("fall", RISE_FALL),
    ("weight", Syntax::Number(-MAX_WEIGHT, MAX_WEIGHT)),
    ("init-fail", Syntax::Switch),
];

/// A script block while its directives are read.
pub(super) struct ScriptBlock {
    pub(super) name: String,
    line: usize,
    settings: Settings,
    /// A line of this block (or its header) was rejected.
    had_errors: bool,
}

impl ScriptBlock {
    pub(super) fn new(name: String, line: usize, had_errors: bool) -> ScriptBlock {
        ScriptBlock {
            name,
            line,
            settings: Settings::default(),
            had_errors,
        }
    }

    pub(super) fn apply(&mut self, directive: &Directive, errors: &mut Errors<'_>) {
        let name = &self.name;
        let result = self
            .settings
            .apply(KEYS, directive, "script", name)
            .unwrap_or_else(|| {
                Err(format!(
                    "unknown key '{}' in script '{name}'",
                    directive.key
                ))
            });
        if let Err(message) = result {
            errors.at(directive.line, message);
            self.had_errors = true;
        }
    }

    fn finish(mut self, errors: &mut Errors<'_>) -> Option<ScriptConfig> {
        if self.had_errors {
            return None;
        }
        let settings = &mut self.settings;
        let Some(exec) = settings.command("exec") else {
            errors.fmt(
                self.line,
                format_args!("script '{}' has no exec", self.name),
            );
            return None;
        };
        let number = |key, default| settings.number(key).map_or(default, |(n, _)| n);
        let interval_ms = number("interval", DEFAULT_INTERVAL_MS.into());
        Some(ScriptConfig {
            name: self.name,
            line: self.line,
            exec,
            interval_ms: interval_ms as u32,
            timeout_ms: number("timeout", interval_ms) as u32,
            rise: number("rise", DEFAULT_RISE_FALL.into()) as u32,
            fall: number("fall", DEFAULT_RISE_FALL.into()) as u32,
            weight: number("weight", 0) as i32,
            init_fail: settings.switch("init-fail").is_some_and(|(on, _)| on),
        })
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
