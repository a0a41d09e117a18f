//! The per-instance state machine of RFC 5798 §6.4 (and RFC 3768 §6.4).
//!
//! Sans-IO: every entry point takes `now`, timers are deadlines kept in the
//! state, and each event returns an [`Output`]: the effects for the daemon
//! to carry out, and the state transition, if any, apart from them (notify
//! scripts and sync groups consume transitions). One state machine serves
//! both address families: addresses are `IpAddr`, all of one family per
//! instance.

use core::net::IpAddr;
use core::time::Duration;

mod events;
mod params;

pub use events::{AdvertDrop, Output, State, StateKind, Transition};
pub use params::{Params, PRIORITY_OWNER, PRIORITY_STOP};

use super::time::Instant;
use super::wire::{Advert, V2Auth, Version};

/// One virtual router on one interface.
#[derive(Debug, Clone)]
pub struct Instance {
    params: Params,
    state: State,
    /// RFC 5798 §6.1: learned from the master's adverts (v3).
    master_adver_interval_cs: u16,
    /// The address we last accepted an advert from, for status.
    master: Option<IpAddr>,
    /// Until when `preempt_delay` holds preemption back.
    preempt_after: Option<Instant>,
}

impl Instance {
    pub fn new(params: Params) -> Instance {
        let master_adver_interval_cs = params.advert_interval_cs;
        Instance {
            params,
            state: State::Initialize,
            master_adver_interval_cs,
            master: None,
            preempt_after: None,
        }
    }

    pub fn params(&self) -> &Params {
        &self.params
    }

    pub fn state(&self) -> State {
        self.state
    }

    pub fn kind(&self) -> StateKind {
        match self.state {
            State::Initialize => StateKind::Initialize,
            State::Backup { .. } => StateKind::Backup,
            State::Master { .. } => StateKind::Master,
            State::Fault => StateKind::Fault,
        }
    }

    /// The current master as far as we know: ourselves, or the last sender.
    pub fn master(&self) -> Option<IpAddr> {
        match self.state {
            State::Master { .. } => Some(self.params.primary),
            State::Backup { .. } => self.master,
            State::Initialize | State::Fault => None,
        }
    }

    /// Whether the virtual addresses belong on the interface now: only a
    /// master holds them (RFC 5798 §6.4.3 "accept packets addressed to the
    /// IPvX address(es) associated with the virtual router").
    pub fn holds_vips(&self) -> bool {
        matches!(self.state, State::Master { .. })
    }

    pub fn master_adver_interval_cs(&self) -> u16 {
        self.master_adver_interval_cs
    }

    /// The earliest deadline, for the event loop to sleep until.
    pub fn poll_at(&self) -> Option<Instant> {
        match self.state {
            State::Initialize | State::Fault => None,
            State::Backup { master_down_at } => Some(master_down_at),
            State::Master { advert_at, garp_at } => {
                Some(garp_at.map_or(advert_at, |garp_at| garp_at.min(advert_at)))
            }
        }
    }

    fn advert_interval(&self) -> Duration {
        centis(self.params.advert_interval_cs)
    }

    /// RFC 5798 §6.1 Skew_Time = ((256 - Priority) * Master_Adver_Interval) / 256;
    /// RFC 3768 §6.1 Skew_Time = (256 - Priority) / 256 seconds.
    pub fn skew_time(&self) -> Duration {
        let weight = u64::from(256 - u16::from(self.params.priority));
        let base_us = match self.params.version {
            Version::V3 => u64::from(self.master_adver_interval_cs) * 10_000,
            Version::V2 => 1_000_000,
        };
        Duration::from_micros(weight * base_us / 256)
    }

    /// RFC 5798 §6.1 Master_Down_Interval = 3 * Master_Adver_Interval + Skew_Time.
    pub fn master_down_interval(&self) -> Duration {
        3 * centis(self.master_adver_interval_cs) + self.skew_time()
    }

