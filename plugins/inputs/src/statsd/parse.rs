//! One statsd line into a [`Parsed`]: byte ranges into the line (no allocation once the
//! reused vectors have grown), values parsed, the whole line validated before anything is
//! aggregated (a malformed line contributes nothing).
//!
//! Grammar (Telegraf's): `bucket:value|type[|@rate][:value|type[|@rate]...]`, where `bucket`
//! is `name[,tag=value...]`, `type` is `c`, `g`, `s`, `ms`, `h` or `d`, and with DogStatsD
//! extensions any `|`-segment after the first may be `#k:v,k2,...` (tags, a bare key reads
//! `true`) and a trailing `c:<id>` segment is a container id. Signed values (`+3`, `-3`)
//! are deltas for gauges and plain numbers for counters; other types refuse them. A sample
//! rate that does not parse or is outside (0, 1] is ignored, as Telegraf ignores it.
//!
//! Fast path: DogStatsD segments at the end of the line (what clients send) are peeled off
//! from the right. A tag segment in the middle (`a:1|c|#t:v|@0.5`) makes the line be
//! rewritten into the reused `scratch` buffer with its tags moved to the end, then parsed
//! by the fast path.

use std::ops::Range;

/// The statsd metric types.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Type {
    /// `c`
    Counter,
    /// `g`
    Gauge,
    /// `s`
    Set,
    /// `ms`
    Timing,
    /// `h`
    Histogram,
    /// `d` (DogStatsD distribution, aggregated as a timing)
    Distribution,
}

impl Type {
    /// The `metric_type` tag value (Telegraf's).
    pub(crate) const fn tag(self) -> &'static str {
        match self {
            Type::Counter => "counter",
            Type::Gauge => "gauge",
            Type::Set => "set",
            Type::Timing => "timing",
            Type::Histogram => "histogram",
            Type::Distribution => "distribution",
        }
    }

    /// A byte that starts the series key.
    pub(crate) const fn code(self) -> u8 {
        self as u8
    }

    fn from_bytes(b: &[u8]) -> Option<Type> {
        Some(match b {
            b"c" => Type::Counter,
            b"g" => Type::Gauge,
            b"s" => Type::Set,
            b"ms" => Type::Timing,
            b"h" => Type::Histogram,
            b"d" => Type::Distribution,
            _ => return None,
        })
    }
}

/// One value of a line.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Value {
    /// Counter increment, already divided by the sample rate.
    Counter(i64),
    /// Gauge value; `delta` for a signed value.
    Gauge { value: f64, delta: bool },
    /// Set member: a range of the parsed text.
    Set(Range<usize>),
    /// Timing value and how many samples it stands for (1 / sample rate).
    Timer { value: f64, weight: u64 },
}

/// One `value|type` of a line.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Sample {
    /// Its type.
    pub(crate) ty: Type,
    /// Its value.
    pub(crate) value: Value,
}

/// A parsed line: ranges into the text [`Parser::parse`] returns with it.
#[derive(Debug, Default)]
pub(crate) struct Parsed {
    /// The name part of the bucket.
    pub(crate) name: Range<usize>,
    /// `tag=value,...` after the name in the bucket (may be empty).
    pub(crate) bucket_tags: Range<usize>,
    /// Contents of the DogStatsD tag segments, in line order.
    pub(crate) dd_tags: Vec<Range<usize>>,
    /// The DogStatsD container id.
    pub(crate) container: Option<Range<usize>>,
    /// The values.
    pub(crate) samples: Vec<Sample>,
}

/// Why a line was refused (each counts as one `malformed` drop).
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub(crate) enum ParseError {
    /// No `:` after the bucket.
    #[error("no ':' after the bucket name")]
    NoColon,
    /// Empty bucket name.
    #[error("empty bucket name")]
    EmptyName,
    /// A value without `|type`.
    #[error("a value without a '|type'")]
    NoType,
    /// An unknown type.
    #[error("unknown metric type")]
    UnknownType,
    /// A value that is not a finite number.
    #[error("value is not a finite number")]
    BadNumber,
    /// `+`/`-` on a set or timing.
    #[error("signed values are only allowed for gauges and counters")]
    SignNotAllowed,
    /// Not UTF-8.
    #[error("line is not valid UTF-8")]
    NotUtf8,
}

/// The parser's reused buffers.
#[derive(Debug, Default)]
pub(crate) struct Parser {
    parsed: Parsed,
    scratch: String,
}

impl Parser {
    /// Parses `line` (trimmed, not empty); returns the text the ranges index and the result.
    pub(crate) fn parse<'a>(
        &'a mut self,
        line: &'a [u8],
        datadog: bool,
    ) -> Result<(&'a str, &'a Parsed), ParseError> {
        let text = std::str::from_utf8(line).map_err(|_| ParseError::NotUtf8)?;
        let Parser { parsed, scratch } = self;
        if parse_fast(text, parsed, datadog)? {
            return Ok((text, parsed));
        }
        rewrite(text, parsed, scratch);
        if parse_fast(scratch, parsed, datadog)? {
            Ok((scratch.as_str(), parsed))
        } else {
            // The rewrite leaves no tag segment in the middle, so this cannot happen; refuse
            // the line rather than loop.
            Err(ParseError::NoType)
        }
    }
}

