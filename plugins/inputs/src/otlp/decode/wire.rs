//! A protobuf `ExportLogsServiceRequest` → records, read straight from the request's bytes
//! (no owned messages in between): the same records as prost's decoding followed by
//! [`super::logs`] (held to it by `tests/wire_matches_prost.rs`, on arbitrary requests and on
//! corrupted ones, which both refuse), with the same protobuf rules: unknown fields and
//! groups skipped, the last of a repeated scalar winning, repeated occurrences of a message
//! field merged (their bytes concatenated), strings checked for UTF-8.
//!
//! Each scope's records share one attribute list (resource, then scope). A record costs its
//! body (one copy out of the request) and its own attributes; the usual string, int, double,
//! bool and bytes values are read directly, anything else (arrays, maps, merged values) goes
//! through prost's `AnyValue` and the reference's conversion.

use std::sync::Arc;

use gleaner_api::otlp::proto::AnyValue;
use gleaner_api::otlp::wire::{Reader, Value, WireError};
use gleaner_api::otlp::{self, FromResource};
use gleaner_api::{Attributes, FieldValue, Key, LogRecord, SharedAttributes, Stream};
use prost::Message as _;

use super::{Decoded, field_value, tag_text};

/// Why a request could not be read.
#[derive(Debug, thiserror::Error)]
pub(crate) enum ReadLogsError {
    /// Malformed protobuf.
    #[error(transparent)]
    Wire(#[from] WireError),
    /// A nested value prost could not decode.
    #[error(transparent)]
    Value(#[from] prost::DecodeError),
}

type Result<T> = std::result::Result<T, ReadLogsError>;

/// Every occurrence of one message field: merged, as protobuf merges them.
#[derive(Default)]
enum Occurrences<'a> {
    #[default]
    None,
    One(&'a [u8]),
    Many(Vec<u8>),
}

impl<'a> Occurrences<'a> {
    fn push(&mut self, b: &'a [u8]) {
        *self = match std::mem::take(self) {
            Occurrences::None => Occurrences::One(b),
            Occurrences::One(a) => Occurrences::Many([a, b].concat()),
            Occurrences::Many(mut v) => {
                v.extend_from_slice(b);
                Occurrences::Many(v)
            }
        };
    }

    fn bytes(&self) -> Option<&[u8]> {
        match self {
            Occurrences::None => None,
            Occurrences::One(b) => Some(b),
            Occurrences::Many(v) => Some(v),
        }
    }
}

/// An `AnyValue` that is one string, bool, int, double or bytes member, read directly.
enum Simple<'a> {
    Empty,
    String(&'a str),
    Bool(bool),
    Int(i64),
    Double(f64),
    Bytes(&'a [u8]),
}

/// The one simple member of the `AnyValue` in `b`, or `None` when it needs prost.
fn simple(b: &[u8]) -> Result<Option<Simple<'_>>> {
    let mut r = Reader::new(b);
    let Some((field, v)) = r.next_field()? else {
        return Ok(Some(Simple::Empty));
    };
    if r.next_field()?.is_some() {
        return Ok(None);
    }
    Ok(match (field, v) {
        (1, Value::Len(_)) => Some(Simple::String(v.string(1)?)),
        (2, Value::Varint(x)) => Some(Simple::Bool(x != 0)),
        (3, Value::Varint(x)) => Some(Simple::Int(x as i64)),
        (4, Value::I64(x)) => Some(Simple::Double(f64::from_bits(x))),
        (7, Value::Len(x)) => Some(Simple::Bytes(x)),
        _ => None,
    })
}

/// An attribute value (`None` when empty), as [`field_value`] makes it.
fn value(occ: &Occurrences<'_>) -> Result<Option<FieldValue>> {
    let Some(b) = occ.bytes() else {
        return Ok(None);
    };
    Ok(match simple(b)? {
        Some(Simple::Empty) => None,
        Some(Simple::String(s)) => Some(FieldValue::String(s.into())),
        Some(Simple::Bool(x)) => Some(FieldValue::Bool(x)),
        Some(Simple::Int(x)) => Some(FieldValue::Int(x)),
        Some(Simple::Double(x)) => Some(FieldValue::Float(x)),
        Some(Simple::Bytes(_)) | None => field_value(Some(&AnyValue::decode(b)?)),
    })
}

/// A `KeyValue`: its key and its value's occurrences.
fn key_value(b: &[u8]) -> Result<(&str, Occurrences<'_>)> {
    let (mut key, mut val) = ("", Occurrences::None);
    let mut r = Reader::new(b);
    while let Some((field, v)) = r.next_field()? {
        match field {
            1 => key = v.string(1)?,
            2 => val.push(v.bytes(2)?),
            _ => {}
        }
    }
    Ok((key, val))
}

/// The Gleaner attributes of a request's resource (every occurrence, in order).
fn resource(occurrences: &[&[u8]], out: &mut Vec<(Key, FieldValue)>) -> Result<()> {
    for b in occurrences {
        let mut r = Reader::new(b);
        while let Some((field, v)) = r.next_field()? {
            match field {
                1 => {
                    let (k, val) = key_value(v.bytes(1)?)?;
                    let Some(val) = value(&val)? else {
                        continue;
                    };
                    match otlp::from_resource(k) {
                        FromResource::Key(k) => out.push((Key::from(k.into_owned()), val)),
                        FromResource::Workload(kind) => {
                            out.push((
                                Key::from_static(otlp::WORKLOAD_KIND),
                                FieldValue::String(kind.into()),
                            ));
                            out.push((Key::from_static(otlp::WORKLOAD), val));
                        }
                    }
                }
                2 => {
                    v.varint(2)?;
                }
                _ => {}
            }
        }
    }
    Ok(())
}

/// Appends a scope's attributes (every occurrence merged: the last name and version).
fn scope(occurrences: &[&[u8]], out: &mut Vec<(Key, FieldValue)>) -> Result<()> {
    let (mut name, mut version) = ("", "");
    let mut attributes = Vec::new();
    for b in occurrences {
        let mut r = Reader::new(b);
        while let Some((field, v)) = r.next_field()? {
            match field {
                1 => name = v.string(1)?,
                2 => version = v.string(2)?,
                3 => {
                    let (k, val) = key_value(v.bytes(3)?)?;
                    if let Some(val) = value(&val)? {
                        attributes.push((Key::from(format!("{}{k}", otlp::SCOPE_ATTRIBUTES)), val));
                    }
                }
                4 => {
                    v.varint(4)?;
                }
                _ => {}
            }
        }
    }
    if !name.is_empty() {
        out.push((
            Key::from_static(otlp::SCOPE_NAME),
            FieldValue::String(name.into()),
        ));
    }
    if !version.is_empty() {
        out.push((
            Key::from_static(otlp::SCOPE_VERSION),
            FieldValue::String(version.into()),
        ));
    }
    out.append(&mut attributes);
    Ok(())
}

/// The log records of a protobuf request.
///
/// # Errors
/// When the request is malformed (what prost would refuse).
pub(crate) fn logs(raw: &[u8], now: i64) -> Result<Decoded<LogRecord>> {
    let mut out = Decoded::default();
    let mut r = Reader::new(raw);
    while let Some((field, v)) = r.next_field()? {
        if field == 1 {
            resource_logs(v.bytes(1)?, now, &mut out.events)?;
        }
    }
    Ok(out)
}

fn resource_logs(b: &[u8], now: i64, out: &mut Vec<LogRecord>) -> Result<()> {
    let mut resources = Vec::new();
    let mut r = Reader::new(b);
    while let Some((field, v)) = r.next_field()? {
        match field {
            1 => resources.push(v.bytes(1)?),
            2 => {
                v.bytes(2)?;
            }
            3 => {
                v.string(3)?;
            }
            _ => {}
        }
    }
    let mut head = Vec::new();
    resource(&resources, &mut head)?;
    let mut r = Reader::new(b);
    while let Some((field, v)) = r.next_field()? {
        if field == 2 {
            scope_logs(v.bytes(2)?, &head, now, out)?;
        }
    }
    Ok(())
}

fn scope_logs(
    b: &[u8],
    resource: &[(Key, FieldValue)],
    now: i64,
    out: &mut Vec<LogRecord>,
) -> Result<()> {
    let mut scopes = Vec::new();
    let mut r = Reader::new(b);
    while let Some((field, v)) = r.next_field()? {
        match field {
            1 => scopes.push(v.bytes(1)?),
            2 => {
                v.bytes(2)?;
            }
            3 => {
                v.string(3)?;
            }
            _ => {}
        }
    }
    let mut list = resource.to_vec();
    scope(&scopes, &mut list)?;
    let shared: SharedAttributes = list.into();
    let mut r = Reader::new(b);
    while let Some((field, v)) = r.next_field()? {
        if field == 2 {
            out.push(record(v.bytes(2)?, &shared, now)?);
        }
    }
    Ok(())
}

/// The stream `log.iostream` names, when it names one.
fn stream_of(s: &str) -> Option<Stream> {
    match s {
        "stdout" => Some(Stream::Stdout),
        "stderr" => Some(Stream::Stderr),
        _ => None,
    }
}

/// One `LogRecord`, as `decode::record` makes it.
fn record(b: &[u8], shared: &SharedAttributes, now: i64) -> Result<LogRecord> {
    let (mut time, mut observed, mut severity_number) = (0u64, 0u64, 0i32);
    let (mut severity_text, mut event_name) = ("", "");
    let (mut trace_id, mut span_id): (&[u8], &[u8]) = (&[], &[]);
    let mut flags = 0u32;
    let mut body = Occurrences::None;
    let mut r = Reader::new(b);
    while let Some((field, v)) = r.next_field()? {
        match field {
            1 => time = v.fixed64(1)?,
            2 => severity_number = v.varint(2)? as i32,
            3 => severity_text = v.string(3)?,
            5 => body.push(v.bytes(5)?),
            6 => {
                v.bytes(6)?;
            }
            7 => {
                v.varint(7)?;
            }
            8 => flags = v.fixed32(8)?,
            9 => trace_id = v.bytes(9)?,
            10 => span_id = v.bytes(10)?,
            11 => observed = v.fixed64(11)?,
            12 => event_name = v.string(12)?,
            _ => {}
        }
    }
    let timestamp = [time, observed]
        .into_iter()
        .find(|t| *t != 0)
        .map_or(now, |t| i64::try_from(t).unwrap_or(i64::MAX));
    let body = match body.bytes() {
        None => Vec::new(),
        Some(b) => match simple(b)? {
            Some(Simple::Empty) => Vec::new(),
            Some(Simple::String(s)) => s.as_bytes().to_vec(),
            Some(Simple::Bytes(x)) => x.to_vec(),
            _ => match field_value(Some(&AnyValue::decode(b)?)) {
                Some(v) => tag_text(v).into_bytes(),
                None => Vec::new(),
            },
        },
    };
    let mut attributes = Attributes::from_shared(Arc::clone(shared));
    if !severity_text.is_empty() {
        attributes.push(otlp::SEVERITY, FieldValue::String(severity_text.into()));
    }
    if severity_number != otlp::severity_number(severity_text) {
        attributes.push(
            otlp::SEVERITY_NUMBER,
            FieldValue::Int(i64::from(severity_number)),
        );
    }
    if !trace_id.is_empty() {
        attributes.push(
            otlp::TRACE_ID,
            FieldValue::String(otlp::hex(trace_id).into()),
        );
    }
    if !span_id.is_empty() {
        attributes.push(otlp::SPAN_ID, FieldValue::String(otlp::hex(span_id).into()));
    }
    if flags != 0 {
        attributes.push(otlp::TRACE_FLAGS, FieldValue::Int(i64::from(flags)));
    }
    if !event_name.is_empty() {
        attributes.push(otlp::EVENT_NAME, FieldValue::String(event_name.into()));
    }
    let mut stream = Stream::Unknown;
    let mut r = Reader::new(b);
    while let Some((field, v)) = r.next_field()? {
        if field != 6 {
            continue;
        }
        let (key, val) = key_value(v.bytes(6)?)?;
        if key == otlp::IOSTREAM
            && let Some(b) = val.bytes()
            && let Some(Simple::String(s)) = simple(b)?
            && let Some(st) = stream_of(s)
        {
            stream = st;
            continue;
        }
        let Some(v) = value(&val)? else {
            continue;
        };
        if key == otlp::IOSTREAM
            && let FieldValue::String(s) = &v
            && let Some(st) = stream_of(s)
        {
            stream = st;
            continue;
        }
        attributes.push(key, v);
    }
    Ok(LogRecord {
        timestamp,
        body,
        stream,
        attributes,
    })
}
