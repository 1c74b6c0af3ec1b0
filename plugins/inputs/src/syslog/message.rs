//! What both parsers produce ([`Message`], borrowing the received bytes), the `<PRI>` prefix
//! they share, and how a message becomes a [`LogRecord`]: the body is the MSG part, the
//! header fields are `syslog.*` attributes, the timestamp is the record's time (the receive
//! time when the message has none). A message that does not parse keeps its raw bytes as the
//! body and says why in `syslog.parse_error`.

use std::net::IpAddr;

use gleaner_api::{Attributes, FieldValue, Key, KeyCache, LogRecord, Stream};

use super::header_cache::HeaderCache;
use super::{parse_3164, parse_5424};

/// Facility keywords by code (RFC 5424 table 1, as syslog.h names them).
pub(crate) const FACILITIES: [&str; 24] = [
    "kern",
    "user",
    "mail",
    "daemon",
    "auth",
    "syslog",
    "lpr",
    "news",
    "uucp",
    "cron",
    "authpriv",
    "ftp",
    "ntp",
    "security",
    "console",
    "solaris-cron",
    "local0",
    "local1",
    "local2",
    "local3",
    "local4",
    "local5",
    "local6",
    "local7",
];

/// Severity keywords by code (RFC 5424 table 2).
pub(crate) const SEVERITIES: [&str; 8] = [
    "emerg", "alert", "crit", "err", "warning", "notice", "info", "debug",
];

/// Why a message could not be parsed (the value of `syslog.parse_error`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub(crate) enum ParseError {
    /// Nothing but whitespace.
    #[error("empty")]
    Empty,
    /// No `<PRI>` prefix, or a bad one (not 1-3 digits, over 191).
    #[error("invalid_pri")]
    InvalidPri,
    /// RFC 5424: a version other than 1.
    #[error("unsupported_version")]
    UnsupportedVersion,
    /// RFC 5424: a header field missing or not printable ASCII.
    #[error("invalid_header")]
    InvalidHeader,
    /// RFC 5424: a timestamp that is not RFC 3339.
    #[error("invalid_timestamp")]
    InvalidTimestamp,
    /// RFC 5424: malformed structured data.
    #[error("invalid_structured_data")]
    InvalidStructuredData,
    /// A stream frame cut short by the end of the connection.
    #[error("incomplete_frame")]
    IncompleteFrame,
    /// A stream frame whose octet count is not a number.
    #[error("invalid_octet_count")]
    InvalidOctetCount,
}

impl ParseError {
    /// The attribute value.
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            ParseError::Empty => "empty",
            ParseError::InvalidPri => "invalid_pri",
            ParseError::UnsupportedVersion => "unsupported_version",
            ParseError::InvalidHeader => "invalid_header",
            ParseError::InvalidTimestamp => "invalid_timestamp",
            ParseError::InvalidStructuredData => "invalid_structured_data",
            ParseError::IncompleteFrame => "incomplete_frame",
            ParseError::InvalidOctetCount => "invalid_octet_count",
        }
    }
}

/// A parsed message, borrowing the received bytes.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub(crate) struct Message<'a> {
    /// Facility code (0-23).
    pub(crate) facility: u8,
    /// Severity code (0-7).
    pub(crate) severity: u8,
    /// RFC 5424's VERSION (`None`: RFC 3164).
    pub(crate) version: Option<u8>,
    /// Nanoseconds since the epoch.
    pub(crate) timestamp: Option<i64>,
    /// HOSTNAME.
    pub(crate) hostname: Option<&'a str>,
    /// APP-NAME, or RFC 3164's TAG.
    pub(crate) app_name: Option<&'a str>,
    /// PROCID, or the `[pid]` after an RFC 3164 TAG.
    pub(crate) proc_id: Option<&'a str>,
    /// MSGID (RFC 5424).
    pub(crate) msg_id: Option<&'a str>,
    /// The validated STRUCTURED-DATA (RFC 5424; empty for `-`).
    pub(crate) structured_data: &'a [u8],
    /// MSG (a UTF-8 BOM removed).
    pub(crate) msg: &'a [u8],
}

/// Reads `<PRI>`: (facility, severity, the rest).
pub(crate) fn parse_pri(b: &[u8]) -> Result<(u8, u8, &[u8]), ParseError> {
    let rest = b.strip_prefix(b"<").ok_or(ParseError::InvalidPri)?;
    let n = rest
        .iter()
        .take(4)
        .take_while(|c| c.is_ascii_digit())
        .count();
    if n == 0 || n > 3 || rest.get(n) != Some(&b'>') {
        return Err(ParseError::InvalidPri);
    }
    let pri = rest[..n]
        .iter()
        .fold(0u16, |acc, c| acc * 10 + u16::from(c - b'0'));
    if pri > 191 {
        return Err(ParseError::InvalidPri);
    }
    Ok(((pri >> 3) as u8, (pri & 7) as u8, &rest[n + 1..]))
}

/// Parses one message, RFC 5424 when a version follows `<PRI>`, else RFC 3164.
pub(crate) fn parse(b: &[u8], now_ns: i64) -> Result<Message<'_>, ParseError> {
    if b.is_empty() {
        return Err(ParseError::Empty);
    }
    let (facility, severity, rest) = parse_pri(b)?;
    // RFC 5424's VERSION is 1-3 digits and a space; an RFC 3164 timestamp never is (an
    // RFC 3339 one in its place starts with four digits and a dash).
    let digits = rest
        .iter()
        .take(4)
        .take_while(|c| c.is_ascii_digit())
        .count();
    let mut m = if (1..=3).contains(&digits) && rest.get(digits) == Some(&b' ') {
        parse_5424::parse(rest)?
    } else {
        parse_3164::parse(rest, now_ns)
    };
    m.facility = facility;
    m.severity = severity;
    Ok(m)
}

