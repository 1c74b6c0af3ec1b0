//! Line-protocol encoder, Telegraf-compatible (influxdata/telegraf
//! `plugins/serializers/influx`).
//!
//! Escaping: the measurement escapes `,` and space; tag keys, tag values and field keys escape
//! `,`, `=` and space; all of them write tab, newline, form feed and carriage return as the
//! two-character sequences `\t`, `\n`, `\f`, `\r` so a line never breaks. Backslashes are not
//! doubled (Telegraf does not), and trailing backslashes are trimmed because they would escape
//! the delimiter that follows. String values are double-quoted with `\` and `"` escaped; raw
//! newlines stay inside the quotes.
//!
//! What cannot be written is left out or altered, and said in the [`EncodeOutcome`] so the
//! outputs count it under its own reason: NaN/±Inf fields, field keys and tags made only of
//! backslashes (a tag whose value is empty to begin with is no tag and is not counted), a
//! measurement made only of backslashes (nothing is written), and every name or tag value
//! whose trailing backslashes were cut ([`trimmed_parts`] names them for a warning).
//!
//! Other limits, where InfluxDB 1.x reads back something else than what was written (its
//! parser's rules, see `parse.rs`): in the measurement a backslash before `=` or `"` is lost;
//! in field keys a backslash right before `,`, `=`, space or `"` breaks the line; a
//! measurement starting with `#` reads as a comment and one starting with NUL loses it; and a
//! backslash before a space in the measurement or a tag makes InfluxDB's line splitter count
//! that space as the start of the fields, so a later `"` in a tag or a newline in a string
//! value can cut or join lines of a multi-line body.
//!
//! The encoder appends to the caller's buffer and allocates nothing else.

use std::io::Write as _;

use crate::event::{FieldValue, Metric};

/// What happened to one metric.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct EncodeOutcome {
    /// True when a line was written.
    pub written: bool,
    /// Fields left out because their value is NaN or ±Inf.
    pub dropped_fields: usize,
    /// Fields left out because their key is empty once trailing backslashes are trimmed.
    pub empty_field_keys: usize,
    /// Tags left out because their key or value is empty once trailing backslashes are trimmed
    /// (a tag whose value is empty to begin with is no tag and is not counted).
    pub empty_tags: usize,
    /// True when nothing was written because the measurement is made only of backslashes.
    pub empty_measurement: bool,
    /// Names and tag values written without their trailing backslashes.
    pub trimmed: usize,
}

impl EncodeOutcome {
    /// True when trimming trailing backslashes dropped or changed something.
    pub const fn altered(&self) -> bool {
        self.empty_field_keys + self.empty_tags + self.trimmed > 0 || self.empty_measurement
    }
}

/// Which characters an element escapes with a backslash.
#[derive(Clone, Copy)]
enum Element {
    /// `,` and space.
    Measurement,
    /// `,`, `=` and space (tag keys, tag values, field keys).
    Key,
}

/// Appends `m` as one line (with a trailing `\n`) to `out`, timestamp in ns.
///
/// Nothing is written (and `written` is false) when the measurement is empty or no field
/// can be written; `out` is then left as it was.
pub fn encode_metric(m: &Metric, out: &mut Vec<u8>) -> EncodeOutcome {
    let mut outcome = EncodeOutcome::default();
    let measurement = trim_backslashes(&m.measurement);
    if measurement.is_empty() {
        outcome.empty_measurement = !m.measurement.is_empty();
        return outcome;
    }
    outcome.trimmed += usize::from(measurement.len() < m.measurement.len());
    let start = out.len();
    escape_into(out, measurement, Element::Measurement);
    for (key, value) in &m.tags {
        let (k, v) = (trim_backslashes(key), trim_backslashes(value));
        if k.is_empty() || v.is_empty() {
            outcome.empty_tags += usize::from(!value.is_empty());
            continue;
        }
        outcome.trimmed += usize::from(k.len() < key.len()) + usize::from(v.len() < value.len());
        out.push(b',');
        escape_into(out, k, Element::Key);
        out.push(b'=');
        escape_into(out, v, Element::Key);
    }
    let mut sep = b' ';
    let mut trimmed_keys = 0;
    for (key, v) in &m.fields {
        let k = trim_backslashes(key);
        if !writable(v) {
            outcome.dropped_fields += 1;
            continue;
        }
        if k.is_empty() {
            outcome.empty_field_keys += 1;
            continue;
        }
        trimmed_keys += usize::from(k.len() < key.len());
        out.push(sep);
        sep = b',';
        escape_into(out, k, Element::Key);
        out.push(b'=');
        write_value(out, v);
    }
    if sep == b' ' {
        out.truncate(start);
        // Nothing written: only what was dropped counts.
        outcome.trimmed = 0;
        return outcome;
    }
    outcome.trimmed += trimmed_keys;
    out.push(b' ');
    write_i64(out, m.timestamp);
    out.push(b'\n');
    outcome.written = true;
    outcome
}

