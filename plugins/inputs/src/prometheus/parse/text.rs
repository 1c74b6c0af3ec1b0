//! Text format 0.0.4, with the leniency of Prometheus's `promparse`: blanks around tokens,
//! blank lines and comments skipped, a trailing comma in braces, an optional int64
//! millisecond timestamp. `# TYPE` sets the type of the samples of that family that follow.

use super::lexer::{self, Cursor};
use super::{FamilyType, Label, ParseError, Reason, Sample, has_duplicate_names};

/// Parses a whole page; `known` as [`super::parse_known`] describes.
pub(super) fn parse<'a>(
    page: &'a str,
    known: &mut dyn FnMut(&'a str) -> Option<usize>,
    sink: &mut dyn FnMut(&Sample<'a, '_>),
) -> Result<usize, ParseError> {
    let mut labels: Vec<Label<'a>> = Vec::with_capacity(16);
    let mut scratch = Vec::new();
    // The family of the last `# TYPE` line and its type.
    let mut family: (&'a str, FamilyType) = ("", FamilyType::Unknown);
    let mut samples = 0;
    let mut rest = Some(page);
    let mut i = 0;
    while let Some(text) = rest {
        // The lines `split('\n')` gives, the last one after the last `\n` (maybe empty).
        let line = match memchr::memchr(b'\n', text.as_bytes()) {
            Some(nl) => {
                rest = Some(&text[nl + 1..]);
                &text[..nl]
            }
            None => {
                rest = None;
                text
            }
        };
        i += 1;
        let fail = |reason| ParseError { line: i, reason };
        let mut c = Cursor::new(line);
        c.blanks();
        match c.peek() {
            None => continue,
            Some(b'#') => {
                if let Some((name, typ)) = metadata(&mut c).map_err(fail)? {
                    family = (name, typ);
                }
                continue;
            }
            Some(_) => {}
        }
        labels.clear();
        let start = c.pos;
        let seen = memchr::memrchr(b'}', line.as_bytes())
            .and_then(|close| known(&line[start..=close]).map(|name_len| (close, name_len)));
        let (name, series, is_known) = match seen {
            Some((close, name_len)) => {
                // A series read whole before: the same text reads the same, so only what
                // follows its braces is read.
                c.pos = close + 1;
                c.blanks();
                (&line[start..start + name_len], &line[start..=close], true)
            }
            None => {
                let name = c.metric_name().map_err(fail)?;
                let mut blank = c.blanks() > 0;
                let mut end = start + name.len();
                if c.eat(b'{') {
                    lexer::labels(&mut c, false, &mut labels).map_err(fail)?;
                    end = c.pos;
                    // `x{} 1` and `x{}1` both read; promparse needs no blank after the brace.
                    blank = true;
                    c.blanks();
                }
                if has_duplicate_names(&labels, &mut scratch) {
                    return Err(fail(Reason::DuplicateLabel));
                }
                if !blank {
                    return Err(fail(Reason::Value));
                }
                (name, &line[start..end], false)
            }
        };
        let value = lexer::value(c.token()).map_err(fail)?;
        c.blanks();
        let timestamp_ns = if c.at_end() {
            None
        } else {
            Some(lexer::text_timestamp(c.token()).map_err(fail)?)
        };
        c.blanks();
        if !c.at_end() {
            return Err(fail(Reason::Trailing));
        }
        let family_type = if name
            .strip_prefix(family.0)
            .is_some_and(|suffix| text_suffixes(family.1).contains(&suffix))
        {
            family.1
        } else {
            FamilyType::Unknown
        };
        samples += 1;
        sink(&Sample {
            name,
            series,
            known: is_known,
            labels: &labels,
            value,
            timestamp_ns,
            family_type,
            exemplar: None,
        });
    }
    Ok(samples)
}

/// The sample names of a text-format family (counters need no `_total` here).
fn text_suffixes(t: FamilyType) -> &'static [&'static str] {
    match t {
        FamilyType::Histogram => &["_bucket", "_sum", "_count"],
        FamilyType::Summary => &["", "_sum", "_count"],
        FamilyType::Counter | FamilyType::Gauge | FamilyType::Unknown => &[""],
        // Not text-format types: never set by `metadata`.
        FamilyType::GaugeHistogram | FamilyType::Info | FamilyType::StateSet => &[],
    }
}

/// A `#` line: `# TYPE name type` gives a family's type; `# HELP name …` and any other
/// comment are skipped.
fn metadata<'a>(c: &mut Cursor<'a>) -> Result<Option<(&'a str, FamilyType)>, Reason> {
    c.eat(b'#');
    c.blanks();
    let keyword = c.token();
    if keyword != "TYPE" && keyword != "HELP" {
        return Ok(None);
    }
    if c.blanks() == 0 || c.at_end() {
        return Ok(None);
    }
    let name = c.metric_name()?;
    if keyword == "HELP" {
        // The docstring may be anything (escapes `\\` and `\n` are not needed here).
        return Ok(None);
    }
    if c.blanks() == 0 {
        return Err(Reason::Type);
    }
    let typ = match c.token() {
        "counter" => FamilyType::Counter,
        "gauge" => FamilyType::Gauge,
        "histogram" => FamilyType::Histogram,
        "summary" => FamilyType::Summary,
        "untyped" => FamilyType::Unknown,
        _ => return Err(Reason::Type),
    };
    c.blanks();
    if !c.at_end() {
        return Err(Reason::Type);
    }
    Ok(Some((name, typ)))
}
