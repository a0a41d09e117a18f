//! One `sync NAME` block: files kept the same on every router of an
//! instance, sent by its master (see `proto::sync`), and the checks that
//! tie the blocks to the instances and to each other.

use super::block::{of_kind, Block, Kind};
use super::settings::{Syntax, Value};
use super::{Errors, InstanceConfig, SyncConfig};
use crate::proto::sync::MAX_FILES;

/// The consistency check every 10 s by default.
const DEFAULT_INTERVAL_MS: i64 = 10_000;
/// 1 MiB: a lease file of some 10,000 leases.
const DEFAULT_MAX_SIZE: i64 = 1 << 20;
/// A receiver holds a file in memory while it is rebuilt: 16 MiB at most.
const MAX_MAX_SIZE: i32 = 16 << 20;

/// The keys of a sync block.
pub(super) const KEYS: &[(&str, Syntax)] = &[
    ("file", Syntax::File),
    ("instance", Syntax::Text),
    ("port", Syntax::Number(1, 65535)),
    ("key", Syntax::Path),
    (
        "interval",
        Syntax::Duration {
            min: 100,
            max: 3_600_000,
            range: "100ms..3600s",
        },
    ),
    ("max-size", Syntax::Number(1, MAX_MAX_SIZE)),
    ("after-update", Syntax::Command),
];

/// The sync of a block; None after errors.
fn finish(block: &Block, errors: &mut Errors<'_>) -> Option<SyncConfig> {
    if block.had_errors {
        return None;
    }
    let settings = &block.settings;
    let before = errors.list.len();
    let mut missing = |key: &str| {
        errors.fmt(
            block.line,
            format_args!("sync '{}' has no {key}", block.name),
        )
    };
    let files: Vec<(String, usize)> = settings
        .iter()
        .filter_map(|(key, value, line)| match (*key, value) {
            ("file", Value::Text(path)) => Some((path.clone(), *line)),
            _ => None,
        })
        .collect();
    if files.is_empty() {
        missing("file");
    }
    let instance = settings.text("instance");
    if instance.is_none() {
        missing("instance");
    }
    let port = settings.number("port");
    if port.is_none() {
        missing("port");
    }
    let key = settings.text("key");
    if key.is_none() {
        missing("key");
    }
    if let Some((_, line)) = files.get(MAX_FILES) {
        errors.fmt(
            *line,
            format_args!("a sync block holds at most {MAX_FILES} files"),
        );
    }
    if errors.list.len() != before {
        return None;
    }
    let (instance, instance_line) = instance?;
    Some(SyncConfig {
        name: block.name.to_string(),
        line: block.line,
        files,
        instance,
        instance_line,
        port: port?.0 as u16,
        key: key?,
        interval_ms: settings.number_or("interval", DEFAULT_INTERVAL_MS) as u32,
        max_size: settings.number_or("max-size", DEFAULT_MAX_SIZE) as u32,
        after_update: settings.command("after-update"),
    })
}

/// Validates the sync blocks: each names an instance, and no name, port
/// or file is used by two blocks (a file with two sources would flap).
pub(super) fn finish_syncs(
    blocks: &[Block],
    instances: &[InstanceConfig],
    errors: &mut Errors<'_>,
) -> Vec<SyncConfig> {
    let mut syncs: Vec<SyncConfig> = Vec::new();
    for block in of_kind(blocks, Kind::Sync) {
        let Some(sync) = finish(block, errors) else {
            continue;
        };
        let line = sync.instance_line;
        let named = of_kind(blocks, Kind::Instance).any(|b| b.name == sync.instance);
        if !named {
            errors.fmt(
                line,
                format_args!("instance {} names no instance", sync.instance),
            );
            continue;
        }
        if !instances.iter().any(|i| i.name == sync.instance) {
            // That instance's own errors say why.
            continue;
        }
        if let Some(other) = syncs.iter().find(|s| s.name == sync.name) {
            errors.defined_twice("sync", &sync.name, sync.line, other.line);
            continue;
        }
        if let Some(other) = syncs.iter().find(|s| s.port == sync.port) {
            errors.fmt(
                sync.line,
                format_args!(
                    "port {} is already used by sync '{}' at line {}",
                    sync.port, other.name, other.line
                ),
            );
            continue;
        }
        let taken = sync.files.iter().find_map(|(path, line)| {
            syncs
                .iter()
                .find(|s| s.files.iter().any(|(p, _)| p == path))
                .map(|other| (path, line, other))
        });
        if let Some((path, line, other)) = taken {
            errors.fmt(
                *line,
                format_args!("file {path} is already synced by sync '{}'", other.name),
            );
            continue;
        }
        syncs.push(sync);
    }
    syncs
}
