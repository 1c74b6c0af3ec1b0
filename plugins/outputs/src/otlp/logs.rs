//! Log records → one `ExportLogsServiceRequest` (pure).
//!
//! Each record's attributes are sorted by `gleaner_api::otlp::place`: Kubernetes and host
//! attributes (and `resource.<k>`) become resource attributes under their semantic-conventions
//! names, `scope.*` the instrumentation scope, the rest log record attributes. Records with the
//! same resource share one `ResourceLogs` (in order of first appearance), and within it the
//! same scope one `ScopeLogs`. Record fields:
//!
//! - body: the message as `string_value` when it is UTF-8, else `bytes_value`;
//! - `time_unix_nano` and `observed_time_unix_nano`: the record's timestamp;
//! - `severity_text`: the `severity` attribute; `severity_number`: the `severity_number`
//!   attribute, else the number the text implies (both attributes are consumed);
//! - `trace_id`, `span_id` (hex attributes of the right length), `trace_flags`, `event_name`:
//!   their fields (consumed); the stream: `log.iostream` = `stdout`/`stderr`.
//!
//! Integer attributes stay integers, unsigned ones above `i64::MAX` become doubles.
//!
//! [`request`] builds the owned messages (the reference, in tests); `wire.rs` writes the same
//! bytes straight from the records, which is what the output sends.

pub(crate) mod wire;

use gleaner_api::FieldValue;
use gleaner_api::otlp::proto::{AnyValue, InstrumentationScope, KeyValue, any_value::Value};
#[cfg(test)]
use gleaner_api::otlp::proto::{
    ExportLogsServiceRequest, LogRecord as OtlpRecord, Resource, ResourceLogs, ScopeLogs,
};
use gleaner_api::otlp::{self, Place};
#[cfg(test)]
use gleaner_api::{LogRecord, Stream};

/// The OTLP value of an attribute.
pub(crate) fn any_value(v: &FieldValue) -> AnyValue {
    let value = match v {
        FieldValue::String(s) => Value::StringValue(s.to_string()),
        FieldValue::Int(i) => Value::IntValue(*i),
        FieldValue::UInt(u) => match i64::try_from(*u) {
            Ok(i) => Value::IntValue(i),
            Err(_) => Value::DoubleValue(*u as f64),
        },
        FieldValue::Float(f) => Value::DoubleValue(*f),
        FieldValue::Bool(b) => Value::BoolValue(*b),
    };
    AnyValue { value: Some(value) }
}

/// A key and its value.
#[cfg(test)]
pub(crate) fn key_value(key: &str, v: &FieldValue) -> KeyValue {
    kv(key, v)
}

/// A string key value.
pub(crate) fn string_kv(key: &str, v: &str) -> KeyValue {
    KeyValue {
        key: key.to_owned(),
        value: Some(AnyValue {
            value: Some(Value::StringValue(v.to_owned())),
        }),
    }
}

/// Resource and scope of one record (or metric), as they are grouped by.
#[derive(Debug, Clone, PartialEq, Default)]
pub(crate) struct Origin {
    pub(crate) resource: Vec<KeyValue>,
    pub(crate) scope: InstrumentationScope,
}

/// A value that can sit in an attribute: a log attribute's [`FieldValue`] or a metric's tag.
pub(crate) trait AttrValue {
    /// As an OTLP value.
    fn any(&self) -> AnyValue;
    /// As text (scope name and version).
    fn text(&self) -> String;
    /// The text, when it is a string.
    fn as_str(&self) -> Option<&str>;
}

impl AttrValue for FieldValue {
    fn any(&self) -> AnyValue {
        any_value(self)
    }
    fn text(&self) -> String {
        self.to_string()
    }
    fn as_str(&self) -> Option<&str> {
        match self {
            FieldValue::String(s) => Some(s),
            _ => None,
        }
    }
}

impl AttrValue for str {
    fn any(&self) -> AnyValue {
        AnyValue {
            value: Some(Value::StringValue(self.to_owned())),
        }
    }
    fn text(&self) -> String {
        self.to_owned()
    }
    fn as_str(&self) -> Option<&str> {
        Some(self)
    }
}

fn kv<V: AttrValue + ?Sized>(key: &str, v: &V) -> KeyValue {
    KeyValue {
        key: key.to_owned(),
        value: Some(v.any()),
    }
}

/// Sorts `attrs` into the record's origin (resource and scope) and what `rest` is given.
pub(crate) fn split<'a, V: AttrValue + ?Sized + 'a>(
    attrs: impl Iterator<Item = (&'a str, &'a V)>,
    mut rest: impl FnMut(&'a str, &'a V),
) -> Origin {
    let mut origin = Origin::default();
    let (mut kind, mut workload): (Option<&'a V>, Option<&'a V>) = (None, None);
    for (k, v) in attrs {
        match otlp::place(k) {
            Place::Resource(r) => origin.resource.push(kv(&r, v)),
            Place::ScopeName => origin.scope.name = v.text(),
            Place::ScopeVersion => origin.scope.version = v.text(),
            Place::ScopeAttribute(a) => origin.scope.attributes.push(kv(a, v)),
            Place::Workload if k == otlp::WORKLOAD_KIND => kind = Some(v),
            Place::Workload => workload = Some(v),
            Place::Record => rest(k, v),
        }
    }
    let known = match (kind.and_then(AttrValue::as_str), workload) {
        (Some(kind), Some(w)) => otlp::workload_resource_key(kind).map(|r| (r, w)),
        _ => None,
    };
    match known {
        Some((r, w)) => origin.resource.push(kv(r, w)),
        None => {
            if let Some(k) = kind {
                rest(otlp::WORKLOAD_KIND, k);
            }
            if let Some(w) = workload {
                rest(otlp::WORKLOAD, w);
            }
        }
    }
    origin
}

