//! The event loop: reads sockets, timers and signals, feeds the protocol
//! core with `now`, and carries out the actions it returns through `sys`.

use core::net::Ipv4Addr;
use core::time::Duration;
use std::io;
use std::os::fd::{AsFd, OwnedFd};

use log::{debug, error, info, warn};
use rustix::process::Signal;

use crate::config::{Config, ConfigError, InstanceConfig};
use crate::notify::{Call, Notifier};
use crate::proto::arp;
use crate::proto::fsm::{Action, AdvertDrop, Instance, StateKind};
use crate::proto::time::Instant;
use crate::proto::wire::{self, Checksum, RxError, MULTICAST_GROUP};
use crate::sys::netlink::{AddressEntry, LinkChange, LinkEvents, LinkWatch, Netlink};
use crate::sys::{self, ArpSender, VrrpSocket};

/// A failed address change is tried again after this long.
const VIP_RETRY: Duration = Duration::from_secs(1);
/// An interface created again without its IPv4 address yet is looked at
/// again after this long.
const REATTACH_RETRY: Duration = Duration::from_secs(1);
/// Large enough for any advert on a 1500-octet link; longer ones are truncated
/// by the kernel and counted.
const RECV_BUFFER: usize = 2048;

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

/// One interface with at least one instance on it.
struct Link {
    name: String,
    index: u32,
    mac: [u8; 6],
    primary: Ipv4Addr,
    /// Up and with carrier; while not, its instances are in Fault.
    up: bool,
    /// Created again, and waiting until we can bind to it (said once).
    reattach_waiting: bool,
    socket: VrrpSocket,
    rx_errors: [u64; RxError::ALL.len()],
    unknown_vrid: u64,
}

/// One instance: its config, its state machine and its counters.
struct Runtime {
    config: InstanceConfig,
    fsm: Instance,
    link: usize,
    adverts_rx: u64,
    adverts_tx: u64,
    send_errors: u64,
    drops: [u64; AdvertDrop::ALL.len()],
    /// Adverts whose checksum was valid only in the form we do not send: the
    /// peer's `v3-checksum` setting differs, so it drops our adverts.
    checksum_form_mismatch: u64,
    /// Set while the VIPs on the interface may not match the state.
    vip_retry_at: Option<Instant>,
}

pub struct Daemon {
    /// The config file, read again on SIGHUP.
    file: String,
    netlink: Netlink,
    link_watch: LinkWatch,
    arp: ArpSender,
    signals: OwnedFd,
    links: Vec<Link>,
    instances: Vec<Runtime>,
    notifier: Notifier,
    /// Run on every state change of every instance, after the instance's own.
    notify_all: Option<String>,
    /// When to look for interfaces in use that were deleted and created again.
    reattach_at: Option<Instant>,
    /// A reload failed while an interface was being re-created; it is tried
    /// again once that interface is attached.
    reload_after_reattach: bool,
    buf: Vec<u8>,
}

/// What a signal asks for.
enum Request {
    Continue,
    Exit,
}

impl Daemon {
    /// Resolves interfaces and opens sockets. Nothing is sent and nothing is
    /// changed before every instance's interface has been found.
    pub fn start(
        file: &str,
        config: Config,
        notify_all: Option<String>,
    ) -> Result<Daemon, StartError> {
        let mut netlink = Netlink::open()?;
        // Subscribed before the links are looked up, so no change between
        // the lookup and the loop is missed.
        let link_watch = LinkWatch::open()?;
        let resolved = resolve(&mut netlink, file, config)?;
        let signals = sys::ffi::signal_fd(&[
            Signal::TERM.as_raw(),
            Signal::INT.as_raw(),
            Signal::HUP.as_raw(),
            Signal::USR1.as_raw(),
        ])?;
        if let Err(e) = sys::tighten_timer_slack() {
            warn!("could not reduce timer slack: {e}");
        }
        let mut daemon = Daemon {
            file: file.to_string(),
            netlink,
            link_watch,
            arp: ArpSender::open()?,
            signals,
            links: Vec::new(),
            instances: Vec::new(),
            notifier: Notifier::default(),
            notify_all,
            reattach_at: None,
            reload_after_reattach: false,
            buf: vec![0; RECV_BUFFER],
        };
        let now = sys::now();
        for instance in resolved {
            daemon.add_instance(instance, now)?;
        }
        Ok(daemon)
    }

