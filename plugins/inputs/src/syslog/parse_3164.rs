//! RFC 3164 (the BSD format) after `<PRI>`: `TIMESTAMP SP HOSTNAME SP TAG[PID]: MSG`, as
//! senders write it rather than as the RFC hopes:
//!
//! - the timestamp is `Mmm dd hh:mm:ss` or an RFC 3339 one (rsyslog's high-precision
//!   forwarding format); without a valid timestamp, everything after `<PRI>` is the message
//!   (the RFC's rule for relays), which is not an error;
//! - local senders (`logger` on a unix socket, glibc's `syslog(3)`) leave the hostname out:
//!   a first word that ends in `:` or holds `[` is the tag, not a hostname;
//! - the tag is the word before `:`, with an optional `[pid]`; a message with no such word
//!   has no tag and keeps its whole text.
//!
//! This format has no malformed case beyond a bad `<PRI>`: anything else is a message.

use super::message::Message;
use super::time::{parse_bsd, parse_rfc3339};

/// Parses what follows `<PRI>`; never fails.
pub(crate) fn parse(b: &[u8], now_ns: i64) -> Message<'_> {
    let (timestamp, rest) = timestamp(b, now_ns);
    let Some(timestamp) = timestamp else {
        return Message {
            msg: b,
            ..Message::default()
        };
    };
    let mut m = Message {
        timestamp: Some(timestamp),
        msg: rest,
        ..Message::default()
    };
    let (first, after_first) = word(rest);
    if first.is_empty() {
        return m;
    }
    let rest = if is_tag(first) {
        rest
    } else {
        m.hostname = as_text(first);
        after_first
    };
    m.msg = rest;
    let (tag_word, after_tag) = word(rest);
    if let Some((app, pid)) = tag(tag_word) {
        m.app_name = as_text(app);
        m.proc_id = pid.and_then(as_text);
        m.msg = after_tag;
    }
    m
}

/// The timestamp and what follows it (after one space); `(None, b)` when there is none.
fn timestamp(b: &[u8], now_ns: i64) -> (Option<i64>, &[u8]) {
    if b.len() >= 15
        && let Some(t) = parse_bsd(&b[..15], now_ns)
        && matches!(b.get(15), None | Some(b' '))
    {
        return (Some(t), b.get(16..).unwrap_or_default());
    }
    if b.first().is_some_and(u8::is_ascii_digit) {
        let end = memchr::memchr(b' ', b).unwrap_or(b.len());
        if let Some(t) = parse_rfc3339(&b[..end]) {
            return (Some(t), b.get(end + 1..).unwrap_or_default());
        }
    }
    (None, b)
}

/// The next space-delimited word and what follows its space.
fn word(b: &[u8]) -> (&[u8], &[u8]) {
    match memchr::memchr(b' ', b) {
        Some(i) => (&b[..i], &b[i + 1..]),
        None => (b, &[]),
    }
}

/// A word that can only be a tag: it ends with `:` or holds `[`.
fn is_tag(w: &[u8]) -> bool {
    w.ends_with(b":") || w.contains(&b'[')
}

/// `app:` or `app[pid]:` → (app, pid).
fn tag(w: &[u8]) -> Option<(&[u8], Option<&[u8]>)> {
    let w = w.strip_suffix(b":")?;
    if w.is_empty() {
        return None;
    }
    if let Some(open) = memchr::memchr(b'[', w) {
        let pid = w[open + 1..].strip_suffix(b"]")?;
        if open == 0 || pid.is_empty() {
            return None;
        }
        return Some((&w[..open], Some(pid)));
    }
    Some((w, None))
}

/// Printable ASCII (and UTF-8) header text; other bytes make the field absent.
fn as_text(b: &[u8]) -> Option<&str> {
    std::str::from_utf8(b)
        .ok()
        .filter(|s| !s.is_empty() && s.chars().all(|c| !c.is_control()))
}
