//! The tokens both exposition formats share, read from one line without copying: metric
//! and label names, quoted label values (escapes are remembered, not undone: a value is
//! unescaped only when a caller turns it into a `String`), values and timestamps.

use super::{Label, Reason};

/// A position in one line (no `\n` inside).
pub(super) struct Cursor<'a> {
    pub(super) line: &'a str,
    pub(super) pos: usize,
}

const fn is_name_start(b: u8) -> bool {
    b.is_ascii_alphabetic() || b == b'_' || b == b':'
}

const fn is_name_char(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b == b'_' || b == b':'
}

/// True when `s` is a valid metric name (`[a-zA-Z_:][a-zA-Z0-9_:]*`).
pub(super) fn is_metric_name(s: &str) -> bool {
    let b = s.as_bytes();
    !b.is_empty() && is_name_start(b[0]) && b[1..].iter().all(|&c| is_name_char(c))
}

impl<'a> Cursor<'a> {
    pub(super) fn new(line: &'a str) -> Self {
        Cursor { line, pos: 0 }
    }

    pub(super) fn peek(&self) -> Option<u8> {
        self.line.as_bytes().get(self.pos).copied()
    }

    pub(super) fn at_end(&self) -> bool {
        self.pos >= self.line.len()
    }

    /// Consumes `b` if it is next.
    pub(super) fn eat(&mut self, b: u8) -> bool {
        if self.peek() == Some(b) {
            self.pos += 1;
            true
        } else {
            false
        }
    }

    /// Skips spaces and tabs; returns how many.
    pub(super) fn blanks(&mut self) -> usize {
        let start = self.pos;
        while matches!(self.peek(), Some(b' ' | b'\t')) {
            self.pos += 1;
        }
        self.pos - start
    }

    /// `[a-zA-Z_:][a-zA-Z0-9_:]*`.
    pub(super) fn metric_name(&mut self) -> Result<&'a str, Reason> {
        let b = self.line.as_bytes();
        let start = self.pos;
        if !b.get(start).is_some_and(|&c| is_name_start(c)) {
            return Err(Reason::MetricName);
        }
        let mut end = start + 1;
        while b.get(end).is_some_and(|&c| is_name_char(c)) {
            end += 1;
        }
        self.pos = end;
        Ok(&self.line[start..end])
    }

    /// `[a-zA-Z_][a-zA-Z0-9_]*`.
    pub(super) fn label_name(&mut self) -> Result<&'a str, Reason> {
        let b = self.line.as_bytes();
        let start = self.pos;
        if !b
            .get(start)
            .is_some_and(|&c| c.is_ascii_alphabetic() || c == b'_')
        {
            return Err(Reason::LabelName);
        }
        let mut end = start + 1;
        while b
            .get(end)
            .is_some_and(|&c| c.is_ascii_alphanumeric() || c == b'_')
        {
            end += 1;
        }
        self.pos = end;
        Ok(&self.line[start..end])
    }

    /// A `"`-quoted value (the opening quote is next); returns the raw text between the
    /// quotes and whether it holds a backslash.
    pub(super) fn quoted(&mut self) -> Result<(&'a str, bool), Reason> {
        if !self.eat(b'"') {
            return Err(Reason::LabelValue);
        }
        let b = self.line.as_bytes();
        let start = self.pos;
        let mut i = start;
        let mut escaped = false;
        loop {
            match memchr::memchr2(b'"', b'\\', &b[i..]) {
                None => return Err(Reason::LabelValue),
                Some(off) => {
                    let at = i + off;
                    if b[at] == b'"' {
                        self.pos = at + 1;
                        return Ok((&self.line[start..at], escaped));
                    }
                    // A backslash escapes the next byte, whatever it is.
                    if at + 1 >= b.len() {
                        return Err(Reason::LabelValue);
                    }
                    escaped = true;
                    i = at + 2;
                }
            }
        }
    }

    /// The run of bytes up to the next space or tab (or the end).
    pub(super) fn token(&mut self) -> &'a str {
        let b = self.line.as_bytes();
        let start = self.pos;
        let mut end = start;
        while end < b.len() && b[end] != b' ' && b[end] != b'\t' {
            end += 1;
        }
        self.pos = end;
        &self.line[start..end]
    }

    /// The run of bytes up to the next space only (OpenMetrics separates with one space).
    pub(super) fn om_token(&mut self) -> &'a str {
        let start = self.pos;
        let end = memchr::memchr(b' ', &self.line.as_bytes()[start..])
            .map_or(self.line.len(), |o| start + o);
        self.pos = end;
        &self.line[start..end]
    }
}

/// `name="value"` pairs between braces, the opening `{` already consumed; appends them to
/// `out`. The text format allows blanks between tokens and a trailing comma; OpenMetrics
/// allows neither.
pub(super) fn labels<'a>(
    c: &mut Cursor<'a>,
    strict: bool,
    out: &mut Vec<Label<'a>>,
) -> Result<(), Reason> {
    loop {
        if !strict {
            c.blanks();
        }
        if c.eat(b'}') {
            if strict && !out.is_empty() {
                // `{a="1",}`: the comma promised another label.
                return Err(Reason::Labels);
            }
            return Ok(());
        }
        let name = c.label_name()?;
        if !strict {
            c.blanks();
        }
        if !c.eat(b'=') {
            return Err(Reason::Labels);
        }
        if !strict {
            c.blanks();
        }
        let (raw, escaped) = c.quoted()?;
        out.push(Label { name, raw, escaped });
        if !strict {
            c.blanks();
        }
        if c.eat(b',') {
            continue;
        }
        if c.eat(b'}') {
            return Ok(());
        }
        return Err(Reason::Labels);
    }
}

