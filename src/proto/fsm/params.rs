//! What a configured instance needs to run the protocol.

use core::net::IpAddr;
use core::time::Duration;

use crate::proto::wire::{Advert, Checksum, V2Auth, Version};

/// RFC 5798 §5.2.4: the priority of the router that owns the addresses.
pub const PRIORITY_OWNER: u8 = 255;
/// RFC 5798 §5.2.4: the master is stopping; backups take over after Skew_Time.
pub const PRIORITY_STOP: u8 = 0;

/// What a configured instance needs to run the protocol.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Params {
    pub version: Version,
    pub vrid: u8,
    /// 1..=255; 255 means address owner (RFC 5798 §5.2.4).
    pub priority: u8,
    /// Advertisement_Interval in centiseconds (v2: whole seconds × 100).
    pub advert_interval_cs: u16,
    pub preempt: bool,
    /// The primary address of the interface (IPv6: its link-local address,
    /// RFC 5798 §5.1.2.1): the advert source and the tie-breaker of
    /// RFC 5798 §6.4.3.
    pub primary: IpAddr,
    pub vips: Vec<IpAddr>,
    /// The checksum form we send (v3 may leave out the pseudo-header).
    pub checksum: Checksum,
    /// v2 authentication we send and require (RFC 3768 §5.3.6).
    pub auth: V2Auth,
    /// With peers, adverts go to each of them and only theirs are accepted
    /// (keepalived's `unicast_peer`); empty means multicast.
    pub unicast_peers: Vec<IpAddr>,
    /// A second round of announcements (gratuitous ARP or unsolicited NA)
    /// this long after becoming master, for neighbours that missed the
    /// first (keepalived's `vrrp_garp_master_delay`); None: no second round.
    pub garp_delay: Option<Duration>,
    /// keepalived's `preempt_delay`: for this long after a Startup event a
    /// backup does not preempt a lower-priority master (it follows it as
    /// with preemption off), so a router that just booted, its routes not
    /// learned yet, does not take the traffic at once. None: no delay.
    pub preempt_delay: Option<Duration>,
}

impl Params {
    /// The advert this router sends (RFC 5798 §5.1), with `priority` so
    /// that shutdown can send 0. It borrows the VIPs (the config allows at
    /// most MAX_ADDRESSES).
    pub fn advert(&self, priority: u8) -> Advert<&[IpAddr]> {
        Advert {
            version: self.version,
            vrid: self.vrid,
            priority,
            interval_cs: self.advert_interval_cs,
            addresses: &self.vips,
            auth: match self.version {
                Version::V2 => Some(self.auth),
                Version::V3 => None,
            },
            checksum: self.checksum,
        }
    }
}
