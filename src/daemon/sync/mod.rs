//! File sync (`sync` blocks) in the loop: each block's UDP socket and
//! inotify watch, its protocol engine (`proto::sync`) told the role its
//! instance's state gives it, and the engine's output carried out: datagrams
//! sent, files replaced atomically, `after-update` queued.
//!
//! Never in VRRP's way: everything here is non-blocking, and one loop turn
//! sends at most [`BURST`] datagrams, reads at most [`READ_BURST`] and
//! hashes at most 64 KiB (`proto::sync`) before the loop runs its timers
//! again (see README, "File sync", for the measured gap).

mod files;

use std::os::fd::{AsFd, BorrowedFd};

use log::{info, warn};

use super::links::DROP_LOG_PERIOD;
use super::status::{SyncFileStatus, SyncStatus};
use super::{Daemon, StartError, Token};
use crate::config::{ConfigError, SyncConfig};
use crate::notify::Call;
use crate::proto::fsm::StateKind;
use crate::proto::sync::message::{Drop, Key, MAX_MESSAGE};
use crate::proto::sync::{Event, Peers, Role, Settings, Sync, Transmit};
use crate::proto::time::{Instant, Throttle};
use crate::sys;
use crate::sys::inotify::FileWatch;
use crate::sys::sync::{read_key, replace_file, Datagram, SyncSocket};

/// Datagrams sent per loop turn at most: some 18 KB, under a millisecond
/// of work, after which the loop runs its timers again.
const BURST: usize = 16;
/// Datagrams read per loop turn at most, for the same reason.
const READ_BURST: usize = 64;
/// A file is read this long after the first write seen (inotify), so a
/// writer's burst (dnsmasq's rewrite: truncate, then line after line) is
/// over and read once, not half.
const SETTLE: core::time::Duration = core::time::Duration::from_millis(50);

/// One running sync block.
pub(super) struct Block {
    pub(super) config: SyncConfig,
    /// The key, so an unchanged block survives a reload as it is.
    key: Vec<u8>,
    /// None until it could be opened (the instance's address is known).
    socket: Option<SyncSocket>,
    /// When to try to open it again after a failure.
    open_at: Instant,
    watch: Option<FileWatch>,
    engine: Sync,
    /// Per file: when it was last replaced here (a receiver) or last sent
    /// from here (the source), seconds since the epoch.
    last_sync: Vec<Option<u64>>,
    /// Per file: over max-size, already said.
    too_large: Vec<bool>,
    /// Per file: changed (inotify) and not read since.
    changed: Vec<bool>,
    /// When to read the changed files.
    settle_at: Option<Instant>,
    /// When to read every file again, whatever inotify said: the timed
    /// consistency check of our own copies (a watch lost with its
    /// directory, no inotify at all, an edit that kept the file's bytes
    /// in place unseen), every interval.
    check_at: Instant,
    drop_log: Throttle,
    send_log: Throttle,
}

#[derive(Default)]
pub(super) struct Syncs {
    pub(super) blocks: Vec<Block>,
}

impl Syncs {
    /// Hands each block's socket (and whether it has something to send)
    /// and file watch to `add`, for the poll set.
    pub(super) fn add_fds(&self, add: &mut dyn FnMut(Token, Option<BorrowedFd<'_>>, bool)) {
        for (i, sync) in self.blocks.iter().enumerate() {
            let socket = sync.socket.as_ref().map(AsFd::as_fd);
            add(Token::Sync(i), socket, sync.engine.wants_send());
            add(
                Token::SyncFiles(i),
                sync.watch.as_ref().map(AsFd::as_fd),
                false,
            );
        }
    }
}

/// The key files of `syncs`, read, or their errors at the `key` line.
pub(super) fn read_keys(file: &str, syncs: &[SyncConfig]) -> Result<Vec<Vec<u8>>, StartError> {
    let mut keys = Vec::new();
    let mut errors = Vec::new();
    for sync in syncs {
        match read_key(&sync.key.0) {
            Ok(key) => keys.push(key),
            Err(message) => errors.push(ConfigError {
                file: file.to_string(),
                line: sync.key.1,
                message,
            }),
        }
    }
    if errors.is_empty() {
        Ok(keys)
    } else {
        Err(StartError::Config(errors))
    }
}

/// Microseconds to add to the monotonic clock for our sequence numbers:
/// the wall clock's, so a restarted daemon goes on above its last ones.
fn seed(now: Instant) -> u64 {
    let ts = sys::ffi::realtime_now();
    let wall = ts.tv_sec as u64 * 1_000_000 + ts.tv_nsec as u64 / 1000;
    wall.wrapping_sub(now.as_micros())
}

impl Daemon {
    /// Starts the sync blocks of a new config, keeping a running block
    /// whose config and key did not change as it is.
    pub(super) fn start_syncs(
        &mut self,
        configs: Vec<SyncConfig>,
        keys: Vec<Vec<u8>>,
        now: Instant,
    ) {
        let mut old = core::mem::take(&mut self.syncs.blocks);
        for (config, key) in configs.into_iter().zip(keys) {
            if let Some(i) = old.iter().position(|b| b.config == config && b.key == key) {
                self.syncs.blocks.push(old.swap_remove(i));
                continue;
            }
            let settings = Settings {
                interval: core::time::Duration::from_millis(u64::from(config.interval_ms)),
                max_size: config.max_size,
                peers: Peers::Listed(Vec::new()),
            };
            let files = config.files.len();
            let engine = Sync::new(Key::new(&key), settings, seed(now), files, now);
            let watch = FileWatch::open().and_then(|mut watch| {
                for (path, _) in &config.files {
                    watch.watch_writes(path)?;
                }
                Ok(watch)
            });
            let watch = watch
                .inspect_err(|e| {
                    warn!(
                        "sync {}: cannot watch its files ({e}); they are read every interval",
                        config.name
                    )
                })
                .ok();
            self.syncs.blocks.push(Block {
                last_sync: vec![None; files],
                too_large: vec![false; files],
                changed: vec![true; files],
                settle_at: None,
                check_at: now,
                config,
                key,
                socket: None,
                open_at: now,
                watch,
                engine,
                drop_log: Throttle::default(),
                send_log: Throttle::default(),
            });
            let index = self.syncs.blocks.len() - 1;
            self.read_synced_files(index, now);
        }
    }

