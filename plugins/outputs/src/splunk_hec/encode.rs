//! Pure encoding of a batch into the body of one HEC `/services/collector/event` request:
//! one JSON object per event, each on its own line (HEC takes concatenated objects, not an
//! array; one object per line lets `send` cut a batch at any event boundary).
//!
//! A log record becomes
//! `{"time":1700000000.123456,"host":"h","source":"/var/log/pods/...","sourcetype":"st","index":"i","event":"the message","fields":{"k8s.pod":"web"}}`:
//! - `time`: epoch seconds with six decimals (microseconds), never integer milliseconds;
//! - `host`, `sourcetype`, `index` from the config (omitted when unset); `source` from the
//!   config, else the record's `file` attribute, else omitted;
//! - `fields`: the attributes whose names match `fields` (globs; `stream` is matched as if it
//!   were an attribute), values as strings (HEC indexed fields are flat);
//! - `event`: the message (invalid UTF-8 replaced by U+FFFD). When the record carries other
//!   attributes (a parser filled them: anything but the indexed ones, `file` and the tail
//!   flags `invalid_utf8`, `truncated`, `parse_error`, `partial`), `event` is an object:
//!   `{"message":"...","<attr>":<typed value>,...}`, so Splunk extracts them at search time
//!   (an attribute named `message` is written as `attr_message`). When the message itself
//!   was parsed (the `kubernetes` filter's `gleaner.io/parser` annotation: `log.<key>`
//!   attributes), `event` is the parsed object: its members without the `log.` prefix, and
//!   no copy of the raw message.
//!   A record whose message is empty (HEC refuses blank events, code 13) is dropped and
//!   counted (`empty_message`).
//!
//! A metric becomes one multi-measure HEC metric event (Splunk 8.0+):
//! `{"time":...,"event":"metric","host":...,"fields":{"<tag>":"<value>",...,"metric_name:cpu.usage_user":1.5,...}}`:
//! the name is `<measurement>.<field>` (just the field for the `prometheus` measurement);
//! tags are dimensions; booleans are 0/1; string fields (`string_field`) and NaN/±Inf
//! (`nan_or_inf_field`) are left out and counted, and a metric with no measure left is
//! dropped (`no_fields`).

use std::sync::Arc;

use gleaner_api::event::Attribute;
use gleaner_api::{Batch, ComponentMetrics, FieldValue, Key, LogRecord, Metric, SharedAttributes};

use crate::attr_glob::AttrGlobs;
use crate::json;
use crate::json_lines::{REASON_NAN_OR_INF, REASON_NO_FIELDS};

/// Drop reason for string fields of metrics (counts fields).
pub(crate) const REASON_STRING_FIELD: &str = "string_field";
/// Drop reason for log records with an empty message.
pub(crate) const REASON_EMPTY_MESSAGE: &str = "empty_message";

/// Attribute prefix of a parsed message's members (set by the `kubernetes` filter's parsers).
const PARSED_PREFIX: &str = "log.";

/// Attributes that never make a record count as "parsed".
const PLAIN_ATTRIBUTES: [&str; 5] = [
    "file",
    "invalid_utf8",
    "truncated",
    "parse_error",
    "partial",
];

/// The envelope keys every event shares.
#[derive(Debug, Clone, Default)]
pub(crate) struct Envelope {
    pub(crate) host: Option<String>,
    pub(crate) source: Option<String>,
    pub(crate) sourcetype: Option<String>,
    pub(crate) index: Option<String>,
}

/// How events become HEC JSON.
#[derive(Debug, Clone)]
pub(crate) struct Encoder {
    pub(crate) envelope: Envelope,
    pub(crate) fields: AttrGlobs,
}

/// What one encode wrote and left out.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub(crate) struct EncodeStats {
    pub(crate) written: u64,
    pub(crate) string_fields: u64,
    pub(crate) nan_or_inf_fields: u64,
    pub(crate) no_fields: u64,
    pub(crate) empty_messages: u64,
}

impl EncodeStats {
    /// Returns the number of whole events left out.
    pub(crate) fn record(&self, metrics: &ComponentMetrics) -> usize {
        metrics.dropped(REASON_STRING_FIELD, self.string_fields);
        metrics.dropped(REASON_NAN_OR_INF, self.nan_or_inf_fields);
        metrics.dropped(REASON_NO_FIELDS, self.no_fields);
        metrics.dropped(REASON_EMPTY_MESSAGE, self.empty_messages);
        (self.no_fields + self.empty_messages) as usize
    }
}

