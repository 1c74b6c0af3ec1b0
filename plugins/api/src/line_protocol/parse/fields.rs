//! The field part of a line, read twice as InfluxDB 1.x reads it (influxdata/influxdb
//! `models/points.go`):
//! - [`scan`] checks it (`scanFields`, `scanNumber`, `scanBoolean`): a backslash steps over
//!   the byte after it, a `"` opens a string only where a value can start, and every value
//!   must be a valid number, boolean or string;
//! - [`walk`] splits it into keys and values (`walkFields`): a key ends at the first `=` whose
//!   previous byte is not a backslash, which refuses a key ending in a backslash;
//! - [`store`] types each value from its first and last bytes (`FieldIterator`) and adds the
//!   fields to the metric.
//!
//! The one deliberate difference: `u` unsigned integers are accepted (InfluxDB 1.x refuses
//! them unless built with uint support).

use super::{NAME_ESCAPES, Reason, escaped, skip_whitespace, unescape};
use crate::event::{FieldValue, Metric, Text};

/// Field count up to which duplicates are looked for by a plain scan.
const SMALL_FIELDS: usize = 16;

/// The bytes [`scan`] looks at; the others are stepped over.
static FIELD_SPECIAL: [bool; 256] = byte_set(b"\\\"=, ");

/// A 256-entry table, true for the bytes of `set`.
pub(in crate::line_protocol) const fn byte_set(set: &[u8]) -> [bool; 256] {
    let mut table = [false; 256];
    let mut i = 0;
    while i < set.len() {
        table[set[i] as usize] = true;
        i += 1;
    }
    table
}

/// Lengths from which a number may be out of range (InfluxDB's `maxInt64Digits`,
/// `maxUint64Digits`, `maxFloat64Digits`); shorter ones are always in range.
const MAX_INT64_DIGITS: usize = 19;
const MAX_UINT64_DIGITS: usize = 20;
const MAX_FLOAT64_DIGITS: usize = 25;

/// Checks the fields of `line` starting at `from` (after the key); returns where they start
/// and end. When the fields hold no backslash and one `=` per field, [`walk`] would split
/// them where this scan did: the raw pairs are then left in `out`, which is otherwise empty.
pub(super) fn scan<'b>(
    line: &'b str,
    from: usize,
    out: &mut Vec<(&'b str, &'b str)>,
) -> Result<(usize, usize), Reason> {
    out.clear();
    let b = line.as_bytes();
    let start = skip_whitespace(b, from);
    let mut i = start;
    let (mut quoted, mut equals, mut commas) = (false, 0usize, 0usize);
    // The split as the scan sees it: the current field's start, its `=`, how many `=` it has.
    let (mut simple, mut key_start, mut eq, mut field_equals) = (true, start, start, 0usize);
    let push = |out: &mut Vec<_>, end: usize, simple: &mut bool, key_start, eq, n| {
        if *simple && n == 1 {
            out.push((&line[key_start..eq], &line[eq + 1..end]));
        } else {
            *simple = false;
        }
    };
    while i < b.len() {
        let c = b[i];
        if !FIELD_SPECIAL[usize::from(c)] {
            i += 1;
            continue;
        }
        if c == b'\\' && i + 1 < b.len() {
            simple = false;
            i += 2;
            continue;
        }
        if c == b'"' && equals > commas {
            quoted = !quoted;
            i += 1;
            continue;
        }
        if c == b'=' && !quoted {
            equals += 1;
            field_equals += 1;
            eq = i;
            let before = b[i - 1];
            if matches!(before, b' ' | b',') && !escaped(b, i - 1) {
                return Err("missing field key".into());
            }
            match b.get(i + 1) {
                None | Some(b',' | b' ') => return Err("missing field value".into()),
                Some(b'0'..=b'9' | b'.' | b'-' | b'N' | b'n') => {
                    i = scan_number(b, i + 1)?;
                    continue;
                }
                Some(b'"') => {}
                Some(_) => {
                    i = scan_boolean(b, i + 1)?;
                    continue;
                }
            }
        }
        if c == b',' && !quoted {
            commas += 1;
            push(out, i, &mut simple, key_start, eq, field_equals);
            (key_start, field_equals) = (i + 1, 0);
        }
        if c == b' ' && !quoted {
            break;
        }
        i += 1;
    }
    if quoted {
        return Err("unbalanced quotes".into());
    }
    if equals == 0 || commas + 1 != equals {
        return Err("invalid field format".into());
    }
    push(out, i, &mut simple, key_start, eq, field_equals);
    if !simple {
        out.clear();
    }
    Ok((start, i))
}

