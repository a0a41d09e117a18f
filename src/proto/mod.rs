//! The protocol core: no clock, no sockets, no side effects.

pub mod arp;
pub mod fsm;
pub mod group;
pub mod nd;
#[cfg(feature = "sync")]
pub mod sync;
pub mod time;
pub mod track;
pub mod wire;
