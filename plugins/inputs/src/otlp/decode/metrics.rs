//! OTLP metrics → [`Metric`]s (see the parent module's doc for the mapping).

use std::collections::HashMap;

use gleaner_api::otlp::proto::{
    ExportMetricsServiceRequest, KeyValue, metric::Data, number_data_point,
};
use gleaner_api::otlp::{self, format_bound};
use gleaner_api::{FieldValue, Metric, MetricKind, Tags};

use super::{Decoded, field_value, origin, tag_text};

/// A line-protocol-shaped series at one instant: measurement, tags, time, kind.
type SeriesKey = (String, Tags, i64, u8);

/// Merges the fields of same-series points of line-protocol-shaped measurements.
#[derive(Default)]
struct Merge {
    index: HashMap<SeriesKey, usize>,
}

/// The metrics of a request.
pub(crate) fn metrics(req: ExportMetricsServiceRequest, now: i64) -> Decoded<Metric> {
    let mut out = Decoded::default();
    let mut merge = Merge::default();
    for rm in req.resource_metrics {
        for sm in rm.scope_metrics {
            let base_tags: Vec<(String, String)> = origin(rm.resource.as_ref(), sm.scope.as_ref())
                .into_iter()
                .map(|(k, v)| (k.to_string_owned(), tag_text(v)))
                .collect();
            for m in sm.metrics {
                metric(m, &base_tags, now, &mut out, &mut merge);
            }
        }
    }
    out
}

/// The tags of a point: the origin's and its attributes, sorted, last value of a key kept.
fn tags(base: &[(String, String)], attrs: &[KeyValue]) -> Tags {
    let mut list = Vec::with_capacity(base.len() + attrs.len());
    list.extend(base.iter().cloned());
    for kv in attrs {
        if let Some(v) = field_value(kv.value.as_ref()) {
            list.push((kv.key.clone(), tag_text(v)));
        }
    }
    Tags::from_unsorted(list)
}

fn time(t: u64, now: i64) -> i64 {
    if t == 0 {
        now
    } else {
        i64::try_from(t).unwrap_or(i64::MAX)
    }
}

