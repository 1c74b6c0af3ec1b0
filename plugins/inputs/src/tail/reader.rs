//! The reader thread: one per tail input, however many files. It finds files (scan and
//! inotify events), follows them through rotation, truncation and deletion, reads them in
//! turn one chunk at a time, and hands batches with the offsets they reach to the async pump
//! (`pump.rs`) through a channel of one slot: when the pipeline is full, the hand-off waits,
//! so reading pauses and nothing is read ahead (backpressure, bounded memory).
//!
//! This file holds the thread's loop: wake-ups, rescans, one read per ready file in turn,
//! timers and hand-offs. Around it: `reader/intake.rs` (inotify events and rescans, reconciled
//! with what is followed), `reader/follow.rs` (a file's life: opened, rotated, truncated,
//! closed, and the timers of rotated files), `reader/recovery.rs` (startup recovery and where
//! a file starts), the followed files in `table.rs` ([`FileTable`]) and the batch in
//! `batch.rs` ([`BatchBuilder`]).
//!
//! File life:
//! - found at start: resumed at its remembered offset (same (dev, inode) and fingerprint),
//!   else at its end on the very first start unless `read_from_head`, else at 0; found later:
//!   at its remembered offset, else at 0; a rotated sibling (`<name>.1`, `<name>-<date>`)
//!   whose first bytes are the acknowledged prefix of a truncated `<name>` (copytruncate)
//!   starts where that prefix ends;
//! - the offset database lost while the agent was stopped (`read_from_head = false`): files
//!   modified since the last-stop record (`last_stop.rs`) are read from 0, the others from
//!   their end, and the loss is logged;
//! - a file that cannot be opened is named once at warn and counted (`unreadable`), then
//!   tried again at each rescan; a path that resolves (symlinks) outside the globs' roots, the
//!   kubelet's log trees and `follow_symlinks_into` is never read, named once and counted
//!   (`symlink_refused`): the check is on the opened descriptor, so a link swapped meanwhile
//!   cannot slip through;
//! - renamed away or replaced at its path (rename-and-create rotation): kept open under its
//!   new name and read to its end; closed once at its end and quiet for [`ROTATED_QUIET`];
//!   deleted: the same (the open descriptor keeps the data readable);
//! - shorter than the read position (copytruncate): read again from 0, counted;
//! - at most `max_open_files` descriptors: the least recently active live file is closed and
//!   reopened at its offset, after checking it is still the same file;
//! - a rotated file still unread after `rotate_wait_max` is given up, its bytes counted and
//!   logged (the only case where read data is abandoned).

use std::collections::{HashMap, HashSet, VecDeque};
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, mpsc};
use std::time::{Duration, Instant};

use gleaner_api::ComponentMetrics;

use super::acks::Watermark;
use super::batch::{BatchBuilder, Outgoing};
use super::config::Settings;
use super::discover::{Discovery, Wake};
use super::file::{FINGERPRINT_BYTES, FileKey, Fingerprint};
use super::last_stop;
use super::offsets::{DbCmd, Row, unix_now};
use super::stats::TailStats;
use super::table::FileTable;
use super::tracked::ReadResult;

mod follow;
mod intake;
mod recovery;

/// A rotated or deleted file read to its end is closed after this long without growing.
pub(crate) const ROTATED_QUIET: Duration = Duration::from_secs(5);
/// How often files still present are marked seen in the database.
const TOUCH_EVERY: Duration = Duration::from_secs(600);
/// Housekeeping period (flush timers, rotated files, figures).
const HOUSEKEEPING: Duration = Duration::from_millis(200);

/// What the reader thread is given.
pub(crate) struct ReaderParts {
    /// Settings.
    pub(crate) settings: Arc<Settings>,
    /// Component counters.
    pub(crate) metrics: Arc<ComponentMetrics>,
    /// Tail figures.
    pub(crate) stats: Arc<TailStats>,
    /// Offsets remembered in the database.
    pub(crate) known: HashMap<FileKey, Row>,
    /// The input never ran with this database: `read_from_head = false` applies.
    pub(crate) first_start: bool,
    /// The offset database was lost (the input ran before, `read_from_head = false`): the
    /// last-stop record, unix seconds. Files present at start and modified since are read
    /// from 0, the others from their end.
    pub(crate) missing_since: Option<i64>,
    /// Acknowledged prefixes of truncated files (copytruncate), from the database.
    pub(crate) prefixes: Vec<Row>,
    /// Wake-ups (events, stop).
    pub(crate) wake_rx: mpsc::Receiver<Wake>,
    /// For the watcher.
    pub(crate) wake_tx: mpsc::Sender<Wake>,
    /// Batches to the pump.
    pub(crate) out: tokio::sync::mpsc::Sender<Outgoing>,
    /// Acknowledged offsets, for the lag figure.
    pub(crate) watermark: Arc<Mutex<Watermark>>,
    /// The database thread, for "still present" marks.
    pub(crate) db: mpsc::Sender<DbCmd>,
    /// Set when the input stops.
    pub(crate) stop: Arc<AtomicBool>,
    /// Read what is there once, then return (`--once`).
    pub(crate) once: bool,
    /// Watch directories with inotify.
    pub(crate) watch: bool,
}

