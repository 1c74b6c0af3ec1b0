//! Histogram and summary samples, as Prometheus exposes them and `inputs.prometheus` keeps
//! them (one metric per sample), gathered back into one OTLP point per series and instant:
//! per-bucket counts from the cumulative ones, bounds without `+Inf`, quantiles in order.
//! A family that does not make a valid point gives `None`, and `metrics.rs` sends its
//! samples one by one.

use gleaner_api::otlp::proto::{HistogramDataPoint, KeyValue, SummaryDataPoint, ValueAtQuantile};

/// A histogram or summary series at one instant, while its samples are gathered.
pub(super) struct Family {
    pub(super) at: (usize, usize),
    pub(super) measurement: String,
    pub(super) name: String,
    pub(super) summary: bool,
    pub(super) attributes: Vec<KeyValue>,
    pub(super) timestamp: i64,
    /// (bound or quantile, value).
    pub(super) points: Vec<(f64, f64)>,
    pub(super) sum: Option<f64>,
    pub(super) count: Option<f64>,
    /// Every sample as it came (name, value, attributes with `le`/`quantile`), for the
    /// fallback.
    pub(super) samples: Vec<(String, f64, Vec<KeyValue>)>,
    /// A sample that does not fit the shape (bad `le`, a bucket without one).
    pub(super) broken: bool,
}

/// Which part of a family a sample is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Part {
    /// A bucket (`le`) or a quantile.
    Point,
    Sum,
    Count,
    /// Anything else (a histogram sample without `le` that is no `_sum`/`_count`).
    Other,
}

/// The family name and part of a histogram or summary sample.
pub(super) fn family_part<'a>(
    field: &'a str,
    summary: bool,
    bound: Option<&str>,
) -> (&'a str, Part) {
    if let Some(base) = field.strip_suffix("_sum")
        && bound.is_none()
    {
        return (base, Part::Sum);
    }
    if let Some(base) = field.strip_suffix("_count")
        && bound.is_none()
    {
        return (base, Part::Count);
    }
    match (summary, bound) {
        (false, Some("le")) => match field.strip_suffix("_bucket") {
            Some(base) => (base, Part::Point),
            None => (field, Part::Other),
        },
        (true, Some("quantile")) => (field, Part::Point),
        _ => (field, Part::Other),
    }
}

pub(super) enum FamilyPoint {
    Histogram(HistogramDataPoint),
    Summary(SummaryDataPoint),
}

/// A whole count as an integer (`None` when it is not one).
fn whole(v: f64) -> Option<u64> {
    (v >= 0.0 && v.fract() == 0.0 && v <= 9_007_199_254_740_992.0).then_some(v as u64)
}

/// The OTLP point of a gathered family, when the samples make a valid one.
pub(super) fn family_point(f: &Family) -> Option<FamilyPoint> {
    if f.broken {
        return None;
    }
    let count = whole(f.count?)?;
    let time_unix_nano = u64::try_from(f.timestamp).unwrap_or(0);
    if f.summary {
        let mut quantile_values: Vec<ValueAtQuantile> = f
            .points
            .iter()
            .map(|&(quantile, value)| ValueAtQuantile { quantile, value })
            .collect();
        quantile_values.sort_by(|a, b| a.quantile.total_cmp(&b.quantile));
        return Some(FamilyPoint::Summary(SummaryDataPoint {
            attributes: f.attributes.clone(),
            start_time_unix_nano: 0,
            time_unix_nano,
            count,
            sum: f.sum?,
            quantile_values,
            flags: 0,
        }));
    }
    let mut buckets = f.points.clone();
    buckets.sort_by(|a, b| a.0.total_cmp(&b.0));
    let (&(last, inf_count), rest) = buckets.split_last()?;
    if last != f64::INFINITY || whole(inf_count)? != count {
        return None;
    }
    let mut explicit_bounds = Vec::with_capacity(rest.len());
    let mut bucket_counts = Vec::with_capacity(buckets.len());
    let mut below = 0u64;
    let mut previous_bound = f64::NEG_INFINITY;
    for &(bound, cumulative) in &buckets {
        let cumulative = whole(cumulative)?;
        if cumulative < below || (bound <= previous_bound) {
            return None;
        }
        if bound != f64::INFINITY {
            explicit_bounds.push(bound);
        }
        bucket_counts.push(cumulative - below);
        below = cumulative;
        previous_bound = bound;
    }
    Some(FamilyPoint::Histogram(HistogramDataPoint {
        attributes: f.attributes.clone(),
        start_time_unix_nano: 0,
        time_unix_nano,
        count,
        sum: f.sum,
        bucket_counts,
        explicit_bounds,
        flags: 0,
        min: None,
        max: None,
    }))
}