fn metric(
    m: gleaner_api::otlp::proto::Metric,
    base: &[(String, String)],
    now: i64,
    out: &mut Decoded<Metric>,
    merge: &mut Merge,
) {
    let meta = |key: &str| {
        m.metadata
            .iter()
            .find(|kv| kv.key == key)
            .and_then(|kv| field_value(kv.value.as_ref()))
            .map(tag_text)
    };
    let (measurement, name) = match meta(otlp::MEASUREMENT_METADATA) {
        Some(ms) if m.name.len() > ms.len() + 1 && m.name.starts_with(&format!("{ms}_")) => {
            let field = m.name[ms.len() + 1..].to_owned();
            (ms, field)
        }
        _ => (otlp::DEFAULT_MEASUREMENT.to_owned(), m.name.clone()),
    };
    let typed = meta(otlp::TYPE_METADATA);
    let sample = |tags: Tags, field: String, v: FieldValue, ts: i64, kind| Metric {
        measurement: measurement.clone(),
        tags,
        fields: vec![(field, v)],
        timestamp: ts,
        kind,
    };
    match m.data {
        None => out.reject(1, "a metric without data"),
        Some(Data::Gauge(g)) => {
            let kind = match typed.as_deref() {
                Some("unknown") => MetricKind::Untyped,
                Some("histogram") => MetricKind::Histogram,
                Some("summary") => MetricKind::Summary,
                _ => MetricKind::Gauge,
            };
            for p in g.data_points {
                number(p, base, &measurement, &name, kind, now, out, merge);
            }
        }
        Some(Data::Sum(s)) => {
            let kind = if s.is_monotonic {
                MetricKind::Counter
            } else {
                MetricKind::Gauge
            };
            for p in s.data_points {
                number(p, base, &measurement, &name, kind, now, out, merge);
            }
        }
        Some(Data::Histogram(h)) => {
            for p in h.data_points {
                let n = p.bucket_counts.len();
                if n != 0 && n != p.explicit_bounds.len() + 1 {
                    out.reject(
                        1,
                        "a histogram point whose bucket counts do not match its bounds",
                    );
                    continue;
                }
                let tags = tags(base, &p.attributes);
                let ts = time(p.time_unix_nano, now);
                let with = |k: &str, v: String| {
                    let mut t = tags.clone();
                    t.insert(k.to_owned(), v);
                    t
                };
                let mut cumulative = 0u64;
                for (bound, c) in p.explicit_bounds.iter().zip(&p.bucket_counts) {
                    cumulative = cumulative.saturating_add(*c);
                    out.events.push(sample(
                        with("le", format_bound(*bound)),
                        format!("{name}_bucket"),
                        FieldValue::Float(cumulative as f64),
                        ts,
                        MetricKind::Histogram,
                    ));
                }
                out.events.push(sample(
                    with("le", "+Inf".to_owned()),
                    format!("{name}_bucket"),
                    FieldValue::Float(p.count as f64),
                    ts,
                    MetricKind::Histogram,
                ));
                if let Some(sum) = p.sum {
                    out.events.push(sample(
                        tags.clone(),
                        format!("{name}_sum"),
                        FieldValue::Float(sum),
                        ts,
                        MetricKind::Histogram,
                    ));
                }
                out.events.push(sample(
                    tags,
                    format!("{name}_count"),
                    FieldValue::Float(p.count as f64),
                    ts,
                    MetricKind::Histogram,
                ));
            }
        }
        Some(Data::Summary(s)) => {
            for p in s.data_points {
                let tags = tags(base, &p.attributes);
                let ts = time(p.time_unix_nano, now);
                for q in &p.quantile_values {
                    let mut t = tags.clone();
                    t.insert("quantile".to_owned(), format_bound(q.quantile));
                    out.events.push(sample(
                        t,
                        name.clone(),
                        FieldValue::Float(q.value),
                        ts,
                        MetricKind::Summary,
                    ));
                }
                out.events.push(sample(
                    tags.clone(),
                    format!("{name}_sum"),
                    FieldValue::Float(p.sum),
                    ts,
                    MetricKind::Summary,
                ));
                out.events.push(sample(
                    tags,
                    format!("{name}_count"),
                    FieldValue::Float(p.count as f64),
                    ts,
                    MetricKind::Summary,
                ));
            }
        }
        Some(Data::ExponentialHistogram(e)) => out.reject(
            e.data_points.len().max(1),
            "exponential histograms are not supported",
        ),
    }
}

#[allow(clippy::too_many_arguments)]
fn number(
    p: gleaner_api::otlp::proto::NumberDataPoint,
    base: &[(String, String)],
    measurement: &str,
    field: &str,
    kind: MetricKind,
    now: i64,
    out: &mut Decoded<Metric>,
    merge: &mut Merge,
) {
    let value = match p.value {
        Some(number_data_point::Value::AsDouble(d)) => FieldValue::Float(d),
        Some(number_data_point::Value::AsInt(i)) => FieldValue::Int(i),
        None => {
            out.reject(1, "a data point without a value");
            return;
        }
    };
    let tags = tags(base, &p.attributes);
    let ts = time(p.time_unix_nano, now);
    let mergeable = measurement != otlp::DEFAULT_MEASUREMENT
        && !matches!(kind, MetricKind::Histogram | MetricKind::Summary);
    if mergeable {
        let key = (measurement.to_owned(), tags, ts, kind as u8);
        if let Some(&i) = merge.index.get(&key) {
            out.events[i].fields.push((field.to_owned(), value));
            return;
        }
        let (_, tags, _, _) = key;
        merge.index.insert(
            (measurement.to_owned(), tags.clone(), ts, kind as u8),
            out.events.len(),
        );
        out.events.push(Metric {
            measurement: measurement.to_owned(),
            tags,
            fields: vec![(field.to_owned(), value)],
            timestamp: ts,
            kind,
        });
        return;
    }
    out.events.push(Metric {
        measurement: measurement.to_owned(),
        tags,
        fields: vec![(field.to_owned(), value)],
        timestamp: ts,
        kind,
    });
}
