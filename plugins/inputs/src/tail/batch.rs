//! The batch being built by the reader: the records decoded since the last hand-off, the
//! offsets they bring files to, the counters of flagged lines and the read buffers shared by
//! every file; [`Emit`], where decoded records go (made in one place, [`Emit::new`]); and
//! the hand-off to the pump, which waits while the pipeline is full.
//!
//! A batch holds at most [`MAX_BATCH_RECORDS`] records, or about [`MAX_BATCH_BYTES`] of
//! bodies (checked after each chunk read), plus the offsets of every file read, rotated,
//! truncated or closed since the last one: an offset goes out with the records that reach it.

use std::sync::Arc;
use std::time::Instant;

use gleaner_api::{ComponentMetrics, LogRecord, now_ns};

use super::config::{Encoding, Settings};
use super::decode::{Counts, DecodeOpts, Decoder, FileAttrs, Sink};
use super::offsets::Commit;
use super::stats::TailStats;
use super::table::FileTable;
use super::tracked::{ReadResult, Tracked};

/// Records per batch at most.
pub(crate) const MAX_BATCH_RECORDS: usize = 1024;
/// Body bytes per batch at most (checked per chunk read).
const MAX_BATCH_BYTES: usize = 1024 * 1024;

/// A batch and the offsets it brings each file to.
#[derive(Debug)]
pub(crate) struct Outgoing {
    /// The records (may be empty: offsets only).
    pub(crate) records: Vec<LogRecord>,
    /// Offsets reached.
    pub(crate) offsets: Vec<Commit>,
}

/// Where decoded records go, and the settings for decoding.
pub(crate) struct Emit<'a> {
    /// Decoder settings.
    pub(crate) opts: DecodeOpts<'a>,
    /// Invalid UTF-8 handling.
    pub(crate) encoding: Encoding,
    /// Now.
    pub(crate) now: Instant,
    /// Now, as a timestamp for raw lines.
    pub(crate) now_ns: i64,
    /// The batch.
    pub(crate) out: &'a mut Vec<LogRecord>,
    /// Flag counters.
    pub(crate) counts: &'a mut Counts,
    /// Physical lines read.
    pub(crate) lines: u64,
    /// Bytes read.
    pub(crate) bytes: u64,
    /// Stop at a line boundary once `out` holds this many records (the batch is full).
    pub(crate) max_records: usize,
}

impl<'a> Emit<'a> {
    /// Records decoded now with `settings` go to `out` (at most `max_records` there).
    pub(crate) fn new(
        settings: &'a Settings,
        out: &'a mut Vec<LogRecord>,
        counts: &'a mut Counts,
        now: Instant,
        max_records: usize,
    ) -> Self {
        Emit {
            opts: DecodeOpts {
                max_line_bytes: settings.max_line_bytes,
                multiline: settings.multiline.as_ref(),
            },
            encoding: settings.encoding,
            now,
            now_ns: now_ns(),
            out,
            counts,
            lines: 0,
            bytes: 0,
            max_records,
        }
    }

    /// One physical line of the file with `attrs`, starting at `start` (cut at
    /// `max_line_bytes` when `cut`), through its decoder.
    pub(crate) fn line(
        &mut self,
        decoder: &mut Decoder,
        attrs: &FileAttrs,
        line: &[u8],
        start: u64,
        cut: bool,
    ) {
        self.lines += 1;
        let (now_ns, now, opts) = (self.now_ns, self.now, self.opts);
        decoder.line(line, start, cut, now_ns, now, opts, &mut self.sink(attrs));
    }

    /// Everything the decoder holds.
    pub(crate) fn flush_all(&mut self, decoder: &mut Decoder, attrs: &FileAttrs) {
        let (now, opts) = (self.now, self.opts);
        decoder.flush_all(now, opts, &mut self.sink(attrs));
    }

    /// What the decoder held long enough.
    pub(crate) fn flush_expired(&mut self, decoder: &mut Decoder, attrs: &FileAttrs) {
        let (now, opts) = (self.now, self.opts);
        decoder.flush_expired(now, opts, &mut self.sink(attrs));
    }

    fn sink<'s>(&'s mut self, attrs: &'s FileAttrs) -> Sink<'s> {
        Sink {
            out: self.out,
            attrs,
            encoding: self.encoding,
            counts: self.counts,
        }
    }
}

/// The batch being built, and the hand-off.
pub(crate) struct BatchBuilder {
    settings: Arc<Settings>,
    metrics: Arc<ComponentMetrics>,
    stats: Arc<TailStats>,
    out: tokio::sync::mpsc::Sender<Outgoing>,
    records: Vec<LogRecord>,
    /// Body bytes in `records`, about (each record counts 64 more).
    bytes: usize,
    /// Flag counters, and what of them is already in the component's figures.
    counts: Counts,
    reported: Counts,
    /// A chunk of a file.
    buf: Vec<u8>,
    /// A line longer than a chunk.
    long: Vec<u8>,
    /// Files whose offset moved since the last hand-off (slot numbers in the file table).
    touched: Vec<usize>,
    /// Offsets of files closed or truncated since the last hand-off.
    closing: Vec<Commit>,
}

