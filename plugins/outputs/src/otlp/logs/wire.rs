//! Log records → the protobuf bytes of one `ExportLogsServiceRequest`, written straight from
//! the records, without the owned messages of [`super::request`] (which stays as the
//! reference: the bytes here are prost's encoding of that request, byte for byte, checked by
//! `tests/wire_matches_prost.rs`). Same mapping, same grouping, same order.
//!
//! Records that share an attribute list (a tailed file's, an OTLP scope's, a filter's edited
//! copy) have that list's resource and scope unless their own attributes name a resource or
//! scope key: the origin of each list is worked out once per request (the list is known by
//! its pointer), so such a record costs no resource work at all. Two passes, as protobuf
//! writes each message's length before it: plan (grouping, the record fields taken out of the
//! attributes, every length), then write.

use std::collections::HashMap;

use gleaner_api::otlp::proto::{InstrumentationScope, KeyValue, Resource};
use gleaner_api::otlp::wire::{
    I32, I64, LEN, VARINT, key, nested_len, put_bytes, put_len, put_str, put_varint, str_len,
    varint_len,
};
use gleaner_api::otlp::{self};
use gleaner_api::{FieldValue, LogRecord, Stream};

/// One attribute as records keep it.
type Attribute = (gleaner_api::Key, FieldValue);
use prost::Message as _;

use super::{Origin, split};

/// `ExportLogsServiceRequest.resource_logs`.
const REQUEST_RESOURCE_LOGS: u8 = key(1, LEN);
/// `ResourceLogs.resource`, `.scope_logs`.
const RL_RESOURCE: u8 = key(1, LEN);
const RL_SCOPE_LOGS: u8 = key(2, LEN);
/// `ScopeLogs.scope`, `.log_records`.
const SL_SCOPE: u8 = key(1, LEN);
const SL_RECORDS: u8 = key(2, LEN);
/// `LogRecord` fields.
const LR_TIME: u8 = key(1, I64);
const LR_SEVERITY_NUMBER: u8 = key(2, VARINT);
const LR_SEVERITY_TEXT: u8 = key(3, LEN);
const LR_BODY: u8 = key(5, LEN);
const LR_ATTRIBUTES: u8 = key(6, LEN);
const LR_FLAGS: u8 = key(8, I32);
const LR_TRACE_ID: u8 = key(9, LEN);
const LR_SPAN_ID: u8 = key(10, LEN);
const LR_OBSERVED_TIME: u8 = key(11, I64);
const LR_EVENT_NAME: u8 = key(12, LEN);
/// `KeyValue.key`, `.value`.
const KV_KEY: u8 = key(1, LEN);
const KV_VALUE: u8 = key(2, LEN);
/// `AnyValue` oneof members.
const ANY_STRING: u8 = key(1, LEN);
const ANY_BOOL: u8 = key(2, VARINT);
const ANY_INT: u8 = key(3, VARINT);
const ANY_DOUBLE: u8 = key(4, I64);
const ANY_BYTES: u8 = key(7, LEN);

/// An attribute as the encoder sees it.
type Pair<'a> = (&'a str, &'a FieldValue);

/// Bytes of the `AnyValue` of `v` (its one member is always written, even when empty).
fn any_len(v: &FieldValue) -> usize {
    match v {
        FieldValue::String(s) => nested_len(s.len()),
        FieldValue::Int(i) => 1 + varint_len(*i as u64),
        FieldValue::UInt(u) => match i64::try_from(*u) {
            Ok(i) => 1 + varint_len(i as u64),
            Err(_) => 9,
        },
        FieldValue::Float(_) => 9,
        FieldValue::Bool(_) => 2,
    }
}

fn put_any(buf: &mut Vec<u8>, v: &FieldValue) {
    let double = |buf: &mut Vec<u8>, f: f64| {
        buf.push(ANY_DOUBLE);
        buf.extend_from_slice(&f.to_bits().to_le_bytes());
    };
    match v {
        FieldValue::String(s) => put_bytes(buf, ANY_STRING, s.as_bytes()),
        FieldValue::Int(i) => {
            buf.push(ANY_INT);
            put_varint(buf, *i as u64);
        }
        FieldValue::UInt(u) => match i64::try_from(*u) {
            Ok(i) => {
                buf.push(ANY_INT);
                put_varint(buf, i as u64);
            }
            Err(_) => double(buf, *u as f64),
        },
        FieldValue::Float(f) => double(buf, *f),
        FieldValue::Bool(b) => {
            buf.push(ANY_BOOL);
            buf.push(u8::from(*b));
        }
    }
}

