//! RFC 5424 after `<PRI>`:
//! `VERSION SP TIMESTAMP SP HOSTNAME SP APP-NAME SP PROCID SP MSGID SP STRUCTURED-DATA [SP MSG]`.
//!
//! Strict where the RFC is (version 1, printable-ASCII header fields, RFC 3339 timestamps,
//! well-formed structured data), so a message this accepts is one the RFC describes; field
//! lengths are not enforced. `-` is the nil value of each header field. Structured data is
//! validated here and turned into attributes by `message.rs` with
//! [`walk_structured_data`]; a UTF-8 BOM at the start of MSG is removed.

use super::message::{Message, ParseError};
use super::time::parse_rfc3339;

/// Parses what follows `<PRI>`.
pub(crate) fn parse(b: &[u8]) -> Result<Message<'_>, ParseError> {
    let (version, rest) = field(b)?;
    if version != b"1" {
        return Err(ParseError::UnsupportedVersion);
    }
    let (ts, rest) = field(rest)?;
    let timestamp = match ts {
        b"-" => None,
        t => Some(parse_rfc3339(t).ok_or(ParseError::InvalidTimestamp)?),
    };
    let (hostname, rest) = header_field(rest)?;
    let (app_name, rest) = header_field(rest)?;
    let (proc_id, rest) = header_field(rest)?;
    let (msg_id, rest) = header_field(rest)?;
    let (structured_data, rest) = match rest {
        [b'-', tail @ ..] => (&[][..], tail),
        [b'[', ..] => {
            let n = walk_structured_data(rest, |_, _| {})?;
            (&rest[..n], &rest[n..])
        }
        _ => return Err(ParseError::InvalidStructuredData),
    };
    let msg = match rest {
        [] => &[][..],
        [b' ', msg @ ..] => msg.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(msg),
        _ => return Err(ParseError::InvalidStructuredData),
    };
    Ok(Message {
        version: Some(1),
        timestamp,
        hostname,
        app_name,
        proc_id,
        msg_id,
        structured_data,
        msg,
        ..Message::default()
    })
}

/// A non-empty run of bytes up to the next space, and what follows that space.
fn field(b: &[u8]) -> Result<(&[u8], &[u8]), ParseError> {
    let end = memchr::memchr(b' ', b).ok_or(ParseError::InvalidHeader)?;
    if end == 0 {
        return Err(ParseError::InvalidHeader);
    }
    Ok((&b[..end], &b[end + 1..]))
}

/// A printable-ASCII header field (`None` for `-`).
fn header_field(b: &[u8]) -> Result<(Option<&str>, &[u8]), ParseError> {
    let (f, rest) = field(b)?;
    if f == b"-" {
        return Ok((None, rest));
    }
    if !f.iter().all(|c| (33..=126).contains(c)) {
        return Err(ParseError::InvalidHeader);
    }
    let s = std::str::from_utf8(f).map_err(|_| ParseError::InvalidHeader)?;
    Ok((Some(s), rest))
}

/// An SD-NAME: 1 to 32 printable ASCII characters other than `=`, space, `]` and `"`.
/// Returns its length, counting at most 33 characters (more than 32 is an error).
fn sd_name(b: &[u8]) -> usize {
    let mut n = 0;
    while let Some(&c) = b.get(n) {
        if n == 33 || !(33..=126).contains(&c) || matches!(c, b'=' | b']' | b'"') {
            break;
        }
        n += 1;
    }
    n
}

/// One structured-data parameter: its name and its value, still escaped.
pub(crate) type SdParam<'a> = (&'a [u8], &'a [u8]);

/// Walks `[id k="v" ...][id2 ...]` at the start of `b`, calling `f(id, None)` for an element
/// without parameters and `f(id, Some((name, raw_value)))` for each parameter (the value
/// still escaped: see [`unescape`]). Returns the length of the structured data. Generic over
/// `f`, so the parser's validating walk (a no-op `f`) does only the checks.
pub(crate) fn walk_structured_data<'a>(
    b: &'a [u8],
    mut f: impl FnMut(&'a [u8], Option<SdParam<'a>>),
) -> Result<usize, ParseError> {
    let bad = ParseError::InvalidStructuredData;
    let mut i = 0;
    while b.get(i) == Some(&b'[') {
        i += 1;
        let n = sd_name(&b[i..]);
        if n == 0 || n > 32 {
            return Err(bad);
        }
        let id = &b[i..i + n];
        i += n;
        let mut params = 0;
        loop {
            match b.get(i) {
                Some(b']') => {
                    i += 1;
                    break;
                }
                Some(b' ') => i += 1,
                _ => return Err(bad),
            }
            let n = sd_name(&b[i..]);
            if n == 0 || n > 32 || b.get(i + n..i + n + 2) != Some(b"=\"") {
                return Err(bad);
            }
            let name = &b[i..i + n];
            i += n + 2;
            let start = i;
            // To the closing quote, over escaped characters (a backslash and the next byte).
            loop {
                let rest = b.get(i..).ok_or(bad)?;
                i += memchr::memchr2(b'\\', b'"', rest).ok_or(bad)?;
                if b[i] == b'"' {
                    break;
                }
                i += 2;
            }
            let value = b.get(start..i).ok_or(bad)?;
            if std::str::from_utf8(value).is_err() {
                return Err(bad);
            }
            i += 1;
            params += 1;
            f(id, Some((name, value)));
        }
        if params == 0 {
            f(id, None);
        }
    }
    if i == 0 { Err(bad) } else { Ok(i) }
}

/// `b` as text: borrowed when it is UTF-8 (always, for what the parser validated), else
/// with each invalid sequence replaced by U+FFFD.
pub(crate) fn text(b: &[u8]) -> std::borrow::Cow<'_, str> {
    match std::str::from_utf8(b) {
        Ok(s) => std::borrow::Cow::Borrowed(s),
        Err(_) => String::from_utf8_lossy(b),
    }
}

/// A PARAM-VALUE with its escapes (`\"`, `\\`, `\]`) resolved; a backslash before any other
/// character stays, as the RFC says.
pub(crate) fn unescape(raw: &[u8]) -> String {
    if memchr::memchr(b'\\', raw).is_none() {
        return text(raw).into_owned();
    }
    let mut out = Vec::with_capacity(raw.len());
    let mut i = 0;
    while i < raw.len() {
        if raw[i] == b'\\' && matches!(raw.get(i + 1), Some(b'"' | b'\\' | b']')) {
            out.push(raw[i + 1]);
            i += 2;
        } else {
            out.push(raw[i]);
            i += 1;
        }
    }
    String::from_utf8(out).unwrap_or_else(|e| String::from_utf8_lossy(e.as_bytes()).into_owned())
}