/// Checks an unquoted number starting at `i`; returns where it ends.
fn scan_number(b: &[u8], mut i: usize) -> Result<usize, Reason> {
    let start = i;
    let invalid = || Reason::from("invalid number");
    if b.get(i) == Some(&b'-') {
        i += 1;
        if i == b.len() {
            return Err(invalid());
        }
    }
    let (mut int, mut uint, mut decimal, mut scientific) = (false, false, false, false);
    while i < b.len() {
        let c = b[i];
        if c.is_ascii_digit() {
            i += 1;
            continue;
        }
        if c == b',' || c == b' ' {
            break;
        }
        if (c == b'i' || c == b'u') && i > start && !(int || uint) {
            int = c == b'i';
            uint = c == b'u';
            i += 1;
            continue;
        }
        if c == b'.' {
            if decimal {
                return Err(invalid());
            }
            decimal = true;
        }
        if i > start && (c == b'e' || c == b'E') {
            scientific = true;
            i += 1;
            continue;
        }
        if (c == b'+' || c == b'-') && matches!(b[i - 1], b'e' | b'E') {
            i += 1;
            continue;
        }
        if i + 2 < b.len() && (c == b'N' || c == b'n') {
            return Err(invalid());
        }
        if !(c.is_ascii_digit() || c == b'.') {
            return Err(invalid());
        }
        i += 1;
    }
    if (int || uint) && (decimal || scientific) {
        return Err(invalid());
    }
    let digits =
        (i - start) - usize::from(int) - usize::from(decimal) - usize::from(b[start] == b'-');
    if digits == 0 {
        return Err(invalid());
    }
    // Only ASCII remains between `start` and `i`. As InfluxDB, only numbers long enough to be
    // out of range (or in exponent form) are parsed here; `store` parses them all.
    let len = i - start;
    let text = || std::str::from_utf8(&b[start..i]).unwrap_or_default();
    if int {
        let text = text();
        let digits = text.strip_suffix('i').ok_or_else(invalid)?;
        if digits.len() >= MAX_INT64_DIGITS && digits.parse::<i64>().is_err() {
            return Err(format!(
                "unable to parse integer {digits}: strconv.ParseInt: parsing {digits:?}: value out of range"
            )
            .into());
        }
    } else if uint {
        let text = text();
        let digits = text.strip_suffix('u').ok_or_else(invalid)?;
        if digits.starts_with('-') {
            return Err(invalid());
        }
        if digits.len() >= MAX_UINT64_DIGITS && digits.parse::<u64>().is_err() {
            return Err(format!(
                "unable to parse unsigned {digits}: strconv.ParseUint: parsing {digits:?}: value out of range"
            )
            .into());
        }
    } else if (scientific || len >= MAX_FLOAT64_DIGITS)
        && !text().parse::<f64>().is_ok_and(f64::is_finite)
    {
        return Err("invalid float".into());
    }
    Ok(i)
}

/// Checks an unquoted boolean starting at `i`; returns where it ends.
fn scan_boolean(b: &[u8], i: usize) -> Result<usize, Reason> {
    let end = b[i..]
        .iter()
        .position(|&c| c == b',' || c == b' ')
        .map_or(b.len(), |p| i + p);
    match &b[i..end] {
        b"t" | b"T" | b"true" | b"True" | b"TRUE" | b"f" | b"F" | b"false" | b"False"
        | b"FALSE" => Ok(end),
        _ => Err("invalid boolean".into()),
    }
}

/// Splits checked fields into raw `(key, value)` pairs in `out`, as InfluxDB stores them.
pub(super) fn walk<'b>(fields: &'b str, out: &mut Vec<(&'b str, &'b str)>) -> Result<(), Reason> {
    out.clear();
    let b = fields.as_bytes();
    let mut pos = 0;
    while pos < b.len() {
        let rest = &b[pos..];
        let eq = (0..rest.len())
            .find(|&i| rest[i] == b'=' && !escaped(rest, i))
            .unwrap_or(rest.len());
        if eq + 2 > rest.len() {
            let key = &fields[pos..pos + eq];
            return Err(format!("invalid value: field-key={key}").into());
        }
        let value_end = value_end(rest, eq + 1);
        out.push((
            &fields[pos..pos + eq],
            &fields[pos + eq + 1..pos + value_end],
        ));
        pos += value_end + 1;
    }
    Ok(())
}

