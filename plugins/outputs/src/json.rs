//! The one JSON value writer of the outputs (json_lines for stdout and file, splunk_hec, and
//! any output that writes JSON): strings, numbers and typed values appended to a byte buffer,
//! with no allocation and no serde.
//!
//! - Strings: `"`, `\` and control characters are escaped (`\n`, `\t`, ... and `\u00XX`),
//!   everything else is copied as is (JSON text is UTF-8). Bytes that are not UTF-8 have each
//!   invalid sequence replaced by U+FFFD ([`write_bytes_lossy`]).
//! - Integers: decimal digits (`-42`, `18446744073709551615`).
//! - Floats, one rule for every output: a finite float is written in its shortest round-trip
//!   form, the fewest digits that parse back to the same `f64`; an integral value keeps its
//!   `.0` (`3.0`) so a typed reader still sees a float; plain notation from 1e-5 up to 1e16
//!   (`0.00001`, `123456.789`, `1000000000000000.0`), exponent notation outside it (`1e-7`,
//!   `1.5e+16`, `1.7976931348623157e+308`). These are serde_json's forms (the same `zmij`
//!   formatter), always valid JSON.
//! - NaN and ±Inf have no JSON form. As a typed value ([`write_value`], [`write_f64`]) they
//!   are written `null`: the key stays, with no number. Where a number is required (a metric
//!   measure) the caller leaves the member out and counts it (`nan_or_inf_field`); inside a
//!   string ([`write_value_text`]) they are `NaN`, `inf` and `-inf`.

#[cfg(test)]
mod tests;

use gleaner_api::FieldValue;

/// Appends `s` as a JSON string, quotes included.
pub(crate) fn write_str(buf: &mut Vec<u8>, s: &str) {
    buf.push(b'"');
    write_escaped(buf, s);
    buf.push(b'"');
}

/// Appends `bytes` as a JSON string, replacing each invalid UTF-8 sequence with U+FFFD
/// (as `String::from_utf8_lossy` does). Returns true when something was replaced.
///
/// One pass: ASCII is escaped eight bytes at a time as in [`write_escaped`], each non-ASCII
/// character is checked where it stands; only from the first invalid sequence on does the
/// rest go through `utf8_chunks`.
pub(crate) fn write_bytes_lossy(buf: &mut Vec<u8>, bytes: &[u8]) -> bool {
    buf.push(b'"');
    let done = escape_valid_prefix(buf, bytes);
    let Some(rest) = bytes.get(done..).filter(|r| !r.is_empty()) else {
        buf.push(b'"');
        return false;
    };
    // `done` ends a valid prefix at a character boundary, so chunking the rest finds the
    // same sequences as chunking the whole.
    for chunk in rest.utf8_chunks() {
        write_escaped(buf, chunk.valid());
        if !chunk.invalid().is_empty() {
            buf.extend_from_slice(
                char::REPLACEMENT_CHARACTER
                    .encode_utf8(&mut [0; 4])
                    .as_bytes(),
            );
        }
    }
    buf.push(b'"');
    true
}

/// Appends the escaped body of a JSON string (no quotes): `"`, `\` and control characters
/// are escaped, everything else is copied as is (JSON text is UTF-8).
pub(crate) fn write_escaped(buf: &mut Vec<u8>, s: &str) {
    let done = escape_valid_prefix(buf, s.as_bytes());
    debug_assert_eq!(done, s.len(), "a str is valid UTF-8");
}

