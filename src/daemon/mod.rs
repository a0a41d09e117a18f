//! The event loop: reads sockets, timers and signals, feeds the protocol
//! core with `now`, and carries out the actions it returns through `sys`.
//!
//! What the loop drives lives beside it: `resolve` (each instance's
//! interface and addresses, looked up at start and on reload), `links`
//! (interfaces, attached by a stable id), `instance` (one state machine
//! each and its counters), `effects` (actions turned into syscalls),
//! `track` and `scripts` (the trackers), `groups` (priorities, health and
//! sync groups), `notifications` (notify scripts and the FIFO), `reload`
//! (SIGHUP), `status` (SIGUSR1 and the status socket), `control` (the
//! status socket's clients) and `sync` (file sync).

/// `log::log!` through one function, [`log_line`]: `log`'s own macros
/// build the record's header (target, module, location) at every call
/// site, about 50 bytes of the mips image each; here a call site passes
/// only its level, its module path and the message. The lines are the
/// same: the module path is the target, as with `log`'s macros.
macro_rules! log_at {
    ($level:ident, $($message:tt)+) => {
        $crate::daemon::log_line(log::Level::$level, module_path!(), format_args!($($message)+))
    };
}

mod control;
mod effects;
mod groups;
mod instance;
mod links;
mod notifications;
mod reload;
mod resolve;
mod scripts;
pub mod status;
// File sync; a build without it refuses `sync` blocks.
#[cfg(feature = "sync")]
mod sync;
#[cfg(not(feature = "sync"))]
#[path = "sync_off.rs"]
mod sync;
mod track;
mod vmac;

use core::fmt;
use core::time::Duration;
use std::io;
use std::os::fd::{AsFd, BorrowedFd, OwnedFd};

use rustix::process::Signal;

use crate::config::{Config, ConfigError, InstanceConfig, Vip};
use crate::proto::time::{is_due, Instant};
use crate::sys::netlink::{LinkWatch, Netlink};
use crate::sys::{self, FrameSender};

use control::Control;
use groups::Group;
use instance::Runtime;
use links::{LinkId, Links};
use notifications::{Fifo, Notifications};
use track::Tracking;

/// Why the daemon could not start.
#[derive(Debug)]
pub enum StartError {
    /// The config names something this system lacks (`file:line: message`).
    Config(Vec<ConfigError>),
    Io(io::Error),
}

impl From<io::Error> for StartError {
    fn from(e: io::Error) -> StartError {
        StartError::Io(e)
    }
}

pub struct Daemon {
    /// The config file, read again on SIGHUP.
    file: String,
    netlink: Netlink,
    link_watch: LinkWatch,
    frames: FrameSender,
    /// Sysctls changed for virtual MACs, put back at exit.
    sysctls: vmac::Sysctls,
    signals: OwnedFd,
    links: Links,
    instances: Vec<Runtime>,
    tracking: Tracking,
    groups: Vec<Group>,
    notifications: Notifications,
    control: Control,
    syncs: sync::Syncs,
    /// When to look for interfaces in use that were deleted and created again.
    reattach_at: Option<Instant>,
    /// A reload failed while an interface was being re-created; it is tried
    /// again once that interface is attached.
    reload_after_reattach: bool,
    /// Where links receive their datagrams.
    datagrams: sys::Datagrams,
    /// Where adverts and announcements are built to be sent.
    packets: sys::Packets,
    /// The poll set and what each of its descriptors is for, by position;
    /// kept between wake-ups so that one allocates nothing.
    poll: sys::PollSet,
    tokens: Vec<Token>,
    /// Scratch space of `reconcile_vips`.
    desired_vips: Vec<Vip>,
    /// While `run_timers` runs: periodic adverts wait in `advert_queue`,
    /// by slot and priority, to leave together at its end.
    queueing_adverts: bool,
    advert_queue: Vec<(usize, u8)>,
}

/// What a descriptor in the poll set is for. Links are named by their id,
/// so a token stays right however the set of links changes.
#[derive(Clone, Copy)]
#[cfg_attr(not(feature = "sync"), expect(dead_code))]
enum Token {
    Signals,
    LinkWatch,
    /// Tracked files (inotify).
    Files,
    Link(LinkId),
    /// The status socket's listener.
    Control,
    /// A status socket client, by its id.
    Client(u32),
    /// A sync block's socket, by its index.
    Sync(usize),
    /// A sync block's files (inotify), by its index.
    SyncFiles(usize),
}

/// What a signal asks for.
enum Request {
    Continue,
    Exit,
}