/// Bytes of a `KeyValue`.
fn kv_len(k: &str, v: &FieldValue) -> usize {
    str_len(k.as_bytes()) + nested_len(any_len(v))
}

/// Writes a record attribute (`LogRecord.attributes` entry).
fn put_attribute(buf: &mut Vec<u8>, k: &str, v: &FieldValue) {
    put_len(buf, LR_ATTRIBUTES, kv_len(k, v));
    put_str(buf, KV_KEY, k.as_bytes());
    put_len(buf, KV_VALUE, any_len(v));
    put_any(buf, v);
}

/// The stream attribute's value, when the record has one.
fn stream_value(s: Stream) -> Option<&'static str> {
    match s {
        Stream::Stdout | Stream::Stderr => Some(s.as_str()),
        Stream::Unknown => None,
    }
}

/// Bytes of the `log.iostream` attribute with string value `v` (as [`kv_len`] of it).
fn stream_len(v: &str) -> usize {
    str_len(otlp::IOSTREAM.as_bytes()) + nested_len(nested_len(v.len()))
}

/// Writes the `log.iostream` attribute (as [`put_attribute`] does, without a `FieldValue`).
fn put_stream(buf: &mut Vec<u8>, v: &str) {
    put_len(buf, LR_ATTRIBUTES, stream_len(v));
    put_str(buf, KV_KEY, otlp::IOSTREAM.as_bytes());
    put_len(buf, KV_VALUE, nested_len(v.len()));
    put_bytes(buf, ANY_STRING, v.as_bytes());
}

/// `hex` (exactly `2 * N` hex digits) as bytes.
fn unhex<const N: usize>(hex: &str) -> Option<[u8; N]> {
    let t = hex.as_bytes();
    if t.len() != 2 * N {
        return None;
    }
    let digit = |c: u8| char::from(c).to_digit(16).map(|d| d as u8);
    let mut out = [0u8; N];
    for (o, p) in out.iter_mut().zip(t.chunks_exact(2)) {
        *o = digit(p[0])? << 4 | digit(p[1])?;
    }
    Some(out)
}

/// One of the record fields carried as an attribute (see the mapping in `logs.rs`).
enum RecordField<'a> {
    Severity(&'a str),
    SeverityNumber(i32),
    TraceId([u8; 16]),
    SpanId([u8; 8]),
    Flags(u32),
    EventName(&'a str),
}

/// The record field `(k, v)` is, when it is one (the same test as `Fields::take`).
fn record_field<'a>(k: &str, v: &'a FieldValue) -> Option<RecordField<'a>> {
    Some(match (k, v) {
        (otlp::SEVERITY, FieldValue::String(s)) => RecordField::Severity(s),
        (otlp::SEVERITY_NUMBER, FieldValue::Int(n)) if (0..=24).contains(n) => {
            RecordField::SeverityNumber(*n as i32)
        }
        (otlp::TRACE_ID, FieldValue::String(s)) => RecordField::TraceId(unhex(s)?),
        (otlp::SPAN_ID, FieldValue::String(s)) => RecordField::SpanId(unhex(s)?),
        (otlp::TRACE_FLAGS, FieldValue::Int(n)) => RecordField::Flags(u32::try_from(*n).ok()?),
        (otlp::EVENT_NAME, FieldValue::String(s)) => RecordField::EventName(s),
        _ => return None,
    })
}

/// A record's fields, the last of each kind winning.
#[derive(Default)]
struct Fields<'a> {
    severity: &'a str,
    severity_number: Option<i32>,
    trace_id: Option<[u8; 16]>,
    span_id: Option<[u8; 8]>,
    flags: u32,
    event_name: &'a str,
}

impl<'a> Fields<'a> {
    fn set(&mut self, f: RecordField<'a>) {
        match f {
            RecordField::Severity(s) => self.severity = s,
            RecordField::SeverityNumber(n) => self.severity_number = Some(n),
            RecordField::TraceId(b) => self.trace_id = Some(b),
            RecordField::SpanId(b) => self.span_id = Some(b),
            RecordField::Flags(f) => self.flags = f,
            RecordField::EventName(s) => self.event_name = s,
        }
    }

