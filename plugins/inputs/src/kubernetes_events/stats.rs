//! The input's own figures on `/metrics` (`gleaner_kubernetes_events_*`): events not sent
//! again and why, occurrences committed, complete lists, the watch's errors, and the uids
//! remembered.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use gleaner_api::{PluginStat, PluginStats, StatKind};
use gleaner_kube::CacheStats;

/// Counters of one input.
#[derive(Debug)]
pub(crate) struct Stats {
    /// Events seen again with a count already sent.
    pub(crate) unchanged: AtomicU64,
    /// Events not remembered but at or below the watermark.
    pub(crate) below_watermark: AtomicU64,
    /// Events of another replica's shard.
    pub(crate) other_shard: AtomicU64,
    /// Lists completed (the first, and each after 410 Gone).
    pub(crate) lists: AtomicU64,
    /// Sent occurrences whose memory is committed to the database.
    pub(crate) committed: AtomicU64,
    /// Uids remembered now.
    remembered: AtomicU64,
    /// The watches' counters.
    watch: Arc<CacheStats>,
}

impl Stats {
    pub(crate) fn new(watch: Arc<CacheStats>) -> Stats {
        Stats {
            unchanged: AtomicU64::new(0),
            below_watermark: AtomicU64::new(0),
            other_shard: AtomicU64::new(0),
            lists: AtomicU64::new(0),
            committed: AtomicU64::new(0),
            remembered: AtomicU64::new(0),
            watch,
        }
    }

    /// Adds one to a counter.
    pub(crate) fn bump(counter: &AtomicU64) {
        counter.fetch_add(1, Ordering::Relaxed);
    }

    /// Sets the remembered-uid gauge.
    pub(crate) fn set_remembered(&self, n: usize) {
        self.remembered.store(n as u64, Ordering::Relaxed);
    }
}

impl PluginStats for Stats {
    fn stats(&self) -> Vec<PluginStat> {
        let get = |a: &AtomicU64| a.load(Ordering::Relaxed) as f64;
        vec![
            PluginStat {
                name: "unchanged_total",
                kind: StatKind::Counter,
                help: "Events seen again (a re-list, a metadata change) with a count already sent: not sent again.",
                value: get(&self.unchanged),
            },
            PluginStat {
                name: "below_watermark_total",
                kind: StatKind::Counter,
                help: "Events no longer remembered by uid but at or below the resource version already sent: not sent again.",
                value: get(&self.below_watermark),
            },
            PluginStat {
                name: "other_shard_total",
                kind: StatKind::Counter,
                help: "Events left to another replica (shard).",
                value: get(&self.other_shard),
            },
            PluginStat {
                name: "lists_total",
                kind: StatKind::Counter,
                help: "Complete lists of events: the first, and one after each 410 Gone.",
                value: get(&self.lists),
            },
            PluginStat {
                name: "committed_total",
                kind: StatKind::Counter,
                help: "Sent occurrences acknowledged by the outputs' buffers and committed to the state database (not sent again after a restart).",
                value: get(&self.committed),
            },
            PluginStat {
                name: "watch_errors_total",
                kind: StatKind::Counter,
                help: "Watch errors (connection lost, 5xx, 410 Gone before its re-list); retried with backoff.",
                value: get(&self.watch.watch_errors),
            },
            PluginStat {
                name: "remembered_uids",
                kind: StatKind::Gauge,
                help: "Event uids remembered with their counts.",
                value: get(&self.remembered),
            },
        ]
    }
}
