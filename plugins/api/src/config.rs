//! A plugin's config table, kept with its byte spans, and [`ConfigError`], which points at the
//! offending key so the engine can print `file:line:col key: message (hint)`.
//!
//! The engine parses each file once with spans (`toml::de::DeTable`), substitutes `${VAR}` in
//! string values, removes the shared keys (`alias`, `interval`, `match`, `buffer`), and hands
//! the rest to the plugin's `build` as a [`PluginConfig`]. Plugins call [`PluginConfig::parse`]
//! on a `#[serde(deny_unknown_fields)]` struct, then validate it into their runtime type with
//! [`PluginConfig::error_at`] for errors that serde cannot see; `config/timeout.rs` holds the shared
//! rule for an input's request timeout against its interval.
//!
//! Over 400 lines on purpose: `PluginConfig`'s readers and `ConfigError`'s locating and hints
//! are one API every plugin uses; the spans they share would otherwise be passed between files.

mod suggest;
mod timeout;

pub use suggest::{did_you_mean, edit_distance};

use std::fmt;
use std::ops::Range;

use std::sync::Arc;

use serde::de::DeserializeOwned;
use toml::Spanned;
use toml::de::{DeTable, DeValue};

/// A config error located by a byte span in the file the table came from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigError {
    /// Byte range in the source file, when known.
    pub span: Option<Range<usize>>,
    /// Dotted key path (`outputs.file.0.path`), when known.
    pub key: Option<String>,
    /// What is wrong, lowercase.
    pub message: String,
    /// How to fix it.
    pub hint: Option<String>,
}

impl ConfigError {
    /// An error with a message only.
    pub fn new(message: impl Into<String>) -> Self {
        ConfigError {
            span: None,
            key: None,
            message: message.into(),
            hint: None,
        }
    }

    /// Adds a span (builder style).
    #[must_use]
    pub fn with_span(mut self, span: Range<usize>) -> Self {
        self.span = Some(span);
        self
    }

    /// Adds a key (builder style).
    #[must_use]
    pub fn with_key(mut self, key: impl Into<String>) -> Self {
        self.key = Some(key.into());
        self
    }

    /// Adds a hint (builder style).
    #[must_use]
    pub fn with_hint(mut self, hint: impl Into<String>) -> Self {
        self.hint = Some(hint.into());
        self
    }

    /// Turns a toml/serde error into a located error, recognising serde's unknown-field and
    /// unknown-variant messages to add a did-you-mean hint.
    pub fn from_toml(err: &toml::de::Error) -> Self {
        let message = err.message().trim().to_owned();
        let mut e = ConfigError::new(message.clone());
        e.span = err.span();
        if let Some((bad, expected)) = parse_unknown(&message) {
            let is_key = message.starts_with("unknown field");
            if is_key {
                e.key = Some(bad.clone());
            }
            let what = if is_key { "keys" } else { "values" };
            e.hint = Some(match did_you_mean(&bad, &expected) {
                Some(best) => format!("did you mean `{best}`?"),
                None if expected.is_empty() => "this table takes no keys".to_owned(),
                None => format!("valid {what}: {}", expected.join(", ")),
            });
        }
        e
    }
}

impl ConfigError {
    /// For an unknown-key error from a table whose keys are shared with another part (the
    /// HTTP outputs' shell), names `more` among the valid keys too, in the message and the
    /// did-you-mean hint. Other errors are returned as they are.
    #[must_use]
    pub fn with_more_keys(mut self, more: &[&str]) -> Self {
        let Some((bad, mut expected)) = parse_unknown(&self.message) else {
            return self;
        };
        if !self.message.starts_with("unknown field") {
            return self;
        }
        expected.extend(more.iter().map(|k| (*k).to_owned()));
        let list = expected
            .iter()
            .map(|k| format!("`{k}`"))
            .collect::<Vec<_>>()
            .join(", ");
        self.message = format!("unknown field `{bad}`, expected one of {list}");
        self.hint = Some(match did_you_mean(&bad, &expected) {
            Some(best) => format!("did you mean `{best}`?"),
            None => format!("valid keys: {}", expected.join(", ")),
        });
        self
    }
}

