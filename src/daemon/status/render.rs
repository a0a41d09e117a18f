//! The snapshot's two forms, both from one list of fields per kind of
//! record (its `write`, in `fields`) through one [`Writer`], so they can never disagree:
//! aligned tables (`tinyvrrp status`, SIGUSR1) and JSON (`tinyvrrp status
//! --json`, LuCI). Counter names follow RFC 8347
//! (`ietf-vrrp` statistics) where it has one.

use core::fmt::{self, Write};
use core::net::IpAddr;
use core::time::Duration;

use super::Snapshot;
use crate::config::trim_end;

/// One field's value.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Value<'a> {
    Text(&'a str),
    Number(u64),
    /// Absent: JSON null, `none` in text.
    Null,
    Address(IpAddr),
    Addresses(&'a [IpAddr]),
    /// A duration, in milliseconds (its key ends in `-ms`).
    Millis(Duration),
    /// Seconds since the Unix epoch, shown as RFC 3339 UTC (RFC 8347's
    /// `yang:date-and-time`).
    Date(u64),
}

/// Two lists of addresses, each joined by commas as status shows them,
/// with `between` between them, for a log line.
pub(in crate::daemon) fn two_lists_text(
    first: &[IpAddr],
    between: &str,
    second: &[IpAddr],
) -> String {
    let mut out = String::new();
    write_text(&mut out, Value::Addresses(first), false);
    out.push_str(between);
    write_text(&mut out, Value::Addresses(second), false);
    out
}

/// A value as text: `none` when absent, addresses joined by commas,
/// durations in milliseconds (`seconds`: in seconds, for people).
fn write_text(out: &mut String, value: Value<'_>, seconds: bool) {
    let _ = match value {
        Value::Text(text) => out.write_str(text),
        Value::Number(n) => write!(out, "{n}"),
        Value::Null => out.write_str("none"),
        Value::Address(address) => write!(out, "{address}"),
        Value::Addresses([]) => out.write_str("none"),
        Value::Addresses(list) => {
            for (i, &address) in list.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                write_text(out, Value::Address(address), seconds);
            }
            Ok(())
        }
        Value::Millis(d) if seconds => write!(out, "{}.{:03}s", d.as_secs(), d.subsec_millis()),
        Value::Millis(d) => {
            let ms = d.as_secs() * 1000 + u64::from(d.subsec_millis());
            return write_text(out, Value::Number(ms), seconds);
        }
        Value::Date(epoch) => write_date(out, epoch),
    };
}

/// RFC 3339 in UTC, from days since the epoch to a civil date by Howard
/// Hinnant's `civil_from_days`.
pub(super) fn write_date(out: &mut String, epoch: u64) -> fmt::Result {
    // 32-bit arithmetic: 64-bit division is a library call on 32-bit MIPS.
    let (days, secs) = ((epoch / 86_400) as u32, (epoch % 86_400) as u32);
    let z = days + 719_468;
    let era = z / 146_097;
    let doe = z % 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + u32::from(month <= 2);
    write!(
        out,
        "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}Z",
        secs / 3600,
        secs / 60 % 60,
        secs % 60
    )
}

fn write_json_string(out: &mut String, text: &str) {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    out.push('"');
    for c in text.chars() {
        match c {
            '"' | '\\' => out.push('\\'),
            // `\u00XX`, by hand: `{:04x}` would bring hex formatting into
            // the image for this alone.
            c if c < ' ' => {
                out.push_str("\\u00");
                out.push(char::from(HEX[c as usize >> 4]));
                out.push(char::from(HEX[c as usize & 15]));
                continue;
            }
            _ => {}
        }
        out.push(c);
    }
    out.push('"');
}

fn write_json_value(out: &mut String, value: Value<'_>) {
    match value {
        Value::Text(text) => write_json_string(out, text),
        Value::Null => out.push_str("null"),
        Value::Addresses(list) => {
            out.push('[');
            for (i, &address) in list.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                write_json_value(out, Value::Address(address));
            }
            out.push(']');
        }
        // Quoted text.
        Value::Address(_) | Value::Date(_) => {
            out.push('"');
            write_text(out, value, false);
            out.push('"');
        }
        Value::Number(_) | Value::Millis(_) => write_text(out, value, false),
    }
}

/// Where the records go, field by field, in either form: JSON written as
/// it comes, or table cells kept until all the records of a kind are in,
/// to be aligned. One writer for all kinds and both forms: each kind of
/// record only lists its fields ([`InstanceStatus::write`] and the rest).
pub(super) struct Writer {
    json: bool,
    out: String,
    /// The kind of the records being written (`instance`).
    kind: &'static str,
    /// JSON: they are a list, not one object.
    list: bool,
    /// How many records of that kind so far.
    records: usize,
    /// How many fields of the record so far, or of its statistics.
    column: usize,
    /// The record's fields so far were its statistics (its counters).
    statistics: bool,
    /// Tables: a header of keys, then a row of fields per record...
    rows: Vec<Vec<String>>,
    /// ... and the counters, turned: a row of the records' names, then a
    /// row per counter with its value in each record.
    counters: Vec<Vec<String>>,
}

impl Writer {
    fn new(json: bool) -> Writer {
        Writer {
            json,
            out: String::from(if json { "{" } else { "" }),
            kind: "",
            list: false,
            records: 0,
            column: 0,
            statistics: false,
            rows: Vec::new(),
            counters: Vec::new(),
        }
    }