    fn severity_number(&self) -> i32 {
        self.severity_number
            .unwrap_or_else(|| otlp::severity_number(self.severity))
    }
}

/// What a shared attribute list gives the records that add only record attributes to it.
struct ListPlan<'a> {
    at: (usize, usize),
    /// The list's record attributes (they come first).
    head: Vec<Pair<'a>>,
    /// Its workload attributes without a resource name (they come after the record's own).
    tail: Vec<Pair<'a>>,
}

/// Where a record's attributes come from.
#[derive(Clone, Copy)]
enum Source {
    /// A list plan (index), then the record's own attributes.
    List(usize),
    /// Worked out for this record alone: a range of `Plan::slow`.
    Alone(usize, usize),
}

/// One record, planned.
struct Planned<'a> {
    record: &'a LogRecord,
    source: Source,
    fields: Fields<'a>,
    utf8: bool,
    len: usize,
}

/// One resource's scopes, each with its records (indices into `Plan::records`).
struct Group {
    resource: Vec<KeyValue>,
    scopes: Vec<(InstrumentationScope, Vec<usize>)>,
}

/// The request laid out before it is written.
#[derive(Default)]
struct Plan<'a> {
    groups: Vec<Group>,
    lists: Vec<ListPlan<'a>>,
    /// List pointer → index in `lists` (0: records without a shared list).
    by_pointer: HashMap<usize, usize>,
    slow: Vec<Pair<'a>>,
    records: Vec<Planned<'a>>,
}

/// The group and scope index of `origin`, made when new: [`super::place_in`]'s rule.
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
    let s = match scopes.iter().rposition(|(s, _)| *s == origin.scope) {
        Some(s) => s,
        None => {
            scopes.push((origin.scope, Vec::new()));
            scopes.len() - 1
        }
    };
    (g, s)
}

fn pairs(attrs: &[Attribute]) -> impl Iterator<Item = Pair<'_>> {
    attrs.iter().map(|(k, v)| (k.as_str(), v))
}

impl<'a> Plan<'a> {
    /// The plan of the shared list `shared` (made on first sight).
    fn list(&mut self, shared: &'a [Attribute]) -> usize {
        let pointer = if shared.is_empty() {
            0
        } else {
            shared.as_ptr() as usize
        };
        if let Some(&i) = self.by_pointer.get(&pointer) {
            return i;
        }
        let mut rest = Vec::new();
        let origin = split(pairs(shared), |k, v| rest.push((k, v)));
        let head_len = shared
            .iter()
            .filter(|(k, _)| otlp::is_record_key(k))
            .count();
        let tail = rest.split_off(head_len);
        let at = place_in(&mut self.groups, origin);
        self.lists.push(ListPlan {
            at,
            head: rest,
            tail,
        });
        self.by_pointer.insert(pointer, self.lists.len() - 1);
        self.lists.len() - 1
    }

