//! Line-protocol parser that gives the verdict and the stored point InfluxDB 1.x gives
//! (influxdata/influxdb `models/points.go`, checked against a real `influxd` 1.6 by the e2e
//! tests). A line is `measurement[,tag=value...] field=value[,field=value...] [timestamp]`.
//!
//! Escapes in the measurement and tags follow InfluxDB's rule: a delimiter (`,`, space, and
//! `=` in tags) is escaped when the byte right before it is a backslash, whatever escaped
//! that backslash. So in `t=\\ east` the space is escaped (the value is `\ east` once
//! unescaped), and `t=v\\ x=1` is a bad tag (the space is escaped, then `=` is not).
//! Unescaping removes a backslash before `,`, space and `=` in tags, and also before `"` in
//! the measurement and field keys; any other backslash stays. The field part is scanned
//! twice, as InfluxDB does: once to check it (`fields.rs`, where a backslash steps over the
//! next byte) and once to split it into keys and values (where the byte-before rule holds
//! again), so a key like `a\\` is refused as InfluxDB refuses it.
//!
//! Also as InfluxDB: tags come out sorted and a repeated tag key rejects the line
//! (`duplicate tags`); a repeated field keeps its last value, or rejects the line if the
//! types differ (`field type conflict`); `time` cannot be a tag key and a `time` field is
//! left out; a line without a timestamp gets the receive time truncated to the request's
//! precision. Deliberate differences (README "Compatibility"): `u` unsigned integers are
//! accepted, and a line that is not valid UTF-8 is rejected.
//!
//! A bad line becomes a [`LineError`] and parsing goes on with the next line, so a body can be
//! partly written. Every step is linear in the input (tags are sorted once) and nothing here
//! panics.

mod fields;

pub(super) use fields::byte_set;

use std::borrow::Cow;

use super::precision::Precision;
use super::split::Lines;
use crate::event::{Metric, Tags};

/// One rejected line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LineError {
    /// 1-based line number in the body (where the rejected point starts).
    pub line: usize,
    /// What is wrong, as InfluxDB says it: `unable to parse '<line>': <reason>`.
    pub message: String,
}

/// The metrics of every valid line and the errors of the others.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct ParseOutput {
    /// Parsed metrics, in body order.
    pub metrics: Vec<Metric>,
    /// Rejected lines, in body order.
    pub errors: Vec<LineError>,
}

/// Why a line was rejected.
type Reason = Cow<'static, str>;

/// How much of a bad line an error message quotes, in characters.
const QUOTE_CHARS: usize = 100;

/// Longest series key InfluxDB takes (measurement and tags as written, plus the field key
/// and 4 bytes of separator for each field).
const MAX_KEY_LENGTH: usize = 65535;

/// Timestamps InfluxDB can store, in ns (`models.MinNanoTime`, `models.MaxNanoTime`).
const MIN_NANO_TIME: i64 = i64::MIN + 2;
const MAX_NANO_TIME: i64 = i64::MAX - 1;

/// Bytes that escape in a measurement and field keys (`pkg/escape`).
const NAME_ESCAPES: &[u8] = b", =\"";
/// Bytes that escape in tag keys and values.
const TAG_ESCAPES: &[u8] = b", =";

/// Parses a whole body. Lines without a timestamp get `receive_time` (ns) truncated to
/// `precision`, as InfluxDB does.
pub fn parse_lines(body: &[u8], precision: Precision, receive_time: i64) -> ParseOutput {
    let default_time = precision.truncate(receive_time);
    let mut out = ParseOutput::default();
    let mut scratch = Scratch::default();
    for (number, block) in Lines::new(body) {
        let start = skip_whitespace(block, 0);
        if start >= block.len() || block[start] == b'#' {
            continue;
        }
        let line = block.strip_suffix(b"\n").unwrap_or(block);
        let line = line.get(start..).unwrap_or_default();
        let result = match std::str::from_utf8(line) {
            Ok(line) => parse_line(line, precision, default_time, &mut scratch),
            Err(_) => Err(Cow::Borrowed("invalid utf-8")),
        };
        match result {
            Ok(m) => out.metrics.push(m),
            Err(reason) => out.errors.push(LineError {
                line: number,
                message: message(line, &reason),
            }),
        }
    }
    out
}