/// Trailing line ends and NULs, which framing and senders leave on a message.
pub(crate) fn trim_end(b: &[u8]) -> &[u8] {
    let n = b
        .iter()
        .rposition(|c| !matches!(c, b'\n' | b'\r' | b'\0'))
        .map_or(0, |i| i + 1);
    &b[..n]
}

/// How one received message came out.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Outcome {
    /// Parsed.
    Parsed,
    /// Kept raw and flagged.
    Malformed(ParseError),
}

/// Turns received bytes into a record. `peer` is the sender (`syslog.peer`); the header
/// attributes come from `cache` (shared lists, see `header_cache.rs`); `truncated` marks a
/// message cut at `max_message_bytes`; `forced` is a framing error that makes the message
/// malformed whatever it holds.
pub(crate) fn to_record(
    raw: &[u8],
    now_ns: i64,
    cache: &mut HeaderCache,
    peer: Option<IpAddr>,
    truncated: bool,
    forced: Option<ParseError>,
) -> (LogRecord, Outcome) {
    let raw = trim_end(raw);
    let parsed = match forced {
        Some(e) => Err(e),
        None => parse(raw, now_ns),
    };
    let (mut record, outcome) = match parsed {
        Ok(m) => {
            let mut attributes = Attributes::from_shared(cache.header(peer, &m));
            push_own_attributes(&m, &mut cache.keys, &mut cache.sd_names, &mut attributes);
            let record = LogRecord {
                timestamp: m.timestamp.unwrap_or(now_ns),
                body: m.msg.to_vec(),
                stream: Stream::Unknown,
                attributes,
            };
            (record, Outcome::Parsed)
        }
        Err(e) => {
            let mut attributes = cache
                .peer_only(peer)
                .map_or_else(Attributes::new, Attributes::from_shared);
            attributes.push(
                Key::from_static("syslog.parse_error"),
                FieldValue::String(e.as_str().into()),
            );
            let record = LogRecord {
                timestamp: now_ns,
                body: raw.to_vec(),
                stream: Stream::Unknown,
                attributes,
            };
            (record, Outcome::Malformed(e))
        }
    };
    if truncated {
        record
            .attributes
            .push(Key::from_static("syslog.truncated"), FieldValue::Bool(true));
    }
    (record, outcome)
}

/// What varies per message, after the shared header list: `proc_id` and the structured
/// data. Names come from `sd_names` (the previous message's, by position) or `keys` (the
/// connection's: `syslog.sd.<id>.<param>` repeats from message to message, so it is made
/// once).
fn push_own_attributes(
    m: &Message<'_>,
    keys: &mut KeyCache,
    sd_names: &mut SdNames,
    a: &mut Attributes,
) {
    if let Some(v) = m.proc_id {
        a.reserve(3);
        a.push(
            Key::from_static("syslog.proc_id"),
            FieldValue::String(v.into()),
        );
    }
    if !m.structured_data.is_empty() {
        // Validated by the parser (ids and names are printable ASCII, values UTF-8): a
        // second walk cannot fail.
        let mut at = 0;
        let _valid = parse_5424::walk_structured_data(m.structured_data, |id, param| {
            let key = sd_names.key(at, id, param.map(|(name, _)| name), keys);
            at += 1;
            match param {
                Some((_, value)) => {
                    a.push(key, FieldValue::String(parse_5424::unescape(value).into()));
                }
                None => a.push(key, FieldValue::Bool(true)),
            }
        });
    }
}

/// Structured-data names remembered by position.
const SD_SLOTS: usize = 16;

/// The attribute names of the previous message's structured data, by position, with the
/// SD-ID and PARAM-NAME each was made from: a sender's messages repeat their structure, so a
/// name is found by comparing those bytes instead of joining and looking it up. At most
/// [`SD_SLOTS`] (each of at most 32 + 32 bytes, as the parser checks).
#[derive(Debug, Default)]
pub(crate) struct SdNames {
    slots: Vec<SdSlot>,
}

#[derive(Debug)]
struct SdSlot {
    id: Vec<u8>,
    /// The PARAM-NAME; `None` for an element without parameters.
    param: Option<Vec<u8>>,
    key: Key,
}

impl SdNames {
    /// The name of the `at`-th item: `syslog.sd.<id>.<param>`, or `syslog.sd.<id>` for an
    /// element without parameters.
    fn key(&mut self, at: usize, id: &[u8], param: Option<&[u8]>, keys: &mut KeyCache) -> Key {
        if let Some(slot) = self.slots.get(at)
            && slot.id == id
            && slot.param.as_deref() == param
        {
            return slot.key.clone();
        }
        let id_text = parse_5424::text(id);
        let key = match param {
            Some(name) => keys.get_joined(&["syslog.sd.", &id_text, ".", &parse_5424::text(name)]),
            None => keys.get_joined(&["syslog.sd.", &id_text]),
        };
        match self.slots.get_mut(at) {
            // Taken over in place: a sender that alternates shapes costs no allocation.
            Some(slot) => {
                slot.id.clear();
                slot.id.extend_from_slice(id);
                match (&mut slot.param, param) {
                    (Some(kept), Some(name)) => {
                        kept.clear();
                        kept.extend_from_slice(name);
                    }
                    (kept, name) => *kept = name.map(<[u8]>::to_vec),
                }
                slot.key = key.clone();
            }
            // Slots fill in order: `at` is at most their number.
            None if at < SD_SLOTS => self.slots.push(SdSlot {
                id: id.to_vec(),
                param: param.map(<[u8]>::to_vec),
                key: key.clone(),
            }),
            None => {}
        }
        key
    }
}
