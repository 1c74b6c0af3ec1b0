//! Reading the selector keys of one plugin table, once, at config load: a list key takes a
//! glob or an array of globs, `tagpass`/`tagdrop` a table from tag key to such lists. An
//! empty list or table is an error (Telegraf silently ignores it, which hides a mistake), as
//! is giving both a key and its alias (`fieldpass` and `fieldinclude`). Every error carries
//! the span of the offending value and its full key path.

use std::ops::Range;

use toml::Spanned;
use toml::de::{DeTable, DeValue};

use super::{Globs, Selectors, TagRule};
use crate::config::ConfigError;

/// The key a list selector is stored under, for its two spellings.
const ALIASES: [(&str, &str); 2] = [("fieldpass", "fieldinclude"), ("fielddrop", "fieldexclude")];

impl Selectors {
    /// The selectors of a plugin table, `None` when it has none; `key_path` (`inputs.tail.0`)
    /// prefixes keys in errors. Other keys of the table are left alone. Every error is
    /// returned, in key order.
    pub fn from_table(
        table: &DeTable<'_>,
        key_path: &str,
    ) -> Result<Option<Selectors>, Vec<ConfigError>> {
        let mut s = Selectors::default();
        let mut errors = Vec::new();
        let mut any = false;
        for &key in Selectors::KEYS {
            let Some(v) = table.get(key) else { continue };
            any = true;
            let path = format!("{key_path}.{key}");
            let stored = ALIASES
                .iter()
                .find(|(alias, _)| *alias == key)
                .map_or(key, |(_, name)| *name);
            if stored != key && table.get(stored).is_some() {
                errors.push(
                    ConfigError::new(format!(
                        "`{key}` is another name for `{stored}`: give only one"
                    ))
                    .with_span(v.span())
                    .with_key(path)
                    .with_hint(format!("merge the patterns into `{stored}`")),
                );
                continue;
            }
            let result = match stored {
                "tagpass" | "tagdrop" => tag_rules(v, &path).map(|r| match stored {
                    "tagpass" => s.tagpass = Some(r),
                    _ => s.tagdrop = Some(r),
                }),
                _ => globs(v, &path, key).map(|g| {
                    let slot = match stored {
                        "namepass" => &mut s.namepass,
                        "namedrop" => &mut s.namedrop,
                        "fieldinclude" => &mut s.fieldinclude,
                        "fieldexclude" => &mut s.fieldexclude,
                        "taginclude" => &mut s.taginclude,
                        _ => &mut s.tagexclude,
                    };
                    *slot = Some(g);
                }),
            };
            if let Err(e) = result {
                errors.push(e);
            }
        }
        if !errors.is_empty() {
            return Err(errors);
        }
        Ok(any.then_some(s))
    }
}

/// What each list key matches, for hints.
fn matched_by(key: &str) -> &'static str {
    match key {
        "namepass" | "namedrop" => "measurement names",
        "fieldinclude" | "fieldexclude" | "fieldpass" | "fielddrop" => "field keys",
        _ => "tag keys",
    }
}

fn bad(span: Range<usize>, key: &str, message: String, hint: String) -> ConfigError {
    ConfigError::new(message)
        .with_span(span)
        .with_key(key)
        .with_hint(hint)
}

/// A glob or a non-empty array of globs.
fn globs(v: &Spanned<DeValue<'_>>, path: &str, key: &str) -> Result<Globs, ConfigError> {
    let hint = || {
        format!(
            "write {key} = [\"pattern*\", ...]: globs on {}",
            matched_by(key)
        )
    };
    patterns(v, path, &hint).map(Globs::new)
}

/// The patterns of a list value: one string, or an array of strings, not empty.
fn patterns(
    v: &Spanned<DeValue<'_>>,
    path: &str,
    hint: &dyn Fn() -> String,
) -> Result<Vec<String>, ConfigError> {
    match v.get_ref() {
        DeValue::String(s) => Ok(vec![s.to_string()]),
        DeValue::Array(items) if items.is_empty() => Err(bad(
            v.span(),
            path,
            "empty pattern list".to_owned(),
            format!("remove the key to take every metric, or {}", hint()),
        )),
        DeValue::Array(items) => items
            .iter()
            .enumerate()
            .map(|(i, item)| match item.get_ref() {
                DeValue::String(s) => Ok(s.to_string()),
                other => Err(bad(
                    item.span(),
                    &format!("{path}.{i}"),
                    format!("expected a string, found {}", other.type_str()),
                    hint(),
                )),
            })
            .collect(),
        other => Err(bad(
            v.span(),
            path,
            format!(
                "expected a string or an array of strings, found {}",
                other.type_str()
            ),
            hint(),
        )),
    }
}

/// `tagpass`/`tagdrop`: a non-empty table from tag key to patterns on its value.
fn tag_rules(v: &Spanned<DeValue<'_>>, path: &str) -> Result<Vec<TagRule>, ConfigError> {
    let key = path.rsplit('.').next().unwrap_or(path);
    let hint = || {
        format!(
            "write [<plugin>.{key}] with lines like env = [\"dev*\"]: a tag key and globs on its value"
        )
    };
    let DeValue::Table(t) = v.get_ref() else {
        return Err(bad(
            v.span(),
            path,
            format!("expected a table, found {}", v.get_ref().type_str()),
            hint(),
        ));
    };
    if t.is_empty() {
        return Err(bad(
            v.span(),
            path,
            "empty table".to_owned(),
            format!("remove it to take every metric, or {}", hint()),
        ));
    }
    t.iter()
        .map(|(k, values)| {
            let key = k.get_ref().to_string();
            let p = patterns(values, &format!("{path}.{key}"), &hint)?;
            Ok(TagRule {
                key,
                values: Globs::new(p),
            })
        })
        .collect()
}
