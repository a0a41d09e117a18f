//! Untrusted datagrams on a sync port: `message::parse` must never panic,
//! what it accepts must survive emit -> parse unchanged, and the same
//! message, signed with the shared key (what a peer could send), must not
//! panic a source or a receiver in the middle of a transfer.
#![no_main]

use std::net::{IpAddr, Ipv4Addr};
use std::time::Duration;

use libfuzzer_sys::fuzz_target;
use tinyvrrp::proto::sync::message::{emit, parse, Key, MAX_MESSAGE};
use tinyvrrp::proto::sync::{Peers, Role, Settings, Sync};
use tinyvrrp::proto::time::Instant;

const POISON: u8 = 0xa5;

fuzz_target!(|data: &[u8]| {
    let Ok(message) = parse(data) else {
        return;
    };
    let key = Key::new(b"fuzzing key, 16+ bytes");
    let mut first = [POISON; MAX_MESSAGE];
    let len = emit(&key, &mut first, &message);
    let signed = &first[..len];
    assert_eq!(parse(signed), Ok(message), "emit -> parse changed the message");

    let master = IpAddr::V4(Ipv4Addr::new(10, 0, 0, 1));
    let now = Instant::from_micros(1_000_000);
    for role in [Role::Source, Role::Receiver(master)] {
        let settings = Settings {
            interval: Duration::from_secs(10),
            max_size: 1 << 20,
            peers: Peers::Subnets(vec![(master, 24)]),
        };
        let mut sync = Sync::new(key.clone(), settings, 0, 3, now);
        sync.set_role(role, now);
        sync.set_local(0, Some(b"a file of a few bytes\n".repeat(300)), now);
        sync.set_local(1, Some(Vec::new()), now);
        let _ = sync.handle_datagram(now, master, signed);
        let mut buf = [POISON; MAX_MESSAGE];
        for _ in 0..64 {
            if sync.poll_transmit(now, &mut buf).is_none() {
                break;
            }
        }
        let _ = sync.handle_timeout(now + Duration::from_secs(1));
    }
});
