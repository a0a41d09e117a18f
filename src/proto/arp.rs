//! Gratuitous ARP (RFC 5798 §6.4.1, RFC 5227 §3): an ARP request whose
//! sender and target protocol addresses are both the virtual address, so
//! every host and switch on the segment learns where it now lives.

use core::net::Ipv4Addr;

/// ARP over Ethernet for IPv4 (RFC 826).
pub const ARP_LEN: usize = 28;
const HTYPE_ETHERNET: u16 = 1;
const PTYPE_IPV4: u16 = 0x0800;
const OP_REQUEST: u16 = 1;

/// The ARP payload (the kernel adds the Ethernet header on a packet socket).
pub fn gratuitous(mac: [u8; 6], address: Ipv4Addr) -> [u8; ARP_LEN] {
    let mut frame = [0u8; ARP_LEN];
    frame[0..2].copy_from_slice(&HTYPE_ETHERNET.to_be_bytes());
    frame[2..4].copy_from_slice(&PTYPE_IPV4.to_be_bytes());
    frame[4] = 6;
    frame[5] = 4;
    frame[6..8].copy_from_slice(&OP_REQUEST.to_be_bytes());
    frame[8..14].copy_from_slice(&mac);
    frame[14..18].copy_from_slice(&address.octets());
    // RFC 5227 §3: the target hardware address is ignored; send zeros.
    frame[24..28].copy_from_slice(&address.octets());
    frame
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn gratuitous_request_layout() {
        let frame = gratuitous([2, 0, 0, 0, 0, 1], Ipv4Addr::new(10, 0, 0, 100));
        assert_eq!(
            frame,
            [
                0, 1, 8, 0, 6, 4, 0, 1, 2, 0, 0, 0, 0, 1, 10, 0, 0, 100, 0, 0, 0, 0, 0, 0, 10, 0,
                0, 100
            ]
        );
    }
}
