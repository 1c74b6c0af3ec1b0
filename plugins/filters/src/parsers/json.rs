//! A JSON object's top-level members, read straight from the line into attributes: strings,
//! numbers and booleans keep their type, `null`s are left out, nested objects and arrays are
//! kept as their compact JSON text (whitespace outside strings removed, escapes as written).
//!
//! Our own reader rather than `serde_json`: it builds no value tree (a 1 MiB line costs at
//! most its own size again: each string is copied once into a buffer sized from the raw
//! text, never grown), and it tells why a line failed (`not_json`, `not_an_object`,
//! `invalid_json`, `too_deep`, `too_many_keys`). Nesting is bounded by `max_depth` (the top
//! object is depth 1), members by `max_keys`. Lenient where logs are sloppy and nothing is
//! lost: raw control characters inside strings are taken as they are, and a lone UTF-16
//! surrogate escape becomes U+FFFD.

use std::borrow::Cow;

use gleaner_api::FieldValue;

use super::{Failure, Limits};

/// The index of the first `"` or `\\` in `b`. Most strings of a log line are short (a key,
/// a level, an id), so a word-at-a-time scan that stops within the first words beats
/// `memchr2`'s set-up; a long string is handed to `memchr2` after the first 32 bytes.
pub(super) fn quote_or_backslash(b: &[u8]) -> Option<usize> {
    const ONES: u64 = 0x0101_0101_0101_0101;
    const HIGH: u64 = 0x8080_8080_8080_8080;
    // The high bit of each zero byte (the lowest one set is exact).
    let zero_byte = |x: u64| x.wrapping_sub(ONES) & !x & HIGH;
    let mut i = 0;
    while i < 32
        && let Some(word) = b.get(i..i + 8)
    {
        let mut w = [0; 8];
        w.copy_from_slice(word);
        let w = u64::from_le_bytes(w);
        let hit =
            zero_byte(w ^ (ONES * u64::from(b'"'))) | zero_byte(w ^ (ONES * u64::from(b'\\')));
        if hit != 0 {
            return Some(i + (hit.trailing_zeros() / 8) as usize);
        }
        i += 8;
    }
    let rest = b.get(i..).unwrap_or_default();
    memchr::memchr2(b'"', b'\\', rest).map(|k| i + k)
}

struct Reader<'a> {
    s: &'a str,
    b: &'a [u8],
    i: usize,
}

/// Whether `text` starts (after whitespace) with a byte a JSON value can start with; when
/// it does not, [`parse`] fails with `not_json` whatever follows.
pub(crate) fn starts_like_json(text: &[u8]) -> bool {
    let first = text
        .iter()
        .find(|c| !matches!(c, b' ' | b'\t' | b'\n' | b'\r'));
    matches!(
        first,
        Some(b'{' | b'[' | b'"' | b'-' | b'0'..=b'9' | b't' | b'f' | b'n')
    )
}

/// Parses `text` as one JSON object, giving each member to `sink`.
/// Generic over the sink so that `parse_into`'s one is inlined (a call per member spared).
pub(crate) fn parse<S: FnMut(&str, FieldValue) + ?Sized>(
    text: &str,
    limits: &Limits,
    sink: &mut S,
) -> Result<(), Failure> {
    let mut r = Reader {
        s: text,
        b: text.as_bytes(),
        i: 0,
    };
    r.ws();
    match r.peek() {
        Some(b'{') => {}
        Some(b'[' | b'"' | b'-' | b'0'..=b'9' | b't' | b'f' | b'n') => {
            // A JSON value, or text that starts like one ("404 not found", "true story").
            return Err(if r.skip_value(1, limits.max_depth).is_ok() && r.at_end() {
                Failure::NotAnObject
            } else {
                Failure::NotJson
            });
        }
        _ => return Err(Failure::NotJson),
    }
    r.i += 1;
    r.ws();
    let mut keys = 0_usize;
    if r.peek() == Some(b'}') {
        r.i += 1;
    } else {
        loop {
            r.ws();
            if r.peek() != Some(b'"') {
                return Err(Failure::InvalidJson);
            }
            r.i += 1;
            let key = r.string()?;
            r.ws();
            if r.peek() != Some(b':') {
                return Err(Failure::InvalidJson);
            }
            r.i += 1;
            r.ws();
            keys += 1;
            if keys > limits.max_keys {
                return Err(Failure::TooManyKeys);
            }
            if let Some(v) = r.value(limits.max_depth)? {
                sink(&key, v);
            }
            r.ws();
            match r.peek() {
                Some(b',') => r.i += 1,
                Some(b'}') => {
                    r.i += 1;
                    break;
                }
                _ => return Err(Failure::InvalidJson),
            }
        }
    }
    r.ws();
    if r.at_end() {
        Ok(())
    } else {
        Err(Failure::InvalidJson)
    }
}

