//! Metrics → one `ExportMetricsServiceRequest` (pure).
//!
//! - Tags are sorted as log attributes are (`gleaner_api::otlp::place`): `host` and the
//!   Kubernetes tags become resource attributes, `scope.*` the scope, the rest data point
//!   attributes. One `ResourceMetrics` per resource, one `ScopeMetrics` per scope in it, one
//!   OTLP metric per name and type in that.
//! - Name: the field for measurement `prometheus` (what `inputs.prometheus` makes), else
//!   `<measurement>_<field>` with `Metric.metadata` `gleaner.measurement` = the measurement,
//!   so that `inputs.otlp` splits it back.
//! - Counter → monotonic cumulative `Sum`; gauge → `Gauge`; untyped → `Gauge` with metadata
//!   `prometheus.type` = `unknown`. Floats are `as_double`, integers `as_int` (unsigned above
//!   `i64::MAX` as doubles, booleans as 0/1); string fields are left out, counted
//!   `string_field`. The start time is not known (the model has none) and left 0.
//! - Histogram and summary samples, as Prometheus exposes them (`x_bucket{le}`, `x_sum`,
//!   `x_count`; `x{quantile}`, `x_sum`, `x_count`), are gathered per series and timestamp
//!   into one `HistogramDataPoint` (per-bucket counts from the cumulative ones, bounds
//!   without `+Inf`) or `SummaryDataPoint`. A family that does not make a valid point
//!   (no `_count` or `+Inf` bucket, counts that are not whole or decrease, a summary without
//!   `_sum`) is sent sample by sample as gauges with `prometheus.type` = `histogram` or
//!   `summary`, which `inputs.otlp` turns back into the same samples.

use std::collections::HashMap;

use gleaner_api::otlp::proto::{
    self, ExportMetricsServiceRequest, Gauge, Histogram, KeyValue, NumberDataPoint, Resource,
    ResourceMetrics, ScopeMetrics, Sum, Summary, metric::Data, number_data_point::Value,
    temporality,
};
use gleaner_api::otlp::{self, parse_bound};
use gleaner_api::{FieldValue, Metric, MetricKind};

use super::family::{Family, FamilyPoint, Part, family_part, family_point};
use super::logs::{Origin, split, string_kv};

/// What one encode left out.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub(crate) struct MetricStats {
    /// String fields (OTLP numbers cannot carry them).
    pub(crate) string_fields: u64,
    /// Metrics left with nothing to send.
    pub(crate) no_fields: u64,
}

/// What an OTLP metric of a group is, besides its name.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
enum Shape {
    Gauge,
    Counter,
    Untyped,
    Histogram,
    Summary,
    /// A histogram sample sent alone.
    HistogramSample,
    /// A summary sample sent alone.
    SummarySample,
}

/// One resource's metrics, by scope.
struct Group {
    resource: Vec<KeyValue>,
    scopes: Vec<ScopeMetrics>,
    /// (scope, measurement, name, shape) → index in that scope's metrics.
    index: HashMap<(usize, String, String, Shape), usize>,
}

/// What tells one gathered family from another.
#[derive(Debug, PartialEq, Eq, Hash)]
struct FamilyKey {
    at: (usize, usize),
    measurement: String,
    name: String,
    tags: Vec<(String, String)>,
    timestamp: i64,
}

