//! The single-valued keys of the blocks. Each block lists its keys in a
//! table with the syntax of their values, and one reader serves them all:
//! the machine code of a key is a table row, not a match arm of its own.
//! The values wait here, each with its line, until the block is checked
//! as a whole.

use core::net::IpAddr;

use super::values::{
    parse_duration_ms, parse_interface, parse_number, parse_switch, parse_unicast,
};
use super::{At, Directive};

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
    /// `on` or `off` (see [`parse_switch`]).
    Switch,
    /// One of two words.
    Either(&'static str, &'static str),
    /// Any single value.
    Text,
    /// A password of 1..=N octets.
    Secret(usize),
    Interface,
    /// A unicast address (see [`parse_unicast`]).
    Unicast,
    /// A command and its arguments.
    Command,
}

/// A value as read.
pub(super) enum Value {
    Number(i64),
    Switch(bool),
    /// The word of an [`Syntax::Either`].
    Choice(&'static str),
    Text(String),
    Address(IpAddr),
    Words(Vec<String>),
}

/// The single-valued keys of a block that were given, in the order read.
#[derive(Default)]
pub(super) struct Settings(Vec<(&'static str, Value, usize)>);

impl Settings {
    /// Reads `directive` when `keys` holds its key, else returns None.
    /// `kind` and `name` name the block in messages.
    pub(super) fn apply(
        &mut self,
        keys: &[(&'static str, Syntax)],
        directive: &Directive,
        kind: &str,
        name: &str,
    ) -> Option<Result<(), String>> {
        let &(key, syntax) = keys.iter().find(|(key, _)| *key == directive.key)?;
        Some(parse(key, syntax, directive).and_then(|value| {
            if self.0.iter().any(|(given, _, _)| *given == key) {
                return Err(format!("'{key}' given twice in {kind} '{name}'"));
            }
            self.0.push((key, value, directive.line));
            Ok(())
        }))
    }

    fn find(&self, key: &str) -> Option<&(&'static str, Value, usize)> {
        self.0.iter().find(|(given, _, _)| *given == key)
    }

    /// Takes the value of `key` out, with its line.
    fn take(&mut self, key: &str) -> At<Value> {
        let index = self.0.iter().position(|(given, _, _)| *given == key)?;
        let (_, value, line) = self.0.swap_remove(index);
        Some((value, line))
    }

    /// The value of a key whose syntax gives a number (a duration in ms).
    pub(super) fn number(&self, key: &str) -> At<i64> {
        match self.find(key)? {
            &(_, Value::Number(n), line) => Some((n, line)),
            _ => None,
        }
    }

    pub(super) fn switch(&self, key: &str) -> At<bool> {
        match self.find(key)? {
            &(_, Value::Switch(on), line) => Some((on, line)),
            _ => None,
        }
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

    /// Takes the text of a key out, with its line.
    pub(super) fn text(&mut self, key: &str) -> At<String> {
        match self.take(key)? {
            (Value::Text(text), line) => Some((text, line)),
            _ => None,
        }
    }

    /// Takes the words of a [`Syntax::Command`] key out.
    pub(super) fn command(&mut self, key: &str) -> Option<Vec<String>> {
        match self.take(key)? {
            (Value::Words(argv), _) => Some(argv),
            _ => None,
        }
    }
}

fn parse(key: &str, syntax: Syntax, directive: &Directive) -> Result<Value, String> {
    // A command is all the words; every other syntax takes one value.
    let value = match syntax {
        Syntax::Command => "",
        _ => directive.value()?,
    };
    Ok(match syntax {
        Syntax::Number(min, max) => Value::Number(parse_number(key, value, min, max)?.into()),
        Syntax::Duration { min, max, range } => {
            let ms = parse_duration_ms(key, value)?;
            if !(min..=max).contains(&ms) {
                return Err(format!("{key} must be {range}, not {ms}ms"));
            }
            Value::Number(ms.into())
        }
        Syntax::Switch => Value::Switch(parse_switch(key, value)?),
        Syntax::Either(first, _) if value == first => Value::Choice(first),
        Syntax::Either(_, second) if value == second => Value::Choice(second),
        Syntax::Either(first, second) => {
            return Err(format!("{key} must be {first} or {second}, not '{value}'"))
        }
        Syntax::Text => Value::Text(value.to_string()),
        Syntax::Secret(max) if value.is_empty() || value.len() > max => {
            return Err(format!(
                "{key} must be 1..{max} octets, not {}",
                value.len()
            ))
        }
        Syntax::Secret(_) => Value::Text(value.to_string()),
        Syntax::Interface => Value::Text(parse_interface(value)?),
        Syntax::Unicast => Value::Address(parse_unicast(value)?),
        Syntax::Command => match directive.words().as_slice() {
            [] => return Err(format!("'{key}' needs a command")),
            words => Value::Words(words.iter().map(|w| w.to_string()).collect()),
        },
    })
}