impl Encoder {
    /// Appends one line per event to `buf`.
    pub(crate) fn encode(&self, batch: &Batch, buf: &mut Vec<u8>) -> EncodeStats {
        let mut stats = EncodeStats::default();
        match batch {
            Batch::Logs(logs) => {
                let mut plans = Plans::default();
                let mut own_classes = OwnClasses::default();
                let mut seconds = Seconds::default();
                for r in logs {
                    if r.body.iter().all(u8::is_ascii_whitespace) {
                        stats.empty_messages += 1;
                        continue;
                    }
                    self.log(r, buf, &mut plans, &mut own_classes, &mut seconds);
                    stats.written += 1;
                }
            }
            Batch::Metrics(metrics) => {
                for m in metrics {
                    if self.metric(m, buf, &mut stats) {
                        stats.written += 1;
                    } else {
                        stats.no_fields += 1;
                    }
                }
            }
        }
        stats
    }

    fn head(&self, buf: &mut Vec<u8>, ts: i64, source: Option<&str>) {
        buf.extend_from_slice(b"{\"time\":");
        write_time(buf, ts);
        self.envelope_keys(buf, source);
    }

    /// `,"host":...,"source":...,"sourcetype":...,"index":...`, the keys that are set.
    fn envelope_keys(&self, buf: &mut Vec<u8>, source: Option<&str>) {
        let env = &self.envelope;
        let source = env.source.as_deref().or(source);
        for (key, value) in [
            ("host", env.host.as_deref()),
            ("source", source),
            ("sourcetype", env.sourcetype.as_deref()),
            ("index", env.index.as_deref()),
        ] {
            if let Some(v) = value {
                buf.extend_from_slice(b",\"");
                buf.extend_from_slice(key.as_bytes());
                buf.extend_from_slice(b"\":");
                json::write_str(buf, v);
            }
        }
    }

    /// What an attribute named `k` is to a HEC event.
    fn class(&self, k: &str) -> Class {
        if self.fields.matches(k) {
            Class::Indexed
        } else if PLAIN_ATTRIBUTES.contains(&k) {
            Class::Plain
        } else if k.starts_with(PARSED_PREFIX) {
            Class::Parsed
        } else {
            Class::Other
        }
    }

    /// Works out once per shared attribute list what `log` would per record.
    fn plan(&self, list: &SharedAttributes) -> ListPlan {
        let parsed = list
            .iter()
            .any(|(k, _)| matches!(self.class(k), Class::Parsed | Class::Other));
        let mut fields = Vec::new();
        for (k, v) in list.iter().filter(|(k, _)| self.class(k) == Class::Indexed) {
            if !fields.is_empty() {
                fields.push(b',');
            }
            write_field(&mut fields, k, v);
        }
        // As `LogRecord::attribute("file")` reads it: the first `file`, if a string.
        let file_attr = list.iter().find(|(k, _)| k == "file");
        let file = file_attr.and_then(|(_, v)| match v {
            FieldValue::String(f) => Some(f.as_str()),
            _ => None,
        });
        let mut head = Vec::new();
        self.envelope_keys(&mut head, file);
        head.extend_from_slice(b",\"event\":");
        ListPlan {
            list: Arc::clone(list),
            parsed,
            head,
            has_file: file_attr.is_some(),
            classes: std::cell::OnceCell::new(),
            fields,
            stream_field: self.fields.matches("stream"),
        }
    }