/// Escapes `bytes` into `buf` up to the first invalid UTF-8 sequence (all of it when it is
/// valid) and returns how far it got. The text goes a word (eight bytes) at a time: a clean
/// word is copied with one fixed-size store; in a word with bytes to escape (a JSON log line
/// has one every few bytes), each flagged byte is found from the word's mask ([`flagged`])
/// and the clean bytes before it are copied with one fixed-size store too ([`put_range`]),
/// so neither costs a `memcpy` call nor a fresh look at the word. A non-ASCII character is
/// checked where it stands and the next word starts after it.
fn escape_valid_prefix(buf: &mut Vec<u8>, bytes: &[u8]) -> usize {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    buf.reserve(bytes.len());
    let mut i = 0;
    // Whether the last word needed nothing: only then is a whole block worth a look (in a
    // JSON log line, with a quote every few bytes, the block test would only cost).
    let mut clean = true;
    'words: while i < bytes.len() {
        if clean {
            i += copy_clean_blocks(buf, &bytes[i..]);
            if i == bytes.len() {
                break;
            }
        }
        // A whole word, or the last bytes padded with spaces (which need no escape).
        let mut w = [b' '; 8];
        let n = match bytes.get(i..i + 8) {
            Some(word) => {
                w.copy_from_slice(word);
                8
            }
            None => {
                let tail = &bytes[i..];
                w[..tail.len()].copy_from_slice(tail);
                tail.len()
            }
        };
        let word = u64::from_le_bytes(w);
        let mut mask = flagged(word);
        clean = mask == 0;
        if mask == 0 {
            if n == 8 {
                buf.extend_from_slice(&w);
            } else {
                buf.extend_from_slice(&w[..n]);
            }
            i += n;
            continue;
        }
        // Bytes of the word written so far.
        let mut k = 0;
        while mask != 0 {
            let p = (mask.trailing_zeros() / 8) as usize;
            mask &= mask - 1;
            let b = w[p];
            if (0x20..0x80).contains(&b) && b != b'"' && b != b'\\' {
                // Marked only by a borrow from a flagged byte below it: copied with the run.
                continue;
            }
            put_range(buf, word, k, p);
            if b >= 0x80 {
                let width = match b {
                    0xc2..=0xdf => 2,
                    0xe0..=0xef => 3,
                    0xf0..=0xf4 => 4,
                    _ => 0,
                };
                let at = i + p;
                match bytes.get(at..at + width) {
                    Some(ch) if width > 0 && std::str::from_utf8(ch).is_ok() => {
                        buf.extend_from_slice(ch);
                        i = at + width;
                        continue 'words;
                    }
                    _ => return at,
                }
            }
            let short = match b {
                b'"' => b'"',
                b'\\' => b'\\',
                b'\n' => b'n',
                b'\r' => b'r',
                b'\t' => b't',
                0x08 => b'b',
                0x0c => b'f',
                _ => 0,
            };
            if short == 0 {
                buf.extend_from_slice(&[
                    b'\\',
                    b'u',
                    b'0',
                    b'0',
                    HEX[usize::from(b >> 4)],
                    HEX[usize::from(b & 0xf)],
                ]);
            } else {
                buf.extend_from_slice(&[b'\\', short]);
            }
            k = p + 1;
        }
        put_range(buf, word, k, n);
        i += n;
    }
    bytes.len()
}

/// Bytes in a block of [`copy_clean_blocks`]: four words.
const BLOCK: usize = 32;

/// Copies the leading whole blocks of `bytes` that need no escaping (no `"`, `\`, control
/// character or non-ASCII byte) with one copy each, then the clean words of the block that
/// stops it, and returns how many bytes it copied: plain text goes four words per test and
/// copy instead of one.
#[inline(always)]
fn copy_clean_blocks(buf: &mut Vec<u8>, bytes: &[u8]) -> usize {
    let mut done = 0;
    while let Some(block) = bytes.get(done..).and_then(<[u8]>::first_chunk::<BLOCK>) {
        let mut masks = [0u64; BLOCK / 8];
        for (mask, word) in masks.iter_mut().zip(block.chunks_exact(8)) {
            let mut w = [0u8; 8];
            w.copy_from_slice(word);
            *mask = flagged(u64::from_le_bytes(w));
        }
        if let Some(dirty) = masks.iter().position(|&m| m != 0) {
            buf.extend_from_slice(&block[..8 * dirty]);
            return done + 8 * dirty;
        }
        buf.extend_from_slice(block);
        done += BLOCK;
    }
    done
}

/// Appends bytes `from..to` of a word (its bytes little-endian in `word`, `to` at most 8)
/// with one fixed-size store: the word shifted down by `from` is written whole and the
/// vector cut back to the bytes wanted.
#[inline(always)]
fn put_range(buf: &mut Vec<u8>, word: u64, from: usize, to: usize) {
    if from >= to {
        return;
    }
    let len = buf.len();
    buf.extend_from_slice(&(word >> (8 * from)).to_le_bytes());
    buf.truncate(len + (to - from));
}

