//! The encoders the stdout and file outputs share: a [`LogRecord`] as one JSON object per
//! line ([`encode_log`]), a [`Metric`] as line protocol or as a JSON object
//! ([`encode_metric_json`]), and [`encode_batch`], which encodes a whole [`Batch`] and tallies
//! what it had to leave out ([`BatchStats`]).
//!
//! A log line looks like
//! `{"timestamp":"2023-11-14T22:13:20.123456789Z","stream":"stdout","message":"...","file":"/x.log","line":42}`:
//! - `timestamp` is RFC 3339 in UTC with nine fractional digits ([`write_rfc3339`]);
//! - `message` is the body; invalid UTF-8 is replaced by U+FFFD and
//!   `"message_invalid_utf8":true` is added after it;
//! - attributes follow in their order, typed (numbers, booleans, strings; NaN and ±Inf become
//!   `null`, as `json.rs` writes every value). An attribute whose key is one of the four keys above is written as
//!   `attr_<key>`. Duplicate attribute keys are written as they are.
//!
//! Everything here is pure and writes straight into the caller's buffer through
//! `json.rs` (its float rule: `3.0`, `1e-7`, `1.5e+16`), without serde and without a
//! per-event allocation. [`encode_batch`] writes what repeats from record to record once per
//! batch and copies it (`LogLines`): the members of each shared attribute list (a syslog
//! sender's header: seven of a message's ten attributes, escaped once instead of per record)
//! and the date, hour and minute of the timestamps. Golden files live in
//! `testdata/json_lines/`.

#[cfg(test)]
mod tests;

use std::collections::HashMap;
use std::sync::Arc;

use gleaner_api::event::Attribute;
use gleaner_api::line_protocol::{EncodeOutcome, encode_metric};
use gleaner_api::{Batch, ComponentMetrics, FieldValue, LogRecord, Metric, SharedAttributes};
use serde::Deserialize;

use crate::json;

pub use gleaner_api::time::write_rfc3339;

/// The calendar arithmetic the tests check the writer against.
#[cfg(test)]
mod rfc3339 {
    pub(super) use gleaner_api::time::civil_from_days;
}

/// Drop reason for fields left out because their value is NaN or ±Inf (counts fields).
pub const REASON_NAN_OR_INF: &str = "nan_or_inf_field";
/// Drop reason for metrics left out because no field could be written (counts metrics).
pub const REASON_NO_FIELDS: &str = "no_fields";
/// Drop reason for fields left out because their key is made only of backslashes, which line
/// protocol cannot end a key with (counts fields).
pub const REASON_EMPTY_FIELD_KEY: &str = "empty_field_key";
/// Drop reason for tags left out because their key or value is made only of backslashes
/// (counts tags).
pub const REASON_EMPTY_TAG: &str = "empty_tag";
/// Drop reason for metrics left out because their measurement is made only of backslashes
/// (counts metrics).
pub const REASON_EMPTY_MEASUREMENT: &str = "empty_measurement";
/// Reason for names and tag values written without their trailing backslashes (counts
/// names and values; the metric is written).
pub const REASON_TRAILING_BACKSLASH: &str = "trailing_backslash";

/// Nanoseconds in a second.
const NANOS_PER_SEC: i64 = 1_000_000_000;

/// Keys of a log line that attributes may not take; such attributes get an `attr_` prefix.
const RESERVED_LOG_KEYS: [&str; 4] = ["timestamp", "stream", "message", "message_invalid_utf8"];

/// How metrics are rendered (logs are always JSON lines).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum MetricFormat {
    /// InfluxDB line protocol, one line per metric.
    #[default]
    Influx,
    /// One JSON object per line (see [`encode_metric_json`]).
    Json,
}

/// What [`encode_batch`] wrote and what it left out.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct BatchStats {
    /// Events written (one line each).
    pub written: u64,
    /// Fields left out because their value was NaN or ±Inf.
    pub nan_or_inf_fields: u64,
    /// Metrics left out because none of their fields could be written.
    pub no_fields: u64,
    /// Line protocol's trailing-backslash trims ([`TrimStats`]).
    pub trims: TrimStats,
}

/// What line protocol's trimming of trailing backslashes dropped or altered (see
/// `gleaner_api::line_protocol::EncodeOutcome`), shared by every line-protocol output.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct TrimStats {
    /// Fields whose key is made only of backslashes.
    pub empty_field_keys: u64,
    /// Tags whose key or value is made only of backslashes.
    pub empty_tags: u64,
    /// Metrics whose measurement is made only of backslashes.
    pub empty_measurements: u64,
    /// Names and tag values written without their trailing backslashes.
    pub trimmed: u64,
}

