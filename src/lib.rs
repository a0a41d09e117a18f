//! tinyvrrp: a small VRRP daemon (RFC 5798 v3, RFC 3768 v2) for embedded
//! Linux routers. The binary is a thin CLI over these modules.

pub mod config;
pub mod daemon;
pub mod notify;
pub mod proto;
pub mod sys;
