//! Wire format both directions: keepalived captures parse to the fields it
//! sent and re-emit byte for byte; every malformed variant is rejected with
//! its own reason.

use std::net::Ipv4Addr;

use tinyvrrp::proto::wire::{self, checksum_for, Advert, Checksum, RxError, V2Auth, Version};

const POISON: u8 = 0xa5;

fn vector(name: &str) -> Vec<u8> {
    let path = format!("{}/tests/vectors/{name}", env!("CARGO_MANIFEST_DIR"));
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"));
    let hex: String = text.chars().filter(char::is_ascii_hexdigit).collect();
    (0..hex.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&hex[i..i + 2], 16).unwrap())
        .collect()
}

fn advert(version: Version, priority: u8, interval_cs: u16, addresses: &[Ipv4Addr]) -> Advert {
    Advert {
        version,
        vrid: 51,
        priority,
        interval_cs,
        addresses: addresses.iter().copied().collect(),
        auth: match version {
            Version::V2 => Some(V2Auth::NONE),
            Version::V3 => None,
        },
        checksum: Checksum::standard(version),
    }
}

const SRC: Ipv4Addr = Ipv4Addr::new(10, 231, 0, 1);
const VIP1: Ipv4Addr = Ipv4Addr::new(10, 231, 0, 100);
const VIP2: Ipv4Addr = Ipv4Addr::new(10, 231, 0, 101);

/// Emits into a poisoned buffer so a field we forget to write shows.
fn emit(advert: &Advert) -> Vec<u8> {
    let mut buf = vec![POISON; 64 + 4 * advert.addresses.len()];
    let len = advert.emit_ipv4(SRC, wire::MULTICAST_GROUP, &mut buf);
    buf.truncate(len);
    buf
}

/// The parts of the IPv4 header we set the same way keepalived does.
fn assert_same_vrrp_and_key_ip_fields(ours: &[u8], theirs: &[u8]) {
    assert_eq!(ours.len(), theirs.len(), "datagram length");
    assert_eq!(ours[0], theirs[0], "version/IHL");
    assert_eq!(ours[8], theirs[8], "TTL");
    assert_eq!(ours[9], theirs[9], "protocol");
    assert_eq!(&ours[12..20], &theirs[12..20], "addresses");
    assert_eq!(&ours[20..], &theirs[20..], "VRRP message");
}

#[test]
fn keepalived_v3_advert_parses_and_reemits_identically() {
    let bytes = vector("keepalived_v3_adv.hex");
    let received = wire::parse_ipv4(&bytes).unwrap();
    assert_eq!(received.src, SRC);
    assert_eq!(received.dst, wire::MULTICAST_GROUP);
    assert_eq!(
        received.advert,
        advert(Version::V3, 150, 100, &[VIP1, VIP2])
    );
    assert_same_vrrp_and_key_ip_fields(&emit(&received.advert), &bytes);
}

#[test]
fn keepalived_v3_priority_zero_and_100ms() {
    let stop = wire::parse_ipv4(&vector("keepalived_v3_prio0.hex")).unwrap();
    assert_eq!(stop.advert, advert(Version::V3, 0, 100, &[VIP1, VIP2]));
    let fast = wire::parse_ipv4(&vector("keepalived_v3_100ms.hex")).unwrap();
    assert_eq!(fast.advert.interval_cs, 10);
    assert_same_vrrp_and_key_ip_fields(&emit(&fast.advert), &vector("keepalived_v3_100ms.hex"));
}

#[test]
fn keepalived_v2_advert_and_priority_zero() {
    let bytes = vector("keepalived_v2_adv.hex");
    let received = wire::parse_ipv4(&bytes).unwrap();
    assert_eq!(
        received.advert,
        advert(Version::V2, 150, 100, &[VIP1, VIP2])
    );
    assert_same_vrrp_and_key_ip_fields(&emit(&received.advert), &bytes);
    let stop = wire::parse_ipv4(&vector("keepalived_v2_prio0.hex")).unwrap();
    assert_eq!(stop.advert.priority, 0);
}

#[test]
fn keepalived_v2_simple_password_is_carried() {
    let received = wire::parse_ipv4(&vector("keepalived_v2_pass.hex")).unwrap();
    let auth = received.advert.auth.unwrap();
    assert_eq!(auth, V2Auth::simple_password(b"secret1"));
    // Ours, with the same password, is keepalived's packet byte for byte.
    let mut ours = received.advert.clone();
    ours.auth = Some(V2Auth::simple_password(b"secret1"));
    let theirs = vector("keepalived_v2_pass.hex");
    assert_same_vrrp_and_key_ip_fields(&emit(&ours), &theirs);
}