/// The end of the value starting at `i` (`scanFieldValue`): an unquoted comma.
fn value_end(b: &[u8], mut i: usize) -> usize {
    let mut quoted = false;
    while i < b.len() {
        match b[i] {
            b'\\' if matches!(b.get(i + 1), Some(b'"' | b'\\')) => {
                i += 2;
                continue;
            }
            b'"' => quoted = !quoted,
            b',' if !quoted => break,
            _ => {}
        }
        i += 1;
    }
    i
}

/// Types the raw pairs and adds them to `m`: a `time` field is left out, a repeated key keeps
/// its last value unless the types differ.
pub(super) fn store(m: &mut Metric, raw: &[(&str, &str)]) -> Result<(), Reason> {
    m.fields.reserve_exact(raw.len());
    for (key, value) in raw {
        let key = unescape(key, NAME_ESCAPES);
        if key == "time" {
            continue;
        }
        m.fields.push((key, typed(value)?));
    }
    if m.fields.is_empty() {
        return Err(format!(
            "invalid field name: input field \"time\" on measurement \"{}\" is invalid",
            m.measurement
        )
        .into());
    }
    dedupe(&mut m.fields)
}

/// The value of a checked raw value, typed by its first and last bytes.
fn typed(v: &str) -> Result<FieldValue, Reason> {
    let b = v.as_bytes();
    let invalid = || Reason::from("invalid field value");
    match b.first() {
        Some(b'"') => {
            let inner = v.get(1..v.len().saturating_sub(1).max(1)).unwrap_or("");
            Ok(FieldValue::String(unescape_string(inner)))
        }
        Some(b'0'..=b'9' | b'-' | b'.' | b'n' | b'N' | b'i' | b'I' | b'u') => {
            match b.split_last() {
                Some((b'i', _)) => v[..v.len() - 1]
                    .parse()
                    .map(FieldValue::Int)
                    .map_err(|_| invalid()),
                Some((b'u', _)) => v[..v.len() - 1]
                    .parse()
                    .map(FieldValue::UInt)
                    .map_err(|_| invalid()),
                _ => v
                    .parse::<f64>()
                    .ok()
                    .filter(|f| f.is_finite())
                    .map(FieldValue::Float)
                    .ok_or_else(invalid),
            }
        }
        _ => match v {
            "t" | "T" | "true" | "True" | "TRUE" => Ok(FieldValue::Bool(true)),
            "f" | "F" | "false" | "False" | "FALSE" => Ok(FieldValue::Bool(false)),
            _ => Err(invalid()),
        },
    }
}

/// `\"` becomes `"`, `\\` becomes `\`; any other backslash stays.
fn unescape_string(s: &str) -> Text {
    let b = s.as_bytes();
    if !b.contains(&b'\\') {
        return Text::from(s);
    }
    let mut out = Text::with_capacity(s.len());
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

/// Keeps one field per key: at the position of its first occurrence, with its last value;
/// two values of different types for one key reject the line.
fn dedupe(fields: &mut Vec<(String, FieldValue)>) -> Result<(), Reason> {
    use std::collections::{HashMap, HashSet};
    let n = fields.len();
    let has_dup = if n <= SMALL_FIELDS {
        (1..n).any(|i| fields[..i].iter().any(|(k, _)| *k == fields[i].0))
    } else {
        let mut seen = HashSet::with_capacity(n);
        !fields.iter().all(|(k, _)| seen.insert(k.as_str()))
    };
    if !has_dup {
        return Ok(());
    }
    let mut index: HashMap<String, usize> = HashMap::with_capacity(n);
    let mut out: Vec<(String, FieldValue)> = Vec::with_capacity(n);
    for (k, v) in fields.drain(..) {
        match index.get(&k) {
            Some(&at) => {
                if std::mem::discriminant(&out[at].1) != std::mem::discriminant(&v) {
                    return Err("field type conflict".into());
                }
                out[at].1 = v;
            }
            None => {
                index.insert(k.clone(), out.len());
                out.push((k, v));
            }
        }
    }
    *fields = out;
    Ok(())
}
