//! The two front ends, each turning text into [`Directive`]s: the tiny
//! format and OpenWrt's UCI.

use super::ConfigError;

/// One `key value...` line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Directive {
    pub line: usize,
    pub key: String,
    pub args: Vec<String>,
}

/// The key that opens UCI's `config globals` section. It holds a space, so
/// no line of the tiny format can produce it: there the global keys are
/// the lines before the first block.
pub(super) const UCI_GLOBALS: &str = "config globals";

/// The UCI section types; each but `globals` is a block of the tiny format.
const UCI_SECTIONS: [&str; 4] = ["instance", "script", "group", "globals"];

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
    pub(super) fn words(&self) -> Vec<&str> {
        self.args
            .iter()
            .flat_map(|a| a.split_whitespace())
            .collect()
    }
}

/// Splits the tiny format into directives.
pub fn tokenize(text: &str) -> Vec<Directive> {
    text.lines()
        .enumerate()
        .filter_map(|(index, raw)| {
            let content = raw.split('#').next().unwrap_or("");
            let mut words = content.split_whitespace().map(str::to_string);
            let key = words.next()?;
            Some(Directive {
                line: index + 1,
                key,
                args: words.collect(),
            })
        })
        .collect()
}

/// Splits OpenWrt's UCI syntax (`config`/`option`/`list`, quoted values)
/// into the same directives as the tiny format: `config instance NAME`
/// (likewise `script`, `group`) opens a block, `config globals` the global
/// keys, and `option KEY VALUE` and `list KEY VALUE` are `KEY VALUE`. The
/// `uci` tool allows only `[A-Za-z0-9_]` in option names, so `_` in KEY
/// stands for `-`: `option preempt_delay` is `preempt-delay`.
pub fn tokenize_uci(file: &str, text: &str) -> Result<Vec<Directive>, Vec<ConfigError>> {
    let mut directives = Vec::new();
    let mut errors = Vec::new();
    let mut anonymous: Vec<String> = Vec::new();
    for (index, raw) in text.lines().enumerate() {
        let line = index + 1;
        let error = |message: String| ConfigError {
            file: file.to_string(),
            line,
            message,
        };
        let words = match uci_words(raw) {
            Ok(words) => words,
            Err(message) => {
                errors.push(error(message));
                continue;
            }
        };
        let Some((keyword, rest)) = words.split_first() else {
            continue;
        };
        match (keyword.as_str(), rest) {
            ("package", [_]) => {}
            ("config", [kind, name @ ..]) if kind == "globals" && name.len() <= 1 => {
                directives.push(Directive {
                    line,
                    key: UCI_GLOBALS.to_string(),
                    args: Vec::new(),
                });
            }
            ("config", [kind, name @ ..])
                if UCI_SECTIONS.contains(&kind.as_str()) && name.len() <= 1 =>
            {
                let name = name.first().cloned().unwrap_or_else(|| {
                    anonymous.push(kind.clone());
                    let n = anonymous.iter().filter(|k| *k == kind).count();
                    format!("{kind}{n}")
                });
                directives.push(Directive {
                    line,
                    key: kind.clone(),
                    args: vec![name],
                });
            }
            ("config", [kind, ..]) if !UCI_SECTIONS.contains(&kind.as_str()) => {
                errors.push(error(format!("unknown section type '{kind}'")));
            }
            ("option" | "list", [key, value]) => directives.push(Directive {
                line,
                key: key.replace('_', "-"),
                args: vec![value.clone()],
            }),
            _ => errors.push(error(format!(
                "expected: config TYPE NAME, option KEY VALUE or list KEY VALUE, not '{}'",
                raw.trim()
            ))),
        }
    }
    if errors.is_empty() {
        Ok(directives)
    } else {
        Err(errors)
    }
}

/// One UCI line as words: bare, 'single quoted' or "double quoted" (with
/// backslash escapes), adjacent pieces joined as the shell does; `#` outside
/// quotes starts a comment.
fn uci_words(raw: &str) -> Result<Vec<String>, String> {
    let mut words = Vec::new();
    let mut chars = raw.chars().peekable();
    loop {
        while chars.next_if(|c| c.is_whitespace()).is_some() {}
        match chars.peek() {
            None | Some('#') => return Ok(words),
            Some(_) => {}
        }
        let mut word = String::new();
        while let Some(&c) = chars.peek() {
            if c.is_whitespace() || c == '#' {
                break;
            }
            chars.next();
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
        words.push(word);
    }
}

/// Whether a file is in UCI syntax: its first directive is `config` or
/// `package`, which the tiny format does not have.
pub(super) fn is_uci(text: &str) -> bool {
    tokenize(text)
        .first()
        .is_some_and(|d| d.key == "config" || d.key == "package")
}
