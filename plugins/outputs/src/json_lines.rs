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
//!   `null`). An attribute whose key is one of the four keys above is written as
//!   `attr_<key>`. Duplicate attribute keys are written as they are.
//!
//! Everything here is pure and writes straight into the caller's buffer, without serde and
//! without a per-event allocation. Golden files live in `testdata/json_lines/`.

pub(crate) mod json;
mod rfc3339;
#[cfg(test)]
mod tests;

use gleaner_api::line_protocol::{EncodeOutcome, encode_metric};
use gleaner_api::{Batch, ComponentMetrics, FieldValue, LogRecord, Metric};
use serde::Deserialize;

pub use rfc3339::write_rfc3339;

/// Drop reason for fields left out because their value is NaN or ±Inf (counts fields).
pub const REASON_NAN_OR_INF: &str = "nan_or_inf_field";
/// Drop reason for metrics left out because no field could be written (counts metrics).
pub const REASON_NO_FIELDS: &str = "no_fields";

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
}

impl BatchStats {
    /// Counts what was left out into an output's counters, under [`REASON_NAN_OR_INF`] and
    /// [`REASON_NO_FIELDS`].
    /// Returns the number of whole events left out.
    pub fn record(&self, metrics: &ComponentMetrics) -> usize {
        metrics.dropped(REASON_NAN_OR_INF, self.nan_or_inf_fields);
        metrics.dropped(REASON_NO_FIELDS, self.no_fields);
        self.no_fields as usize
    }

    fn add(&mut self, outcome: EncodeOutcome) {
        self.written += u64::from(outcome.written);
        self.nan_or_inf_fields += outcome.dropped_fields as u64;
        self.no_fields += u64::from(!outcome.written);
    }
}

/// Appends every event of `batch` to `buf`, one line each: metrics in `format`, logs as JSON
/// lines.
pub fn encode_batch(batch: &Batch, format: MetricFormat, buf: &mut Vec<u8>) -> BatchStats {
    let mut stats = BatchStats::default();
    match batch {
        Batch::Metrics(metrics) => {
            for m in metrics {
                stats.add(match format {
                    MetricFormat::Influx => encode_metric(m, buf),
                    MetricFormat::Json => encode_metric_json(m, buf),
                });
            }
        }
        Batch::Logs(logs) => {
            for r in logs {
                encode_log(r, buf);
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
    buf.extend_from_slice(b"\",\"stream\":\"");
    buf.extend_from_slice(record.stream.as_str().as_bytes());
    buf.extend_from_slice(b"\",\"message\":");
    if json::write_bytes_lossy(buf, &record.body) {
        buf.extend_from_slice(b",\"message_invalid_utf8\":true");
    }
    for (key, value) in &record.attributes {
        buf.extend_from_slice(b",\"");
        if RESERVED_LOG_KEYS.contains(&key.as_str()) {
            buf.extend_from_slice(b"attr_");
        }
        json::write_escaped(buf, key);
        buf.extend_from_slice(b"\":");
        json::write_value(buf, value);
    }
    buf.extend_from_slice(b"}\n");
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
        };
    }
    buf.extend_from_slice(b"{\"timestamp\":\"");
    write_rfc3339(metric.timestamp, buf);
    buf.extend_from_slice(b"\",\"name\":");
    json::write_str(buf, &metric.measurement);
    buf.extend_from_slice(b",\"kind\":\"");
    buf.extend_from_slice(metric.kind.as_str().as_bytes());
    buf.extend_from_slice(b"\",\"tags\":{");
    for (i, (k, v)) in metric.tags.iter().enumerate() {
        if i > 0 {
            buf.push(b',');
        }
        json::write_str(buf, k);
        buf.push(b':');
        json::write_str(buf, v);
    }
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
    }
}
