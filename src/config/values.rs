//! The syntax of single values: names, numbers, durations, addresses,
//! weights, paths.

use core::net::IpAddr;

use crate::proto::wire::{Version, MAX_ADVER_INT_CS};

use super::{is_space, Vip, MAX_INSTANCE_NAME};

/// Linux IFNAMSIZ less the terminating NUL.
const MAX_INTERFACE_NAME: usize = 15;

pub(super) fn valid_name(name: &str) -> bool {
    (1..=MAX_INSTANCE_NAME).contains(&name.len())
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"_-.".contains(&b))
}

/// What Linux's `dev_valid_name` allows: 1..15 bytes, no `/`, `:` or
/// whitespace (a quoted UCI value may hold some), not `.` or `..`.
pub(super) fn parse_interface(value: &str) -> Result<String, String> {
    if value.is_empty()
        || value.len() > MAX_INTERFACE_NAME
        || value.contains(|c: char| c == '/' || c == ':' || is_space(c))
        || value == "."
        || value == ".."
    {
        return Err(format!("'{value}' is not a valid interface name"));
    }
    Ok(value.to_string())
}

/// A whole number in `min..=max`: a key's value or a tracker's `weight`.
pub(super) fn parse_number(what: &str, value: &str, min: i32, max: i32) -> Result<i32, String> {
    // What `parse::<i32>` accepts: `-` or `+`, not both, then digits.
    // (Here and below, one-byte `&str` patterns rather than `char`s: they
    // compile to a byte compare, a `char` pattern to more code. Size.)
    let n = match value.strip_prefix("-") {
        Some(digits) if !digits.starts_with("+") => decimal(digits).map(|n| -i64::from(n)),
        Some(_) => None,
        None => decimal(value).map(i64::from),
    };
    match n {
        Some(n) if (i64::from(min)..=i64::from(max)).contains(&n) => Ok(n as i32),
        _ => Err(format!("{what} must be {min}..{max}, not '{value}'")),
    }
}

/// A decimal number as `parse::<u32>` reads it: an optional `+`, then
/// digits. Written out once, as each `parse` inlines a loop of its own.
fn decimal(text: &str) -> Option<u32> {
    let digits = text.strip_prefix("+").unwrap_or(text);
    if digits.is_empty() {
        return None;
    }
    digits.bytes().try_fold(0u32, |n, byte| {
        let digit = byte.wrapping_sub(b'0');
        if digit > 9 {
            return None;
        }
        n.checked_mul(10)?.checked_add(u32::from(digit))
    })
}

/// `100ms`, `1s`: a whole number with a unit.
pub(super) fn parse_duration_ms(key: &str, value: &str) -> Result<u32, String> {
    let (digits, scale) = if let Some(ms) = value.strip_suffix("ms") {
        (ms, 1)
    } else if let Some(s) = value.strip_suffix("s") {
        (s, 1000)
    } else {
        return Err(format!("{key} needs a unit, ms or s: '{value}'"));
    };
    decimal(digits)
        .and_then(|n| n.checked_mul(scale))
        .ok_or_else(|| format!("'{value}' is not a whole number of ms or s"))
}

/// RFC 5798 §5.2.7: v3 intervals are 12-bit centiseconds; RFC 3768 §5.3.7:
/// v2 intervals are whole seconds in one octet.
pub(super) fn check_advert(version: Version, ms: u32) -> Result<u16, String> {
    match version {
        Version::V3 => {
            let max_ms = u32::from(MAX_ADVER_INT_CS) * 10;
            if ms % 10 != 0 || !(10..=max_ms).contains(&ms) {
                return Err(format!(
                    "advert for version 3 must be 10ms..{max_ms}ms in 10 ms steps, not {ms}ms"
                ));
            }
            Ok((ms / 10) as u16)
        }
        Version::V2 => {
            if ms % 1000 != 0 || !(1000..=255_000).contains(&ms) {
                return Err(format!(
                    "advert for version 2 must be whole seconds 1s..255s, not {ms}ms"
                ));
            }
            Ok((ms / 10) as u16)
        }
    }
}

/// A unicast peer or source: a host address of either family.
pub(super) fn parse_unicast(value: &str) -> Result<IpAddr, String> {
    let address: IpAddr = value
        .parse()
        .map_err(|_| format!("'{value}' is not an IPv4 or IPv6 address"))?;
    if address.is_unspecified() || address.is_multicast() || is_broadcast(address) {
        return Err(format!("{address} cannot be a unicast address"));
    }
    Ok(address)
}

fn is_broadcast(address: IpAddr) -> bool {
    matches!(address, IpAddr::V4(a) if a.is_broadcast())
}

pub(super) fn parse_vip(value: &str) -> Result<Vip, String> {
    // The `/` found byte by byte: `split_once` was more code (size).
    let (address, prefix) = match value.bytes().position(|b| b == b'/') {
        Some(at) => (&value[..at], Some(&value[at + 1..])),
        None => (value, None),
    };
    let address: IpAddr = address
        .parse()
        .map_err(|_| format!("'{value}' is not an IPv4 or IPv6 address"))?;
    let max_prefix = match address {
        IpAddr::V4(_) => 32,
        IpAddr::V6(_) => 128,
    };
    let prefix = match prefix {
        None => max_prefix,
        Some(p) => match decimal(p) {
            Some(n) if (1..=u32::from(max_prefix)).contains(&n) => n as u8,
            _ => return Err(format!("prefix must be 1..{max_prefix} in '{value}'")),
        },
    };
    if address.is_unspecified()
        || address.is_multicast()
        || is_broadcast(address)
        || address.is_loopback()
    {
        return Err(format!("{address} cannot be a virtual address"));
    }
    Ok(Vip { address, prefix })
}

/// A file the daemon opens (`track-file`, `notify-fifo`): absolute,
/// so the meaning does not depend on where the daemon was started.
pub(super) fn parse_path(key: &str, value: &str) -> Result<String, String> {
    if value.starts_with("/") {
        Ok(value.to_string())
    } else {
        Err(format!("{key} needs an absolute path, not '{value}'"))
    }
}
