//! Unsolicited Neighbor Advertisement (RFC 4861 §4.4, §7.2.6), the IPv6
//! counterpart of gratuitous ARP: RFC 5798 §6.4.1 has a new master send one
//! "with the Router Flag (R) set for each IPv6 address associated with the
//! virtual router", so neighbours update their caches at once.

use core::net::{IpAddr, Ipv6Addr};

use super::wire::{internet_checksum, pseudo_header_sum, write_ipv6_header, IPV6_HEADER_LEN};

/// RFC 4861 §4.4: ICMPv6 header, flags, target, and one link-layer option.
const NA_LEN: usize = 4 + 4 + 16 + OPTION_LEN;
/// A whole packet: the IPv6 header and the advertisement.
pub const PACKET_LEN: usize = IPV6_HEADER_LEN + NA_LEN;
const PROTO_ICMPV6: u8 = 58;
const TYPE_NEIGHBOR_ADVERTISEMENT: u8 = 136;
/// RFC 4861 §4.4: R (the sender is a router) and O (override the cached
/// link-layer address); S stays clear, as for any unsolicited advert.
const FLAG_ROUTER: u8 = 0x80;
const FLAG_OVERRIDE: u8 = 0x20;
/// RFC 4861 §4.6.1: the Target Link-Layer Address option, 8 octets for
/// Ethernet.
const OPTION_TARGET_LINK_LAYER: u8 = 2;
const OPTION_LEN: usize = 8;
/// RFC 4861 §7.2.6: unsolicited adverts go to the all-nodes address.
pub const ALL_NODES: Ipv6Addr = Ipv6Addr::new(0xff02, 0, 0, 0, 0, 0, 0, 1);

/// The IPv6 packet announcing that `target` now lives at `mac`, sent from
/// `src` (the interface's link-local address) with Hop Limit 255, which
/// RFC 4861 §7.1.2 requires of every receiver's check.
pub fn unsolicited_na(src: Ipv6Addr, mac: [u8; 6], target: Ipv6Addr) -> [u8; PACKET_LEN] {
    let mut packet = [0u8; PACKET_LEN];
    write_ipv6_header(&mut packet, src, ALL_NODES, PROTO_ICMPV6, NA_LEN);
    let na = &mut packet[IPV6_HEADER_LEN..];
    na[0] = TYPE_NEIGHBOR_ADVERTISEMENT;
    na[4] = FLAG_ROUTER | FLAG_OVERRIDE;
    na[8..24].copy_from_slice(&target.octets());
    na[24] = OPTION_TARGET_LINK_LAYER;
    na[25] = (OPTION_LEN / 8) as u8;
    na[26..32].copy_from_slice(&mac);
    let initial = pseudo_header_sum(IpAddr::V6(src), IpAddr::V6(ALL_NODES), PROTO_ICMPV6, NA_LEN);
    let sum = internet_checksum(initial, na);
    na[2..4].copy_from_slice(&sum.to_be_bytes());
    packet
}

#[cfg(test)]
mod tests {
    use super::*;

    const SRC: Ipv6Addr = Ipv6Addr::new(0xfe80, 0, 0, 0, 0, 0, 0x231, 1);
    const TARGET: Ipv6Addr = Ipv6Addr::new(0x2001, 0xdb8, 0x231, 0, 0, 0, 0, 0x100);
    const MAC: [u8; 6] = [0x00, 0x00, 0x5e, 0x00, 0x02, 0x33];

    #[test]
    fn layout_flags_and_option() {
        let packet = unsolicited_na(SRC, MAC, TARGET);
        assert_eq!(packet[0] >> 4, 6);
        assert_eq!(
            u16::from_be_bytes([packet[4], packet[5]]),
            32,
            "payload length"
        );
        assert_eq!(packet[6], PROTO_ICMPV6);
        assert_eq!(packet[7], 255, "hop limit");
        assert_eq!(&packet[8..24], &SRC.octets());
        assert_eq!(&packet[24..40], &ALL_NODES.octets());
        let na = &packet[40..];
        assert_eq!((na[0], na[1]), (136, 0), "type and code");
        assert_eq!(na[4], 0xa0, "R and O set, S clear");
        assert_eq!(&na[5..8], &[0, 0, 0], "reserved");
        assert_eq!(&na[8..24], &TARGET.octets());
        assert_eq!(&na[24..26], &[2, 1], "target link-layer option, 8 octets");
        assert_eq!(&na[26..32], &MAC);
    }

    #[test]
    fn checksum_verifies_over_the_pseudo_header() {
        let packet = unsolicited_na(SRC, MAC, TARGET);
        let initial = pseudo_header_sum(IpAddr::V6(SRC), IpAddr::V6(ALL_NODES), 58, 32);
        assert_eq!(internet_checksum(initial, &packet[40..]), 0);
        let other = pseudo_header_sum(IpAddr::V6(TARGET), IpAddr::V6(ALL_NODES), 58, 32);
        assert_ne!(internet_checksum(other, &packet[40..]), 0);
    }
}