    /// Starts the records of one kind, named `key` in JSON: a list of them
    /// or (not `list`) one of them.
    fn begin(&mut self, key: &str, kind: &'static str, list: bool) {
        if self.json {
            let comma = if self.out.len() > 1 { "," } else { "" };
            let open = if list { "[" } else { "" };
            let _ = write!(self.out, "{comma}\"{key}\":{open}");
        }
        self.kind = kind;
        self.list = list;
        self.records = 0;
        self.rows = vec![Vec::new()];
        self.counters = vec![vec![kind.to_string()]];
    }

    /// Starts a record: its fields follow, its name (what identifies it)
    /// first.
    fn record(&mut self) {
        if self.json {
            if self.records > 0 {
                self.out.push(',');
            }
            self.out.push('{');
        } else {
            self.rows.push(Vec::new());
        }
        self.records += 1;
        self.column = 0;
        self.statistics = false;
    }

    /// The record's counters follow: a separate object in JSON and a
    /// separate table for people.
    pub(super) fn statistics(&mut self) {
        if self.json {
            self.out.push_str(",\"statistics\":{");
        }
        self.column = 0;
        self.statistics = true;
    }

    pub(super) fn field(&mut self, key: &'static str, value: Value<'_>) {
        let column = self.column;
        self.column += 1;
        if self.json {
            let comma = if column == 0 { "" } else { "," };
            let _ = write!(self.out, "{comma}\"{key}\":");
            write_json_value(&mut self.out, value);
            return;
        }
        let mut cell = String::new();
        write_text(&mut cell, value, true);
        if self.statistics {
            if self.counters.len() <= column + 1 {
                self.counters.push(vec![key.to_string()]);
            }
            self.counters[column + 1].push(cell);
            return;
        }
        if self.records == 1 {
            // The header: the keys, the first titled by the kind.
            let title = if column == 0 { self.kind } else { key };
            self.rows[0].push(title.to_ascii_uppercase());
        }
        if column == 0 {
            self.counters[0].push(cell.clone());
        }
        if let Some(row) = self.rows.last_mut() {
            row.push(cell);
        }
    }

    fn end_record(&mut self) {
        if self.json {
            if self.statistics {
                self.out.push('}');
            }
            self.out.push('}');
        }
    }

    /// Ends the records of a kind: `]` in JSON (`null` for no single
    /// object), their tables (none for no records) for people.
    fn end(&mut self) {
        if self.json {
            if self.list {
                self.out.push(']');
            } else if self.records == 0 {
                self.out.push_str("null");
            }
        } else if self.records > 0 {
            write_table(&mut self.out, &self.rows);
            self.out.push('\n');
            if self.counters.len() > 1 {
                write_table(&mut self.out, &self.counters);
                self.out.push('\n');
            }
        }
    }
}

/// Rows of cells, printed with each column as wide as its widest cell.
fn write_table(out: &mut String, rows: &[Vec<String>]) {
    let mut widths: Vec<usize> = Vec::new();
    for row in rows {
        for (c, cell) in row.iter().enumerate() {
            match widths.get_mut(c) {
                Some(width) => *width = (*width).max(cell.len()),
                None => widths.push(cell.len()),
            }
        }
    }
    for row in rows {
        let mut line = String::new();
        for (cell, width) in row.iter().zip(&widths) {
            let _ = write!(line, "{cell:<width$}  ");
        }
        out.push_str(trim_end(&line));
        out.push('\n');
    }
}

impl Snapshot<'_> {
    /// Every record, in the order status shows them.
    fn render(&self, json: bool) -> String {
        let mut w = Writer::new(json);
        w.begin("instances", "instance", true);
        for instance in &self.instances {
            w.record();
            instance.write(&mut w);
            w.end_record();
        }
        w.end();
        w.begin("interfaces", "interface", true);
        for link in &self.links {
            w.record();
            link.write(&mut w);
            w.end_record();
        }
        w.end();
        w.begin("groups", "group", true);
        for group in &self.groups {
            w.record();
            group.write(&mut w);
            w.end_record();
        }
        w.end();
        w.begin("scripts", "script", true);
        for script in &self.scripts {
            w.record();
            script.write(&mut w);
            w.end_record();
        }
        w.end();
        w.begin("notify-fifo", "notify-fifo", false);
        if let Some(fifo) = &self.fifo {
            w.record();
            fifo.write(&mut w);
            w.end_record();
        }
        w.end();
        // Empty lists without file sync, whose records are not built in.
        w.begin("syncs", "sync", true);
        #[cfg(feature = "sync")]
        for sync in &self.syncs {
            w.record();
            sync.write(&mut w);
            w.end_record();
        }
        w.end();
        w.begin("sync-files", "sync-file", true);
        #[cfg(feature = "sync")]
        for file in &self.sync_files {
            w.record();
            file.write(&mut w);
            w.end_record();
        }
        w.end();
        if json {
            w.out.push_str("}\n");
        }
        w.out
    }

    /// The JSON document of README's "Status", on one line.
    pub fn json(&self) -> String {
        self.render(true)
    }

    /// Aligned tables for people: per kind of record, one of their fields
    /// (a header row of keys, a row each), then, if they have counters,
    /// one with a row per counter and a column per record.
    pub fn tables(&self) -> String {
        self.render(false)
    }
}
