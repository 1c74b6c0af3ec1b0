//! A journal entry as a [`LogRecord`]: `MESSAGE` is the body, `__REALTIME_TIMESTAMP` the
//! time, `PRIORITY` the `severity` attribute (syslog's keywords, as `inputs.syslog` writes
//! them), and `_SYSTEMD_UNIT`, `SYSLOG_IDENTIFIER`, `_PID`, `_HOSTNAME`, `_BOOT_ID`,
//! `_TRANSPORT` (plus the configured `fields`) attributes under their journal names.
//!
//! Those attributes repeat from entry to entry (one unit's process writes many lines), so
//! they are kept as a shared list, made once per distinct set of values and reused from a
//! small cache: a record costs its body and an `Arc` clone, and the buffer writes its
//! one-byte marker for a repeated list (the tail does the same per file). The cache is
//! looked up by the values' bytes, so only a set not seen before is checked for UTF-8.
//!
//! A value that is not valid UTF-8 (journalctl writes such values as binary fields) is
//! base64-encoded and named in `journald.base64` (a comma-separated list of fields), or,
//! with `binary = "replace"`, has its invalid sequences replaced and the record flagged
//! `invalid_utf8`; a value cut at `max_entry_bytes` flags the record `truncated`.

use std::sync::Arc;

use gleaner_api::http_client::base64;
use gleaner_api::{Attributes, FieldValue, Key, LogRecord, SharedAttributes, Stream};

use super::config::Binary;
use super::export::Entry;
use super::matches::Matches;

/// The fields kept as shared attributes, in this order, then `severity`.
const SLOTS: [&str; 6] = [
    "_SYSTEMD_UNIT",
    "SYSLOG_IDENTIFIER",
    "_PID",
    "_HOSTNAME",
    "_BOOT_ID",
    "_TRANSPORT",
];

/// Severity keywords by PRIORITY (RFC 5424 table 2, as `inputs.syslog` writes them).
const SEVERITIES: [&str; 8] = [
    "emerg", "alert", "crit", "err", "warning", "notice", "info", "debug",
];

/// Distinct attribute lists remembered.
pub(crate) const CACHE: usize = 64;

/// What became of an entry.
#[derive(Debug)]
pub(crate) enum Built {
    /// A record.
    Record(LogRecord),
    /// It matched `exclude_matches`.
    Excluded,
}

/// Counts of what the conversion had to do, for the input's figures.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Flags {
    /// Values base64-encoded or replaced.
    pub(crate) binary_values: u64,
    /// Records flagged `truncated`.
    pub(crate) truncated: u64,
}

/// Turns entries into records.
#[derive(Debug)]
pub(crate) struct Builder {
    binary: Binary,
    extra: Vec<String>,
    exclude: Matches,
    cache: Vec<(Vec<u8>, SharedAttributes)>,
    evict: usize,
    last: usize,
    key: Vec<u8>,
    /// Running counts.
    pub(crate) flags: Flags,
}

impl Builder {
    /// A builder with the input's options.
    pub(crate) fn new(binary: Binary, extra: Vec<String>, exclude: Matches) -> Self {
        Builder {
            binary,
            extra,
            exclude,
            cache: Vec::with_capacity(CACHE),
            evict: 0,
            last: 0,
            key: Vec::with_capacity(256),
            flags: Flags::default(),
        }
    }

    /// Converts one entry; `now_ns` stands in for a missing timestamp.
    pub(crate) fn build(&mut self, entry: &Entry<'_>, now_ns: i64) -> Built {
        if !self.exclude.is_empty() && self.exclude.matches(entry) {
            return Built::Excluded;
        }
        let mut slots: [Option<&[u8]>; SLOTS.len()] = [None; SLOTS.len()];
        let mut extra: Vec<Option<&[u8]>> = vec![None; self.extra.len()];
        let (mut message, mut time, mut priority) = (None, None, None);
        for (name, value) in entry.fields() {
            // A match on the name (its length, then its bytes) rather than a search of the
            // slot names: most of an entry's fields are none of these.
            let slot = match name {
                b"MESSAGE" => {
                    message = message.or(Some(value));
                    continue;
                }
                b"__REALTIME_TIMESTAMP" => {
                    time = Some(value);
                    continue;
                }
                b"PRIORITY" => {
                    priority = Some(value);
                    continue;
                }
                b"_SYSTEMD_UNIT" => 0,
                b"SYSLOG_IDENTIFIER" => 1,
                b"_PID" => 2,
                b"_HOSTNAME" => 3,
                b"_BOOT_ID" => 4,
                b"_TRANSPORT" => 5,
                _ => {
                    if !self.extra.is_empty()
                        && let Some(i) = self.extra.iter().position(|s| s.as_bytes() == name)
                    {
                        extra[i] = extra[i].or(Some(value));
                    }
                    continue;
                }
            };
            slots[slot] = slots[slot].or(Some(value));
        }
        let level = priority.and_then(|p| match p {
            [d @ b'0'..=b'7'] => Some(usize::from(d - b'0')),
            _ => None,
        });
        let severity = level.map(|i| SEVERITIES[i]);
        let mut binary_names: Vec<&str> = Vec::new();
        // A cached list was made from these very bytes, so they were valid UTF-8 then: only
        // a new set of values is checked.
        let cached = self.cached(&slots, &extra, level);
        let mut attributes = match cached {
            Some(list) => Attributes::from_shared(list),
            None if slots
                .iter()
                .chain(extra.iter())
                .flatten()
                .all(|v| std::str::from_utf8(v).is_ok()) =>
            {
                Attributes::from_shared(self.make_shared(&slots, &extra, level))
            }
            None => {
                // Rare: every attribute of its own, with the flag naming the binary ones.
                let names = SLOTS
                    .iter()
                    .copied()
                    .chain(self.extra.iter().map(String::as_str));
                let mut own = Vec::with_capacity(SLOTS.len() + extra.len() + 2);
                for (name, value) in names.zip(slots.iter().chain(extra.iter())) {
                    if let Some(v) = value {
                        let text = self.text(v, name, &mut binary_names);
                        own.push((Key::from(name), FieldValue::String(text.into())));
                    }
                }
                if let Some(s) = severity {
                    own.push((Key::from_static("severity"), FieldValue::String(s.into())));
                }
                Attributes::from(own)
            }
        };
        let body = match message {
            None => Vec::new(),
            Some(m) if std::str::from_utf8(m).is_ok() => m.to_vec(),
            Some(m) => self.text(m, "MESSAGE", &mut binary_names).into_bytes(),
        };
        if !binary_names.is_empty() {
            self.flags.binary_values += binary_names.len() as u64;
            match self.binary {
                Binary::Base64 => attributes.push(
                    "journald.base64",
                    FieldValue::String(binary_names.join(",").into()),
                ),
                Binary::Replace => attributes.push("invalid_utf8", FieldValue::Bool(true)),
            }
        }
        if entry.truncated {
            self.flags.truncated += 1;
            attributes.push("truncated", FieldValue::Bool(true));
        }
        let timestamp = time
            .and_then(parse_micros)
            .and_then(|us| us.checked_mul(1000))
            .unwrap_or(now_ns);
        Built::Record(LogRecord {
            timestamp,
            body,
            stream: Stream::Unknown,
            attributes,
        })
    }

