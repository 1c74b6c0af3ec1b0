//! A file's lines into records: the format (fixed, or chosen from the file's first line),
//! CRI `P`/`F` and docker partial-chunk merging per stream, multi-line joining, and the
//! finished [`LogRecord`] with the file's attributes and its flags.
//!
//! Every logical line remembers the file offset where its first byte starts, so the reader
//! can compute how far the file is safely consumed: the earliest start of anything still held
//! ([`Decoder::pending_start`]), else its read position.

use std::time::{Duration, Instant};

use gleaner_api::{Attributes, FieldValue, LogRecord, SharedAttributes, Stream};

use super::config::{Encoding, Format};
use super::multiline::{Held, Multiline};
use super::timestamp::SecondCache;
use super::{cri, docker};

/// How long CRI `P` pieces (or docker chunks) wait at the end of a file for their last piece
/// before they are sent merged as they are, flagged `partial`. Runtimes write the pieces of
/// one line back to back, so this only fires for a container that died mid-line.
pub(crate) const PARTIAL_FLUSH_AFTER: Duration = Duration::from_secs(5);

/// Flags a record may carry as boolean attributes.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct Flags {
    /// Cut at `max_line_bytes`.
    pub(crate) truncated: bool,
    /// Not in the file's format; passed on raw.
    pub(crate) parse_error: bool,
    /// `P` pieces whose `F` never came.
    pub(crate) partial: bool,
}

impl Flags {
    /// Either's flags.
    pub(crate) fn merge(&mut self, o: Flags) {
        self.truncated |= o.truncated;
        self.parse_error |= o.parse_error;
        self.partial |= o.partial;
    }
}

/// A logical line: one whole line of the application, before multi-line joining.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Logical {
    /// File offset of its first byte.
    pub(crate) start: u64,
    /// Nanoseconds since the epoch.
    pub(crate) timestamp: i64,
    /// Its stream.
    pub(crate) stream: Stream,
    /// The text.
    pub(crate) body: Vec<u8>,
    /// Flags.
    pub(crate) flags: Flags,
}

/// What every record of a file carries.
#[derive(Debug, Clone)]
pub(crate) struct FileAttrs {
    /// `file` and the Kubernetes coordinates, shared by every record of the file.
    pub(crate) attrs: SharedAttributes,
}

/// Where finished records go, with the counters of what was flagged.
pub(crate) struct Sink<'a> {
    /// The batch being built.
    pub(crate) out: &'a mut Vec<LogRecord>,
    /// The file's attributes.
    pub(crate) attrs: &'a FileAttrs,
    /// Invalid UTF-8 handling.
    pub(crate) encoding: Encoding,
    /// Counters.
    pub(crate) counts: &'a mut Counts,
}

/// What the decoder flagged, for telemetry.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Counts {
    /// Records sent.
    pub(crate) records: u64,
    /// Lines cut at `max_line_bytes`.
    pub(crate) truncated: u64,
    /// Lines not in the file's format.
    pub(crate) parse_errors: u64,
    /// Records with invalid UTF-8.
    pub(crate) invalid_utf8: u64,
    /// Partial pieces sent without their end.
    pub(crate) partial: u64,
}

impl Sink<'_> {
    fn emit(&mut self, l: Logical) {
        let Logical {
            timestamp,
            stream,
            mut body,
            flags,
            ..
        } = l;
        let mut attributes = Attributes::from_shared(SharedAttributes::clone(&self.attrs.attrs));
        if std::str::from_utf8(&body).is_err() {
            self.counts.invalid_utf8 += 1;
            if self.encoding == Encoding::Replace {
                body = String::from_utf8_lossy(&body).into_owned().into_bytes();
            }
            attributes.push("invalid_utf8", FieldValue::Bool(true));
        }
        if flags.truncated {
            self.counts.truncated += 1;
            attributes.push("truncated", FieldValue::Bool(true));
        }
        if flags.parse_error {
            self.counts.parse_errors += 1;
            attributes.push("parse_error", FieldValue::Bool(true));
        }
        if flags.partial {
            self.counts.partial += 1;
            attributes.push("partial", FieldValue::Bool(true));
        }
        self.counts.records += 1;
        self.out.push(LogRecord {
            timestamp,
            body,
            stream,
            attributes,
        });
    }
}

