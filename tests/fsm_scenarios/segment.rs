//! The simulated segment: several instances wired by an in-memory link,
//! `step()` jumping to the next deadline.

use std::cell::Cell;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::time::Duration;

use tinyvrrp::proto::fsm::{Health, Instance, Output, Params, StateKind};
use tinyvrrp::proto::group::SyncGroup;
use tinyvrrp::proto::time::Instant;
use tinyvrrp::proto::wire::{Checksum, Family, V2Auth, Version};

thread_local! {
    /// The family the scenario runs in: IPv4, or IPv6 for the copies in
    /// `mod ipv6` below (each test runs on its own thread).
    pub(crate) static FAMILY: Cell<Family> = const { Cell::new(Family::Ipv4) };
}

/// Router `n`'s primary address: 10.0.0.n, or fe80::n (RFC 5798 §5.1.2.1:
/// IPv6 adverts come from the link-local address).
pub(crate) fn addr(n: u8) -> IpAddr {
    match FAMILY.with(Cell::get) {
        Family::Ipv4 => IpAddr::V4(Ipv4Addr::new(10, 0, 0, n)),
        Family::Ipv6 => IpAddr::V6(Ipv6Addr::new(0xfe80, 0, 0, 0, 0, 0, 0, u16::from(n))),
    }
}

/// The virtual router's addresses: 10.0.0.100, or a link-local first
/// (RFC 5798 §5.2.9) and a global one.
pub(crate) fn vips() -> Vec<IpAddr> {
    match FAMILY.with(Cell::get) {
        Family::Ipv4 => vec![addr(100)],
        Family::Ipv6 => vec![
            IpAddr::V6(Ipv6Addr::new(0xfe80, 0, 0, 0, 0, 0, 0, 0x100)),
            IpAddr::V6(Ipv6Addr::new(0x2001, 0xdb8, 0, 0, 0, 0, 0, 0x100)),
        ],
    }
}

pub(crate) fn params(last_octet: u8, priority: u8, preempt: bool) -> Params {
    Params {
        version: Version::V3,
        vrid: 51,
        priority,
        advert_interval_cs: 100,
        preempt,
        primary: addr(last_octet),
        vips: vips(),
        checksum: Checksum::PseudoHeader,
        auth: V2Auth::NONE,
        unicast_peers: Vec::new(),
        garp_delay: None,
        preempt_delay: None,
    }
}

pub(crate) fn at_ms(ms: u64) -> Instant {
    Instant::from_micros(ms * 1000)
}

/// One event seen on the simulated segment or at a node.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Event {
    Advert { from: usize, priority: u8 },
    Garp { from: usize },
    State { node: usize, state: StateKind },
}

pub(crate) struct Node {
    pub(crate) fsm: Instance,
    pub(crate) up: bool,
    /// Its interface has its carrier.
    pub(crate) link: bool,
    /// What its link and trackers say, before its group's say.
    pub(crate) health: Health,
    pub(crate) group: Option<usize>,
    pub(crate) has_vip: bool,
}

/// Nodes on one lossless segment with zero delay.
pub(crate) struct Segment {
    pub(crate) now: Instant,
    pub(crate) nodes: Vec<Node>,
    /// While false, adverts reach no one (a split segment).
    pub(crate) connected: bool,
    pub(crate) log: Vec<(Instant, Event)>,
    pub(crate) groups: Vec<SyncGroup>,
    /// Each group's transitions: when, which group, to what.
    pub(crate) group_log: Vec<(Instant, usize, StateKind)>,
}

impl Segment {
    pub(crate) fn new(all: Vec<Params>) -> Segment {
        let nodes = all
            .into_iter()
            .map(|p| Node {
                fsm: Instance::new(p),
                up: false,
                link: true,
                health: Health::Healthy,
                group: None,
                has_vip: false,
            })
            .collect();
        Segment {
            now: at_ms(0),
            nodes,
            connected: true,
            log: Vec::new(),
            groups: Vec::new(),
            group_log: Vec::new(),
        }
    }

    pub(crate) fn start(&mut self, node: usize) {
        self.start_all(&[node]);
    }

    /// Starts several nodes at one instant: all exist before their groups
    /// settle.
    pub(crate) fn start_all(&mut self, nodes: &[usize]) {
        for &node in nodes {
            self.nodes[node].up = true;
        }
        for &node in nodes {
            if self.nodes[node].group.is_some() {
                self.settle(node);
            } else {
                let actions = self.nodes[node].fsm.startup(self.now);
                self.apply(node, &actions);
            }
        }
    }

    /// Makes the nodes a sync group; returns its index.
    pub(crate) fn group(&mut self, members: &[usize]) -> usize {
        let group = self.groups.len();
        self.groups.push(SyncGroup::default());
        for &node in members {
            self.nodes[node].group = Some(group);
            self.nodes[node].fsm.set_sync_hold(true);
        }
        group
    }

    /// The group's rules after an event of `node`, if it is in one.
    pub(crate) fn settle(&mut self, node: usize) {
        let Some(group) = self.nodes[node].group else {
            return;
        };
        let members: Vec<usize> = (0..self.nodes.len())
            .filter(|&n| self.nodes[n].group == Some(group) && self.nodes[n].up)
            .collect();
        let health: Vec<Health> = members.iter().map(|&n| self.nodes[n].health).collect();
        let mut fsms: Vec<&mut Instance> = self
            .nodes
            .iter_mut()
            .filter(|n| n.group == Some(group) && n.up)
            .map(|n| &mut n.fsm)
            .collect();
        let (outputs, transition) = self.groups[group].settle(self.now, &mut fsms, &health);
        for (index, output) in outputs {
            self.apply(members[index], &output);
        }
        if let Some(transition) = transition {
            self.group_log.push((self.now, group, transition.to));
        }
    }

