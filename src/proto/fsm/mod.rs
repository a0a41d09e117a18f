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

mod checks;
mod events;
mod params;

pub use events::{AdvertDrop, Output, State, StateKind, Transition};
pub use params::{Params, PRIORITY_OWNER, PRIORITY_STOP};

use super::time::{next_tick, Instant};
use super::wire::{Advert, Version};

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
    /// The priority it runs with: the configured one moved by its trackers
    /// ([`super::track::effective`]); an owner's is always 255.
    priority: u8,
    /// A member of a sync group does not become master on its own: a
    /// backup whose timer fires only says it wants to, and the group makes
    /// all its members master together ([`super::group`]).
    sync_hold: bool,
    /// A held backup's timer fired: it would be master but for its group.
    wants_master: bool,
    /// When a master last answered a lower-priority advert.
    answered_lower_at: Option<Instant>,
}

/// A master answers lower-priority adverts at most this often, so a flood
/// of them cannot make it flood the segment with adverts and
/// announcements.
pub const LOWER_PRIORITY_ANSWER_GAP: Duration = Duration::from_secs(1);
/// keepalived's `garp_lower_prio_delay` default: the announcements that
/// answer a lower-priority master are repeated this much later, for
/// neighbours that missed the first ones while the partition healed.
pub const LOWER_PRIORITY_REPEAT_DELAY: Duration = Duration::from_secs(5);

/// Whether an instance may take part in the election, from its link, its
/// trackers and its group.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Health {
    Healthy,
    /// An unweighted script has no result yet: the instance does not leave
    /// Initialize or Fault until it has one.
    Pending,
    /// keepalived's FAULT: a fault reason holds (its link is down, a
    /// weight-0 tracker is down, or its group is in FAULT).
    Fault,
}

impl Instance {
    pub fn new(params: Params) -> Instance {
        let master_adver_interval_cs = params.advert_interval_cs;
        let priority = params.priority;
        Instance {
            params,
            state: State::Initialize,
            master_adver_interval_cs,
            master: None,
            preempt_after: None,
            priority,
            sync_hold: false,
            wants_master: false,
            answered_lower_at: None,
        }
    }