impl ConfigError {
    /// For an unknown-key error at the top of the plugin table `table` (`inputs.x.0`),
    /// suggests among `shared` too (the keys the engine took out of the table first:
    /// `alias`, the selectors, ...), so `namepas` gets "did you mean `namepass`?". The
    /// message is kept; other errors, and unknown keys of nested tables, are returned as
    /// they are.
    #[must_use]
    pub fn with_shared_keys_hint(mut self, table: &str, shared: &[&str]) -> Self {
        let Some((bad, mut expected)) = parse_unknown(&self.message) else {
            return self;
        };
        let top = self.key.as_deref() == Some(format!("{table}.{bad}").as_str());
        if !self.message.starts_with("unknown field") || !top {
            return self;
        }
        expected.extend(shared.iter().map(|k| (*k).to_owned()));
        if let Some(best) = did_you_mean(&bad, &expected) {
            self.hint = Some(format!("did you mean `{best}`?"));
        }
        self
    }
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if let Some(k) = &self.key {
            write!(f, "{k}: ")?;
        }
        f.write_str(&self.message)?;
        if let Some(h) = &self.hint {
            write!(f, " ({h})")?;
        }
        Ok(())
    }
}

impl std::error::Error for ConfigError {}

/// Extracts (`bad`, expected list) from serde's "unknown field `x`, expected one of `a`, `b`".
fn parse_unknown(message: &str) -> Option<(String, Vec<String>)> {
    let rest = message
        .strip_prefix("unknown field `")
        .or_else(|| message.strip_prefix("unknown variant `"))?;
    let end = rest.find('`')?;
    let bad = rest[..end].to_owned();
    let expected = rest[end..]
        .split('`')
        .skip(2)
        .step_by(2)
        .map(str::to_owned)
        .collect::<Vec<_>>();
    Some((bad, expected))
}

/// One step of a path into a TOML document.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PathSeg {
    /// A table key.
    Key(String),
    /// An index into an array (of tables).
    Index(usize),
}

/// One plugin instance's config table, with spans into its file.
///
/// It keeps the whole file text and the path to the table, and re-parses on demand: toml's
/// spanned tables borrow the text, and config files are small.
#[derive(Clone)]
pub struct PluginConfig {
    key_path: String,
    source: Arc<str>,
    path: Vec<PathSeg>,
    strip: Vec<String>,
    /// When set, only these keys are kept (see [`PluginConfig::only`]).
    keep: Option<Vec<String>>,
}

impl fmt::Debug for PluginConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PluginConfig")
            .field("key_path", &self.key_path)
            .finish_non_exhaustive()
    }
}

impl PluginConfig {
    /// The table at `path` in `source`, without the keys in `strip` (the shared keys the
    /// engine handles). `key_path` (`inputs.tail.0`) prefixes keys in errors.
    pub fn new(
        key_path: impl Into<String>,
        source: Arc<str>,
        path: Vec<PathSeg>,
        strip: Vec<String>,
    ) -> Self {
        PluginConfig {
            key_path: key_path.into(),
            source,
            path,
            strip,
            keep: None,
        }
    }

    /// The same table without `keys`: a plugin that hands some of its keys to a shared part
    /// (the HTTP outputs' shell) parses the rest with `deny_unknown_fields`.
    pub fn without(&self, keys: &[&str]) -> PluginConfig {
        let mut out = self.clone();
        out.strip.extend(keys.iter().map(|k| (*k).to_owned()));
        out
    }

    /// The same table with only `keys` (those present): what [`PluginConfig::without`]
    /// leaves out, for the shared part to parse.
    pub fn only(&self, keys: &[&str]) -> PluginConfig {
        let mut out = self.clone();
        out.keep = Some(keys.iter().map(|k| (*k).to_owned()).collect());
        out
    }

