//! Where a write body can be cut into pieces: after a line end as the line-protocol parser
//! sees one, so each piece parses exactly as it would inside the whole body.
//!
//! The rules are those of `gleaner_api::line_protocol`'s line splitter (a `\n` inside a quoted
//! string field value does not end the line; a backslash outside quotes escapes the next byte
//! except a newline; comment lines end at the next newline), restated as a resumable state
//! machine so a gzip body can be cut while it is decompressed block by block. The tests parse
//! tricky bodies whole and in pieces and compare, so a change of the parser's rules shows up.

/// Where the scanner is within a line.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    /// Before the first byte of a line that is not a space or a tab.
    Start,
    /// A comment line.
    Comment,
    /// Measurement and tags, up to the first unescaped space.
    Key,
    /// A field key, up to `=`.
    FieldKey,
    /// Just after a field's `=`.
    ValueStart,
    /// An unquoted field value, or the end of a quoted one.
    Unquoted,
    /// Inside a quoted string value.
    Quoted,
    /// Just after a backslash inside a quoted string value: the next byte is taken as is.
    QuotedEscape,
    /// The timestamp and anything after it.
    Rest,
    /// Just after a backslash outside quotes: a newline still ends the line, any other byte
    /// belongs to the token, which then continues in the state held.
    Escape(Outer),
}

/// The state to go back to after an escaped byte outside quotes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Outer {
    Key,
    FieldKey,
    Unquoted,
}

impl Outer {
    fn state(self) -> State {
        match self {
            Outer::Key => State::Key,
            Outer::FieldKey => State::FieldKey,
            Outer::Unquoted => State::Unquoted,
        }
    }
}

/// What one [`Cutter::scan`] found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Scan {
    /// Bytes scanned: just past the last line end counted, or the whole input when fewer
    /// line ends than wanted were found.
    pub(crate) consumed: usize,
    /// Line ends found.
    pub(crate) lines: usize,
    /// Whether the scan stopped at a line end (false: it ran out of input).
    pub(crate) at_line_end: bool,
}

/// Finds line ends in a body fed to it in order, in as many calls as it takes.
#[derive(Debug, Clone)]
pub(crate) struct Cutter {
    state: State,
    /// Every `\n` seen so far (inside strings too): the parser numbers lines by them.
    newlines: usize,
}

impl Cutter {
    pub(crate) fn new() -> Self {
        Cutter {
            state: State::Start,
            newlines: 0,
        }
    }

    /// Every `\n` scanned so far; the next piece starts at line `newlines() + 1`.
    pub(crate) fn newlines(&self) -> usize {
        self.newlines
    }

    /// Scans `bytes` (the body's next bytes) until `lines` line ends were found, or until a
    /// line end at or past `bytes_hint` bytes, or the end of `bytes`.
    pub(crate) fn scan(&mut self, bytes: &[u8], lines: usize, bytes_hint: usize) -> Scan {
        let mut found = 0;
        for (i, &b) in bytes.iter().enumerate() {
            if b == b'\n' {
                self.newlines += 1;
            }
            if self.step(b) {
                found += 1;
                if found >= lines || i + 1 >= bytes_hint {
                    return Scan {
                        consumed: i + 1,
                        lines: found,
                        at_line_end: true,
                    };
                }
            }
        }
        Scan {
            consumed: bytes.len(),
            lines: found,
            at_line_end: false,
        }
    }

    /// Takes one byte; true when it ends a line.
    fn step(&mut self, b: u8) -> bool {
        let next = match (self.state, b) {
            (State::Quoted, b'\\') => State::QuotedEscape,
            (State::Quoted, b'"') => State::Unquoted,
            (State::Quoted, _) => State::Quoted,
            (State::QuotedEscape, _) => State::Quoted,
            (_, b'\n') => State::Start,
            (State::Start, b' ' | b'\t') => State::Start,
            (State::Start, b'#') | (State::Comment, _) => State::Comment,
            (State::Escape(outer), _) => outer.state(),
            (State::Start | State::Key, b'\\') => State::Escape(Outer::Key),
            (State::FieldKey, b'\\') => State::Escape(Outer::FieldKey),
            (State::ValueStart | State::Unquoted, b'\\') => State::Escape(Outer::Unquoted),
            (State::Key, b' ') => State::FieldKey,
            (State::Start | State::Key, _) => State::Key,
            (State::FieldKey, b'=') => State::ValueStart,
            (State::FieldKey, _) => State::FieldKey,
            (State::ValueStart, b'"') => State::Quoted,
            (State::ValueStart | State::Unquoted, b',') => State::FieldKey,
            (State::ValueStart | State::Unquoted, b' ') => State::Rest,
            (State::ValueStart | State::Unquoted, _) => State::Unquoted,
            (State::Rest, _) => State::Rest,
        };
        let ends = b == b'\n' && next == State::Start;
        self.state = next;
        ends
    }
}