#[cfg(test)]
/// The record fields carried as attributes, taken out of the attribute list.
#[derive(Default)]
struct Fields<'a> {
    severity: Option<&'a str>,
    severity_number: Option<i32>,
    trace_id: Vec<u8>,
    span_id: Vec<u8>,
    flags: u32,
    event_name: Option<&'a str>,
}

#[cfg(test)]
impl<'a> Fields<'a> {
    /// Takes `(k, v)` when it is one of the record's own fields.
    fn take(&mut self, k: &str, v: &'a FieldValue) -> bool {
        match (k, v) {
            (otlp::SEVERITY, FieldValue::String(s)) => self.severity = Some(s),
            (otlp::SEVERITY_NUMBER, FieldValue::Int(n)) if (0..=24).contains(n) => {
                self.severity_number = Some(*n as i32);
            }
            (otlp::TRACE_ID, FieldValue::String(s)) if s.len() == 32 => match otlp::unhex(s) {
                Some(b) => self.trace_id = b,
                None => return false,
            },
            (otlp::SPAN_ID, FieldValue::String(s)) if s.len() == 16 => match otlp::unhex(s) {
                Some(b) => self.span_id = b,
                None => return false,
            },
            (otlp::TRACE_FLAGS, FieldValue::Int(n)) => match u32::try_from(*n) {
                Ok(f) => self.flags = f,
                Err(_) => return false,
            },
            (otlp::EVENT_NAME, FieldValue::String(s)) => self.event_name = Some(s),
            _ => return false,
        }
        true
    }
}

#[cfg(test)]
/// One resource's records, by scope.
struct Group {
    resource: Vec<KeyValue>,
    scopes: Vec<ScopeLogs>,
}

#[cfg(test)]
/// The request carrying `records`.
pub(crate) fn request(records: &[LogRecord]) -> ExportLogsServiceRequest {
    let mut groups: Vec<Group> = Vec::new();
    for r in records {
        let mut fields = Fields::default();
        let mut attributes: Vec<KeyValue> = Vec::new();
        let origin = split(r.attributes.iter().map(|(k, v)| (k.as_str(), v)), |k, v| {
            if !fields.take(k, v) {
                attributes.push(key_value(k, v));
            }
        });
        match r.stream {
            Stream::Stdout | Stream::Stderr => {
                attributes.push(string_kv(otlp::IOSTREAM, r.stream.as_str()));
            }
            Stream::Unknown => {}
        }
        let record = record(r, fields, attributes);
        let (g, s) = place_in(&mut groups, origin);
        groups[g].scopes[s].log_records.push(record);
    }
    ExportLogsServiceRequest {
        resource_logs: groups
            .into_iter()
            .map(|g| ResourceLogs {
                resource: Some(Resource {
                    attributes: g.resource,
                    dropped_attributes_count: 0,
                }),
                scope_logs: g.scopes,
                schema_url: String::new(),
            })
            .collect(),
    }
}

#[cfg(test)]
/// The group and scope index of `origin`, made when new (searched from the last: records of
/// one source come together).
fn place_in(groups: &mut Vec<Group>, origin: Origin) -> (usize, usize) {
    let g = match groups.iter().rposition(|g| g.resource == origin.resource) {
        Some(g) => g,
        None => {
            groups.push(Group {
                resource: origin.resource,
                scopes: Vec::new(),
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
            scopes.push(ScopeLogs {
                scope: Some(origin.scope),
                log_records: Vec::new(),
                schema_url: String::new(),
            });
            scopes.len() - 1
        }
    };
    (g, s)
}

#[cfg(test)]
fn record(r: &LogRecord, f: Fields<'_>, attributes: Vec<KeyValue>) -> OtlpRecord {
    let time = u64::try_from(r.timestamp).unwrap_or(0);
    let body = match std::str::from_utf8(&r.body) {
        Ok(s) => Value::StringValue(s.to_owned()),
        Err(_) => Value::BytesValue(r.body.clone()),
    };
    let severity_text = f.severity.unwrap_or_default();
    OtlpRecord {
        time_unix_nano: time,
        observed_time_unix_nano: time,
        severity_number: f
            .severity_number
            .unwrap_or_else(|| otlp::severity_number(severity_text)),
        severity_text: severity_text.to_owned(),
        body: Some(AnyValue { value: Some(body) }),
        attributes,
        dropped_attributes_count: 0,
        flags: f.flags,
        trace_id: f.trace_id,
        span_id: f.span_id,
        event_name: f.event_name.unwrap_or_default().to_owned(),
    }
}
