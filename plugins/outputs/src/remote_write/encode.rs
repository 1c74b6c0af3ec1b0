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
//! counted as `duplicate_sample`. Series come in the order of their first sample in the
//! batch. With `metadata = true` each family's type is sent
//! (`MetricMetadata`; no HELP or unit: the event model carries none); histogram and summary
//! families are named without their `_bucket`/`_sum`/`_count` suffix.
//!
//! Over 400 lines on purpose: a hand-written protobuf writer together with the naming and
//! label rules it applies to each series (the encode bench's hot path, kept in one unit).

use std::borrow::Cow;
use std::collections::{BTreeSet, HashMap};
use std::hash::BuildHasher;

use gleaner_api::{ComponentMetrics, FieldValue, Metric, MetricKind, Tags, TagsIter};

use super::proto::MetricType;
#[cfg(test)]
use super::proto::{Label, MetricMetadata, Sample, TimeSeries, WriteRequest};
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

/// Appends the protobuf encoding of the `WriteRequest` of `metrics` to `buf`.
///
/// The wire format is written directly from the metrics' own strings, byte for byte what
/// prost makes of `write_request` (a test holds the two together): building the request
/// as owned messages first cost a copy of every label name and value and a few vectors per
/// series, most of the agent's CPU on a scrape → remote write pipeline.
///
/// Samples are grouped into series by a hash of (name, labels) rather than sorted: a sort
/// compared the names and labels of distinct series (the 1,000 metrics of a scrape's batch
/// are 1,000 series) about ten times each. Series come out in the order of their first
/// sample.
pub(crate) fn encode(metrics: &[Metric], with_metadata: bool, buf: &mut Vec<u8>) -> EncodeStats {
    let mut stats = EncodeStats::default();
    let mut index = SeriesIndex::default();
    let mut bases: Vec<Base<'_>> = Vec::with_capacity(metrics.len());
    let mut hashes: Vec<u64> = Vec::with_capacity(metrics.len());
    for m in metrics {
        let (base, hash) = Base::of(m, &index.hasher);
        bases.push(base);
        hashes.push(hash);
    }
    let mut points: Vec<WirePoint> = Vec::with_capacity(metrics.len());
    let mut families: BTreeSet<(String, MetricType)> = BTreeSet::new();
    for (mi, m) in metrics.iter().enumerate() {
        let mut any = false;
        for (field, value) in &m.fields {
            let Some(value) = sample_value(value) else {
                stats.string_fields += 1;
                continue;
            };
            let name = series_name_cow(&m.measurement, field);
            if with_metadata {
                families.insert((family_name(&name, m.kind).to_owned(), metric_type(m.kind)));
            }
            let series = index.series(name, mi, hashes[mi], &bases);
            points.push(WirePoint {
                series,
                value,
                timestamp: m.timestamp.div_euclid(1_000_000),
            });
            any = true;
        }
        stats.no_fields += u64::from(!any);
    }
    let (mut ordered, starts) = by_series(&index.list, points);
    let mut samples: Vec<(f64, i64)> = Vec::new();
    let mut labels = Vec::new();
    for (s, &start) in index.list.iter().zip(&starts) {
        let points = &mut ordered[start..start + s.samples as usize];
        if !points.is_sorted_by_key(|p| p.timestamp) {
            // Stable: of two samples at one millisecond, the later in the batch stays later.
            points.sort_by_key(|p| p.timestamp);
        }
        samples.clear();
        for p in points.iter() {
            match samples.last_mut() {
                // Two samples of a series at one millisecond: the later one stays.
                Some(last) if last.1 == p.timestamp => {
                    *last = (p.value, p.timestamp);
                    stats.duplicates += 1;
                }
                _ => samples.push((p.value, p.timestamp)),
            }
        }
        wire::series(buf, &mut labels, &s.name, &bases[s.metric], &samples);
        stats.samples += samples.len() as u64;
    }
    for (name, t) in &families {
        wire::metadata(buf, name, *t);
    }
    stats
}

/// One sample of a series.
#[derive(Debug, Clone, Copy)]
struct WirePoint {
    /// Index of its series in [`SeriesIndex::list`].
    series: u32,
    value: f64,
    timestamp: i64,
}

/// One series: its name and the metric whose labels it has.
struct Series<'a> {
    name: Cow<'a, str>,
    metric: usize,
    /// The previous series with the same hash, or `NONE`.
    next: u32,
    /// Its samples.
    samples: u32,
}

const NONE: u32 = u32::MAX;