    /// Appends one log event; `own_classes` is scratch for the classes of the record's own
    /// attributes, `seconds` the text of the last event's second.
    fn log(
        &self,
        r: &LogRecord,
        buf: &mut Vec<u8>,
        plans: &mut Plans,
        own_classes: &mut OwnClasses,
        seconds: &mut Seconds,
    ) {
        // The shared list's analysis, the envelope and its indexed fields are done once per
        // list (records of a file share it); a record that carries only the list adds its
        // time and message, one with attributes of its own has only those classified.
        let shared_plan = r.attributes.shared_arc().map(|list| plans.get(self, list));
        let own = r.attributes.own_part();
        if own.is_empty()
            && let Some(p) = shared_plan.filter(|p| !p.parsed)
        {
            let stream_field = p.stream_field && r.stream != gleaner_api::Stream::Unknown;
            buf.extend_from_slice(b"{\"time\":");
            seconds.write(buf, r.timestamp);
            buf.extend_from_slice(&p.head);
            json::write_bytes_lossy(buf, &r.body);
            if stream_field || !p.fields.is_empty() {
                buf.extend_from_slice(b",\"fields\":{");
                if stream_field {
                    buf.extend_from_slice(b"\"stream\":");
                    json::write_str(buf, r.stream.as_str());
                    if !p.fields.is_empty() {
                        buf.push(b',');
                    }
                }
                buf.extend_from_slice(&p.fields);
                buf.push(b'}');
            }
            buf.extend_from_slice(b"}\n");
            return;
        }
        let own_classes = own_classes.of(own, |k| self.class(k));
        let shared = r.attributes.shared_part();
        let shared_classes = shared_plan.map_or(&[][..], |p| p.classes(self));
        // Each attribute with its class, in the record's order (shared list, then own).
        let attrs = || {
            shared
                .iter()
                .zip(shared_classes.iter().copied())
                .chain(own.iter().zip(own_classes.iter().copied()))
        };
        let stream_field =
            r.stream != gleaner_api::Stream::Unknown && self.fields.matches("stream");
        match shared_plan {
            // The envelope as the list's plan wrote it, unless the record's own `file`
            // would be the one `source` reads.
            Some(p) if p.has_file || !own.iter().any(|(k, _)| k == "file") => {
                buf.extend_from_slice(b"{\"time\":");
                seconds.write(buf, r.timestamp);
                buf.extend_from_slice(&p.head);
            }
            _ => {
                let file = match r.attribute("file") {
                    Some(FieldValue::String(f)) => Some(f.as_str()),
                    _ => None,
                };
                self.head(buf, r.timestamp, file);
                buf.extend_from_slice(b",\"event\":");
            }
        }
        let parsed = shared_plan.is_some_and(|p| p.parsed)
            || own_classes
                .iter()
                .any(|c| matches!(c, Class::Parsed | Class::Other));
        if parsed {
            let members = attrs().any(|(_, c)| c == Class::Parsed);
            let mut first = true;
            buf.push(b'{');
            if !members {
                buf.extend_from_slice(b"\"message\":");
                json::write_bytes_lossy(buf, &r.body);
                first = false;
            }
            for ((k, v), c) in attrs() {
                if matches!(c, Class::Indexed | Class::Plain) {
                    continue;
                }
                if !first {
                    buf.push(b',');
                }
                first = false;
                match k.strip_prefix(PARSED_PREFIX) {
                    Some(member) if members => json::write_str(buf, member),
                    _ if k == "message" && !members => json::write_str(buf, "attr_message"),
                    _ => json::write_str(buf, k),
                }
                buf.push(b':');
                json::write_value(buf, v);
            }
            buf.push(b'}');
        } else {
            json::write_bytes_lossy(buf, &r.body);
        }
        let mut first = true;
        let mut open = |buf: &mut Vec<u8>| {
            buf.extend_from_slice(if first { b",\"fields\":{" } else { b"," });
            first = false;
        };
        if stream_field {
            open(buf);
            buf.extend_from_slice(b"\"stream\":");
            json::write_str(buf, r.stream.as_str());
        }
        if let Some(p) = shared_plan.filter(|p| !p.fields.is_empty()) {
            open(buf);
            buf.extend_from_slice(&p.fields);
        }
        for ((k, v), c) in own.iter().zip(own_classes.iter().copied()) {
            if c == Class::Indexed {
                open(buf);
                write_field(buf, k, v);
            }
        }
        if !first {
            buf.push(b'}');
        }
        buf.extend_from_slice(b"}\n");
    }