impl TrimStats {
    /// Adds one metric's outcome, warning the first time its series is altered.
    pub fn add(&mut self, metric: &Metric, o: &EncodeOutcome) {
        self.empty_field_keys += o.empty_field_keys as u64;
        self.empty_tags += o.empty_tags as u64;
        self.empty_measurements += u64::from(o.empty_measurement);
        self.trimmed += o.trimmed as u64;
        if o.altered() {
            crate::altered::warn_once_per_series(metric, o);
        }
    }

    /// Counts them into an output's counters, each under its own reason.
    pub fn record(&self, metrics: &ComponentMetrics) {
        metrics.dropped(REASON_EMPTY_FIELD_KEY, self.empty_field_keys);
        metrics.dropped(REASON_EMPTY_TAG, self.empty_tags);
        metrics.dropped(REASON_EMPTY_MEASUREMENT, self.empty_measurements);
        metrics.dropped(REASON_TRAILING_BACKSLASH, self.trimmed);
    }
}

impl BatchStats {
    /// Counts what was left out into an output's counters, under [`REASON_NAN_OR_INF`] and
    /// [`REASON_NO_FIELDS`].
    /// Returns the number of whole events left out.
    pub fn record(&self, metrics: &ComponentMetrics) -> usize {
        metrics.dropped(REASON_NAN_OR_INF, self.nan_or_inf_fields);
        metrics.dropped(REASON_NO_FIELDS, self.no_fields);
        self.trims.record(metrics);
        (self.no_fields + self.trims.empty_measurements) as usize
    }

    fn add(&mut self, metric: &Metric, outcome: EncodeOutcome) {
        self.written += u64::from(outcome.written);
        self.nan_or_inf_fields += outcome.dropped_fields as u64;
        self.no_fields += u64::from(!outcome.written && !outcome.empty_measurement);
        self.trims.add(metric, &outcome);
    }
}

/// Appends every event of `batch` to `buf`, one line each: metrics in `format`, logs as JSON
/// lines.
pub fn encode_batch(batch: &Batch, format: MetricFormat, buf: &mut Vec<u8>) -> BatchStats {
    let mut stats = BatchStats::default();
    match batch {
        Batch::Metrics(metrics) => {
            for m in metrics {
                let outcome = match format {
                    MetricFormat::Influx => encode_metric(m, buf),
                    MetricFormat::Json => encode_metric_json(m, buf),
                };
                stats.add(m, outcome);
            }
        }
        Batch::Logs(logs) => {
            let mut lines = LogLines::default();
            for r in logs {
                lines.encode(r, buf);
                stats.written += 1;
            }
        }
    }
    stats
}

/// Appends `record` as one JSON object and a `\n` (the shape is in the module doc).
pub fn encode_log(record: &LogRecord, buf: &mut Vec<u8>) {
    buf.extend_from_slice(b"{\"timestamp\":\"");
    write_rfc3339(record.timestamp, buf);
    write_log_after_timestamp(record, buf, |buf, list| write_members(buf, list));
}

/// The rest of a record's line after its timestamp's digits; `shared` writes the members of
/// the record's shared attribute list.
fn write_log_after_timestamp(
    record: &LogRecord,
    buf: &mut Vec<u8>,
    shared: impl FnOnce(&mut Vec<u8>, &SharedAttributes),
) {
    buf.extend_from_slice(b"\",\"stream\":\"");
    buf.extend_from_slice(record.stream.as_str().as_bytes());
    buf.extend_from_slice(b"\",\"message\":");
    if json::write_bytes_lossy(buf, &record.body) {
        buf.extend_from_slice(b",\"message_invalid_utf8\":true");
    }
    if let Some(list) = record.attributes.shared_arc() {
        shared(buf, list);
    }
    write_members(buf, record.attributes.own_part());
    buf.extend_from_slice(b"}\n");
}

/// Appends `,"key":value` for each attribute.
fn write_members(buf: &mut Vec<u8>, attributes: &[Attribute]) {
    for (key, value) in attributes {
        buf.extend_from_slice(b",\"");
        if RESERVED_LOG_KEYS.contains(&key.as_str()) {
            buf.extend_from_slice(b"attr_");
        }
        json::write_escaped(buf, key);
        buf.extend_from_slice(b"\":");
        json::write_value(buf, value);
    }
}