/// `unable to parse '<start of line>': <reason>`.
fn message(raw: &[u8], reason: &str) -> String {
    let text = String::from_utf8_lossy(&raw[..raw.len().min(QUOTE_CHARS * 4)]);
    let quoted = match text.char_indices().nth(QUOTE_CHARS) {
        Some((cut, _)) => format!("{}...", &text[..cut]),
        None if raw.len() > QUOTE_CHARS * 4 => format!("{text}..."),
        None => text.into_owned(),
    };
    format!("unable to parse '{quoted}': {reason}")
}

/// InfluxDB's whitespace between sections: space, tab and NUL.
fn skip_whitespace(b: &[u8], mut i: usize) -> usize {
    while i < b.len() && matches!(b[i], b' ' | b'\t' | 0) {
        i += 1;
    }
    i
}

/// True when the byte before `i` is a backslash (InfluxDB's test for an escaped delimiter).
fn escaped(b: &[u8], i: usize) -> bool {
    i > 0 && b[i - 1] == b'\\'
}

/// Lists reused from line to line: the tag spans and raw fields of the line being parsed.
#[derive(Default)]
struct Scratch<'b> {
    tags: Vec<(Span, Span)>,
    fields: Vec<(&'b str, &'b str)>,
}

/// Parses one line (no newline, leading whitespace already skipped).
fn parse_line<'b>(
    line: &'b str,
    precision: Precision,
    default_time: i64,
    scratch: &mut Scratch<'b>,
) -> Result<Metric, Reason> {
    let b = line.as_bytes();
    let start = skip_whitespace(b, 0);
    let tags = &mut scratch.tags;
    let (name_end, key_end) = scan_key(b, start, tags)?;
    if key_end - start > MAX_KEY_LENGTH {
        return Err(format!(
            "max key length exceeded: {} > {MAX_KEY_LENGTH}",
            key_end - start
        )
        .into());
    }
    let raw_fields = &mut scratch.fields;
    let (fields_start, fields_end) = fields::scan(line, key_end, raw_fields)?;
    if raw_fields.is_empty() {
        fields::walk(&line[fields_start..fields_end], raw_fields)?;
    }
    for (key, _) in raw_fields.iter() {
        let size = key_end - start + 4 + key.len();
        if size > MAX_KEY_LENGTH {
            return Err(format!("max key length exceeded: {size} > {MAX_KEY_LENGTH}").into());
        }
    }
    let timestamp = scan_time(b, fields_end, precision)?.unwrap_or(default_time);

    let name = unescape(&line[start..name_end], NAME_ESCAPES);
    let mut m = Metric::new(name, timestamp);
    let mut list = Vec::with_capacity(tags.len());
    for &(k, v) in tags.iter() {
        let key = unescape(&line[k.0..k.1], TAG_ESCAPES);
        if key == "time" {
            return Err(format!(
                "invalid tag key: input tag \"time\" on measurement \"{}\" is invalid",
                m.measurement
            )
            .into());
        }
        list.push((key, unescape(&line[v.0..v.1], TAG_ESCAPES)));
    }
    // Sorted as written, usually; unescaping can change the order (`\ ` sorts after `A`,
    // ` ` before it), which `from_unsorted` restores.
    m.tags = Tags::from_unsorted(list);
    fields::store(&mut m, raw_fields)?;
    Ok(m)
}

/// A token's byte range in the line.
type Span = (usize, usize);

