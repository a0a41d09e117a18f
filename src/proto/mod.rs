//! The protocol core: no clock, no sockets, no side effects.

pub mod arp;
pub mod nd;
pub mod fsm;
pub mod time;
pub mod wire;
