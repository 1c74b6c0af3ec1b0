//! `filters.parse`: reads structure out of a log record's message (or one attribute) with the
//! shared parsers (`json`, `logfmt`, `kv`, `regex`; see `parsers`) into attributes
//! under a prefix (`log.` by default), and optionally takes the record's time and severity
//! from parsed members. Metrics pass untouched.
//!
//! A record that does not parse passes unchanged but for the flag `parse_error = true`, and
//! is counted on the filter's `errors_total` under the failure's reason (`not_json`,
//! `invalid_json`, `too_deep`, ...). A missing source attribute counts as
//! `source_missing` (no flag); a time member that does not read as `time_format` leaves the
//! record's time as it was and counts as `time_unparsed`.
//!
//! Parsed members go to the record's own attributes: a file's shared list is copied only when
//! a member (with `target = ""`) replaces one of its attributes. The `parse_error` flag of a
//! record with only a shared list goes into a flagged copy of that list, made once per list.

mod config;
mod level;
#[cfg(test)]
mod tests;
mod time;

use std::sync::Arc;

use gleaner_api::event::Attribute;
use gleaner_api::{
    Batch, BuildContext, ComponentMetrics, ConfigError, FieldValue, Filter, FilterDescriptor, Key,
    LogRecord, PluginConfig, SharedAttributes,
};

use self::config::{ParseConfig, Settings, Source};
use self::time::SecondCache;
use crate::parsers::MemberKeys;

/// Registry entry.
pub const DESCRIPTOR: FilterDescriptor = FilterDescriptor {
    name: "parse",
    summary: "Parses log messages (or an attribute) as json, logfmt, kv or regex into \
              attributes; takes the record's time and severity from them",
    sample: config::SAMPLE,
    build,
};

fn build(cfg: &PluginConfig, cx: &BuildContext) -> Result<Box<dyn Filter>, ConfigError> {
    let c: ParseConfig = cfg.parse()?;
    Ok(Box::new(Parse {
        settings: c.validate(cfg)?,
        metrics: Arc::clone(&cx.metrics),
        scratch: Vec::new(),
        keys: MemberKeys::new(),
        flagged: None,
        target_keys: None,
        seconds: SecondCache::default(),
        distinct: Distinct::default(),
    }))
}

/// The filter.
struct Parse {
    settings: Settings,
    metrics: Arc<ComponentMetrics>,
    /// Members of the record being parsed, before they join its attributes.
    scratch: Vec<Attribute>,
    /// Attribute names made so far (`<target><member>`): made once, shared by every record.
    keys: MemberKeys,
    /// The last shared list flagged `parse_error`, and the flagged copy.
    flagged: Option<(SharedAttributes, SharedAttributes)>,
    /// The last shared list seen by [`Parse::shared_has_target_keys`], and its answer.
    target_keys: Option<(SharedAttributes, bool)>,
    /// The last RFC 3339 time's date and second (`time_key`).
    seconds: SecondCache,
    /// The last members' names found without a duplicate.
    distinct: Distinct,
}

/// The flag of a record that did not parse (as the tail input sets it on a bad CRI line).
const PARSE_ERROR: &str = "parse_error";

