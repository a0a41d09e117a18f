//! The two front ends, each turning text into [`Directive`]s: the tiny
//! format and OpenWrt's UCI.

use core::mem::take;

use super::{is_space, trim_end, ConfigError, Errors};

/// One `key value...` line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Directive {
    pub line: usize,
    pub key: String,
    pub args: Vec<String>,
    /// UCI says whether a line opens a block (`config`) or not (`option`,
    /// `list`); None in the tiny format, where the key decides (see
    /// `build`: a sync block's own `instance` line).
    pub opens: Option<bool>,
}

/// The key that opens UCI's `config globals` section. It holds a space, so
/// no line of the tiny format can produce it: there the global keys are
/// the lines before the first block.
pub(super) const UCI_GLOBALS: &str = "config globals";

/// The UCI section types; each but `globals` is a block of the tiny format.
const UCI_SECTIONS: [&str; 5] = ["instance", "script", "group", "sync", "globals"];
/// The index of `globals` in [`UCI_SECTIONS`].
const GLOBALS: usize = 4;

impl Directive {
    /// The one value of a single-valued key.
    pub(super) fn value(&self) -> Result<&str, String> {
        match self.args.as_slice() {
            [value] => Ok(value),
            [] => Err(format!("'{}' needs a value", self.key)),
            _ => Err(format!("'{}' takes one value", self.key)),
        }
    }

    /// The words of a key that takes several (a command, `NAME weight N`):
    /// the tiny format's words as they are, a UCI value split on whitespace,
    /// so `list track-interface 'eth1 weight -20'` reads as the tiny line.
    pub(super) fn words(&self) -> Vec<String> {
        let mut words = Vec::new();
        // Pushed one by one: `extend` compiled to more code (size).
        for arg in &self.args {
            for word in arg.split(is_space).filter(|word| !word.is_empty()) {
                words.push(word.to_string());
            }
        }
        words
    }
}

/// Splits the tiny format into directives, a line at a time as they are
/// asked for: a config of many instances is never held as directives all
/// at once (255 instances made 760 KB of RSS when it was).
pub fn tokenize(text: &str) -> Tokens<'_> {
    Tokens {
        lines: text.lines(),
        line: 0,
    }
}

/// The directives of the tiny format, see [`tokenize`].
pub struct Tokens<'a> {
    lines: core::str::Lines<'a>,
    line: usize,
}

impl Iterator for Tokens<'_> {
    type Item = Directive;

    fn next(&mut self) -> Option<Directive> {
        for raw in self.lines.by_ref() {
            self.line += 1;
            // Only quotes and backslashes fail, and here they are plain.
            let Ok(mut words) = split_words(raw, false) else {
                continue;
            };
            if !words.is_empty() {
                return Some(Directive {
                    line: self.line,
                    key: words.remove(0),
                    args: words,
                    opens: None,
                });
            }
        }
        None
    }
}

/// Splits OpenWrt's UCI syntax (`config`/`option`/`list`, quoted values)
/// into the same directives as the tiny format: `config instance NAME`
/// (likewise `script`, `group`, `sync`) opens a block, `config globals` the global
/// keys, and `option KEY VALUE` and `list KEY VALUE` are `KEY VALUE`. The
/// `uci` tool allows only `[A-Za-z0-9_]` in option names, so `_` in KEY
/// stands for `-`: `option preempt_delay` is `preempt-delay`.
pub fn tokenize_uci(file: &str, text: &str) -> Result<Vec<Directive>, Vec<ConfigError>> {
    let mut directives = Vec::new();
    let mut errors = Errors {
        file,
        list: Vec::new(),
    };
    // The anonymous sections so far of each type, which name the next.
    let mut anonymous = [0; UCI_SECTIONS.len()];
    // Lines counted by hand: `enumerate` was more code (size).
    let mut line = 0;
    for raw in text.lines() {
        line += 1;
        let read = split_words(raw, true)
            .and_then(|words| uci_directive(raw, words, line, &mut anonymous));
        match read {
            Ok(Some(directive)) => directives.push(directive),
            Ok(None) => {}
            Err(message) => errors.at(line, message),
        }
    }
    if errors.list.is_empty() {
        Ok(directives)
    } else {
        Err(errors.list)
    }
}