    /// The instance a block follows, by slot.
    fn sync_instance(&self, block: usize) -> Option<usize> {
        let name = &self.syncs.blocks[block].config.instance;
        self.instances.iter().position(|i| i.config.name == *name)
    }

    /// Opens a block's socket once its instance has an address, with the
    /// peers the instance gives it; after a failure, again an interval
    /// later.
    fn open_sync_socket(&mut self, block: usize, now: Instant) {
        let sync = &mut self.syncs.blocks[block];
        if sync.open_at > now {
            return;
        }
        let interval = core::time::Duration::from_millis(u64::from(sync.config.interval_ms));
        sync.open_at = now + interval;
        let Some(slot) = self.sync_instance(block) else {
            return;
        };
        let instance = &self.instances[slot];
        let link = &self.links[instance.link];
        let local = instance.fsm.params().primary;
        if local.is_unspecified() {
            return;
        }
        let peers = if instance.config.unicast_peers.is_empty() {
            let addresses = self.netlink.addresses(link.index).unwrap_or_default();
            Peers::Subnets(addresses.iter().map(|a| (a.address, a.prefix)).collect())
        } else {
            Peers::Listed(instance.config.unicast_peers.clone())
        };
        let sync = &mut self.syncs.blocks[block];
        match SyncSocket::open(&link.name, link.index, local, sync.config.port) {
            Ok(socket) => {
                info!(
                    "sync {}: port {} on {} ({local})",
                    sync.config.name, sync.config.port, link.name
                );
                sync.engine.set_peers(peers);
                sync.socket = Some(socket);
            }
            Err(e) => {
                warn!(
                    "sync {}: cannot open port {} on {}: {e}; trying again in {}ms",
                    sync.config.name, sync.config.port, link.name, sync.config.interval_ms
                );
            }
        }
    }

    /// Every loop turn: roles from the instances' states, timers, and a
    /// burst of what waits to be sent.
    pub(super) fn run_syncs(&mut self, now: Instant) {
        for block in 0..self.syncs.blocks.len() {
            if self.syncs.blocks[block].socket.is_none() {
                self.open_sync_socket(block, now);
            }
            let role = match self
                .sync_instance(block)
                .map(|slot| &self.instances[slot].fsm)
            {
                Some(fsm) if fsm.kind() == StateKind::Master => Role::Source,
                Some(fsm) if fsm.kind() == StateKind::Backup => {
                    fsm.master().map_or(Role::Idle, Role::Receiver)
                }
                _ => Role::Idle,
            };
            let sync = &mut self.syncs.blocks[block];
            if sync.check_at <= now {
                sync.changed.fill(true);
                self.read_synced_files(block, now);
            } else if sync.settle_at.is_some_and(|at| at <= now) {
                self.read_synced_files(block, now);
            }
            let sync = &mut self.syncs.blocks[block];
            if sync.socket.is_none() {
                continue;
            }
            if role != sync.engine.role() {
                info!("sync {}: {}", sync.config.name, role_name(role));
                sync.engine.set_role(role, now);
            }
            if sync.engine.poll_at().is_some_and(|at| at <= now) {
                let event = sync.engine.handle_timeout(now);
                self.sync_event(block, event, now);
            }
            self.send_syncs(block, now);
        }
    }

    fn send_syncs(&mut self, block: usize, now: Instant) {
        let sync = &mut self.syncs.blocks[block];
        let Some(socket) = &sync.socket else {
            return;
        };
        let mut buf = [0u8; MAX_MESSAGE];
        for _ in 0..BURST {
            let Some(Transmit {
                to,
                len,
                content_of,
            }) = sync.engine.poll_transmit(now, &mut buf)
            else {
                return;
            };
            match socket.send(to, &buf[..len]) {
                Ok(true) => {}
                // The socket's buffer is full: this one is lost like any
                // datagram; the receiver asks again.
                Ok(false) => return,
                Err(e) => {
                    if let Some(count) = sync.send_log.hit(now, DROP_LOG_PERIOD) {
                        warn!(
                            "sync {}: {count} datagram(s) not sent, the last to {to}: {e} (logged at most once a minute)",
                            sync.config.name
                        );
                    }
                    return;
                }
            }
            if let Some(file) = content_of {
                sync.last_sync[file] = Some(sys::wall_clock_secs());
            }
        }
    }