#[test]
fn v3_checksum_without_pseudo_header_is_sent_and_recognised() {
    let mut as_v2 = advert(Version::V3, 100, 100, &[VIP1]);
    as_v2.checksum = Checksum::MessageOnly;
    let bytes = emit(&as_v2);
    assert_ne!(
        checksum_for(Version::V3, SRC, wire::MULTICAST_GROUP, &bytes[20..]),
        0
    );
    let received = wire::parse_ipv4(&bytes).unwrap();
    assert_eq!(received.advert.checksum, Checksum::MessageOnly);
    assert_eq!(received.advert, as_v2);
    let standard = wire::parse_ipv4(&vector("keepalived_v3_adv.hex")).unwrap();
    assert_eq!(standard.advert.checksum, Checksum::PseudoHeader);
    // A v2 message is never read with a pseudo-header.
    let v2 = wire::parse_ipv4(&vector("keepalived_v2_adv.hex")).unwrap();
    assert_eq!(v2.advert.checksum, Checksum::MessageOnly);
}

#[test]
fn own_emit_round_trips_v2_and_v3() {
    for version in [Version::V2, Version::V3] {
        let original = advert(version, 200, 300, &[VIP1]);
        let bytes = emit(&original);
        assert!(
            !bytes.contains(&POISON),
            "{version:?}: unset octet in {bytes:02x?}"
        );
        let received = wire::parse_ipv4(&bytes).unwrap();
        assert_eq!(received.advert, original);
        assert_eq!(received.src, SRC);
    }
}

#[test]
fn v3_checksum_covers_the_pseudo_header_and_v2_does_not() {
    let v3 = emit(&advert(Version::V3, 100, 100, &[VIP1]));
    let other_dst = Ipv4Addr::new(10, 231, 0, 2);
    assert_eq!(
        checksum_for(Version::V3, SRC, wire::MULTICAST_GROUP, &v3[20..]),
        0
    );
    assert_ne!(checksum_for(Version::V3, SRC, other_dst, &v3[20..]), 0);
    let v2 = emit(&advert(Version::V2, 100, 100, &[VIP1]));
    assert_eq!(checksum_for(Version::V2, SRC, other_dst, &v2[20..]), 0);
}

/// Rewrites the IP header checksum after a header edit, as a sender would.
fn fix_ip_checksum(bytes: &mut [u8]) {
    bytes[10] = 0;
    bytes[11] = 0;
    let mut sum = 0u32;
    for pair in bytes[..20].chunks(2) {
        sum += u32::from(u16::from_be_bytes([pair[0], pair[1]]));
    }
    while sum > 0xffff {
        sum = (sum & 0xffff) + (sum >> 16);
    }
    bytes[10..12].copy_from_slice(&(!(sum as u16)).to_be_bytes());
}

/// Rewrites the VRRP checksum after a payload edit, so only the edit is wrong.
fn fix_vrrp_checksum(bytes: &mut [u8], version: Version) {
    bytes[26] = 0;
    bytes[27] = 0;
    let sum = checksum_for(version, SRC, wire::MULTICAST_GROUP, &bytes[20..]);
    bytes[26..28].copy_from_slice(&sum.to_be_bytes());
}

