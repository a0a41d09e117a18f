//! A block while its directives are read: `instance`, `script`,
//! `group` or `sync`, its name and line, and the keys given so far. What each kind
//! makes of them once read is in `instance`, `script`, `group` and
//! `sync`.

use super::settings::{Settings, Syntax};
use super::{group, instance, script, sync, track, Directive, Errors};

/// The kinds of block.
#[derive(Clone, Copy, PartialEq)]
pub(super) enum Kind {
    Instance,
    Script,
    Group,
    Sync,
}

impl Kind {
    pub(super) const ALL: [Kind; 4] = [Kind::Instance, Kind::Script, Kind::Group, Kind::Sync];

    /// The key that opens the block, and its name in messages.
    pub(super) fn name(self) -> &'static str {
        match self {
            Kind::Instance => "instance",
            Kind::Script => "script",
            Kind::Group => "group",
            Kind::Sync => "sync",
        }
    }

    /// The keys of the block: its own and those it shares with others.
    fn keys(self) -> [&'static [(&'static str, Syntax)]; 2] {
        match self {
            Kind::Instance => [instance::KEYS, track::SHARED_KEYS],
            Kind::Script => [script::KEYS, &[]],
            Kind::Group => [group::KEYS, track::SHARED_KEYS],
            Kind::Sync => [sync::KEYS, &[]],
        }
    }
}

/// A block while its directives are read.
pub(super) struct Block {
    pub(super) kind: Kind,
    /// As written in the directive that opens the block (owned: directives
    /// are read one at a time).
    pub(super) name: String,
    pub(super) line: usize,
    pub(super) settings: Settings,
    /// A line of this block (or its header) was rejected: a key it names
    /// may look missing, so "has no ..." would only repeat that error.
    pub(super) had_errors: bool,
}

impl Block {
    pub(super) fn apply(&mut self, directive: &Directive, errors: &mut Errors<'_>) {
        let key = directive.key.as_str();
        let tables = self.kind.keys();
        let found = tables
            .iter()
            .find_map(|table| table.iter().find(|(k, _)| *k == key));
        let result = match (found, self.kind) {
            (Some(&(key, syntax)), kind) => {
                let block = (kind.name(), self.name.as_str());
                self.settings.read(key, syntax, directive, block)
            }
            // Without file sync a sync block is one error (its first line).
            (None, Kind::Sync) if !cfg!(feature = "sync") => Ok(()),
            // An instance rejects a missing value before an unknown key.
            (None, Kind::Instance) => directive
                .value()
                .and_then(|_| Err(format!("unknown key '{key}'"))),
            (None, kind) => Err(format!(
                "unknown key '{key}' in {} '{}'",
                kind.name(),
                self.name
            )),
        };
        if let Err(message) = result {
            errors.at(directive.line, message);
            self.had_errors = true;
        }
    }
}

/// The blocks of one kind, in the order read.
pub(super) fn of_kind(blocks: &[Block], kind: Kind) -> impl Iterator<Item = &Block> {
    blocks.iter().filter(move |block| block.kind == kind)
}
