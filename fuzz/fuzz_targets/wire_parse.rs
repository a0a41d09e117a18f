//! Untrusted bytes from the raw VRRP sockets: `parse_ipv4` and `parse_ipv6`
//! must never panic, and what they accept must survive emit -> parse
//! unchanged.
#![no_main]

use std::net::IpAddr;

use libfuzzer_sys::fuzz_target;
use tinyvrrp::proto::wire::{parse_ipv4, parse_ipv6, Received, RxError};

/// 40-octet IPv6 header + the largest VRRP message (255 IPv6 addresses);
/// larger than any IPv4 datagram.
const MAX_PACKET: usize = 40 + 8 + 16 * 255;
/// Fills emit buffers first so an octet emit forgets to set shows up.
const POISON: u8 = 0xa5;

fuzz_target!(|data: &[u8]| {
    let Ok(received) = parse(data) else {
        return;
    };
    let first = emit(&received);
    // Everything `Received` holds must come back: src/dst from our IP header,
    // and the advert, including the checksum form found valid (whether a form
    // verifies depends only on src, dst and length, which the emit keeps).
    // The bytes need not match the input: IP options, IP ID/TOS/flags, the
    // IPv6 flow label and the v3 reserved bits are not kept.
    let again = parse(&first).unwrap_or_else(|error| {
        panic!("re-emitted advert does not parse: {error:?}\n{received:?}\n{first:02x?}")
    });
    assert_eq!(received, again, "emit -> parse changed the advert");
    // Emit is a function of the advert alone: a second round gives the same octets.
    assert_eq!(first, emit(&again), "emit not stable across a round trip");
});

/// The IP version nibble picks the parser, as the socket's family does.
fn parse(data: &[u8]) -> Result<Received, RxError> {
    match data.first().map(|b| b >> 4) {
        Some(6) => parse_ipv6(data),
        _ => parse_ipv4(data),
    }
}

fn emit(received: &Received) -> Vec<u8> {
    let mut buf = vec![POISON; MAX_PACKET];
    let (len, header) = match (received.src, received.dst) {
        (IpAddr::V4(src), IpAddr::V4(dst)) => (received.advert.emit_ipv4(src, dst, &mut buf), 20),
        (IpAddr::V6(src), IpAddr::V6(dst)) => (received.advert.emit_ipv6(src, dst, &mut buf), 40),
        _ => panic!("a parsed advert with mixed families: {received:?}"),
    };
    assert_eq!(len, header + received.advert.buffer_len());
    buf.truncate(len);
    buf
}