/// The reader's state.
pub(crate) struct Reader {
    settings: Arc<Settings>,
    metrics: Arc<ComponentMetrics>,
    stats: Arc<TailStats>,
    /// Offsets remembered in the database, by (device, inode); taken when a file is followed
    /// again, given back when one stops being followed while still at its path.
    known: HashMap<FileKey, Row>,
    /// The input never ran with this database: `read_from_head = false` applies.
    first_start: bool,
    /// The offset database was lost: the last-stop record, unix seconds.
    missing_since: Option<i64>,
    /// With the database lost: files read from 0 and from their end at start.
    missing_counts: (u64, u64),
    /// Acknowledged prefixes of truncated files, by directory.
    prefixes: HashMap<PathBuf, Vec<Row>>,
    wake_rx: mpsc::Receiver<Wake>,
    watermark: Arc<Mutex<Watermark>>,
    db: mpsc::Sender<DbCmd>,
    stop: Arc<AtomicBool>,
    once: bool,
    discovery: Discovery,
    files: FileTable,
    /// Files with bytes to read, in turn (slot numbers in `files`).
    ready: VecDeque<usize>,
    batch: BatchBuilder,
    /// Compressed files matched by a glob (left alone until they go).
    ignored: HashSet<PathBuf>,
    /// Paths that could not be opened (named once at warn; tried again at each rescan).
    unreadable: HashSet<PathBuf>,
    /// Paths whose symlinks lead where the input may not read (named once at warn).
    refused: HashSet<PathBuf>,
    /// The symlink roots, canonical (refreshed at each scan).
    canon_roots: Vec<PathBuf>,
    /// Paths whose data changed (`IN_MODIFY`), and whose entry changed (created, deleted,
    /// renamed), since the last pass.
    data_dirty: HashSet<PathBuf>,
    id_dirty: HashSet<PathBuf>,
    /// New names of files renamed away from a name we read (maybe before we saw them).
    renamed_out: Vec<PathBuf>,
    /// The first half of a rename (`IN_MOVED_FROM`): its cookie and the old name.
    moved_from: Option<(u32, PathBuf)>,
    scan_requested: bool,
    stopped: bool,
}

impl Reader {
    /// A reader; nothing is read until [`Reader::run`].
    pub(crate) fn new(parts: ReaderParts) -> Self {
        let settings = parts.settings;
        let discovery = Discovery::new(
            settings.paths.clone(),
            settings.exclude.clone(),
            parts.wake_tx,
            parts.watch && !parts.once,
        );
        let batch = BatchBuilder::new(
            Arc::clone(&settings),
            Arc::clone(&parts.metrics),
            Arc::clone(&parts.stats),
            parts.out,
        );
        let mut reader = Reader {
            files: FileTable::new(settings.max_open_files),
            settings,
            metrics: parts.metrics,
            stats: parts.stats,
            known: parts.known,
            first_start: parts.first_start,
            missing_since: parts.missing_since,
            missing_counts: (0, 0),
            prefixes: HashMap::new(),
            wake_rx: parts.wake_rx,
            watermark: parts.watermark,
            db: parts.db,
            stop: parts.stop,
            once: parts.once,
            discovery,
            ready: VecDeque::new(),
            batch,
            ignored: HashSet::new(),
            unreadable: HashSet::new(),
            refused: HashSet::new(),
            canon_roots: Vec::new(),
            data_dirty: HashSet::new(),
            id_dirty: HashSet::new(),
            renamed_out: Vec::new(),
            moved_from: None,
            scan_requested: false,
            stopped: false,
        };
        for row in parts.prefixes {
            reader.add_prefix(row);
        }
        reader
    }

    fn stopping(&self) -> bool {
        self.stopped || self.stop.load(Ordering::Acquire)
    }