    /// A block's socket is readable.
    pub(super) fn receive_sync(&mut self, block: usize, now: Instant) {
        let mut buf = [0u8; MAX_MESSAGE + 1];
        for _ in 0..READ_BURST {
            let sync = &mut self.syncs.blocks[block];
            let Some(socket) = &sync.socket else {
                return;
            };
            let (from, result) = match socket.recv(&mut buf) {
                Ok(None) => return,
                Ok(Some(Datagram::From(from, len))) => {
                    (from, sync.engine.handle_datagram(now, from, &buf[..len]))
                }
                Ok(Some(Datagram::Oversized(from))) => {
                    sync.engine.drops[Drop::Oversized.index()] += 1;
                    (from, Err(Drop::Oversized))
                }
                Err(e) => {
                    warn!("sync {}: receive: {e}", sync.config.name);
                    return;
                }
            };
            match result {
                Ok(event) => self.sync_event(block, event, now),
                Err(drop) => {
                    if let Some(count) = sync.drop_log.hit(now, DROP_LOG_PERIOD) {
                        warn!(
                            "sync {}: dropped {count} datagram(s), the last from {from}: {} (logged at most once a minute)",
                            sync.config.name,
                            drop.name()
                        );
                    }
                }
            }
        }
    }

    fn sync_event(&mut self, block: usize, event: Option<Event>, now: Instant) {
        let sync = &mut self.syncs.blocks[block];
        match event {
            None => {}
            Some(Event::Failed { file, why }) => {
                warn!(
                    "sync {}: {}: transfer failed: {why}",
                    sync.config.name, sync.config.files[file].0
                );
            }
            Some(Event::Replace { file, data, digest }) => {
                let path = &sync.config.files[file].0;
                if let Err(e) = replace_file(path, &data) {
                    warn!(
                        "sync {}: cannot replace {path}: {e}; trying again",
                        sync.config.name
                    );
                    sync.engine.write_failed(file);
                    return;
                }
                info!(
                    "sync {}: {path} replaced ({} bytes)",
                    sync.config.name,
                    data.len()
                );
                sync.last_sync[file] = Some(sys::wall_clock_secs());
                sync.engine.replaced(file, data, digest, now);
                if let Some((script, args)) = sync
                    .config
                    .after_update
                    .as_ref()
                    .and_then(|a| a.split_first())
                {
                    let mut args = args.to_vec();
                    args.push(path.clone());
                    let call = Call {
                        script: script.clone(),
                        args,
                    };
                    self.notifications.notifier.push(call, now);
                }
            }
        }
    }

    /// The earliest sync deadline: an engine's or a socket to open, a
    /// file to read.
    pub(super) fn sync_poll_at(&self) -> Option<Instant> {
        let blocks = self.syncs.blocks.iter();
        blocks
            .map(|s| {
                let at = match s.socket {
                    Some(_) => s.engine.poll_at(),
                    None => Some(s.open_at),
                };
                let read = s.settle_at.map_or(s.check_at, |at| at.min(s.check_at));
                at.map_or(read, |at| at.min(read))
            })
            .min()
    }

    /// What status shows of the sync blocks and their files.
    pub(super) fn sync_status(&self) -> (Vec<SyncStatus<'_>>, Vec<SyncFileStatus<'_>>) {
        let mut blocks = Vec::new();
        let mut files = Vec::new();
        for sync in &self.syncs.blocks {
            blocks.push(SyncStatus {
                name: &sync.config.name,
                instance: &sync.config.instance,
                port: sync.config.port,
                role: role_name(sync.engine.role()),
                drops: Drop::ALL
                    .map(|d| (d.name(), sync.engine.drops[d.index()]))
                    .to_vec(),
            });
            for (file, (path, _)) in sync.config.files.iter().enumerate() {
                let counters = sync.engine.counters(file);
                files.push(SyncFileStatus {
                    sync: &sync.config.name,
                    path,
                    digest: sync.engine.digest(file).map(hex),
                    last_sync: sync.last_sync[file],
                    bytes_sent: counters.bytes_sent,
                    bytes_received: counters.bytes_received,
                    errors: counters.errors,
                });
            }
        }
        (blocks, files)
    }
}

fn role_name(role: Role) -> &'static str {
    match role {
        Role::Idle => "idle",
        Role::Source => "source",
        Role::Receiver(_) => "receiver",
    }
}

fn hex(bytes: &[u8; 32]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    bytes
        .iter()
        .flat_map(|b| [DIGITS[usize::from(b >> 4)], DIGITS[usize::from(b & 15)]])
        .map(char::from)
        .collect()
}