fn idx(s: Stream) -> usize {
    match s {
        Stream::Stdout => 0,
        Stream::Stderr => 1,
        Stream::Unknown => 2,
    }
}

/// Settings the decoder needs.
#[derive(Debug, Clone, Copy)]
pub(crate) struct DecodeOpts<'a> {
    /// Line cap (also the cap of merged pieces).
    pub(crate) max_line_bytes: usize,
    /// Multi-line joining.
    pub(crate) multiline: Option<&'a Multiline>,
}

/// One file's decoding state: its format and, only while something is held, the pieces
/// and messages waiting for their end. Most files hold nothing most of the time, so the
/// held state is boxed and freed once empty: a decoder is a few words (its format, the last
/// timestamp's second, a pointer), not a few hundred bytes, per watched file.
#[derive(Debug)]
pub(crate) struct Decoder {
    format: Format,
    /// The last timestamp's second, so that CRI lines of the same second parse only their
    /// fraction.
    seconds: SecondCache,
    /// What is held; `None` when nothing is (never an empty box).
    pending: Option<Box<Pending>>,
}

/// What a decoder holds.
#[derive(Debug, Default)]
struct Pending {
    /// Merging `P` pieces, per stream, and when the last one came.
    partial: [Option<(Logical, Instant)>; 2],
    /// Multi-line messages held, per stream.
    held: [Option<Held>; 3],
}

impl Pending {
    fn is_empty(&self) -> bool {
        self.partial.iter().all(Option::is_none) && self.held.iter().all(Option::is_none)
    }
}

impl Decoder {
    /// A decoder for `format` (`auto` decides at the first line).
    pub(crate) fn new(format: Format) -> Self {
        Decoder {
            format,
            seconds: SecondCache::default(),
            pending: None,
        }
    }

    /// The earliest file offset of anything held (pieces or a multi-line message).
    pub(crate) fn pending_start(&self) -> Option<u64> {
        let p = self.pending.as_deref()?;
        let pieces = p.partial.iter().flatten().map(|(l, _)| l.start);
        let held = p.held.iter().flatten().map(|h| h.line.start);
        pieces.chain(held).min()
    }

    /// True when something is held.
    pub(crate) fn has_pending(&self) -> bool {
        self.pending.is_some()
    }

    /// Frees the held state once nothing is left in it.
    fn release_if_empty(&mut self) {
        if self.pending.as_deref().is_some_and(Pending::is_empty) {
            self.pending = None;
        }
    }

    /// Decodes one physical line (without its newline) that starts at `start`.
    /// `cut` says the reader cut it at `max_line_bytes`; `now_ns` stamps raw lines.
    #[allow(clippy::too_many_arguments)]
    pub(crate) fn line(
        &mut self,
        line: &[u8],
        start: u64,
        cut: bool,
        now_ns: i64,
        now: Instant,
        opts: DecodeOpts<'_>,
        sink: &mut Sink<'_>,
    ) {
        if self.format == Format::Auto {
            self.format = detect(line);
        }
        let flags = Flags {
            truncated: cut,
            ..Flags::default()
        };
        let raw = |parse_error: bool| Logical {
            start,
            timestamp: now_ns,
            stream: Stream::Unknown,
            body: line.to_vec(),
            flags: Flags {
                parse_error,
                ..flags
            },
        };
        match self.format {
            Format::Cri => match cri::parse(line, &mut self.seconds) {
                Ok(l) => self.piece(
                    start,
                    l.timestamp,
                    l.stream,
                    l.partial,
                    l.content,
                    flags,
                    now,
                    opts,
                    sink,
                ),
                Err(_) => self.logical(raw(true), now, opts, sink),
            },
            Format::Docker => match docker::parse(line) {
                Ok(l) => self.piece(
                    start,
                    l.timestamp,
                    l.stream,
                    l.partial,
                    l.content.as_bytes(),
                    flags,
                    now,
                    opts,
                    sink,
                ),
                Err(_) => self.logical(raw(true), now, opts, sink),
            },
            Format::Raw | Format::Auto => self.logical(raw(false), now, opts, sink),
        }
    }

