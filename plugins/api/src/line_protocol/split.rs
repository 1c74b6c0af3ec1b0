//! Splits a write body into lines, as the parser will read them.
//!
//! A line ends at a `\n` that is not inside a quoted string field value, so a string can span
//! lines. Quotes count only where the parser reads a string: right after the `=` of a field,
//! past the first unescaped space (in the measurement and tags a `"` is an ordinary
//! character). A backslash outside quotes makes the next character part of the token, except
//! a newline, which always ends the line, so one bad line cannot swallow the next. Comment
//! lines (`#` after leading whitespace) end at the next newline, quotes or not. One pass,
//! no allocation.

/// Where the scanner is within a line.
#[derive(Clone, Copy, PartialEq, Eq)]
enum State {
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
    /// The timestamp and anything after it.
    Rest,
}

/// Iterator over `(line number, line)`: the line number is 1-based and counts every `\n`
/// before the line (those inside earlier strings too); the line starts after leading spaces
/// and tabs and excludes its terminating `\n` (a `\r` before it is left for the caller).
pub(crate) struct Lines<'a> {
    body: &'a [u8],
    pos: usize,
    line: usize,
}

impl<'a> Lines<'a> {
    pub(crate) fn new(body: &'a [u8]) -> Self {
        Lines {
            body,
            pos: 0,
            line: 1,
        }
    }
}

impl<'a> Iterator for Lines<'a> {
    type Item = (usize, &'a [u8]);

    fn next(&mut self) -> Option<Self::Item> {
        let body = self.body;
        if self.pos >= body.len() {
            return None;
        }
        let mut i = self.pos;
        while i < body.len() && (body[i] == b' ' || body[i] == b'\t') {
            i += 1;
        }
        let start = i;
        let number = self.line;
        let mut inner_newlines = 0;
        if body.get(i) == Some(&b'#') {
            while i < body.len() && body[i] != b'\n' {
                i += 1;
            }
        } else {
            let mut state = State::Key;
            while i < body.len() {
                let b = body[i];
                if state == State::Quoted {
                    match b {
                        b'\\' => {
                            if body.get(i + 1) == Some(&b'\n') {
                                inner_newlines += 1;
                            }
                            i += 2;
                            continue;
                        }
                        b'"' => state = State::Unquoted,
                        b'\n' => inner_newlines += 1,
                        _ => {}
                    }
                    i += 1;
                    continue;
                }
                if b == b'\n' {
                    break;
                }
                if b == b'\\' && state != State::Rest {
                    i += if body.get(i + 1) == Some(&b'\n') {
                        1
                    } else {
                        2
                    };
                    if state == State::ValueStart {
                        state = State::Unquoted;
                    }
                    continue;
                }
                state = match (state, b) {
                    (State::Key, b' ') => State::FieldKey,
                    (State::FieldKey, b'=') => State::ValueStart,
                    (State::ValueStart, b'"') => State::Quoted,
                    (State::ValueStart | State::Unquoted, b',') => State::FieldKey,
                    (State::ValueStart | State::Unquoted, b' ') => State::Rest,
                    (State::ValueStart, _) => State::Unquoted,
                    (s, _) => s,
                };
                i += 1;
            }
        }
        let end = i.min(body.len());
        self.line = number + inner_newlines + 1;
        self.pos = end + 1;
        Some((number, &body[start..end]))
    }
}