    /// Runs until stopped (or, once, until everything present is read).
    pub(crate) fn run(mut self) {
        self.scan(true);
        self.recover();
        let keys = self.files.keys();
        drop(self.db.send(DbCmd::Touch(keys)));
        self.send();
        let refresh = self.settings.refresh_interval;
        let mut next_scan = Instant::now() + refresh;
        let mut next_touch = Instant::now() + TOUCH_EVERY;
        let mut next_house = Instant::now() + HOUSEKEEPING;
        // When the current stretch of reading began (the start, or the last wake-up): once
        // every file is read to its end, what was written before it is read and handed on
        // (the last-stop record). Taken on wake-ups only, not on each pass of a busy loop.
        let mut stretch_start = unix_now();
        let mut caught_up: Option<i64> = None;
        let mut next_caught_up = Instant::now();
        while !self.stopping() {
            while let Ok(w) = self.wake_rx.try_recv() {
                self.on_wake(w);
            }
            if self.stopping() {
                break;
            }
            let now = Instant::now();
            if self.scan_requested || now >= next_scan {
                self.scan_requested = false;
                self.scan(false);
                next_scan = Instant::now() + refresh;
            }
            self.process_dirty();
            self.read_turn();
            let now = Instant::now();
            if now >= next_house || self.ready.is_empty() {
                self.housekeeping(now);
                next_house = now + HOUSEKEEPING;
            }
            if now >= next_touch {
                let keys = self.files.keys();
                drop(self.db.send(DbCmd::Touch(keys)));
                next_touch = now + TOUCH_EVERY;
            }
            if self.batch.pending() {
                self.send();
            }
            if self.ready.is_empty() {
                caught_up = Some(stretch_start);
                if now >= next_caught_up {
                    drop(self.db.send(DbCmd::CaughtUp(stretch_start)));
                    next_caught_up = now + last_stop::WRITE_EVERY;
                }
                if self.once {
                    break;
                }
                let wait = next_scan
                    .min(next_house)
                    .saturating_duration_since(Instant::now())
                    .max(Duration::from_millis(1));
                let woke = self.wake_rx.recv_timeout(wait);
                stretch_start = unix_now();
                match woke {
                    Ok(w) => self.on_wake(w),
                    Err(mpsc::RecvTimeoutError::Timeout) => {}
                    Err(mpsc::RecvTimeoutError::Disconnected) => break,
                }
            }
        }
        if let Some(t) = caught_up {
            drop(self.db.send(DbCmd::CaughtUp(t)));
        }
        tracing::debug!(files = self.files.watched(), stats = ?self.stats.snapshot(), "tail reader stopped");
    }

    fn queue(&mut self, i: usize) {
        if let Some(t) = self.files.get_mut(i)
            && !t.queued
        {
            t.queued = true;
            t.eof = false;
            self.ready.push_back(i);
        }
    }

    fn touch(&mut self, i: usize) {
        self.batch.touch(&mut self.files, i);
    }

    /// Opens a closed live file again, checking it is still the same file; one that left its
    /// path is looked for as a rotated file.
    fn ensure_open(&mut self, i: usize) -> bool {
        if self.files.ensure_open(i) {
            return true;
        }
        let Some(t) = self.files.get(i) else {
            return false;
        };
        let path = Arc::clone(&t.path);
        self.files.unlink_path(&path);
        self.lost(i);
        self.scan_requested = true;
        self.files.get(i).is_some_and(|t| t.file.is_some())
    }

    /// One chunk from each ready file, in turn; sends whenever the batch is full.
    fn read_turn(&mut self) {
        let mut budget = self.ready.len();
        while budget > 0 && !self.stopping() {
            budget -= 1;
            let Some(i) = self.ready.pop_front() else {
                break;
            };
            if let Some(t) = self.files.get_mut(i) {
                t.queued = false;
            } else {
                continue;
            }
            if !self.ensure_open(i) {
                continue;
            }
            let result = self.read_one(i);
            match result {
                ReadResult::More => self.queue(i),
                ReadResult::Eof => {}
                ReadResult::Truncated => self.truncated(i),
                ReadResult::Error(e) => {
                    self.metrics.error("read");
                    if let Some(t) = self.files.get(i) {
                        tracing::warn!(path = %t.path.display(), error = %e, "read failed; retrying");
                    }
                }
            }
            self.touch(i);
            if self.batch.full() {
                self.send();
            }
        }
    }

    /// One chunk of file `i` into the batch.
    fn read_one(&mut self, i: usize) -> ReadResult {
        let Some(t) = self.files.get_mut(i) else {
            return ReadResult::Eof;
        };
        let r = self.batch.read(t);
        // The fingerprint grows with a file shorter than it covers.
        if !t.fp.complete()
            && t.size > u64::from(t.fp.len)
            && let Some(f) = &t.file
            && let Ok(fp) = Fingerprint::read(f, FINGERPRINT_BYTES)
        {
            t.fp = fp;
            t.registered = u64::MAX;
        }
        r
    }

    /// Hands the batch and the offsets it reaches to the pump (waits while the pipeline is
    /// full).
    fn send(&mut self) {
        if !self.batch.send(&mut self.files) {
            self.stopped = true;
        }
    }
}