    /// Runs until SIGTERM or SIGINT, then hands over mastership and returns.
    pub fn run(&mut self) -> io::Result<()> {
        loop {
            let now = sys::now();
            self.run_timers(now);
            self.notifier.poll(now);
            let timeout = self
                .next_deadline()
                .into_iter()
                .chain(self.notifier.poll_at(now))
                .min()
                .map(|at| at.saturating_since(now));
            let readable = {
                let mut fds = vec![self.signals.as_fd(), self.link_watch.as_fd()];
                fds.extend(self.links.iter().map(|l| l.socket.as_fd()));
                sys::wait_readable(&fds, timeout)?
            };
            if readable[0] {
                if let Request::Exit = self.handle_signals()? {
                    self.shutdown();
                    return Ok(());
                }
                // A reload may have changed the sockets; poll afresh.
                continue;
            }
            if readable[1] {
                self.handle_link_changes();
            }
            for (slot, ready) in readable[2..].iter().enumerate() {
                if *ready {
                    self.receive(slot);
                }
            }
        }
    }

    /// Opens the interface's socket if needed, removes stale VIPs and starts
    /// the state machine (RFC 5798 §6.4.1).
    fn add_instance(&mut self, resolved: Resolved, now: Instant) -> io::Result<()> {
        let Resolved {
            config,
            link,
            primary,
            addresses,
        } = resolved;
        let link_slot = match self.links.iter().position(|l| l.index == link.index) {
            Some(slot) => slot,
            None => {
                let socket = VrrpSocket::open(&config.interface, link.index, primary)?;
                self.links.push(Link {
                    name: config.interface.clone(),
                    index: link.index,
                    mac: link.mac,
                    primary,
                    up: link.up,
                    reattach_waiting: false,
                    socket,
                    rx_errors: [0; RxError::ALL.len()],
                    unknown_vrid: 0,
                });
                self.links.len() - 1
            }
        };
        let primary = self.links[link_slot].primary;
        // A VIP left behind by a crashed run would answer ARP for an address
        // another router now owns.
        for vip in &config.vips {
            let present = addresses.iter().any(|a| a.address == vip.address);
            if present && vip.address != primary {
                info!(
                    "{}: removing stale {} from {}",
                    config.name, vip, config.interface
                );
                if let Err(e) = self
                    .netlink
                    .del_address(link.index, vip.address, vip.prefix)
                {
                    warn!("{}: could not remove stale {vip}: {e}", config.name);
                }
            }
        }
        info!(
            "{}: starting on {} (primary {primary}), vrid {}, priority {}",
            config.name, config.interface, config.vrid, config.priority
        );
        let fsm = Instance::new(config.params(primary));
        self.instances.push(Runtime {
            config,
            fsm,
            link: link_slot,
            adverts_rx: 0,
            adverts_tx: 0,
            send_errors: 0,
            drops: [0; AdvertDrop::ALL.len()],
            checksum_form_mismatch: 0,
            vip_retry_at: None,
        });
        let slot = self.instances.len() - 1;
        let actions = if self.links[link_slot].up {
            self.instances[slot].fsm.startup(now)
        } else {
            let config = &self.instances[slot].config;
            warn!("{}: {} is down", config.name, config.interface);
            self.instances[slot].fsm.handle_link(now, false)
        };
        self.execute(slot, now, &actions);
        Ok(())
    }

