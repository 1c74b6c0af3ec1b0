//! The reader thread of one journalctl child: reads its stdout (blocking, off the runtime),
//! parses the export stream, turns entries into records and hands batches, each with the
//! cursor of its last entry (excluded entries included, so the cursor moves past them),
//! to the supervisor through a one-slot channel: a full pipeline stops the reading, and
//! journalctl then blocks on its pipe.
//!
//! A batch is sent when it holds `batch_size` records or when a read found the pipe drained
//! (a read returned less than the buffer) and nothing more came within a short wait. The
//! wait matters: journalctl writes its output 4 KiB at a time, and a reader woken by each
//! write made a batch of about a dozen entries, each one a trip through the pipeline and its
//! wakeups (the median read in the `journald` bench was 4,096 bytes). A drained pipe is now
//! given [`LINGER`] to fill, at most [`MAX_LINGERS`] times per batch, so a batch waits at
//! most about 10 ms for company, and not at all when journalctl has nothing more to say. The first
//! entry of a child started at a saved cursor is that cursor's own entry and is dropped; when
//! it is another one, the journal no longer holds the saved entry (vacuumed): the gap is
//! logged and counted, and reading goes on from there.

use std::io::Read as _;
use std::process::ChildStdout;
use std::sync::Arc;
use std::time::Duration;

use gleaner_api::{ComponentMetrics, LogRecord, now_ns};
use rustix::event::{PollFd, PollFlags, Timespec};
use tokio::sync::mpsc;

use super::export::{Next, Parser};
use super::record::{Builder, Built, Flags};
use super::stats::Stats;

/// Read size. A read returns what the pipe holds up to this, so a short one means the pipe
/// was drained (journalctl is not ahead); a full one that it is, and the batch then grows
/// to `batch_size`.
const READ: usize = 256 * 1024;

/// How long a drained pipe is given to fill before a short batch is sent.
pub(crate) const LINGER: Duration = Duration::from_millis(2);

/// Waits per batch at most.
pub(crate) const MAX_LINGERS: u32 = 5;

/// A batch and the cursor of its last entry.
#[derive(Debug)]
pub(crate) struct Out {
    /// The records (may be empty when every entry was excluded).
    pub(crate) records: Vec<LogRecord>,
    /// Cursor of the last entry read into it.
    pub(crate) cursor: Option<String>,
}

/// How the reading ended.
#[derive(Debug, Default)]
pub(crate) struct End {
    /// Cursor of the last entry handed over (where a restarted child resumes).
    pub(crate) last_cursor: Option<String>,
    /// Entries read.
    pub(crate) entries: u64,
}

/// What the thread needs.
pub(crate) struct Reader {
    /// The child's stdout.
    pub(crate) stdout: ChildStdout,
    /// Entry size bound.
    pub(crate) max_entry_bytes: usize,
    /// Converts entries.
    pub(crate) builder: Builder,
    /// The cursor the child was started at (its entry is dropped).
    pub(crate) skip: Option<String>,
    /// Records per batch at most.
    pub(crate) batch_size: usize,
    /// To the supervisor.
    pub(crate) tx: mpsc::Sender<Out>,
    /// Figures.
    pub(crate) stats: Arc<Stats>,
    /// The input's counters.
    pub(crate) metrics: Arc<ComponentMetrics>,
    /// The input's id, for logs.
    pub(crate) input: String,
}

