//! The message parsers, one implementation shared by `filters.parse` and the `kubernetes`
//! filter's `gleaner.io/parser` annotation (and its `default_parser`): `json` (an object's
//! top-level members), `logfmt`, `kv` (chosen separators) and `regex` (named groups).
//!
//! A parser gives each member to a sink; [`Format::parse_into`] appends them to a list as
//! `<prefix><key>` attributes and, when the text does not parse, leaves the list as it was
//! and says why ([`Failure::reason`], the label its count goes under; a JSON line that does
//! not start like JSON is `not_json` before its UTF-8 is checked). Nothing here allocates
//! beyond the values it makes: names come from [`MemberKeys`], made once per distinct name
//! and, for lines of one shape, found by the member's position without a search.

mod json;
mod logfmt;
#[cfg(test)]
mod tests;

use gleaner_api::event::Attribute;
use gleaner_api::{FieldValue, Key, KeyCache};
use regex::bytes::Regex;

pub(crate) use self::logfmt::KvOptions;

/// Where parsed members go: (key as written, value).
pub(crate) type Sink<'a> = dyn FnMut(&str, FieldValue) + 'a;

/// Why a text did not parse.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Failure {
    /// The text is not UTF-8 (json, logfmt, kv).
    NotUtf8,
    /// It does not start like JSON.
    NotJson,
    /// A JSON value, but not an object.
    NotAnObject,
    /// It starts as a JSON object but breaks.
    InvalidJson,
    /// Nested deeper than `max_depth`.
    TooDeep,
    /// More than `max_keys` members.
    TooManyKeys,
    /// Not logfmt.
    InvalidLogfmt,
    /// No key/value pair.
    NoPairs,
    /// The regex did not match.
    NoMatch,
}

impl Failure {
    /// The reason label of its count.
    pub(crate) const fn reason(self) -> &'static str {
        match self {
            Failure::NotUtf8 => "not_utf8",
            Failure::NotJson => "not_json",
            Failure::NotAnObject => "not_an_object",
            Failure::InvalidJson => "invalid_json",
            Failure::TooDeep => "too_deep",
            Failure::TooManyKeys => "too_many_keys",
            Failure::InvalidLogfmt => "invalid_logfmt",
            Failure::NoPairs => "no_pairs",
            Failure::NoMatch => "no_match",
        }
    }
}

/// Bounds on what one text may produce.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Limits {
    /// Deepest JSON nesting (the top object is 1).
    pub(crate) max_depth: usize,
    /// Most members (top-level keys, pairs, groups).
    pub(crate) max_keys: usize,
}

impl Limits {
    /// The defaults of `filters.parse` (and of the annotation).
    pub(crate) const DEFAULT: Limits = Limits {
        max_depth: 32,
        max_keys: 256,
    };
}

/// Positions remembered by [`MemberKeys`] (members past it are looked up in the cache).
const REMEMBERED_POSITIONS: usize = 64;

/// The attribute names of parsed members (`<prefix><member>`): a [`KeyCache`], and the
/// names the previous text gave at each position. Lines of one kind list their members in
/// the same order, so the name at a member's position is usually its own: one comparison
/// with the name's text, instead of the cache's search and the joined text it builds.
#[derive(Debug, Default)]
pub(crate) struct MemberKeys {
    cache: KeyCache,
    /// The prefix the names by position are under.
    prefix: String,
    by_position: Vec<Key>,
}

impl MemberKeys {
    /// No names yet.
    pub(crate) const fn new() -> MemberKeys {
        MemberKeys {
            cache: KeyCache::new(),
            prefix: String::new(),
            by_position: Vec::new(),
        }
    }

    /// Names under `prefix` follow: the names by position are forgotten when it differs
    /// from the last one's, so [`MemberKeys::key`] compares only the member's part.
    fn under(&mut self, prefix: &str) {
        if self.prefix != prefix {
            prefix.clone_into(&mut self.prefix);
            self.by_position.clear();
        }
    }

    /// The name of the member `member` at position `at` (0-based) under `prefix` (the one
    /// given to [`MemberKeys::under`]).
    fn key(&mut self, at: usize, prefix: &str, member: &str) -> Key {
        if let Some(k) = self.by_position.get(at)
            && k.len() == prefix.len() + member.len()
            && k.as_bytes().get(prefix.len()..) == Some(member.as_bytes())
        {
            return k.clone();
        }
        let k = self.cache.get_joined(&[prefix, member]);
        if let Some(slot) = self.by_position.get_mut(at) {
            *slot = k.clone();
        } else if at == self.by_position.len() && at < REMEMBERED_POSITIONS {
            self.by_position.push(k.clone());
        }
        k
    }
}

/// A parser and its options.
#[derive(Debug, Clone)]
pub(crate) enum Format {
    /// One JSON object.
    Json,
    /// logfmt.
    Logfmt,
    /// Key/value pairs.
    Kv(KvOptions),
    /// A regex's named groups (groups that took no part are left out).
    Regex(Regex),
}

impl Format {
    /// The parser an annotation (or `default_parser`) names: `json`, `logfmt`, `kv`.
    pub(crate) fn named(value: &str) -> Option<Format> {
        match value.trim() {
            "json" => Some(Format::Json),
            "logfmt" => Some(Format::Logfmt),
            "kv" => Some(Format::Kv(KvOptions::default())),
            _ => None,
        }
    }

    /// Parses `text`, appending `<prefix><key>` attributes to `out`; on failure `out` is as
    /// it was. Names come from `keys`: the members of one kind of line repeat, so each name
    /// is made once, not per line, and found by its position.
    pub(crate) fn parse_into(
        &self,
        text: &[u8],
        prefix: &str,
        limits: &Limits,
        keys: &mut MemberKeys,
        out: &mut Vec<Attribute>,
    ) -> Result<(), Failure> {
        let start = out.len();
        keys.under(prefix);
        let mut sink = |k: &str, v: FieldValue| {
            let at = out.len() - start;
            out.push((keys.key(at, prefix, k), v));
        };
        let res = match self {
            Format::Regex(re) => regex(re, text, limits.max_keys, &mut sink),
            // A line that does not start like JSON is `not_json` whatever its bytes: most
            // lines of a mixed log are plain text, and this spares them a UTF-8 check.
            Format::Json if !json::starts_like_json(text) => Err(Failure::NotJson),
            _ => match std::str::from_utf8(text) {
                Err(_) => Err(Failure::NotUtf8),
                Ok(s) => match self {
                    Format::Json => json::parse(s, limits, &mut sink),
                    Format::Logfmt => logfmt::logfmt(s, limits.max_keys, &mut sink),
                    Format::Kv(o) => logfmt::kv(s, o, limits.max_keys, &mut sink),
                    Format::Regex(_) => Ok(()),
                },
            },
        };
        if res.is_err() {
            out.truncate(start);
        }
        res
    }
}

fn regex(re: &Regex, text: &[u8], max_keys: usize, sink: &mut Sink<'_>) -> Result<(), Failure> {
    let caps = re.captures(text).ok_or(Failure::NoMatch)?;
    for (n, name) in re.capture_names().enumerate().take(max_keys + 1) {
        let (Some(name), Some(m)) = (name, caps.get(n)) else {
            continue;
        };
        sink(
            name,
            FieldValue::String(String::from_utf8_lossy(m.as_bytes()).into()),
        );
    }
    Ok(())
}