/// False for float values line protocol cannot carry (NaN, ±Inf).
fn writable(v: &FieldValue) -> bool {
    match v {
        FieldValue::Float(f) => f.is_finite(),
        _ => true,
    }
}

fn trim_backslashes(s: &str) -> &str {
    s.trim_end_matches('\\')
}

/// The names and tag values of `m` that [`encode_metric`] trims or leaves out for their
/// trailing backslashes, described for a warning (`tag value "C:\dir\" of "path"`). Only
/// for the rare metrics whose outcome is [`EncodeOutcome::altered`]: it allocates.
pub fn trimmed_parts(m: &Metric) -> Vec<String> {
    let ends = |s: &str| s.ends_with('\\');
    let mut parts = Vec::new();
    if ends(&m.measurement) {
        parts.push(format!("measurement {:?}", m.measurement));
    }
    for (k, v) in &m.tags {
        if ends(k) && !v.is_empty() {
            parts.push(format!("tag key {k:?}"));
        }
        if ends(v) {
            parts.push(format!("tag value {v:?} of {k:?}"));
        }
    }
    for (k, v) in &m.fields {
        if ends(k) && writable(v) {
            parts.push(format!("field key {k:?}"));
        }
    }
    parts
}

fn escape_into(out: &mut Vec<u8>, s: &str, element: Element) {
    let bytes = s.as_bytes();
    let needs = |b: u8| match b {
        b',' | b' ' | b'\t' | b'\n' | b'\x0c' | b'\r' => true,
        b'=' => matches!(element, Element::Key),
        _ => false,
    };
    let mut from = 0;
    for (i, &b) in bytes.iter().enumerate() {
        if !needs(b) {
            continue;
        }
        out.extend_from_slice(&bytes[from..i]);
        let escaped: &[u8] = match b {
            b'\t' => b"\\t",
            b'\n' => b"\\n",
            b'\x0c' => b"\\f",
            b'\r' => b"\\r",
            b',' => b"\\,",
            b'=' => b"\\=",
            _ => b"\\ ",
        };
        out.extend_from_slice(escaped);
        from = i + 1;
    }
    out.extend_from_slice(&bytes[from..]);
}

fn write_value(out: &mut Vec<u8>, v: &FieldValue) {
    match v {
        FieldValue::Float(f) => write_f64(out, *f),
        FieldValue::Int(i) => {
            write_i64(out, *i);
            out.push(b'i');
        }
        FieldValue::UInt(u) => {
            write_u64(out, *u);
            out.push(b'u');
        }
        FieldValue::Bool(true) => out.extend_from_slice(b"true"),
        FieldValue::Bool(false) => out.extend_from_slice(b"false"),
        FieldValue::String(s) => {
            out.push(b'"');
            let bytes = s.as_bytes();
            let mut from = 0;
            for (i, &b) in bytes.iter().enumerate() {
                if b == b'"' || b == b'\\' {
                    out.extend_from_slice(&bytes[from..i]);
                    out.push(b'\\');
                    out.push(b);
                    from = i + 1;
                }
            }
            out.extend_from_slice(&bytes[from..]);
            out.push(b'"');
        }
    }
}

/// Writes a finite float so that it parses back to the identical `f64`: Rust's shortest
/// round-trip digits, in plain notation (`42`, `0.5`) for moderate magnitudes and in exponent
/// notation (`1e300`, `-2.5e-12`) otherwise, which line protocol also accepts.
fn write_f64(out: &mut Vec<u8>, f: f64) {
    let a = f.abs();
    // Writing into a Vec cannot fail.
    let res = if a == 0.0 || (1e-5..1e16).contains(&a) {
        write!(out, "{f}")
    } else {
        write!(out, "{f:e}")
    };
    res.unwrap_or(());
}

fn write_u64(out: &mut Vec<u8>, mut v: u64) {
    let mut buf = [0u8; 20];
    let mut i = buf.len();
    loop {
        i -= 1;
        // `v % 10` is below 10, so the cast cannot truncate.
        buf[i] = b'0' + (v % 10) as u8;
        v /= 10;
        if v == 0 {
            break;
        }
    }
    out.extend_from_slice(&buf[i..]);
}

/// Writes a signed integer in decimal.
fn write_i64(out: &mut Vec<u8>, v: i64) {
    if v < 0 {
        out.push(b'-');
    }
    write_u64(out, v.unsigned_abs());
}

/// Appends a timestamp given in ns as an integer in `precision` (rounded down), for writers
/// that send a coarser `precision` than nanoseconds.
pub fn write_timestamp(out: &mut Vec<u8>, ns: i64, precision: super::Precision) {
    write_i64(out, precision.from_ns(ns));
}
