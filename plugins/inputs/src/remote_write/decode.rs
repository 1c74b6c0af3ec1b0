//! Pure decoding of a remote-write 1.0 body: snappy (block format), then the protobuf
//! `WriteRequest` (`gleaner_api::prompb`), then series to [`Metric`]s.
//!
//! The mapping is the exact reverse of `outputs.remote_write` (and the layout of
//! `inputs.prometheus`, Telegraf's `metric_version = 2`), so a series received and sent on
//! comes out identical:
//! - one metric per sample: measurement `prometheus`, one float field named as the series
//!   (the `__name__` label), holding the value bit for bit (a NaN stale marker included);
//! - tags: every other label, sorted by name in byte order; a label with an empty value is an
//!   absent label in Prometheus and is left out;
//! - timestamp: milliseconds to nanoseconds;
//! - kind: the family's type when the same request carries its `MetricMetadata` (Prometheus
//!   sends metadata in requests of their own, so usually untyped); a histogram's or
//!   summary's `_bucket`, `_sum` and `_count` series take their family's type.
//!
//! A request is taken whole or refused whole ([`DecodeError`], answered 400): a body that is
//! not snappy or not a `WriteRequest`, a series without a `__name__` (or an empty one), a
//! label name given twice, a label name or value that is not UTF-8 (protobuf strings), a
//! timestamp beyond what nanoseconds hold. Exemplars and native histograms are not taken:
//! they are counted ([`Decoded::exemplars`], [`Decoded::histograms`]) and the series'
//! samples still are.

use std::collections::HashMap;

use gleaner_api::prompb::{MetricType, TimeSeries, WriteRequest};
use gleaner_api::{FieldValue, Metric, MetricKind, Tags};
use prost::Message as _;

/// The measurement of every received metric (as `inputs.prometheus`).
pub const MEASUREMENT: &str = "prometheus";

/// Why a body was refused (nothing of it is delivered).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DecodeError {
    /// Not snappy block format.
    #[error("invalid snappy body: {0}")]
    Snappy(String),
    /// Decompressed, larger than the limit.
    #[error("decompressed body of {size} bytes is larger than max_body_size ({limit} bytes)")]
    TooLarge {
        /// Its decompressed size.
        size: u64,
        /// The limit.
        limit: u64,
    },
    /// Not a protobuf `WriteRequest`.
    #[error("invalid protobuf WriteRequest: {0}")]
    Protobuf(String),
    /// A series is not valid (no name, a label twice, a timestamp out of range).
    #[error("series {index}: {reason}")]
    Series {
        /// Its index in the request.
        index: usize,
        /// What is wrong with it.
        reason: &'static str,
    },
}

impl DecodeError {
    /// True for a body larger than the limit (413), false for a malformed one (400).
    pub fn is_too_large(&self) -> bool {
        matches!(self, DecodeError::TooLarge { .. })
    }
}

/// A valid request, ready to be turned into metrics piece by piece.
#[derive(Debug)]
pub struct Decoded {
    /// The series, each with its name found and its labels sorted.
    series: Vec<TimeSeries>,
    /// Family types from the request's metadata.
    types: HashMap<String, MetricKind>,
    /// Samples in all (the metrics [`Decoded::pieces`] yields).
    pub samples: usize,
    /// Exemplars left out.
    pub exemplars: usize,
    /// Native histograms left out.
    pub histograms: usize,
}

/// Decompresses a snappy body of at most `limit` bytes once decompressed.
///
/// # Errors
/// [`DecodeError::Snappy`] or [`DecodeError::TooLarge`].
pub fn decompress(body: &[u8], limit: u64) -> Result<Vec<u8>, DecodeError> {
    let size = decompressed_len(body)?;
    if size > limit {
        return Err(DecodeError::TooLarge { size, limit });
    }
    snap::raw::Decoder::new()
        .decompress_vec(body)
        .map_err(|e| DecodeError::Snappy(e.to_string()))
}

/// The decompressed size a snappy body announces in its header.
///
/// # Errors
/// [`DecodeError::Snappy`] when the header is not valid.
pub fn decompressed_len(body: &[u8]) -> Result<u64, DecodeError> {
    snap::raw::decompress_len(body)
        .map(|n| n as u64)
        .map_err(|e| DecodeError::Snappy(e.to_string()))
}

/// Decodes and checks a decompressed `WriteRequest`.
///
/// # Errors
/// [`DecodeError::Protobuf`] or [`DecodeError::Series`].
pub fn decode(protobuf: &[u8]) -> Result<Decoded, DecodeError> {
    let req = WriteRequest::decode(protobuf).map_err(|e| DecodeError::Protobuf(e.to_string()))?;
    check(req)
}

