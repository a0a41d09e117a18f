//! keepalived's trackers as arithmetic: what each tracker's state adds to
//! an instance's priority or whether it puts the instance in FAULT, and the
//! effective priority they make together. Pure: the daemon watches the
//! interfaces, runs the scripts and reads the files.

use super::fsm::{Health, PRIORITY_OWNER};

/// The weight range of interface and script trackers (keepalived's
/// `track_interface`, `track_script`, `vrrp_script weight`).
pub const MAX_WEIGHT: i32 = 253;
/// The weight range of file trackers (keepalived's `track_file`).
pub const MAX_FILE_WEIGHT: i32 = 254;

/// What one tracker says now.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    /// Adds this much (negative: subtracts) to the priority.
    Add(i32),
    /// Puts the instance in FAULT.
    Fault,
    /// No result yet: holds the instance out of the election.
    Pending,
}

/// A script's state: no result yet, or OK/KO after `rise`/`fall` results
/// in a row.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ScriptState {
    Pending,
    Ok,
    Ko,
}

/// Interface and script trackers: weight 0 means FAULT while down; a
/// positive weight is added while up, a negative one while down.
fn weighted(weight: i32, up: bool) -> Verdict {
    match (weight, up) {
        (0, false) => Verdict::Fault,
        (w, true) if w > 0 => Verdict::Add(w),
        (w, false) if w < 0 => Verdict::Add(w),
        _ => Verdict::Add(0),
    }
}

/// `track-interface`: up means up with carrier.
pub fn interface(weight: i32, up: bool) -> Verdict {
    weighted(weight, up)
}

/// `track-script`. Before its first result an unweighted script holds the
/// instance back; a weighted one adds nothing yet.
pub fn script(weight: i32, state: ScriptState) -> Verdict {
    match state {
        ScriptState::Pending if weight == 0 => Verdict::Pending,
        ScriptState::Pending => Verdict::Add(0),
        ScriptState::Ok => weighted(weight, true),
        ScriptState::Ko => weighted(weight, false),
    }
}

/// `track-file`: the value times the weight, limited to -254..=253 as
/// keepalived does; -254 or less means FAULT, and with weight 0 any value
/// but 0 does.
pub fn file(weight: i32, value: i32) -> Verdict {
    if weight == 0 {
        return if value == 0 {
            Verdict::Add(0)
        } else {
            Verdict::Fault
        };
    }
    let product = i64::from(value) * i64::from(weight);
    if product <= -i64::from(MAX_FILE_WEIGHT) {
        Verdict::Fault
    } else {
        Verdict::Add(product.min(i64::from(MAX_FILE_WEIGHT) - 1) as i32)
    }
}

/// The priority an instance runs with and whether it may take part.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Effective {
    pub priority: u8,
    pub health: Health,
}

/// The base priority plus every contribution, clamped to 1..=254 (a
/// tracker never makes a router the owner, nor takes it out of the
/// election by priority); an owner keeps 255 (RFC 5798 §5.2.4). Any FAULT
/// wins over a pending result.
pub fn effective(base: u8, verdicts: &[Verdict]) -> Effective {
    let mut sum = i64::from(base);
    let mut health = Health::Healthy;
    for &verdict in verdicts {
        match verdict {
            Verdict::Add(n) => sum += i64::from(n),
            Verdict::Fault => health = Health::Fault,
            Verdict::Pending if health == Health::Healthy => health = Health::Pending,
            Verdict::Pending => {}
        }
    }
    let priority = if base == PRIORITY_OWNER {
        PRIORITY_OWNER
    } else {
        sum.clamp(1, i64::from(PRIORITY_OWNER) - 1) as u8
    };
    Effective { priority, health }
}

/// What a tracked file holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FileValue {
    Number(i32),
    /// Empty or not a number: counts as 0.
    NotANumber,
    /// A number beyond 32 bits: the previous value is kept.
    OutOfRange,
}

/// Reads a tracked file's content as keepalived does, with C's `strtol(buf,
/// NULL, 0)` over its first 127 bytes: leading white space, a sign, then
/// `0x` hex, `0` octal or decimal; whatever follows the digits is ignored.
pub fn parse_file_value(content: &[u8]) -> FileValue {
    let content = &content[..content.len().min(127)];
    let mut rest = content.trim_ascii_start();
    let negative = rest.first() == Some(&b'-');
    if let [b'-' | b'+', after @ ..] = rest {
        rest = after;
    }
    parse_digits(rest, negative)
}

fn parse_digits(rest: &[u8], negative: bool) -> FileValue {
    let (radix, digits) = match rest {
        [b'0', b'x' | b'X', next, ..] if next.is_ascii_hexdigit() => (16, &rest[2..]),
        [b'0', ..] => (8, rest),
        _ => (10, rest),
    };
    let mut value: i64 = 0;
    let mut any = false;
    for &byte in digits {
        let Some(digit) = char::from(byte).to_digit(radix) else {
            break;
        };
        any = true;
        value = value * i64::from(radix) + i64::from(digit);
        if value > i64::from(i32::MAX) + 1 {
            return FileValue::OutOfRange;
        }
    }
    if !any {
        return FileValue::NotANumber;
    }
    let value = if negative { -value } else { value };
    i32::try_from(value).map_or(FileValue::OutOfRange, FileValue::Number)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn file_values_read_as_strtol_does() {
        for (text, value) in [
            (&b"42"[..], FileValue::Number(42)),
            (b"  -17\n", FileValue::Number(-17)),
            (b"+5 apples", FileValue::Number(5)),
            (b"0x1f", FileValue::Number(31)),
            (b"010", FileValue::Number(8)),
            (b"0", FileValue::Number(0)),
            (b"09", FileValue::Number(0)),
            (b"0xg", FileValue::Number(0)),
            (b"-2147483648", FileValue::Number(i32::MIN)),
            (b"", FileValue::NotANumber),
            (b"\n", FileValue::NotANumber),
            (b"abc", FileValue::NotANumber),
            (b"-", FileValue::NotANumber),
            (b"2147483648", FileValue::OutOfRange),
            (b"99999999999999999999999", FileValue::OutOfRange),
        ] {
            assert_eq!(parse_file_value(text), value, "{:?}", text.escape_ascii());
        }
    }

    #[test]
    fn only_the_first_127_bytes_are_read() {
        let mut text = vec![b' '; 126];
        text.extend_from_slice(b"12");
        assert_eq!(parse_file_value(&text), FileValue::Number(1));
    }
}
