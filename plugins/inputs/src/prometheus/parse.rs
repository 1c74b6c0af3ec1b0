//! Our parser of the Prometheus text format 0.0.4 and OpenMetrics 1.0 (docs/protocols.md),
//! zero-copy: a [`Sample`] borrows its name and label values from the page, and its labels
//! sit in one vector reused for every sample, so parsing allocates nothing per sample; label
//! values are unescaped only when the caller copies them out ([`Label::push_value`]).
//!
//! - [`Format::Text`] (`lexer` + `text`): Prometheus's lenient `promparse` rules: blanks
//!   between tokens, a trailing comma in braces, comments and blank lines ignored, optional
//!   `# TYPE` (the type of later samples of that family), timestamps in int64 milliseconds.
//! - [`Format::OpenMetrics`] (`openmetrics` + `family`): the whole of OpenMetrics 1.0 as the
//!   reference parser checks it, so a page is taken whole or rejected: single spaces, no
//!   blank lines, `# EOF` last, metadata before samples and never repeated, families that
//!   do not interleave or clash, per-type rules (counter-like values neither negative nor
//!   NaN, histogram buckets in order and cumulative with `+Inf` equal to `_count`,
//!   canonical `le`/`quantile`, stateset 0/1, info 1), exemplars only on buckets and
//!   `_total`, ≤ 128 code points of exemplar labels; timestamps in float seconds.
//!   The conformance suite (testdata/prometheus/openmetrics-parsers) is a test.
//!
//! Work is linear in the page: one pass, per-family state cleared (not freed) between
//! families, label-name duplicates found by a sort past 16 labels.
//!
//! The callback sees samples before the page is known to be valid: a caller that must not
//! act on a bad page (the scraper) collects and keeps the result only on `Ok`.

mod family;
mod lexer;
mod openmetrics;
#[cfg(test)]
mod tests;
mod text;

use std::borrow::Cow;

/// Which exposition format a page is in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// `text/plain; version=0.0.4`.
    Text,
    /// `application/openmetrics-text; version=1.0.0` (or 0.0.1).
    OpenMetrics,
}

impl Format {
    /// The format a response's `Content-Type` names; `fallback` when it names none we read
    /// (absent, empty, or another type), as Prometheus's `fallback_scrape_protocol`.
    pub fn from_content_type(content_type: Option<&str>, fallback: Format) -> Format {
        let Some(ct) = content_type else {
            return fallback;
        };
        let media = ct.split(';').next().unwrap_or("").trim();
        if media.eq_ignore_ascii_case("application/openmetrics-text") {
            Format::OpenMetrics
        } else if media.eq_ignore_ascii_case("text/plain") {
            Format::Text
        } else {
            fallback
        }
    }
}

/// The `Accept` header of a scrape (Prometheus 2.54's, minus protobuf).
pub const ACCEPT: &str = "application/openmetrics-text;version=1.0.0;q=0.5,\
                          application/openmetrics-text;version=0.0.1;q=0.4,\
                          text/plain;version=0.0.4;q=0.3,*/*;q=0.2";

/// The type a family declared (`# TYPE`), or `Unknown`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FamilyType {
    /// `counter`.
    Counter,
    /// `gauge`.
    Gauge,
    /// `histogram`.
    Histogram,
    /// `gaugehistogram` (OpenMetrics).
    GaugeHistogram,
    /// `summary`.
    Summary,
    /// `info` (OpenMetrics).
    Info,
    /// `stateset` (OpenMetrics).
    StateSet,
    /// `untyped` (text) / `unknown` (OpenMetrics), or no `# TYPE`.
    Unknown,
}

impl FamilyType {
    /// The sample-name suffixes of a family of this type (OpenMetrics; the text format
    /// uses the same lists, with `""` for counters).
    pub(crate) fn suffixes(self) -> &'static [&'static str] {
        match self {
            FamilyType::Counter => &["_total", "_created"],
            FamilyType::Summary => &["_count", "_sum", "_created", ""],
            FamilyType::Histogram => &["_count", "_sum", "_bucket", "_created"],
            FamilyType::GaugeHistogram => &["_gcount", "_gsum", "_bucket"],
            FamilyType::Info => &["_info"],
            FamilyType::Gauge | FamilyType::StateSet | FamilyType::Unknown => &[""],
        }
    }
}

/// One label of a sample, as written (escapes not yet undone).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Label<'a> {
    /// The label name.
    pub name: &'a str,
    /// The value between the quotes, escapes included.
    raw: &'a str,
    /// Whether `raw` holds a backslash.
    escaped: bool,
}

impl<'a> Label<'a> {
    /// The value, unescaped (borrowed when there was nothing to undo).
    pub fn value(&self) -> Cow<'a, str> {
        if self.escaped {
            let mut s = String::with_capacity(self.raw.len());
            lexer::unescape_into(self.raw, &mut s);
            Cow::Owned(s)
        } else {
            Cow::Borrowed(self.raw)
        }
    }

    /// The value as written between the quotes, escapes included.
    pub fn raw(&self) -> &'a str {
        self.raw
    }

    /// Appends the unescaped value to `out`.
    pub fn push_value(&self, out: &mut String) {
        if self.escaped {
            lexer::unescape_into(self.raw, out);
        } else {
            out.push_str(self.raw);
        }
    }

    /// True when the value is empty.
    pub fn is_empty(&self) -> bool {
        self.raw.is_empty()
    }
}