/// The series of a batch, in the order of their first sample, found by a hash of (name,
/// labels); a hash shared by two series is told apart by comparing them.
#[derive(Default)]
struct SeriesIndex<'a> {
    list: Vec<Series<'a>>,
    /// Hash → the last series with it.
    heads: HashMap<u64, u32, foldhash::fast::RandomState>,
    hasher: foldhash::fast::RandomState,
}

impl<'a> SeriesIndex<'a> {
    /// The series of (`name`, labels of metric `metric`, which hash to `labels`), added
    /// when new.
    fn series(
        &mut self,
        name: Cow<'a, str>,
        metric: usize,
        labels: u64,
        bases: &[Base<'_>],
    ) -> u32 {
        let hash = self.hasher.hash_one((name.as_ref(), labels));
        let head = self.heads.get(&hash).copied().unwrap_or(NONE);
        let mut at = head;
        while let Some(s) = self.list.get_mut(at as usize) {
            let same = s.name == name
                && (s.metric == metric
                    || match (&bases[s.metric], &bases[metric]) {
                        // One shared set: equal labels without a walk.
                        (Base::Tags(a), Base::Tags(b)) if Tags::ptr_eq(a, b) => true,
                        (a, b) => a.iter().eq(b.iter()),
                    });
            if same {
                s.samples += 1;
                return at;
            }
            at = s.next;
        }
        let new = self.list.len() as u32;
        self.list.push(Series {
            name,
            metric,
            next: head,
            samples: 1,
        });
        self.heads.insert(hash, new);
        new
    }
}

/// `points` by series, each series' points in batch order (a counting sort), and where each
/// series starts.
fn by_series(list: &[Series<'_>], points: Vec<WirePoint>) -> (Vec<WirePoint>, Vec<usize>) {
    let mut starts = Vec::with_capacity(list.len());
    let mut next = 0;
    for s in list {
        starts.push(next);
        next += s.samples as usize;
    }
    if list.len() == points.len() {
        // A point per series: series are numbered as first seen, so already in order.
        return (points, starts);
    }
    let mut fill = starts.clone();
    let mut out = points.clone();
    for p in points {
        let at = &mut fill[p.series as usize];
        out[*at] = p;
        *at += 1;
    }
    (out, starts)
}

/// A sample's value as remote write carries it; `None` for a string.
fn sample_value(v: &FieldValue) -> Option<f64> {
    match v {
        FieldValue::Float(f) => Some(*f),
        FieldValue::Int(i) => Some(*i as f64),
        FieldValue::UInt(u) => Some(*u as f64),
        FieldValue::Bool(b) => Some(f64::from(u8::from(*b))),
        FieldValue::String(_) => None,
    }
}

/// A metric's labels without `__name__` (as `base_labels` makes them): its own tags when they are
/// already valid, sorted and non-empty (always, for scraped series), else a cleaned copy.
enum Base<'a> {
    Tags(&'a Tags),
    Built(Vec<(Cow<'a, str>, &'a str)>),
}

impl<'a> Base<'a> {
    /// The labels of `m` and their hash by `hasher`: one walk of its tags, which checks
    /// and hashes them together, when they are already valid.
    fn of(m: &'a Metric, hasher: &foldhash::fast::RandomState) -> (Self, u64) {
        let clean = m.tags.iter().all(|(k, v)| {
            !k.is_empty() && !v.is_empty() && k != "__name__" && valid_name(k, false)
        });
        if clean {
            // One list has one layout, so equal label lists hash equal by their layout.
            return (Base::Tags(&m.tags), hasher.hash_one(m.tags.packed()));
        }
        let mut out: Vec<(Cow<'a, str>, &'a str)> = Vec::with_capacity(m.tags.len());
        for (k, v) in &m.tags {
            if v.is_empty() {
                continue;
            }
            let name = sanitize_cow(k, false);
            if name.is_empty() || name == "__name__" {
                continue;
            }
            if let Err(i) = out.binary_search_by(|(n, _)| n.as_ref().cmp(&name)) {
                out.insert(i, (name, v));
            }
        }
        // Hashed as the set of these labels would be, so a series whose labels came clean
        // in one metric and cleaned in another is still one series.
        let set: Tags = out.iter().map(|(k, v)| (k.as_ref(), *v)).collect();
        let hash = hasher.hash_one(set.packed());
        (Base::Built(out), hash)
    }

    fn iter(&self) -> impl Iterator<Item = (&str, &str)> + '_ {
        let (tags, built) = match self {
            Base::Tags(t) => (t.iter(), &[][..]),
            Base::Built(b) => (TagsIter::empty(), b.as_slice()),
        };
        tags.chain(built.iter().map(|(k, v)| (k.as_ref(), *v)))
    }
}

/// [`series_name`] without a copy when the name is already valid.
fn series_name_cow<'a>(measurement: &str, field: &'a str) -> Cow<'a, str> {
    if measurement == "prometheus" || measurement.is_empty() {
        sanitize_cow(field, true)
    } else {
        Cow::Owned(series_name(measurement, field))
    }
}