    /// A tracker changed the node's health (its link stays up).
    pub(crate) fn set_health(&mut self, node: usize, health: Health) {
        self.nodes[node].health = health;
        if self.nodes[node].group.is_some() {
            self.settle(node);
        } else {
            let actions = self.nodes[node].fsm.set_health(self.now, health);
            self.apply(node, &actions);
        }
    }

    /// A tracker changed the node's effective priority.
    pub(crate) fn set_priority(&mut self, node: usize, priority: u8) {
        let actions = self.nodes[node].fsm.set_priority(self.now, priority);
        self.apply(node, &actions);
        self.settle(node);
    }

    /// An advert from a router outside the simulation, to one node.
    pub(crate) fn inject(&mut self, node: usize, from: IpAddr, priority: u8) {
        let params = self.nodes[node].fsm.params().clone();
        let advert = params.advert(priority);
        if let Ok(actions) = self.nodes[node].fsm.handle_advert(self.now, from, &advert) {
            self.apply(node, &actions);
            self.settle(node);
        }
    }

    /// A crash: no priority 0, the VIP stays where it was.
    pub(crate) fn crash(&mut self, node: usize) {
        self.nodes[node].up = false;
        self.nodes[node].fsm = Instance::new(self.nodes[node].fsm.params().clone());
    }

    /// A clean stop (SIGTERM): RFC 5798 §6.4.3 Shutdown.
    pub(crate) fn stop(&mut self, node: usize) {
        let actions = self.nodes[node].fsm.shutdown();
        self.apply(node, &actions);
        self.nodes[node].up = false;
    }

    /// The node's interface loses its carrier (`false`) or gets it back:
    /// nothing leaves it while it is down.
    pub(crate) fn link(&mut self, node: usize, up: bool) {
        self.nodes[node].link = up;
        self.set_health(node, if up { Health::Healthy } else { Health::Fault });
    }

    /// Carries out an output in the daemon's order: advert, VIPs,
    /// announcements, notification.
    pub(crate) fn apply(&mut self, node: usize, output: &Output) {
        if let Some(priority) = output.advert.filter(|_| self.nodes[node].link) {
            self.log.push((
                self.now,
                Event::Advert {
                    from: node,
                    priority,
                },
            ));
            self.deliver(node, priority);
        }
        self.nodes[node].has_vip = self.nodes[node].fsm.holds_vips();
        if output.announce {
            self.log.push((self.now, Event::Garp { from: node }));
        }
        if let Some(transition) = output.transition {
            let state = transition.to;
            self.log.push((self.now, Event::State { node, state }));
        }
    }

    pub(crate) fn deliver(&mut self, from: usize, priority: u8) {
        let sender = self.nodes[from].fsm.params().clone();
        let advert = sender.advert(priority);
        for to in 0..self.nodes.len() {
            if to == from
                || !self.nodes[to].up
                || !self.connected
                || self.nodes[to].fsm.params().vrid != sender.vrid
            {
                continue;
            }
            if let Ok(actions) = self.nodes[to]
                .fsm
                .handle_advert(self.now, sender.primary, &advert)
            {
                self.apply(to, &actions);
                self.settle(to);
            }
        }
    }

    /// Jumps to the earliest deadline and fires it.
    pub(crate) fn step(&mut self) {
        let next = self
            .nodes
            .iter()
            .filter(|n| n.up)
            .filter_map(|n| n.fsm.poll_at())
            .min()
            .expect("some timer is armed");
        self.now = next;
        for node in 0..self.nodes.len() {
            if self.nodes[node].up && self.nodes[node].fsm.poll_at() == Some(next) {
                let actions = self.nodes[node].fsm.handle_timeout(self.now);
                self.apply(node, &actions);
                self.settle(node);
            }
        }
    }

    pub(crate) fn run_until(&mut self, until: Instant) {
        while self
            .nodes
            .iter()
            .filter(|n| n.up)
            .filter_map(|n| n.fsm.poll_at())
            .min()
            .is_some_and(|at| at <= until)
        {
            self.step();
        }
        self.now = until;
    }

    pub(crate) fn masters(&self) -> Vec<usize> {
        (0..self.nodes.len())
            .filter(|&n| self.nodes[n].up && self.nodes[n].fsm.kind() == StateKind::Master)
            .collect()
    }

    pub(crate) fn vip_holders(&self) -> Vec<usize> {
        (0..self.nodes.len())
            .filter(|&n| self.nodes[n].has_vip)
            .collect()
    }

    pub(crate) fn last_advert_from(&self, node: usize) -> Option<Instant> {
        self.log.iter().rev().find_map(|(t, e)| {
            matches!(e, Event::Advert { from, .. } if *from == node).then_some(*t)
        })
    }

    pub(crate) fn became_master(&self, node: usize, after: Instant) -> Option<Instant> {
        self.log.iter().find_map(|(t, e)| {
            (*t >= after
                && *e
                    == Event::State {
                        node,
                        state: StateKind::Master,
                    })
            .then_some(*t)
        })
    }
}

pub(crate) fn three_routers() -> Segment {
    let mut segment = Segment::new(vec![
        params(1, 150, true),
        params(2, 120, true),
        params(3, 100, true),
    ]);
    for node in 0..3 {
        segment.start(node);
    }
    segment
}

/// Master_Down_Interval for a 1 s interval: 3 s + (256 - p) / 256 s.
pub(crate) fn master_down(priority: u64) -> Duration {
    Duration::from_micros(3_000_000 + (256 - priority) * 1_000_000 / 256)
}