impl Daemon {
    /// Resolves interfaces, checks its capabilities and opens sockets.
    /// Nothing is sent and nothing is changed before every instance's
    /// interface has been found.
    pub fn start(
        file: &str,
        config: Config,
        notify_all: Option<&str>,
        socket: &str,
    ) -> Result<Daemon, StartError> {
        let mut netlink = Netlink::open()?;
        // Subscribed before the links are looked up, so no change between
        // the lookup and the loop is missed.
        let link_watch = LinkWatch::open()?;
        let Config {
            instances,
            scripts,
            groups,
            notify_fifo,
            syncs,
        } = config;
        let resolved = resolve::resolve(&mut netlink, file, instances)?;
        let keys = sync::read_keys(file, &syncs)?;
        // After the config's errors (reading needs no privilege), before
        // anything changes: without the two capabilities, or with a second
        // daemon on the same socket, nothing starts.
        sys::check_capabilities()?;
        // A packet socket: the first thing that needs CAP_NET_RAW.
        let frames = FrameSender::open()?;
        let control = Control::open(socket)?;
        // SIGCHLD: a script that ended is reaped at once.
        let signals = sys::ffi::signal_fd(&[
            Signal::TERM.as_raw(),
            Signal::INT.as_raw(),
            Signal::HUP.as_raw(),
            Signal::USR1.as_raw(),
            Signal::CHILD.as_raw(),
        ])?;
        if let Err(e) = sys::tighten_timer_slack() {
            log_at!(Warn, "could not reduce timer slack: {e}");
        }
        let now = sys::now();
        let configs: Vec<&InstanceConfig> = resolved.iter().map(|r| &r.config).collect();
        let tracking = Tracking::new(&configs, &scripts, None, &mut netlink, now);
        let groups = groups::rebuild(groups, Vec::new());
        let fifo = Fifo::new(notify_fifo);
        let mut daemon = Daemon {
            file: file.to_string(),
            netlink,
            link_watch,
            frames,
            sysctls: vmac::Sysctls::default(),
            signals,
            links: Links::default(),
            instances: Vec::new(),
            tracking,
            groups,
            notifications: Notifications::new(notify_all.map(String::from), fifo),
            control,
            syncs: sync::Syncs::default(),
            reattach_at: None,
            reload_after_reattach: false,
            datagrams: sys::Datagrams::default(),
            packets: sys::Packets::default(),
            poll: sys::PollSet::default(),
            tokens: Vec::new(),
            desired_vips: Vec::new(),
            queueing_adverts: false,
            advert_queue: Vec::new(),
        };
        for instance in resolved {
            daemon.start_instance(instance, now)?;
        }
        daemon.refresh(now);
        daemon.start_syncs(syncs, keys, now);
        Ok(daemon)
    }

    /// Runs until SIGTERM or SIGINT, then hands over mastership and returns.
    pub fn run(&mut self) -> io::Result<()> {
        loop {
            let now = sys::now();
            self.run_timers(now);
            self.run_syncs(now);
            self.notifications.notifier.poll(now);
            let timeout = self.next_deadline().map(|at| at.saturating_since(now));
            self.wait(timeout)?;
            for position in 0..self.tokens.len() {
                if !self.poll.is_ready(position) {
                    continue;
                }
                match self.tokens[position] {
                    Token::Signals => {
                        if let Request::Exit = self.handle_signals()? {
                            // Dropping the daemon shuts it down.
                            return Ok(());
                        }
                        // A reload may have changed the links and the
                        // timers; poll afresh.
                        break;
                    }
                    Token::LinkWatch => self.handle_link_changes(),
                    Token::Files => {
                        if self.tracking.read_files() {
                            self.refresh(sys::now());
                        }
                    }
                    Token::Link(id) => self.receive(id),
                    Token::Control => self.accept_clients(sys::now()),
                    Token::Client(id) => self.serve_client(id, sys::now()),
                    Token::Sync(block) => self.receive_sync(block, sys::now()),
                    Token::SyncFiles(block) => self.watch_sync(block, sys::now()),
                }
            }
        }
    }

