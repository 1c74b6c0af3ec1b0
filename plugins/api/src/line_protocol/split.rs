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
        let end = line_end(body, start);
        let line = &body[start..end];
        let number = self.line;
        self.line += line.iter().filter(|&&b| b == b'\n').count() + 1;
        self.pos = end + 1;
        Some((number, line))
    }
}

/// The index of the `\n` that ends the line starting at `start`, or the body's length.
fn line_end(body: &[u8], start: usize) -> usize {
    let mut i = start;
    let (mut fields, mut quoted) = (false, false);
    let (mut equals, mut commas) = (0usize, 0usize);
    while i < body.len() {
        let b = body[i];
        if b == b'\\' {
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
        if b == b'\n' && !quoted {
            break;
        }
        i += 1;
    }
    i.min(body.len())
}