/// The request carrying `metrics`.
pub(crate) fn request(metrics: &[Metric], stats: &mut MetricStats) -> ExportMetricsServiceRequest {
    let mut groups: Vec<Group> = Vec::new();
    let mut families: Vec<Family> = Vec::new();
    let mut family_index: HashMap<FamilyKey, usize> = HashMap::new();
    for m in metrics {
        let mut attributes = Vec::with_capacity(m.tags.len());
        let mut pairs: Vec<(&str, &str)> = Vec::new();
        let mut bound: Option<(&str, &str)> = None;
        let family_kind = matches!(m.kind, MetricKind::Histogram | MetricKind::Summary);
        let origin = split(m.tags.iter(), |k, v| {
            if family_kind && (k == "le" || k == "quantile") {
                bound = Some((k, v));
            } else {
                attributes.push(string_kv(k, v));
                if family_kind {
                    pairs.push((k, v));
                }
            }
        });
        let at = place_in(&mut groups, origin);
        let mut any = false;
        for (field, value) in &m.fields {
            let Some(point_value) = number(value) else {
                stats.string_fields += 1;
                continue;
            };
            any = true;
            if !family_kind {
                let shape = match m.kind {
                    MetricKind::Counter => Shape::Counter,
                    MetricKind::Untyped => Shape::Untyped,
                    _ => Shape::Gauge,
                };
                let point = number_point(attributes.clone(), m.timestamp, point_value);
                push_number(&mut groups, at, &m.measurement, field, shape, point);
                continue;
            }
            let summary = m.kind == MetricKind::Summary;
            let as_f64 = match point_value {
                Value::AsDouble(f) => f,
                Value::AsInt(i) => i as f64,
            };
            let (base, part) = family_part(field, summary, bound.map(|b| b.0));
            let key = FamilyKey {
                at,
                measurement: m.measurement.clone(),
                name: base.to_owned(),
                tags: pairs
                    .iter()
                    .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
                    .collect(),
                timestamp: m.timestamp,
            };
            let fi = *family_index.entry(key).or_insert_with(|| {
                families.push(Family {
                    at,
                    measurement: m.measurement.clone(),
                    name: base.to_owned(),
                    summary,
                    attributes: attributes.clone(),
                    timestamp: m.timestamp,
                    points: Vec::new(),
                    sum: None,
                    count: None,
                    samples: Vec::new(),
                    broken: false,
                });
                families.len() - 1
            });
            let f = &mut families[fi];
            let mut sample_attrs = attributes.clone();
            if let Some((k, v)) = bound {
                sample_attrs.push(string_kv(k, v));
                sample_attrs.sort_by(|a, b| a.key.cmp(&b.key));
            }
            f.samples.push((field.clone(), as_f64, sample_attrs));
            match part {
                Part::Point => match bound.and_then(|(_, v)| parse_bound(v)) {
                    Some(b) if !b.is_nan() => f.points.push((b, as_f64)),
                    _ => f.broken = true,
                },
                Part::Sum if f.sum.is_none() => f.sum = Some(as_f64),
                Part::Count if f.count.is_none() => f.count = Some(as_f64),
                _ => f.broken = true,
            }
        }
        stats.no_fields += u64::from(!any);
    }
    for f in families {
        let Family { at, .. } = f;
        let measurement = f.measurement.clone();
        let name = f.name.clone();
        match (f.summary, family_point(&f)) {
            (false, Some(FamilyPoint::Histogram(p))) => {
                let data = metric_at(&mut groups, at, &measurement, &name, Shape::Histogram);
                if let Some(Data::Histogram(h)) = data {
                    h.data_points.push(p);
                }
            }
            (true, Some(FamilyPoint::Summary(p))) => {
                let data = metric_at(&mut groups, at, &measurement, &name, Shape::Summary);
                if let Some(Data::Summary(s)) = data {
                    s.data_points.push(p);
                }
            }
            _ => {
                let shape = if f.summary {
                    Shape::SummarySample
                } else {
                    Shape::HistogramSample
                };
                for (field, v, attrs) in f.samples {
                    let point = number_point(attrs, f.timestamp, Value::AsDouble(v));
                    push_number(&mut groups, at, &measurement, &field, shape, point);
                }
            }
        }
    }
    ExportMetricsServiceRequest {
        resource_metrics: groups
            .into_iter()
            .map(|g| ResourceMetrics {
                resource: Some(Resource {
                    attributes: g.resource,
                    dropped_attributes_count: 0,
                }),
                scope_metrics: g.scopes,
                schema_url: String::new(),
            })
            .collect(),
    }
}

