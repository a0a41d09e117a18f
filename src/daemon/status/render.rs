//! The snapshot's two forms, both from one list of fields per record, so
//! they can never disagree: aligned tables (`tinyvrrp status`, SIGUSR1)
//! and JSON (`tinyvrrp status --json`, LuCI). Counter names follow RFC 8347
//! (`ietf-vrrp` statistics) where it has one.

use core::fmt::{self, Write};
use core::net::IpAddr;
use core::time::Duration;

use super::{FifoStatus, GroupStatus, InstanceStatus, LinkStatus, ScriptStatus, Snapshot};
use crate::proto::fsm::{AdvertDrop, Health};
use crate::proto::track::ScriptState;
use crate::proto::wire::RxError;

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

/// A record's fields in order, each under its key.
type Fields<'a> = Vec<(&'static str, Value<'a>)>;

/// A kind of record: its fields, then its counters (a separate object in
/// JSON and a separate table for people).
trait Record {
    /// What it is: the title of its tables' first column.
    fn kind(&self) -> &'static str;
    /// Its fields, its name (what identifies it) first.
    fn fields(&self) -> Fields<'_>;
    fn statistics(&self) -> Fields<'_> {
        Vec::new()
    }
}

fn optional<'a, T>(value: Option<T>, some: impl FnOnce(T) -> Value<'a>) -> Value<'a> {
    value.map_or(Value::Null, some)
}

impl Record for InstanceStatus<'_> {
    fn kind(&self) -> &'static str {
        "instance"
    }

    fn fields(&self) -> Fields<'_> {
        vec![
            ("name", Value::Text(self.name)),
            ("interface", Value::Text(self.interface)),
            ("vrid", Value::Number(self.vrid.into())),
            ("family", Value::Text(self.family.name())),
            ("version", Value::Number(self.version.number().into())),
            ("state", Value::Text(self.state.name())),
            ("in-state-ms", Value::Millis(self.in_state)),
            ("priority", Value::Number(self.priority.into())),
            ("base-priority", Value::Number(self.base_priority.into())),
            ("health", Value::Text(health_name(self.health))),
            ("group", optional(self.group, Value::Text)),
            ("master", optional(self.master, Value::Address)),
            ("vips", Value::Addresses(self.vips)),
            ("next-event-ms", optional(self.next_event, Value::Millis)),
        ]
    }

    fn statistics(&self) -> Fields<'_> {
        let c = self.counters;
        let mut fields = vec![
            ("discontinuity-datetime", Value::Date(c.since)),
            ("master-transitions", Value::Number(c.master_transitions)),
            ("advertisement-rcvd", Value::Number(c.adverts_rx)),
            ("advertisement-sent", Value::Number(c.adverts_tx)),
            ("priority-zero-pkts-rcvd", Value::Number(c.priority_zero_rx)),
            ("priority-zero-pkts-sent", Value::Number(c.priority_zero_tx)),
        ];
        fields.extend(
            AdvertDrop::ALL.map(|reason| (reason.name(), Value::Number(c.drops[reason.index()]))),
        );
        fields.extend([
            (
                "lower-priority-pkts-rcvd",
                Value::Number(c.lower_priority_rx),
            ),
            ("send-errors", Value::Number(c.send_errors)),
            (
                "checksum-form-mismatches",
                Value::Number(c.checksum_form_mismatch),
            ),
        ]);
        fields
    }
}

impl Record for LinkStatus<'_> {
    fn kind(&self) -> &'static str {
        "interface"
    }

    fn fields(&self) -> Fields<'_> {
        vec![
            ("name", Value::Text(self.name)),
            ("family", Value::Text(self.family.name())),
            ("primary", Value::Address(self.primary)),
            ("link", Value::Text(if self.up { "up" } else { "down" })),
        ]
    }

    fn statistics(&self) -> Fields<'_> {
        let errors = &self.counters.errors;
        let mut fields = vec![("vrid-errors", Value::Number(self.counters.unknown_vrid))];
        fields.extend(
            RxError::ALL.map(|reason| (reason.name(), Value::Number(errors[reason.index()]))),
        );
        fields
    }
}

impl Record for GroupStatus<'_> {
    fn kind(&self) -> &'static str {
        "group"
    }

    fn fields(&self) -> Fields<'_> {
        vec![
            ("name", Value::Text(self.name)),
            ("state", optional(self.state, |s| Value::Text(s.name()))),
        ]
    }
}

impl Record for ScriptStatus<'_> {
    fn kind(&self) -> &'static str {
        "script"
    }

    fn fields(&self) -> Fields<'_> {
        let state = match self.state {
            ScriptState::Pending => "PENDING",
            ScriptState::Ok => "OK",
            ScriptState::Ko => "KO",
        };
        let c = self.counters;
        vec![
            ("name", Value::Text(self.name)),
            ("state", Value::Text(state)),
            ("runs", Value::Number(c.runs)),
            ("failures", Value::Number(c.failures)),
            ("timeouts", Value::Number(c.timeouts)),
            ("skipped", Value::Number(c.skipped)),
        ]
    }
}

impl Record for FifoStatus<'_> {
    fn kind(&self) -> &'static str {
        "notify-fifo"
    }

    fn fields(&self) -> Fields<'_> {
        vec![
            ("path", Value::Text(self.path)),
            ("lines-lost", Value::Number(self.lines_lost)),
        ]
    }
}

