//! An incremental parser of the journal export format (what `journalctl -o export` writes,
//! systemd's "Journal Export Formats"): an entry is a run of fields ended by a blank line; a
//! text field is `NAME=value\n`; a binary field (a value with a newline or a non-printable
//! byte) is `NAME\n`, the value's length as a little-endian u64, the value, and `\n`.
//!
//! Bytes come in as the child writes them ([`Parser::feed`]); [`Parser::next`] returns each
//! complete entry as spans into the parser's buffer (no copy). Sizes are bounded whatever the
//! stream says: an entry over `max_entry_bytes` has the field that crosses the limit cut
//! there (the rest of its value is skipped as it arrives, never held) and later ones emptied,
//! and the entry is flagged [`Entry::truncated`]; more than [`MAX_FIELDS`] fields are dropped
//! the same way. A stream that breaks the format (a binary value not followed by a newline, a
//! field name without an end) yields [`Next::Malformed`] and resumes after the next blank
//! line. An entry cut short by the end of the stream (the child died mid-write) is reported
//! by [`Parser::finish`]. Nothing here panics on any input.

use std::ops::Range;

/// Fields kept per entry at most (journald's own limit is 1024 per entry as well).
pub(crate) const MAX_FIELDS: usize = 1024;

/// Longest field name accepted (journald's names are at most 64 bytes).
const MAX_NAME: usize = 256;

/// How the stream broke the format.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub(crate) enum ExportError {
    /// A field name longer than any journal field name (no `=` or newline after it).
    #[error("field name too long")]
    BadFieldName,
    /// A binary field's value not followed by a newline: its length was wrong.
    #[error("binary field not followed by a newline")]
    BadBinaryFraming,
}

/// One field of an entry: spans of its name and value in the parser's buffer.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Span {
    name: Range<usize>,
    value: Range<usize>,
}

/// A complete entry, borrowing the parser's buffer.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Entry<'a> {
    buf: &'a [u8],
    fields: &'a [Span],
    /// A field was cut at `max_entry_bytes`, or fields past [`MAX_FIELDS`] were dropped.
    pub(crate) truncated: bool,
}

impl<'a> Entry<'a> {
    /// Every field in stream order: (name, value).
    pub(crate) fn fields(&self) -> impl Iterator<Item = (&'a [u8], &'a [u8])> + 'a {
        let buf = self.buf;
        self.fields
            .iter()
            .map(move |s| (&buf[s.name.clone()], &buf[s.value.clone()]))
    }

    /// The value of the first field called `name`.
    pub(crate) fn get(&self, name: &[u8]) -> Option<&'a [u8]> {
        self.fields().find(|(n, _)| *n == name).map(|(_, v)| v)
    }
}

/// What [`Parser::next`] found.
#[derive(Debug)]
pub(crate) enum Next<'a> {
    /// A complete entry.
    Entry(Entry<'a>),
    /// A damaged entry was skipped up to the next blank line.
    Malformed(ExportError),
    /// Nothing complete: feed more bytes.
    NeedMore,
}

/// Input bytes to drop before appending (the rest of a value that was cut).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Skip {
    None,
    /// This many bytes of a binary value, then its newline.
    Bytes(u64),
    /// The newline that ends a binary value.
    Newline,
    /// Everything up to and including the next newline (a text value).
    Line,
}

/// The parser's state between reads.
#[derive(Debug)]
pub(crate) struct Parser {
    buf: Vec<u8>,
    /// Start of the entry being parsed.
    pos: usize,
    fields: Vec<Span>,
    max_entry: usize,
    skip: Skip,
    /// The entry being parsed had something cut.
    truncated: bool,
    /// Discarding up to the next blank line after a format error.
    resync: bool,
    /// An error found while skipping input, reported by the next `next`.
    pending: Option<ExportError>,
}