impl<'a> Reader<'a> {
    fn peek(&self) -> Option<u8> {
        self.b.get(self.i).copied()
    }

    fn at_end(&self) -> bool {
        self.i >= self.b.len()
    }

    fn ws(&mut self) {
        while let Some(b' ' | b'\t' | b'\n' | b'\r') = self.peek() {
            self.i += 1;
        }
    }

    /// A member's value (after its `:`); `None` for `null`.
    fn value(&mut self, max_depth: usize) -> Result<Option<FieldValue>, Failure> {
        match self.peek() {
            Some(b'"') => {
                self.i += 1;
                Ok(Some(FieldValue::String(self.string()?.into())))
            }
            Some(b'{' | b'[') => {
                let start = self.i;
                self.skip_value(2, max_depth)?;
                Ok(Some(FieldValue::String(
                    compact(&self.s[start..self.i]).into(),
                )))
            }
            Some(b't') => self.literal("true").map(|()| Some(FieldValue::Bool(true))),
            Some(b'f') => self
                .literal("false")
                .map(|()| Some(FieldValue::Bool(false))),
            Some(b'n') => self.literal("null").map(|()| None),
            Some(b'-' | b'0'..=b'9') => self.number().map(Some),
            _ => Err(Failure::InvalidJson),
        }
    }

    fn literal(&mut self, word: &str) -> Result<(), Failure> {
        if self.b[self.i..].starts_with(word.as_bytes()) {
            self.i += word.len();
            Ok(())
        } else {
            Err(Failure::InvalidJson)
        }
    }

    fn digits(&mut self) -> usize {
        let start = self.i;
        while let Some(b'0'..=b'9') = self.peek() {
            self.i += 1;
        }
        self.i - start
    }

    /// A number: an integer when it has no fraction or exponent and fits i64 (else u64),
    /// else a float.
    fn number(&mut self) -> Result<FieldValue, Failure> {
        let start = self.i;
        if self.peek() == Some(b'-') {
            self.i += 1;
        }
        let int_start = self.i;
        let n = self.digits();
        if n == 0 || (n > 1 && self.b[int_start] == b'0') {
            return Err(Failure::InvalidJson);
        }
        let mut float = false;
        if self.peek() == Some(b'.') {
            self.i += 1;
            if self.digits() == 0 {
                return Err(Failure::InvalidJson);
            }
            float = true;
        }
        if let Some(b'e' | b'E') = self.peek() {
            self.i += 1;
            if let Some(b'+' | b'-') = self.peek() {
                self.i += 1;
            }
            if self.digits() == 0 {
                return Err(Failure::InvalidJson);
            }
            float = true;
        }
        let text = &self.s[start..self.i];
        if let Some(v) = small_number(text, float) {
            return Ok(v);
        }
        if !float {
            if let Ok(v) = text.parse::<i64>() {
                return Ok(FieldValue::Int(v));
            }
            if let Ok(v) = text.parse::<u64>() {
                return Ok(FieldValue::UInt(v));
            }
        }
        text.parse::<f64>()
            .map(FieldValue::Float)
            .map_err(|_| Failure::InvalidJson)
    }

