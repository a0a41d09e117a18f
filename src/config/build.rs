//! The second step: directives become a validated [`Config`]. The blocks
//! are read first, then checked across: the scripts, the instances against
//! them and each other, the groups against both.

use super::block::Block;
use super::group::{finish_groups, GroupBlock};
use super::script::{ScriptBlock, Scripts};
use super::syntax::UCI_GLOBALS;
use super::values::{parse_path, valid_name};
use super::{vmac_name, Config, ConfigError, Directive, Errors, InstanceConfig, MAX_INSTANCE_NAME};

/// Turns directives into a validated config.
pub fn build(file: &str, directives: &[Directive]) -> Result<Config, Vec<ConfigError>> {
    let mut errors = Errors {
        file,
        list: Vec::new(),
    };
    let mut read = Read::default();
    let mut current = Section::Top;
    for directive in directives {
        let line = directive.line;
        match directive.key.as_str() {
            kind @ ("instance" | "script" | "group") => {
                let (name, had_errors) = block_name(kind, directive, &mut errors);
                let next = match kind {
                    "instance" => Section::Instance(Box::new(Block::new(name, line, had_errors))),
                    "script" => Section::Script(Box::new(ScriptBlock::new(name, line, had_errors))),
                    _ => Section::Group(Box::new(GroupBlock::new(name, line, had_errors))),
                };
                read.close(core::mem::replace(&mut current, next));
            }
            UCI_GLOBALS => read.close(core::mem::replace(&mut current, Section::Globals)),
            "notify-fifo" if matches!(current, Section::Top | Section::Globals) => {
                match directive.value().and_then(|v| parse_path("notify-fifo", v)) {
                    Ok(_) if read.notify_fifo.is_some() => {
                        errors.fmt(line, format_args!("'notify-fifo' given twice"))
                    }
                    Ok(path) => read.notify_fifo = Some(path),
                    Err(message) => errors.at(line, message),
                }
            }
            "notify-fifo" => errors.fmt(
                line,
                format_args!(
                    "notify-fifo is global: write it before the first block (UCI: in config globals)"
                ),
            ),
            key => match &mut current {
                Section::Top => errors.fmt(line, format_args!("'{key}' outside a block")),
                Section::Globals => {
                    errors.fmt(line, format_args!("unknown key '{key}' in config globals"))
                }
                Section::Instance(block) => block.apply(directive, &mut errors),
                Section::Script(block) => block.apply(directive, &mut errors),
                Section::Group(block) => block.apply(directive, &mut errors),
            },
        }
    }
    read.close(current);
    let scripts = Scripts::finish(read.scripts, &mut errors);
    let instance_names: Vec<String> = read.instances.iter().map(|b| b.name.clone()).collect();
    let mut instances = finish_instances(read.instances, &scripts, &mut errors);
    let groups = finish_groups(
        read.groups,
        &scripts,
        &mut instances,
        &instance_names,
        &mut errors,
    );
    if instances.is_empty() && errors.list.is_empty() {
        errors.fmt(1, format_args!("no instance defined"));
    }
    if errors.list.is_empty() {
        Ok(Config {
            instances,
            scripts: scripts.built,
            groups,
            notify_fifo: read.notify_fifo,
        })
    } else {
        Err(errors.list)
    }
}

/// The block the directives go to.
enum Section {
    /// Before the first block: only the global keys.
    Top,
    /// UCI's `config globals`.
    Globals,
    Instance(Box<Block>),
    Script(Box<ScriptBlock>),
    Group(Box<GroupBlock>),
}

/// The blocks and global keys as read, before the checks across blocks.
#[derive(Default)]
struct Read {
    instances: Vec<Block>,
    scripts: Vec<ScriptBlock>,
    groups: Vec<GroupBlock>,
    notify_fifo: Option<String>,
}

impl Read {
    /// Keeps a block once the next one starts.
    fn close(&mut self, section: Section) {
        match section {
            Section::Top | Section::Globals => {}
            Section::Instance(block) => self.instances.push(*block),
            Section::Script(block) => self.scripts.push(*block),
            Section::Group(block) => self.groups.push(*block),
        }
    }
}

/// The NAME of `instance NAME`, `script NAME` or `group NAME`, and whether
/// it was rejected: the block is read all the same, so that the errors in
/// its lines show at once, but it yields nothing.
fn block_name(kind: &str, directive: &Directive, errors: &mut Errors<'_>) -> (String, bool) {
    let name = directive.args.first().cloned().unwrap_or_default();
    let message = match directive.args.as_slice() {
        [name] if valid_name(name) => return (name.clone(), false),
        [_] => format!("{kind} name must be 1..{MAX_INSTANCE_NAME} of A-Z a-z 0-9 _ - ."),
        _ => format!("expected: {kind} NAME"),
    };
    errors.at(directive.line, message);
    (name, true)
}

/// Validates the instance blocks, with the checks across instances.
fn finish_instances(
    blocks: Vec<Block>,
    scripts: &Scripts,
    errors: &mut Errors<'_>,
) -> Vec<InstanceConfig> {
    let mut instances: Vec<InstanceConfig> = Vec::new();
    for block in blocks {
        if let Some(instance) = block.finish(scripts, errors) {
            if let Some(other) = instances.iter().find(|i| i.name == instance.name) {
                errors.fmt(
                    instance.line,
                    format_args!(
                        "instance '{}' already defined at line {}",
                        instance.name, other.line
                    ),
                );
            } else if let Some(other) = instances.iter().find(|i| {
                i.interface == instance.interface
                    && i.vrid == instance.vrid
                    && i.family() == instance.family()
            }) {
                // RFC 5798 §7.3: IPv4 and IPv6 virtual routers with one VRID
                // are distinct (their virtual MACs differ); one family may
                // use a VRID once per interface.
                errors.fmt(
                    instance.line,
                    format_args!(
                        "vrid {} on {} ({}) is already used by instance '{}' at line {}",
                        instance.vrid,
                        instance.interface,
                        instance.family().name(),
                        other.name,
                        other.line
                    ),
                );
            } else if let Some(other) = instances.iter().find(|i| {
                instance.vmac
                    && i.vmac
                    && i.vrid == instance.vrid
                    && i.family() == instance.family()
            }) {
                errors.fmt(
                    instance.line,
                    format_args!(
                        "vmac {} is already used by instance '{}' at line {}",
                        vmac_name(instance.family(), instance.vrid),
                        other.name,
                        other.line
                    ),
                );
            } else {
                instances.push(instance);
            }
        }
    }
    instances
}
