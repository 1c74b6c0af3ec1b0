//! OTLP requests → Gleaner events (pure): the inverse of `outputs.otlp`'s encoders, with
//! the key mapping of `gleaner_api::otlp`.
//!
//! Logs: a resource's attributes (under their Gleaner names, see `gleaner_api::otlp`) and
//! its scope's (`scope.name`, `scope.version`, `scope.attributes.<k>`) are one shared list
//! for all the records of that scope. Each record adds `severity` (the text, when set),
//! `severity_number` (only when the text does not imply it), `trace_id`, `span_id` (hex),
//! `trace_flags` (when not 0), `event_name`, then its own attributes; `log.iostream` =
//! `stdout`/`stderr` sets the stream instead. The timestamp is `time_unix_nano`, else
//! `observed_time_unix_nano`, else the time of arrival. A string body is the message; a
//! bytes body its bytes; a map or array body, and such attribute values, their JSON text;
//! bytes attribute values are base64.
//!
//! Metrics: the name splits into measurement and field with `Metric.metadata`
//! `gleaner.measurement` (else measurement `prometheus`, field = name); tags are the
//! resource's, the scope's and the point's attributes as text. Gauge → gauge (untyped,
//! histogram or summary when `prometheus.type` says so), monotonic sum → counter, other sums
//! → gauge, histogram → `_bucket{le}` (cumulative, `le` written as
//! `gleaner_api::otlp::format_bound` does: `1.0`, `0.25`, `+Inf`), `_sum`, `_count`; summary →
//! `{quantile}`, `_sum`, `_count`. Points of one measurement other than `prometheus` with the
//! same tags, time and kind become one metric with several fields (as line protocol has
//! them). Exponential histograms and points without a value are rejected (counted in the
//! answer's partial success).

use std::sync::Arc;

use base64::Engine as _;
use gleaner_api::otlp::proto::{
    AnyValue, ExportLogsServiceRequest, InstrumentationScope, KeyValue, Resource, any_value::Value,
};
use gleaner_api::otlp::{self, FromResource};
use gleaner_api::{Attributes, FieldValue, Key, LogRecord, SharedAttributes, Stream};

mod metrics;
pub(crate) mod wire;

pub(crate) use metrics::metrics;

/// What a request became, and what of it could not.
#[derive(Debug)]
pub(crate) struct Decoded<T> {
    pub(crate) events: Vec<T>,
    /// Records or data points left out.
    pub(crate) rejected: u64,
    /// Why (the first reason), for the partial success message.
    pub(crate) message: String,
}

impl<T> Default for Decoded<T> {
    fn default() -> Self {
        Decoded {
            events: Vec::new(),
            rejected: 0,
            message: String::new(),
        }
    }
}

impl<T> Decoded<T> {
    fn reject(&mut self, n: usize, why: &str) {
        if n == 0 {
            return;
        }
        self.rejected += n as u64;
        if self.message.is_empty() {
            self.message = why.to_owned();
        }
    }
}

/// An attribute value as a field value (`None` when empty).
pub(crate) fn field_value(v: Option<&AnyValue>) -> Option<FieldValue> {
    Some(match v?.value.as_ref()? {
        Value::StringValue(s) => FieldValue::String(s.as_str().into()),
        Value::BoolValue(b) => FieldValue::Bool(*b),
        Value::IntValue(i) => FieldValue::Int(*i),
        Value::DoubleValue(d) => FieldValue::Float(*d),
        Value::BytesValue(b) => {
            FieldValue::String(base64::engine::general_purpose::STANDARD.encode(b).into())
        }
        other @ (Value::ArrayValue(_) | Value::KvlistValue(_)) => {
            FieldValue::String(json_text(other).to_string().into())
        }
    })
}

/// A nested value as JSON (maps as objects, arrays as arrays, bytes as base64).
fn json_text(v: &Value) -> serde_json::Value {
    use serde_json::Value as J;
    match v {
        Value::StringValue(s) => J::String(s.clone()),
        Value::BoolValue(b) => J::Bool(*b),
        Value::IntValue(i) => J::from(*i),
        Value::DoubleValue(d) => J::from(*d),
        Value::BytesValue(b) => J::String(base64::engine::general_purpose::STANDARD.encode(b)),
        Value::ArrayValue(a) => J::Array(
            a.values
                .iter()
                .map(|x| x.value.as_ref().map_or(J::Null, json_text))
                .collect(),
        ),
        Value::KvlistValue(l) => J::Object(
            l.values
                .iter()
                .map(|kv| {
                    let v = kv
                        .value
                        .as_ref()
                        .and_then(|x| x.value.as_ref())
                        .map_or(J::Null, json_text);
                    (kv.key.clone(), v)
                })
                .collect(),
        ),
    }
}