/// Checks the series of `req` (see the module doc) and sorts their labels.
///
/// # Errors
/// [`DecodeError::Series`] for the first invalid series.
pub fn check(req: WriteRequest) -> Result<Decoded, DecodeError> {
    let WriteRequest {
        mut timeseries,
        metadata,
    } = req;
    let (mut samples, mut exemplars, mut histograms) = (0, 0, 0);
    for (index, ts) in timeseries.iter_mut().enumerate() {
        let bad = |reason| DecodeError::Series { index, reason };
        ts.labels.retain(|l| !l.value.is_empty());
        ts.labels.sort_unstable_by(|a, b| a.name.cmp(&b.name));
        if ts.labels.windows(2).any(|w| w[0].name == w[1].name) {
            return Err(bad("a label name is given twice"));
        }
        if !ts.labels.iter().any(|l| l.name == "__name__") {
            return Err(bad("no __name__ label (or an empty one)"));
        }
        if ts.labels.iter().any(|l| l.name.is_empty()) {
            return Err(bad("a label has an empty name"));
        }
        if ts
            .samples
            .iter()
            .any(|s| s.timestamp.checked_mul(NS_PER_MS).is_none())
        {
            return Err(bad("a sample's timestamp is out of range"));
        }
        samples += ts.samples.len();
        exemplars += ts.exemplars.len();
        histograms += ts.histograms.len();
    }
    let types = metadata
        .into_iter()
        .filter_map(|m| {
            Some((
                m.metric_family_name,
                kind(MetricType::try_from(m.r#type).ok()?),
            ))
        })
        .collect();
    Ok(Decoded {
        series: timeseries,
        types,
        samples,
        exemplars,
        histograms,
    })
}

const NS_PER_MS: i64 = 1_000_000;

impl Decoded {
    /// The metrics of the request in pieces of at most `max` (at least 1), in request order;
    /// each series is let go once its metrics are made.
    pub fn pieces(self, max: usize) -> Pieces {
        Pieces {
            series: self.series.into_iter(),
            types: self.types,
            max: max.max(1),
            current: None,
        }
    }
}

/// Iterator of [`Decoded::pieces`].
#[derive(Debug)]
pub struct Pieces {
    series: std::vec::IntoIter<TimeSeries>,
    types: HashMap<String, MetricKind>,
    max: usize,
    /// The series being turned into metrics: name, tags, kind, samples left.
    current: Option<Current>,
}

#[derive(Debug)]
struct Current {
    name: String,
    tags: Tags,
    kind: MetricKind,
    samples: std::vec::IntoIter<gleaner_api::prompb::Sample>,
}

impl Iterator for Pieces {
    type Item = Vec<Metric>;

    fn next(&mut self) -> Option<Vec<Metric>> {
        let mut out = Vec::new();
        while out.len() < self.max {
            if self.current.is_none() {
                let Some(ts) = self.series.next() else { break };
                self.current = Some(current(ts, &self.types));
            }
            let Some(cur) = self.current.as_mut() else {
                break;
            };
            let Some(s) = cur.samples.next() else {
                self.current = None;
                continue;
            };
            // The last sample of a series takes its name and tags; earlier ones copy them.
            let (name, tags) = if cur.samples.len() == 0 {
                (std::mem::take(&mut cur.name), std::mem::take(&mut cur.tags))
            } else {
                (cur.name.clone(), cur.tags.clone())
            };
            out.push(Metric {
                measurement: MEASUREMENT.to_owned(),
                tags,
                fields: vec![(name, FieldValue::Float(s.value))],
                // In range: `check` refused a request where it is not.
                timestamp: s.timestamp.saturating_mul(NS_PER_MS),
                kind: cur.kind,
            });
        }
        (!out.is_empty()).then_some(out)
    }
}

/// Splits a checked series into its name and tags.
fn current(ts: TimeSeries, types: &HashMap<String, MetricKind>) -> Current {
    let mut name = String::new();
    let mut tags = Vec::with_capacity(ts.labels.len().saturating_sub(1));
    for l in ts.labels {
        if l.name == "__name__" {
            name = l.value;
        } else {
            tags.push((l.name, l.value));
        }
    }
    Current {
        kind: kind_of(&name, types),
        name,
        tags: Tags::from_unsorted(tags),
        samples: ts.samples.into_iter(),
    }
}

/// The kind of series `name` from the request's metadata (untyped when it has none).
fn kind_of(name: &str, types: &HashMap<String, MetricKind>) -> MetricKind {
    if types.is_empty() {
        return MetricKind::Untyped;
    }
    if let Some(k) = types.get(name) {
        return *k;
    }
    ["_bucket", "_sum", "_count"]
        .iter()
        .filter_map(|s| name.strip_suffix(s))
        .filter_map(|family| types.get(family))
        .find(|k| matches!(k, MetricKind::Histogram | MetricKind::Summary))
        .copied()
        .unwrap_or(MetricKind::Untyped)
}

/// The kind a metadata type maps to (as `inputs.prometheus` maps a family's type).
fn kind(t: MetricType) -> MetricKind {
    match t {
        MetricType::Counter => MetricKind::Counter,
        MetricType::Histogram => MetricKind::Histogram,
        MetricType::Summary => MetricKind::Summary,
        MetricType::Gauge
        | MetricType::Gaugehistogram
        | MetricType::Info
        | MetricType::Stateset => MetricKind::Gauge,
        MetricType::Unknown => MetricKind::Untyped,
    }
}
