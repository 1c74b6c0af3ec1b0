//! Pure encoding of a batch into the body of one request, in the configured [`Format`]:
//!
//! - `ndjson`: one JSON object per line, as `outputs.file` and `outputs.stdout` write them
//!   (`json_lines`: a log record `{"timestamp":..,"stream":..,"message":..,<attributes>}`, a
//!   metric `{"timestamp":..,"name":..,"kind":..,"tags":{..},"fields":{..}}`);
//! - `json_array`: the same objects as one JSON array, `[{..},{..}]`;
//! - `influx`: InfluxDB line protocol, as `outputs.influxdb` writes it with its defaults
//!   (nanosecond timestamps, unsigned integers as signed ones clamped at 2^63-1, logs as
//!   points of the `logs` measurement).
//!
//! What cannot be written is left out and counted under the writers' reasons (NaN and ±Inf
//! fields, metrics with no field left, trimmed names); a batch with nothing left makes an
//! empty body, which is not sent.

use gleaner_api::line_protocol::Precision;
use gleaner_api::{Batch, ComponentMetrics};

use super::config::Format;
use crate::attr_glob::AttrGlobs;
use crate::influxdb::encode as influx;
use crate::json_lines::{self, MetricFormat};

/// How events become a body.
#[derive(Debug, Clone)]
pub(crate) enum Encoder {
    /// `ndjson` or `json_array` (`array`).
    Json { array: bool },
    /// `influx`.
    Influx(influx::Encoder),
}

impl Encoder {
    pub(crate) fn new(format: Format) -> Encoder {
        match format {
            Format::Ndjson => Encoder::Json { array: false },
            Format::JsonArray => Encoder::Json { array: true },
            Format::Influx => Encoder::Influx(influx::Encoder {
                precision: Precision::Nanoseconds,
                uint_support: false,
                logs_measurement: "logs".to_owned(),
                logs_tags: AttrGlobs::new(Vec::new()),
            }),
        }
    }

    /// Appends the body of `batch` to `buf`; returns the events left out, counted in
    /// `metrics`.
    pub(crate) fn encode(
        &self,
        batch: &Batch,
        buf: &mut Vec<u8>,
        metrics: &ComponentMetrics,
    ) -> usize {
        match self {
            Encoder::Influx(e) => e.encode(batch, buf).record(metrics),
            Encoder::Json { array: false } => {
                json_lines::encode_batch(batch, MetricFormat::Json, buf).record(metrics)
            }
            Encoder::Json { array: true } => {
                let start = buf.len();
                buf.push(b'[');
                let stats = json_lines::encode_batch(batch, MetricFormat::Json, buf);
                if stats.written == 0 {
                    buf.truncate(start);
                } else {
                    // Each object ends with a newline (newlines inside strings are escaped):
                    // they become the commas between the objects, the last one the `]`.
                    for b in &mut buf[start + 1..] {
                        if *b == b'\n' {
                            *b = b',';
                        }
                    }
                    if let Some(last) = buf.last_mut() {
                        *last = b']';
                    }
                }
                stats.record(metrics)
            }
        }
    }
}
