//! Bytes from rtnetlink sockets: a datagram of the link-change socket goes
//! through `link_changes` (messages, their ifinfomsg and rtattrs), and the
//! body of an RTM_NEWADDR reply through `address_entry`. The kernel writes
//! them, but what they carry (interface names, addresses) is set by anyone
//! with CAP_NET_ADMIN in the namespace; neither may panic, and what they
//! return must come from the bytes.
#![no_main]

use core::net::IpAddr;

use libfuzzer_sys::fuzz_target;
use tinyvrrp::sys::netlink::{address_entry, link_changes};

/// `struct nlmsghdr` and `struct ifinfomsg`: every change needs both.
const NLMSG_HDR_LEN: usize = 16;
const IFINFOMSG_LEN: usize = 16;
const AF_INET: u8 = 2;
const AF_INET6: u8 = 10;

fuzz_target!(|data: &[u8]| {
    let changes = link_changes(data);
    assert!(
        changes.len() <= data.len() / (NLMSG_HDR_LEN + IFINFOMSG_LEN),
        "{} changes from {} octets",
        changes.len(),
        data.len()
    );
    for change in &changes {
        if let Some(name) = &change.name {
            // Cut at the first NUL, and never longer than the datagram.
            assert!(
                !name.contains('\0') && name.len() <= data.len() * 3,
                "{name:?}"
            );
        }
    }

    // The first four octets pick the interface, the rest is the body.
    let Some((index, body)) = data.split_first_chunk::<4>() else {
        return;
    };
    let index = u32::from_ne_bytes(*index);
    if let Some(entry) = address_entry(index, body) {
        // Only a body on that interface, with its own prefix and family.
        assert_eq!(body[4..8], index.to_ne_bytes());
        assert_eq!(entry.prefix, body[1]);
        match entry.address {
            IpAddr::V4(_) => assert_eq!(body[0], AF_INET),
            IpAddr::V6(_) => assert_eq!(body[0], AF_INET6),
        }
    }
});
