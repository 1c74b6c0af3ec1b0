//! The event model: [`Metric`], [`LogRecord`] and the [`Batch`] that carries either kind.
//!
//! One [`Metric`] maps 1:1 to a line-protocol line. Tags are kept sorted by key (byte order)
//! so encoders never sort on the hot path, and shared between the samples of a series
//! ([`Tags`]); constructors and [`Metric::insert_tag`] keep that invariant. Fields keep insertion order, as a line-protocol parser reads them.
//! A log record's attribute names are [`Key`]s (static or shared text: names repeat from
//! record to record, so a producer makes each once, see [`KeyCache`]).

use std::fmt;

mod attributes;
mod key;
mod pieces;
mod tags;

pub use attributes::{Attribute, Attributes, Iter as AttributesIter, SharedAttributes};
pub use key::{Key, KeyCache};
pub use pieces::BatchPieces;
pub(crate) use tags::AddressHasher;
pub use tags::{Iter as TagsIter, Tag, Tags, TagsBuilder, TagsMemo};

/// The text of a [`FieldValue::String`]: up to 24 bytes inline, longer on the heap. Most
/// values a log parser reads out of a line (levels, loggers, methods, paths, short messages,
/// times) are that short, so they cost no allocation to make or free to drop; the type is
/// as large as a `String` and reads as a `&str`.
pub type Text = compact_str::CompactString;

/// A typed field value (InfluxDB line protocol's five types).
#[derive(Debug, Clone, PartialEq)]
pub enum FieldValue {
    /// IEEE-754 double; line protocol's default numeric type.
    Float(f64),
    /// Signed 64-bit integer (`42i`).
    Int(i64),
    /// Unsigned 64-bit integer (`42u`).
    UInt(u64),
    /// Boolean (`t`, `true`, ...).
    Bool(bool),
    /// UTF-8 string (`"text"`), inline when short (see [`Text`]).
    String(Text),
}

// A field value is no larger than before `Text`: the string's spare byte holds the variant.
const _: () = assert!(std::mem::size_of::<FieldValue>() == 24);

impl FieldValue {
    /// A string value.
    pub fn string(text: impl Into<Text>) -> FieldValue {
        FieldValue::String(text.into())
    }
}

impl fmt::Display for FieldValue {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            FieldValue::Float(v) => write!(f, "{v}"),
            FieldValue::Int(v) => write!(f, "{v}"),
            FieldValue::UInt(v) => write!(f, "{v}"),
            FieldValue::Bool(v) => write!(f, "{v}"),
            FieldValue::String(v) => f.write_str(v),
        }
    }
}

/// What a metric measures, as Prometheus and remote write distinguish it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Hash)]
pub enum MetricKind {
    /// Monotonic counter.
    Counter,
    /// Value that goes up and down.
    Gauge,
    /// Bucketed distribution.
    Histogram,
    /// Quantile summary.
    Summary,
    /// Unknown type (line protocol carries none).
    #[default]
    Untyped,
}

impl MetricKind {
    /// The lowercase name used in config and telemetry.
    pub const fn as_str(self) -> &'static str {
        match self {
            MetricKind::Counter => "counter",
            MetricKind::Gauge => "gauge",
            MetricKind::Histogram => "histogram",
            MetricKind::Summary => "summary",
            MetricKind::Untyped => "untyped",
        }
    }
}

/// One measurement at one instant: a line of line protocol.
#[derive(Debug, Clone, PartialEq)]
pub struct Metric {
    /// Measurement name (`cpu`, `prometheus`).
    pub measurement: String,
    /// Tags, sorted by key in byte order, keys unique; shared between the metrics of one
    /// series (see [`Tags`]).
    pub tags: Tags,
    /// Fields in insertion order; at least one for a valid metric.
    pub fields: Vec<(String, FieldValue)>,
    /// Nanoseconds since the Unix epoch.
    pub timestamp: i64,
    /// Counter, gauge, ...
    pub kind: MetricKind,
}

impl Metric {
    /// A metric with no tags or fields yet.
    pub fn new(measurement: impl Into<String>, timestamp: i64) -> Self {
        Metric {
            measurement: measurement.into(),
            tags: Tags::new(),
            fields: Vec::new(),
            timestamp,
            kind: MetricKind::Untyped,
        }
    }

    /// Sets the kind (builder style).
    #[must_use]
    pub fn with_kind(mut self, kind: MetricKind) -> Self {
        self.kind = kind;
        self
    }

    /// Adds or replaces a tag, keeping tags sorted (builder style).
    #[must_use]
    pub fn with_tag(mut self, key: impl Into<String>, value: impl Into<String>) -> Self {
        self.insert_tag(key.into(), value.into());
        self
    }

    /// Appends a field (builder style).
    #[must_use]
    pub fn with_field(mut self, key: impl Into<String>, value: FieldValue) -> Self {
        self.fields.push((key.into(), value));
        self
    }

    /// Adds or replaces a tag, keeping the tag list sorted by key.
    pub fn insert_tag(&mut self, key: String, value: String) {
        self.tags.insert(key, value);
    }