/// What an unfinished field lacks.
enum Partial {
    /// More bytes of any kind.
    More,
    /// A text value started at this offset and has no newline yet.
    Text { value_start: usize },
    /// A binary value of `size` bytes started at `data_start`.
    Binary { data_start: usize, size: u64 },
}

impl Parser {
    /// A parser keeping entries to about `max_entry` bytes.
    pub(crate) fn new(max_entry: usize) -> Self {
        Parser {
            buf: Vec::with_capacity(64 * 1024),
            pos: 0,
            fields: Vec::with_capacity(32),
            max_entry: max_entry.max(64),
            skip: Skip::None,
            truncated: false,
            resync: false,
            pending: None,
        }
    }

    /// Appends bytes read from the stream.
    pub(crate) fn feed(&mut self, mut data: &[u8]) {
        if self.pos > 0 {
            self.buf.drain(..self.pos);
            self.pos = 0;
        }
        while !data.is_empty() {
            match self.skip {
                Skip::None => break,
                Skip::Bytes(n) => {
                    let take = usize::try_from(n).unwrap_or(usize::MAX).min(data.len());
                    data = &data[take..];
                    let left = n - take as u64;
                    self.skip = if left == 0 {
                        Skip::Newline
                    } else {
                        Skip::Bytes(left)
                    };
                }
                Skip::Newline => {
                    self.skip = Skip::None;
                    if data[0] == b'\n' {
                        data = &data[1..];
                    } else {
                        // The cut value's length was wrong: the buffered part of the
                        // entry goes, and what follows is skipped to the next blank line.
                        self.buf.truncate(self.pos);
                        self.fail(ExportError::BadBinaryFraming);
                    }
                }
                Skip::Line => match memchr::memchr(b'\n', data) {
                    Some(i) => {
                        data = &data[i + 1..];
                        self.skip = Skip::None;
                    }
                    None => data = &[],
                },
            }
        }
        self.buf.extend_from_slice(data);
    }

    /// Gives up the entry being parsed: resynchronises at the next blank line after `pos`.
    fn fail(&mut self, e: ExportError) {
        self.pending = Some(e);
        self.resync = true;
        self.truncated = false;
        self.skip = Skip::None;
    }