impl BatchBuilder {
    /// An empty batch handed to `out` when sent.
    pub(crate) fn new(
        settings: Arc<Settings>,
        metrics: Arc<ComponentMetrics>,
        stats: Arc<TailStats>,
        out: tokio::sync::mpsc::Sender<Outgoing>,
    ) -> Self {
        BatchBuilder {
            settings,
            metrics,
            stats,
            out,
            records: Vec::new(),
            bytes: 0,
            counts: Counts::default(),
            reported: Counts::default(),
            buf: Vec::new(),
            long: Vec::new(),
            touched: Vec::new(),
            closing: Vec::new(),
        }
    }

    /// Where records decoded now go (a flush or a drain: at most `max_records` in the batch).
    pub(crate) fn emit(&mut self, now: Instant, max_records: usize) -> Emit<'_> {
        Emit::new(
            &self.settings,
            &mut self.records,
            &mut self.counts,
            now,
            max_records,
        )
    }

    /// Reads one chunk of `t` (or one long line) into the batch, counting what was read.
    pub(crate) fn read(&mut self, t: &mut Tracked) -> ReadResult {
        let before = self.records.len();
        let mut em = Emit::new(
            &self.settings,
            &mut self.records,
            &mut self.counts,
            Instant::now(),
            MAX_BATCH_RECORDS,
        );
        let result = t.read_some(&mut self.buf, &mut self.long, &mut em);
        let (lines, bytes) = (em.lines, em.bytes);
        self.bytes += self.records[before..]
            .iter()
            .map(|r| r.body.len() + 64)
            .sum::<usize>();
        TailStats::add(&self.stats.lines_read, lines);
        TailStats::add(&self.stats.bytes_read, bytes);
        self.metrics.received(0, bytes);
        result
    }

    /// Lists file `i`'s offset for the next hand-off, when it moved since the last one.
    pub(crate) fn touch(&mut self, files: &mut FileTable, i: usize) {
        if let Some(t) = files.get_mut(i)
            && !t.touched
            && t.safe_offset() != t.registered
        {
            t.touched = true;
            self.touched.push(i);
        }
    }

    /// An offset of a file closed or truncated, for the next hand-off.
    pub(crate) fn commit(&mut self, c: Commit) {
        self.closing.push(c);
    }

    /// True when records or offsets wait for a hand-off.
    pub(crate) fn pending(&self) -> bool {
        !self.records.is_empty() || !self.touched.is_empty() || !self.closing.is_empty()
    }

    /// True when the batch should go now.
    pub(crate) fn full(&self) -> bool {
        self.records.len() >= MAX_BATCH_RECORDS || self.bytes >= MAX_BATCH_BYTES
    }

    /// Hands the batch and the offsets it reaches to the pump (waits while the pipeline is
    /// full). False when the pump is gone: the input is stopping.
    pub(crate) fn send(&mut self, files: &mut FileTable) -> bool {
        let mut offsets = std::mem::take(&mut self.closing);
        for i in std::mem::take(&mut self.touched) {
            if let Some(t) = files.get_mut(i) {
                t.touched = false;
                let off = t.safe_offset();
                t.registered = off;
                offsets.push(Commit {
                    key: t.key,
                    fp: t.fp,
                    path: Arc::clone(&t.path),
                    offset: off,
                    ended: false,
                });
            }
        }
        let records = std::mem::take(&mut self.records);
        self.bytes = 0;
        self.report();
        if records.is_empty() && offsets.is_empty() {
            return true;
        }
        self.records = Vec::with_capacity(records.len().min(MAX_BATCH_RECORDS));
        self.out
            .blocking_send(Outgoing { records, offsets })
            .is_ok()
    }

    /// Adds what was decoded and flagged since the last report to the component's figures.
    fn report(&mut self) {
        let c = self.counts;
        let r = self.reported;
        let m = &self.metrics;
        m.received(c.records - r.records, 0);
        for (reason, n) in [
            ("line_truncated", c.truncated - r.truncated),
            ("parse_error", c.parse_errors - r.parse_errors),
            ("invalid_utf8", c.invalid_utf8 - r.invalid_utf8),
            ("partial_line", c.partial - r.partial),
        ] {
            m.errors(reason, n);
        }
        TailStats::add(&self.stats.lines_truncated, c.truncated - r.truncated);
        self.reported = c;
    }
}

#[cfg(test)]
mod tests;