/// A field's value as an OTLP number (`None` for a string).
fn number(v: &FieldValue) -> Option<Value> {
    Some(match v {
        FieldValue::Float(f) => Value::AsDouble(*f),
        FieldValue::Int(i) => Value::AsInt(*i),
        FieldValue::UInt(u) => match i64::try_from(*u) {
            Ok(i) => Value::AsInt(i),
            Err(_) => Value::AsDouble(*u as f64),
        },
        FieldValue::Bool(b) => Value::AsInt(i64::from(*b)),
        FieldValue::String(_) => return None,
    })
}

fn number_point(attributes: Vec<KeyValue>, timestamp: i64, value: Value) -> NumberDataPoint {
    NumberDataPoint {
        attributes,
        start_time_unix_nano: 0,
        time_unix_nano: u64::try_from(timestamp).unwrap_or(0),
        value: Some(value),
        flags: 0,
    }
}

/// The group and scope index of `origin`, made when new.
fn place_in(groups: &mut Vec<Group>, origin: Origin) -> (usize, usize) {
    let g = match groups.iter().rposition(|g| g.resource == origin.resource) {
        Some(g) => g,
        None => {
            groups.push(Group {
                resource: origin.resource,
                scopes: Vec::new(),
                index: HashMap::new(),
            });
            groups.len() - 1
        }
    };
    let scopes = &mut groups[g].scopes;
    let s = match scopes
        .iter()
        .rposition(|s| s.scope.as_ref() == Some(&origin.scope))
    {
        Some(s) => s,
        None => {
            scopes.push(ScopeMetrics {
                scope: Some(origin.scope),
                metrics: Vec::new(),
                schema_url: String::new(),
            });
            scopes.len() - 1
        }
    };
    (g, s)
}

/// The data of the OTLP metric `name` of `shape` in group `at`, made when new.
fn metric_at<'g>(
    groups: &'g mut [Group],
    at: (usize, usize),
    measurement: &str,
    name: &str,
    shape: Shape,
) -> Option<&'g mut Data> {
    let group = &mut groups[at.0];
    let key = (at.1, measurement.to_owned(), name.to_owned(), shape);
    let metrics = &mut group.scopes[at.1].metrics;
    let i = *group.index.entry(key).or_insert_with(|| {
        metrics.push(new_metric(measurement, name, shape));
        metrics.len() - 1
    });
    metrics[i].data.as_mut()
}

fn push_number(
    groups: &mut [Group],
    at: (usize, usize),
    measurement: &str,
    field: &str,
    shape: Shape,
    point: NumberDataPoint,
) {
    match metric_at(groups, at, measurement, field, shape) {
        Some(Data::Gauge(g)) => g.data_points.push(point),
        Some(Data::Sum(s)) => s.data_points.push(point),
        _ => {}
    }
}

fn new_metric(measurement: &str, name: &str, shape: Shape) -> proto::Metric {
    let mut metadata = Vec::new();
    let full = if measurement == otlp::DEFAULT_MEASUREMENT {
        name.to_owned()
    } else {
        metadata.push(string_kv(otlp::MEASUREMENT_METADATA, measurement));
        format!("{measurement}_{name}")
    };
    let gauge = || {
        Data::Gauge(Gauge {
            data_points: Vec::new(),
        })
    };
    let data = match shape {
        Shape::Gauge => gauge(),
        Shape::Counter => Data::Sum(Sum {
            data_points: Vec::new(),
            aggregation_temporality: temporality::CUMULATIVE,
            is_monotonic: true,
        }),
        Shape::Untyped => {
            metadata.push(string_kv(otlp::TYPE_METADATA, "unknown"));
            gauge()
        }
        Shape::HistogramSample => {
            metadata.push(string_kv(otlp::TYPE_METADATA, "histogram"));
            gauge()
        }
        Shape::SummarySample => {
            metadata.push(string_kv(otlp::TYPE_METADATA, "summary"));
            gauge()
        }
        Shape::Histogram => Data::Histogram(Histogram {
            data_points: Vec::new(),
            aggregation_temporality: temporality::CUMULATIVE,
        }),
        Shape::Summary => Data::Summary(Summary {
            data_points: Vec::new(),
        }),
    };
    proto::Metric {
        name: full,
        description: String::new(),
        unit: String::new(),
        data: Some(data),
        metadata,
    }
}