    /// The next complete entry, a format error, or [`Next::NeedMore`].
    pub(crate) fn next(&mut self) -> Next<'_> {
        if let Some(e) = self.pending.take() {
            return Next::Malformed(e);
        }
        if self.resync {
            // An entry ends with "\n\n"; the byte before `pos` may be the first newline.
            let from = self.pos.saturating_sub(1);
            match memchr::memmem::find(&self.buf[from..], b"\n\n") {
                Some(i) => {
                    self.pos = from + i + 2;
                    self.resync = false;
                }
                None => {
                    self.pos = self.buf.len();
                    return Next::NeedMore;
                }
            }
        }
        loop {
            self.fields.clear();
            match self.scan() {
                Ok(Some(end)) => {
                    let truncated = std::mem::take(&mut self.truncated);
                    let start = self.pos;
                    self.pos = end;
                    if self.fields.is_empty() {
                        // A stray blank line between entries.
                        debug_assert!(end == start + 1);
                        continue;
                    }
                    return Next::Entry(Entry {
                        buf: &self.buf,
                        fields: &self.fields,
                        truncated,
                    });
                }
                Ok(None) => return Next::NeedMore,
                Err(e) => {
                    self.fail(e);
                    return self.next();
                }
            }
        }
    }

    /// Scans the entry at `pos`: `Some(end)` (one past its blank line) when complete, with
    /// `fields` filled; `None` when it needs more bytes (after cutting a field that crossed
    /// the size limit).
    fn scan(&mut self) -> Result<Option<usize>, ExportError> {
        loop {
            let mut p = self.pos;
            self.fields.clear();
            let partial = loop {
                let Some(&first) = self.buf.get(p) else {
                    break Partial::More;
                };
                if first == b'\n' {
                    return Ok(Some(p + 1));
                }
                let rest = &self.buf[p..];
                let nl = memchr::memchr(b'\n', rest);
                let line = &rest[..nl.unwrap_or(rest.len())];
                match memchr::memchr(b'=', line) {
                    Some(eq) if eq <= MAX_NAME => {
                        let Some(nl) = nl else {
                            break Partial::Text {
                                value_start: p + eq + 1,
                            };
                        };
                        self.push(p..p + eq, p + eq + 1..p + nl);
                        p += nl + 1;
                    }
                    Some(_) => return Err(ExportError::BadFieldName),
                    None => {
                        let Some(nl) = nl else {
                            if line.len() > MAX_NAME {
                                return Err(ExportError::BadFieldName);
                            }
                            break Partial::More;
                        };
                        if nl > MAX_NAME {
                            return Err(ExportError::BadFieldName);
                        }
                        let data_start = p + nl + 1 + 8;
                        let Some(len) = self.buf.get(p + nl + 1..data_start) else {
                            break Partial::More;
                        };
                        let mut le = [0u8; 8];
                        le.copy_from_slice(len);
                        let size = u64::from_le_bytes(le);
                        let end = usize::try_from(size)
                            .ok()
                            .and_then(|s| data_start.checked_add(s));
                        match end {
                            Some(end) if end < self.buf.len() => {
                                if self.buf[end] != b'\n' {
                                    return Err(ExportError::BadBinaryFraming);
                                }
                                self.push(p..p + nl, data_start..end);
                                p = end + 1;
                            }
                            _ => break Partial::Binary { data_start, size },
                        }
                    }
                }
            };
            // Incomplete: cut the unfinished field if the entry is past the limit.
            let limit = self.pos.saturating_add(self.max_entry);
            match partial {
                Partial::More => return Ok(None),
                Partial::Text { value_start } => {
                    if self.buf.len() <= limit {
                        return Ok(None);
                    }
                    let cut = limit.max(value_start);
                    self.buf.truncate(cut);
                    self.buf.push(b'\n');
                    self.skip = Skip::Line;
                    self.truncated = true;
                }
                Partial::Binary { data_start, size } => {
                    let have = (self.buf.len() - data_start) as u64;
                    let keep = limit.saturating_sub(data_start) as u64;
                    let fits = (data_start as u64).saturating_add(size) < limit as u64;
                    if fits || have < keep.min(size) {
                        return Ok(None);
                    }
                    let keep = keep.min(have);
                    self.buf[data_start - 8..data_start].copy_from_slice(&keep.to_le_bytes());
                    self.buf.truncate(data_start + keep as usize);
                    self.buf.push(b'\n');
                    let left = size - have;
                    self.skip = if left == 0 {
                        Skip::Newline
                    } else {
                        Skip::Bytes(left)
                    };
                    self.truncated = true;
                }
            }
            // The cut field is complete now: scan again.
        }
    }

    /// Records a complete field; a value past the entry's size limit is cut there.
    fn push(&mut self, name: Range<usize>, mut value: Range<usize>) {
        let limit = self.pos.saturating_add(self.max_entry);
        if value.end > limit {
            value.end = limit.max(value.start);
            self.truncated = true;
        }
        if self.fields.len() < MAX_FIELDS {
            self.fields.push(Span { name, value });
        } else {
            self.truncated = true;
        }
    }

    /// The stream ended: true when an entry was cut short (its bytes are dropped; the child
    /// restarted after the last complete entry writes it again). The parser is reset.
    pub(crate) fn finish(&mut self) -> bool {
        let rest = self.buf.get(self.pos..).unwrap_or_default();
        let cut = self.skip != Skip::None
            || (!self.resync && rest.iter().any(|&b| b != b'\n'))
            || self.pending.is_some();
        *self = Parser::new(self.max_entry);
        cut
    }
}

#[cfg(test)]
mod tests;
