//! JSON writing primitives: escaped strings (from `&str`, or from bytes with invalid UTF-8
//! replaced), typed values and numbers, appended to a byte buffer with no allocation.

use std::fmt;
use std::io::Write as _;

use gleaner_api::FieldValue;

/// Appends `s` as a JSON string, quotes included.
pub(super) fn write_str(buf: &mut Vec<u8>, s: &str) {
    buf.push(b'"');
    write_escaped(buf, s);
    buf.push(b'"');
}

/// Appends `bytes` as a JSON string, replacing each invalid UTF-8 sequence with U+FFFD
/// (as `String::from_utf8_lossy` does). Returns true when something was replaced.
pub(super) fn write_bytes_lossy(buf: &mut Vec<u8>, bytes: &[u8]) -> bool {
    let mut replaced = false;
    buf.push(b'"');
    for chunk in bytes.utf8_chunks() {
        write_escaped(buf, chunk.valid());
        if !chunk.invalid().is_empty() {
            buf.extend_from_slice(
                char::REPLACEMENT_CHARACTER
                    .encode_utf8(&mut [0; 4])
                    .as_bytes(),
            );
            replaced = true;
        }
    }
    buf.push(b'"');
    replaced
}

/// Appends the escaped body of a JSON string (no quotes): `"`, `\` and control characters
/// are escaped, everything else is copied as is (JSON text is UTF-8).
pub(super) fn write_escaped(buf: &mut Vec<u8>, s: &str) {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    let bytes = s.as_bytes();
    let mut start = 0;
    for (i, &b) in bytes.iter().enumerate() {
        let short: &[u8] = match b {
            b'"' => b"\\\"",
            b'\\' => b"\\\\",
            b'\n' => b"\\n",
            b'\r' => b"\\r",
            b'\t' => b"\\t",
            0x08 => b"\\b",
            0x0c => b"\\f",
            0x00..=0x1f => b"",
            _ => continue,
        };
        buf.extend_from_slice(&bytes[start..i]);
        if short.is_empty() {
            buf.extend_from_slice(b"\\u00");
            buf.push(HEX[usize::from(b >> 4)]);
            buf.push(HEX[usize::from(b & 0xf)]);
        } else {
            buf.extend_from_slice(short);
        }
        start = i + 1;
    }
    buf.extend_from_slice(&bytes[start..]);
}

/// Appends a field value as JSON; NaN and ±Inf, which JSON cannot hold, become `null`.
pub(super) fn write_value(buf: &mut Vec<u8>, v: &FieldValue) {
    match v {
        FieldValue::Float(f) => write_f64(buf, *f),
        FieldValue::Int(i) => push_fmt(buf, format_args!("{i}")),
        FieldValue::UInt(u) => push_fmt(buf, format_args!("{u}")),
        FieldValue::Bool(true) => buf.extend_from_slice(b"true"),
        FieldValue::Bool(false) => buf.extend_from_slice(b"false"),
        FieldValue::String(s) => write_str(buf, s),
    }
}

/// Appends a float as a JSON number (`99.5`, `3.0`, `1e-7`), or `null` when not finite.
pub(super) fn write_f64(buf: &mut Vec<u8>, f: f64) {
    if f.is_finite() {
        // `Debug` prints the shortest round-tripping form and switches to an exponent for
        // very large or small magnitudes; every form it prints for a finite value is valid
        // JSON.
        push_fmt(buf, format_args!("{f:?}"));
    } else {
        buf.extend_from_slice(b"null");
    }
}

/// Appends formatted text.
fn push_fmt(buf: &mut Vec<u8>, args: fmt::Arguments<'_>) {
    // `io::Write for Vec<u8>` only fails if the formatting impls fail, which the integer and
    // float impls never do; nothing useful can be done with the error.
    buf.write_fmt(args).unwrap_or(());
}
