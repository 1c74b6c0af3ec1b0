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