#[test]
fn each_malformation_has_its_own_reason() {
    let good = emit(&advert(Version::V3, 100, 100, &[VIP1, VIP2]));
    let set_total = |bytes: &mut Vec<u8>, total: usize| {
        bytes[2..4].copy_from_slice(&(total as u16).to_be_bytes());
        fix_ip_checksum(bytes);
    };
    let cases: Vec<(&str, Vec<u8>, RxError)> = vec![
        (
            "shorter than an IP header",
            good[..12].to_vec(),
            RxError::Truncated,
        ),
        (
            "cut inside the addresses",
            {
                let mut b = good[..good.len() - 4].to_vec();
                let total = b.len();
                set_total(&mut b, total);
                b
            },
            RxError::Truncated,
        ),
        (
            "IP total length beyond the data",
            {
                let mut b = good.clone();
                set_total(&mut b, good.len() + 8);
                b
            },
            RxError::Truncated,
        ),
        (
            "trailing octets after the addresses",
            {
                let mut b = good.clone();
                b.extend_from_slice(&[0, 0, 0, 0]);
                let total = b.len();
                set_total(&mut b, total);
                fix_vrrp_checksum(&mut b, Version::V3);
                b
            },
            RxError::Oversized,
        ),
        (
            "data beyond the IP total length",
            {
                let mut b = good.clone();
                b.push(0);
                b
            },
            RxError::Oversized,
        ),
        (
            "TTL 64",
            {
                let mut b = good.clone();
                b[8] = 64;
                fix_ip_checksum(&mut b);
                b
            },
            RxError::Ttl,
        ),
        (
            "not IPv4",
            {
                let mut b = good.clone();
                b[0] = 0x65;
                b
            },
            RxError::IpHeader,
        ),
        (
            "not protocol 112",
            {
                let mut b = good.clone();
                b[9] = 17;
                b
            },
            RxError::IpHeader,
        ),
        (
            "a fragment",
            {
                let mut b = good.clone();
                b[6] = 0x20;
                b
            },
            RxError::IpHeader,
        ),
        (
            "VRRP version 4",
            {
                let mut b = good.clone();
                b[20] = 0x41;
                fix_vrrp_checksum(&mut b, Version::V3);
                b
            },
            RxError::Version,
        ),
        (
            "type 2",
            {
                let mut b = good.clone();
                b[20] = 0x32;
                fix_vrrp_checksum(&mut b, Version::V3);
                b
            },
            RxError::Type,
        ),
        (
            "count 0",
            {
                let mut b = good[..28].to_vec();
                b[23] = 0;
                let total = b.len();
                set_total(&mut b, total);
                fix_vrrp_checksum(&mut b, Version::V3);
                b
            },
            RxError::Count,
        ),
        (
            "count 3 with two addresses",
            {
                let mut b = good.clone();
                b[23] = 3;
                fix_vrrp_checksum(&mut b, Version::V3);
                b
            },
            RxError::Truncated,
        ),
        (
            "count 1 with two addresses",
            {
                let mut b = good.clone();
                b[23] = 1;
                fix_vrrp_checksum(&mut b, Version::V3);
                b
            },
            RxError::Oversized,
        ),
        (
            "a flipped bit",
            {
                let mut b = good.clone();
                b[22] ^= 0x01;
                b
            },
            RxError::Checksum,
        ),
        (
            "a v2 checksum computed with a pseudo-header",
            {
                let mut b = vector("keepalived_v2_adv.hex");
                b[26] = 0;
                b[27] = 0;
                let sum = wire::checksum_over(
                    Checksum::PseudoHeader,
                    SRC,
                    wire::MULTICAST_GROUP,
                    &b[20..],
                );
                b[26..28].copy_from_slice(&sum.to_be_bytes());
                b
            },
            RxError::Checksum,
        ),
    ];
    assert!(wire::parse_ipv4(&good).is_ok());
    for (what, bytes, reason) in cases {
        assert_eq!(wire::parse_ipv4(&bytes).map(|_| ()), Err(reason), "{what}");
    }
}

#[test]
fn v2_without_auth_data_is_truncated() {
    let good = emit(&advert(Version::V2, 100, 100, &[VIP1]));
    let mut short = good[..good.len() - 8].to_vec();
    let total = short.len() as u16;
    short[2..4].copy_from_slice(&total.to_be_bytes());
    fix_ip_checksum(&mut short);
    assert_eq!(
        wire::parse_ipv4(&short).map(|_| ()),
        Err(RxError::Truncated)
    );
}

#[test]
fn arbitrary_bytes_never_panic() {
    let good = emit(&advert(Version::V3, 100, 100, &[VIP1, VIP2]));
    let mut seed = 0x9e37_79b9_7f4a_7c15u64;
    let mut next = || {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        seed
    };
    for _ in 0..20_000 {
        let mut bytes = good.clone();
        let len = (next() % 80) as usize;
        bytes.resize(len, (next() & 0xff) as u8);
        for _ in 0..(next() % 4) {
            if !bytes.is_empty() {
                let at = (next() % bytes.len() as u64) as usize;
                bytes[at] = (next() & 0xff) as u8;
            }
        }
        let _ = wire::parse_ipv4(&bytes);
    }
}
