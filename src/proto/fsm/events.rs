//! The states, the transitions and the outputs of the state machine, and
//! why an advert can be dropped.

use crate::proto::time::Instant;

/// Observable state, for notifications and status.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum StateKind {
    Initialize,
    Backup,
    Master,
    /// The interface is down (keepalived's FAULT): out of the election.
    Fault,
}

impl StateKind {
    pub fn name(self) -> &'static str {
        match self {
            StateKind::Initialize => "INIT",
            StateKind::Backup => "BACKUP",
            StateKind::Master => "MASTER",
            StateKind::Fault => "FAULT",
        }
    }

    /// The state word notify scripts get (keepalived's): leaving the
    /// protocol is "STOP".
    pub fn notify_word(self) -> &'static str {
        match self {
            StateKind::Initialize => "STOP",
            StateKind::Backup => "BACKUP",
            StateKind::Master => "MASTER",
            StateKind::Fault => "FAULT",
        }
    }
}

/// The state with its timer, RFC 5798 §6.4.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum State {
    Initialize,
    Backup {
        master_down_at: Instant,
    },
    Master {
        advert_at: Instant,
        /// The second round of announcements, while it is still due.
        garp_at: Option<Instant>,
    },
    /// Not in RFC 5798: the link is down, so the instance can neither hear
    /// nor be heard. Like Initialize it has no timer and ignores adverts; it
    /// leaves through a new Startup event when the link comes back.
    Fault,
}

/// A change of state, for notify scripts and sync groups.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Transition {
    pub from: StateKind,
    pub to: StateKind,
}

/// What one event asks of the daemon. Each effect happens at most once per
/// event, so a field, not a list, holds it and none can be lost. The daemon
/// carries them out in this order: the advert, then the VIPs placed to
/// match the new state ([`Instance::holds_vips`]), then the announcements,
/// then the transition's notifications.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Output {
    /// Send an advert now, with this priority (0 when stopping).
    pub advert: Option<u8>,
    /// RFC 5798 §6.4.1: announce every virtual address (gratuitous ARP for
    /// IPv4, unsolicited Neighbor Advertisement for IPv6).
    pub announce: bool,
    pub transition: Option<Transition>,
    /// A master heard a lower-priority advert; with `advert` set it
    /// answered (keepalived's `notify_master_rx_lower_pri` event).
    pub lower_priority: bool,
    /// The advert was taken although its address list differs from ours:
    /// it shares an address with ours, so it is the same virtual router
    /// while its VIPs are being changed (RFC 5798 §7.1 makes verifying the
    /// list optional). Counted with the dropped ones, under
    /// [`AdvertDrop::AddressList`].
    pub address_list_differs: bool,
}

/// Why a well-formed advert was dropped; each has its own counter.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AdvertDrop {
    /// RFC 5798 §7.1: the configured version differs.
    Version,
    /// RFC 3768 §7.1: v2 interval differs from the configured one.
    Interval,
    /// RFC 5798 §7.1: the address list has no address in common with ours
    /// and the sender is not the owner: another virtual router configured
    /// onto our VRID.
    AddressList,
    /// RFC 5798 §7.1: we are the address owner; others' adverts are ignored.
    Owner,
    /// RFC 3768 §7.1: v2 authentication type or password differs.
    Auth,
    /// Unicast: the sender is not one of the configured peers.
    NotAPeer,
}

impl AdvertDrop {
    pub const ALL: [AdvertDrop; 6] = [
        AdvertDrop::Version,
        AdvertDrop::Interval,
        AdvertDrop::AddressList,
        AdvertDrop::Owner,
        AdvertDrop::Auth,
        AdvertDrop::NotAPeer,
    ];

    pub fn name(self) -> &'static str {
        match self {
            AdvertDrop::Version => "version-errors",
            AdvertDrop::Interval => "interval-errors",
            AdvertDrop::AddressList => "address-list-errors",
            AdvertDrop::Owner => "owner-ignored-pkts",
            AdvertDrop::Auth => "auth-errors",
            AdvertDrop::NotAPeer => "not-a-peer-pkts",
        }
    }

    pub fn index(self) -> usize {
        self as usize
    }
}
