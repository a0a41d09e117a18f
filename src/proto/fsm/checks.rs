//! The receive checks of RFC 5798 §7.1 (and RFC 3768 §7.1) that need the
//! instance's configuration and state; the ones the bytes alone decide are
//! in [`crate::proto::wire::parse`].

use core::net::IpAddr;

use super::{AdvertDrop, Instance, State, PRIORITY_OWNER};
use crate::proto::wire::{Advert, V2Auth, Version};

impl Instance {
    /// Why an advert for our VRID is to be dropped, if it is; else whether
    /// its address list differs from ours ([`super::Output::address_list_differs`]).
    pub(super) fn check_advert(
        &self,
        src: IpAddr,
        advert: &Advert<impl AsRef<[IpAddr]>>,
    ) -> Result<bool, AdvertDrop> {
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
        // As master, an owner still answers a lower-priority master.
        if self.params.priority == PRIORITY_OWNER && !matches!(self.state, State::Master { .. }) {
            return Err(AdvertDrop::Owner);
        }
        // RFC 3768 §7.1: v2 "MUST verify that the Adver Interval in the packet
        // is the same as the locally configured for this virtual router".
        if self.params.version == Version::V2
            && advert.interval_cs != self.params.advert_interval_cs
        {
            return Err(AdvertDrop::Interval);
        }
        // RFC 5798 §7.1 (RFC 3768 §7.1 for v2): a receiver MAY verify the
        // address list, and if it does, MUST drop a differing one that does
        // not come from the owner. Operators change the VIPs one router at
        // a time, and a backup that dropped its master's adverts meanwhile
        // would be a second master for the rest of the rollout. So a list
        // that shares an address with ours, the same virtual router with its
        // config in flux, is not verified, only reported; one with nothing
        // in common is another service configured onto our VRID: dropped.
        let addresses = advert.addresses.as_ref();
        if advert.priority == PRIORITY_OWNER || same_addresses(addresses, &self.params.vips) {
            return Ok(false);
        }
        for address in addresses {
            if self.params.vips.contains(address) {
                return Ok(true);
            }
        }
        Err(AdvertDrop::AddressList)
    }
}

fn same_addresses(received: &[IpAddr], configured: &[IpAddr]) -> bool {
    received.len() == configured.len() && configured.iter().all(|a| received.contains(a))
}