    /// Calls `f` with every attribute of a record, in the reference's order.
    fn for_each(&self, r: &'a LogRecord, source: Source, mut f: impl FnMut(Pair<'a>)) {
        match source {
            Source::List(i) => {
                let l = &self.lists[i];
                l.head.iter().for_each(|p| f(*p));
                pairs(r.attributes.own_part()).for_each(&mut f);
                l.tail.iter().for_each(|p| f(*p));
            }
            Source::Alone(a, b) => self.slow[a..b].iter().for_each(|p| f(*p)),
        }
    }

    fn add(&mut self, r: &'a LogRecord) {
        let (source, at) = if r
            .attributes
            .own_part()
            .iter()
            .all(|(k, _)| otlp::is_record_key(k))
        {
            let i = self.list(r.attributes.shared_part());
            (Source::List(i), self.lists[i].at)
        } else {
            let start = self.slow.len();
            let slow = &mut self.slow;
            let origin = split(r.attributes.iter().map(|(k, v)| (k.as_str(), v)), |k, v| {
                slow.push((k, v))
            });
            (
                Source::Alone(start, self.slow.len()),
                place_in(&mut self.groups, origin),
            )
        };
        let mut fields = Fields::default();
        let mut attrs_len = 0;
        self.for_each(r, source, |(k, v)| match record_field(k, v) {
            Some(f) => fields.set(f),
            None => attrs_len += nested_len(kv_len(k, v)),
        });
        if let Some(v) = stream_value(r.stream) {
            attrs_len += nested_len(stream_len(v));
        }
        let time = if r.timestamp > 0 { 9 } else { 0 };
        let n = fields.severity_number();
        let len = 2 * time
            + if n != 0 {
                1 + varint_len(i64::from(n) as u64)
            } else {
                0
            }
            + str_len(fields.severity.as_bytes())
            + nested_len(nested_len(r.body.len()))
            + attrs_len
            + if fields.flags != 0 { 5 } else { 0 }
            + fields.trace_id.map_or(0, |t| nested_len(t.len()))
            + fields.span_id.map_or(0, |s| nested_len(s.len()))
            + str_len(fields.event_name.as_bytes());
        let utf8 = std::str::from_utf8(&r.body).is_ok();
        self.groups[at.0].scopes[at.1].1.push(self.records.len());
        self.records.push(Planned {
            record: r,
            source,
            fields,
            utf8,
            len,
        });
    }

    fn write_record(&self, buf: &mut Vec<u8>, p: &Planned<'a>) {
        let r = p.record;
        let f = &p.fields;
        put_len(buf, SL_RECORDS, p.len);
        let time = u64::try_from(r.timestamp).unwrap_or(0);
        if time != 0 {
            buf.push(LR_TIME);
            buf.extend_from_slice(&time.to_le_bytes());
        }
        let n = f.severity_number();
        if n != 0 {
            buf.push(LR_SEVERITY_NUMBER);
            put_varint(buf, i64::from(n) as u64);
        }
        put_str(buf, LR_SEVERITY_TEXT, f.severity.as_bytes());
        put_len(buf, LR_BODY, nested_len(r.body.len()));
        put_bytes(buf, if p.utf8 { ANY_STRING } else { ANY_BYTES }, &r.body);
        self.for_each(r, p.source, |(k, v)| {
            if record_field(k, v).is_none() {
                put_attribute(buf, k, v);
            }
        });
        if let Some(v) = stream_value(r.stream) {
            put_stream(buf, v);
        }
        if f.flags != 0 {
            buf.push(LR_FLAGS);
            buf.extend_from_slice(&f.flags.to_le_bytes());
        }
        if let Some(t) = &f.trace_id {
            put_bytes(buf, LR_TRACE_ID, t);
        }
        if let Some(s) = &f.span_id {
            put_bytes(buf, LR_SPAN_ID, s);
        }
        if time != 0 {
            buf.push(LR_OBSERVED_TIME);
            buf.extend_from_slice(&time.to_le_bytes());
        }
        put_str(buf, LR_EVENT_NAME, f.event_name.as_bytes());
    }
}

/// Appends the request carrying `records` to `buf`.
pub(crate) fn encode(records: &[LogRecord], buf: &mut Vec<u8>) {
    let mut plan = Plan::default();
    plan.records.reserve(records.len());
    for r in records {
        plan.add(r);
    }
    let mut scratch = Vec::new();
    for g in &plan.groups {
        let resource = Resource {
            attributes: g.resource.clone(),
            dropped_attributes_count: 0,
        };
        let scopes: Vec<(usize, usize)> = g
            .scopes
            .iter()
            .map(|(scope, recs)| {
                let records: usize = recs.iter().map(|&i| nested_len(plan.records[i].len)).sum();
                (
                    scope.encoded_len(),
                    nested_len(scope.encoded_len()) + records,
                )
            })
            .collect();
        let rl_len = nested_len(resource.encoded_len())
            + scopes.iter().map(|&(_, l)| nested_len(l)).sum::<usize>();
        buf.reserve(nested_len(rl_len));
        put_len(buf, REQUEST_RESOURCE_LOGS, rl_len);
        scratch.clear();
        resource.encode_raw(&mut scratch);
        put_bytes(buf, RL_RESOURCE, &scratch);
        for ((scope, recs), (scope_len, sl_len)) in g.scopes.iter().zip(scopes) {
            put_len(buf, RL_SCOPE_LOGS, sl_len);
            put_len(buf, SL_SCOPE, scope_len);
            scope.encode_raw(buf);
            for &i in recs {
                plan.write_record(buf, &plan.records[i]);
            }
        }
    }
}
