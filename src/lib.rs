//! tinyvrrp: a small VRRP daemon (RFC 5798 v3, RFC 3768 v2) for embedded
//! Linux routers. The binary is a thin CLI over these modules.

#![deny(unsafe_code)]

pub mod config;
pub mod daemon;
pub mod notify;
pub mod proto;
// `unsafe` is allowed here and nowhere else: sys is the only module that
// makes system calls, and each unsafe block there has a SAFETY note. (The
// binary has one more, where C's `main` hands over its arguments.)
#[allow(unsafe_code)]
pub mod sys;