/// The directive of one UCI line (`raw`, split into `words`), None for
/// `package` and empty lines.
fn uci_directive(
    raw: &str,
    mut words: Vec<String>,
    line: usize,
    anonymous: &mut [usize; UCI_SECTIONS.len()],
) -> Result<Option<Directive>, String> {
    let section = |kind: &str| UCI_SECTIONS.iter().position(|s| *s == kind);
    let (key, args, opens) = match words.as_mut_slice() {
        [] => return Ok(None),
        [keyword, _] if keyword == "package" => return Ok(None),
        [keyword, kind, name @ ..] if keyword == "config" => match (section(kind), name) {
            (None, _) => return Err(format!("unknown section type '{kind}'")),
            (Some(GLOBALS), [] | [_]) => (UCI_GLOBALS.to_string(), Vec::new(), true),
            (Some(_), [name]) => (take(kind), vec![take(name)], true),
            (Some(index), []) => {
                anonymous[index] += 1;
                let name = format!("{kind}{}", anonymous[index]);
                (take(kind), vec![name], true)
            }
            _ => return Err(expected(raw)),
        },
        [keyword, key, value] if keyword == "option" || keyword == "list" => {
            // A sync section's `option instance` names its instance.
            if section(key).is_some() && key != "instance" {
                return Err(format!(
                    "'{key}' is a section type, not an option: config {key} ..."
                ));
            }
            (key.replace('_', "-"), vec![take(value)], false)
        }
        _ => return Err(expected(raw)),
    };
    Ok(Some(Directive {
        line,
        key,
        args,
        opens: Some(opens),
    }))
}

/// One line as words, split at whitespace; `#` outside quotes starts a
/// comment. With `quoting` (UCI) a word may hold 'single quoted' and
/// "double quoted" (with backslash escapes) pieces, joined as the shell
/// does; without (the tiny format) quotes and backslashes are plain.
fn split_words(raw: &str, quoting: bool) -> Result<Vec<String>, String> {
    let mut words = Vec::new();
    // The word being read, None between words.
    let mut word: Option<String> = None;
    let mut chars = raw.chars();
    while let Some(c) = chars.next() {
        if is_space(c) {
            // Not `words.extend(word.take())`: its code was larger (size).
            if let Some(word) = word.take() {
                words.push(word);
            }
            continue;
        }
        if c == '#' {
            break;
        }
        let word = word.get_or_insert_default();
        if !quoting {
            word.push(c);
            continue;
        }
        match c {
            '\'' => loop {
                match chars.next() {
                    Some('\'') => break,
                    Some(c) => word.push(c),
                    None => return Err("unterminated ' quote".to_string()),
                }
            },
            '"' => loop {
                match chars.next() {
                    Some('"') => break,
                    Some('\\') => match chars.next() {
                        Some(c) => word.push(c),
                        None => return Err("unterminated \" quote".to_string()),
                    },
                    Some(c) => word.push(c),
                    None => return Err("unterminated \" quote".to_string()),
                }
            },
            '\\' => match chars.next() {
                Some(c) => word.push(c),
                None => return Err("a line may not end in \\".to_string()),
            },
            c => word.push(c),
        }
    }
    if let Some(word) = word {
        words.push(word);
    }
    Ok(words)
}

fn expected(raw: &str) -> String {
    format!(
        "expected: config TYPE NAME, option KEY VALUE or list KEY VALUE, not '{}'",
        trim_end(raw.trim_start_matches(is_space))
    )
}

/// Whether a file is in UCI syntax, from its first directive as the tiny
/// format reads it: `config` or `package`, which the tiny format does not
/// have.
pub(super) fn is_uci(first: Option<Directive>) -> bool {
    first.is_some_and(|d| d.key == "config" || d.key == "package")
}