    /// SIGHUP: apply a changed config without disturbing what did not change.
    /// An instance keeps its state when its interface, VRID and version stay
    /// the same; others are stopped (priority 0) or started. A config that
    /// does not parse or names a missing interface changes nothing.
    fn reload(&mut self) {
        // Link changes queued before the lookups below are older than them,
        // and an interface created again is attached first, so that its
        // instances count as unchanged.
        self.handle_link_changes();
        if self.reattach_at.take().is_some() {
            self.reattach(sys::now());
        }
        let config = match std::fs::read_to_string(&self.file) {
            Ok(text) => crate::config::parse(&self.file, &text),
            Err(e) => {
                error!(
                    "reload: cannot read {}: {e}; keeping the running config",
                    self.file
                );
                return;
            }
        };
        let resolved = match config
            .map_err(StartError::Config)
            .and_then(|config| resolve(&mut self.netlink, &self.file, config))
        {
            Ok(resolved) => resolved,
            Err(StartError::Config(errors)) => {
                for e in errors {
                    error!("reload: {e}");
                }
                if self.links.iter().any(|l| l.reattach_waiting) {
                    info!("reload: trying again once the re-created interface is attached");
                    self.reload_after_reattach = true;
                } else {
                    error!("reload: keeping the running config");
                }
                return;
            }
            Err(StartError::Io(e)) => {
                error!("reload: {e}; keeping the running config");
                return;
            }
        };
        let now = sys::now();
        let mut kept = vec![false; self.instances.len()];
        let mut added = Vec::new();
        for new in resolved {
            let same = self.instances.iter().position(|old| {
                old.config.name == new.config.name
                    && old.config.interface == new.config.interface
                    && old.config.vrid == new.config.vrid
                    && old.config.version == new.config.version
                    && self.links[old.link].index == new.link.index
            });
            match same {
                Some(slot) => {
                    kept[slot] = true;
                    self.update_instance(slot, new.config, now);
                }
                None => added.push(new),
            }
        }
        for slot in (0..self.instances.len()).rev() {
            if !kept[slot] {
                info!("{}: removed by reload", self.instances[slot].config.name);
                let actions = self.instances[slot].fsm.shutdown();
                self.execute(slot, now, &actions);
                self.instances.remove(slot);
            }
        }
        self.drop_unused_links();
        for new in added {
            if let Err(e) = self.add_instance(new, now) {
                error!("reload: cannot start an instance: {e}");
            }
        }
        info!("reload: {} instances running", self.instances.len());
    }

    /// Applies new settings to a running instance in place. A master moves
    /// its addresses to the new list and announces the new ones.
    fn update_instance(&mut self, slot: usize, config: InstanceConfig, now: Instant) {
        let instance = &mut self.instances[slot];
        if instance.config == config {
            return;
        }
        info!("{}: settings changed by reload", config.name);
        let primary = self.links[instance.link].primary;
        let old = std::mem::replace(&mut instance.config, config);
        instance.fsm.reconfigure(instance.config.params(primary));
        if instance.fsm.kind() != StateKind::Master || old.vips == instance.config.vips {
            return;
        }
        let index = self.links[instance.link].index;
        for vip in old
            .vips
            .iter()
            .filter(|v| !instance.config.vips.contains(v))
        {
            if let Err(e) = self.netlink.del_address(index, vip.address, vip.prefix) {
                error!("{}: could not remove {vip}: {e}", instance.config.name);
            }
        }
        self.execute(slot, now, &[Action::AddVips, Action::SendGarp]);
    }

    /// Closes sockets of interfaces no instance uses any more.
    fn drop_unused_links(&mut self) {
        let mut slot = 0;
        while slot < self.links.len() {
            if self.instances.iter().any(|i| i.link == slot) {
                slot += 1;
                continue;
            }
            self.links.remove(slot);
            for instance in &mut self.instances {
                if instance.link > slot {
                    instance.link -= 1;
                }
            }
        }
    }

