//! Pure encoding of a batch of metrics into one remote-write `WriteRequest` (protobuf, not
//! yet compressed: snappy is applied in `client.rs`, so payloads stay concatenable — two
//! encoded requests back to back decode as one request with both series lists).
//!
//! Mapping from [`Metric`] to series (Telegraf's `prometheusremotewrite` serializer, with
//! `metric_version = 2` input in mind):
//! - name: the field name when the measurement is `prometheus` (what the Prometheus input
//!   and Telegraf's metric_version=2 produce: one field per sample, named as the series), else
//!   `<measurement>_<field>` (`cpu` + `usage_user` → `cpu_usage_user`);
//! - labels: the tags, plus `__name__`; names are sanitized to the Prometheus charset
//!   (invalid characters become `_`, a leading digit gets a `_` prefix; metric names keep
//!   `:`), labels with empty values are dropped, a tag named `__name__` is dropped, and when
//!   two tags sanitize to one name the first wins. Labels are sorted by byte order of the
//!   name, so `Zone` comes before `__name__`;
//! - value: floats as they are (NaN included, so a stale marker passes bit for bit),
//!   integers and unsigned integers as doubles, booleans as 0/1; string fields are skipped
//!   and counted (`string_field`); a metric left with no sample is counted (`no_fields`);
//! - timestamp: nanoseconds → milliseconds, rounded down.
//!
//! Round trip: a series scraped by `inputs.prometheus` (measurement `prometheus`, field =
//! series name, tags = its labels, already valid Prometheus names, empty values already
//! dropped) comes out with exactly its name, labels, value bits and millisecond timestamp;
//! `tests/prometheus_roundtrip.rs` checks it. The agent's own tags (`host`, `[agent.tags]`)
//! are added like any tag unless `omit_hostname` is set.
//!
//! Samples of one series are grouped in one `TimeSeries`, in timestamp order; two samples of
//! a series at the same millisecond keep the last one (Prometheus would reject the pair),
//! counted as `duplicate_sample`. With `metadata = true` each family's type is sent
//! (`MetricMetadata`; no HELP or unit: the event model carries none); histogram and summary
//! families are named without their `_bucket`/`_sum`/`_count` suffix.

use std::collections::BTreeSet;

use gleaner_api::{ComponentMetrics, FieldValue, Metric, MetricKind};
use prost::Message as _;

use super::proto::{Label, MetricMetadata, MetricType, Sample, TimeSeries, WriteRequest};
use crate::json_lines::REASON_NO_FIELDS;

/// Drop reason for string fields (counts fields).
pub(crate) const REASON_STRING_FIELD: &str = "string_field";
/// Drop reason for a sample overwritten by a later one of the same series and millisecond.
pub(crate) const REASON_DUPLICATE: &str = "duplicate_sample";

/// What one encode left out.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub(crate) struct EncodeStats {
    pub(crate) samples: u64,
    pub(crate) string_fields: u64,
    pub(crate) no_fields: u64,
    pub(crate) duplicates: u64,
}

impl EncodeStats {
    /// Returns the number of whole events (metrics) left out.
    pub(crate) fn record(&self, metrics: &ComponentMetrics) -> usize {
        metrics.dropped(REASON_STRING_FIELD, self.string_fields);
        metrics.dropped(REASON_NO_FIELDS, self.no_fields);
        metrics.dropped(REASON_DUPLICATE, self.duplicates);
        self.no_fields as usize
    }
}

/// Builds the `WriteRequest` of `metrics` and appends its protobuf encoding to `buf`.
pub(crate) fn encode(metrics: &[Metric], with_metadata: bool, buf: &mut Vec<u8>) -> EncodeStats {
    let (req, stats) = write_request(metrics, with_metadata);
    req.encode(buf)
        .expect("a Vec grows as needed, so encoding cannot run out of room");
    stats
}

/// One sample before grouping: its series is (`name`, labels of metric `metric`).
struct Point {
    name: String,
    metric: usize,
    sample: Sample,
}