    /// A piece of a line: merged with earlier pieces of its stream until the last one.
    #[allow(clippy::too_many_arguments)]
    fn piece(
        &mut self,
        start: u64,
        timestamp: i64,
        stream: Stream,
        partial: bool,
        content: &[u8],
        flags: Flags,
        now: Instant,
        opts: DecodeOpts<'_>,
        sink: &mut Sink<'_>,
    ) {
        let slot = idx(stream).min(1);
        let earlier = self.pending.as_mut().and_then(|p| p.partial[slot].take());
        let merged = match earlier {
            None if !partial => Logical {
                start,
                timestamp,
                stream,
                body: cap(content, opts.max_line_bytes).to_vec(),
                flags: Flags {
                    truncated: flags.truncated || content.len() > opts.max_line_bytes,
                    ..flags
                },
            },
            None => Logical {
                start,
                timestamp,
                stream,
                body: {
                    let mut b = Vec::with_capacity(content.len() * 2);
                    b.extend_from_slice(cap(content, opts.max_line_bytes));
                    b
                },
                flags: Flags {
                    truncated: flags.truncated || content.len() > opts.max_line_bytes,
                    ..flags
                },
            },
            Some((mut l, _)) => {
                let room = opts.max_line_bytes.saturating_sub(l.body.len());
                if content.len() > room {
                    l.flags.truncated = true;
                }
                l.body.extend_from_slice(cap(content, room));
                l.flags.merge(flags);
                l
            }
        };
        if partial {
            self.pending.get_or_insert_with(Box::default).partial[slot] = Some((merged, now));
        } else {
            self.logical(merged, now, opts, sink);
            self.release_if_empty();
        }
    }

    fn logical(&mut self, l: Logical, now: Instant, opts: DecodeOpts<'_>, sink: &mut Sink<'_>) {
        match opts.multiline {
            None => sink.emit(l),
            Some(m) => {
                let s = idx(l.stream);
                match self.pending.as_mut() {
                    Some(p) => {
                        m.push(&mut p.held[s], l, now, &mut |l| sink.emit(l));
                        self.release_if_empty();
                    }
                    None => {
                        // Nothing held yet: box the state only if this line is held.
                        let mut held = None;
                        m.push(&mut held, l, now, &mut |l| sink.emit(l));
                        if held.is_some() {
                            let mut p = Box::<Pending>::default();
                            p.held[s] = held;
                            self.pending = Some(p);
                        }
                    }
                }
            }
        }
    }

    /// Sends what has waited too long: pieces after [`PARTIAL_FLUSH_AFTER`], held messages
    /// after `flush_after`. Call only when the file is read to its end, so that a slow
    /// reader never splits what is already written.
    pub(crate) fn flush_expired(
        &mut self,
        now: Instant,
        opts: DecodeOpts<'_>,
        sink: &mut Sink<'_>,
    ) {
        for i in 0..2 {
            if let Some(p) = self.pending.as_mut()
                && p.partial[i]
                    .as_ref()
                    .is_some_and(|(_, t)| now.duration_since(*t) >= PARTIAL_FLUSH_AFTER)
                && let Some((mut l, _)) = p.partial[i].take()
            {
                l.flags.partial = true;
                self.logical(l, now, opts, sink);
            }
        }
        if let Some(m) = opts.multiline
            && let Some(p) = self.pending.as_mut()
        {
            for h in &mut p.held {
                if h.as_ref()
                    .is_some_and(|h| now.duration_since(h.touched) >= m.flush_after)
                    && let Some(h) = h.take()
                {
                    sink.emit(h.line);
                }
            }
        }
        self.release_if_empty();
    }

    /// Sends everything held, as it is (the file is closing or was truncated).
    pub(crate) fn flush_all(&mut self, now: Instant, opts: DecodeOpts<'_>, sink: &mut Sink<'_>) {
        for i in 0..2 {
            if let Some(p) = self.pending.as_mut()
                && let Some((mut l, _)) = p.partial[i].take()
            {
                l.flags.partial = true;
                self.logical(l, now, opts, sink);
            }
        }
        if let Some(p) = self.pending.take() {
            for h in p.held.into_iter().flatten() {
                sink.emit(h.line);
            }
        }
    }
}

fn cap(b: &[u8], max: usize) -> &[u8] {
    &b[..b.len().min(max)]
}

/// The format of a file from its first line.
pub(crate) fn detect(first: &[u8]) -> Format {
    if first.first() == Some(&b'{') && docker::parse(first).is_ok() {
        Format::Docker
    } else if cri::parse(first, &mut SecondCache::default()).is_ok() {
        Format::Cri
    } else {
        Format::Raw
    }
}

#[cfg(test)]
mod tests;
