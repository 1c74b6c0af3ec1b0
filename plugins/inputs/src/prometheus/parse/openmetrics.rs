//! OpenMetrics 1.0 lines: the strict grammar (single spaces, no blank lines, metadata as
//! `# HELP|TYPE|UNIT name text`, `# EOF` last) and the sample syntax with its exemplar.
//! What a sample means for its family is checked in `family`.

use super::family::Families;
use super::lexer::{self, Cursor};
use super::{Exemplar, FamilyType, Label, ParseError, Reason, Sample, has_duplicate_names};

/// Exemplar label names and values together may hold this many code points.
const EXEMPLAR_MAX_CHARS: usize = 128;

/// Parses a whole page.
pub(super) fn parse<'a>(
    page: &'a str,
    sink: &mut dyn FnMut(&Sample<'a, '_>),
) -> Result<usize, ParseError> {
    let mut labels: Vec<Label<'a>> = Vec::with_capacity(16);
    let mut exemplar_labels: Vec<Label<'a>> = Vec::new();
    let mut scratch = Vec::new();
    let mut families = Families::default();
    let mut samples = 0;
    let mut rest = page;
    let mut line_no = 0;
    loop {
        line_no += 1;
        let fail = |reason| ParseError {
            line: line_no,
            reason,
        };
        let Some(nl) = memchr::memchr(b'\n', rest.as_bytes()) else {
            // The last line has no `\n`: only `# EOF` may be there.
            if rest == "# EOF" {
                families.finish().map_err(fail)?;
                return Ok(samples);
            }
            return Err(fail(Reason::NoEof));
        };
        let line = &rest[..nl];
        rest = &rest[nl + 1..];
        if line.is_empty() {
            return Err(fail(Reason::BlankLine));
        }
        if line.as_bytes()[0] == b'#' {
            if line == "# EOF" {
                if !rest.is_empty() {
                    return Err(fail(Reason::AfterEof));
                }
                families.finish().map_err(fail)?;
                return Ok(samples);
            }
            metadata(line, &mut families).map_err(fail)?;
            continue;
        }
        labels.clear();
        exemplar_labels.clear();
        let (name, series, value, timestamp_ns, exemplar) =
            sample(line, &mut labels, &mut exemplar_labels).map_err(fail)?;
        if has_duplicate_names(&labels, &mut scratch)
            || has_duplicate_names(&exemplar_labels, &mut scratch)
        {
            return Err(fail(Reason::DuplicateLabel));
        }
        let mut s = Sample {
            name,
            series,
            known: false,
            labels: &labels,
            value,
            timestamp_ns,
            family_type: FamilyType::Unknown,
            exemplar,
        };
        s.family_type = families.sample(&s).map_err(fail)?;
        samples += 1;
        sink(&s);
    }
}

/// `# HELP name text`, `# TYPE name type`, `# UNIT name unit`: exactly one space between
/// the parts; the text (and unit) may be empty but its space is required.
fn metadata<'a>(line: &'a str, families: &mut Families<'a>) -> Result<(), Reason> {
    let rest = line.strip_prefix("# ").ok_or(Reason::Metadata)?;
    let (keyword, rest) = rest.split_once(' ').ok_or(Reason::Metadata)?;
    let (name, text) = rest.split_once(' ').ok_or(Reason::Metadata)?;
    if !lexer::is_metric_name(name) {
        return Err(Reason::MetricName);
    }
    match keyword {
        "HELP" => families.help(name),
        "UNIT" => families.unit(name, text),
        "TYPE" => {
            let typ = match text {
                "counter" => FamilyType::Counter,
                "gauge" => FamilyType::Gauge,
                "histogram" => FamilyType::Histogram,
                "gaugehistogram" => FamilyType::GaugeHistogram,
                "summary" => FamilyType::Summary,
                "info" => FamilyType::Info,
                "stateset" => FamilyType::StateSet,
                "unknown" => FamilyType::Unknown,
                _ => return Err(Reason::Type),
            };
            families.typ(name, typ)
        }
        _ => Err(Reason::Metadata),
    }
}

/// What a sample line holds besides its labels: name, series text, value, timestamp,
/// exemplar.
type Parts<'a> = (&'a str, &'a str, f64, Option<i64>, Option<Exemplar<'a>>);

/// `name[{labels}] value[ timestamp][ # {labels} value[ timestamp]]`; the labels go to
/// `labels`.
fn sample<'a>(
    line: &'a str,
    labels: &mut Vec<Label<'a>>,
    exemplar_labels: &mut Vec<Label<'a>>,
) -> Result<Parts<'a>, Reason> {
    let mut c = Cursor::new(line);
    let name = c.metric_name()?;
    if c.eat(b'{') {
        lexer::labels(&mut c, true, labels)?;
    }
    let series = &line[..c.pos];
    if !c.eat(b' ') {
        return Err(Reason::Value);
    }
    let value = lexer::value(c.om_token())?;
    let mut timestamp_ns = None;
    let mut exemplar = None;
    if c.eat(b' ') {
        if c.peek() != Some(b'#') {
            timestamp_ns = Some(lexer::om_timestamp(c.om_token())?);
            if c.eat(b' ') && c.peek() != Some(b'#') {
                return Err(Reason::Trailing);
            }
        }
        if c.eat(b'#') {
            exemplar = Some(parse_exemplar(&mut c, exemplar_labels)?);
        }
    }
    if !c.at_end() {
        return Err(Reason::Trailing);
    }
    Ok((name, series, value, timestamp_ns, exemplar))
}

/// ` {labels} value[ timestamp]` after the `#` of an exemplar.
fn parse_exemplar<'a>(
    c: &mut Cursor<'a>,
    labels: &mut Vec<Label<'a>>,
) -> Result<Exemplar<'a>, Reason> {
    if !c.eat(b' ') || !c.eat(b'{') {
        return Err(Reason::Exemplar);
    }
    let start = c.pos;
    lexer::labels(c, true, labels).map_err(|_| Reason::Exemplar)?;
    let text = &c.line[start..c.pos - 1];
    let chars: usize = labels
        .iter()
        .map(|l| l.name.len() + lexer::unescaped_chars(l.raw))
        .sum();
    if chars > EXEMPLAR_MAX_CHARS {
        return Err(Reason::Exemplar);
    }
    if !c.eat(b' ') {
        return Err(Reason::Exemplar);
    }
    let value = lexer::value(c.om_token()).map_err(|_| Reason::Exemplar)?;
    let timestamp_ns = if c.eat(b' ') {
        Some(lexer::om_timestamp(c.om_token()).map_err(|_| Reason::Exemplar)?)
    } else {
        None
    };
    Ok(Exemplar {
        labels: text,
        value,
        timestamp_ns,
    })
}
