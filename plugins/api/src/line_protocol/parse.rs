//! Line-protocol parser with InfluxDB 1.x semantics (influxdata/influxdb `models/points.go`).
//!
//! A line is `measurement[,tag=value...] field=value[,field=value...] [timestamp]`. In the
//! measurement, tags and field keys a backslash makes the next character part of the token;
//! unescaping turns `\,`, `\ ` and `\=` (only `\,` and `\ ` in the measurement) into the
//! character and leaves any other backslash as it is. String values are double-quoted, with
//! `\"` and `\\` unescaped, and may span lines (see `split.rs`). A duplicate field keeps its
//! last value; tags come out sorted by key.
//!
//! A bad line becomes a [`LineError`] and parsing goes on with the next line, so a body can be
//! partly written. Every step is linear in the input and nothing here panics.

use std::collections::{HashMap, HashSet};

use super::precision::Precision;
use super::split::Lines;
use crate::event::{FieldValue, Metric};

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

/// How much of a bad line an error message quotes, in characters.
const QUOTE_CHARS: usize = 100;

/// Field count up to which duplicates are looked for by a plain scan.
const SMALL_FIELDS: usize = 16;

/// Parses a whole body. Lines without a timestamp get `default_time` (ns).
pub fn parse_lines(body: &[u8], precision: Precision, default_time: i64) -> ParseOutput {
    let mut out = ParseOutput::default();
    for (number, raw) in Lines::new(body) {
        let raw = raw.strip_suffix(b"\r").unwrap_or(raw);
        if raw.is_empty() || raw[0] == b'#' {
            continue;
        }
        let result = match std::str::from_utf8(raw) {
            Ok(line) => parse_line(line, precision, default_time),
            Err(_) => Err("invalid utf-8"),
        };
        match result {
            Ok(m) => out.metrics.push(m),
            Err(reason) => out.errors.push(LineError {
                line: number,
                message: message(raw, reason),
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

/// Parses one line (no newline, leading whitespace already skipped).
fn parse_line(line: &str, precision: Precision, default_time: i64) -> Result<Metric, &'static str> {
    let b = line.as_bytes();
    let mut i = scan(b, 0, |c| c == b',' || c == b' ');
    if i == 0 {
        return Err("missing measurement");
    }
    let mut m = Metric::new(unescape(&line[..i], b", "), default_time);

    // Tags.
    while b.get(i) == Some(&b',') {
        let key_start = i + 1;
        let eq = scan(b, key_start, |c| c == b'=' || c == b',' || c == b' ');
        if b.get(eq) != Some(&b'=') {
            return Err("missing tag value");
        }
        if eq == key_start {
            return Err("missing tag key");
        }
        let value_start = eq + 1;
        i = scan(b, value_start, |c| c == b'=' || c == b',' || c == b' ');
        if b.get(i) == Some(&b'=') {
            return Err("invalid tag format");
        }
        if i == value_start {
            return Err("missing tag value");
        }
        m.tags.push((
            unescape(&line[key_start..eq], b", ="),
            unescape(&line[value_start..i], b", ="),
        ));
    }
    i = skip_spaces(b, i);
    if i >= b.len() {
        return Err("missing fields");
    }

    // Fields.
    loop {
        let key_start = i;
        let eq = scan(b, key_start, |c| c == b'=' || c == b',' || c == b' ');
        if eq == key_start {
            return Err("missing field key");
        }
        if b.get(eq) != Some(&b'=') {
            return Err("invalid field format");
        }
        let key = unescape(&line[key_start..eq], b", =");
        let (value, end) = parse_value(line, eq + 1)?;
        m.fields.push((key, value));
        i = end;
        match b.get(i) {
            Some(b',') => i += 1,
            Some(b' ') | None => break,
            Some(_) => return Err("invalid field format"),
        }
    }

    // Timestamp.
    i = skip_spaces(b, i);
    if i < b.len() {
        let end = b[i..]
            .iter()
            .position(|&c| c == b' ' || c == b'\t')
            .map_or(b.len(), |p| i + p);
        let ts = parse_int(&b[i..end]).ok_or("bad timestamp")?;
        m.timestamp = precision.to_ns(ts).ok_or("timestamp out of range")?;
        if skip_spaces(b, end) < b.len() {
            return Err("unexpected text after timestamp");
        }
    }

    if !m.tags.windows(2).all(|w| w[0].0 < w[1].0) {
        m.normalize_tags();
    }
    dedupe_fields(&mut m.fields);
    Ok(m)
}

/// The index of the first byte at or after `i` for which `stop` holds (or the end), stepping
/// over a backslash and the byte after it. Stop bytes are ASCII, so the result is always a
/// char boundary of a UTF-8 line.
fn scan(b: &[u8], mut i: usize, stop: impl Fn(u8) -> bool) -> usize {
    while i < b.len() {
        let c = b[i];
        if c == b'\\' {
            i += 2;
            continue;
        }
        if stop(c) {
            return i;
        }
        i += 1;
    }
    b.len()
}

fn skip_spaces(b: &[u8], mut i: usize) -> usize {
    while i < b.len() && (b[i] == b' ' || b[i] == b'\t') {
        i += 1;
    }
    i
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

/// Parses the value starting at `start`; returns it and the index just past it.
fn parse_value(line: &str, start: usize) -> Result<(FieldValue, usize), &'static str> {
    let b = line.as_bytes();
    match b.get(start) {
        None | Some(b',' | b' ') => Err("missing field value"),
        Some(b'"') => {
            let mut j = start + 1;
            while j < b.len() {
                match b[j] {
                    b'\\' => j += 2,
                    b'"' => {
                        let s = unescape_string(&line[start + 1..j]);
                        return Ok((FieldValue::String(s), j + 1));
                    }
                    _ => j += 1,
                }
            }
            Err("unbalanced quotes")
        }
        Some(_) => {
            let end = scan(b, start, |c| c == b',' || c == b' ');
            Ok((parse_scalar(&b[start..end])?, end))
        }
    }
}

/// `\"` becomes `"`, `\\` becomes `\`; any other backslash stays.
fn unescape_string(s: &str) -> String {
    let b = s.as_bytes();
    if !b.contains(&b'\\') {
        return s.to_owned();
    }
    let mut out = String::with_capacity(s.len());
    let (mut from, mut i) = (0, 0);
    while i < b.len() {
        if b[i] == b'\\' && matches!(b.get(i + 1), Some(b'"' | b'\\')) {
            out.push_str(&s[from..i]);
            from = i + 1;
            i += 2;
        } else {
            i += 1;
        }
    }
    out.push_str(&s[from..]);
    out
}

/// An unquoted value: integer, unsigned, boolean or float.
fn parse_scalar(v: &[u8]) -> Result<FieldValue, &'static str> {
    match v {
        b"t" | b"T" | b"true" | b"True" | b"TRUE" => return Ok(FieldValue::Bool(true)),
        b"f" | b"F" | b"false" | b"False" | b"FALSE" => return Ok(FieldValue::Bool(false)),
        _ => {}
    }
    match v.split_last() {
        Some((b'i', digits)) => parse_int(digits)
            .map(FieldValue::Int)
            .ok_or("invalid integer"),
        Some((b'u', digits)) => parse_uint(digits)
            .map(FieldValue::UInt)
            .ok_or("invalid unsigned"),
        _ => parse_float(v).map(FieldValue::Float),
    }
}

/// `-?[0-9]+` within i64.
fn parse_int(v: &[u8]) -> Option<i64> {
    let (neg, digits) = match v.split_first() {
        Some((b'-', rest)) => (true, rest),
        _ => (false, v),
    };
    let magnitude = parse_uint(digits)?;
    if neg {
        0i64.checked_sub_unsigned(magnitude)
    } else {
        i64::try_from(magnitude).ok()
    }
}

/// `[0-9]+` within u64.
fn parse_uint(v: &[u8]) -> Option<u64> {
    if v.is_empty() {
        return None;
    }
    v.iter().try_fold(0u64, |acc, &c| {
        let d = c.checked_sub(b'0').filter(|d| *d < 10)?;
        acc.checked_mul(10)?.checked_add(u64::from(d))
    })
}

/// A finite float in decimal or exponent notation (`1`, `-1.5`, `.5`, `1e3`, `1.E+78`).
fn parse_float(v: &[u8]) -> Result<f64, &'static str> {
    let body = v.strip_prefix(b"-").unwrap_or(v);
    let starts_ok = body
        .first()
        .is_some_and(|c| c.is_ascii_digit() || *c == b'.');
    let chars_ok = body
        .iter()
        .all(|c| c.is_ascii_digit() || b".eE+-".contains(c));
    if !starts_ok || !chars_ok {
        return Err("invalid number");
    }
    // Only ASCII digits, signs, dots and exponents remain, so this is valid UTF-8.
    let text = std::str::from_utf8(v).map_err(|_| "invalid number")?;
    let f: f64 = text.parse().map_err(|_| "invalid number")?;
    if f.is_finite() {
        Ok(f)
    } else {
        Err("value out of range")
    }
}

/// Keeps one field per key: at the position of its first occurrence, with its last value.
fn dedupe_fields(fields: &mut Vec<(String, FieldValue)>) {
    let n = fields.len();
    let has_dup = if n <= SMALL_FIELDS {
        (1..n).any(|i| fields[..i].iter().any(|(k, _)| *k == fields[i].0))
    } else {
        let mut seen = HashSet::with_capacity(n);
        !fields.iter().all(|(k, _)| seen.insert(k.as_str()))
    };
    if !has_dup {
        return;
    }
    let mut index: HashMap<String, usize> = HashMap::with_capacity(n);
    let mut out: Vec<(String, FieldValue)> = Vec::with_capacity(n);
    for (k, v) in fields.drain(..) {
        match index.get(&k) {
            Some(&at) => out[at].1 = v,
            None => {
                index.insert(k.clone(), out.len());
                out.push((k, v));
            }
        }
    }
    *fields = out;
}