impl Reader {
    /// Reads until the child's stdout ends or the supervisor is gone.
    pub(crate) fn run(mut self) -> End {
        let mut parser = Parser::new(self.max_entry_bytes);
        let mut buf = vec![0u8; READ];
        let mut records: Vec<LogRecord> = Vec::with_capacity(self.batch_size);
        // The raw bytes of the last cursor (journalctl's are ASCII); made a `String` per batch.
        let mut cursor: Vec<u8> = Vec::with_capacity(256);
        let mut end = End {
            last_cursor: self.skip.clone(),
            entries: 0,
        };
        let mut pending = false;
        let mut lingered = 0;
        loop {
            let n = match self.stdout.read(&mut buf) {
                Ok(0) => break,
                Ok(n) => n,
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
                Err(e) => {
                    tracing::warn!(input = %self.input, error = %e, "cannot read journalctl's output");
                    break;
                }
            };
            Stats::add(&self.stats.bytes, n as u64);
            parser.feed(&buf[..n]);
            let now = now_ns();
            loop {
                match parser.next() {
                    Next::Entry(e) => {
                        let c = e.get(b"__CURSOR");
                        if let Some(skip) = self.skip.take() {
                            if c == Some(skip.as_bytes()) {
                                continue;
                            }
                            Stats::add(&self.stats.cursor_gaps, 1);
                            self.metrics.error("cursor_gap");
                            tracing::warn!(input = %self.input, saved = %skip, "the journal no longer holds the entry of the saved cursor (vacuumed, or the filters changed): reading resumes at the oldest entry after it; entries in between are lost");
                        }
                        end.entries += 1;
                        Stats::add(&self.stats.entries, 1);
                        match self.builder.build(&e, now) {
                            Built::Record(r) => records.push(r),
                            Built::Excluded => Stats::add(&self.stats.excluded, 1),
                        }
                        if let Some(c) = c {
                            cursor.clear();
                            cursor.extend_from_slice(c);
                            pending = true;
                        }
                        if records.len() >= self.batch_size {
                            lingered = 0;
                            if !self.flush(&mut records, &cursor, &mut pending, &mut end) {
                                return end;
                            }
                        }
                    }
                    Next::Malformed(err) => {
                        Stats::add(&self.stats.malformed, 1);
                        self.metrics.dropped("malformed_entry", 1);
                        tracing::warn!(input = %self.input, error = %err, "journal export stream broke the format: an entry was skipped");
                    }
                    Next::NeedMore => break,
                }
            }
            if n < buf.len() {
                // Drained: give journalctl a moment to write more (see the module doc).
                if !records.is_empty() && records.len() < self.batch_size && lingered < MAX_LINGERS
                {
                    std::thread::sleep(LINGER);
                    if readable(&self.stdout) {
                        lingered += 1;
                        continue;
                    }
                }
                lingered = 0;
                if !self.flush(&mut records, &cursor, &mut pending, &mut end) {
                    return end;
                }
            }
        }
        if parser.finish() {
            Stats::add(&self.stats.cut_streams, 1);
            self.metrics.error("export_cut");
            tracing::warn!(input = %self.input, "journalctl's output ended inside an entry: it is read again when journalctl restarts");
        }
        self.flush(&mut records, &cursor, &mut pending, &mut end);
        end
    }

    /// Sends what was read since the last batch; false when the supervisor is gone.
    fn flush(
        &mut self,
        records: &mut Vec<LogRecord>,
        cursor: &[u8],
        pending: &mut bool,
        end: &mut End,
    ) -> bool {
        let Flags {
            binary_values,
            truncated,
        } = std::mem::take(&mut self.builder.flags);
        Stats::add(&self.stats.binary_values, binary_values);
        Stats::add(&self.stats.truncated, truncated);
        if !*pending && records.is_empty() {
            return true;
        }
        let n = records.len() as u64;
        let cursor = pending.then(|| String::from_utf8_lossy(cursor).into_owned());
        let out = Out {
            records: std::mem::replace(records, Vec::with_capacity(self.batch_size)),
            cursor: cursor.clone(),
        };
        if self.tx.blocking_send(out).is_err() {
            return false;
        }
        self.metrics.received(n, 0);
        if cursor.is_some() {
            end.last_cursor = cursor;
        }
        *pending = false;
        true
    }
}

/// True when a read of `out` would not block now (data, or the end of the stream).
fn readable(out: &ChildStdout) -> bool {
    let mut fds = [PollFd::new(out, PollFlags::IN)];
    rustix::event::poll(&mut fds, Some(&Timespec::default())).is_ok_and(|n| n > 0)
}