/// Failures of one batch, by reason.
#[derive(Default)]
struct Tally(Vec<(&'static str, u64)>);

impl Tally {
    fn add(&mut self, reason: &'static str) {
        // Reasons are constants: the same text is (almost always) the same pointer.
        let same = |r: &str| std::ptr::eq(r, reason) || r == reason;
        match self.0.iter_mut().find(|(r, _)| same(r)) {
            Some((_, n)) => *n += 1,
            None => self.0.push((reason, 1)),
        }
    }
}

/// Replaces the first attribute named `key` (copying a shared list only when the key is in
/// it), or appends it. `in_shared`: whether the shared list may hold `key` at all.
fn set(r: &mut LogRecord, key: Key, value: FieldValue, in_shared: bool) {
    let own = r.attributes.own_mut();
    if let Some(slot) = own.iter_mut().find(|(k, _)| *k == key) {
        slot.1 = value;
        return;
    }
    if in_shared && r.attributes.shared_part().iter().any(|(k, _)| *k == key) {
        r.attributes.set(&key, value);
        return;
    }
    r.attributes.own_mut().push((key, value));
}

/// The attribute the level goes to.
const SEVERITY: Key = Key::from_static("severity");

/// Whether the record's own attributes hold a name under `prefix` (one a member could
/// replace).
fn own_has_prefix(r: &LogRecord, prefix: &str) -> bool {
    r.attributes
        .own_part()
        .iter()
        .any(|(k, _)| k.starts_with(prefix))
}

/// Whether two members have the same name (a JSON object may repeat one; the later value
/// then replaces the earlier, as `set` does).
fn has_duplicates(members: &[Attribute]) -> bool {
    members
        .iter()
        .enumerate()
        .any(|(i, (k, _))| members[..i].iter().any(|(seen, _)| seen == k))
}

/// [`has_duplicates`], remembered for the last list of names found without one: the
/// members of one kind of line come with the same keys (the same text in memory, see
/// `MemberKeys`), so a list like it is checked with a pointer comparison per name.
#[derive(Debug, Default)]
struct Distinct(Vec<Key>);

impl Distinct {
    fn has_duplicates(&mut self, members: &[Attribute]) -> bool {
        if self.0.len() == members.len()
            && self
                .0
                .iter()
                .zip(members)
                .all(|(seen, (k, _))| seen.same_text(k))
        {
            return false;
        }
        if has_duplicates(members) {
            return true;
        }
        // Held here, the keys' texts stay where they are: an equal pointer is the same text.
        self.0.clear();
        self.0.extend(members.iter().map(|(k, _)| k.clone()));
        false
    }
}

fn remove(r: &mut LogRecord, key: &str) {
    if r.attributes.shared_part().iter().any(|(k, _)| k == key) {
        r.attributes.unshare();
    }
    r.attributes.own_mut().retain(|(k, _)| k != key);
}

impl Parse {
    /// Flags a record that did not parse. A record with only a shared list gets that list
    /// with the flag added, made once per list: no allocation per record, and outputs keep
    /// treating the record's attributes as one shared list.
    fn flag(&mut self, r: &mut LogRecord) {
        // The list flagged last had no flag when its copy was made: its records need no
        // search for one.
        if r.attributes.own_part().is_empty()
            && let Some(src) = r.attributes.shared_arc()
            && let Some((seen, flagged)) = &self.flagged
            && Arc::ptr_eq(seen, src)
        {
            let flagged = Arc::clone(flagged);
            r.attributes.replace_shared(flagged);
            return;
        }
        if r.attributes.get(PARSE_ERROR).is_some() {
            return;
        }
        if r.attributes.own_part().is_empty()
            && let Some(src) = r.attributes.shared_arc()
        {
            let mut list = Vec::with_capacity(src.len() + 1);
            list.extend(src.iter().cloned());
            list.push((Key::from_static(PARSE_ERROR), FieldValue::Bool(true)));
            let flagged: SharedAttributes = list.into();
            self.flagged = Some((Arc::clone(src), Arc::clone(&flagged)));
            r.attributes.replace_shared(flagged);
            return;
        }
        r.attributes
            .push(Key::from_static(PARSE_ERROR), FieldValue::Bool(true));
    }

    /// Whether `r`'s shared list holds a key under the target prefix (one a parsed member
    /// could replace), remembered for the last list: records of one file share it.
    fn shared_has_target_keys(&mut self, r: &LogRecord) -> bool {
        let prefix = self.settings.target.as_str();
        let Some(list) = r.attributes.shared_arc() else {
            return false;
        };
        if prefix.is_empty() {
            return true;
        }
        if let Some((seen, has)) = &self.target_keys
            && Arc::ptr_eq(seen, list)
        {
            return *has;
        }
        let has = list.iter().any(|(k, _)| k.starts_with(prefix));
        self.target_keys = Some((Arc::clone(list), has));
        has
    }

    fn record(&mut self, r: &mut LogRecord, tally: &mut Tally) {
        let s = &self.settings;
        self.scratch.clear();
        let text: &[u8] = match &s.source {
            Source::Body => &r.body,
            Source::Attribute(name) => match r.attributes.get(name) {
                Some(FieldValue::String(v)) => v.as_bytes(),
                Some(_) | None => {
                    tally.add("source_missing");
                    return;
                }
            },
        };
        if let Err(f) = s.format.parse_into(
            text,
            &s.target,
            &s.limits,
            &mut self.keys,
            &mut self.scratch,
        ) {
            tally.add(f.reason());
            self.flag(r);
            return;
        }
        if let Some((key, format)) = &s.time
            && let Some((_, v)) = self.scratch.iter().find(|(k, _)| k == key)
        {
            match format.read_cached(v, r.timestamp, &mut self.seconds) {
                Some(t) => r.timestamp = t,
                None => tally.add("time_unparsed"),
            }
        }
        let severity = s.level_attr.as_ref().and_then(|key| {
            self.scratch
                .iter()
                .find(|(k, _)| k == key)
                .map(|(_, v)| level::severity(v))
        });
        if !s.keep_original {
            match &s.source {
                Source::Attribute(name) => remove(r, name),
                Source::Body => {
                    let at = s
                        .message_attr
                        .as_ref()
                        .and_then(|m| self.scratch.iter().position(|(k, _)| k == m));
                    if let Some(i) = at {
                        let (_, v) = self.scratch.remove(i);
                        // A body of the message's size: the line's allocation (up to
                        // `max_line_bytes`) is not kept for a short message.
                        r.body = match v {
                            FieldValue::String(s) => s.into_string().into_bytes(),
                            other => other.to_string().into_bytes(),
                        };
                    }
                }
            }
        }
        let in_shared = self.shared_has_target_keys(r);
        r.attributes.reserve(self.scratch.len() + 1);
        if !in_shared
            && !own_has_prefix(r, &self.settings.target)
            && !self.distinct.has_duplicates(&self.scratch)
        {
            // Nothing a member could replace: append them all, no search per member.
            r.attributes.own_mut().append(&mut self.scratch);
        } else {
            for (k, v) in self.scratch.drain(..) {
                set(r, k, v, in_shared);
            }
        }
        if let Some(sev) = severity {
            set(r, SEVERITY, FieldValue::String(sev.into()), true);
        }
    }
}

impl Filter for Parse {
    fn process(&mut self, batch: &mut Batch) {
        let Batch::Logs(records) = batch else { return };
        let mut tally = Tally::default();
        for r in records.iter_mut() {
            self.record(r, &mut tally);
        }
        for (reason, n) in tally.0 {
            self.metrics.errors(reason, n);
        }
    }
}

/// This plugin's sample check (run for every registered plugin from `src/sample_checks.rs`):
/// each option the sample shows at its default is the real default.
#[cfg(test)]
pub(crate) fn check_sample() {
    gleaner_api::test_util::sample::assert_sample_debug::<config::ParseConfig>(
        "filters.parse.0",
        config::SAMPLE,
        &["pattern"],
        &[],
    );
}
