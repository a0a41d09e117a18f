//! Untrusted datagrams on a sync port: `message::parse` must never panic,
//! and what it accepts must survive emit -> parse unchanged. Then a
//! sequence of such messages, signed with the shared key (what a peer with
//! the key could send), with the file changing between them, must not
//! panic a source or a receiver in the middle of a transfer.
//!
//! The input is records: one byte that says what happens before the
//! message (bit 0: the file changes to the next size, bit 1: the timers
//! run), two bytes of length, then the message.
#![no_main]

use std::net::{IpAddr, Ipv4Addr};
use std::time::Duration;

use libfuzzer_sys::fuzz_target;
use tinyvrrp::proto::sync::message::{emit, parse, Key, Message, MAX_MESSAGE};
use tinyvrrp::proto::sync::{Peers, Role, Settings, Sync};
use tinyvrrp::proto::time::Instant;

const POISON: u8 = 0xa5;
const SIZES: [usize; 4] = [6600, 0, 130, 20_000];

fuzz_target!(|data: &[u8]| {
    let key = Key::new(b"fuzzing key, 16+ bytes");
    let master = IpAddr::V4(Ipv4Addr::new(10, 0, 0, 1));
    let start = Instant::from_micros(1_000_000);
    let mut engines: Vec<Sync> = [Role::Source, Role::Receiver(master)]
        .into_iter()
        .map(|role| {
            let settings = Settings {
                interval: Duration::from_secs(10),
                max_size: 1 << 20,
                peers: Peers::Subnets(vec![(master, 24)]),
            };
            let mut sync = Sync::new(key.clone(), settings, 0, 3, start);
            sync.set_local(0, Some(b"a line of a file\n".repeat(400)), start);
            sync.set_local(1, Some(Vec::new()), start);
            sync.set_role(role, start);
            sync
        })
        .collect();
    let mut rest = data;
    let mut size = 0;
    let mut now = start;
    let mut seq = 1;
    while rest.len() >= 3 {
        let (what, len) = (rest[0], usize::from(u16::from_be_bytes([rest[1], rest[2]])));
        let Some(bytes) = rest.get(3..3 + len) else {
            break;
        };
        rest = &rest[3 + len..];
        now = now + Duration::from_millis(100);
        if what & 1 != 0 {
            size = (size + 1) % SIZES.len();
            for sync in &mut engines {
                sync.set_local(0, Some(vec![b'x'; SIZES[size]]), now);
            }
        }
        if what & 2 != 0 {
            for sync in &mut engines {
                let _ = sync.handle_timeout(now + Duration::from_secs(1));
            }
        }
        let Ok(message) = parse(bytes) else {
            continue;
        };
        let mut first = [POISON; MAX_MESSAGE];
        let len = emit(&key, &mut first, &message);
        assert_eq!(parse(&first[..len]), Ok(message), "emit -> parse changed the message");
        seq += 1;
        let signed = Message { seq, ..message };
        let len = emit(&key, &mut first, &signed);
        for sync in &mut engines {
            let _ = sync.handle_datagram(now, master, &first[..len]);
            let mut buf = [POISON; MAX_MESSAGE];
            for _ in 0..256 {
                if sync.poll_transmit(now, &mut buf).is_none() {
                    break;
                }
            }
        }
    }
});