    /// A whole TOML text as the table (tests, `sample-config` checks).
    pub fn from_toml_str(key_path: &str, text: &str) -> Result<Self, ConfigError> {
        DeTable::parse(text).map_err(|e| ConfigError::from_toml(&e))?;
        Ok(PluginConfig::new(
            key_path,
            Arc::from(text),
            Vec::new(),
            Vec::new(),
        ))
    }

    /// Where the table is in the config (`inputs.tail.0`).
    pub fn key_path(&self) -> &str {
        &self.key_path
    }

    /// Runs `f` on the table, parsed afresh, shared keys removed and `${VAR}` substituted.
    pub fn with_table<R>(
        &self,
        f: impl FnOnce(Spanned<DeTable<'_>>) -> R,
    ) -> Result<R, ConfigError> {
        let root = DeTable::parse(&self.source).map_err(|e| ConfigError::from_toml(&e))?;
        let mut table = select(root, &self.path)
            .ok_or_else(|| ConfigError::new("config table vanished").with_key(&self.key_path))?;
        for k in &self.strip {
            table.get_mut().remove(k.as_str());
        }
        if let Some(keep) = &self.keep {
            let others: Vec<String> = table
                .get_ref()
                .keys()
                .map(|k| k.get_ref().to_string())
                .filter(|k| !keep.contains(k))
                .collect();
            for k in &others {
                table.get_mut().remove(k.as_str());
            }
        }
        substitute_env(table.get_mut(), &self.key_path, &|name| {
            std::env::var(name).ok()
        })?;
        Ok(f(table))
    }

    /// Deserializes the table into the plugin's config struct; errors carry the span and
    /// the full key path.
    pub fn parse<T: DeserializeOwned>(&self) -> Result<T, ConfigError> {
        self.with_table(|table| {
            let whole = table.span();
            let key_at = key_finder(&table);
            let de = toml::de::Deserializer::from(table);
            T::deserialize(de).map_err(|e| {
                let mut err = ConfigError::from_toml(&e);
                let key = err.key.take().or_else(|| key_at(err.span.as_ref()));
                err.key = Some(match key {
                    Some(k) => format!("{}.{k}", self.key_path),
                    None => self.key_path.clone(),
                });
                if err.span.is_none() {
                    err.span = Some(whole);
                }
                err
            })
        })?
    }

    /// An error located at `key` (a top-level key of this table), or at the table itself
    /// when the key is absent.
    pub fn error_at(&self, key: &str, message: impl Into<String>) -> ConfigError {
        let span = self
            .with_table(|t| {
                t.get_ref()
                    .get_key_value(key)
                    .map(|(_, v)| v.span())
                    .unwrap_or(t.span())
            })
            .ok();
        let err = ConfigError::new(message).with_key(format!("{}.{key}", self.key_path));
        match span {
            Some(s) => err.with_span(s),
            None => err,
        }
    }
}

/// Walks `path` from the root table.
fn select<'a>(root: Spanned<DeTable<'a>>, path: &[PathSeg]) -> Option<Spanned<DeTable<'a>>> {
    let mut cur: Spanned<DeValue<'a>> = {
        let span = root.span();
        Spanned::new(span, DeValue::Table(root.into_inner()))
    };
    for seg in path {
        let span = cur.span();
        cur = match (seg, cur.into_inner()) {
            (PathSeg::Key(k), DeValue::Table(mut t)) => t.remove(k.as_str())?,
            (PathSeg::Index(i), DeValue::Array(a)) => a.get(*i)?.clone(),
            _ => return None,
        };
        let _ = span;
    }
    let span = cur.span();
    match cur.into_inner() {
        DeValue::Table(t) => Some(Spanned::new(span, t)),
        _ => None,
    }
}

