//! A sync block's own copies of its files: inotify's changes collected,
//! and the files read after they settle, or all of them every interval.

use log::warn;

use super::SETTLE;
use crate::daemon::Daemon;
use crate::proto::time::Instant;
use crate::sys::inotify::Changes;
use crate::sys::sync::{read_synced, Content};

impl Daemon {
    /// A block's inotify watch is readable.
    pub(in crate::daemon) fn watch_sync(&mut self, block: usize, now: Instant) {
        let sync = &mut self.syncs.blocks[block];
        let Some(watch) = &mut sync.watch else {
            return;
        };
        match watch.read() {
            Ok(Changes::Paths(paths)) => {
                for (file, (path, _)) in sync.config.files.iter().enumerate() {
                    sync.changed[file] |= paths.contains(path);
                }
            }
            Ok(Changes::Overflow) => sync.changed.fill(true),
            Err(e) => warn!("sync {}: inotify: {e}", sync.config.name),
        }
        if sync.settle_at.is_none() && sync.changed.contains(&true) {
            sync.settle_at = Some(now + SETTLE);
        }
    }

    /// Reads the block's changed files again and tells the engine. Without
    /// inotify every file counts as changed an interval later.
    pub(super) fn read_synced_files(&mut self, block: usize, now: Instant) {
        let sync = &mut self.syncs.blocks[block];
        sync.settle_at = None;
        for file in 0..sync.config.files.len() {
            let path = &sync.config.files[file].0;
            if !core::mem::take(&mut sync.changed[file]) {
                continue;
            }
            let max = sync.config.max_size;
            let content = match read_synced(path, max as usize) {
                Ok(Content::Bytes(bytes)) => Some(bytes),
                Ok(Content::Missing) => None,
                Ok(Content::TooLarge) => {
                    if !sync.too_large[file] {
                        warn!(
                            "sync {}: {path} is larger than max-size {max}: not sent",
                            sync.config.name
                        );
                        sync.too_large[file] = true;
                    }
                    None
                }
                Err(e) => {
                    warn!("sync {}: cannot read {path}: {e}", sync.config.name);
                    sync.engine.read_failed(file);
                    None
                }
            };
            if content.is_some() {
                sync.too_large[file] = false;
            }
            sync.engine.set_local(file, content, now);
        }
        if sync.check_at <= now {
            let interval = core::time::Duration::from_millis(u64::from(sync.config.interval_ms));
            sync.check_at = now + interval;
        }
    }
}