/// Parses a line whose DogStatsD segments are all at the end; `Ok(false)` when a tag segment
/// sits in the middle (the caller rewrites the line).
fn parse_fast(text: &str, p: &mut Parsed, datadog: bool) -> Result<bool, ParseError> {
    let bytes = text.as_bytes();
    p.dd_tags.clear();
    p.container = None;
    p.samples.clear();
    let mut end = bytes.len();
    if datadog {
        while let Some(bar) = memchr::memrchr(b'|', &bytes[..end]) {
            let seg = &bytes[bar + 1..end];
            if seg.first() == Some(&b'#') {
                p.dd_tags.push(bar + 2..end);
            } else if seg.starts_with(b"c:") && p.container.is_none() {
                p.container = Some(bar + 3..end);
            } else {
                break;
            }
            end = bar;
        }
        p.dd_tags.reverse();
        if memchr::memmem::find(&bytes[..end], b"|#").is_some() {
            return Ok(false);
        }
    }
    let colon = memchr::memchr(b':', &bytes[..end]).ok_or(ParseError::NoColon)?;
    let bucket = 0..colon;
    let comma = memchr::memchr(b',', &bytes[bucket.clone()]).unwrap_or(colon);
    if comma == 0 {
        return Err(ParseError::EmptyName);
    }
    p.name = 0..comma;
    p.bucket_tags = (comma + 1).min(colon)..colon;
    let mut start = colon + 1;
    loop {
        let stop = memchr::memchr(b':', &bytes[start..end]).map_or(end, |i| start + i);
        p.samples.push(parse_value(text, start..stop)?);
        if stop == end {
            break;
        }
        start = stop + 1;
    }
    Ok(true)
}

/// Parses one `value|type[|@rate][|...]`.
fn parse_value(text: &str, range: Range<usize>) -> Result<Sample, ParseError> {
    let s = &text[range.clone()];
    let mut parts = s.split('|');
    let value = parts.next().unwrap_or("");
    let ty = parts
        .next()
        .ok_or(ParseError::NoType)
        .and_then(|t| Type::from_bytes(t.as_bytes()).ok_or(ParseError::UnknownType))?;
    let rate = parts
        .next()
        .and_then(|r| r.strip_prefix('@'))
        .and_then(|r| r.parse::<f64>().ok())
        .filter(|r| *r > 0.0 && *r <= 1.0);
    let signed = value.starts_with(['+', '-']);
    let value = match ty {
        Type::Counter => {
            let v = match value.parse::<i64>() {
                Ok(v) => v,
                // Saturating: a float beyond i64 clamps.
                Err(_) => finite(value)? as i64,
            };
            Value::Counter(match rate {
                Some(r) => (v as f64 / r) as i64,
                None => v,
            })
        }
        Type::Gauge => Value::Gauge {
            value: finite(value)?,
            delta: signed,
        },
        _ if signed => return Err(ParseError::SignNotAllowed),
        Type::Set => Value::Set(range.start..range.start + value.len()),
        Type::Timing | Type::Histogram | Type::Distribution => Value::Timer {
            value: finite(value)?,
            weight: rate.map_or(1, |r| (1.0 / r) as u64).max(1),
        },
    };
    Ok(Sample { ty, value })
}

fn finite(s: &str) -> Result<f64, ParseError> {
    s.parse::<f64>()
        .ok()
        .filter(|v| v.is_finite())
        .ok_or(ParseError::BadNumber)
}

/// Writes `text` into `scratch` with every DogStatsD segment moved to the end (tags first,
/// in line order, as one `|#` segment, then the container id). The first segment is always
/// part of the body.
fn rewrite(text: &str, p: &Parsed, scratch: &mut String) {
    scratch.clear();
    // Trailing segments were peeled already: `p.dd_tags` and `p.container` hold them, and
    // the body ends before the first of them.
    let body_end = p
        .dd_tags
        .iter()
        .map(|r| r.start - 2)
        .chain(p.container.iter().map(|r| r.start - 3))
        .min()
        .unwrap_or(text.len());
    let mut tags = String::new();
    for (i, seg) in text[..body_end].split('|').enumerate() {
        match seg.strip_prefix('#') {
            Some(t) if i > 0 => {
                if !tags.is_empty() {
                    tags.push(',');
                }
                tags.push_str(t);
            }
            _ => {
                if i > 0 {
                    scratch.push('|');
                }
                scratch.push_str(seg);
            }
        }
    }
    for r in &p.dd_tags {
        if !tags.is_empty() {
            tags.push(',');
        }
        tags.push_str(&text[r.clone()]);
    }
    if !tags.is_empty() {
        scratch.push_str("|#");
        scratch.push_str(&tags);
    }
    if let Some(c) = &p.container {
        scratch.push_str("|c:");
        scratch.push_str(&text[c.clone()]);
    }
}

#[cfg(test)]
mod tests;
