//! A build without file sync (the mips image, for its size budget): a
//! `sync` block is read without looking at its keys and is one error, at
//! its first line.

use super::block::{of_kind, Block, Kind};
use super::settings::Syntax;
use super::{Errors, InstanceConfig, SyncConfig};

/// None: the block's lines are not read (see `Block::apply`).
pub(super) const KEYS: &[(&str, Syntax)] = &[];

pub(super) fn finish_syncs(
    blocks: &[Block],
    _: &[InstanceConfig],
    errors: &mut Errors<'_>,
) -> Vec<SyncConfig> {
    for block in of_kind(blocks, Kind::Sync) {
        errors.fmt(
            block.line,
            format_args!("sync: this tinyvrrp is built without file sync (cargo feature sync)"),
        );
    }
    Vec::new()
}
