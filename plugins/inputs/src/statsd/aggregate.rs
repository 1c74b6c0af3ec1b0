//! The per-interval aggregate: packets in (split into lines, parsed, keyed, folded into
//! their series), metrics out at each flush, in the order series were first seen.
//!
//! Shapes (Telegraf's): measurement = the bucket name, tag `metric_type`; counters field
//! `value` (integer; float with `float_counters`, kind counter), gauges `value` (float, kind
//! gauge), sets `value` (distinct members, integer), timings `mean`, `median`, `stddev`,
//! `sum`, `upper`, `lower`, `count` (integer) and `<p>_percentile`. Set members are kept as
//! 64-bit keyed hashes, not strings.
//!
//! Memory: at most `max_series` series at once; a value of a new series beyond that is
//! dropped and counted. With `delete_* = false` a kind's series survive flushes (counters
//! keep counting, gauges keep their value) until `max_ttl` passes without an update.

use std::collections::{HashMap, HashSet};
use std::hash::BuildHasher;
use std::sync::Arc;

use gleaner_api::{FieldValue, Metric, MetricKind, Tags};
use tokio::time::Instant;

use super::config::AggregateOptions;
use super::parse::{Parser, Value};
use super::series::KeyBuilder;
use super::stats::TimerStats;

/// What one packet did.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Outcome {
    /// Non-empty lines read.
    pub lines: u64,
    /// Lines refused as malformed.
    pub malformed: u64,
    /// Values dropped because the series cap was reached.
    pub over_limit: u64,
    /// DogStatsD events and service checks (`_e{`, `_sc|`), which are not supported.
    pub unsupported: u64,
}

/// The state of one series.
#[derive(Debug, Clone)]
enum State {
    Counter(i64),
    Gauge(f64),
    Set(HashSet<u64>),
    Timer(Box<TimerStats>),
}

#[derive(Debug, Clone)]
struct Series {
    /// First-seen order.
    seq: u64,
    measurement: String,
    tags: Tags,
    state: State,
    /// Updated since the last flush.
    touched: bool,
    /// Flush time of the last interval in which it was updated.
    last_update: Option<Instant>,
}

/// The aggregate of one `inputs.statsd`.
#[derive(Debug)]
pub struct Aggregator {
    opts: Arc<AggregateOptions>,
    parser: Parser,
    keys: KeyBuilder,
    series: HashMap<Box<[u8]>, Series>,
    seq: u64,
    hasher: std::collections::hash_map::RandomState,
    rng: u64,
}

impl Aggregator {
    pub(crate) fn new(opts: AggregateOptions) -> Self {
        let hasher = std::collections::hash_map::RandomState::new();
        let rng = hasher.hash_one(0x5EED_u64) | 1;
        Aggregator {
            opts: Arc::new(opts),
            parser: Parser::default(),
            keys: KeyBuilder::default(),
            series: HashMap::new(),
            seq: 0,
            hasher,
            rng,
        }
    }

    /// Series held now.
    pub fn series(&self) -> usize {
        self.series.len()
    }

    /// Folds one packet (one or more newline-separated lines) into the aggregate.
    pub fn ingest(&mut self, packet: &[u8]) -> Outcome {
        let mut out = Outcome::default();
        for line in packet.split(|b| *b == b'\n') {
            let line = line.trim_ascii();
            if line.is_empty() {
                continue;
            }
            out.lines += 1;
            if self.opts.parse.datadog && (line.starts_with(b"_e{") || line.starts_with(b"_sc|")) {
                out.unsupported += 1;
                continue;
            }
            self.line(line, &mut out);
        }
        out
    }

    fn line(&mut self, line: &[u8], out: &mut Outcome) {
        let Aggregator {
            opts,
            parser,
            keys,
            series,
            seq,
            hasher,
            rng,
        } = self;
        let Ok((text, parsed)) = parser.parse(line, opts.parse.datadog) else {
            out.malformed += 1;
            return;
        };
        for sample in &parsed.samples {
            if !keys.build(text, parsed, sample.ty, &opts.parse) {
                out.malformed += 1;
                return;
            }
            let limit = opts.percentile_limit;
            if let Some(s) = series.get_mut(keys.key.as_slice()) {
                s.touched = true;
                match (&mut s.state, &sample.value) {
                    (State::Counter(c), Value::Counter(v)) => *c = c.saturating_add(*v),
                    (State::Gauge(g), Value::Gauge { value, delta }) => {
                        *g = if *delta { *g + value } else { *value };
                    }
                    (State::Set(set), Value::Set(r)) => {
                        set.insert(hasher.hash_one(&text[r.clone()]));
                    }
                    (State::Timer(t), Value::Timer { value, weight }) => {
                        t.add(*value, *weight, limit, rng);
                    }
                    // The key starts with the type, so the state always matches.
                    _ => {}
                }
                continue;
            }
            if series.len() >= opts.max_series {
                out.over_limit += 1;
                continue;
            }
            let state = match &sample.value {
                Value::Counter(v) => State::Counter(*v),
                Value::Gauge { value, .. } => State::Gauge(*value),
                Value::Set(r) => State::Set(HashSet::from([hasher.hash_one(&text[r.clone()])])),
                Value::Timer { value, weight } => {
                    State::Timer(Box::new(TimerStats::new(*value, *weight, limit, rng)))
                }
            };
            *seq += 1;
            series.insert(
                keys.key.as_slice().into(),
                Series {
                    seq: *seq,
                    measurement: keys.name(),
                    tags: keys.tags().into(),
                    state,
                    touched: true,
                    last_update: None,
                },
            );
        }
    }

