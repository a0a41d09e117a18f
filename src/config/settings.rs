//! The keys of the blocks and their values. Each kind of block lists its
//! keys in a table with the syntax of their values, and one reader serves
//! them all: the machine code of a key is a table row, not a match arm of
//! its own. The values wait here, each with its line, until the block is
//! checked as a whole.

use core::net::IpAddr;

use super::values::{
    parse_duration_ms, parse_interface, parse_number, parse_path, parse_unicast, parse_vip,
};
use super::{At, Directive, Target, Vip};

/// How the value of a key is written.
#[derive(Clone, Copy)]
pub(super) enum Syntax {
    /// A whole number in `min..=max`.
    Number(i32, i32),
    /// A duration (`100ms`, `1s`) of `min..=max` ms, which `range` shows
    /// in the message.
    Duration {
        min: u32,
        max: u32,
        range: &'static str,
    },
    /// A word of one of two lists, each named by its first word in
    /// messages and in the value: `2` or `3`, [`SWITCH`]'s `on` or `off`.
    Choice(&'static [&'static str], &'static [&'static str]),
    /// Any single value.
    Text,
    /// A password of 1..=N octets.
    Secret(usize),
    Interface,
    /// A unicast address (see [`parse_unicast`]).
    Unicast,
    /// A command and its arguments.
    Command,
    /// An absolute path (see [`parse_path`]).
    #[cfg(feature = "sync")]
    Path,
    // The keys below may be given again, each time with another value.
    /// `vip ADDRESS[/PREFIX]`, once per address.
    Vip,
    /// `unicast-peer ADDRESS`.
    Peer,
    /// `member INSTANCE`.
    Member,
    /// `file PATH` of a sync block.
    #[cfg(feature = "sync")]
    File,
    /// `KEY TARGET [weight N]`: the TARGET's name in the syntax, and the
    /// largest weight.
    Track(Target, &'static str, i32),
}

/// `on` or `off`, and UCI's booleans too, so `option preempt '0'` works as
/// LuCI writes it.
pub(super) const SWITCH: Syntax = Syntax::Choice(
    &["on", "1", "yes", "true", "enabled"],
    &["off", "0", "no", "false", "disabled"],
);