    /// Adds a tag only when the key is absent (for agent-wide default tags).
    pub fn insert_tag_if_absent(&mut self, key: &str, value: &str) {
        self.tags.insert_if_absent(key, value);
    }

    /// The value of a tag.
    pub fn tag(&self, key: &str) -> Option<&str> {
        self.tags.get(key)
    }

    /// The value of a field (first match).
    pub fn field(&self, key: &str) -> Option<&FieldValue> {
        self.fields.iter().find(|(k, _)| k == key).map(|(_, v)| v)
    }

    /// Sorts tags by key and removes duplicate keys, keeping the last value of each. Every
    /// way of making a [`Tags`] set already does, so this changes nothing; kept for callers.
    pub fn normalize_tags(&mut self) {
        self.tags.normalize();
    }
}

/// Which output stream of a process a log line came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Hash)]
pub enum Stream {
    /// Standard output.
    Stdout,
    /// Standard error.
    Stderr,
    /// Not known (a raw file, a listener).
    #[default]
    Unknown,
}

impl Stream {
    /// `stdout`, `stderr` or `unknown`.
    pub const fn as_str(self) -> &'static str {
        match self {
            Stream::Stdout => "stdout",
            Stream::Stderr => "stderr",
            Stream::Unknown => "unknown",
        }
    }
}

/// One log line (or one merged multi-line message).
#[derive(Debug, Clone, PartialEq)]
pub struct LogRecord {
    /// Nanoseconds since the Unix epoch.
    pub timestamp: i64,
    /// The message as read; usually UTF-8, but arbitrary bytes are kept.
    pub body: Vec<u8>,
    /// stdout / stderr.
    pub stream: Stream,
    /// Ordered attributes: file path, Kubernetes metadata, parsed fields.
    pub attributes: Attributes,
}

impl LogRecord {
    /// A record with no attributes.
    pub fn new(timestamp: i64, body: impl Into<Vec<u8>>, stream: Stream) -> Self {
        LogRecord {
            timestamp,
            body: body.into(),
            stream,
            attributes: Attributes::new(),
        }
    }

    /// Appends an attribute (builder style).
    #[must_use]
    pub fn with_attribute(mut self, key: impl Into<Key>, value: FieldValue) -> Self {
        self.attributes.push(key, value);
        self
    }

    /// The value of an attribute (first match).
    pub fn attribute(&self, key: &str) -> Option<&FieldValue> {
        self.attributes.get(key)
    }

    /// The body as text, with invalid UTF-8 replaced by U+FFFD.
    pub fn body_lossy(&self) -> std::borrow::Cow<'_, str> {
        String::from_utf8_lossy(&self.body)
    }
}

/// The two kinds of event.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum EventKind {
    /// [`Metric`]s.
    Metrics,
    /// [`LogRecord`]s.
    Logs,
}

impl EventKind {
    /// `metrics` or `logs`.
    pub const fn as_str(self) -> &'static str {
        match self {
            EventKind::Metrics => "metrics",
            EventKind::Logs => "logs",
        }
    }
}

/// Events travel in batches, one kind per batch, so routing and filters work on whole vectors.
#[derive(Debug, Clone, PartialEq)]
pub enum Batch {
    /// A batch of metrics.
    Metrics(Vec<Metric>),
    /// A batch of log records.
    Logs(Vec<LogRecord>),
}

impl Batch {
    /// Number of events.
    pub fn len(&self) -> usize {
        match self {
            Batch::Metrics(m) => m.len(),
            Batch::Logs(l) => l.len(),
        }
    }

    /// True when there are no events.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Which kind of events this batch holds.
    pub fn kind(&self) -> EventKind {
        match self {
            Batch::Metrics(_) => EventKind::Metrics,
            Batch::Logs(_) => EventKind::Logs,
        }
    }
}

/// Wall-clock time in nanoseconds since the Unix epoch (saturating; 0 before 1970).
pub fn now_ns() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| i64::try_from(d.as_nanos()).unwrap_or(i64::MAX))
        .unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tags_stay_sorted_and_unique() {
        let m = Metric::new("m", 0)
            .with_tag("b", "2")
            .with_tag("a", "1")
            .with_tag("b", "3");
        assert_eq!(
            m.tags,
            vec![("a".into(), "1".into()), ("b".into(), "3".into())]
        );
        assert_eq!(m.tag("b"), Some("3"));
    }

    #[test]
    fn normalize_keeps_last_duplicate() {
        let mut m = Metric::new("m", 0);
        m.tags.edit(|t| {
            t.push(("z".into(), "1".into()));
            t.push(("a".into(), "x".into()));
            t.push(("z".into(), "2".into()));
        });
        m.normalize_tags();
        assert_eq!(
            m.tags,
            vec![("a".into(), "x".into()), ("z".into(), "2".into())]
        );
    }

    #[test]
    fn if_absent_does_not_override() {
        let mut m = Metric::new("m", 0).with_tag("host", "a");
        m.insert_tag_if_absent("host", "b");
        m.insert_tag_if_absent("cluster", "c");
        assert_eq!(m.tag("host"), Some("a"));
        assert_eq!(m.tag("cluster"), Some("c"));
    }
}