    /// New settings from a reload. The state and its deadline stay, so a
    /// reload never flaps mastership; the new interval and priority apply
    /// from the next advert and the next Master_Down_Interval.
    pub fn reconfigure(&mut self, params: Params) {
        if self.params.version == Version::V2 || self.kind() != StateKind::Backup {
            self.master_adver_interval_cs = params.advert_interval_cs;
        }
        self.params = params;
    }

    /// RFC 5798 §6.4.1: leave Initialize on a Startup event.
    pub fn startup(&mut self, now: Instant) -> Output {
        let mut output = Output::default();
        if !matches!(self.state, State::Initialize) {
            return output;
        }
        self.preempt_after = self.params.preempt_delay.map(|delay| now + delay);
        if self.params.priority == PRIORITY_OWNER {
            self.become_master(now, &mut output);
        } else {
            self.master_adver_interval_cs = self.params.advert_interval_cs;
            self.become_backup(now + self.master_down_interval(), &mut output);
        }
        output
    }

    /// RFC 5798 §6.4.2 and §6.4.3: a timer expired (or nothing is due yet).
    pub fn handle_timeout(&mut self, now: Instant) -> Output {
        let mut output = Output::default();
        match self.state {
            State::Backup { master_down_at } if now >= master_down_at => {
                self.become_master(now, &mut output);
            }
            State::Master {
                mut advert_at,
                mut garp_at,
            } => {
                if now >= advert_at {
                    output.advert = Some(self.params.priority);
                    advert_at = next_tick(advert_at, now, self.advert_interval());
                }
                if garp_at.is_some_and(|at| now >= at) {
                    output.announce = true;
                    garp_at = None;
                }
                self.state = State::Master { advert_at, garp_at };
            }
            _ => {}
        }
        output
    }

    /// An advert for our VRID arrived from `src` on our interface.
    pub fn handle_advert(
        &mut self,
        now: Instant,
        src: IpAddr,
        advert: &Advert,
    ) -> Result<Output, AdvertDrop> {
        self.check_advert(src, advert)?;
        let mut output = Output::default();
        match self.state {
            State::Initialize | State::Fault => {}
            State::Backup { .. } => {
                if advert.priority == PRIORITY_STOP {
                    // RFC 5798 §6.4.2: the master is leaving; wait only Skew_Time.
                    self.state = State::Backup {
                        master_down_at: now + self.skew_time(),
                    };
                } else if !self.params.preempt
                    || advert.priority >= self.params.priority
                    || self.preempt_after.is_some_and(|after| now < after)
                {
                    self.learn_interval(advert);
                    self.master = Some(src);
                    self.state = State::Backup {
                        master_down_at: now + self.master_down_interval(),
                    };
                }
                // else: RFC 5798 §6.4.2 discard; we preempt when the timer fires.
            }
            State::Master { garp_at, .. } => {
                if advert.priority == PRIORITY_STOP {
                    // RFC 5798 §6.4.3: answer at once so backups do not take over.
                    output.advert = Some(self.params.priority);
                    self.state = State::Master {
                        advert_at: now + self.advert_interval(),
                        garp_at,
                    };
                } else if advert.priority > self.params.priority
                    || (advert.priority == self.params.priority && src > self.params.primary)
                {
                    // RFC 5798 §6.4.3: a better master exists; step down.
                    self.learn_interval(advert);
                    self.master = Some(src);
                    self.become_backup(now + self.master_down_interval(), &mut output);
                }
            }
        }
        Ok(output)
    }

    /// The interface lost its carrier or was set down (`up == false`), or
    /// came back. Down: a master releases its addresses at once; a priority
    /// 0 advert could not leave a dead link, so the backups take over after
    /// Master_Down_Interval (RFC 5798 §6.4.2). Up: a Startup event
    /// (RFC 5798 §6.4.1), so the instance rejoins as a backup, or as master
    /// if it owns the addresses.
    pub fn handle_link(&mut self, now: Instant, up: bool) -> Output {
        match (up, self.state) {
            (true, State::Fault) => {
                self.state = State::Initialize;
                let mut output = self.startup(now);
                if let Some(transition) = &mut output.transition {
                    transition.from = StateKind::Fault;
                }
                output
            }
            (false, State::Fault) | (true, _) => Output::default(),
            (false, _) => {
                let mut output = Output::default();
                self.enter(StateKind::Fault, State::Fault, &mut output);
                self.master = None;
                output
            }
        }
    }

