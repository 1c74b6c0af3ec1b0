//! The CRI log line format (kubelet `pkg/kubelet/kuberuntime/logs/logs.go`):
//! `<RFC 3339 timestamp> <stdout|stderr> <tags> <content>`, where the first `:`-separated tag
//! is `P` (a partial piece of a longer line; the runtime split it, usually at 16 KiB) or `F`
//! (the last piece, or a whole line). The content is kept byte-exact, spaces included.

use gleaner_api::Stream;

use super::timestamp::SecondCache;

/// One parsed CRI line, borrowing its content.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct CriLine<'a> {
    /// Nanoseconds since the epoch.
    pub(crate) timestamp: i64,
    /// stdout or stderr.
    pub(crate) stream: Stream,
    /// `P`: more pieces of this line follow.
    pub(crate) partial: bool,
    /// The message bytes (no newline).
    pub(crate) content: &'a [u8],
}

/// Why a line is not CRI.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub(crate) enum CriParseError {
    /// Fewer than three space-separated fields.
    #[error("missing fields")]
    MissingFields,
    /// The first field is not an RFC 3339 timestamp.
    #[error("bad timestamp")]
    Timestamp,
    /// The stream is neither stdout nor stderr.
    #[error("bad stream")]
    Stream,
    /// The first tag is neither P nor F.
    #[error("bad tag")]
    Tag,
}

/// Parses one line (without its newline); `seconds` is the file's timestamp cache.
pub(crate) fn parse<'a>(
    line: &'a [u8],
    seconds: &mut SecondCache,
) -> Result<CriLine<'a>, CriParseError> {
    match parse_common(line, seconds) {
        Some(l) => Ok(l),
        None => parse_fields(line, seconds),
    }
}

/// Length of the timestamp containerd writes: `2016-10-06T00:17:09.669794202Z`.
const COMMON_TS: usize = 30;

/// The form nearly every line has, read at fixed places without looking for the spaces:
/// a [`COMMON_TS`]-byte UTC timestamp with nanoseconds, `stdout` or `stderr`, and the tag
/// `F` or `P` alone. `None` for anything else, which [`parse_fields`] reads (what this
/// accepts, it reads the same: the timestamp holds no space, as `T` separates date and
/// time and the rest is digits and fixed punctuation, checked by the parser).
fn parse_common<'a>(line: &'a [u8], seconds: &mut SecondCache) -> Option<CriLine<'a>> {
    let (ts, rest) = line.split_at_checked(COMMON_TS)?;
    if ts[10] != b'T' || ts[19] != b'.' || ts[COMMON_TS - 1] != b'Z' {
        return None;
    }
    let (head, content) = rest.split_at_checked(10)?;
    let stream = match &head[..8] {
        b" stdout " => Stream::Stdout,
        b" stderr " => Stream::Stderr,
        _ => return None,
    };
    let partial = match &head[8..] {
        b"F " => false,
        b"P " => true,
        _ => return None,
    };
    let timestamp = seconds.parse(ts)?;
    Some(CriLine {
        timestamp,
        stream,
        partial,
        content,
    })
}

/// [`parse`] field by field: any timestamp form, any tags.
fn parse_fields<'a>(
    line: &'a [u8],
    seconds: &mut SecondCache,
) -> Result<CriLine<'a>, CriParseError> {
    let mut rest = line;
    let mut field = || -> Option<&[u8]> {
        let sp = memchr::memchr(b' ', rest);
        let (f, r) = match sp {
            Some(i) => (&rest[..i], &rest[i + 1..]),
            None => (rest, &rest[rest.len()..]),
        };
        rest = r;
        Some(f)
    };
    let ts = field().ok_or(CriParseError::MissingFields)?;
    let stream = field().ok_or(CriParseError::MissingFields)?;
    let tags = field().ok_or(CriParseError::MissingFields)?;
    if tags.is_empty() {
        return Err(CriParseError::MissingFields);
    }
    let timestamp = seconds.parse(ts).ok_or(CriParseError::Timestamp)?;
    let stream = match stream {
        b"stdout" => Stream::Stdout,
        b"stderr" => Stream::Stderr,
        _ => return Err(CriParseError::Stream),
    };
    let first_tag = tags.split(|&b| b == b':').next().unwrap_or_default();
    let partial = match first_tag {
        b"P" => true,
        b"F" => false,
        _ => return Err(CriParseError::Tag),
    };
    Ok(CriLine {
        timestamp,
        stream,
        partial,
        content: rest,
    })
}

#[cfg(test)]
mod tests;
