//! Helpers on spanned TOML values for the loader: `${VAR}` substitution that reports every bad
//! string (not only the first), the dotted key path under a byte span, and deserialization of a
//! table or a value with errors keyed by their full path (`outputs.file.0.buffer.max_bytes`)
//! and located.
//!
//! Substitution uses [`gleaner_api::config::expand`], the function behind
//! [`gleaner_api::config::substitute_env`], so the loader and [`gleaner_api::PluginConfig`]
//! agree on what a value becomes; it walks parsed strings only, never the raw text.

use std::collections::BTreeSet;
use std::ops::Range;

use gleaner_api::ConfigError;
use gleaner_api::config::expand;
use serde::de::DeserializeOwned;
use toml::Spanned;
use toml::de::{DeTable, DeValue};

/// Looks up an environment variable.
pub(crate) type Lookup<'a> = &'a dyn Fn(&str) -> Option<String>;

/// `prefix.key`, or `key` alone under an empty prefix.
pub(crate) fn join(prefix: &str, key: &str) -> String {
    if prefix.is_empty() {
        key.to_owned()
    } else {
        format!("{prefix}.{key}")
    }
}

/// Substitutes `${VAR}`, `${VAR:-default}` and `$$` in every string value of `table`, pushing
/// one error per string that cannot be expanded (the string is then left as it was). Returns
/// the top-level keys whose values had an error, so callers can skip validating them.
pub(crate) fn substitute_table(
    table: &mut DeTable<'_>,
    key_path: &str,
    lookup: Lookup<'_>,
    errors: &mut Vec<ConfigError>,
) -> BTreeSet<String> {
    let mut failed = BTreeSet::new();
    for (k, v) in table.iter_mut() {
        if !substitute_value(v, &join(key_path, k.get_ref()), lookup, errors) {
            failed.insert(k.get_ref().to_string());
        }
    }
    failed
}

/// Substitutes in one value, recursively; false when any string failed.
fn substitute_value(
    v: &mut Spanned<DeValue<'_>>,
    path: &str,
    lookup: Lookup<'_>,
    errors: &mut Vec<ConfigError>,
) -> bool {
    let span = v.span();
    match v.get_mut() {
        DeValue::String(s) if s.contains('$') => match expand(s, lookup) {
            Ok(replaced) => {
                *s = std::borrow::Cow::Owned(replaced);
                true
            }
            Err((message, hint)) => {
                errors.push(
                    ConfigError::new(message)
                        .with_span(span)
                        .with_key(path)
                        .with_hint(hint),
                );
                false
            }
        },
        DeValue::Array(a) => {
            let mut ok = true;
            for (i, item) in a.iter_mut().enumerate() {
                ok &= substitute_value(item, &format!("{path}.{i}"), lookup, errors);
            }
            ok
        }
        DeValue::Table(t) => substitute_table(t, path, lookup, errors).is_empty(),
        _ => true,
    }
}

/// Whether byte range `outer` holds the start of `inner` (an empty `outer` holds its start).
fn holds(outer: &Range<usize>, inner: &Range<usize>) -> bool {
    outer.start <= inner.start && inner.end <= outer.end.max(outer.start + 1)
}

/// The dotted path, relative to `table`, of the deepest key whose key or value holds `span`.
pub(crate) fn key_at(table: &DeTable<'_>, span: &Range<usize>) -> Option<String> {
    for (k, v) in table.iter() {
        if let Some(inner) = key_in_value(v, span) {
            return Some(join(k.get_ref(), &inner));
        }
        if holds(&k.span(), span) || holds(&v.span(), span) {
            return Some(k.get_ref().to_string());
        }
    }
    None
}

/// Like [`key_at`], below a value (array items are named by their index).
fn key_in_value(v: &Spanned<DeValue<'_>>, span: &Range<usize>) -> Option<String> {
    match v.get_ref() {
        DeValue::Table(t) => key_at(t, span),
        DeValue::Array(a) => {
            a.iter()
                .enumerate()
                .find_map(|(i, item)| match key_in_value(item, span) {
                    Some(inner) => Some(format!("{i}.{inner}")),
                    None if holds(&item.span(), span) => Some(i.to_string()),
                    None => None,
                })
        }
        _ => None,
    }
}

/// Deserializes `table` into `T`; the error's key is `prefix.<key under the span>` and it
/// keeps toml's span (the table's span when toml gives none).
pub(crate) fn deserialize_table<T: DeserializeOwned>(
    table: Spanned<DeTable<'_>>,
    prefix: &str,
) -> Result<T, ConfigError> {
    let whole = table.span();
    let copy = table.get_ref().clone();
    T::deserialize(toml::de::Deserializer::from(table)).map_err(|e| {
        let mut err = ConfigError::from_toml(&e);
        let bad = err.key.take();
        let key = err.span.as_ref().and_then(|s| key_at(&copy, s)).or(bad);
        err.key = Some(match key {
            Some(k) => join(prefix, &k),
            None => prefix.to_owned(),
        });
        err.span = err.span.or(Some(whole));
        err
    })
}

/// Deserializes one value into `T`; the error's key is `key` and it keeps toml's span (the
/// value's span when toml gives none).
pub(crate) fn deserialize_value<T: DeserializeOwned>(
    value: Spanned<DeValue<'_>>,
    key: &str,
) -> Result<T, ConfigError> {
    let whole = value.span();
    T::deserialize(toml::de::ValueDeserializer::from(value)).map_err(|e| {
        let mut err = ConfigError::from_toml(&e);
        err.key = Some(key.to_owned());
        err.span = err.span.or(Some(whole));
        err
    })
}