    /// RFC 5798 §6.4.3 Shutdown: a master sends priority 0 and releases its
    /// addresses; every state returns to Initialize.
    pub fn shutdown(&mut self) -> Output {
        let mut output = Output::default();
        if let State::Master { .. } = self.state {
            output.advert = Some(PRIORITY_STOP);
        }
        if self.state != State::Initialize {
            self.enter(StateKind::Initialize, State::Initialize, &mut output);
        }
        self.master = None;
        output
    }

    fn check_advert(&self, src: IpAddr, advert: &Advert) -> Result<(), AdvertDrop> {
        if !self.params.unicast_peers.is_empty() && !self.params.unicast_peers.contains(&src) {
            return Err(AdvertDrop::NotAPeer);
        }
        if advert.version != self.params.version {
            return Err(AdvertDrop::Version);
        }
        // RFC 3768 §7.1: "MUST verify that the Auth Type matches the locally
        // configured authentication method ... and the Authentication Data".
        if self.params.version == Version::V2
            && !self
                .params
                .auth
                .accepts(&advert.auth.unwrap_or(V2Auth::NONE))
        {
            return Err(AdvertDrop::Auth);
        }
        // RFC 5798 §7.1: "the local router is not the IPvX address owner".
        if self.params.priority == PRIORITY_OWNER {
            return Err(AdvertDrop::Owner);
        }
        // RFC 3768 §7.1: v2 "MUST verify that the Adver Interval in the packet
        // is the same as the locally configured for this virtual router".
        if self.params.version == Version::V2
            && advert.interval_cs != self.params.advert_interval_cs
        {
            return Err(AdvertDrop::Interval);
        }
        // RFC 5798 §7.1: a differing address list is dropped unless the
        // sender is the owner.
        if advert.priority != PRIORITY_OWNER
            && !same_addresses(&advert.addresses, &self.params.vips)
        {
            return Err(AdvertDrop::AddressList);
        }
        Ok(())
    }

    /// RFC 5798 §6.4.2: "Set Master_Adver_Interval to Adver Interval
    /// contained in the ADVERTISEMENT" (v3 only; v2 intervals must match).
    fn learn_interval(&mut self, advert: &Advert) {
        if self.params.version == Version::V3 && advert.interval_cs > 0 {
            self.master_adver_interval_cs = advert.interval_cs;
        }
    }

    /// RFC 5798 §6.4.1 and §6.4.2: advertise, take the addresses,
    /// announce them.
    fn become_master(&mut self, now: Instant, output: &mut Output) {
        output.advert = Some(self.params.priority);
        output.announce = true;
        self.master = None;
        let state = State::Master {
            advert_at: now + self.advert_interval(),
            garp_at: self.params.garp_delay.map(|delay| now + delay),
        };
        self.enter(StateKind::Master, state, output);
    }

    fn become_backup(&mut self, master_down_at: Instant, output: &mut Output) {
        self.enter(StateKind::Backup, State::Backup { master_down_at }, output);
    }

    fn enter(&mut self, to: StateKind, state: State, output: &mut Output) {
        output.transition = Some(Transition {
            from: self.kind(),
            to,
        });
        self.state = state;
    }
}

/// The next periodic deadline after `due`: keeps the cadence exact when the
/// loop wakes a little late, and skips missed ticks after a long stall
/// instead of bursting.
fn next_tick(due: Instant, now: Instant, interval: Duration) -> Instant {
    let next = due + interval;
    if next > now {
        next
    } else {
        now + interval
    }
}

fn centis(cs: u16) -> Duration {
    Duration::from_millis(u64::from(cs) * 10)
}

fn same_addresses(received: &[IpAddr], configured: &[IpAddr]) -> bool {
    received.len() == configured.len() && configured.iter().all(|a| received.contains(a))
}