    /// Link changes from the kernel: instances on a link that went down
    /// enter Fault; when it comes back they start again.
    fn handle_link_changes(&mut self) {
        let now = sys::now();
        let changes = match self.link_watch.read() {
            Ok(LinkEvents::Changes(changes)) => changes,
            Ok(LinkEvents::Lost) => {
                warn!("link changes were lost; looking every interface up again");
                self.look_up_links(now)
            }
            Err(e) => {
                warn!("cannot read link changes: {e}");
                return;
            }
        };
        for change in changes {
            self.set_link_state(change, now);
        }
    }

    /// The current state of every link in use. A link that was deleted, or
    /// replaced by a new one of the same name, counts as down until
    /// `reattach` binds to its successor.
    fn look_up_links(&mut self, now: Instant) -> Vec<LinkChange> {
        let mut changes = Vec::new();
        for link in &self.links {
            let up = match self.netlink.link(&link.name) {
                Ok(Some(found)) if found.index == link.index => found.up,
                Ok(Some(_)) => {
                    self.reattach_at = Some(now);
                    false
                }
                Ok(None) => false,
                Err(e) => {
                    warn!("{}: cannot look the link up: {e}", link.name);
                    link.up
                }
            };
            changes.push(LinkChange {
                index: link.index,
                up,
                name: None,
            });
        }
        changes
    }

    fn set_link_state(&mut self, change: LinkChange, now: Instant) {
        let Some(link_slot) = self.links.iter().position(|l| l.index == change.index) else {
            // A new index under a name in use: the interface was deleted and
            // created again (netifd does so to br-lan on a network restart).
            if let Some(name) = &change.name {
                if self.links.iter().any(|l| &l.name == name) {
                    self.reattach_at.get_or_insert(now);
                }
            }
            return;
        };
        self.set_link_up(link_slot, change.up, now);
    }

    /// Records whether a link in use is up; on a change its instances enter
    /// or leave Fault.
    fn set_link_up(&mut self, link_slot: usize, up: bool, now: Instant) {
        let link = &mut self.links[link_slot];
        if link.up == up {
            return;
        }
        link.up = up;
        if up {
            info!("{}: link up", link.name);
        } else {
            warn!("{}: link down", link.name);
        }
        for slot in 0..self.instances.len() {
            if self.instances[slot].link == link_slot {
                let actions = self.instances[slot].fsm.handle_link(now, up);
                self.execute(slot, now, &actions);
            }
        }
    }

    /// Binds to interfaces in use that were deleted and created again; their
    /// instances waited in Fault and keep going (keepalived re-attaches the
    /// same way). One still without an IPv4 address is tried again later.
    fn reattach(&mut self, now: Instant) {
        for link_slot in 0..self.links.len() {
            match self.rebind(link_slot, now) {
                Ok(Some(up)) => self.set_link_up(link_slot, up, now),
                Ok(None) => {}
                Err(e) => {
                    let link = &mut self.links[link_slot];
                    if !link.reattach_waiting {
                        warn!("{}: cannot attach to the new interface yet: {e}", link.name);
                    }
                    link.reattach_waiting = true;
                    self.reattach_at = Some(now + REATTACH_RETRY);
                }
            }
        }
        if self.reload_after_reattach && !self.links.iter().any(|l| l.reattach_waiting) {
            self.reload_after_reattach = false;
            info!("reload: the re-created interface is attached; reloading now");
            self.reload();
        }
    }