    /// Writes a metric event; false (and nothing written) when no measure is left.
    fn metric(&self, m: &Metric, buf: &mut Vec<u8>, stats: &mut EncodeStats) -> bool {
        let start = buf.len();
        self.head(buf, m.timestamp, None);
        buf.extend_from_slice(b",\"event\":\"metric\",\"fields\":{");
        let mut first = json::write_str_members(buf, &m.tags, true);
        let mut measures = 0;
        for (field, value) in &m.fields {
            match value {
                FieldValue::Float(f) if !f.is_finite() => {
                    stats.nan_or_inf_fields += 1;
                    continue;
                }
                FieldValue::String(_) => {
                    stats.string_fields += 1;
                    continue;
                }
                _ => {}
            }
            if !first {
                buf.push(b',');
            }
            first = false;
            buf.extend_from_slice(b"\"metric_name:");
            if m.measurement != "prometheus" && !m.measurement.is_empty() {
                json::write_escaped(buf, &m.measurement);
                buf.push(b'.');
            }
            json::write_escaped(buf, field);
            buf.extend_from_slice(b"\":");
            match value {
                FieldValue::Bool(b) => json::write_u64(buf, u64::from(*b)),
                number => json::write_value(buf, number),
            }
            measures += 1;
        }
        if measures == 0 {
            buf.truncate(start);
            return false;
        }
        buf.extend_from_slice(b"}}\n");
        true
    }
}

/// What a log attribute is to a HEC event.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Class {
    /// Matches `fields`: an indexed field.
    Indexed,
    /// `file` or a tail flag: neither a field nor part of the event.
    Plain,
    /// A parsed member (`log.<key>`): a member of the event object.
    Parsed,
    /// Anything else: a member of the event object beside the message.
    Other,
}

/// The classes of a record's own attributes, and the keys they were worked out for, by
/// position: records of one kind of line carry the same keys in the same order (a chunk's
/// decoder gives every record the same [`Key`] for a name it read before), so the class
/// of the key at a position is reused when its text is the one seen there last (the same
/// pointer: the memo holds the key, so the text cannot be freed and its address reused).
#[derive(Default)]
struct OwnClasses {
    classes: Vec<Class>,
    keys: Vec<Key>,
}

impl OwnClasses {
    /// The class of each attribute of `own` (`class` works out one not remembered).
    fn of(&mut self, own: &[Attribute], class: impl Fn(&str) -> Class) -> &[Class] {
        for (i, (k, _)) in own.iter().enumerate() {
            match self.keys.get(i) {
                Some(seen) if seen.same_text(k) => {}
                Some(_) => {
                    self.keys[i] = k.clone();
                    self.classes[i] = class(k);
                }
                None => {
                    self.keys.push(k.clone());
                    self.classes.push(class(k));
                }
            }
        }
        &self.classes[..own.len()]
    }
}

/// Plans kept at once: a file's records may alternate between a few lists (a filter's
/// flagged copy of the file's list beside the list itself).
const KEPT_PLANS: usize = 4;

/// The plans of the lists seen lately in a batch, the latest first (held in place: no
/// allocation per request beyond the plans' own bytes).
#[derive(Default)]
struct Plans([Option<ListPlan>; KEPT_PLANS]);

impl Plans {
    /// The plan of `list`, made when it is not kept.
    fn get(&mut self, encoder: &Encoder, list: &SharedAttributes) -> &ListPlan {
        let kept = self
            .0
            .iter()
            .position(|p| p.as_ref().is_some_and(|p| Arc::ptr_eq(&p.list, list)));
        match kept {
            Some(i) => self.0[..=i].rotate_right(1),
            None => {
                self.0.rotate_right(1);
                self.0[0] = None;
            }
        }
        self.0[0].get_or_insert_with(|| encoder.plan(list))
    }
}

impl ListPlan {
    /// The class of each attribute of the list.
    fn classes(&self, encoder: &Encoder) -> &[Class] {
        self.classes
            .get_or_init(|| self.list.iter().map(|(k, _)| encoder.class(k)).collect())
    }
}

/// What [`Encoder::log`] needs to know of one shared attribute list.
struct ListPlan {
    /// The list (kept so its address cannot be reused while the plan stands).
    list: SharedAttributes,
    /// Whether it holds attributes that make `event` an object.
    parsed: bool,
    /// What follows `{"time":<t>` in each event: the envelope keys (`source` from the list's
    /// `file`) and `,"event":`.
    head: Vec<u8>,
    /// Whether the list holds a `file` (then `source` is read from it, whatever the record
    /// adds).
    has_file: bool,
    /// The class of each attribute of the list, made for the first record that has
    /// attributes of its own (records with only the list never need them).
    classes: std::cell::OnceCell<Vec<Class>>,
    /// Its indexed fields as JSON members, comma-separated.
    fields: Vec<u8>,
    /// Whether `stream` is an indexed field.
    stream_field: bool,
}

