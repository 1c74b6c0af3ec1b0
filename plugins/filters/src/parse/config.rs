//! `[[filters.parse]]` options, their defaults, and their validation into [`Settings`].

use gleaner_api::{ConfigError, PluginConfig};
use serde::Deserialize;

use super::time::TimeFormat;
use crate::parsers::{Format, KvOptions, Limits};
use crate::spans::{Seg, compile_regex};

pub(crate) const SAMPLE: &str = r#"[[filters.parse]]
## How to read the message: "json" (an object), "logfmt", "kv" (pairs with the separators
## below) or "regex" (the named groups of `pattern`).
# format = "json"
## The regex of format = "regex"; each named group (?P<name>...) becomes an attribute.
# pattern = '^(?P<ip>\S+) \S+ \S+ \[(?P<time>[^\]]+)\] "(?P<request>[^"]*)" (?P<status>\d+)'
## What to parse: "body" (the message) or the name of an attribute.
# source = "body"
## Prefix of the parsed members' attribute names; "" puts them at the top level (replacing
## attributes of the same name).
# target = "log."
## Keep the parsed text. With false, a parsed attribute is removed and a parsed body becomes
## the member named by message_key (when the line has one).
# keep_original = true
# message_key = "message"
## The member that holds the record's time, and how it is written: "rfc3339", "unix",
## "unix_ms", "unix_us", "unix_ns" or a strftime-like pattern ("%d/%b/%Y:%H:%M:%S %z").
# time_key = ""
# time_format = "rfc3339"
## The member that holds the level; it is copied, normalised, into attribute `severity`
## (trace, debug, info, warn, error, fatal).
# level_key = ""
## Separators of format = "kv" (" " means any run of whitespace).
# pair_separator = " "
# value_separator = "="
## Bounds: deepest JSON nesting and most members; a line beyond them passes unparsed.
# max_depth = 32
# max_keys = 256
"#;

/// The filter's options.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub(crate) struct ParseConfig {
    /// `json`, `logfmt`, `kv` or `regex`.
    format: String,
    /// The regex of `format = "regex"`.
    pattern: Option<String>,
    /// `body` or an attribute name.
    source: String,
    /// Prefix of parsed attribute names.
    target: String,
    /// Keep the parsed text.
    keep_original: bool,
    /// The member that becomes the body when `keep_original = false`.
    message_key: String,
    /// The member holding the time.
    time_key: String,
    /// How the time is written.
    time_format: String,
    /// The member holding the level.
    level_key: String,
    /// kv: between pairs.
    pair_separator: String,
    /// kv: between key and value.
    value_separator: String,
    /// Deepest JSON nesting.
    max_depth: usize,
    /// Most members per line.
    max_keys: usize,
}

impl Default for ParseConfig {
    fn default() -> Self {
        let kv = KvOptions::default();
        ParseConfig {
            format: "json".to_owned(),
            pattern: None,
            source: "body".to_owned(),
            target: "log.".to_owned(),
            keep_original: true,
            message_key: "message".to_owned(),
            time_key: String::new(),
            time_format: "rfc3339".to_owned(),
            level_key: String::new(),
            pair_separator: kv.pair_separator,
            value_separator: kv.value_separator,
            max_depth: Limits::DEFAULT.max_depth,
            max_keys: Limits::DEFAULT.max_keys,
        }
    }
}

/// Where the text comes from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Source {
    /// The message.
    Body,
    /// An attribute.
    Attribute(String),
}

/// Validated settings.
#[derive(Debug, Clone)]
pub(crate) struct Settings {
    pub(crate) format: Format,
    pub(crate) source: Source,
    pub(crate) target: String,
    pub(crate) keep_original: bool,
    /// `<target><message_key>` (only when `keep_original` is off and the source is the body).
    pub(crate) message_attr: Option<String>,
    /// `<target><time_key>` and its format.
    pub(crate) time: Option<(String, TimeFormat)>,
    /// `<target><level_key>`.
    pub(crate) level_attr: Option<String>,
    pub(crate) limits: Limits,
}

impl ParseConfig {
    /// Checks the options.
    pub(crate) fn validate(self, cfg: &PluginConfig) -> Result<Settings, ConfigError> {
        let format = match (self.format.as_str(), &self.pattern) {
            ("regex", Some(p)) => {
                let re = compile_regex(cfg, &[Seg::Key("pattern")], p, 0)?;
                let named = re.capture_names().flatten().count();
                if named == 0 {
                    return Err(cfg
                        .error_at("pattern", "the pattern has no named group")
                        .with_hint("name what to keep: (?P<status>\\d+)"));
                }
                if named > self.max_keys {
                    return Err(cfg.error_at("pattern", "more named groups than max_keys"));
                }
                Format::Regex(re)
            }
            ("regex", None) => {
                return Err(cfg
                    .error_at("format", "format = \"regex\" needs a pattern")
                    .with_hint("pattern = '^(?P<level>\\w+) (?P<msg>.*)$'"));
            }
            (_, Some(_)) => {
                return Err(cfg
                    .error_at("pattern", "pattern is for format = \"regex\"")
                    .with_hint("remove it, or set format = \"regex\""));
            }
            ("json", None) => Format::Json,
            ("logfmt", None) => Format::Logfmt,
            ("kv", None) => {
                if self.pair_separator.is_empty() || self.value_separator.is_empty() {
                    return Err(cfg.error_at(
                        if self.pair_separator.is_empty() {
                            "pair_separator"
                        } else {
                            "value_separator"
                        },
                        "an empty separator",
                    ));
                }
                Format::Kv(KvOptions {
                    pair_separator: self.pair_separator,
                    value_separator: self.value_separator,
                })
            }
            (other, None) => {
                return Err(cfg
                    .error_at("format", format!("unknown format {other:?}"))
                    .with_hint("use \"json\", \"logfmt\", \"kv\" or \"regex\""));
            }
        };
        if !(1..=128).contains(&self.max_depth) {
            return Err(cfg.error_at("max_depth", "max_depth must be 1 to 128"));
        }
        if !(1..=10_000).contains(&self.max_keys) {
            return Err(cfg.error_at("max_keys", "max_keys must be 1 to 10000"));
        }
        let source = match self.source.as_str() {
            "" => {
                return Err(cfg
                    .error_at("source", "empty source")
                    .with_hint("\"body\" or an attribute name"));
            }
            "body" => Source::Body,
            name => Source::Attribute(name.to_owned()),
        };
        let member = |key: &str| format!("{}{key}", self.target);
        let time = if self.time_key.is_empty() {
            None
        } else {
            let f = TimeFormat::parse(&self.time_format).map_err(|(msg, pos)| {
                crate::spans::error_at_path(
                    cfg,
                    &[Seg::Key("time_format")],
                    format!("{msg} (at character {pos} of time_format)"),
                )
                .with_hint("rfc3339, unix, unix_ms, unix_us, unix_ns, or a pattern such as \"%Y-%m-%d %H:%M:%S%z\"")
            })?;
            Some((member(&self.time_key), f))
        };
        let message_attr =
            (!self.keep_original && source == Source::Body && !self.message_key.is_empty())
                .then(|| member(&self.message_key));
        Ok(Settings {
            format,
            keep_original: self.keep_original,
            message_attr,
            time,
            level_attr: (!self.level_key.is_empty()).then(|| member(&self.level_key)),
            limits: Limits {
                max_depth: self.max_depth,
                max_keys: self.max_keys,
            },
            target: self.target,
            source,
        })
    }
}