/// Bytes a label name may hold (`[a-zA-Z0-9_]`: bit 0) and a metric name (`:` too: bit 1),
/// looked up per byte: every tag key of every metric is checked.
const NAME_BYTES: [u8; 256] = {
    let mut t = [0u8; 256];
    let mut c = 0;
    while c < 256 {
        let b = c as u8;
        if b.is_ascii_alphanumeric() || b == b'_' {
            t[c] = 0b11;
        } else if b == b':' {
            t[c] = 0b10;
        }
        c += 1;
    }
    t
};

/// Whether [`sanitize`] leaves `s` as it is.
fn valid_name(s: &str, metric: bool) -> bool {
    let bit = if metric { 0b10 } else { 0b01 };
    let leading_digit = s.as_bytes().first().is_some_and(u8::is_ascii_digit);
    !leading_digit && s.bytes().all(|c| NAME_BYTES[usize::from(c)] & bit != 0)
}

/// [`sanitize`] without a copy when nothing changes.
fn sanitize_cow(s: &str, metric: bool) -> Cow<'_, str> {
    if valid_name(s, metric) {
        Cow::Borrowed(s)
    } else {
        Cow::Owned(sanitize(s, metric))
    }
}

/// The protobuf wire format of the messages in `gleaner_api::prompb`, as prost writes them: fields in
/// number order, proto3 defaults (empty strings, 0, 0.0) left out.
mod wire {
    use super::{Base, MetricType};

    /// Key bytes: (field number << 3) | wire type.
    const WRITE_REQUEST_TIMESERIES: u8 = 1 << 3 | 2;
    const WRITE_REQUEST_METADATA: u8 = 3 << 3 | 2;
    const TIMESERIES_LABEL: u8 = 1 << 3 | 2;
    const TIMESERIES_SAMPLE: u8 = 2 << 3 | 2;
    const LABEL_NAME: u8 = 1 << 3 | 2;
    const LABEL_VALUE: u8 = 2 << 3 | 2;
    const SAMPLE_VALUE: u8 = 1 << 3 | 1;
    const SAMPLE_TIMESTAMP: u8 = 2 << 3;
    const METADATA_TYPE: u8 = 1 << 3;
    const METADATA_FAMILY: u8 = 2 << 3 | 2;

    fn varint_len(v: u64) -> usize {
        // 1 byte per 7 bits; 0 still takes one byte.
        (64 - (v | 1).leading_zeros() as usize).div_ceil(7)
    }

    fn put_varint(buf: &mut Vec<u8>, mut v: u64) {
        while v >= 0x80 {
            buf.push((v as u8) | 0x80);
            v >>= 7;
        }
        buf.push(v as u8);
    }

    /// Length of a string field, 0 when empty (left out).
    fn str_len(s: &str) -> usize {
        if s.is_empty() {
            0
        } else {
            1 + varint_len(s.len() as u64) + s.len()
        }
    }

    fn put_str(buf: &mut Vec<u8>, key: u8, s: &str) {
        if !s.is_empty() {
            buf.push(key);
            put_varint(buf, s.len() as u64);
            buf.extend_from_slice(s.as_bytes());
        }
    }

    fn label_len(name: &str, value: &str) -> usize {
        str_len(name) + str_len(value)
    }

    fn sample_len(value: f64, timestamp: i64) -> usize {
        let v = if value == 0.0 { 0 } else { 9 };
        let t = if timestamp == 0 {
            0
        } else {
            1 + varint_len(timestamp as u64)
        };
        v + t
    }

    fn nested_len(len: usize) -> usize {
        1 + varint_len(len as u64) + len
    }

