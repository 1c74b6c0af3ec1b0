//! The tail input's own figures beyond the standard per-component counters: files watched
//! and open, rotations, truncations, abandoned bytes, lag and the age of the oldest unread
//! byte. The reader thread writes them; anyone may read a [`StatsSnapshot`].
//!
//! Lines and bytes read, and every flagged line, are also counted in the component's
//! [`gleaner_api::ComponentMetrics`] (`received`, and `errors` under `line_truncated`,
//! `parse_error`, `invalid_utf8`, `partial_line`, `rotate_wait_max`, `offsets_commit`).

use std::sync::atomic::{AtomicU64, Ordering};

/// Live figures of one tail input.
#[derive(Debug, Default)]
pub(crate) struct TailStats {
    /// Files tracked.
    pub(crate) files_watched: AtomicU64,
    /// Descriptors open.
    pub(crate) files_open: AtomicU64,
    /// Lines read (physical).
    pub(crate) lines_read: AtomicU64,
    /// Bytes read.
    pub(crate) bytes_read: AtomicU64,
    /// Rename/create rotations and deletions seen.
    pub(crate) rotations: AtomicU64,
    /// copytruncate truncations seen.
    pub(crate) truncations: AtomicU64,
    /// Lines cut at `max_line_bytes`.
    pub(crate) lines_truncated: AtomicU64,
    /// Bytes of rotated files given up at `rotate_wait_max` (or lost while closed).
    pub(crate) abandoned_bytes: AtomicU64,
    /// Sum over files of size minus acknowledged offset.
    pub(crate) lag_bytes: AtomicU64,
    /// Milliseconds since the oldest file fell behind its end (0 when all are read).
    pub(crate) oldest_unread_age_ms: AtomicU64,
    /// Files skipped because they are compressed.
    pub(crate) compressed_skipped: AtomicU64,
}

/// A copy of [`TailStats`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub(crate) struct StatsSnapshot {
    /// See [`TailStats::files_watched`].
    pub(crate) files_watched: u64,
    /// See [`TailStats::files_open`].
    pub(crate) files_open: u64,
    /// See [`TailStats::lines_read`].
    pub(crate) lines_read: u64,
    /// See [`TailStats::bytes_read`].
    pub(crate) bytes_read: u64,
    /// See [`TailStats::rotations`].
    pub(crate) rotations: u64,
    /// See [`TailStats::truncations`].
    pub(crate) truncations: u64,
    /// See [`TailStats::lines_truncated`].
    pub(crate) lines_truncated: u64,
    /// See [`TailStats::abandoned_bytes`].
    pub(crate) abandoned_bytes: u64,
    /// See [`TailStats::lag_bytes`].
    pub(crate) lag_bytes: u64,
    /// See [`TailStats::oldest_unread_age_ms`].
    pub(crate) oldest_unread_age_ms: u64,
    /// See [`TailStats::compressed_skipped`].
    pub(crate) compressed_skipped: u64,
}

impl TailStats {
    /// Adds to a counter.
    pub(crate) fn add(c: &AtomicU64, n: u64) {
        c.fetch_add(n, Ordering::Relaxed);
    }

    /// Sets a gauge.
    pub(crate) fn set(c: &AtomicU64, v: u64) {
        c.store(v, Ordering::Relaxed);
    }

    /// A copy of every figure.
    pub(crate) fn snapshot(&self) -> StatsSnapshot {
        let g = |c: &AtomicU64| c.load(Ordering::Relaxed);
        StatsSnapshot {
            files_watched: g(&self.files_watched),
            files_open: g(&self.files_open),
            lines_read: g(&self.lines_read),
            bytes_read: g(&self.bytes_read),
            rotations: g(&self.rotations),
            truncations: g(&self.truncations),
            lines_truncated: g(&self.lines_truncated),
            abandoned_bytes: g(&self.abandoned_bytes),
            lag_bytes: g(&self.lag_bytes),
            oldest_unread_age_ms: g(&self.oldest_unread_age_ms),
            compressed_skipped: g(&self.compressed_skipped),
        }
    }
}

impl gleaner_api::PluginStats for TailStats {
    fn stats(&self) -> Vec<gleaner_api::PluginStat> {
        use gleaner_api::{
            PluginStat,
            StatKind::{Counter, Gauge},
        };
        let s = self.snapshot();
        let stat = |name, kind, help, value: u64| PluginStat {
            name,
            kind,
            help,
            value: value as f64,
        };
        vec![
            stat(
                "files_watched",
                Gauge,
                "Files the tail input follows.",
                s.files_watched,
            ),
            stat(
                "files_open",
                Gauge,
                "File descriptors the tail input holds open.",
                s.files_open,
            ),
            stat(
                "lines_read_total",
                Counter,
                "Physical lines read.",
                s.lines_read,
            ),
            stat(
                "bytes_read_total",
                Counter,
                "Bytes read from log files.",
                s.bytes_read,
            ),
            stat(
                "rotations_total",
                Counter,
                "Rename/create rotations and deletions seen.",
                s.rotations,
            ),
            stat(
                "truncations_total",
                Counter,
                "copytruncate truncations seen (the file is read again from 0).",
                s.truncations,
            ),
            stat(
                "lines_truncated_total",
                Counter,
                "Lines cut at max_line_bytes.",
                s.lines_truncated,
            ),
            stat(
                "abandoned_bytes_total",
                Counter,
                "Bytes of rotated files given up at rotate_wait_max.",
                s.abandoned_bytes,
            ),
            stat(
                "lag_bytes",
                Gauge,
                "Bytes written to the followed files but not yet acknowledged, summed.",
                s.lag_bytes,
            ),
            PluginStat {
                name: "oldest_unread_age_seconds",
                kind: Gauge,
                help: "Age of the oldest byte not yet read (0 when every file is read to its end).",
                value: s.oldest_unread_age_ms as f64 / 1000.0,
            },
            stat(
                "compressed_skipped_total",
                Counter,
                "Compressed rotated files skipped.",
                s.compressed_skipped,
            ),
        ]
    }
}