    /// Takes this interval's series out (cheap: run it under the lock), forgetting what the
    /// `delete_*` options say to forget and kept series idle for `max_ttl`; kept series are
    /// copied. [`Drained::into_metrics`] then builds the metrics outside the lock.
    pub fn take(&mut self, now: Instant) -> Drained {
        let opts = Arc::clone(&self.opts);
        if opts.delete == [true; 4] {
            let series = std::mem::take(&mut self.series).into_values().collect();
            return Drained { series, opts };
        }
        let ttl = opts.max_ttl;
        let gone = self.series.extract_if(|_, s| {
            if s.touched {
                s.last_update = Some(now);
                s.touched = false;
            }
            let kind = match s.state {
                State::Counter(_) => 0,
                State::Gauge(_) => 1,
                State::Set(_) => 2,
                State::Timer(_) => 3,
            };
            let expired =
                !ttl.is_zero() && s.last_update.is_some_and(|t| now.duration_since(t) >= ttl);
            opts.delete[kind] || expired
        });
        let mut series: Vec<Series> = gone.map(|(_, s)| s).collect();
        series.extend(self.series.values().cloned());
        Drained { series, opts }
    }

    /// [`take`](Self::take) and [`Drained::into_metrics`] in one (tests, benches).
    pub fn flush(&mut self, timestamp: i64, now: Instant) -> Vec<Metric> {
        self.take(now).into_metrics(timestamp)
    }
}

/// One interval's series, taken out of the aggregate.
#[derive(Debug)]
pub struct Drained {
    series: Vec<Series>,
    opts: Arc<AggregateOptions>,
}

impl Drained {
    /// Series taken.
    pub fn len(&self) -> usize {
        self.series.len()
    }

    /// Nothing was taken.
    pub fn is_empty(&self) -> bool {
        self.series.is_empty()
    }

    /// The metrics, stamped `timestamp`, in the order their series were first seen.
    pub fn into_metrics(mut self, timestamp: i64) -> Vec<Metric> {
        self.series.sort_unstable_by_key(|s| s.seq);
        let opts = &self.opts;
        self.series
            .into_iter()
            .map(|s| metric(s, opts, timestamp))
            .collect()
    }
}

fn metric(mut s: Series, opts: &AggregateOptions, timestamp: i64) -> Metric {
    let (kind, fields) = match &mut s.state {
        State::Counter(c) => {
            let v = if opts.float_counters {
                FieldValue::Float(*c as f64)
            } else {
                FieldValue::Int(*c)
            };
            (MetricKind::Counter, vec![("value".to_owned(), v)])
        }
        State::Gauge(g) => (
            MetricKind::Gauge,
            vec![("value".to_owned(), FieldValue::Float(*g))],
        ),
        State::Set(set) => (
            MetricKind::Untyped,
            vec![(
                "value".to_owned(),
                FieldValue::Int(i64::try_from(set.len()).unwrap_or(i64::MAX)),
            )],
        ),
        State::Timer(t) => {
            t.sort();
            let mut f = Vec::with_capacity(7 + opts.percentiles.len());
            let float = |name: &str, v: f64| (name.to_owned(), FieldValue::Float(v));
            f.push(float("mean", t.mean()));
            f.push(float("median", t.median()));
            f.push(float("stddev", t.stddev()));
            f.push(float("sum", t.sum()));
            f.push(float("upper", t.upper()));
            f.push(float("lower", t.lower()));
            let count = i64::try_from(t.count()).unwrap_or(i64::MAX);
            f.push(("count".to_owned(), FieldValue::Int(count)));
            for (p, name) in &opts.percentiles {
                f.push((name.clone(), FieldValue::Float(t.percentile(*p))));
            }
            (MetricKind::Untyped, f)
        }
    };
    Metric {
        measurement: s.measurement,
        tags: s.tags,
        fields,
        timestamp,
        kind,
    }
}