/// How status names a health.
fn health_name(health: Health) -> &'static str {
    match health {
        Health::Healthy => "ok",
        Health::Pending => "pending",
        Health::Fault => "fault",
    }
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
            for (i, address) in list.iter().enumerate() {
                let comma = if i == 0 { "" } else { "," };
                let _ = write!(out, "{comma}{address}");
            }
            Ok(())
        }
        Value::Millis(d) if seconds => write!(out, "{}.{:03}s", d.as_secs(), d.subsec_millis()),
        Value::Millis(d) => write!(out, "{}", d.as_secs() * 1000 + u64::from(d.subsec_millis())),
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
    out.push('"');
    for c in text.chars() {
        let _ = match c {
            '"' | '\\' => write!(out, "\\{c}"),
            c if c < ' ' => write!(out, "\\u{:04x}", c as u32),
            c => out.write_char(c),
        };
    }
    out.push('"');
}

fn write_json_value(out: &mut String, value: Value<'_>) {
    match value {
        Value::Text(text) => write_json_string(out, text),
        Value::Null => out.push_str("null"),
        Value::Address(address) => {
            let _ = write!(out, "\"{address}\"");
        }
        Value::Addresses(list) => {
            out.push('[');
            for (i, address) in list.iter().enumerate() {
                let comma = if i == 0 { "" } else { "," };
                let _ = write!(out, "{comma}\"{address}\"");
            }
            out.push(']');
        }
        Value::Date(_) => {
            out.push('"');
            write_text(out, value, false);
            out.push('"');
        }
        Value::Number(_) | Value::Millis(_) => write_text(out, value, false),
    }
}

/// `{"key":value,...}`; open (no closing brace) with `open`.
fn json_object(out: &mut String, fields: Fields<'_>, open: bool) {
    out.push('{');
    for (i, (key, value)) in fields.into_iter().enumerate() {
        let comma = if i == 0 { "" } else { "," };
        let _ = write!(out, "{comma}\"{key}\":");
        write_json_value(out, value);
    }
    if !open {
        out.push('}');
    }
}

/// `"KEY":[{fields...,"statistics":{...}},...]` for a list of records.
fn json_list(out: &mut String, key: &str, records: &[&dyn Record], statistics: bool) {
    let _ = write!(out, "\"{key}\":[");
    for (i, record) in records.iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        json_object(out, record.fields(), statistics);
        if statistics {
            out.push_str(",\"statistics\":");
            json_object(out, record.statistics(), false);
            out.push('}');
        }
    }
    out.push(']');
}

/// Rows of cells, printed with each column as wide as its widest cell.
fn write_table(out: &mut String, rows: &[Vec<String>]) {
    let columns = rows.iter().map(Vec::len).max().unwrap_or(0);
    let widths: Vec<usize> = (0..columns)
        .map(|c| {
            rows.iter()
                .filter_map(|r| r.get(c))
                .map(String::len)
                .max()
                .unwrap_or(0)
        })
        .collect();
    for row in rows {
        let mut line = String::new();
        for (cell, width) in row.iter().zip(&widths) {
            let _ = write!(line, "{cell:<width$}  ");
        }
        out.push_str(line.trim_end());
        out.push('\n');
    }
}

/// One table of the records' fields (a header row of keys, a row each),
/// then, if they have counters, one with a row per counter and a column
/// per record.
fn tables(out: &mut String, records: &[&dyn Record]) {
    let Some(kind) = records.first().map(|r| r.kind()) else {
        return;
    };
    let cell = |value| {
        let mut cell = String::new();
        write_text(&mut cell, value, true);
        cell
    };
    let mut rows: Vec<Vec<String>> = Vec::new();
    let mut counters: Vec<Vec<String>> = Vec::new();
    for record in records {
        let fields = record.fields();
        if rows.is_empty() {
            let keys = fields.iter().map(|&(key, _)| key.to_ascii_uppercase());
            rows.push(keys.collect());
            rows[0][0] = kind.to_ascii_uppercase();
            counters.push(vec![kind.to_string()]);
        }
        counters[0].push(cell(fields[0].1));
        rows.push(fields.into_iter().map(|(_, value)| cell(value)).collect());
        for (i, (key, value)) in record.statistics().into_iter().enumerate() {
            if counters.len() <= i + 1 {
                counters.push(vec![key.to_string()]);
            }
            counters[i + 1].push(cell(value));
        }
    }
    write_table(out, &rows);
    out.push('\n');
    if counters.len() > 1 {
        write_table(out, &counters);
        out.push('\n');
    }
}

/// The records as trait objects: one copy of the code that walks them.
fn dyns<R: Record>(records: &[R]) -> Vec<&dyn Record> {
    records.iter().map(|r| r as &dyn Record).collect()
}

impl Snapshot<'_> {
    /// Every kind of record, in the order status shows them.
    fn records(&self) -> [Vec<&dyn Record>; 5] {
        [
            dyns(&self.instances),
            dyns(&self.links),
            dyns(&self.groups),
            dyns(&self.scripts),
            dyns(self.fifo.as_slice()),
        ]
    }

    /// The JSON document of README's "Status", on one line.
    pub fn json(&self) -> String {
        let mut out = String::from("{");
        let [instances, links, groups, scripts, fifo] = self.records();
        json_list(&mut out, "instances", &instances, true);
        out.push(',');
        json_list(&mut out, "interfaces", &links, true);
        out.push(',');
        json_list(&mut out, "groups", &groups, false);
        out.push(',');
        json_list(&mut out, "scripts", &scripts, false);
        out.push_str(",\"notify-fifo\":");
        match fifo.first() {
            Some(fifo) => json_object(&mut out, fifo.fields(), false),
            None => out.push_str("null"),
        }
        out.push_str("}\n");
        out
    }

    /// Aligned tables for people.
    pub fn tables(&self) -> String {
        let mut out = String::new();
        for records in self.records() {
            tables(&mut out, &records);
        }
        out
    }
}
