//! The series key of a parsed value: measurement name (with the configured name rules) and
//! its sorted, de-duplicated tags, written into one reused byte buffer that the aggregator
//! looks series up by, so a value of a known series costs no allocation.
//!
//! Key layout: type code, name, `0xFF`, then per tag `key 0xFE value 0xFF`. Names and tags
//! are UTF-8, where `0xFE` and `0xFF` never occur, so the layout is unambiguous.
//!
//! Tag precedence, as in Telegraf: tags in the bucket (`name,k=v`), then `metric_type`,
//! then DogStatsD tags, then the container id; a later key replaces an earlier one.

use super::config::ParseOptions;
use super::parse::{Parsed, Type};

/// A piece of text: a range of the parsed line, or a constant.
#[derive(Debug, Clone, Copy)]
enum Src {
    Span(usize, usize),
    Static(&'static str),
}

impl Src {
    fn get(self, text: &str) -> &str {
        match self {
            Src::Span(a, b) => text.get(a..b).unwrap_or(""),
            Src::Static(s) => s,
        }
    }
}

/// Reused buffers for building keys.
#[derive(Debug, Default)]
pub(crate) struct KeyBuilder {
    tags: Vec<(Src, Src)>,
    /// The last key built.
    pub(crate) key: Vec<u8>,
    /// Where the name ends in `key`.
    name_end: usize,
}

impl KeyBuilder {
    /// Builds the key of a `ty` value of `p`; false when the name comes out empty.
    pub(crate) fn build(&mut self, text: &str, p: &Parsed, ty: Type, o: &ParseOptions) -> bool {
        self.key.clear();
        self.key.push(ty.code());
        write_name(&mut self.key, &text[p.name.clone()], o);
        self.name_end = self.key.len();
        if self.name_end == 1 {
            return false;
        }
        self.key.push(0xFF);
        self.collect_tags(text, p, ty, o);
        let tags = &self.tags;
        for (i, (k, v)) in tags.iter().enumerate() {
            let key = k.get(text);
            // Sorted stably: of equal keys, the last one wins.
            if tags.get(i + 1).is_some_and(|(n, _)| n.get(text) == key) {
                continue;
            }
            self.key.extend_from_slice(key.as_bytes());
            self.key.push(0xFE);
            self.key.extend_from_slice(v.get(text).as_bytes());
            self.key.push(0xFF);
        }
        true
    }

    fn collect_tags(&mut self, text: &str, p: &Parsed, ty: Type, o: &ParseOptions) {
        self.tags.clear();
        let base = p.bucket_tags.start;
        for part in split_spans(&text[p.bucket_tags.clone()], b',', base) {
            let s = &text[part.0..part.1];
            if let Some(eq) = s.find('=') {
                let (k, v) = (part.0..part.0 + eq, part.0 + eq + 1..part.1);
                if !k.is_empty() && !v.is_empty() {
                    self.tags
                        .push((Src::Span(k.start, k.end), Src::Span(v.start, v.end)));
                }
            }
        }
        self.tags
            .push((Src::Static("metric_type"), Src::Static(ty.tag())));
        for seg in &p.dd_tags {
            for part in split_spans(&text[seg.clone()], b',', seg.start) {
                let s = &text[part.0..part.1];
                let (k, v) = match s.find(':') {
                    Some(c) => (
                        Src::Span(part.0, part.0 + c),
                        Src::Span(part.0 + c + 1, part.1),
                    ),
                    None => (Src::Span(part.0, part.1), Src::Static("true")),
                };
                if k.get(text).is_empty() {
                    continue;
                }
                let v = if v.get(text).is_empty() {
                    Src::Static("true")
                } else {
                    v
                };
                self.tags.push((k, v));
            }
        }
        if o.keep_container
            && let Some(c) = &p.container
            && !c.is_empty()
        {
            self.tags
                .push((Src::Static("container"), Src::Span(c.start, c.end)));
        }
        self.tags.sort_by(|a, b| a.0.get(text).cmp(b.0.get(text)));
    }

    /// The measurement name of the last key.
    pub(crate) fn name(&self) -> String {
        String::from_utf8_lossy(&self.key[1..self.name_end]).into_owned()
    }

    /// The tags of the last key, sorted by key.
    pub(crate) fn tags(&self) -> Vec<(String, String)> {
        let mut out = Vec::new();
        let mut rest = &self.key[self.name_end + 1..];
        while let Some(fe) = memchr::memchr(0xFE, rest) {
            let ff = memchr::memchr(0xFF, &rest[fe..]).map_or(rest.len(), |i| fe + i);
            out.push((
                String::from_utf8_lossy(&rest[..fe]).into_owned(),
                String::from_utf8_lossy(&rest[fe + 1..ff]).into_owned(),
            ));
            rest = rest.get(ff + 1..).unwrap_or(&[]);
        }
        out
    }
}

/// Byte spans (offset by `base`) of the non-empty parts of `s` split on `sep`.
fn split_spans(s: &str, sep: u8, base: usize) -> impl Iterator<Item = (usize, usize)> + '_ {
    let mut at = 0;
    std::iter::from_fn(move || {
        while at <= s.len() {
            let end = memchr::memchr(sep, &s.as_bytes()[at..]).map_or(s.len(), |i| at + i);
            let span = (base + at, base + end);
            at = end + 1;
            if span.1 > span.0 {
                return Some(span);
            }
        }
        None
    })
}

/// Appends `name` with the naming rules: statsd's upstream sanitising (whitespace runs to
/// `_`, `/` to `-`, only `[A-Za-z0-9_.;=-]` kept), `.` to the separator, then with
/// `convert_names` `.` to `_` and `-` to `__`.
fn write_name(out: &mut Vec<u8>, name: &str, o: &ParseOptions) {
    let plain = !o.sanitize_upstream && !o.convert_names && !name.contains('.');
    if plain {
        out.extend_from_slice(name.as_bytes());
        return;
    }
    let mut in_space = false;
    for &b in name.as_bytes() {
        let mut b = b;
        if o.sanitize_upstream {
            if b.is_ascii_whitespace() {
                if !in_space {
                    out.push(b'_');
                }
                in_space = true;
                continue;
            }
            in_space = false;
            if b == b'/' {
                b = b'-';
            }
            if !(b.is_ascii_alphanumeric() || b"_-.;=".contains(&b)) {
                continue;
            }
        }
        match b {
            b'.' => {
                for &s in o.separator.as_bytes() {
                    push_converted(out, s, o.convert_names);
                }
            }
            _ => push_converted(out, b, o.convert_names),
        }
    }
}

fn push_converted(out: &mut Vec<u8>, b: u8, convert: bool) {
    match b {
        b'.' if convert => out.push(b'_'),
        b'-' if convert => out.extend_from_slice(b"__"),
        _ => out.push(b),
    }
}
