//! Untrusted bytes from the raw VRRP socket: `parse_ipv4` must never panic,
//! and what it accepts must survive emit -> parse unchanged.
#![no_main]

use libfuzzer_sys::fuzz_target;
use tinyvrrp::proto::wire::{parse_ipv4, Received};

/// 20-octet IPv4 header + the largest VRRP message (v2, 255 addresses, auth).
const MAX_DATAGRAM: usize = 20 + 8 + 4 * 255 + 8;
/// Fills emit buffers first so an octet emit forgets to set shows up.
const POISON: u8 = 0xa5;

fuzz_target!(|data: &[u8]| {
    let Ok(received) = parse_ipv4(data) else {
        return;
    };
    let first = emit(&received);
    // Everything `Received` holds must come back: src/dst from our IP header,
    // and the advert, including the checksum form found valid (whether a form
    // verifies depends only on src, dst and length, which the emit keeps).
    // The bytes need not match the input: IP options, IP ID/TOS/flags and the
    // v3 reserved bits are not kept.
    let again = parse_ipv4(&first).unwrap_or_else(|error| {
        panic!("re-emitted advert does not parse: {error:?}\n{received:?}\n{first:02x?}")
    });
    assert_eq!(received, again, "emit -> parse changed the advert");
    // Emit is a function of the advert alone: a second round gives the same octets.
    assert_eq!(first, emit(&again), "emit not stable across a round trip");
});

fn emit(received: &Received) -> Vec<u8> {
    let mut buf = vec![POISON; MAX_DATAGRAM];
    let len = received
        .advert
        .emit_ipv4(received.src, received.dst, &mut buf);
    assert_eq!(len, 20 + received.advert.buffer_len());
    buf.truncate(len);
    buf
}
