//! RFC 6587 framing of a syslog stream (TCP, TLS): octet counting (`MSG-LEN SP MSG`) and
//! non-transparent framing (messages ended by LF; a CR before it is removed later with the
//! other line ends). `auto` decides per message, as rsyslog's `imtcp` does: a frame that
//! starts with a digit from 1 to 9 followed by digits and a space is counted, anything else
//! runs to the next LF (a message starts with `<`, never with a digit).
//!
//! The [`Decoder`] never holds more than `max` bytes of one message: the rest of a longer one
//! is skipped (counted frames by their length, lines up to their LF) and the kept part comes
//! out marked `truncated`. So a reader's buffer of `max + 16` bytes always makes progress.
//! Empty lines between frames are skipped.

use super::message::ParseError;

/// How a stream is split into messages.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Framing {
    /// Per message: counted when it starts with a length, else newline-ended.
    Auto,
    /// `MSG-LEN SP MSG` only; a frame without a valid length runs to the next LF and is
    /// flagged `invalid_octet_count`.
    OctetCounting,
    /// LF-ended messages only.
    Newline,
}

/// Longest MSG-LEN accepted, in digits (up to 9,999,999,999 bytes).
const MAX_LEN_DIGITS: usize = 10;

/// What [`Decoder::next`] found at the start of the unread bytes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Step {
    /// A message at `data[start..end]`; `consumed` bytes are done with.
    Frame {
        /// First byte of the message.
        start: usize,
        /// One past its last byte.
        end: usize,
        /// Bytes to drop from the front of `data`.
        consumed: usize,
        /// Cut at `max` bytes; the rest is being skipped.
        truncated: bool,
        /// A framing error that makes the message malformed.
        error: Option<ParseError>,
    },
    /// `n` bytes skipped (empty lines, the tail of an over-long message).
    Skip(usize),
    /// Nothing complete yet: read more.
    NeedMore,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    /// At a frame boundary.
    Start,
    /// Skipping this many more bytes of a counted frame.
    SkipCounted(u64),
    /// Skipping up to and including the next LF.
    SkipLine,
}

/// A stream's framing state.
#[derive(Debug, Clone)]
pub(crate) struct Decoder {
    framing: Framing,
    max: usize,
    state: State,
}

impl Decoder {
    /// A decoder keeping at most `max` bytes of a message.
    pub(crate) fn new(framing: Framing, max: usize) -> Self {
        Decoder {
            framing,
            max: max.max(1),
            state: State::Start,
        }
    }

    /// Bytes a reader's buffer needs so that [`Decoder::next`] always progresses.
    pub(crate) fn buffer_needed(&self) -> usize {
        self.max + MAX_LEN_DIGITS + 2
    }

    /// Looks at the unread bytes `data`.
    pub(crate) fn next(&mut self, data: &[u8]) -> Step {
        if data.is_empty() {
            return Step::NeedMore;
        }
        match self.state {
            State::SkipCounted(left) => {
                let n = usize::try_from(left).map_or(data.len(), |l| l.min(data.len()));
                let left = left - n as u64;
                self.state = if left == 0 {
                    State::Start
                } else {
                    State::SkipCounted(left)
                };
                Step::Skip(n)
            }
            State::SkipLine => match memchr::memchr(b'\n', data) {
                Some(i) => {
                    self.state = State::Start;
                    Step::Skip(i + 1)
                }
                None => Step::Skip(data.len()),
            },
            State::Start => self.frame(data),
        }
    }

    fn frame(&mut self, data: &[u8]) -> Step {
        let blank = data
            .iter()
            .take_while(|c| matches!(c, b'\n' | b'\r' | b'\0'))
            .count();
        if blank > 0 {
            return Step::Skip(blank);
        }
        match self.framing {
            Framing::Newline => self.line(data, None),
            Framing::Auto | Framing::OctetCounting => match octet_count(data) {
                Count::Len(len, header) => self.counted(data, len, header),
                Count::Partial => Step::NeedMore,
                Count::Invalid if self.framing == Framing::OctetCounting => {
                    self.line(data, Some(ParseError::InvalidOctetCount))
                }
                Count::Invalid => self.line(data, None),
            },
        }
    }

    fn counted(&mut self, data: &[u8], len: u64, header: usize) -> Step {
        let body = &data[header..];
        let max = self.max as u64;
        if len <= max {
            let len = len as usize;
            if body.len() < len {
                return Step::NeedMore;
            }
            return Step::Frame {
                start: header,
                end: header + len,
                consumed: header + len,
                truncated: false,
                error: None,
            };
        }
        if body.len() < self.max {
            return Step::NeedMore;
        }
        self.state = State::SkipCounted(len - max);
        Step::Frame {
            start: header,
            end: header + self.max,
            consumed: header + self.max,
            truncated: true,
            error: None,
        }
    }

    fn line(&mut self, data: &[u8], error: Option<ParseError>) -> Step {
        let window = &data[..data.len().min(self.max + 1)];
        if let Some(i) = memchr::memchr(b'\n', window)
            && i <= self.max
        {
            return Step::Frame {
                start: 0,
                end: i,
                consumed: i + 1,
                truncated: false,
                error,
            };
        }
        if data.len() <= self.max {
            return Step::NeedMore;
        }
        self.state = State::SkipLine;
        Step::Frame {
            start: 0,
            end: self.max,
            consumed: self.max,
            truncated: true,
            error,
        }
    }

    /// The end of the stream with `data` unread: a last message, if any. A newline-framed
    /// message needs no final LF; a counted one cut short is flagged `incomplete_frame`.
    pub(crate) fn finish(&mut self, data: &[u8]) -> Option<(usize, usize, Option<ParseError>)> {
        let state = std::mem::replace(&mut self.state, State::Start);
        if state != State::Start {
            return None;
        }
        let skip = data
            .iter()
            .take_while(|c| matches!(c, b'\n' | b'\r' | b'\0'))
            .count();
        let data = &data[skip..];
        if data.is_empty() {
            return None;
        }
        let end = skip + data.len().min(self.max);
        match self.framing {
            Framing::Newline => Some((skip, end, None)),
            Framing::Auto | Framing::OctetCounting => match octet_count(data) {
                Count::Len(_, header) => Some((
                    skip + header,
                    skip + data.len().min(header + self.max),
                    Some(ParseError::IncompleteFrame),
                )),
                Count::Partial => Some((skip, end, Some(ParseError::IncompleteFrame))),
                Count::Invalid if self.framing == Framing::OctetCounting => {
                    Some((skip, end, Some(ParseError::InvalidOctetCount)))
                }
                Count::Invalid => Some((skip, end, None)),
            },
        }
    }
}

enum Count {
    /// MSG-LEN and the header's length (digits and the space).
    Len(u64, usize),
    /// Only digits so far.
    Partial,
    /// Not a length prefix.
    Invalid,
}

fn octet_count(data: &[u8]) -> Count {
    if !matches!(data.first(), Some(b'1'..=b'9')) {
        return Count::Invalid;
    }
    let digits = data
        .iter()
        .take(MAX_LEN_DIGITS + 1)
        .take_while(|c| c.is_ascii_digit())
        .count();
    if digits > MAX_LEN_DIGITS {
        return Count::Invalid;
    }
    match data.get(digits) {
        None => Count::Partial,
        Some(b' ') => {
            let len = data[..digits]
                .iter()
                .fold(0u64, |acc, c| acc * 10 + u64::from(c - b'0'));
            Count::Len(len, digits + 1)
        }
        Some(_) => Count::Invalid,
    }
}
