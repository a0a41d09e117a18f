//! A build without the `sync` feature (the mips image, for its size
//! budget): the config refuses `sync` blocks (`config::sync`), and the
//! loop has no sync work.

use std::os::fd::BorrowedFd;

use super::status::{SyncFileStatus, SyncStatus};
use super::{Daemon, StartError, Token};
use crate::config::SyncConfig;
use crate::proto::time::Instant;

#[derive(Default)]
pub(super) struct Syncs {}

impl Syncs {
    pub(super) fn add_fds(&self, _: &mut dyn FnMut(Token, Option<BorrowedFd<'_>>, bool)) {}
}

/// No keys: the config refuses sync blocks in this build.
pub(super) fn read_keys(_: &str, _: &[SyncConfig]) -> Result<Vec<Vec<u8>>, StartError> {
    Ok(Vec::new())
}

impl Daemon {
    pub(super) fn start_syncs(&mut self, _: Vec<SyncConfig>, _: Vec<Vec<u8>>, _: Instant) {}

    pub(super) fn run_syncs(&mut self, _: Instant) {}

    pub(super) fn receive_sync(&mut self, _: usize, _: Instant) {}

    pub(super) fn watch_sync(&mut self, _: usize, _: Instant) {}

    pub(super) fn sync_poll_at(&self) -> Option<Instant> {
        None
    }

    pub(super) fn sync_status(&self) -> (Vec<SyncStatus<'_>>, Vec<SyncFileStatus<'_>>) {
        (Vec::new(), Vec::new())
    }
}
