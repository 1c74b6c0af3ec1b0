//! JSON writing primitives: escaped strings (from `&str`, or from bytes with invalid UTF-8
//! replaced), typed values and numbers, appended to a byte buffer with no allocation.

use std::fmt;
use std::io::Write as _;

use gleaner_api::FieldValue;

/// Appends `s` as a JSON string, quotes included.
pub(crate) fn write_str(buf: &mut Vec<u8>, s: &str) {
    buf.push(b'"');
    write_escaped(buf, s);
    buf.push(b'"');
}

/// Appends `bytes` as a JSON string, replacing each invalid UTF-8 sequence with U+FFFD
/// (as `String::from_utf8_lossy` does). Returns true when something was replaced.
pub(super) fn write_bytes_lossy(buf: &mut Vec<u8>, bytes: &[u8]) -> bool {
    if let Ok(text) = std::str::from_utf8(bytes) {
        write_str(buf, text);
        return false;
    }
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
pub(crate) fn write_escaped(buf: &mut Vec<u8>, s: &str) {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    let bytes = s.as_bytes();
    let mut start = 0;
    let mut i = 0;
    while i < bytes.len() {
        // Skip eight clean bytes at a time (most text needs no escape at all).
        if let Some(word) = bytes.get(i..i + 8) {
            let mut w = [0u8; 8];
            w.copy_from_slice(word);
            if !needs_escape(u64::from_le_bytes(w)) {
                i += 8;
                continue;
            }
        }
        let b = bytes[i];
        let short: &[u8] = match b {
            b'"' => b"\\\"",
            b'\\' => b"\\\\",
            b'\n' => b"\\n",
            b'\r' => b"\\r",
            b'\t' => b"\\t",
            0x08 => b"\\b",
            0x0c => b"\\f",
            0x00..=0x1f => b"",
            _ => {
                i += 1;
                continue;
            }
        };
        buf.extend_from_slice(&bytes[start..i]);
        if short.is_empty() {
            buf.extend_from_slice(b"\\u00");
            buf.push(HEX[usize::from(b >> 4)]);
            buf.push(HEX[usize::from(b & 0xf)]);
        } else {
            buf.extend_from_slice(short);
        }
        i += 1;
        start = i;
    }
    buf.extend_from_slice(&bytes[start..]);
}

/// True when one of the eight bytes of `w` is `"`, `\` or a control character (< 0x20).
/// SWAR: `x - 0x01..` borrows into the high bit of a byte exactly when that byte of `x` is
/// zero (or, against `0x20..`, below 0x20); bytes with their own high bit set are masked out.
fn needs_escape(w: u64) -> bool {
    const ONES: u64 = 0x0101_0101_0101_0101;
    const HIGH: u64 = 0x8080_8080_8080_8080;
    let zero_byte = |x: u64| x.wrapping_sub(ONES) & !x & HIGH;
    let below_space = w.wrapping_sub(ONES * 0x20) & !w & HIGH;
    let quote = zero_byte(w ^ (ONES * u64::from(b'"')));
    let backslash = zero_byte(w ^ (ONES * u64::from(b'\\')));
    (below_space | quote | backslash) != 0
}

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

#[cfg(test)]
mod tests {
    use super::*;

    /// The escaper one byte at a time: the reference for the word-at-a-time one.
    fn reference(s: &str) -> Vec<u8> {
        let mut out = Vec::new();
        for c in s.chars() {
            match c {
                '"' => out.extend_from_slice(b"\\\""),
                '\\' => out.extend_from_slice(b"\\\\"),
                '\n' => out.extend_from_slice(b"\\n"),
                '\r' => out.extend_from_slice(b"\\r"),
                '\t' => out.extend_from_slice(b"\\t"),
                '\u{8}' => out.extend_from_slice(b"\\b"),
                '\u{c}' => out.extend_from_slice(b"\\f"),
                c if (c as u32) < 0x20 => {
                    out.extend_from_slice(format!("\\u{:04x}", c as u32).as_bytes())
                }
                c => out.extend_from_slice(c.encode_utf8(&mut [0; 4]).as_bytes()),
            }
        }
        out
    }

    #[test]
    fn word_at_a_time_escaping_matches_the_reference_for_every_ascii_byte_at_every_offset() {
        for b in 0u8..0x80 {
            for at in 0..20 {
                for len in [at + 1, 17, 24] {
                    let mut s: Vec<u8> =
                        b"abcdefghijklmnopqrstuvwx"[..len.max(at + 1).min(24)].to_vec();
                    s[at] = b;
                    let s = String::from_utf8(s).unwrap();
                    let mut got = Vec::new();
                    write_escaped(&mut got, &s);
                    assert_eq!(got, reference(&s), "byte {b:#x} at {at} in {s:?}");
                }
            }
        }
        for s in [
            "",
            "plain",
            "ünïcødé \u{7f} \u{1f}\u{0}",
            "a\"b\\c\nd",
            &"x".repeat(1000),
        ] {
            let mut got = Vec::new();
            write_escaped(&mut got, s);
            assert_eq!(got, reference(s), "{s:?}");
        }
    }
}