/// Log records of one batch as JSON lines, written as [`encode_log`] writes them, with what
/// repeats from record to record written once: the members of each shared attribute list
/// (a syslog sender's header, a file's path and pod), copied for every record that holds the
/// list, and the date, hour and minute of the timestamps. Lives for one batch: a list is
/// known by its address, which stays its own while the batch holds it.
#[derive(Default)]
struct LogLines {
    /// Each shared list written, by address: where its members are in `members`.
    lists: HashMap<usize, std::ops::Range<usize>, foldhash::fast::RandomState>,
    /// The list looked up last (records of one source come in runs).
    last: Option<(usize, std::ops::Range<usize>)>,
    members: Vec<u8>,
    /// The minute of the last timestamp written and its `YYYY-MM-DDTHH:MM:` text.
    minute: Option<(i64, [u8; 17])>,
}

impl LogLines {
    fn encode(&mut self, record: &LogRecord, buf: &mut Vec<u8>) {
        buf.extend_from_slice(b"{\"timestamp\":\"");
        self.write_timestamp(record.timestamp, buf);
        write_log_after_timestamp(record, buf, |buf, list| {
            let range = self.members_of(list);
            buf.extend_from_slice(&self.members[range]);
        });
    }

    /// Where the members of `list` are written in `self.members` (written now if not yet).
    fn members_of(&mut self, list: &SharedAttributes) -> std::ops::Range<usize> {
        let id = Arc::as_ptr(list).cast::<()>() as usize;
        if let Some((last, range)) = &self.last
            && *last == id
        {
            return range.clone();
        }
        let range = match self.lists.get(&id) {
            Some(range) => range.clone(),
            None => {
                let start = self.members.len();
                write_members(&mut self.members, list);
                let range = start..self.members.len();
                self.lists.insert(id, range.clone());
                range
            }
        };
        self.last = Some((id, range.clone()));
        range
    }

    /// [`write_rfc3339`], the part before the seconds copied while the minute stays.
    fn write_timestamp(&mut self, ns: i64, buf: &mut Vec<u8>) {
        let secs = ns.div_euclid(NANOS_PER_SEC);
        let minute = secs.div_euclid(60);
        match &self.minute {
            Some((m, head)) if *m == minute => {
                buf.extend_from_slice(head);
                let sec = secs.rem_euclid(60) as u8;
                buf.extend_from_slice(&[b'0' + sec / 10, b'0' + sec % 10, b'.']);
                let mut digits = [b'0'; 10];
                let mut nanos = ns.rem_euclid(NANOS_PER_SEC) as u32;
                for d in digits[..9].iter_mut().rev() {
                    *d = b'0' + (nanos % 10) as u8;
                    nanos /= 10;
                }
                digits[9] = b'Z';
                buf.extend_from_slice(&digits);
            }
            _ => {
                let start = buf.len();
                write_rfc3339(ns, buf);
                // Always 30 bytes: every i64 is a four-digit year.
                let mut head = [0u8; 17];
                if let Some(text) = buf.get(start..start + 17) {
                    head.copy_from_slice(text);
                    self.minute = Some((minute, head));
                }
            }
        }
    }
}

/// Appends `metric` as one JSON object and a `\n`:
/// `{"timestamp":"<RFC 3339>","name":"cpu","kind":"gauge","tags":{"cpu":"cpu0"},"fields":{"usage_idle":99.5}}`.
///
/// As with line protocol, NaN and ±Inf fields are left out (and counted in the outcome), and
/// a metric with no field left is not written at all.
pub fn encode_metric_json(metric: &Metric, buf: &mut Vec<u8>) -> EncodeOutcome {
    let finite = |v: &FieldValue| !matches!(v, FieldValue::Float(f) if !f.is_finite());
    let dropped_fields = metric.fields.iter().filter(|(_, v)| !finite(v)).count();
    if dropped_fields == metric.fields.len() {
        return EncodeOutcome {
            written: false,
            dropped_fields,
            ..EncodeOutcome::default()
        };
    }
    buf.extend_from_slice(b"{\"timestamp\":\"");
    write_rfc3339(metric.timestamp, buf);
    buf.extend_from_slice(b"\",\"name\":");
    json::write_str(buf, &metric.measurement);
    buf.extend_from_slice(b",\"kind\":\"");
    buf.extend_from_slice(metric.kind.as_str().as_bytes());
    buf.extend_from_slice(b"\",\"tags\":{");
    json::write_str_members(buf, &metric.tags, true);
    buf.extend_from_slice(b"},\"fields\":{");
    let mut first = true;
    for (k, v) in metric.fields.iter().filter(|(_, v)| finite(v)) {
        if !first {
            buf.push(b',');
        }
        first = false;
        json::write_str(buf, k);
        buf.push(b':');
        json::write_value(buf, v);
    }
    buf.extend_from_slice(b"}}\n");
    EncodeOutcome {
        written: true,
        dropped_fields,
        ..EncodeOutcome::default()
    }
}