    /// The priority it runs with (see [`Instance::set_priority`]).
    pub fn priority(&self) -> u8 {
        self.priority
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
        let weight = u64::from(256 - u16::from(self.priority));
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
    /// reload never flaps mastership; the new interval applies from the
    /// next advert and the next Master_Down_Interval. The priority it runs
    /// with stays until [`Instance::set_priority`] gives the new one, unless
    /// it becomes or stops being the owner.
    pub fn reconfigure(&mut self, params: Params) {
        if self.params.version == Version::V2 || self.kind() != StateKind::Backup {
            self.master_adver_interval_cs = params.advert_interval_cs;
        }
        if (params.priority == PRIORITY_OWNER) != (self.params.priority == PRIORITY_OWNER) {
            self.priority = params.priority;
        }
        self.params = params;
    }

    /// The priority its trackers give it now. A master advertises a change
    /// at once instead of at its next advert (keepalived waits for that),
    /// so a backup that may preempt sees it an interval sooner. An owner's
    /// priority never changes (RFC 5798 §5.2.4).
    pub fn set_priority(&mut self, now: Instant, priority: u8) -> Output {
        let mut output = Output::default();
        if self.params.priority == PRIORITY_OWNER || priority == self.priority {
            return output;
        }
        self.priority = priority;
        if let State::Master { garp_at, .. } = self.state {
            output.advert = Some(priority);
            self.state = State::Master {
                advert_at: now + self.advert_interval(),
                garp_at,
            };
        }
        output
    }

    /// Enters or leaves Fault as `health` says. A master entering Fault
    /// sends priority 0 (RFC 5798 §6.4.3, as at shutdown) so the backups
    /// take over after Skew_Time, and releases its addresses; the daemon
    /// does not send on a link that is down. Leaving Fault, or Initialize
    /// at start, is a Startup event (RFC 5798 §6.4.1): the instance joins
    /// as a backup, or as master if it owns the addresses. While `Pending`
    /// it stays where it is.
    pub fn set_health(&mut self, now: Instant, health: Health) -> Output {
        match (health, self.state) {
            (Health::Fault, State::Fault) | (Health::Pending, _) => Output::default(),
            (Health::Fault, state) => {
                let mut output = Output::default();
                if let State::Master { .. } = state {
                    output.advert = Some(PRIORITY_STOP);
                }
                self.enter(StateKind::Fault, State::Fault, &mut output);
                self.master = None;
                self.wants_master = false;
                output
            }
            (Health::Healthy, State::Fault) => {
                self.state = State::Initialize;
                let mut output = self.startup(now);
                if let Some(transition) = &mut output.transition {
                    transition.from = StateKind::Fault;
                }
                output
            }
            (Health::Healthy, State::Initialize) => self.startup(now),
            (Health::Healthy, _) => Output::default(),
        }
    }

    /// Makes it a member of a sync group (or not): see [`Instance::wants_master`].
    pub fn set_sync_hold(&mut self, hold: bool) {
        self.sync_hold = hold;
        if !hold {
            self.wants_master = false;
        }
    }

    /// keepalived's wanted state: a master, or a held backup whose timer
    /// fired, would be master if it were alone.
    pub fn wants_master(&self) -> bool {
        match self.state {
            State::Master { .. } => true,
            State::Backup { .. } => self.wants_master,
            State::Initialize | State::Fault => false,
        }
    }

    /// Its sync group makes a backup master (all members together).
    pub fn force_master(&mut self, now: Instant) -> Output {
        let mut output = Output::default();
        if let State::Backup { .. } = self.state {
            self.become_master(now, &mut output);
        }
        output
    }

    /// Its sync group takes a master to backup, because another member
    /// stopped being master. It sends priority 0 as it leaves, as at
    /// shutdown (RFC 5798 §6.4.3), so the router that takes the group
    /// over does so after Skew_Time rather than Master_Down_Interval.
    pub fn force_backup(&mut self, now: Instant) -> Output {
        let mut output = Output::default();
        if let State::Master { .. } = self.state {
            output.advert = Some(PRIORITY_STOP);
            self.become_backup(now + self.master_down_interval(), &mut output);
        }
        output
    }

    /// RFC 5798 §6.4.1: leave Initialize on a Startup event.
    pub fn startup(&mut self, now: Instant) -> Output {
        let mut output = Output::default();
        if !matches!(self.state, State::Initialize) {
            return output;
        }
        self.preempt_after = self.params.preempt_delay.map(|delay| now + delay);
        if self.params.priority == PRIORITY_OWNER && self.sync_hold {
            // An owner in a group waits for the group like any member.
            self.become_backup(now + self.master_down_interval(), &mut output);
            self.wants_master = true;
        } else if self.params.priority == PRIORITY_OWNER {
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
            State::Backup { master_down_at } if now >= master_down_at && self.sync_hold => {
                // keepalived's vrrp_sync_can_goto_master: wait for the
                // other members, timer re-armed.
                self.wants_master = true;
                self.state = State::Backup {
                    master_down_at: now + self.master_down_interval(),
                };
            }
            State::Backup { master_down_at } if now >= master_down_at => {
                self.become_master(now, &mut output);
            }
            State::Master {
                mut advert_at,
                mut garp_at,
            } => {
                if now >= advert_at {
                    output.advert = Some(self.priority);
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
        advert: &Advert<impl AsRef<[IpAddr]>>,
    ) -> Result<Output, AdvertDrop> {
        let mut output = Output {
            address_list_differs: self.check_advert(src, advert)?,
            ..Output::default()
        };
        match self.state {
            State::Initialize | State::Fault => {}
            State::Backup { .. } => {
                if advert.priority == PRIORITY_STOP {
                    // RFC 5798 §6.4.2: the master is leaving; wait only Skew_Time.
                    self.state = State::Backup {
                        master_down_at: now + self.skew_time(),
                    };
                } else if !self.params.preempt
                    || advert.priority >= self.priority
                    || self.preempt_after.is_some_and(|after| now < after)
                {
                    self.learn_interval(advert);
                    self.master = Some(src);
                    self.wants_master = false;
                    self.state = State::Backup {
                        master_down_at: now + self.master_down_interval(),
                    };
                }
                // else: RFC 5798 §6.4.2 discard; we preempt when the timer fires.
            }
            State::Master { garp_at, .. } => {
                if advert.priority == PRIORITY_STOP {
                    // RFC 5798 §6.4.3: answer at once so backups do not take over.
                    output.advert = Some(self.priority);
                    self.state = State::Master {
                        advert_at: now + self.advert_interval(),
                        garp_at,
                    };
                } else if advert.priority > self.priority
                    || (advert.priority == self.priority && src > self.params.primary)
                {
                    // RFC 5798 §6.4.3: a better master exists; step down.
                    // (Two owners of one address both stay: §7.1.)
                    if self.params.priority != PRIORITY_OWNER {
                        self.learn_interval(advert);
                        self.master = Some(src);
                        self.become_backup(now + self.master_down_interval(), &mut output);
                    }
                } else {
                    self.answer_lower_priority(now, &mut output);
                }
            }
        }
        Ok(output)
    }

    /// A master heard a lower-priority advert (or an equal one from a
    /// lower address), which RFC 5798 §6.4.3 discards. Another master
    /// exists that does not hear us: a partition has just healed, and
    /// neighbours may still send to it. As keepalived does, answer at once
    /// with an advert, so it steps down, and with announcements, so the
    /// neighbours come back to us now and not when their ARP entries
    /// expire; then announce again [`LOWER_PRIORITY_REPEAT_DELAY`] later.
    /// At most once per [`LOWER_PRIORITY_ANSWER_GAP`].
    fn answer_lower_priority(&mut self, now: Instant, output: &mut Output) {
        output.lower_priority = true;
        if self
            .answered_lower_at
            .is_some_and(|at| now < at + LOWER_PRIORITY_ANSWER_GAP)
        {
            return;
        }
        if !matches!(self.state, State::Master { .. }) {
            return;
        }
        self.answered_lower_at = Some(now);
        output.advert = Some(self.priority);
        output.announce = true;
        // A second round still due from becoming master moves to the
        // repeat: these announcements are newer.
        self.state = State::Master {
            advert_at: now + self.advert_interval(),
            garp_at: Some(now + LOWER_PRIORITY_REPEAT_DELAY),
        };
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
        self.wants_master = false;
        output
    }

    /// RFC 5798 §6.4.2: "Set Master_Adver_Interval to Adver Interval
    /// contained in the ADVERTISEMENT" (v3 only; v2 intervals must match).
    fn learn_interval(&mut self, advert: &Advert<impl AsRef<[IpAddr]>>) {
        if self.params.version == Version::V3 && advert.interval_cs > 0 {
            self.master_adver_interval_cs = advert.interval_cs;
        }
    }

    /// RFC 5798 §6.4.1 and §6.4.2: advertise, take the addresses,
    /// announce them.
    fn become_master(&mut self, now: Instant, output: &mut Output) {
        output.advert = Some(self.priority);
        output.announce = true;
        self.master = None;
        self.wants_master = false;
        let state = State::Master {
            advert_at: now + self.advert_interval(),
            garp_at: self.params.garp_delay.map(|delay| now + delay),
        };
        self.enter(StateKind::Master, state, output);
    }

    fn become_backup(&mut self, master_down_at: Instant, output: &mut Output) {
        self.wants_master = false;
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

/// Compiled once: a u64 division, a library call on 32-bit MIPS.
#[inline(never)]
fn centis(cs: u16) -> Duration {
    Duration::from_millis(u64::from(cs) * 10)
}
