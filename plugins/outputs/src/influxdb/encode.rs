//! Pure encoding of a batch into the body of one InfluxDB write: line protocol, one line per
//! event, through the shared Telegraf-compatible encoder
//! ([`gleaner_api::line_protocol::encode_metric`]; its module doc lists every escape).
//!
//! What this layer adds:
//! - **precision**: the encoder writes nanoseconds; for a coarser `precision` the timestamp
//!   (the last token of the line) is rewritten, rounded towards −∞ as InfluxDB does;
//! - **unsigned integers** without `uint_support` are written as signed integers clamped at
//!   `i64::MAX` (Telegraf's `influx_uint_support = false`); InfluxDB 1.x rejects `u`. Such a
//!   metric is copied once to convert it (metrics without uints are not copied);
//! - **logs** become points of the `logs` measurement: tags `stream` (when known) and the
//!   attributes matching `logs_tag_attributes`; fields `message` (the body, invalid UTF-8
//!   replaced by U+FFFD, then `message_invalid_utf8=true`) and every other attribute with
//!   its type. An attribute named like a field we write gets an `attr_` prefix.
//!
//! Dropped and counted: NaN/±Inf fields (`nan_or_inf_field`, per field), metrics with no
//! writable field left (`no_fields`, per metric), and what trimming trailing backslashes
//! drops or alters (`empty_field_key`, `empty_tag`, `empty_measurement`,
//! `trailing_backslash`; see [`TrimStats`]), with a warning the first time a series is
//! altered.

use std::borrow::Cow;

use gleaner_api::line_protocol::{EncodeOutcome, Precision, encode_metric, write_timestamp};
use gleaner_api::{Batch, ComponentMetrics, FieldValue, LogRecord, Metric, Stream};

use crate::attr_glob::AttrGlobs;
use crate::json_lines::{REASON_NAN_OR_INF, REASON_NO_FIELDS, TrimStats};

/// How events become lines.
#[derive(Debug, Clone)]
pub(crate) struct Encoder {
    pub(crate) precision: Precision,
    pub(crate) uint_support: bool,
    pub(crate) logs_measurement: String,
    pub(crate) logs_tags: AttrGlobs,
}

/// What one call to [`Encoder::encode`] wrote and left out.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub(crate) struct EncodeStats {
    /// Lines written.
    pub(crate) written: u64,
    /// Fields left out (NaN, ±Inf, empty key).
    pub(crate) nan_or_inf_fields: u64,
    /// Events left out (no writable field).
    pub(crate) no_fields: u64,
    /// Trailing-backslash trims.
    pub(crate) trims: TrimStats,
}

impl EncodeStats {
    fn add(&mut self, m: &Metric, o: EncodeOutcome) {
        self.written += u64::from(o.written);
        self.nan_or_inf_fields += o.dropped_fields as u64;
        self.no_fields += u64::from(!o.written && !o.empty_measurement);
        self.trims.add(m, &o);
    }

    /// Counts what was left out.
    /// Returns the number of whole events left out.
    pub(crate) fn record(&self, metrics: &ComponentMetrics) -> usize {
        metrics.dropped(REASON_NAN_OR_INF, self.nan_or_inf_fields);
        metrics.dropped(REASON_NO_FIELDS, self.no_fields);
        self.trims.record(metrics);
        (self.no_fields + self.trims.empty_measurements) as usize
    }
}

/// Field names of a log point that attributes may not take.
const LOG_FIELDS: [&str; 2] = ["message", "message_invalid_utf8"];

impl Encoder {
    /// Appends one line per writable event of `batch` to `buf`.
    pub(crate) fn encode(&self, batch: &Batch, buf: &mut Vec<u8>) -> EncodeStats {
        let mut stats = EncodeStats::default();
        match batch {
            Batch::Metrics(metrics) => {
                for m in metrics {
                    let m = self.convert_uints(m);
                    let outcome = self.line(&m, buf);
                    stats.add(&m, outcome);
                }
            }
            Batch::Logs(logs) => {
                for r in logs {
                    let m = self.log_point(r);
                    let outcome = self.line(&m, buf);
                    stats.add(&m, outcome);
                }
            }
        }
        stats
    }

    /// Encodes one metric, rewriting the timestamp for a coarse precision.
    fn line(&self, m: &Metric, buf: &mut Vec<u8>) -> EncodeOutcome {
        let start = buf.len();
        let outcome = encode_metric(m, buf);
        if outcome.written && self.precision != Precision::Nanoseconds {
            // The line ends with ` <ns>\n`; the timestamp has no space in it.
            let ts_at = buf[start..]
                .iter()
                .rposition(|&b| b == b' ')
                .map_or(buf.len(), |i| start + i + 1);
            buf.truncate(ts_at);
            write_timestamp(buf, m.timestamp, self.precision);
            buf.push(b'\n');
        }
        outcome
    }

    fn convert_uints<'a>(&self, m: &'a Metric) -> Cow<'a, Metric> {
        let has_uint = m
            .fields
            .iter()
            .any(|(_, v)| matches!(v, FieldValue::UInt(_)));
        if self.uint_support || !has_uint {
            return Cow::Borrowed(m);
        }
        let mut m = m.clone();
        for (_, v) in &mut m.fields {
            if let FieldValue::UInt(u) = *v {
                *v = FieldValue::Int(i64::try_from(u).unwrap_or(i64::MAX));
            }
        }
        Cow::Owned(m)
    }

    /// The point a log record is written as (see the module doc).
    pub(crate) fn log_point(&self, r: &LogRecord) -> Metric {
        let mut m = Metric::new(self.logs_measurement.as_str(), r.timestamp);
        let message = String::from_utf8_lossy(&r.body);
        let invalid = matches!(message, Cow::Owned(_));
        m.fields
            .push(("message".to_owned(), FieldValue::String(message.into())));
        if invalid {
            m.fields
                .push(("message_invalid_utf8".to_owned(), FieldValue::Bool(true)));
        }
        for (k, v) in &r.attributes {
            if self.logs_tags.matches(k) {
                let value = match v {
                    FieldValue::String(s) => s.to_string(),
                    other => other.to_string(),
                };
                m.insert_tag(k.to_string_owned(), value);
            } else {
                let value = match v {
                    FieldValue::UInt(u) if !self.uint_support => {
                        FieldValue::Int(i64::try_from(*u).unwrap_or(i64::MAX))
                    }
                    other => other.clone(),
                };
                let key = if LOG_FIELDS.contains(&k.as_str()) {
                    format!("attr_{k}")
                } else {
                    k.to_string_owned()
                };
                m.fields.push((key, value));
            }
        }
        if r.stream != Stream::Unknown {
            m.insert_tag_if_absent("stream", r.stream.as_str());
        }
        m
    }
}
