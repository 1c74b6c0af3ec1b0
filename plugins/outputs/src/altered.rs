//! One warning per series when line protocol drops or alters part of a metric for its
//! trailing backslashes (a tag made only of backslashes, a label value `C:\dir\` written as
//! `C:\dir`): the counters count every occurrence, the log names the first of each series.
//!
//! Series seen are kept as 64-bit hashes of measurement and tags in one set for the process,
//! at most [`MAX_SERIES`] of them (128 KiB); past that, new series are no longer named (one
//! warning says so) but still counted.

use std::collections::HashSet;
use std::hash::{Hash, Hasher};
use std::sync::{LazyLock, Mutex, PoisonError};

use gleaner_api::Metric;
use gleaner_api::line_protocol::{EncodeOutcome, trimmed_parts};

/// Series remembered at most.
pub(crate) const MAX_SERIES: usize = 16_384;

static SEEN: LazyLock<FirstPerSeries> = LazyLock::new(|| FirstPerSeries::new(MAX_SERIES));

/// What [`FirstPerSeries::first`] says about a series.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Seen {
    /// Not seen before: warn.
    First,
    /// Seen before, or the set is full and this was said already: stay quiet.
    Again,
    /// The set has just become full: say that further series are not named.
    Full,
}

/// A bounded set of series hashes.
#[derive(Debug)]
pub(crate) struct FirstPerSeries {
    seen: Mutex<(HashSet<u64>, bool)>,
    capacity: usize,
}

impl FirstPerSeries {
    pub(crate) fn new(capacity: usize) -> Self {
        FirstPerSeries {
            seen: Mutex::new((HashSet::new(), false)),
            capacity,
        }
    }

    /// Records the series `hash`.
    pub(crate) fn first(&self, hash: u64) -> Seen {
        let mut guard = self.seen.lock().unwrap_or_else(PoisonError::into_inner);
        let (set, full_said) = &mut *guard;
        if set.contains(&hash) {
            return Seen::Again;
        }
        if set.len() < self.capacity {
            set.insert(hash);
            return Seen::First;
        }
        if *full_said {
            Seen::Again
        } else {
            *full_said = true;
            Seen::Full
        }
    }
}

/// The hash of a metric's series (measurement and tags).
pub(crate) fn series_hash(m: &Metric) -> u64 {
    let mut h = std::hash::DefaultHasher::new();
    m.measurement.hash(&mut h);
    m.tags.hash(&mut h);
    h.finish()
}

/// Warns about `m` if `outcome` altered it and its series was not named before.
pub(crate) fn warn_once_per_series(m: &Metric, outcome: &EncodeOutcome) {
    match SEEN.first(series_hash(m)) {
        Seen::Again => {}
        Seen::First => tracing::warn!(
            measurement = %m.measurement,
            changed = %trimmed_parts(m).join(", "),
            empty_field_keys = outcome.empty_field_keys,
            empty_tags = outcome.empty_tags,
            "line protocol cannot end a name or tag value with a backslash: trailing \
             backslashes trimmed, names and tags left empty dropped (logged once per series)"
        ),
        Seen::Full => tracing::warn!(
            series = MAX_SERIES,
            "line protocol trimmed trailing backslashes in more series than are logged; \
             further series are only counted (reason trailing_backslash, empty_tag, ...)"
        ),
    }
}

#[cfg(test)]
mod tests {
    use gleaner_api::FieldValue;

    use super::*;

    #[test]
    fn says_each_series_once_and_stays_bounded() {
        let seen = FirstPerSeries::new(2);
        assert_eq!(seen.first(1), Seen::First);
        assert_eq!(seen.first(1), Seen::Again);
        assert_eq!(seen.first(2), Seen::First);
        assert_eq!(
            seen.first(3),
            Seen::Full,
            "the third series finds the set full"
        );
        assert_eq!(seen.first(4), Seen::Again, "said once");
        assert_eq!(seen.first(2), Seen::Again);
        let len = seen.seen.lock().unwrap().0.len();
        assert_eq!(len, 2);
    }

    #[test]
    fn series_is_measurement_and_tags() {
        let a = Metric::new("up", 1)
            .with_tag("dir", "C:\\dir\\")
            .with_field("value", FieldValue::Float(1.0));
        let later = Metric::new("up", 2)
            .with_tag("dir", "C:\\dir\\")
            .with_field("other", FieldValue::Int(2));
        let other = Metric::new("up", 1)
            .with_tag("dir", "D:\\")
            .with_field("value", FieldValue::Float(1.0));
        assert_eq!(series_hash(&a), series_hash(&later));
        assert_ne!(series_hash(&a), series_hash(&other));
    }
}
