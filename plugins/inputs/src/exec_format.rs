//! The `data_format` of `inputs.exec` and `inputs.execd`: how a program's standard output
//! becomes events. Four formats, Telegraf's names:
//!
//! - `influx`: InfluxDB line protocol (`gleaner_api::line_protocol`, as `inputs.http_listener`
//!   reads it); lines without a timestamp take the time the output was read;
//! - `prometheus`: the text exposition format (`inputs.prometheus`'s parser and metric
//!   layout: measurement `prometheus`, one field named as the series, labels as tags); a page
//!   that does not parse is rejected whole;
//! - `json`: a JSON object, or an array of them, per metric (Telegraf's `json` parser, kept
//!   minimal): numbers become float fields and booleans boolean fields, nested objects are
//!   flattened with `_` (`{"a":{"b":1}}` gives `a_b`; fields in key order), strings are
//!   left out unless listed in `tag_keys`; the measurement is the value of `json_name_key`, else the plugin's name;
//!   the time is `json_time_key` read as `json_time_format` (`unix`, `unix_ms`, `unix_us`,
//!   `unix_ns` or `rfc3339`), else the time it was read;
//! - `lines`: each line is a log record (stream `stdout`).
//!
//! What does not parse is counted (`malformed`), logged at warn with the first error, and
//! never stops the plugin. The `json_*` and `tag_keys` options are ignored by the other
//! formats. The keys are read apart from the plugin's own
//! ([`FormatOptions::parse`]), so both plugins share them.

mod json;
#[cfg(test)]
mod tests;

use gleaner_api::line_protocol::{Precision, parse_lines};
use gleaner_api::{Batch, ConfigError, LogRecord, Metric, PluginConfig, Stream, Tags, TagsBuilder};
use serde::Deserialize;

use crate::prometheus::{model, parse as prom};

pub(crate) use json::TimeFormat;

/// The keys of the data format, in every exec-like plugin's table.
pub(crate) const KEYS: [&str; 5] = [
    "data_format",
    "json_name_key",
    "tag_keys",
    "json_time_key",
    "json_time_format",
];

/// Drop reason for output that does not parse (lines, pages or documents).
pub(crate) const REASON_MALFORMED: &str = "malformed";

/// The data format keys as written.
#[derive(Debug, Default, PartialEq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub(crate) struct FormatKeys {
    /// `influx`, `prometheus`, `json` or `lines`.
    data_format: Kind,
    /// JSON: the key whose string value names the measurement.
    json_name_key: String,
    /// JSON: keys whose values become tags.
    tag_keys: Vec<String>,
    /// JSON: the key holding the time.
    json_time_key: String,
    /// JSON: how that time is written.
    json_time_format: TimeFormat,
}

/// The format's name.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub(crate) enum Kind {
    /// Line protocol.
    #[default]
    Influx,
    /// Prometheus text exposition.
    Prometheus,
    /// JSON objects.
    Json,
    /// Log lines.
    Lines,
}

/// The validated format.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct FormatOptions {
    pub(crate) kind: Kind,
    json: json::JsonOptions,
}

impl FormatOptions {
    /// Reads the format keys of `cfg`; `default_name` is the JSON measurement without
    /// `json_name_key` (the plugin's name, as Telegraf names it).
    pub(crate) fn parse(cfg: &PluginConfig, default_name: &str) -> Result<Self, ConfigError> {
        let raw: FormatKeys = cfg.only(&KEYS).parse()?;
        Ok(FormatOptions {
            kind: raw.data_format,
            json: json::JsonOptions {
                default_name: default_name.to_owned(),
                name_key: raw.json_name_key,
                tag_keys: raw.tag_keys,
                time_key: raw.json_time_key,
                time_format: raw.json_time_format,
            },
        })
    }

    /// Parses `text` (a whole output, a page, a line or a document) read at `now` (ns).
    pub(crate) fn parse_output(&self, text: &[u8], now: i64) -> Parsed {
        match self.kind {
            Kind::Influx => {
                let out = parse_lines(text, Precision::Nanoseconds, now);
                Parsed {
                    batch: Batch::Metrics(out.metrics),
                    errors: out.errors.len(),
                    first_error: out.errors.into_iter().next().map(|e| e.message),
                }
            }
            Kind::Prometheus => prometheus(text, now),
            Kind::Json => {
                let (metrics, error) = self.json.parse(text, now);
                Parsed {
                    batch: Batch::Metrics(metrics),
                    errors: usize::from(error.is_some()),
                    first_error: error,
                }
            }
            Kind::Lines => {
                let logs = text
                    .split(|&b| b == b'\n')
                    .map(|l| l.strip_suffix(b"\r").unwrap_or(l))
                    .filter(|l| !l.is_empty())
                    .map(|l| LogRecord::new(now, l, Stream::Stdout))
                    .collect();
                Parsed {
                    batch: Batch::Logs(logs),
                    errors: 0,
                    first_error: None,
                }
            }
        }
    }
}

/// What an output gave.
#[derive(Debug)]
pub(crate) struct Parsed {
    /// Its events (metrics, or logs for `lines`).
    pub(crate) batch: Batch,
    /// Lines, pages or documents that did not parse.
    pub(crate) errors: usize,
    /// The first of them, to log.
    pub(crate) first_error: Option<String>,
}

/// A text exposition page; rejected whole when it does not parse.
fn prometheus(text: &[u8], now: i64) -> Parsed {
    let mut metrics: Vec<Metric> = Vec::new();
    let mut builder = TagsBuilder::new();
    let parsed = prom::parse(text, prom::Format::Text, &mut |s| {
        metrics.push(model::metric(
            s.name,
            s.value,
            s.timestamp_ns.unwrap_or(now),
            model::kind(s.family_type),
            model::tags(s, &Tags::new(), false, &mut builder),
        ));
    });
    match parsed {
        Ok(_) => Parsed {
            batch: Batch::Metrics(metrics),
            errors: 0,
            first_error: None,
        },
        Err(e) => Parsed {
            batch: Batch::Metrics(Vec::new()),
            errors: 1,
            first_error: Some(format!("prometheus text: {e}")),
        },
    }
}
