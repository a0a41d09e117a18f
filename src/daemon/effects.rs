//! The state machine's actions turned into syscalls: adverts, addresses,
//! gratuitous ARP and notify scripts.

use core::time::Duration;

use log::{error, info, warn};

use super::{Daemon, RECV_BUFFER};
use crate::notify::Call;
use crate::proto::arp;
use crate::proto::fsm::{Action, StateKind};
use crate::proto::time::Instant;
use crate::proto::wire::MULTICAST_GROUP;

/// A failed address change is tried again after this long.
const VIP_RETRY: Duration = Duration::from_secs(1);

impl Daemon {
    pub(super) fn execute(&mut self, slot: usize, now: Instant, actions: &[Action]) {
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

    /// The retry timer of a failed address change: the addresses the state
    /// wants are put in place again.
    pub(super) fn retry_vips(&mut self, slot: usize, now: Instant) {
        let action = match self.instances[slot].fsm.kind() {
            StateKind::Master => Action::AddVips,
            _ => Action::DelVips,
        };
        self.execute(slot, now, &[action]);
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
}