    /// Moves a link to the interface that now has its name. Returns whether
    /// the new one is up, or None when nothing changed.
    fn rebind(&mut self, link_slot: usize, now: Instant) -> io::Result<Option<bool>> {
        let name = self.links[link_slot].name.clone();
        let Some(found) = self.netlink.link(&name)? else {
            return Ok(None);
        };
        let Some(config) = self
            .instances
            .iter()
            .find(|i| i.link == link_slot)
            .map(|i| &i.config)
        else {
            return Ok(None);
        };
        if found.index == self.links[link_slot].index {
            return Ok(None);
        }
        let addresses = self.netlink.addresses(found.index)?;
        let primary = primary_address(&addresses, config)
            .ok_or_else(|| io::Error::new(io::ErrorKind::AddrNotAvailable, "no IPv4 address"))?;
        let socket = VrrpSocket::open(&name, found.index, primary)?;
        info!("{name}: created again (index {}); attached", found.index);
        // The old interface may live on under another name (renamed, or its
        // deletion not read yet): leave it as if it went down, VIPs and all.
        self.set_link_up(link_slot, false, now);
        let link = &mut self.links[link_slot];
        link.index = found.index;
        link.mac = found.mac;
        link.primary = primary;
        link.socket = socket;
        link.reattach_waiting = false;
        for instance in self.instances.iter_mut().filter(|i| i.link == link_slot) {
            instance.fsm.reconfigure(instance.config.params(primary));
        }
        Ok(Some(found.up))
    }

    fn next_deadline(&self) -> Option<Instant> {
        self.instances
            .iter()
            .flat_map(|i| [i.fsm.poll_at(), i.vip_retry_at])
            .chain([self.reattach_at])
            .flatten()
            .min()
    }

    fn run_timers(&mut self, now: Instant) {
        if self.reattach_at.is_some_and(|at| at <= now) {
            self.reattach_at = None;
            self.reattach(now);
        }
        for slot in 0..self.instances.len() {
            if self.instances[slot]
                .fsm
                .poll_at()
                .is_some_and(|at| at <= now)
            {
                let actions = self.instances[slot].fsm.handle_timeout(now);
                self.execute(slot, now, &actions);
            }
            if self.instances[slot]
                .vip_retry_at
                .is_some_and(|at| at <= now)
            {
                self.instances[slot].vip_retry_at = None;
                let action = match self.instances[slot].fsm.kind() {
                    StateKind::Master => Action::AddVips,
                    _ => Action::DelVips,
                };
                self.execute(slot, now, &[action]);
            }
        }
    }

    fn receive(&mut self, link_slot: usize) {
        loop {
            let now = sys::now();
            let link = &mut self.links[link_slot];
            let datagram = match link.socket.recv(&mut self.buf) {
                Ok(Some(datagram)) => datagram,
                Ok(None) => return,
                Err(e) => {
                    warn!("{}: receive failed: {e}", link.name);
                    return;
                }
            };
            let received = match wire::parse_ipv4(datagram) {
                Ok(received) => received,
                Err(reason) => {
                    link.rx_errors[reason.index()] += 1;
                    debug!("{}: dropped packet: {}", link.name, reason.name());
                    continue;
                }
            };
            if received.src == link.primary {
                continue;
            }
            let Some(slot) = self
                .instances
                .iter()
                .position(|i| i.link == link_slot && i.config.vrid == received.advert.vrid)
            else {
                link.unknown_vrid += 1;
                continue;
            };
            let instance = &mut self.instances[slot];
            instance.adverts_rx += 1;
            let params = instance.fsm.params();
            // Another version is a version mismatch, counted by the FSM.
            if received.advert.version == params.version
                && received.advert.checksum != params.checksum
            {
                if instance.checksum_form_mismatch == 0 {
                    warn!(
                        "{}: {} sends v3 checksums {} the pseudo-header, we send them {}; it will drop ours (set v3-checksum to match)",
                        instance.config.name,
                        received.src,
                        checksum_words(received.advert.checksum),
                        checksum_words(params.checksum),
                    );
                }
                instance.checksum_form_mismatch += 1;
            }
            match instance
                .fsm
                .handle_advert(now, received.src, &received.advert)
            {
                Ok(actions) => self.execute(slot, now, &actions),
                Err(reason) => {
                    instance.drops[reason.index()] += 1;
                    debug!(
                        "{}: dropped advert from {}: {}",
                        instance.config.name,
                        received.src,
                        reason.name()
                    );
                }
            }
        }
    }

