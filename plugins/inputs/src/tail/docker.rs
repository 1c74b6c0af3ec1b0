//! Docker's `json-file` log driver format: one JSON object per line,
//! `{"log":"text\n","stream":"stdout","time":"2016-10-20T18:39:20.57606443Z"}`.
//!
//! JSON string escapes are decoded. A `log` value that does not end in `\n` is a partial
//! chunk (docker splits lines at 16 KiB); the caller joins chunks of the same stream until
//! one ends with `\n`. The final `\n` is stripped.

use std::borrow::Cow;

use gleaner_api::Stream;
use serde::Deserialize;

use super::timestamp::parse_rfc3339;

/// One parsed docker line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct DockerLine<'a> {
    /// Nanoseconds since the epoch.
    pub(crate) timestamp: i64,
    /// stdout or stderr.
    pub(crate) stream: Stream,
    /// No trailing newline: more chunks of this line follow.
    pub(crate) partial: bool,
    /// The text, its final newline removed.
    pub(crate) content: Cow<'a, str>,
}

/// Why a line is not a docker json-file line.
#[derive(Debug, thiserror::Error)]
pub(crate) enum DockerParseError {
    /// Not a JSON object with string `log`, `stream` and `time`.
    #[error("bad json: {0}")]
    Json(#[from] serde_json::Error),
    /// `time` is not RFC 3339.
    #[error("bad timestamp")]
    Timestamp,
    /// `stream` is neither stdout nor stderr.
    #[error("bad stream")]
    Stream,
}

#[derive(Deserialize)]
struct Raw<'a> {
    #[serde(borrow)]
    log: Cow<'a, str>,
    #[serde(borrow, default)]
    stream: Cow<'a, str>,
    #[serde(borrow)]
    time: Cow<'a, str>,
}

/// Parses one line (without its newline).
pub(crate) fn parse(line: &[u8]) -> Result<DockerLine<'_>, DockerParseError> {
    let raw: Raw<'_> = serde_json::from_slice(line)?;
    let timestamp = parse_rfc3339(raw.time.as_bytes()).ok_or(DockerParseError::Timestamp)?;
    let stream = match &*raw.stream {
        "stdout" => Stream::Stdout,
        "stderr" => Stream::Stderr,
        _ => return Err(DockerParseError::Stream),
    };
    let partial = !raw.log.ends_with('\n');
    let content = match raw.log {
        Cow::Borrowed(s) => Cow::Borrowed(s.strip_suffix('\n').unwrap_or(s)),
        Cow::Owned(mut s) => {
            if s.ends_with('\n') {
                s.pop();
            }
            Cow::Owned(s)
        }
    };
    Ok(DockerLine {
        timestamp,
        stream,
        partial,
        content,
    })
}

#[cfg(test)]
mod tests;