/// Returns a function naming the top-level key whose key or value contains a span.
fn key_finder(
    table: &Spanned<DeTable<'_>>,
) -> impl Fn(Option<&Range<usize>>) -> Option<String> + use<> {
    let keys: Vec<(String, Range<usize>, Range<usize>)> = table
        .get_ref()
        .iter()
        .map(|(k, v)| (k.get_ref().to_string(), k.span(), v.span()))
        .collect();
    move |span| {
        let span = span?;
        let inside = |s: &Range<usize>| s.start <= span.start && span.end <= s.end.max(s.start + 1);
        keys.iter()
            .find(|(_, ks, vs)| inside(ks) || inside(vs))
            .map(|(k, _, _)| k.clone())
    }
}

/// Replaces `${VAR}` and `${VAR:-default}` in every string value of `table` (keys are left
/// alone); `$$` is a literal `$`. A variable that is unset (or empty, for `:-`) without a
/// default is an error located at the string.
pub fn substitute_env(
    table: &mut DeTable<'_>,
    key_path: &str,
    lookup: &dyn Fn(&str) -> Option<String>,
) -> Result<(), ConfigError> {
    for (k, v) in table.iter_mut() {
        let path = if key_path.is_empty() {
            k.get_ref().to_string()
        } else {
            format!("{key_path}.{}", k.get_ref())
        };
        substitute_value(v, &path, lookup)?;
    }
    Ok(())
}

fn substitute_value(
    v: &mut Spanned<DeValue<'_>>,
    path: &str,
    lookup: &dyn Fn(&str) -> Option<String>,
) -> Result<(), ConfigError> {
    let span = v.span();
    match v.get_mut() {
        DeValue::String(s) if s.contains('$') => {
            let replaced = expand(s, lookup).map_err(|(msg, hint)| {
                ConfigError::new(msg)
                    .with_span(span)
                    .with_key(path)
                    .with_hint(hint)
            })?;
            *s = std::borrow::Cow::Owned(replaced);
        }
        DeValue::Array(a) => {
            for (i, item) in a.iter_mut().enumerate() {
                substitute_value(item, &format!("{path}.{i}"), lookup)?;
            }
        }
        DeValue::Table(t) => substitute_env(t, path, lookup)?,
        _ => {}
    }
    Ok(())
}

