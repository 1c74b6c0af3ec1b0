//! What OpenMetrics requires of a family beyond line syntax, checked as the samples stream
//! by (the reference parser's rules): which family a sample belongs to (its name is the
//! family's plus one of the type's suffixes, else it starts an `unknown` family of its own),
//! metadata before samples and once each, no two families claiming one name, samples grouped
//! by label set with timestamps that do not go backwards, and the per-type value rules.
//! Histograms are checked one run (label set and timestamp) at a time.
//!
//! State is per family and reset, not reallocated, when the next one starts; the set of
//! names already claimed grows by a handful of strings per family, never per sample.

use std::collections::HashSet;

use super::{FamilyType, Label, Reason, Sample};
use crate::prometheus::shard;

/// Suffixes whose samples count up: never NaN, and never negative but for `_gsum` (which
/// the histogram rules check against the buckets).
const COUNTER_LIKE: [&str; 6] = ["_total", "_sum", "_count", "_bucket", "_gcount", "_gsum"];

/// Family tracking for one page.
#[derive(Debug, Default)]
pub(super) struct Families<'a> {
    current: Option<Current<'a>>,
    /// Every sample name a finished family claimed.
    claimed: HashSet<String>,
    /// Label-set keys the current family has already been through.
    seen_groups: HashSet<u64>,
}

#[derive(Debug)]
struct Current<'a> {
    name: &'a str,
    typ: Option<FamilyType>,
    help: bool,
    unit: Option<&'a str>,
    has_samples: bool,
    /// The label-set key and timestamp of the previous sample.
    group: Option<(u64, Option<i64>)>,
    hist: Histogram,
}

/// One run of a histogram: a label set at one timestamp.
#[derive(Debug, Default)]
struct Histogram {
    run: Option<(u64, Option<i64>)>,
    bucket: Option<f64>,
    value: f64,
    count: Option<f64>,
    negative_buckets: bool,
    has_sum: bool,
    has_gsum: bool,
    negative_gsum: bool,
}

impl Histogram {
    fn check(&self) -> Result<(), Reason> {
        if self.run.is_none() {
            return Ok(());
        }
        if self.bucket != Some(f64::INFINITY) {
            return Err(Reason::Buckets);
        }
        let bad = self.count.is_some_and(|c| c != self.value)
            || ((self.has_sum || self.has_gsum) && self.count.is_none())
            || (!(self.has_sum || self.has_gsum) && self.count.is_some())
            || (self.negative_buckets && self.has_sum)
            || (!self.negative_buckets && self.negative_gsum);
        if bad {
            return Err(Reason::HistogramTotals);
        }
        Ok(())
    }
}