    /// A value that is not UTF-8, as text: base64 or replaced; its name is noted.
    fn text<'n>(&self, v: &[u8], name: &'n str, binary: &mut Vec<&'n str>) -> String {
        match std::str::from_utf8(v) {
            Ok(s) => s.to_owned(),
            Err(_) => {
                binary.push(name);
                match self.binary {
                    Binary::Base64 => base64(v),
                    Binary::Replace => String::from_utf8_lossy(v).into_owned(),
                }
            }
        }
    }

    /// The cached list for these values, if there is one; `self.key` is left holding their
    /// key for [`Builder::make_shared`].
    fn cached(
        &mut self,
        slots: &[Option<&[u8]>],
        extra: &[Option<&[u8]>],
        level: Option<usize>,
    ) -> Option<SharedAttributes> {
        self.key.clear();
        for v in slots.iter().chain(extra.iter()) {
            match v {
                None => self.key.push(0),
                Some(v) => {
                    self.key.push(1);
                    self.key.extend_from_slice(&(v.len() as u32).to_le_bytes());
                    self.key.extend_from_slice(v);
                }
            }
        }
        self.key.push(level.map_or(0xff, |i| i as u8));
        // The last list used first: entries of one unit come in runs.
        if let Some((k, list)) = self.cache.get(self.last)
            && *k == self.key
        {
            return Some(Arc::clone(list));
        }
        let i = self.cache.iter().position(|(k, _)| *k == self.key)?;
        self.last = i;
        Some(Arc::clone(&self.cache[i].1))
    }

    /// Makes the shared list for these (UTF-8) values and caches it under `self.key`, which
    /// [`Builder::cached`] just filled, evicting the oldest when the cache is full.
    fn make_shared(
        &mut self,
        slots: &[Option<&[u8]>],
        extra: &[Option<&[u8]>],
        level: Option<usize>,
    ) -> SharedAttributes {
        let names = SLOTS
            .iter()
            .copied()
            .chain(self.extra.iter().map(String::as_str));
        let mut list: Vec<(Key, FieldValue)> = names
            .zip(slots.iter().chain(extra.iter()))
            .filter_map(|(name, v)| {
                let v = std::str::from_utf8((*v)?).ok()?;
                Some((Key::from(name), FieldValue::String(v.into())))
            })
            .collect();
        if let Some(i) = level {
            list.push((
                Key::from_static("severity"),
                FieldValue::String(SEVERITIES[i].into()),
            ));
        }
        let list: SharedAttributes = Arc::from(list);
        if self.cache.len() < CACHE {
            self.last = self.cache.len();
            self.cache.push((self.key.clone(), Arc::clone(&list)));
        } else {
            self.last = self.evict;
            self.cache[self.evict] = (self.key.clone(), Arc::clone(&list));
            self.evict = (self.evict + 1) % CACHE;
        }
        list
    }

    /// Distinct lists held now.
    #[cfg(test)]
    pub(crate) fn cached_lists(&self) -> usize {
        self.cache.len()
    }
}

/// `__REALTIME_TIMESTAMP`: decimal microseconds (at most 18 digits, so no overflow).
fn parse_micros(t: &[u8]) -> Option<i64> {
    if t.is_empty() || t.len() > 18 {
        return None;
    }
    t.iter().try_fold(0i64, |acc, &c| {
        c.is_ascii_digit().then(|| acc * 10 + i64::from(c - b'0'))
    })
}

#[cfg(test)]
mod tests;
