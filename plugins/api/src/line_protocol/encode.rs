//! Line-protocol encoder, Telegraf-compatible (influxdata/telegraf
//! `plugins/serializers/influx`).
//!
//! Escaping: the measurement escapes `,` and space; tag keys, tag values and field keys escape
//! `,`, `=` and space; all of them write tab, newline, form feed and carriage return as the
//! two-character sequences `\t`, `\n`, `\f`, `\r` so a line never breaks. Backslashes are not
//! doubled (Telegraf does not), and trailing backslashes are trimmed because they would escape
//! the delimiter that follows. Tags whose key or value ends up empty are left out; fields whose
//! key ends up empty or whose value is NaN/±Inf are left out and counted. String values are
//! double-quoted with `\` and `"` escaped; raw newlines stay inside the quotes.
//!
//! The encoder appends to the caller's buffer and allocates nothing else.

use std::io::Write as _;

use crate::event::{FieldValue, Metric};

/// What happened to one metric.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct EncodeOutcome {
    /// True when a line was written.
    pub written: bool,
    /// Fields left out because they cannot be written: a NaN or ±Inf value, or a key that is
    /// empty once trailing backslashes are trimmed.
    pub dropped_fields: usize,
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
        return outcome;
    }
    let start = out.len();
    escape_into(out, measurement, Element::Measurement);
    for (k, v) in &m.tags {
        let (k, v) = (trim_backslashes(k), trim_backslashes(v));
        if k.is_empty() || v.is_empty() {
            continue;
        }
        out.push(b',');
        escape_into(out, k, Element::Key);
        out.push(b'=');
        escape_into(out, v, Element::Key);
    }
    let mut sep = b' ';
    for (k, v) in &m.fields {
        let k = trim_backslashes(k);
        if k.is_empty() || !writable(v) {
            outcome.dropped_fields += 1;
            continue;
        }
        out.push(sep);
        sep = b',';
        escape_into(out, k, Element::Key);
        out.push(b'=');
        write_value(out, v);
    }
    if sep == b' ' {
        out.truncate(start);
        return outcome;
    }
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
