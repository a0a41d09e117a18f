//! The second step: directives become a validated [`Config`]. The blocks
//! are read first, then checked across: the scripts, the instances against
//! them and each other, the groups against both.

use super::block::{Block, Kind};
use super::group::finish_groups;
use super::instance::finish_instances;
use super::script::Scripts;
use super::settings::Settings;
use super::sync::finish_syncs;
use super::syntax::UCI_GLOBALS;
use super::values::{parse_path, valid_name};
use super::{Config, ConfigError, Directive, Errors, MAX_INSTANCE_NAME};

/// Where the directives go.
#[derive(Clone, Copy, PartialEq)]
enum Section {
    /// Before the first block: only the global keys.
    Top,
    /// UCI's `config globals`.
    Globals,
    /// The last block read.
    Block,
}

/// Turns directives into a validated config.
/// The directives come one by one (`dyn`: one copy of this long function
/// for both syntaxes).
pub fn build(
    file: &str,
    directives: &mut dyn Iterator<Item = Directive>,
) -> Result<Config, Vec<ConfigError>> {
    let mut errors = Errors {
        file,
        list: Vec::new(),
    };
    let mut blocks: Vec<Block> = Vec::new();
    let mut notify_fifo = None;
    let mut section = Section::Top;
    for directive in directives {
        let directive = &directive;
        let line = directive.line;
        let key = directive.key.as_str();
        let kind = Kind::ALL.into_iter().find(|kind| kind.name() == key);
        // In the tiny format a sync block's first `instance NAME` names its
        // instance; a later one opens an instance block. (Without file sync
        // a sync block is an error whatever follows.)
        let sync_instance =
            |block: &Block| block.kind == Kind::Sync && block.settings.text("instance").is_none();
        let opens = directive.opens.unwrap_or_else(|| {
            kind.is_some()
                && !(cfg!(feature = "sync")
                    && kind == Some(Kind::Instance)
                    && section == Section::Block
                    && blocks.last().is_some_and(sync_instance))
        });
        if let Some(kind) = kind.filter(|_| opens) {
            let (name, had_errors) = block_name(key, directive, &mut errors);
            blocks.push(Block {
                kind,
                name: name.to_string(),
                line,
                settings: Settings::default(),
                had_errors,
            });
            section = Section::Block;
            continue;
        }
        match (key, blocks.last_mut()) {
            (UCI_GLOBALS, _) => section = Section::Globals,
            ("notify-fifo", _) if section != Section::Block => {
                match directive.value().and_then(|v| parse_path(key, v)) {
                    Ok(_) if notify_fifo.is_some() => {
                        errors.fmt(line, format_args!("'notify-fifo' given twice"))
                    }
                    Ok(path) => notify_fifo = Some(path),
                    Err(message) => errors.at(line, message),
                }
            }
            ("notify-fifo", _) => errors.fmt(
                line,
                format_args!(
                    "notify-fifo is global: write it before the first block (UCI: in config globals)"
                ),
            ),
            (_, Some(block)) if section == Section::Block => block.apply(directive, &mut errors),
            _ if section == Section::Globals => {
                errors.fmt(line, format_args!("unknown key '{key}' in config globals"))
            }
            _ => errors.fmt(line, format_args!("'{key}' outside a block")),
        }
    }
    let scripts = Scripts::finish(&blocks, &mut errors);
    let mut instances = finish_instances(&blocks, &scripts, &mut errors);
    let groups = finish_groups(&blocks, &scripts, &mut instances, &mut errors);
    let syncs = finish_syncs(&blocks, &instances, &mut errors);
    if instances.is_empty() && errors.list.is_empty() {
        errors.fmt(1, format_args!("no instance defined"));
    }
    if errors.list.is_empty() {
        Ok(Config {
            instances,
            scripts: scripts.built,
            groups,
            notify_fifo,
            syncs,
        })
    } else {
        Err(errors.list)
    }
}

/// The NAME of `instance NAME` (or of a script, group or sync block), and whether
/// it was rejected: the block is read all the same, so that the errors in
/// its lines show at once, but it yields nothing.
fn block_name<'a>(
    kind: &str,
    directive: &'a Directive,
    errors: &mut Errors<'_>,
) -> (&'a str, bool) {
    let line = directive.line;
    match directive.args.as_slice() {
        [name] if valid_name(name) => (name, false),
        [name] => {
            errors.fmt(
                line,
                format_args!("{kind} name must be 1..{MAX_INSTANCE_NAME} of A-Z a-z 0-9 _ - ."),
            );
            (name, true)
        }
        _ => {
            errors.fmt(line, format_args!("expected: {kind} NAME"));
            (directive.args.first().map_or("", String::as_str), true)
        }
    }
}