/// Expands one string; the error is (message, hint).
pub fn expand(
    s: &str,
    lookup: &dyn Fn(&str) -> Option<String>,
) -> Result<String, (String, String)> {
    let mut out = String::with_capacity(s.len());
    let mut rest = s;
    while let Some(i) = rest.find('$') {
        out.push_str(&rest[..i]);
        rest = &rest[i..];
        if let Some(r) = rest.strip_prefix("$$") {
            out.push('$');
            rest = r;
        } else if let Some(r) = rest.strip_prefix("${") {
            let end = r.find('}').ok_or_else(|| {
                (
                    format!("unterminated `${{` in {s:?}"),
                    "close it with `}`, or write `$$` for a literal `$`".to_owned(),
                )
            })?;
            let inner = &r[..end];
            let (name, default) = match inner.split_once(":-") {
                Some((n, d)) => (n, Some(d)),
                None => (inner, None),
            };
            let valid = !name.is_empty()
                && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
                && !name.starts_with(|c: char| c.is_ascii_digit());
            if !valid {
                return Err((
                    format!("invalid variable name {name:?} in {s:?}"),
                    "names are letters, digits and `_`, as in `${NODE_NAME}`".to_owned(),
                ));
            }
            match (lookup(name), default) {
                (Some(v), Some(d)) if v.is_empty() => out.push_str(d),
                (Some(v), _) => out.push_str(&v),
                (None, Some(d)) => out.push_str(d),
                (None, None) => {
                    return Err((
                        format!("environment variable `{name}` is not set"),
                        format!("set it, or give a default: `${{{name}:-value}}`"),
                    ));
                }
            }
            rest = &r[end + 1..];
        } else {
            out.push('$');
            rest = &rest[1..];
        }
    }
    out.push_str(rest);
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, serde::Deserialize)]
    #[serde(deny_unknown_fields)]
    #[allow(dead_code)]
    struct Cfg {
        listen: String,
        #[serde(default)]
        max_body_size: Option<crate::ByteSize>,
    }

    #[test]
    fn unknown_key_gets_span_and_hint() {
        let text = "listen = \"x\"\nmax_body_sise = 5\n";
        let cfg = PluginConfig::from_toml_str("inputs.http_listener.0", text).unwrap();
        let err = cfg.parse::<Cfg>().unwrap_err();
        assert_eq!(
            err.key.as_deref(),
            Some("inputs.http_listener.0.max_body_sise")
        );
        assert_eq!(err.hint.as_deref(), Some("did you mean `max_body_size`?"));
        let span = err.span.unwrap();
        assert_eq!(&text[span], "max_body_sise");
    }

    #[test]
    fn unknown_key_hint_looks_at_the_shared_keys_too() {
        let text = "listen = \"x\"\nnamepas = [\"a\"]\n";
        let cfg = PluginConfig::from_toml_str("inputs.x.0", text).unwrap();
        let err = cfg.parse::<Cfg>().unwrap_err();
        assert_ne!(err.hint.as_deref(), Some("did you mean `namepass`?"));
        let nested = err
            .clone()
            .with_shared_keys_hint("inputs.y.0", crate::selector::Selectors::KEYS);
        assert_eq!(nested.hint, err.hint, "only keys of the table itself");
        let err = err.with_shared_keys_hint("inputs.x.0", crate::selector::Selectors::KEYS);
        assert_eq!(err.hint.as_deref(), Some("did you mean `namepass`?"));
        assert!(err.message.starts_with("unknown field `namepas`"));
        // A plugin key still wins when it is the closest.
        let text = "listen = \"x\"\nlisen = 1\n";
        let cfg = PluginConfig::from_toml_str("inputs.x.0", text).unwrap();
        let err = cfg
            .parse::<Cfg>()
            .unwrap_err()
            .with_shared_keys_hint("inputs.x.0", &["alias"]);
        assert_eq!(err.hint.as_deref(), Some("did you mean `listen`?"));
    }

    #[test]
    fn wrong_type_names_key() {
        let text = "listen = 5\n";
        let cfg = PluginConfig::from_toml_str("inputs.x.0", text).unwrap();
        let err = cfg.parse::<Cfg>().unwrap_err();
        assert_eq!(err.key.as_deref(), Some("inputs.x.0.listen"));
        assert_eq!(&text[err.span.unwrap()], "5");
    }

    #[test]
    fn bad_size_names_key() {
        let text = "listen = \"a\"\nmax_body_size = \"12 parsecs\"\n";
        let cfg = PluginConfig::from_toml_str("inputs.x.0", text).unwrap();
        let err = cfg.parse::<Cfg>().unwrap_err();
        assert_eq!(err.key.as_deref(), Some("inputs.x.0.max_body_size"));
        assert!(err.message.contains("invalid size"), "{}", err.message);
    }

    #[test]
    fn env_expansion() {
        let env = |n: &str| match n {
            "A" => Some("1".to_owned()),
            "EMPTY" => Some(String::new()),
            _ => None,
        };
        assert_eq!(expand("x${A}y", &env).unwrap(), "x1y");
        assert_eq!(expand("${B:-d}", &env).unwrap(), "d");
        assert_eq!(expand("${EMPTY:-d}", &env).unwrap(), "d");
        assert_eq!(expand("$$A $5", &env).unwrap(), "$A $5");
        assert!(
            expand("${B}", &env)
                .unwrap_err()
                .0
                .contains("`B` is not set")
        );
        assert!(expand("${A", &env).is_err());
    }
}
