//! What each kind of status record shows, field by field, in the order
//! both forms print it: the one list [`Writer`] turns into a table row or
//! a JSON object.

use super::render::{Value, Writer};
use super::{FifoStatus, GroupStatus, InstanceStatus, LinkStatus, ScriptStatus};
#[cfg(feature = "sync")]
use super::{SyncFileStatus, SyncStatus};
use crate::proto::fsm::{AdvertDrop, Health};
use crate::proto::track::ScriptState;
use crate::proto::wire::RxError;

fn optional<'a, T>(value: Option<T>, some: impl FnOnce(T) -> Value<'a>) -> Value<'a> {
    value.map_or(Value::Null, some)
}

impl InstanceStatus<'_> {
    // Not inlined: in `render`'s loop, LLVM kept each key's address
    // on the stack (size).
    #[inline(never)]
    pub(super) fn write(&self, w: &mut Writer) {
        w.field("name", Value::Text(self.name));
        w.field("interface", Value::Text(self.interface));
        w.field("vrid", Value::Number(self.vrid.into()));
        w.field("family", Value::Text(self.family.name()));
        w.field("version", Value::Number(self.version.number().into()));
        w.field("state", Value::Text(self.state.name()));
        w.field("in-state-ms", Value::Millis(self.in_state));
        w.field("priority", Value::Number(self.priority.into()));
        w.field("base-priority", Value::Number(self.base_priority.into()));
        w.field("health", Value::Text(health_name(self.health)));
        w.field("group", optional(self.group, Value::Text));
        w.field("master", optional(self.master, Value::Address));
        w.field("vips", Value::Addresses(self.vips));
        w.field("next-event-ms", optional(self.next_event, Value::Millis));
        let c = self.counters;
        w.statistics();
        w.field("discontinuity-datetime", Value::Date(c.since));
        w.field("master-transitions", Value::Number(c.master_transitions));
        w.field("advertisement-rcvd", Value::Number(c.adverts_rx));
        w.field("advertisement-sent", Value::Number(c.adverts_tx));
        w.field("priority-zero-pkts-rcvd", Value::Number(c.priority_zero_rx));
        w.field("priority-zero-pkts-sent", Value::Number(c.priority_zero_tx));
        for reason in AdvertDrop::ALL {
            w.field(reason.name(), Value::Number(c.drops[reason.index()]));
        }
        w.field(
            "lower-priority-pkts-rcvd",
            Value::Number(c.lower_priority_rx),
        );
        w.field("send-errors", Value::Number(c.send_errors));
        w.field(
            "checksum-form-mismatches",
            Value::Number(c.checksum_form_mismatch),
        );
    }
}

impl LinkStatus<'_> {
    // Not inlined: in `render`'s loop, LLVM kept each key's address
    // on the stack (size).
    #[inline(never)]
    pub(super) fn write(&self, w: &mut Writer) {
        w.field("name", Value::Text(self.name));
        w.field("family", Value::Text(self.family.name()));
        w.field("primary", Value::Address(self.primary));
        w.field("link", Value::Text(if self.up { "up" } else { "down" }));
        w.statistics();
        w.field("vrid-errors", Value::Number(self.counters.unknown_vrid));
        for reason in RxError::ALL {
            w.field(
                reason.name(),
                Value::Number(self.counters.errors[reason.index()]),
            );
        }
    }
}

impl GroupStatus<'_> {
    pub(super) fn write(&self, w: &mut Writer) {
        w.field("name", Value::Text(self.name));
        w.field("state", optional(self.state, |s| Value::Text(s.name())));
    }
}

impl ScriptStatus<'_> {
    pub(super) fn write(&self, w: &mut Writer) {
        let state = match self.state {
            ScriptState::Pending => "PENDING",
            ScriptState::Ok => "OK",
            ScriptState::Ko => "KO",
        };
        let c = self.counters;
        w.field("name", Value::Text(self.name));
        w.field("state", Value::Text(state));
        w.field("runs", Value::Number(c.runs));
        w.field("failures", Value::Number(c.failures));
        w.field("timeouts", Value::Number(c.timeouts));
        w.field("skipped", Value::Number(c.skipped));
    }
}

impl FifoStatus<'_> {
    pub(super) fn write(&self, w: &mut Writer) {
        w.field("path", Value::Text(self.path));
        w.field("lines-lost", Value::Number(self.lines_lost));
    }
}

#[cfg(feature = "sync")]
impl SyncStatus<'_> {
    pub(super) fn write(&self, w: &mut Writer) {
        w.field("name", Value::Text(self.name));
        w.field("instance", Value::Text(self.instance));
        w.field("port", Value::Number(self.port.into()));
        w.field("role", Value::Text(self.role));
        w.statistics();
        for &(name, count) in &self.drops {
            w.field(name, Value::Number(count));
        }
    }
}

#[cfg(feature = "sync")]
impl SyncFileStatus<'_> {
    pub(super) fn write(&self, w: &mut Writer) {
        w.field("path", Value::Text(self.path));
        w.field("sync", Value::Text(self.sync));
        w.field("digest", optional(self.digest.as_deref(), Value::Text));
        w.field("last-sync", optional(self.last_sync, Value::Date));
        w.statistics();
        w.field("bytes-sent", Value::Number(self.bytes_sent));
        w.field("bytes-received", Value::Number(self.bytes_received));
        w.field("errors", Value::Number(self.errors));
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