/// The request for `metrics` (see the module doc for the mapping).
///
/// Label sets are built once per metric and once per series, not per sample: samples are
/// sorted by (name, base labels, time) through indices, then grouped.
pub(crate) fn write_request(
    metrics: &[Metric],
    with_metadata: bool,
) -> (WriteRequest, EncodeStats) {
    let mut stats = EncodeStats::default();
    let bases: Vec<Vec<Label>> = metrics.iter().map(base_labels).collect();
    let mut points: Vec<Point> = Vec::new();
    let mut families: BTreeSet<(String, MetricType)> = BTreeSet::new();
    for (mi, m) in metrics.iter().enumerate() {
        let mut any = false;
        for (field, value) in &m.fields {
            let v = match value {
                FieldValue::Float(f) => *f,
                FieldValue::Int(i) => *i as f64,
                FieldValue::UInt(u) => *u as f64,
                FieldValue::Bool(b) => f64::from(u8::from(*b)),
                FieldValue::String(_) => {
                    stats.string_fields += 1;
                    continue;
                }
            };
            let name = series_name(&m.measurement, field);
            if with_metadata {
                families.insert((family_name(&name, m.kind).to_owned(), metric_type(m.kind)));
            }
            points.push(Point {
                name,
                metric: mi,
                sample: Sample {
                    value: v,
                    timestamp: m.timestamp.div_euclid(1_000_000),
                },
            });
            any = true;
        }
        stats.no_fields += u64::from(!any);
    }
    // Stable: among equal (series, ms), the later sample stays later and is the one kept.
    points.sort_by(|a, b| {
        a.name
            .cmp(&b.name)
            .then_with(|| bases[a.metric].cmp(&bases[b.metric]))
            .then(a.sample.timestamp.cmp(&b.sample.timestamp))
    });
    let mut timeseries: Vec<TimeSeries> = Vec::new();
    let mut current: Option<(&str, usize)> = None;
    for p in &points {
        let same = current.is_some_and(|(n, mi)| n == p.name && bases[mi] == bases[p.metric]);
        if same && let Some(ts) = timeseries.last_mut() {
            match ts.samples.last_mut() {
                Some(last) if last.timestamp == p.sample.timestamp => {
                    *last = p.sample.clone();
                    stats.duplicates += 1;
                }
                _ => ts.samples.push(p.sample.clone()),
            }
            continue;
        }
        let base = &bases[p.metric];
        let mut labels = Vec::with_capacity(base.len() + 1);
        labels.extend(base.iter().cloned());
        let at = labels.partition_point(|l| l.name.as_str() < "__name__");
        labels.insert(
            at,
            Label {
                name: "__name__".to_owned(),
                value: p.name.clone(),
            },
        );
        timeseries.push(TimeSeries {
            labels,
            samples: vec![p.sample.clone()],
        });
        current = Some((&p.name, p.metric));
    }
    stats.samples = timeseries.iter().map(|t| t.samples.len() as u64).sum();
    let metadata = families
        .into_iter()
        .map(|(name, t)| MetricMetadata {
            r#type: t as i32,
            metric_family_name: name,
            help: String::new(),
            unit: String::new(),
        })
        .collect();
    (
        WriteRequest {
            timeseries,
            metadata,
        },
        stats,
    )
}

/// The sanitized tags of a metric, sorted by name, without empty values or `__name__`;
/// of two tags that sanitize to one name, the first (in tag order) wins.
fn base_labels(m: &Metric) -> Vec<Label> {
    let mut out: Vec<Label> = Vec::with_capacity(m.tags.len());
    for (k, v) in &m.tags {
        if v.is_empty() {
            continue;
        }
        let name = sanitize(k, false);
        if name.is_empty() || name == "__name__" {
            continue;
        }
        match out.binary_search_by(|l| l.name.as_str().cmp(&name)) {
            Ok(_) => {}
            Err(i) => out.insert(
                i,
                Label {
                    name,
                    value: v.clone(),
                },
            ),
        }
    }
    out
}

/// `<field>` for the `prometheus` measurement, else `<measurement>_<field>`, sanitized.
pub(crate) fn series_name(measurement: &str, field: &str) -> String {
    if measurement == "prometheus" || measurement.is_empty() {
        sanitize(field, true)
    } else {
        sanitize(&format!("{measurement}_{field}"), true)
    }
}

/// Replaces characters outside `[a-zA-Z0-9_]` (and `:` for metric names) with `_`, and
/// prefixes a leading digit with `_`.
pub(crate) fn sanitize(s: &str, metric: bool) -> String {
    let mut out = String::with_capacity(s.len() + 1);
    if s.starts_with(|c: char| c.is_ascii_digit()) {
        out.push('_');
    }
    out.extend(s.chars().map(|c| {
        if c.is_ascii_alphanumeric() || c == '_' || (metric && c == ':') {
            c
        } else {
            '_'
        }
    }));
    out
}

fn metric_type(kind: MetricKind) -> MetricType {
    match kind {
        MetricKind::Counter => MetricType::Counter,
        MetricKind::Gauge => MetricType::Gauge,
        MetricKind::Histogram => MetricType::Histogram,
        MetricKind::Summary => MetricType::Summary,
        MetricKind::Untyped => MetricType::Unknown,
    }
}

/// The family a series belongs to: histogram and summary series lose their suffix.
fn family_name(series: &str, kind: MetricKind) -> &str {
    let suffixes: &[&str] = match kind {
        MetricKind::Histogram => &["_bucket", "_sum", "_count"],
        MetricKind::Summary => &["_sum", "_count"],
        _ => &[],
    };
    suffixes
        .iter()
        .find_map(|s| series.strip_suffix(s))
        .unwrap_or(series)
}