impl<'a> Families<'a> {
    /// Moves on to family `name` if it is not the current one; metadata for the current
    /// family after its samples is an error.
    fn metadata_for(&mut self, name: &'a str) -> Result<&mut Current<'a>, Reason> {
        let same = self.current.as_ref().is_some_and(|c| c.name == name);
        if same {
            let cur = self.current.as_mut().ok_or(Reason::Metadata)?;
            if cur.has_samples {
                return Err(Reason::MetadataOrder);
            }
            return Ok(cur);
        }
        self.start(name, None)?;
        self.current.as_mut().ok_or(Reason::Metadata)
    }

    /// `# HELP`.
    pub(super) fn help(&mut self, name: &'a str) -> Result<(), Reason> {
        let cur = self.metadata_for(name)?;
        if std::mem::replace(&mut cur.help, true) {
            return Err(Reason::MetadataOrder);
        }
        Ok(())
    }

    /// `# UNIT`.
    pub(super) fn unit(&mut self, name: &'a str, unit: &'a str) -> Result<(), Reason> {
        let cur = self.metadata_for(name)?;
        if cur.unit.replace(unit).is_some() {
            return Err(Reason::MetadataOrder);
        }
        Ok(())
    }

    /// `# TYPE`.
    pub(super) fn typ(&mut self, name: &'a str, typ: FamilyType) -> Result<(), Reason> {
        let cur = self.metadata_for(name)?;
        if cur.typ.replace(typ).is_some() {
            return Err(Reason::MetadataOrder);
        }
        Ok(())
    }

    /// Ends the current family (if any) and starts `name`.
    fn start(&mut self, name: &'a str, typ: Option<FamilyType>) -> Result<(), Reason> {
        self.finish()?;
        self.seen_groups.clear();
        self.current = Some(Current {
            name,
            typ,
            help: false,
            unit: None,
            has_samples: false,
            group: None,
            hist: Histogram::default(),
        });
        Ok(())
    }

    /// Ends the current family: its names must be free, its unit must suit it, its last
    /// histogram run must be whole.
    pub(super) fn finish(&mut self) -> Result<(), Reason> {
        let Some(cur) = self.current.take() else {
            return Ok(());
        };
        let typ = cur.typ.unwrap_or(FamilyType::Unknown);
        let own = typ.suffixes();
        let extra: &[&str] = if own.contains(&"") { &[] } else { &[""] };
        for suffix in own.iter().chain(extra) {
            let mut n = String::with_capacity(cur.name.len() + suffix.len());
            n.push_str(cur.name);
            n.push_str(suffix);
            if !self.claimed.insert(n) {
                return Err(Reason::Clash);
            }
        }
        if let Some(unit) = cur.unit.filter(|u| !u.is_empty()) {
            let suits = cur
                .name
                .strip_suffix(unit)
                .is_some_and(|rest| rest.ends_with('_'));
            if !suits || matches!(typ, FamilyType::Info | FamilyType::StateSet) {
                return Err(Reason::Unit);
            }
        }
        cur.hist.check()
    }

    /// Places a sample in its family and checks it; returns the family's type.
    pub(super) fn sample(&mut self, s: &Sample<'a, '_>) -> Result<FamilyType, Reason> {
        let belongs = self.current.as_ref().is_some_and(|c| {
            s.name.strip_prefix(c.name).is_some_and(|suffix| {
                c.typ
                    .map_or(suffix.is_empty(), |t| t.suffixes().contains(&suffix))
            })
        });
        if !belongs {
            if !super::lexer::is_metric_name(s.name) {
                return Err(Reason::MetricName);
            }
            self.start(s.name, Some(FamilyType::Unknown))?;
        }
        let cur = self.current.as_mut().ok_or(Reason::Metadata)?;
        cur.has_samples = true;
        let typ = cur.typ.unwrap_or(FamilyType::Unknown);
        let suffix = &s.name[cur.name.len()..];
        let histogram = matches!(typ, FamilyType::Histogram | FamilyType::GaugeHistogram);
        let v = s.value;
        let integral = v.is_finite() && v.fract() == 0.0;

        if typ == FamilyType::StateSet && !s.labels.iter().any(|l| l.name == cur.name) {
            return Err(Reason::StateLabel);
        }
        let mut le = None;
        if histogram && suffix == "_bucket" {
            let raw = label(s.labels, "le").ok_or(Reason::Le)?;
            le = Some(canonical_number(raw).ok_or(Reason::Le)?);
            if !integral {
                return Err(Reason::TypeValue);
            }
        }
        if (suffix == "_count" || suffix == "_gcount") && !integral {
            return Err(Reason::TypeValue);
        }
        if typ == FamilyType::Summary && suffix.is_empty() {
            let q = label(s.labels, "quantile")
                .and_then(canonical_number)
                .ok_or(Reason::Quantile)?;
            if !(0.0..=1.0).contains(&q) {
                return Err(Reason::Quantile);
            }
        }

        // Grouping: one label set's samples together, timestamps never going back.
        let skip = match typ {
            FamilyType::Summary if suffix.is_empty() => Some("quantile"),
            FamilyType::StateSet => Some(cur.name),
            _ if histogram && suffix == "_bucket" => Some("le"),
            _ => None,
        };
        let key = if typ == FamilyType::Info {
            0
        } else {
            group_key(s.labels, skip)
        };
        if let Some((prev, prev_ts)) = cur.group {
            if key != prev && self.seen_groups.contains(&key) {
                return Err(Reason::Grouping);
            }
            if key == prev {
                if prev_ts.is_some() != s.timestamp_ns.is_some() {
                    return Err(Reason::GroupTimestamp);
                }
                if prev_ts > s.timestamp_ns && typ != FamilyType::Info {
                    return Err(Reason::GroupTimestamp);
                }
            }
        }
        cur.group = Some((key, s.timestamp_ns));
        self.seen_groups.insert(key);

        let bad_value = match typ {
            FamilyType::StateSet => v != 0.0 && v != 1.0,
            FamilyType::Info => v != 1.0,
            FamilyType::Summary if suffix.is_empty() => v < 0.0,
            _ => false,
        } || (COUNTER_LIKE.contains(&suffix)
            && (v.is_nan() || (v < 0.0 && suffix != "_gsum")));
        if bad_value {
            return Err(Reason::TypeValue);
        }
        if s.exemplar.is_some()
            && !((histogram && suffix == "_bucket")
                || (typ == FamilyType::Counter && suffix == "_total"))
        {
            return Err(Reason::ExemplarPlace);
        }
        if histogram && !suffix.is_empty() {
            let h = &mut cur.hist;
            let run = Some((key, s.timestamp_ns));
            if h.run != run {
                h.check()?;
                *h = Histogram {
                    run,
                    ..Histogram::default()
                };
            }
            match suffix {
                "_bucket" => {
                    let b = le.ok_or(Reason::Le)?;
                    h.negative_buckets |= b < 0.0;
                    if h.bucket.is_some_and(|prev| b <= prev) || v < h.value {
                        return Err(Reason::Buckets);
                    }
                    h.bucket = Some(b);
                    h.value = v;
                }
                "_count" | "_gcount" => h.count = Some(v),
                "_sum" => h.has_sum = true,
                "_gsum" => {
                    h.has_gsum = true;
                    h.negative_gsum |= v < 0.0;
                }
                _ => {}
            }
        }
        Ok(typ)
    }
}

/// The raw value of label `name`.
fn label<'a>(labels: &[Label<'a>], name: &str) -> Option<&'a str> {
    labels.iter().find(|l| l.name == name).map(|l| l.raw)
}

/// A number as `le` and `quantile` must be written: any decimal form, but infinities only
/// as `+Inf`/`-Inf`, and never NaN.
fn canonical_number(raw: &str) -> Option<f64> {
    let v: f64 = raw.parse().ok()?;
    if v.is_nan() || (v.is_infinite() && raw != "+Inf" && raw != "-Inf") {
        return None;
    }
    Some(v)
}

/// An order-independent key of a label set (minus `skip`): the sum of a mixed FNV-1a hash
/// per label.
fn group_key(labels: &[Label<'_>], skip: Option<&str>) -> u64 {
    labels
        .iter()
        .filter(|l| Some(l.name) != skip)
        .map(|l| {
            let mut h = shard::fnv1a(0xcbf2_9ce4_8422_2325, l.name.as_bytes());
            h = shard::fnv1a(h ^ 0xff, l.raw.as_bytes());
            shard::mix(h)
        })
        .fold(0u64, u64::wrapping_add)
}
