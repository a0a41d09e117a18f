//! SIGUSR1: the state and counters of every instance and interface.

use log::info;

use super::Daemon;
use crate::proto::fsm::AdvertDrop;
use crate::proto::wire::RxError;

impl Daemon {
    /// SIGUSR1: one line per instance and per interface.
    pub(super) fn log_status(&self) {
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
        for link in self.links.iter() {
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