/// Scans the measurement and tags from `start` (`scanKey`): returns where the measurement
/// ends and where the key ends (the space before the fields), and fills `tags` (key and value
/// spans, sorted by key as written).
fn scan_key(
    b: &[u8],
    start: usize,
    tags: &mut Vec<(Span, Span)>,
) -> Result<(usize, usize), Reason> {
    tags.clear();
    if start >= b.len() || b[start] == b',' {
        return Err("missing measurement".into());
    }
    let mut i = start;
    let name_end = loop {
        i += 1;
        if i >= b.len() {
            return Err("missing fields".into());
        }
        if !escaped(b, i) && matches!(b[i], b',' | b' ') {
            break i;
        }
    };
    if b[name_end] == b' ' {
        return Ok((name_end, name_end));
    }
    i = name_end + 1;
    loop {
        // The key, up to an unescaped `=`.
        let key_start = i;
        if i >= b.len() || matches!(b[i], b' ' | b',' | b'=') {
            return Err("missing tag key".into());
        }
        let key_end = loop {
            i += 1;
            if i >= b.len() || (matches!(b[i], b' ' | b',') && !escaped(b, i)) {
                return Err("missing tag value".into());
            }
            if b[i] == b'=' && !escaped(b, i) {
                break i;
            }
        };
        // The value, up to an unescaped `,` (next tag) or space (the fields).
        i = key_end + 1;
        let value_start = i;
        if i >= b.len() || matches!(b[i], b',' | b' ') {
            return Err("missing tag value".into());
        }
        loop {
            i += 1;
            if i >= b.len() {
                return Err("missing fields".into());
            }
            if !escaped(b, i) && matches!(b[i], b'=' | b',' | b' ') {
                break;
            }
        }
        tags.push(((key_start, key_end), (value_start, i)));
        match b[i] {
            b'=' => return Err("invalid tag format".into()),
            b',' => i += 1,
            _ => break,
        }
    }
    let key = |t: &(Span, Span)| &b[t.0.0..t.0.1];
    if !tags.windows(2).all(|w| key(&w[0]) < key(&w[1])) {
        tags.sort_by(|x, y| key(x).cmp(key(y)));
        if tags.windows(2).any(|w| key(&w[0]) == key(&w[1])) {
            return Err("duplicate tags".into());
        }
    }
    Ok((name_end, i))
}

/// Scans the optional timestamp after the fields (`scanTime`); `None` when there is none.
fn scan_time(b: &[u8], from: usize, precision: Precision) -> Result<Option<i64>, Reason> {
    let start = skip_whitespace(b, from);
    let mut i = start;
    while i < b.len() && !matches!(b[i], b'\n' | b' ') {
        if !(b[i].is_ascii_digit() || (i == start && b[i] == b'-')) {
            return Err("bad timestamp".into());
        }
        i += 1;
    }
    let digits = &b[start..i];
    if digits.is_empty() {
        return Ok(None);
    }
    // Only ASCII digits and a sign remain.
    let text = std::str::from_utf8(digits).unwrap_or_default();
    let ts: i64 = text.parse().map_err(|e: std::num::ParseIntError| {
        let why = match e.kind() {
            std::num::IntErrorKind::PosOverflow | std::num::IntErrorKind::NegOverflow => {
                "value out of range"
            }
            _ => "invalid syntax",
        };
        Cow::Owned(format!("strconv.ParseInt: parsing {text:?}: {why}"))
    })?;
    let ns = precision
        .to_ns(ts)
        .filter(|ns| (MIN_NANO_TIME..=MAX_NANO_TIME).contains(ns))
        .ok_or_else(|| {
            Cow::Owned(format!(
                "time outside range {MIN_NANO_TIME} - {MAX_NANO_TIME}"
            ))
        })?;
    if b[i..].iter().any(|&c| c != b' ') {
        return Err("point is invalid".into());
    }
    Ok(Some(ns))
}

/// Removes the backslash of `\x` for each `x` in `set`; other backslashes stay.
fn unescape(token: &str, set: &[u8]) -> String {
    let b = token.as_bytes();
    if !b.contains(&b'\\') {
        return token.to_owned();
    }
    let mut out = String::with_capacity(token.len());
    let (mut from, mut i) = (0, 0);
    while i < b.len() {
        if b[i] == b'\\' && b.get(i + 1).is_some_and(|c| set.contains(c)) {
            out.push_str(&token[from..i]);
            from = i + 1;
            i += 2;
        } else {
            i += 1;
        }
    }
    out.push_str(&token[from..]);
    out
}
