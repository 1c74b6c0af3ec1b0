//! Config errors below a plugin table's top level: [`error_at_path`] finds the byte span of a
//! nested value (`exclude."log.level"[1]`) so `gleaner check` prints its `file:line:col`, and
//! [`compile_regex`] compiles a pattern once at load, turning a syntax error into such an
//! error that also names the character in the pattern where it went wrong.

use std::ops::Range;

use gleaner_api::{ConfigError, PluginConfig};
use regex::bytes::Regex;
use toml::de::DeValue;

/// One step below the plugin's table.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Seg<'a> {
    /// A table key.
    Key(&'a str),
    /// An array index.
    Index(usize),
}

/// The span of the value at `path` (as deep as it exists), else of the table.
fn span_of(cfg: &PluginConfig, path: &[Seg<'_>]) -> Option<Range<usize>> {
    cfg.with_table(|t| {
        let mut span = t.span();
        let mut cur: Option<&DeValue<'_>> = None;
        for (i, seg) in path.iter().enumerate() {
            let next = match (i, seg, cur) {
                (0, Seg::Key(k), _) => t.get_ref().get(*k),
                (_, Seg::Key(k), Some(DeValue::Table(tab))) => tab.get(*k),
                (_, Seg::Index(n), Some(DeValue::Array(a))) => a.get(*n),
                _ => None,
            };
            let Some(v) = next else { break };
            span = v.span();
            cur = Some(v.get_ref());
        }
        span
    })
    .ok()
}

/// An error at the value `path` names (key path `<plugin>.<a>.<b>`).
pub(crate) fn error_at_path(
    cfg: &PluginConfig,
    path: &[Seg<'_>],
    message: impl Into<String>,
) -> ConfigError {
    let mut key = cfg.key_path().to_owned();
    for seg in path {
        key.push('.');
        match seg {
            Seg::Key(k) => key.push_str(k),
            Seg::Index(n) => key.push_str(&n.to_string()),
        }
    }
    let err = ConfigError::new(message).with_key(key);
    match span_of(cfg, path) {
        Some(s) => err.with_span(s),
        None => err,
    }
}

/// Compiles `pattern` (written in the config as the string at `path`; `skip` characters of
/// that string come before the pattern, such as the opening `/` of `"/…/"`). A syntax error
/// names the character position in the pattern and, when the string is written without
/// escapes, its span points at that character.
pub(crate) fn compile_regex(
    cfg: &PluginConfig,
    path: &[Seg<'_>],
    pattern: &str,
    skip: usize,
) -> Result<Regex, ConfigError> {
    let syntax = regex_syntax::ParserBuilder::new().build().parse(pattern);
    let (message, at) = match syntax {
        Ok(_) => match Regex::new(pattern) {
            Ok(re) => return Ok(re),
            Err(e) => (format!("invalid regex {pattern:?}: {e}"), None),
        },
        Err(e) => {
            let (kind, offset) = match &e {
                regex_syntax::Error::Parse(p) => (p.kind().to_string(), p.span().start.offset),
                regex_syntax::Error::Translate(t) => (t.kind().to_string(), t.span().start.offset),
                other => (other.to_string(), 0),
            };
            let mut offset = offset.min(pattern.len());
            while !pattern.is_char_boundary(offset) {
                offset -= 1;
            }
            let char_pos = pattern[..offset].chars().count() + 1;
            (
                format!("invalid regex {pattern:?} at character {char_pos} of the pattern: {kind}"),
                Some(offset),
            )
        }
    };
    let mut err = error_at_path(cfg, path, message)
        .with_hint("patterns use Rust regex syntax; write a glob without the surrounding /…/");
    // Point at the character when the string's source text is the pattern itself between
    // quotes (no escapes, no `${VAR}`), so the column is exact.
    if let (Some(at), Some(span)) = (at, err.span.clone()) {
        let written = skip + pattern.len() + skip.min(1);
        if span.len() == written + 2 {
            err.span = Some(span.start + 1 + skip + at..span.end);
        }
    }
    Err(err)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cfg(text: &str) -> PluginConfig {
        PluginConfig::from_toml_str("filters.select.0", text).expect("toml")
    }

    #[test]
    fn a_nested_value_is_located() {
        let text = "exclude = { \"log.level\" = [\"debug\", \"trace\"] }\n";
        let e = error_at_path(
            &cfg(text),
            &[Seg::Key("exclude"), Seg::Key("log.level"), Seg::Index(1)],
            "bad",
        );
        assert_eq!(&text[e.span.expect("span")], "\"trace\"");
        assert_eq!(
            e.key.as_deref(),
            Some("filters.select.0.exclude.log.level.1")
        );
    }

    #[test]
    fn a_regex_error_points_into_the_pattern() {
        let text = "exclude = { body = [\"/ab(c/\"] }\n";
        let c = cfg(text);
        let path = [Seg::Key("exclude"), Seg::Key("body"), Seg::Index(0)];
        let e = compile_regex(&c, &path, "ab(c", 1).expect_err("unclosed group");
        assert!(
            e.message.contains("at character 3 of the pattern"),
            "{}",
            e.message
        );
        let span = e.span.expect("span");
        assert_eq!(&text[span.start..span.start + 1], "(");
        assert!(compile_regex(&c, &path, "a+b", 1).is_ok());
    }
}