    fn execute(&mut self, slot: usize, now: Instant, actions: &[Action]) {
        for action in actions {
            match *action {
                Action::SendAdvert { priority } => self.send_advert(slot, priority),
                Action::AddVips => self.change_vips(slot, now, true),
                Action::DelVips => self.change_vips(slot, now, false),
                Action::SendGarp => self.send_garp(slot),
                Action::Notify(state) => {
                    let config = &self.instances[slot].config;
                    info!("{}: entering {} state", config.name, state.name());
                    let args = [
                        "INSTANCE".to_string(),
                        config.name.clone(),
                        state.notify_word().to_string(),
                        config.priority.to_string(),
                    ];
                    for script in [&config.notify, &self.notify_all].into_iter().flatten() {
                        let call = Call {
                            script: script.clone(),
                            args: args.to_vec(),
                        };
                        self.notifier.push(call, now);
                    }
                }
            }
        }
    }

    fn send_advert(&mut self, slot: usize, priority: u8) {
        let instance = &mut self.instances[slot];
        let link = &self.links[instance.link];
        let params = instance.fsm.params();
        let advert = params.advert(priority);
        let multicast = [MULTICAST_GROUP];
        let destinations = if params.unicast_peers.is_empty() {
            &multicast[..]
        } else {
            &params.unicast_peers[..]
        };
        let mut datagram = [0u8; RECV_BUFFER];
        for &dst in destinations {
            let len = advert.emit_ipv4(params.primary, dst, &mut datagram);
            match link.socket.send(&datagram[..len], dst) {
                Ok(()) => instance.adverts_tx += 1,
                Err(e) => {
                    instance.send_errors += 1;
                    warn!("{}: advert to {dst} not sent: {e}", instance.config.name);
                }
            }
        }
    }

    fn change_vips(&mut self, slot: usize, now: Instant, add: bool) {
        let instance = &mut self.instances[slot];
        let link = &self.links[instance.link];
        let mut failed = false;
        for vip in &instance.config.vips {
            if vip.address == link.primary {
                continue;
            }
            let result = if add {
                self.netlink
                    .add_address(link.index, vip.address, vip.prefix)
            } else {
                self.netlink
                    .del_address(link.index, vip.address, vip.prefix)
            };
            if let Err(e) = result {
                failed = true;
                error!(
                    "{}: could not {} {vip} on {}: {e}; retrying",
                    instance.config.name,
                    if add { "add" } else { "remove" },
                    link.name
                );
            }
        }
        instance.vip_retry_at = failed.then(|| now + VIP_RETRY);
    }

    fn send_garp(&mut self, slot: usize) {
        let instance = &self.instances[slot];
        let link = &self.links[instance.link];
        // keepalived's `vrrp_garp_master_repeat`: several at once, since one
        // lost frame would leave a neighbour pointing at the old master.
        for vip in &instance.config.vips {
            let payload = arp::gratuitous(link.mac, vip.address);
            for _ in 0..instance.config.garp_repeat {
                if let Err(e) = self.arp.send(link.index, &payload) {
                    warn!(
                        "{}: gratuitous ARP for {} not sent: {e}",
                        instance.config.name, vip.address
                    );
                    break;
                }
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
                info!("signal {signo}: shutting down");
                request = Request::Exit;
            } else if signo == Signal::USR1.as_raw() {
                self.log_status();
            } else if signo == Signal::HUP.as_raw() {
                info!("SIGHUP: reloading {}", self.file);
                self.reload();
            }
        }
    }

    fn shutdown(&mut self) {
        let now = sys::now();
        for slot in 0..self.instances.len() {
            let actions = self.instances[slot].fsm.shutdown();
            self.execute(slot, now, &actions);
        }
        self.notifier.drain(sys::now);
    }