/// A field value as a tag value.
fn tag_text(v: FieldValue) -> String {
    match v {
        FieldValue::String(s) => s.into_string(),
        other => other.to_string(),
    }
}

/// The Gleaner attributes of a resource and a scope, in that order.
fn origin(
    resource: Option<&Resource>,
    scope: Option<&InstrumentationScope>,
) -> Vec<(Key, FieldValue)> {
    let mut out = Vec::new();
    for kv in resource.map_or(&[][..], |r| &r.attributes) {
        let Some(v) = field_value(kv.value.as_ref()) else {
            continue;
        };
        match otlp::from_resource(&kv.key) {
            FromResource::Key(k) => out.push((Key::from(k.into_owned()), v)),
            FromResource::Workload(kind) => {
                out.push((
                    Key::from_static(otlp::WORKLOAD_KIND),
                    FieldValue::String(kind.into()),
                ));
                out.push((Key::from_static(otlp::WORKLOAD), v));
            }
        }
    }
    if let Some(s) = scope {
        if !s.name.is_empty() {
            out.push((
                Key::from_static(otlp::SCOPE_NAME),
                FieldValue::String(s.name.as_str().into()),
            ));
        }
        if !s.version.is_empty() {
            out.push((
                Key::from_static(otlp::SCOPE_VERSION),
                FieldValue::String(s.version.as_str().into()),
            ));
        }
        for kv in &s.attributes {
            if let Some(v) = field_value(kv.value.as_ref()) {
                out.push((
                    Key::from(format!("{}{}", otlp::SCOPE_ATTRIBUTES, kv.key)),
                    v,
                ));
            }
        }
    }
    out
}

/// The log records of a request.
pub(crate) fn logs(req: ExportLogsServiceRequest, now: i64) -> Decoded<LogRecord> {
    let mut out = Decoded::default();
    for rl in req.resource_logs {
        for sl in rl.scope_logs {
            let shared: SharedAttributes = origin(rl.resource.as_ref(), sl.scope.as_ref()).into();
            for r in sl.log_records {
                out.events.push(record(r, &shared, now));
            }
        }
    }
    out
}

fn record(
    r: gleaner_api::otlp::proto::LogRecord,
    shared: &SharedAttributes,
    now: i64,
) -> LogRecord {
    let timestamp = [r.time_unix_nano, r.observed_time_unix_nano]
        .into_iter()
        .find(|t| *t != 0)
        .map_or(now, |t| i64::try_from(t).unwrap_or(i64::MAX));
    let body = match r.body.and_then(|b| b.value) {
        None => Vec::new(),
        Some(Value::StringValue(s)) => s.into_bytes(),
        Some(Value::BytesValue(b)) => b,
        Some(other) => match field_value(Some(&AnyValue { value: Some(other) })) {
            Some(v) => tag_text(v).into_bytes(),
            None => Vec::new(),
        },
    };
    let mut attributes = Attributes::from_shared(Arc::clone(shared));
    attributes.reserve(r.attributes.len() + 4);
    if !r.severity_text.is_empty() {
        attributes.push(
            otlp::SEVERITY,
            FieldValue::String(r.severity_text.as_str().into()),
        );
    }
    if r.severity_number != otlp::severity_number(&r.severity_text) {
        attributes.push(
            otlp::SEVERITY_NUMBER,
            FieldValue::Int(i64::from(r.severity_number)),
        );
    }
    if !r.trace_id.is_empty() {
        attributes.push(
            otlp::TRACE_ID,
            FieldValue::String(otlp::hex(&r.trace_id).into()),
        );
    }
    if !r.span_id.is_empty() {
        attributes.push(
            otlp::SPAN_ID,
            FieldValue::String(otlp::hex(&r.span_id).into()),
        );
    }
    if r.flags != 0 {
        attributes.push(otlp::TRACE_FLAGS, FieldValue::Int(i64::from(r.flags)));
    }
    if !r.event_name.is_empty() {
        attributes.push(otlp::EVENT_NAME, FieldValue::String(r.event_name.into()));
    }
    let mut stream = Stream::Unknown;
    for KeyValue { key, value } in r.attributes {
        let Some(v) = field_value(value.as_ref()) else {
            continue;
        };
        if key == otlp::IOSTREAM {
            match &v {
                FieldValue::String(s) if s == "stdout" => {
                    stream = Stream::Stdout;
                    continue;
                }
                FieldValue::String(s) if s == "stderr" => {
                    stream = Stream::Stderr;
                    continue;
                }
                _ => {}
            }
        }
        attributes.push(key, v);
    }
    LogRecord {
        timestamp,
        body,
        stream,
        attributes,
    }
}