    /// Sleeps until a descriptor of the poll set is ready or `timeout`
    /// passes; `tokens` then name the descriptors, signals first, and
    /// `poll` says which are ready.
    fn wait(&mut self, timeout: Option<Duration>) -> io::Result<()> {
        let (tokens, poll) = (&mut self.tokens, &mut self.poll);
        tokens.clear();
        poll.clear();
        // Each descriptor with its token and whether it waits to write; a
        // link still waiting for an address to bind to has none.
        let mut add = |token, fd: Option<BorrowedFd<'_>>, write| {
            if let Some(fd) = fd {
                tokens.push(token);
                poll.add(fd, write);
            }
        };
        add(Token::Signals, Some(self.signals.as_fd()), false);
        add(Token::LinkWatch, Some(self.link_watch.as_fd()), false);
        let files = self.tracking.watch.as_ref();
        add(Token::Files, files.map(AsFd::as_fd), false);
        let listener = self.control.listener.as_ref();
        add(Token::Control, listener.map(AsFd::as_fd), false);
        for (id, link) in self.links.ids().zip(self.links.iter()) {
            add(
                Token::Link(id),
                link.socket.as_ref().map(AsFd::as_fd),
                false,
            );
        }
        for client in &self.control.clients {
            let writing = client.answer.is_some();
            add(Token::Client(client.id), Some(client.fd.as_fd()), writing);
        }
        self.syncs.add_fds(&mut add);
        poll.wait(timeout)
    }

    /// The earliest timer of all: the loop sleeps until it.
    fn next_deadline(&self) -> Option<Instant> {
        let mut next = earliest(self.reattach_at, self.tracking.poll_at());
        next = earliest(next, self.control.poll_at());
        next = earliest(next, self.notifications.notifier.poll_at());
        next = earliest(next, self.sync_poll_at());
        for instance in &self.instances {
            next = earliest(next, instance.fsm.poll_at());
            next = earliest(next, instance.vips.retry_at());
        }
        next
    }

    fn run_timers(&mut self, now: Instant) {
        self.queueing_adverts = true;
        self.run_due_timers(now);
        self.queueing_adverts = false;
        self.send_queued_adverts();
    }

    fn run_due_timers(&mut self, now: Instant) {
        self.control.expire(now);
        if is_due(self.tracking.poll_at(), now) && self.tracking.poll(now) {
            self.refresh(now);
        }
        if is_due(self.reattach_at, now) {
            self.reattach_at = None;
            self.reattach(now);
        }
        for slot in 0..self.instances.len() {
            if is_due(self.instances[slot].fsm.poll_at(), now) {
                let output = self.instances[slot].fsm.handle_timeout(now);
                self.execute(slot, now, &output);
                self.settle_group_of(slot, now);
            }
            if is_due(self.instances[slot].vips.retry_at(), now) {
                self.reconcile_vips(slot, now);
            }
        }
    }

    fn handle_signals(&mut self) -> io::Result<Request> {
        // struct signalfd_siginfo is 128 bytes; ssi_signo comes first.
        let mut info = [0u8; 128];
        let mut request = Request::Continue;
        loop {
            match rustix::io::read(&self.signals, &mut info) {
                Ok(n) if n == info.len() => {}
                Ok(_) | Err(rustix::io::Errno::AGAIN) => return Ok(request),
                Err(e) => return Err(e.into()),
            }
            let signo = i32::from_ne_bytes([info[0], info[1], info[2], info[3]]);
            if signo == Signal::TERM.as_raw() || signo == Signal::INT.as_raw() {
                log_at!(Info, "signal {signo}: shutting down");
                request = Request::Exit;
            } else if signo == Signal::USR1.as_raw() {
                self.log_status();
            } else if signo == Signal::CHILD.as_raw() {
                let now = sys::now();
                self.notifications.notifier.poll(now);
                if self.tracking.poll(now) {
                    self.refresh(now);
                }
            } else if signo == Signal::HUP.as_raw() {
                log_at!(Info, "SIGHUP: reloading {}", self.file);
                // Errors are logged; the running config stays.
                let _ = self.reload();
            }
        }
    }

    /// RFC 5798 §6.4.3 Shutdown for every instance, then the virtual MAC
    /// interfaces go and the sysctls changed for them are put back. Run on
    /// drop: after SIGTERM, and also when start fails half way or the loop
    /// stops on an error, so no VIP, macvlan or sysctl is left behind.
    fn shutdown(&mut self) {
        let now = sys::now();
        for slot in 0..self.instances.len() {
            let output = self.instances[slot].fsm.shutdown();
            self.execute(slot, now, &output);
            self.remove_vmac(slot);
        }
        self.stop_groups(now);
        self.tracking.stop();
        self.sysctls.restore();
        self.notifications.notifier.drain(sys::now);
    }
}

/// The earlier of two deadlines, either of which may be absent. (Not an
/// iterator's `min` over them: its adapters cost 1 KB of the mips image.)
/// Not inlined: a 64-bit comparison of options is long on 32-bit MIPS.
#[inline(never)]
fn earliest(a: Option<Instant>, b: Option<Instant>) -> Option<Instant> {
    match (a, b) {
        (Some(a), Some(b)) => Some(a.min(b)),
        (a, None) => a,
        (None, b) => b,
    }
}

/// Logs `message` at `level` for the module `target`; see [`log_at`].
#[inline(never)]
fn log_line(level: log::Level, target: &str, message: fmt::Arguments<'_>) {
    log::log!(target: target, level, "{message}");
}

/// Adds one to a counter. Not inlined: a 64-bit increment takes seven
/// instructions on 32-bit MIPS, a call three.
#[inline(never)]
fn increment(counter: &mut u64) {
    *counter += 1;
}

impl Drop for Daemon {
    fn drop(&mut self) {
        self.shutdown();
    }
}
