//! Conditions on events, shared by `filters.select` (`include`, `exclude`) and
//! `filters.throttle` (`exclude`): a table from a name to patterns, as in
//! `exclude = { "log.level" = ["debug", "trace"], body = "/health(z|check)/" }`.
//!
//! - A name is, on a log record, `body` (the message) or an attribute; on a metric, `name`
//!   (the measurement), else a tag of that name, else a field of that name.
//! - A pattern is a glob (`*`, `?`; the whole value must match) or, written `/.../`, a regex
//!   (found anywhere in the value; anchor it with `^…$`). Regexes are compiled once, at load.
//! - A condition holds when its name is present and any of its patterns matches its value
//!   (numbers and booleans are matched as their text). A name that is absent matches nothing:
//!   unknown names are data, not errors.
//! - The conditions of a table combine with `any` (default) or `all`.

use std::fmt::Write as _;

use gleaner_api::glob::Glob;
use gleaner_api::{ConfigError, FieldValue, LogRecord, Metric, PluginConfig};
use regex::bytes::Regex;
use serde::Deserialize;

use crate::spans::{Seg, compile_regex, error_at_path};

/// One pattern or several, as written.
#[derive(Debug, Clone, Deserialize)]
#[serde(untagged)]
pub(crate) enum OneOrMany {
    /// `"debug"`.
    One(String),
    /// `["debug", "trace"]`.
    Many(Vec<String>),
}

impl OneOrMany {
    fn as_slice(&self) -> &[String] {
        match self {
            OneOrMany::One(s) => std::slice::from_ref(s),
            OneOrMany::Many(v) => v,
        }
    }
}

/// A condition table as written: name -> patterns, in file order.
pub(crate) type RawConditions = crate::ordered::Ordered<OneOrMany>;

/// How the conditions of one table combine.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize)]
#[serde(rename_all = "lowercase")]
pub(crate) enum Combine {
    /// One condition is enough.
    #[default]
    Any,
    /// Every condition must hold.
    All,
}

/// A compiled pattern.
#[derive(Debug, Clone)]
pub(crate) enum Pattern {
    /// Whole-value glob.
    Glob(Glob),
    /// Regex, found anywhere.
    Regex(Regex),
}

impl Pattern {
    fn matches(&self, text: &[u8]) -> bool {
        match self {
            Pattern::Regex(re) => re.is_match(text),
            Pattern::Glob(g) => match std::str::from_utf8(text) {
                Ok(s) => g.matches(s),
                Err(_) => g.matches(&String::from_utf8_lossy(text)),
            },
        }
    }

    /// Compiles the pattern at `path` in the config.
    pub(crate) fn compile(
        cfg: &PluginConfig,
        path: &[Seg<'_>],
        written: &str,
    ) -> Result<Pattern, ConfigError> {
        match written.strip_prefix('/').and_then(|r| r.strip_suffix('/')) {
            Some(re) if written.len() >= 2 => {
                if re.is_empty() {
                    return Err(error_at_path(cfg, path, "empty regex `//`")
                        .with_hint("write a pattern between the slashes, or \"\" for a glob"));
                }
                Ok(Pattern::Regex(compile_regex(cfg, path, re, 1)?))
            }
            _ => Ok(Pattern::Glob(Glob::new(written))),
        }
    }
}

/// One condition: a name and its patterns.
#[derive(Debug, Clone)]
struct Condition {
    name: String,
    patterns: Vec<Pattern>,
}

/// A compiled condition table.
#[derive(Debug, Clone)]
pub(crate) struct Conditions {
    list: Vec<Condition>,
    combine: Combine,
    /// Scratch text of a non-string value.
    text: String,
}

impl Conditions {
    /// Compiles the table under the top-level key `key`; `None` when it is empty.
    pub(crate) fn compile(
        cfg: &PluginConfig,
        key: &str,
        raw: &RawConditions,
        combine: Combine,
    ) -> Result<Option<Conditions>, ConfigError> {
        let mut list = Vec::with_capacity(raw.0.len());
        for (name, pats) in &raw.0 {
            if name.is_empty() {
                return Err(
                    error_at_path(cfg, &[Seg::Key(key)], "empty name in a condition").with_hint(
                        "name `body`, an attribute, or for metrics `name`, a tag or a field",
                    ),
                );
            }
            let written = pats.as_slice();
            if written.is_empty() {
                return Err(error_at_path(
                    cfg,
                    &[Seg::Key(key), Seg::Key(name)],
                    format!("no pattern for {name:?}"),
                )
                .with_hint("give at least one glob or /regex/"));
            }
            let mut patterns = Vec::with_capacity(written.len());
            for (i, w) in written.iter().enumerate() {
                let path = match pats {
                    OneOrMany::One(_) => vec![Seg::Key(key), Seg::Key(name)],
                    OneOrMany::Many(_) => vec![Seg::Key(key), Seg::Key(name), Seg::Index(i)],
                };
                patterns.push(Pattern::compile(cfg, &path, w)?);
            }
            list.push(Condition {
                name: name.clone(),
                patterns,
            });
        }
        Ok((!list.is_empty()).then_some(Conditions {
            list,
            combine,
            text: String::new(),
        }))
    }

    fn combine(&mut self, mut one: impl FnMut(&Condition, &mut String) -> bool) -> bool {
        let text = &mut self.text;
        match self.combine {
            Combine::Any => self.list.iter().any(|c| one(c, text)),
            Combine::All => self.list.iter().all(|c| one(c, text)),
        }
    }

    /// The names the conditions read (`body` included).
    pub(crate) fn names(&self) -> impl Iterator<Item = &str> {
        self.list.iter().map(|c| c.name.as_str())
    }

    /// True when the record meets the table.
    pub(crate) fn log(&mut self, r: &LogRecord) -> bool {
        self.combine(|c, text| {
            if c.name == "body" {
                return c.patterns.iter().any(|p| p.matches(&r.body));
            }
            match r.attributes.get(&c.name) {
                Some(v) => any_matches(&c.patterns, v, text),
                None => false,
            }
        })
    }

    /// True when the metric meets the table.
    pub(crate) fn metric(&mut self, m: &Metric) -> bool {
        self.combine(|c, text| {
            if c.name == "name" {
                return c
                    .patterns
                    .iter()
                    .any(|p| p.matches(m.measurement.as_bytes()));
            }
            if let Some(t) = m.tag(&c.name) {
                return c.patterns.iter().any(|p| p.matches(t.as_bytes()));
            }
            match m.field(&c.name) {
                Some(v) => any_matches(&c.patterns, v, text),
                None => false,
            }
        })
    }
}

/// Writes a value's text into `text` (cleared first) unless it is a string.
pub(crate) fn value_text<'a>(v: &'a FieldValue, text: &'a mut String) -> &'a str {
    match v {
        FieldValue::String(s) => s,
        other => {
            text.clear();
            let _infallible = write!(text, "{other}");
            text
        }
    }
}

fn any_matches(patterns: &[Pattern], v: &FieldValue, text: &mut String) -> bool {
    let t = value_text(v, text);
    patterns.iter().any(|p| p.matches(t.as_bytes()))
}

#[cfg(test)]
mod tests;
