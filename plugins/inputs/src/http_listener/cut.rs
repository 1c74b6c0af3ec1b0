//! Where a write body can be cut into pieces: after a line end as the line-protocol parser
//! sees one, so each piece parses exactly as it would inside the whole body.
//!
//! The rules are those of `gleaner_api::line_protocol`'s line splitter (InfluxDB's
//! `scanLine`): a backslash steps over the byte after it, whatever it is (so `\` before a
//! newline joins two lines); the first space starts the field part, where an unquoted `=` or
//! `,` is counted and a `"` opens or closes a string while more `=` than `,` were seen; a
//! `\n` outside a string ends the line. They are restated here as a resumable state machine
//! (the splitter works on a whole body; a body here arrives frame by frame). The tests parse
//! tricky bodies whole and in pieces and compare, so a change of the parser's rules shows up.

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
#[derive(Debug, Clone, Default)]
pub(crate) struct Cutter {
    /// The previous byte was a backslash: this one is stepped over.
    escaped: bool,
    /// Past the line's first space.
    fields: bool,
    /// Inside a string.
    quoted: bool,
    /// Unquoted `=` and `,` in the field part.
    equals: usize,
    commas: usize,
    /// Every `\n` seen so far (inside strings too): the parser numbers lines by them.
    newlines: usize,
}

impl Cutter {
    pub(crate) fn new() -> Self {
        Cutter::default()
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
        if self.escaped {
            self.escaped = false;
            return false;
        }
        match b {
            b'\\' => self.escaped = true,
            b'\n' if !self.quoted => {
                *self = Cutter {
                    newlines: self.newlines,
                    ..Cutter::default()
                };
                return true;
            }
            _ => {
                if b == b' ' {
                    self.fields = true;
                }
                if self.fields {
                    match b {
                        b'=' if !self.quoted => self.equals += 1,
                        b',' if !self.quoted => self.commas += 1,
                        b'"' if self.equals > self.commas => self.quoted = !self.quoted,
                        _ => {}
                    }
                }
            }
        }
        false
    }
}
