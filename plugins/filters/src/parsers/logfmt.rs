//! logfmt (`level=warn msg="disk \"sda\" full" dry_run`) and its looser cousin, key/value
//! pairs with chosen separators (`kv`: `a=1, b=2`, `a:1;b:2`).
//!
//! logfmt: pairs are separated by whitespace; a value may be double-quoted with backslash
//! escapes (`\"`, `\\`, `\n`, `\t`, `\r`); a bare key is a flag (`true`). Values are strings.
//! Fails (`invalid_logfmt`) on an unclosed quote, a pair without a key, a quote inside a
//! key, or a line with no pair.
//!
//! kv: the line is cut at `pair_separator` (`" "`: any run of whitespace), each piece at the
//! first `value_separator`; keys and values are trimmed and a value may be double-quoted
//! (then it may hold the separators). Pieces without a separator are skipped. Fails
//! (`no_pairs`) when no piece is a pair, or on an unclosed quote.

use gleaner_api::FieldValue;

use super::{Failure, Sink};

/// Separators of the `kv` format.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct KvOptions {
    /// Between pairs; `" "` means any run of whitespace.
    pub(crate) pair_separator: String,
    /// Between a key and its value.
    pub(crate) value_separator: String,
}

impl Default for KvOptions {
    fn default() -> Self {
        KvOptions {
            pair_separator: " ".to_owned(),
            value_separator: "=".to_owned(),
        }
    }
}

/// Parses logfmt pairs.
pub(crate) fn logfmt(text: &str, max_keys: usize, sink: &mut Sink<'_>) -> Result<(), Failure> {
    let mut rest = text.trim();
    let mut keys = 0_usize;
    while !rest.is_empty() {
        let key_end = rest
            .find(|c: char| c == '=' || c.is_whitespace())
            .unwrap_or(rest.len());
        let key = &rest[..key_end];
        if key.is_empty() || key.contains('"') {
            return Err(Failure::InvalidLogfmt);
        }
        keys += 1;
        if keys > max_keys {
            return Err(Failure::TooManyKeys);
        }
        rest = &rest[key_end..];
        let value = if let Some(after) = rest.strip_prefix('=') {
            if let Some(quoted) = after.strip_prefix('"') {
                let (v, consumed) = unquote(quoted).ok_or(Failure::InvalidLogfmt)?;
                rest = &quoted[consumed..];
                FieldValue::String(v.into())
            } else {
                let end = after.find(char::is_whitespace).unwrap_or(after.len());
                rest = &after[end..];
                FieldValue::String(after[..end].into())
            }
        } else {
            FieldValue::Bool(true)
        };
        sink(key, value);
        rest = rest.trim_start();
    }
    if keys == 0 {
        return Err(Failure::InvalidLogfmt);
    }
    Ok(())
}

/// The text of a quoted value (after its opening quote) and the bytes it took, closing
/// quote included.
fn unquote(s: &str) -> Option<(String, usize)> {
    let close = find_close(s)?;
    let mut v = String::with_capacity(close);
    let mut chars = s[..close].chars();
    while let Some(c) = chars.next() {
        match c {
            '\\' => match chars.next()? {
                'n' => v.push('\n'),
                't' => v.push('\t'),
                'r' => v.push('\r'),
                other => v.push(other),
            },
            c => v.push(c),
        }
    }
    Some((v, close + 1))
}

/// The byte index of the closing quote of a quoted value (after its opening quote).
fn find_close(s: &str) -> Option<usize> {
    let b = s.as_bytes();
    let mut i = 0;
    while i < b.len() {
        match b[i] {
            b'\\' => i += 2,
            b'"' => return Some(i),
            _ => i += 1,
        }
    }
    None
}

/// Cuts off the next piece at `sep` (`" "`: whitespace), honouring double quotes.
fn next_piece<'a>(rest: &mut &'a str, sep: &str) -> Result<&'a str, Failure> {
    let s = *rest;
    let b = s.as_bytes();
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'"' {
            i += 1 + find_close(&s[i + 1..]).ok_or(Failure::NoPairs)? + 1;
            continue;
        }
        let at_sep = if sep == " " {
            b[i].is_ascii_whitespace()
        } else {
            b[i..].starts_with(sep.as_bytes())
        };
        if at_sep {
            let skip = if sep == " " { 1 } else { sep.len() };
            *rest = &s[i + skip..];
            return Ok(&s[..i]);
        }
        i += 1;
    }
    *rest = "";
    Ok(s)
}

/// Parses key/value pairs with the given separators.
pub(crate) fn kv(
    text: &str,
    o: &KvOptions,
    max_keys: usize,
    sink: &mut Sink<'_>,
) -> Result<(), Failure> {
    let mut rest = text.trim();
    let mut keys = 0_usize;
    while !rest.is_empty() {
        let piece = next_piece(&mut rest, &o.pair_separator)?;
        let Some((k, v)) = piece.split_once(o.value_separator.as_str()) else {
            continue;
        };
        let (k, v) = (k.trim(), v.trim());
        if k.is_empty() {
            continue;
        }
        keys += 1;
        if keys > max_keys {
            return Err(Failure::TooManyKeys);
        }
        let value = match v.strip_prefix('"') {
            Some(q) => match unquote(q) {
                Some((v, n)) if n == q.len() => v,
                _ => return Err(Failure::NoPairs),
            },
            None => v.to_owned(),
        };
        sink(k, FieldValue::String(value.into()));
    }
    if keys == 0 {
        return Err(Failure::NoPairs);
    }
    Ok(())
}