/// An exemplar (OpenMetrics), parsed and checked; not shipped downstream today.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Exemplar<'a> {
    /// The text between the braces (`trace_id="…"`).
    pub labels: &'a str,
    /// Its value.
    pub value: f64,
    /// Its timestamp in nanoseconds, if given.
    pub timestamp_ns: Option<i64>,
}

/// One sample of a page.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Sample<'a, 'l> {
    /// The series name (`http_requests_total`, `x_bucket`).
    pub name: &'a str,
    /// The series as the page writes it: the name and its braces (`x{a="1"}`, blanks
    /// between them kept), or the name alone.
    pub series: &'a str,
    /// True when the caller's `known` ([`parse_known`]) recognised `series`: its labels were
    /// not read, and `labels` is empty.
    pub known: bool,
    /// Its labels in page order (no `__name__`); empty when `known`.
    pub labels: &'l [Label<'a>],
    /// The value.
    pub value: f64,
    /// The exposition timestamp in nanoseconds, if any.
    pub timestamp_ns: Option<i64>,
    /// The type of its family.
    pub family_type: FamilyType,
    /// Its exemplar, if any.
    pub exemplar: Option<Exemplar<'a>>,
}

/// Why a page was rejected.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("line {line}: {reason}")]
pub struct ParseError {
    /// 1-based line number.
    pub line: usize,
    /// What is wrong.
    pub reason: Reason,
}

/// What is wrong with a line or a family.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[allow(missing_docs)]
pub enum Reason {
    #[error("the page is not valid UTF-8")]
    Utf8,
    #[error("invalid metric name")]
    MetricName,
    #[error("invalid label name")]
    LabelName,
    #[error("invalid or unterminated label value")]
    LabelValue,
    #[error("malformed label set")]
    Labels,
    #[error("duplicate label name")]
    DuplicateLabel,
    #[error("invalid value")]
    Value,
    #[error("invalid timestamp")]
    Timestamp,
    #[error("unexpected text after the sample")]
    Trailing,
    #[error("invalid metadata line")]
    Metadata,
    #[error("unknown metric type")]
    Type,
    #[error("blank line")]
    BlankLine,
    #[error("missing `# EOF`")]
    NoEof,
    #[error("text after `# EOF`")]
    AfterEof,
    #[error("metadata after samples or repeated")]
    MetadataOrder,
    #[error("metric family name clashes with an earlier family")]
    Clash,
    #[error("unit does not suit the family")]
    Unit,
    #[error("samples of a family are not grouped")]
    Grouping,
    #[error("timestamps go backwards or are mixed within a group")]
    GroupTimestamp,
    #[error("invalid `le` label")]
    Le,
    #[error("invalid `quantile` label")]
    Quantile,
    #[error("stateset sample without its state label")]
    StateLabel,
    #[error("value not allowed for this type")]
    TypeValue,
    #[error("histogram buckets out of order, not cumulative, or without +Inf")]
    Buckets,
    #[error("histogram _count/_sum do not match its buckets")]
    HistogramTotals,
    #[error("invalid exemplar")]
    Exemplar,
    #[error("exemplar not allowed on this sample")]
    ExemplarPlace,
}

/// Parses a page, calling `sink` with every sample in order; returns how many there were.
/// Nothing is kept between calls.
pub fn parse<'a>(
    page: &'a [u8],
    format: Format,
    sink: &mut dyn FnMut(&Sample<'a, '_>),
) -> Result<usize, ParseError> {
    parse_known(page, format, &mut |_| None, sink)
}

/// [`parse`], asking `known` about the series of each text-format sample line with
/// braces before reading its labels. A caller that saw a series text whole and valid
/// before (a scrape cache) answers with the length of its name: the line's labels are then
/// not read again (the sample comes `known`, without labels), only its value and timestamp.
/// The series of a line is taken as everything up to its last `}` (a value or timestamp
/// holds none), so `known` must answer only for text it got from a sample's
/// [`Sample::series`] of a valid line, never for a prefix of one. OpenMetrics pages are
/// read whole (the family rules need every sample's labels).
pub fn parse_known<'a>(
    page: &'a [u8],
    format: Format,
    known: &mut dyn FnMut(&'a str) -> Option<usize>,
    sink: &mut dyn FnMut(&Sample<'a, '_>),
) -> Result<usize, ParseError> {
    let text = std::str::from_utf8(page).map_err(|e| ParseError {
        line: 1 + page[..e.valid_up_to()]
            .iter()
            .filter(|&&b| b == b'\n')
            .count(),
        reason: Reason::Utf8,
    })?;
    match format {
        Format::Text => text::parse(text, known, sink),
        Format::OpenMetrics => openmetrics::parse(text, sink),
    }
}

/// Finds a duplicate label name: pairwise for short lists, by sorting names past 16.
fn has_duplicate_names(labels: &[Label<'_>], scratch: &mut Vec<usize>) -> bool {
    if labels.len() <= 16 {
        return labels
            .iter()
            .enumerate()
            .any(|(i, l)| labels[i + 1..].iter().any(|m| m.name == l.name));
    }
    scratch.clear();
    scratch.extend(0..labels.len());
    scratch.sort_unstable_by(|&a, &b| labels[a].name.cmp(labels[b].name));
    scratch
        .windows(2)
        .any(|w| labels[w[0]].name == labels[w[1]].name)
}
