//! The input's own figures on `/metrics` (`gleaner_journald_*`).

use std::sync::atomic::{AtomicU64, Ordering};

use gleaner_api::{PluginStat, PluginStats, StatKind};

/// Counters shared by the supervisor and the reader thread.
#[derive(Debug, Default)]
pub(crate) struct Stats {
    /// Entries read from journalctl.
    pub(crate) entries: AtomicU64,
    /// Entries skipped by `exclude_matches`.
    pub(crate) excluded: AtomicU64,
    /// Bytes of export stream read.
    pub(crate) bytes: AtomicU64,
    /// journalctl restarts after an exit.
    pub(crate) restarts: AtomicU64,
    /// 1 while journalctl runs.
    pub(crate) running: AtomicU64,
    /// Starts whose saved cursor's entry was gone.
    pub(crate) cursor_gaps: AtomicU64,
    /// Export streams that ended inside an entry.
    pub(crate) cut_streams: AtomicU64,
    /// Entries skipped as malformed.
    pub(crate) malformed: AtomicU64,
    /// Records flagged `truncated`.
    pub(crate) truncated: AtomicU64,
    /// Values base64-encoded or replaced.
    pub(crate) binary_values: AtomicU64,
}

impl Stats {
    /// Adds `n` to a counter.
    pub(crate) fn add(counter: &AtomicU64, n: u64) {
        counter.fetch_add(n, Ordering::Relaxed);
    }
}

impl PluginStats for Stats {
    fn stats(&self) -> Vec<PluginStat> {
        let get = |a: &AtomicU64| a.load(Ordering::Relaxed) as f64;
        let c = |name, help, v: &AtomicU64| PluginStat {
            name,
            kind: StatKind::Counter,
            help,
            value: get(v),
        };
        vec![
            c(
                "entries_read_total",
                "Journal entries read from journalctl.",
                &self.entries,
            ),
            c(
                "entries_excluded_total",
                "Entries skipped by exclude_matches.",
                &self.excluded,
            ),
            c(
                "bytes_read_total",
                "Bytes of journal export stream read.",
                &self.bytes,
            ),
            c(
                "journalctl_restarts_total",
                "Times journalctl exited and was started again.",
                &self.restarts,
            ),
            PluginStat {
                name: "journalctl_running",
                kind: StatKind::Gauge,
                help: "1 while journalctl runs.",
                value: get(&self.running),
            },
            c(
                "cursor_gaps_total",
                "Starts whose saved cursor's entry the journal no longer held (vacuumed): reading resumed at the oldest entry after it.",
                &self.cursor_gaps,
            ),
            c(
                "cut_streams_total",
                "Export streams that ended inside an entry (journalctl died mid-write); the entry is read again.",
                &self.cut_streams,
            ),
            c(
                "malformed_entries_total",
                "Entries that broke the export format and were skipped.",
                &self.malformed,
            ),
            c(
                "truncated_total",
                "Records with a value cut at max_entry_bytes (flagged truncated).",
                &self.truncated,
            ),
            c(
                "binary_values_total",
                "Values that were not UTF-8 (base64-encoded or replaced).",
                &self.binary_values,
            ),
        ]
    }
}