    /// A string's text, after its opening quote; borrowed when it has no escapes.
    #[inline]
    fn string(&mut self) -> Result<Cow<'a, str>, Failure> {
        let start = self.i;
        let Some(stop) = quote_or_backslash(&self.b[start..]) else {
            return Err(Failure::InvalidJson);
        };
        if self.b[start + stop] == b'"' {
            self.i = start + stop + 1;
            return Ok(Cow::Borrowed(&self.s[start..start + stop]));
        }
        self.escaped(start, start + stop).map(Cow::Owned)
    }

    /// The text of a string from `start` (after its opening quote) whose first escape is
    /// at `first`: out of line, so that [`Reader::string`]'s common path is inlined.
    #[cold]
    #[inline(never)]
    fn escaped(&mut self, start: usize, first: usize) -> Result<String, Failure> {
        // Find the end first, so the copy is sized once (unescaped text is never longer).
        let end = self.string_end(first)?;
        let mut out = String::with_capacity(end - start);
        let mut i = start;
        while i < end {
            let Some(k) = memchr::memchr(b'\\', &self.b[i..end]) else {
                out.push_str(&self.s[i..end]);
                break;
            };
            out.push_str(&self.s[i..i + k]);
            i += k + 1;
            let esc = self.b.get(i).copied().ok_or(Failure::InvalidJson)?;
            i += 1;
            match esc {
                b'"' => out.push('"'),
                b'\\' => out.push('\\'),
                b'/' => out.push('/'),
                b'b' => out.push('\u{8}'),
                b'f' => out.push('\u{c}'),
                b'n' => out.push('\n'),
                b'r' => out.push('\r'),
                b't' => out.push('\t'),
                b'u' => {
                    let hi = self.hex4(i)?;
                    i += 4;
                    let c = if (0xD800..0xDC00).contains(&hi)
                        && self.b.get(i..i + 2) == Some(b"\\u")
                        && let Ok(lo) = self.hex4(i + 2)
                        && (0xDC00..0xE000).contains(&lo)
                    {
                        i += 6;
                        char::from_u32(0x10000 + ((hi - 0xD800) << 10) + (lo - 0xDC00))
                    } else {
                        char::from_u32(hi)
                    };
                    out.push(c.unwrap_or('\u{FFFD}'));
                }
                _ => return Err(Failure::InvalidJson),
            }
        }
        self.i = end + 1;
        Ok(out)
    }

    /// The index of the closing quote of a string whose first escape is at `from`.
    fn string_end(&self, mut from: usize) -> Result<usize, Failure> {
        loop {
            let Some(k) = memchr::memchr2(b'"', b'\\', &self.b[from..]) else {
                return Err(Failure::InvalidJson);
            };
            from += k;
            if self.b[from] == b'"' {
                return Ok(from);
            }
            from += 2;
            if from > self.b.len() {
                return Err(Failure::InvalidJson);
            }
        }
    }

    fn hex4(&self, at: usize) -> Result<u32, Failure> {
        let h = self.s.get(at..at + 4).ok_or(Failure::InvalidJson)?;
        if !h.bytes().all(|c| c.is_ascii_hexdigit()) {
            return Err(Failure::InvalidJson);
        }
        u32::from_str_radix(h, 16).map_err(|_| Failure::InvalidJson)
    }

    /// Checks the value at the cursor and moves past it; `depth` is the depth of a
    /// container that starts here.
    fn skip_value(&mut self, depth: usize, max_depth: usize) -> Result<(), Failure> {
        match self.peek() {
            Some(open @ (b'{' | b'[')) => {
                if depth > max_depth {
                    return Err(Failure::TooDeep);
                }
                let close = if open == b'{' { b'}' } else { b']' };
                self.i += 1;
                self.ws();
                if self.peek() == Some(close) {
                    self.i += 1;
                    return Ok(());
                }
                loop {
                    self.ws();
                    if open == b'{' {
                        if self.peek() != Some(b'"') {
                            return Err(Failure::InvalidJson);
                        }
                        self.i += 1;
                        self.skip_string()?;
                        self.ws();
                        if self.peek() != Some(b':') {
                            return Err(Failure::InvalidJson);
                        }
                        self.i += 1;
                        self.ws();
                    }
                    self.skip_value(depth + 1, max_depth)?;
                    self.ws();
                    match self.peek() {
                        Some(b',') => self.i += 1,
                        Some(c) if c == close => {
                            self.i += 1;
                            return Ok(());
                        }
                        _ => return Err(Failure::InvalidJson),
                    }
                }
            }
            Some(b'"') => {
                self.i += 1;
                self.skip_string()
            }
            Some(b't') => self.literal("true"),
            Some(b'f') => self.literal("false"),
            Some(b'n') => self.literal("null"),
            Some(b'-' | b'0'..=b'9') => self.number().map(|_| ()),
            _ => Err(Failure::InvalidJson),
        }
    }

    /// Moves past a string (after its opening quote), checking its escapes.
    fn skip_string(&mut self) -> Result<(), Failure> {
        loop {
            let Some(k) = memchr::memchr2(b'"', b'\\', &self.b[self.i..]) else {
                return Err(Failure::InvalidJson);
            };
            self.i += k;
            if self.b[self.i] == b'"' {
                self.i += 1;
                return Ok(());
            }
            match self.b.get(self.i + 1) {
                Some(b'"' | b'\\' | b'/' | b'b' | b'f' | b'n' | b'r' | b't') => self.i += 2,
                Some(b'u') => {
                    self.hex4(self.i + 2)?;
                    self.i += 6;
                }
                _ => return Err(Failure::InvalidJson),
            }
        }
    }
}

