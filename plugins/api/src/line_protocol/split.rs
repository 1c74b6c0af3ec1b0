//! Splits a write body into lines exactly where InfluxDB 1.x does (`scanLine` in
//! influxdata/influxdb `models/points.go`), so a body is cut into the same points.
//!
//! A line ends at a `\n` that is not inside a quoted string. The rules, byte by byte:
//! - a backslash and the byte after it are stepped over together, whatever that byte is, so a
//!   `\` right before a newline joins the two lines (InfluxDB reads them as one point);
//! - the first space (one not stepped over) starts the field part; from there an unquoted `=`
//!   or `,` is counted, and a `"` opens or closes a string only while more `=` than `,` have
//!   been seen (that is, where a field value can start). Comments are cut by the same rules.
//!
//! One pass, no allocation. The parser skips leading whitespace and comment lines.

/// Iterator over `(line number, line)`: the line number is 1-based and counts every `\n`
/// before the line (those inside earlier strings too); the line excludes its terminating
/// `\n`, but may end with an escaped one (`\` then `\n` at the end of the body).
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
        let start = self.pos;
        let (end, inner_newlines) = line_end(body, start);
        let line = &body[start..end];
        let number = self.line;
        self.line += inner_newlines + 1;
        self.pos = end + 1;
        Some((number, line))
    }
}

/// The bytes [`line_end`] looks at; the others are stepped over.
static SPECIAL: [bool; 256] = super::parse::byte_set(b"\\ =,\"\n");

/// The index of the `\n` that ends the line starting at `start` (or the body's length), and
/// the number of newlines inside the line (in strings, or after a backslash).
fn line_end(body: &[u8], start: usize) -> (usize, usize) {
    // Without a backslash or a quote before the next newline, that newline ends the line.
    let rest = &body[start..];
    let newline = rest.iter().position(|&b| b == b'\n').unwrap_or(rest.len());
    let candidate = &rest[..newline];
    if !candidate.contains(&b'\\') && !candidate.contains(&b'"') {
        return (start + newline, 0);
    }
    let mut i = start;
    let mut newlines = 0;
    let (mut fields, mut quoted) = (false, false);
    let (mut equals, mut commas) = (0usize, 0usize);
    while i < body.len() {
        let b = body[i];
        if !SPECIAL[usize::from(b)] {
            i += 1;
            continue;
        }
        if b == b'\\' {
            newlines += usize::from(body.get(i + 1) == Some(&b'\n'));
            i += 2;
            continue;
        }
        if b == b' ' {
            fields = true;
        }
        if fields {
            if !quoted && b == b'=' {
                equals += 1;
                i += 1;
                continue;
            }
            if !quoted && b == b',' {
                commas += 1;
                i += 1;
                continue;
            }
            if b == b'"' && equals > commas {
                quoted = !quoted;
                i += 1;
                continue;
            }
        }
        if b == b'\n' {
            if !quoted {
                break;
            }
            newlines += 1;
        }
        i += 1;
    }
    (i.min(body.len()), newlines)
}