/// One indexed field: `"name":"value"` (HEC indexed fields are strings: a number or boolean
/// as its JSON text, see [`json::write_value_text`]).
fn write_field(buf: &mut Vec<u8>, k: &str, v: &FieldValue) {
    json::write_str(buf, k);
    buf.push(b':');
    json::write_value_text(buf, v);
}

/// Epoch seconds with six decimals: `1700000000.123456` (`-0.000001` for 1 µs before 1970).
pub(crate) fn write_time(buf: &mut Vec<u8>, ns: i64) {
    Seconds::default().write(buf, ns);
}

/// The text of the whole seconds [`write_time`] wrote last: the events of a batch mostly
/// share their second, so each writes it with one copy and formats only its fraction.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct Seconds {
    /// Whole microseconds divided by a million, with the sign (`None`: nothing yet).
    key: Option<(bool, u64)>,
    /// Its text (`-` and up to 20 digits).
    text: [u8; 21],
    len: usize,
}

impl Seconds {
    /// Appends `ns` as [`write_time`] does.
    pub(crate) fn write(&mut self, buf: &mut Vec<u8>, ns: i64) {
        let micros = ns.div_euclid(1_000);
        let abs = micros.unsigned_abs();
        let key = (micros < 0, abs / 1_000_000);
        if self.key != Some(key) {
            let sign = usize::from(key.0);
            self.text[0] = b'-';
            let mut digits = itoa::Buffer::new();
            let digits = digits.format(key.1).as_bytes();
            self.text[sign..sign + digits.len()].copy_from_slice(digits);
            self.len = sign + digits.len();
            self.key = Some(key);
        }
        buf.extend_from_slice(&self.text[..self.len]);
        // Below a million: three pairs of digits.
        let frac = (abs % 1_000_000) as usize;
        let pair = |n: usize| &DIGIT_PAIRS[2 * n..2 * n + 2];
        let (a, b, c) = (
            pair(frac / 10_000),
            pair(frac / 100 % 100),
            pair(frac % 100),
        );
        buf.extend_from_slice(&[b'.', a[0], a[1], b[0], b[1], c[0], c[1]]);
    }
}

/// `00` to `99`, two bytes each.
const DIGIT_PAIRS: &[u8; 200] = b"\
0001020304050607080910111213141516171819\
2021222324252627282930313233343536373839\
4041424344454647484950515253545556575859\
6061626364656667686970717273747576777879\
8081828384858687888990919293949596979899";

#[cfg(test)]
mod own_classes_tests {
    use gleaner_api::{FieldValue, Key};

    use super::{Class, OwnClasses};

    fn class(k: &str) -> Class {
        match k {
            "idx" => Class::Indexed,
            "file" => Class::Plain,
            k if k.starts_with("log.") => Class::Parsed,
            _ => Class::Other,
        }
    }

    /// The remembered classes answer as `class` does: for the same keys, for another key at
    /// a position, for a key of the same text elsewhere in memory, for shorter and longer lists.
    #[test]
    fn remembered_classes_answer_as_the_classifier() {
        let list = |keys: &[&Key]| -> Vec<(Key, FieldValue)> {
            keys.iter()
                .map(|k| ((*k).clone(), FieldValue::Int(1)))
                .collect()
        };
        let (a, idx, file, other) = (
            Key::from("log.a"),
            Key::from("idx"),
            Key::from("file"),
            Key::from("x"),
        );
        let mut m = OwnClasses::default();
        let lists = [
            list(&[&a, &idx, &file]),
            list(&[&a, &idx, &file]),
            list(&[&idx, &a]),
            list(&[&Key::from("idx"), &Key::from("log.a"), &other, &file]),
            list(&[&other]),
            list(&[&a, &idx, &file, &other]),
        ];
        for l in &lists {
            let want: Vec<Class> = l.iter().map(|(k, _)| class(k)).collect();
            assert_eq!(m.of(l, class), &want[..]);
        }
    }
}