/// `raw` (a valid JSON value) without whitespace outside its strings; sized once.
fn compact(raw: &str) -> String {
    let b = raw.as_bytes();
    let mut out = String::with_capacity(raw.len());
    let (mut i, mut run) = (0, 0);
    let mut in_string = false;
    while i < b.len() {
        let c = b[i];
        if in_string {
            match c {
                b'\\' => i += 1,
                b'"' => in_string = false,
                _ => {}
            }
        } else if c == b'"' {
            in_string = true;
        } else if matches!(c, b' ' | b'\t' | b'\n' | b'\r') {
            out.push_str(&raw[run..i]);
            run = i + 1;
        }
        i += 1;
    }
    out.push_str(&raw[run..]);
    out
}

/// Powers of ten exact in an f64.
const POW10: [f64; 16] = [
    1e0, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10, 1e11, 1e12, 1e13, 1e14, 1e15,
];

/// A number (valid JSON, `float` when it has a fraction or exponent) read without the
/// standard parsers when that is exact: an integer of at most 18 digits, or a decimal of
/// at most 15 digits without exponent, whose digits and power of ten are both exact in an
/// f64, so one (correctly rounded) division gives the nearest f64, as `str::parse` does.
/// `None` for anything else.
fn small_number(text: &str, float: bool) -> Option<FieldValue> {
    let (neg, digits) = match text.as_bytes() {
        [b'-', rest @ ..] => (true, rest),
        rest => (false, rest),
    };
    let mut m: i64 = 0;
    let mut n = 0_usize;
    let mut frac: Option<usize> = None;
    for &c in digits {
        match c {
            b'0'..=b'9' => {
                n += 1;
                if n > 18 {
                    return None;
                }
                m = m * 10 + i64::from(c - b'0');
            }
            b'.' => frac = Some(n),
            _ => return None,
        }
    }
    if !float {
        return Some(FieldValue::Int(if neg { -m } else { m }));
    }
    let point = frac?;
    if n > 15 {
        return None;
    }
    #[expect(clippy::cast_precision_loss, reason = "m < 10^15 < 2^53: exact")]
    let v = m as f64 / *POW10.get(n - point)?;
    Some(FieldValue::Float(if neg { -v } else { v }))
}