/// A sample value: what Go's `ParseFloat` and Python's `float` both take in decimal
/// (`1`, `-1.5e3`, `.5`, `NaN`, `+Inf`, `infinity`, any case); no hex, no `_`.
pub(super) fn value(s: &str) -> Result<f64, Reason> {
    // Fast path: up to 15 digits with at most one `.` between them (`42`, `123.4`). The
    // digits as an integer and the power of ten are exact doubles, so their quotient is the
    // correctly rounded value, as the full parser gives it (Clinger's fast path).
    let b = s.as_bytes();
    if !b.is_empty() && b.len() <= 16 {
        let mut n: u64 = 0;
        let mut point = None;
        let mut ok = true;
        for (i, &d) in b.iter().enumerate() {
            if d.is_ascii_digit() {
                n = n * 10 + u64::from(d - b'0');
            } else if d == b'.' && point.is_none() {
                point = Some(i);
            } else {
                ok = false;
                break;
            }
        }
        match point {
            // Digits on both sides of the point, at most 15 of them.
            Some(p) if ok && p > 0 && p + 1 < b.len() => {
                return Ok(n as f64 / POWERS_OF_TEN[b.len() - 1 - p]);
            }
            None if ok && b.len() <= 15 => return Ok(n as f64),
            _ => {}
        }
    }
    s.parse::<f64>().map_err(|_| Reason::Value)
}

/// 10^0 to 10^15, each exact as a double.
const POWERS_OF_TEN: [f64; 16] = [
    1e0, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10, 1e11, 1e12, 1e13, 1e14, 1e15,
];

/// A 0.0.4 timestamp: int64 milliseconds; returns nanoseconds (saturating).
pub(super) fn text_timestamp(s: &str) -> Result<i64, Reason> {
    // Fast path: up to 18 digits, which cannot overflow.
    let b = s.as_bytes();
    let ms: i64 = if !b.is_empty() && b.len() <= 18 && b.iter().all(u8::is_ascii_digit) {
        b.iter().fold(0i64, |n, &d| n * 10 + i64::from(d - b'0'))
    } else {
        s.parse().map_err(|_| Reason::Timestamp)?
    };
    Ok(ms.saturating_mul(1_000_000))
}

/// An OpenMetrics timestamp: seconds, an integer or a decimal fraction (exact to the
/// nanosecond) or a float with an exponent; never NaN or infinite. Returns nanoseconds
/// (saturating).
pub(super) fn om_timestamp(s: &str) -> Result<i64, Reason> {
    let b = s.as_bytes();
    let (neg, digits) = match b.first() {
        Some(b'-') => (true, &b[1..]),
        Some(b'+') => (false, &b[1..]),
        _ => (false, b),
    };
    let (int, frac) = match memchr::memchr(b'.', digits) {
        Some(i) => (&digits[..i], Some(&digits[i + 1..])),
        None => (digits, None),
    };
    let plain = !int.is_empty()
        && int.iter().all(u8::is_ascii_digit)
        && frac.is_none_or(|f| f.iter().all(u8::is_ascii_digit));
    if plain {
        let mut secs: i128 = 0;
        for &d in int {
            secs = (secs * 10 + i128::from(d - b'0')).min(i128::from(i64::MAX));
        }
        let mut nanos: i128 = 0;
        let f = frac.unwrap_or(&[]);
        for i in 0..9 {
            nanos = nanos * 10 + f.get(i).map_or(0, |&d| i128::from(d - b'0'));
        }
        let total = secs * 1_000_000_000 + nanos;
        let total = if neg { -total } else { total };
        return Ok(i64::try_from(total).unwrap_or(if neg { i64::MIN } else { i64::MAX }));
    }
    // `inf`/`nan` spelled out are not timestamps; anything else goes through the float
    // grammar (`1.5e3`, `.5`).
    if b.iter()
        .any(|c| c.is_ascii_alphabetic() && !matches!(c, b'e' | b'E'))
    {
        return Err(Reason::Timestamp);
    }
    let secs: f64 = s.parse().map_err(|_| Reason::Timestamp)?;
    if !secs.is_finite() {
        return Err(Reason::Timestamp);
    }
    // `as` saturates.
    Ok((secs * 1e9) as i64)
}

/// Appends the unescaped form of a raw label value (`\\`, `\"`, `\n`; any other escape is
/// kept as written, as Prometheus and the OpenMetrics reference parser do).
pub(super) fn unescape_into(raw: &str, out: &mut String) {
    let mut rest = raw;
    while let Some(i) = rest.find('\\') {
        out.push_str(&rest[..i]);
        let after = &rest[i + 1..];
        match after.as_bytes().first() {
            Some(b'\\') => out.push('\\'),
            Some(b'"') => out.push('"'),
            Some(b'n') => out.push('\n'),
            Some(_) | None => {
                out.push('\\');
                rest = after;
                continue;
            }
        }
        rest = &after[1..];
    }
    out.push_str(rest);
}

/// Code points of the unescaped form of a raw label value.
pub(super) fn unescaped_chars(raw: &str) -> usize {
    let b = raw.as_bytes();
    let (mut i, mut escapes) = (0, 0);
    while let Some(off) = memchr::memchr(b'\\', &b[i..]) {
        let at = i + off;
        if matches!(b.get(at + 1), Some(b'\\' | b'"' | b'n')) {
            escapes += 1;
        }
        i = at + 2;
        if i >= b.len() {
            break;
        }
    }
    raw.chars().count() - escapes
}