    /// SIGUSR1: one line per instance and per interface.
    fn log_status(&self) {
        for instance in &self.instances {
            let fsm = &instance.fsm;
            let mut line = format!(
                "status instance={} interface={} vrid={} version={} state={} priority={} master={} advert_rx={} advert_tx={} send_errors={}",
                instance.config.name,
                instance.config.interface,
                instance.config.vrid,
                instance.config.version.number(),
                fsm.kind().name(),
                instance.config.priority,
                fsm.master().map_or_else(|| "none".to_string(), |a| a.to_string()),
                instance.adverts_rx,
                instance.adverts_tx,
                instance.send_errors,
            );
            for reason in AdvertDrop::ALL {
                line += &format!(" {}={}", reason.name(), instance.drops[reason.index()]);
            }
            line += &format!(
                " checksum_form_mismatch={}",
                instance.checksum_form_mismatch
            );
            info!("{line}");
        }
        for link in &self.links {
            let mut line = format!(
                "status interface={} primary={} link={} unknown_vrid={}",
                link.name,
                link.primary,
                if link.up { "up" } else { "down" },
                link.unknown_vrid
            );
            for reason in RxError::ALL {
                line += &format!(" rx_{}={}", reason.name(), link.rx_errors[reason.index()]);
            }
            info!("{line}");
        }
    }
}

/// An instance whose interface exists, with what start needs to know.
struct Resolved {
    config: InstanceConfig,
    link: crate::sys::netlink::Link,
    primary: Ipv4Addr,
    addresses: Vec<AddressEntry>,
}

/// Looks up every instance's interface and primary address. Errors carry the
/// line of the `interface` directive.
fn resolve(netlink: &mut Netlink, file: &str, config: Config) -> Result<Vec<Resolved>, StartError> {
    let mut errors = Vec::new();
    let mut resolved = Vec::new();
    for instance in config.instances {
        let error = |message: String| ConfigError {
            file: file.to_string(),
            line: instance.interface_line,
            message,
        };
        let Some(link) = netlink.link(&instance.interface)? else {
            errors.push(error(format!(
                "interface '{}' does not exist",
                instance.interface
            )));
            continue;
        };
        let addresses = netlink.addresses(link.index)?;
        if let Some((src, line)) = instance.unicast_src {
            if !addresses.iter().any(|a| a.address == src) {
                errors.push(ConfigError {
                    file: file.to_string(),
                    line,
                    message: format!(
                        "unicast-src {src} is not an address of interface '{}'",
                        instance.interface
                    ),
                });
                continue;
            }
        }
        match primary_address(&addresses, &instance) {
            None => errors.push(error(format!(
                "interface '{}' has no IPv4 address",
                instance.interface
            ))),
            Some(primary) => resolved.push(Resolved {
                config: instance,
                link,
                primary,
                addresses,
            }),
        }
    }
    if errors.is_empty() {
        Ok(resolved)
    } else {
        Err(StartError::Config(errors))
    }
}

fn checksum_words(form: Checksum) -> &'static str {
    match form {
        Checksum::PseudoHeader => "with",
        Checksum::MessageOnly => "without",
    }
}

/// The source address for adverts (RFC 5798 §5.1.1.1: "the primary IPv4
/// address of the interface"): the first primary address that is not one of
/// our VIPs, or, for an address owner, the owned address itself.
fn primary_address(addresses: &[AddressEntry], instance: &InstanceConfig) -> Option<Ipv4Addr> {
    let is_vip = |a: &AddressEntry| instance.vips.iter().any(|v| v.address == a.address);
    addresses
        .iter()
        .find(|a| !a.secondary && !is_vip(a))
        .or_else(|| addresses.iter().find(|a| !is_vip(a)))
        .or_else(|| addresses.first())
        .map(|a| a.address)
}