/// A value as read.
pub(super) enum Value {
    Number(i64),
    /// The first word of the list of a [`Syntax::Choice`].
    Choice(&'static str),
    Text(String),
    Address(IpAddr),
    Vip(Vip),
    Words(Vec<String>),
    /// A tracker: what it watches, its name, its `weight N` when given.
    Tracker(Target, String, Option<i32>),
}

impl Value {
    /// Whether a value of a key that may be given again repeats `other`:
    /// a VIP by its address, a tracker by its target.
    fn repeats(&self, other: &Value) -> bool {
        match (self, other) {
            (Value::Vip(a), Value::Vip(b)) => a.address == b.address,
            (Value::Address(a), Value::Address(b)) => a == b,
            (Value::Text(a), Value::Text(b))
            | (Value::Tracker(_, a, _), Value::Tracker(_, b, _)) => a == b,
            _ => false,
        }
    }
}

/// The keys of a block that were given, in the order read.
#[derive(Default)]
pub(super) struct Settings(Vec<(&'static str, Value, usize)>);

impl Settings {
    /// Reads `directive`, whose key is `key` of `syntax`; `block` names the
    /// block in messages (`instance 'lan'`).
    pub(super) fn read(
        &mut self,
        key: &'static str,
        syntax: Syntax,
        directive: &Directive,
        block: (&str, &str),
    ) -> Result<(), String> {
        let (value, written) = parse(key, syntax, directive)?;
        let list = match syntax {
            Syntax::Vip | Syntax::Peer | Syntax::Member | Syntax::Track(..) => true,
            #[cfg(feature = "sync")]
            Syntax::File => true,
            _ => false,
        };
        let earlier = self
            .0
            .iter()
            .find(|(given, old, _)| *given == key && (!list || old.repeats(&value)));
        if let Some(&(_, _, line)) = earlier {
            let (kind, name) = block;
            return Err(match &value {
                Value::Tracker(_, target, _) => {
                    format!("{key} {target} is already tracked at line {line}")
                }
                _ if list => format!("{key} {written} listed twice"),
                _ => format!("'{key}' given twice in {kind} '{name}'"),
            });
        }
        self.0.push((key, value, directive.line));
        Ok(())
    }

    fn find(&self, key: &str) -> Option<&(&'static str, Value, usize)> {
        self.0.iter().find(|(given, _, _)| *given == key)
    }

    /// Every key given, with its value and line, in the order read.
    pub(super) fn iter(&self) -> impl Iterator<Item = &(&'static str, Value, usize)> {
        self.0.iter()
    }

    /// The value of a key whose syntax gives a number (a duration in ms).
    pub(super) fn number(&self, key: &str) -> At<i64> {
        match self.find(key)? {
            &(_, Value::Number(n), line) => Some((n, line)),
            _ => None,
        }
    }

    /// The number of a key, `default` when it was not given.
    pub(super) fn number_or(&self, key: &str, default: i64) -> i64 {
        self.number(key).map_or(default, |(n, _)| n)
    }

    /// Whether a [`SWITCH`] key is on.
    pub(super) fn switch(&self, key: &str) -> At<bool> {
        self.choice(key).map(|(word, line)| (word == "on", line))
    }

    pub(super) fn choice(&self, key: &str) -> At<&'static str> {
        match self.find(key)? {
            &(_, Value::Choice(word), line) => Some((word, line)),
            _ => None,
        }
    }

    pub(super) fn address(&self, key: &str) -> At<IpAddr> {
        match self.find(key)? {
            &(_, Value::Address(address), line) => Some((address, line)),
            _ => None,
        }
    }

    pub(super) fn text(&self, key: &str) -> At<String> {
        match self.find(key)? {
            (_, Value::Text(text), line) => Some((text.clone(), *line)),
            _ => None,
        }
    }

    pub(super) fn command(&self, key: &str) -> Option<Vec<String>> {
        match self.find(key)? {
            (_, Value::Words(argv), _) => Some(argv.clone()),
            _ => None,
        }
    }
}

/// The value of `directive`, and its text in messages: the value as
/// written (none for a command or tracker).
fn parse<'a>(
    key: &str,
    syntax: Syntax,
    directive: &'a Directive,
) -> Result<(Value, &'a str), String> {
    // A command or a tracker is all the words; every other syntax takes
    // one value.
    let value = match syntax {
        Syntax::Command | Syntax::Track(..) => "",
        _ => directive.value()?,
    };
    let parsed = match syntax {
        Syntax::Number(min, max) => {
            parse_number(key, value, min, max).map(|n| Value::Number(n.into()))
        }
        Syntax::Duration { min, max, range } => match parse_duration_ms(key, value)? {
            ms if (min..=max).contains(&ms) => Ok(Value::Number(ms.into())),
            ms => Err(format!("{key} must be {range}, not {ms}ms")),
        },
        Syntax::Choice(first, second) => {
            match [first, second].iter().find(|w| w.contains(&value)) {
                Some(words) => Ok(Value::Choice(words[0])),
                None => {
                    let (first, second) = (first[0], second[0]);
                    Err(format!("{key} must be {first} or {second}, not '{value}'"))
                }
            }
        }
        Syntax::Secret(max) if value.is_empty() || value.len() > max => Err(format!(
            "{key} must be 1..{max} octets, not {}",
            value.len()
        )),
        Syntax::Text | Syntax::Member | Syntax::Secret(_) => Ok(Value::Text(value.to_string())),
        Syntax::Interface => parse_interface(value).map(Value::Text),
        #[cfg(feature = "sync")]
        Syntax::Path | Syntax::File => parse_path(key, value).map(Value::Text),
        Syntax::Unicast | Syntax::Peer => parse_unicast(value).map(Value::Address),
        Syntax::Vip => parse_vip(value).map(Value::Vip),
        Syntax::Command => match directive.words() {
            words if words.is_empty() => Err(format!("'{key}' needs a command")),
            words => Ok(Value::Words(words)),
        },
        Syntax::Track(target, what, max) => parse_tracker(key, target, what, max, directive),
    };
    Ok((parsed?, value))
}

/// `TARGET` or `TARGET weight N`.
fn parse_tracker(
    key: &str,
    target: Target,
    what: &str,
    max: i32,
    directive: &Directive,
) -> Result<Value, String> {
    let words = directive.words();
    let (name, weight) = match words.as_slice() {
        [name] => (name, None),
        [name, weight, n] if weight == "weight" => {
            (name, Some(parse_number("weight", n, -max, max)?))
        }
        [] => return Err(format!("'{key}' needs a value")),
        _ => {
            return Err(format!(
                "expected: {key} {what} [weight N], not '{}'",
                words.join(" ")
            ))
        }
    };
    let checked = match target {
        Target::Interface => parse_interface(name),
        Target::Script => Ok(name.to_string()),
        Target::File => parse_path(key, name),
    }?;
    Ok(Value::Tracker(target, checked, weight))
}