/// The high bit of each byte of `w` that is `"`, `\`, a control character (< 0x20) or not
/// ASCII; the lowest one set is exact, one above it may be a clean byte marked by a borrow
/// (the caller looks at the byte). SWAR: `x - 0x01..` borrows into the high bit of a byte
/// exactly when that byte of `x` is zero (or, against `0x20..`, below 0x20); a borrow can only
/// mark bytes above a true one.
#[inline(always)]
fn flagged(w: u64) -> u64 {
    const ONES: u64 = 0x0101_0101_0101_0101;
    const HIGH: u64 = 0x8080_8080_8080_8080;
    let zero_byte = |x: u64| x.wrapping_sub(ONES) & !x & HIGH;
    let below_space = w.wrapping_sub(ONES * 0x20) & !w & HIGH;
    let quote = zero_byte(w ^ (ONES * u64::from(b'"')));
    let backslash = zero_byte(w ^ (ONES * u64::from(b'\\')));
    below_space | quote | backslash | (w & HIGH)
}

/// Appends `"key":"value"` for each pair, comma-separated, with a comma before the first
/// unless `first`; returns whether nothing has been written since the object opened (`first`
/// and no pair).
pub(crate) fn write_str_members<'a>(
    buf: &mut Vec<u8>,
    pairs: impl IntoIterator<Item = (&'a str, &'a str)>,
    mut first: bool,
) -> bool {
    for (k, v) in pairs {
        if !first {
            buf.push(b',');
        }
        first = false;
        write_str(buf, k);
        buf.push(b':');
        write_str(buf, v);
    }
    first
}

/// Appends a typed value: a number, `true`/`false`, or a string; NaN and ±Inf as `null`.
pub(crate) fn write_value(buf: &mut Vec<u8>, v: &FieldValue) {
    match v {
        FieldValue::Float(f) => write_f64(buf, *f),
        FieldValue::Int(i) => write_i64(buf, *i),
        FieldValue::UInt(u) => write_u64(buf, *u),
        FieldValue::Bool(b) => write_bool(buf, *b),
        FieldValue::String(s) => write_str(buf, s),
    }
}

/// Appends a typed value as a JSON string: a string as itself, a number or boolean as the
/// text [`write_value`] writes (`"3.0"`, `"true"`), NaN and ±Inf as `"NaN"`, `"inf"`,
/// `"-inf"` (for members that must be strings, such as HEC indexed fields).
pub(crate) fn write_value_text(buf: &mut Vec<u8>, v: &FieldValue) {
    match v {
        FieldValue::String(s) => write_str(buf, s),
        FieldValue::Float(f) if !f.is_finite() => {
            buf.push(b'"');
            buf.extend_from_slice(zmij::Buffer::new().format(*f).as_bytes());
            buf.push(b'"');
        }
        other => {
            // Numbers and booleans need no escaping.
            buf.push(b'"');
            write_value(buf, other);
            buf.push(b'"');
        }
    }
}

/// Appends a float by the module's rule: its shortest round-trip form, or `null` when it is
/// NaN or ±Inf.
pub(crate) fn write_f64(buf: &mut Vec<u8>, f: f64) {
    if f.is_finite() {
        buf.extend_from_slice(zmij::Buffer::new().format_finite(f).as_bytes());
    } else {
        buf.extend_from_slice(b"null");
    }
}

/// Appends a signed integer.
pub(crate) fn write_i64(buf: &mut Vec<u8>, i: i64) {
    buf.extend_from_slice(itoa::Buffer::new().format(i).as_bytes());
}

/// Appends an unsigned integer.
pub(crate) fn write_u64(buf: &mut Vec<u8>, u: u64) {
    buf.extend_from_slice(itoa::Buffer::new().format(u).as_bytes());
}

/// Appends `true` or `false`.
pub(crate) fn write_bool(buf: &mut Vec<u8>, b: bool) {
    buf.extend_from_slice(if b { b"true" } else { b"false" });
}