    /// Calls `f` with every label of the series in byte order, `__name__` among them.
    fn for_each_label<'a>(name: &'a str, base: &'a Base<'_>, mut f: impl FnMut(&'a str, &'a str)) {
        let mut named = false;
        for (k, v) in base.iter() {
            if !named && k > "__name__" {
                f("__name__", name);
                named = true;
            }
            f(k, v);
        }
        if !named {
            f("__name__", name);
        }
    }

    /// One `TimeSeries.labels` entry. The usual label (name and value not empty, the entry
    /// under 128 bytes, so every length is one byte) is written as a header, its name, two
    /// bytes and its value; any other field by field.
    #[inline]
    fn put_label(out: &mut Vec<u8>, k: &str, v: &str) {
        let len = 4 + k.len() + v.len();
        if !k.is_empty() && !v.is_empty() && len < 128 {
            out.extend_from_slice(&[TIMESERIES_LABEL, len as u8, LABEL_NAME, k.len() as u8]);
            out.extend_from_slice(k.as_bytes());
            out.extend_from_slice(&[LABEL_VALUE, v.len() as u8]);
            out.extend_from_slice(v.as_bytes());
            return;
        }
        out.push(TIMESERIES_LABEL);
        put_varint(out, label_len(k, v) as u64);
        put_str(out, LABEL_NAME, k);
        put_str(out, LABEL_VALUE, v);
    }

    /// One `TimeSeries` as a `WriteRequest.timeseries` entry. Its labels are written into
    /// `labels` (a scratch buffer) first, so they are walked once, not once to measure the
    /// message and again to write it.
    pub(super) fn series(
        buf: &mut Vec<u8>,
        labels: &mut Vec<u8>,
        name: &str,
        base: &Base<'_>,
        samples: &[(f64, i64)],
    ) {
        labels.clear();
        for_each_label(name, base, |k, v| put_label(labels, k, v));
        let mut len = labels.len();
        for &(v, t) in samples {
            len += nested_len(sample_len(v, t));
        }
        buf.reserve(nested_len(len));
        buf.push(WRITE_REQUEST_TIMESERIES);
        put_varint(buf, len as u64);
        buf.extend_from_slice(labels);
        for &(v, t) in samples {
            buf.push(TIMESERIES_SAMPLE);
            put_varint(buf, sample_len(v, t) as u64);
            if v != 0.0 {
                buf.push(SAMPLE_VALUE);
                buf.extend_from_slice(&v.to_le_bytes());
            }
            if t != 0 {
                buf.push(SAMPLE_TIMESTAMP);
                put_varint(buf, t as u64);
            }
        }
    }

    /// One `MetricMetadata` (type and family name; no help or unit).
    pub(super) fn metadata(buf: &mut Vec<u8>, family: &str, t: MetricType) {
        let t = t as i32;
        let type_len = if t == 0 {
            0
        } else {
            1 + varint_len(i64::from(t) as u64)
        };
        buf.push(WRITE_REQUEST_METADATA);
        put_varint(buf, (type_len + str_len(family)) as u64);
        if t != 0 {
            buf.push(METADATA_TYPE);
            put_varint(buf, i64::from(t) as u64);
        }
        put_str(buf, METADATA_FAMILY, family);
    }
}

/// One sample before grouping (of `write_request`): its series is (`name`, labels of metric `metric`).
#[cfg(test)]
struct Point {
    name: String,
    metric: usize,
    sample: Sample,
}

/// The request for `metrics` as owned messages (see the module doc for the mapping): the
/// reference [`encode`] is held to.
///
/// Label sets are built once per metric; series are found by comparing (name, labels) with
/// every series before (fine for a reference).
#[cfg(test)]
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
            let Some(v) = sample_value(value) else {
                stats.string_fields += 1;
                continue;
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
    // Series in the order of their first sample.
    let mut series: Vec<(String, usize, Vec<Sample>)> = Vec::new();
    for p in points {
        let found = series
            .iter_mut()
            .find(|(n, mi, _)| *n == p.name && bases[*mi] == bases[p.metric]);
        match found {
            Some((_, _, samples)) => samples.push(p.sample),
            None => series.push((p.name, p.metric, vec![p.sample])),
        }
    }
    let mut timeseries: Vec<TimeSeries> = Vec::new();
    for (name, mi, mut points) in series {
        // Stable: among equal ms, the later sample stays later and is the one kept.
        points.sort_by_key(|s| s.timestamp);
        let mut samples: Vec<Sample> = Vec::new();
        for p in points {
            match samples.last_mut() {
                Some(last) if last.timestamp == p.timestamp => {
                    *last = p;
                    stats.duplicates += 1;
                }
                _ => samples.push(p),
            }
        }
        let base = &bases[mi];
        let mut labels = Vec::with_capacity(base.len() + 1);
        labels.extend(base.iter().cloned());
        let at = labels.partition_point(|l| l.name.as_str() < "__name__");
        labels.insert(
            at,
            Label {
                name: "__name__".to_owned(),
                value: name,
            },
        );
        timeseries.push(TimeSeries {
            labels,
            samples,
            ..TimeSeries::default()
        });
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
#[cfg(test)]
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
                    value: v.to_owned(),
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
