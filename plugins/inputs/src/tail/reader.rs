//! The reader thread: one per tail input, however many files. It finds files (scan and
//! inotify events), follows them through rotation, truncation and deletion, reads them in
//! turn one chunk at a time, and hands batches with the offsets they reach to the async pump
//! (`pump.rs`) through a channel of one slot: when the pipeline is full, the hand-off waits,
//! so reading pauses and nothing is read ahead (backpressure, bounded memory).
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
use std::fs::File;
use std::os::unix::ffi::OsStrExt as _;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, PoisonError, mpsc};
use std::time::{Duration, Instant};

use gleaner_api::ComponentMetrics;

use super::acks::Watermark;
use super::batch::{BatchBuilder, MAX_BATCH_RECORDS, Outgoing};
use super::config::Settings;
use super::discover::{Discovery, Found, FsEvent, Wake, compressed_or_temp};
use super::file::{FINGERPRINT_BYTES, FileKey, Fingerprint};
use super::last_stop;
use super::offsets::{Commit, DbCmd, Row, unix_now};
use super::stats::TailStats;
use super::table::FileTable;
use super::tracked::{Life, OpenedFile, ReadResult, Tracked};

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
    p: ReaderParts,
    discovery: Discovery,
    files: FileTable,
    ready: VecDeque<usize>,
    ignored: HashSet<PathBuf>,
    /// Paths that could not be opened (named once at warn; tried again at each rescan).
    unreadable: HashSet<PathBuf>,
    /// Paths whose symlinks lead where the input may not read (named once at warn).
    refused: HashSet<PathBuf>,
    /// The symlink roots, canonical (refreshed at each scan).
    canon_roots: Vec<PathBuf>,
    /// Acknowledged prefixes of truncated files, by directory.
    prefixes: HashMap<PathBuf, Vec<Row>>,
    /// With the database lost: files read from 0 and from their end at start.
    missing_counts: (u64, u64),
    batch: BatchBuilder,
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
    pub(crate) fn new(p: ReaderParts) -> Self {
        let discovery = Discovery::new(
            p.settings.paths.clone(),
            p.settings.exclude.clone(),
            p.wake_tx.clone(),
            p.watch && !p.once,
        );
        let max_open_files = p.settings.max_open_files;
        let batch = BatchBuilder::new(
            Arc::clone(&p.settings),
            Arc::clone(&p.metrics),
            Arc::clone(&p.stats),
            p.out.clone(),
        );
        Reader {
            p,
            discovery,
            files: FileTable::new(max_open_files),
            ready: VecDeque::new(),
            ignored: HashSet::new(),
            unreadable: HashSet::new(),
            refused: HashSet::new(),
            canon_roots: Vec::new(),
            prefixes: HashMap::new(),
            missing_counts: (0, 0),
            batch,
            data_dirty: HashSet::new(),
            id_dirty: HashSet::new(),
            renamed_out: Vec::new(),
            moved_from: None,
            scan_requested: false,
            stopped: false,
        }
    }

    fn stopping(&self) -> bool {
        self.stopped || self.p.stop.load(Ordering::Acquire)
    }

    /// Runs until stopped (or, once, until everything present is read).
    pub(crate) fn run(mut self) {
        for row in std::mem::take(&mut self.p.prefixes) {
            self.add_prefix(row);
        }
        self.scan(true);
        if let Some(t) = self.p.missing_since {
            let (from_start, from_end) = self.missing_counts;
            tracing::warn!(
                last_stop = t,
                from_start,
                from_end,
                "offset database missing: files modified since the last stop are read from their start, the others from their end"
            );
        }
        self.recover_rotated();
        self.adopt_unknown_rotated();
        let keys = self.files.keys();
        drop(self.p.db.send(DbCmd::Touch(keys)));
        self.send();
        let refresh = self.p.settings.refresh_interval;
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
            while let Ok(w) = self.p.wake_rx.try_recv() {
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
                drop(self.p.db.send(DbCmd::Touch(keys)));
                next_touch = now + TOUCH_EVERY;
            }
            if self.batch.pending() {
                self.send();
            }
            if self.ready.is_empty() {
                caught_up = Some(stretch_start);
                if now >= next_caught_up {
                    drop(self.p.db.send(DbCmd::CaughtUp(stretch_start)));
                    next_caught_up = now + last_stop::WRITE_EVERY;
                }
                if self.p.once {
                    break;
                }
                let wait = next_scan
                    .min(next_house)
                    .saturating_duration_since(Instant::now())
                    .max(Duration::from_millis(1));
                let woke = self.p.wake_rx.recv_timeout(wait);
                stretch_start = unix_now();
                match woke {
                    Ok(w) => self.on_wake(w),
                    Err(mpsc::RecvTimeoutError::Timeout) => {}
                    Err(mpsc::RecvTimeoutError::Disconnected) => break,
                }
            }
        }
        if let Some(t) = caught_up {
            drop(self.p.db.send(DbCmd::CaughtUp(t)));
        }
        tracing::debug!(files = self.files.watched(), stats = ?self.p.stats.snapshot(), "tail reader stopped");
    }

    fn on_wake(&mut self, w: Wake) {
        match w {
            Wake::Stop => self.stopped = true,
            Wake::Rescan => self.scan_requested = true,
            Wake::Fs(events) => {
                for ev in &events {
                    self.on_event(ev);
                }
            }
        }
    }

    /// One inotify event: what to look at again (the entry's identity, or only its data),
    /// or a rescan when directories changed or events were lost.
    fn on_event(&mut self, ev: &FsEvent) {
        use rustix::fs::inotify::ReadFlags as F;
        let f = ev.flags;
        if f.contains(F::QUEUE_OVERFLOW) {
            self.scan_requested = true;
            return;
        }
        if f.contains(F::IGNORED) {
            self.discovery.watch_gone(ev.wd());
            return;
        }
        if f.intersects(F::DELETE_SELF | F::MOVE_SELF | F::UNMOUNT) {
            // A watched directory itself went or moved.
            self.scan_requested = true;
            return;
        }
        let Some(path) = self.discovery.event_path(ev) else {
            return;
        };
        if f.contains(F::ISDIR) {
            // A directory appeared, went or moved below a watched one.
            if f.intersects(F::CREATE | F::DELETE | F::MOVED_FROM | F::MOVED_TO) {
                self.scan_requested = true;
            }
            return;
        }
        if f.contains(F::MOVED_FROM) {
            self.moved_from = Some((ev.cookie, path.clone()));
            self.id_dirty.insert(path);
        } else if f.contains(F::MOVED_TO) {
            if let Some((_, from)) = self.moved_from.take_if(|(c, _)| *c == ev.cookie)
                && self.discovery.wanted(&from)
                && !self.discovery.wanted(&path)
            {
                self.renamed_out.push(path.clone());
            }
            self.id_dirty.insert(path);
        } else if f.intersects(F::CREATE | F::DELETE) {
            self.id_dirty.insert(path);
        } else if f.intersects(F::MODIFY | F::ATTRIB) {
            self.data_dirty.insert(path);
        }
    }

    fn process_dirty(&mut self) {
        for p in std::mem::take(&mut self.id_dirty) {
            self.data_dirty.remove(&p);
            self.check_path(&p);
        }
        for p in std::mem::take(&mut self.data_dirty) {
            match self.files.at_path(&p) {
                Some(i) => self.queue(i),
                None => self.check_path(&p),
            }
        }
        // A file rotated away before we ever saw it (it lived less than one event round):
        // read it like any rotated file.
        for p in std::mem::take(&mut self.renamed_out) {
            if let Ok(meta) = std::fs::metadata(&p)
                && meta.is_file()
                && self.files.with_key(&FileKey::of(&meta)).is_none()
            {
                let key = FileKey::of(&meta);
                let rotated = Life::Rotated {
                    since: Instant::now(),
                };
                self.track(Found { path: p, meta }, key, false, rotated);
            }
        }
    }

    /// Re-checks what is at `path` now.
    fn check_path(&mut self, path: &Path) {
        match std::fs::metadata(path) {
            Err(_) => {
                if let Some(i) = self.files.unlink_path(path) {
                    self.lost(i);
                }
            }
            Ok(meta) if meta.is_file() => self.found(
                Found {
                    path: path.to_owned(),
                    meta,
                },
                false,
            ),
            Ok(_) => {}
        }
    }

    /// Walks the globs and reconciles what is there with what is followed.
    fn scan(&mut self, initial: bool) {
        let (found, failed) = self.discovery.scan();
        self.canon_roots = self
            .p
            .settings
            .symlink_roots
            .iter()
            .filter_map(|r| std::fs::canonicalize(r).ok())
            .collect();
        for _ in 0..failed {
            self.p.metrics.error("watch");
        }
        // What left: followed paths the walk did not find (decided before `found` moves
        // the paths, so none is copied).
        let gone: Vec<Arc<Path>> = {
            let seen: HashSet<&Path> = found.iter().map(|f| f.path.as_path()).collect();
            self.ignored.retain(|p| seen.contains(p.as_path()));
            self.unreadable.retain(|p| seen.contains(p.as_path()));
            self.refused.retain(|p| seen.contains(p.as_path()));
            self.files
                .paths()
                .filter(|p| !seen.contains(&***p))
                .cloned()
                .collect()
        };
        for f in found {
            self.found(f, initial);
        }
        for p in gone {
            self.check_path(&p);
        }
        // copytruncate that refilled the file past our offset before we noticed.
        let mut truncated = Vec::new();
        for (i, t) in self.files.iter() {
            if t.life == Life::Live
                && let Some(f) = &t.file
                && t.fp.len > 0
                && !t.fp.matches(f).unwrap_or(true)
            {
                truncated.push(i);
            }
        }
        for i in truncated {
            self.truncated(i);
        }
    }

    /// A file a glob matched (or an event named).
    fn found(&mut self, f: Found, initial: bool) {
        let key = FileKey::of(&f.meta);
        if let Some(i) = self.files.at_path(&f.path) {
            let same = self.files.get(i).is_some_and(|t| t.key == key);
            if same {
                if let Some(t) = self.files.get(i)
                    && (f.meta.len() != t.pos || !t.eof)
                {
                    self.queue(i);
                }
                return;
            }
            self.files.unlink_path(&f.path);
            self.lost(i);
        }
        if !self.discovery.wanted(&f.path) {
            return;
        }
        if let Some(i) = self.files.with_key(&key) {
            // A followed file moved to a name we read (or back): follow it there.
            self.files.relink(i, f.path);
            self.queue(i);
            return;
        }
        if self.ignored.contains(&f.path) {
            return;
        }
        if let Some(max_age) = self.p.settings.ignore_older
            && let Ok(mtime) = f.meta.modified()
            && mtime.elapsed().is_ok_and(|age| age > max_age)
        {
            return;
        }
        self.track(f, key, initial, Life::Live);
    }

    fn track(&mut self, f: Found, key: FileKey, initial: bool, life: Life) {
        let file = match File::open(&f.path) {
            Ok(file) => file,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                tracing::debug!(path = %f.path.display(), error = %e, "gone before it was opened");
                return;
            }
            Err(e) => {
                if self.unreadable.insert(f.path.clone()) {
                    self.p.metrics.error("unreadable");
                    tracing::warn!(path = %f.path.display(), error = %e, "cannot open a matched file: skipped, and tried again at each rescan");
                }
                return;
            }
        };
        if self.unreadable.remove(&f.path) {
            tracing::info!(path = %f.path.display(), "a file that could not be opened now can: reading it");
        }
        if !self.symlink_allowed(&f.path, &file) {
            return;
        }
        let meta = match file.metadata() {
            Ok(m) if FileKey::of(&m) == key => m,
            _ => return, // replaced between stat and open: the event for it follows
        };
        let fp = match Fingerprint::read(&file, FINGERPRINT_BYTES) {
            Ok(fp) => fp,
            Err(e) => {
                tracing::debug!(path = %f.path.display(), error = %e, "cannot read");
                return;
            }
        };
        if is_gzip(&file) || compressed_or_temp(&f.path) {
            TailStats::add(&self.p.stats.compressed_skipped, 1);
            tracing::debug!(path = %f.path.display(), "compressed file ignored");
            self.ignored.insert(f.path);
            return;
        }
        let size = meta.len();
        let (remembered, displaced) = match self.p.known.remove(&key) {
            Some(row) if row.fp.len as u64 <= size && row.fp.matches(&file).unwrap_or(false) => {
                (Some(row), None)
            }
            other => (None, other),
        };
        if let Some(row) = displaced {
            // Same inode, other first bytes: truncated (copytruncate) while the agent was
            // down, or the inode reused. What was acknowledged of it stays known by content.
            self.retire(key, row);
        }
        let (pos, touched) = match remembered {
            Some(row) if row.offset <= size => (row.offset, false),
            Some(row) => {
                tracing::warn!(path = %f.path.display(), offset = row.offset, size, "file shorter than its offset: reading it again from the start");
                TailStats::add(&self.p.stats.truncations, 1);
                (0, true)
            }
            None if initial && !self.p.settings.read_from_head && self.p.first_start => {
                (size, size > 0)
            }
            None if initial
                && !self.p.settings.read_from_head
                && self.p.missing_since.is_some() =>
            {
                self.missing_db_start(&f, size)
            }
            None => match self.copy_of_prefix(&f.path, &file, size) {
                Some(offset) => (offset, offset > 0),
                None => (0, false),
            },
        };
        let opened = OpenedFile {
            path: Arc::from(f.path),
            file,
            key,
            fp,
            size,
        };
        let t = Tracked::new(opened, pos, life, self.p.settings.format);
        let i = self.files.insert(t);
        if touched {
            self.touch(i);
        }
        if size > pos {
            self.queue(i);
        }
        self.files.evict(i);
    }

    /// With the offset database lost: where a file present at start begins (0 when modified
    /// since the last stop, else its end), counted for the start-up warning.
    fn missing_db_start(&mut self, f: &Found, size: u64) -> (u64, bool) {
        if self.modified_since_last_stop(&f.meta) {
            self.missing_counts.0 += 1;
            tracing::info!(path = %f.path.display(), size, "offset database missing: modified since the last stop, reading it from its start");
            (0, false)
        } else {
            self.missing_counts.1 += 1;
            (size, size > 0)
        }
    }

    /// True when the offset database is lost and `meta`'s file was modified after the last
    /// stop (less a margin for events not yet seen and rescans not yet done).
    fn modified_since_last_stop(&self, meta: &std::fs::Metadata) -> bool {
        let Some(t) = self.p.missing_since else {
            return false;
        };
        let margin = last_stop::MARGIN_SECS + self.p.settings.refresh_interval.as_secs() as i64;
        meta.mtime() >= t - margin
    }

    /// True when `file` (opened at `path`) may be read: it is where its path says, or the
    /// symlinks on the way lead under an allowed root. A refusal is named once and counted.
    fn symlink_allowed(&mut self, path: &Path, file: &File) -> bool {
        let Some(real) = fd_path(file).or_else(|| std::fs::canonicalize(path).ok()) else {
            tracing::debug!(path = %path.display(), "cannot tell where an opened file is: skipped");
            return false;
        };
        if real == path {
            return true;
        }
        let roots = &self.p.settings.symlink_roots;
        if roots
            .iter()
            .chain(&self.canon_roots)
            .any(|r| real.starts_with(r))
        {
            return true;
        }
        if self.refused.insert(path.to_owned()) {
            self.p.metrics.error("symlink_refused");
            tracing::warn!(path = %path.display(), target = %real.display(), "a symlink leads outside the globs' roots and the kubelet's log trees: not read (follow_symlinks_into allows more)");
        }
        false
    }

    /// Remembers an acknowledged prefix (by its file's directory).
    fn add_prefix(&mut self, row: Row) {
        if row.fp.len == 0 || row.offset == 0 {
            return;
        }
        let Some(dir) = row.path.parent() else { return };
        let list = self.prefixes.entry(dir.to_owned()).or_default();
        list.retain(|r| !(r.fp == row.fp && r.path == row.path));
        list.push(row);
    }

    /// The acknowledged prefix of a file that was truncated (its content before, `row`):
    /// committed with the next batch and looked up for copies of it.
    fn retire(&mut self, key: FileKey, row: Row) {
        if row.fp.len == 0 || row.offset == 0 {
            return;
        }
        self.batch.commit(Commit {
            key,
            fp: row.fp,
            path: Arc::clone(&row.path),
            offset: row.offset,
            ended: true,
        });
        self.add_prefix(row);
    }

    /// Where a copy of a truncated file starts: a sibling (`<name>.<suffix>` or
    /// `<name>-<suffix>`) of a file with an acknowledged prefix, whose first bytes are that
    /// prefix's, starts at its end. With a full fingerprint this takes the first KiB as the
    /// file's identity (as checksum fingerprints do); a shorter one covers the whole prefix.
    fn copy_of_prefix(&self, path: &Path, file: &File, size: u64) -> Option<u64> {
        let rows = self.prefixes.get(path.parent()?)?;
        let name = path.file_name()?.as_bytes();
        let row = rows
            .iter()
            .filter(|r| {
                let base = r.path.file_name().map(|n| n.as_bytes()).unwrap_or_default();
                name.len() > base.len() + 1
                    && name.starts_with(base)
                    && matches!(name[base.len()], b'.' | b'-')
                    && u64::from(r.fp.len) <= size
                    && r.offset <= size
            })
            .filter(|r| r.fp.matches(file).unwrap_or(false))
            .max_by_key(|r| r.last_seen)?;
        tracing::info!(path = %path.display(), original = %row.path.display(), offset = row.offset, size, "a copy of a truncated file: reading it from where the original was acknowledged");
        Some(row.offset)
    }

    /// Files remembered with unread bytes under a name no glob matches (rotated before a
    /// restart): drained like rotated files.
    fn recover_rotated(&mut self) {
        let rows: Vec<(FileKey, Row)> = self.p.known.iter().map(|(k, r)| (*k, r.clone())).collect();
        for (key, row) in rows {
            if self.files.with_key(&key).is_some() {
                continue;
            }
            // At its remembered path, or renamed next to it while the agent was down (the
            // kubelet's `0.log` → `0.log.<time>`): found by inode in the same directory.
            let remembered = row.path.to_path_buf();
            let same_file = |f: &File| f.metadata().is_ok_and(|m| FileKey::of(&m) == key);
            let opened = File::open(&remembered)
                .ok()
                .filter(same_file)
                .map(|f| (remembered.clone(), f))
                .or_else(|| {
                    let p = find_by_inode(&remembered, key)?;
                    let f = File::open(&p).ok().filter(same_file)?;
                    Some((p, f))
                });
            let Some((path, file)) = opened else {
                continue;
            };
            let Ok(meta) = file.metadata() else { continue };
            if FileKey::of(&meta) != key
                || meta.len() <= row.offset
                || !row.fp.matches(&file).unwrap_or(false)
                || is_gzip(&file)
            {
                continue;
            }
            tracing::info!(path = %path.display(), offset = row.offset, size = meta.len(), "resuming a rotated file");
            self.p.known.remove(&key);
            let opened = OpenedFile {
                path: Arc::from(path),
                file,
                key,
                fp: row.fp,
                size: meta.len(),
            };
            let rotated = Life::Rotated {
                since: Instant::now(),
            };
            let t = Tracked::new(opened, row.offset, rotated, self.p.settings.format);
            let i = self.files.insert(t);
            self.queue(i);
        }
    }

    /// At a restart: rotated siblings of matched files (`<name>.<YYYYMMDD-HHMMSS>` as the
    /// kubelet renames, `<name>.<N>` as docker's json-file does) that the offset database
    /// does not know were created and rotated away while the agent was down or blocked,
    /// before any of their lines was committed: read from their start (a duplicate at
    /// worst, never a loss). Files older than `db_retention` are left alone (their row may
    /// have expired after they were read).
    fn adopt_unknown_rotated(&mut self) {
        if self.p.first_start {
            return;
        }
        let live: Vec<Arc<Path>> = self.files.paths().cloned().collect();
        for path in live {
            let (Some(dir), Some(name)) = (path.parent(), path.file_name()) else {
                continue;
            };
            let Ok(entries) = std::fs::read_dir(dir) else {
                continue;
            };
            for e in entries.flatten() {
                let sibling = e.path();
                let Some(suffix) = sibling
                    .file_name()
                    .and_then(|n| n.as_bytes().strip_prefix(name.as_bytes()))
                    .and_then(|rest| rest.strip_prefix(b"."))
                else {
                    continue;
                };
                if !rotated_suffix(suffix) || compressed_or_temp(&sibling) {
                    continue;
                }
                let Ok(meta) = std::fs::metadata(&sibling) else {
                    continue;
                };
                let key = FileKey::of(&meta);
                let recent = meta
                    .modified()
                    .ok()
                    .and_then(|m| m.elapsed().ok())
                    .is_some_and(|age| age < self.p.settings.db_retention);
                let lost_db_and_old =
                    self.p.missing_since.is_some() && !self.modified_since_last_stop(&meta);
                if self.files.with_key(&key).is_some()
                    || self.p.known.contains_key(&key)
                    || !recent
                    || lost_db_and_old
                    || !meta.is_file()
                {
                    continue;
                }
                tracing::info!(path = %sibling.display(), size = meta.len(), "reading a file rotated before its lines were committed");
                let now = Instant::now();
                self.track(
                    Found {
                        path: sibling,
                        meta,
                    },
                    key,
                    false,
                    Life::Rotated { since: now },
                );
            }
        }
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

    /// The file left its path: rotated (renamed) or deleted. Keep reading it.
    fn lost(&mut self, i: usize) {
        let Some(t) = self.files.get_mut(i) else {
            return;
        };
        if t.life != Life::Live {
            return;
        }
        let now = Instant::now();
        TailStats::add(&self.p.stats.rotations, 1);
        match &t.file {
            Some(f) => {
                let deleted = f.metadata().map(|m| m.nlink() == 0).unwrap_or(true);
                if deleted {
                    t.life = Life::Deleted { since: now };
                    tracing::debug!(path = %t.path.display(), "file deleted: reading what is left");
                } else {
                    t.life = Life::Rotated { since: now };
                    if let Some(new) = fd_path(f) {
                        tracing::debug!(from = %t.path.display(), to = %new.display(), "file rotated: reading it to its end");
                        t.path = Arc::from(new);
                    }
                }
            }
            None => {
                // Closed for the descriptor bound: find it by inode next to its old name.
                let found = find_by_inode(&t.path, t.key);
                match found.and_then(|p| File::open(&p).ok().map(|f| (p, f))) {
                    Some((p, f)) => {
                        t.life = Life::Rotated { since: now };
                        t.path = Arc::from(p);
                        self.files.attach(i, f);
                    }
                    None => {
                        let lost = t.size.saturating_sub(t.pos);
                        TailStats::add(&self.p.stats.abandoned_bytes, lost);
                        self.p.metrics.error("rotated_while_closed");
                        tracing::warn!(path = %t.path.display(), unread_bytes = lost, "file rotated away while closed for max_open_files; its unread bytes are lost");
                        self.close(i);
                        return;
                    }
                }
            }
        }
        // Commit under the new name so a restart finds it.
        if let Some(t) = self.files.get_mut(i) {
            t.registered = u64::MAX;
        }
        self.touch(i);
        self.queue(i);
    }

    fn truncated(&mut self, i: usize) {
        let now = Instant::now();
        let Some(t) = self.files.get_mut(i) else {
            return;
        };
        TailStats::add(&self.p.stats.truncations, 1);
        self.p.metrics.error("truncated");
        tracing::warn!(path = %t.path.display(), offset = t.pos, "file truncated (copytruncate?): reading it again from the start; lines written between the copy and the truncation are lost by design");
        t.flush_all(&mut self.batch.emit(now, MAX_BATCH_RECORDS));
        // What was read of the content before the truncation is remembered by content, for a
        // copy of it (`<name>.1`) found later to start after it.
        let before = Row {
            fp: t.fp,
            path: Arc::clone(&t.path),
            offset: t.safe_offset(),
            last_seen: unix_now(),
        };
        let key = t.key;
        t.pos = 0;
        t.size = 0;
        t.skipping = false;
        t.registered = u64::MAX;
        if let Some(f) = &t.file {
            t.fp = Fingerprint::read(f, FINGERPRINT_BYTES).unwrap_or_default();
        }
        self.retire(key, before);
        self.touch(i);
        self.queue(i);
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

    /// Removes a file for good, committing where it stopped.
    fn close(&mut self, i: usize) {
        let Some(t) = self.files.remove(i) else {
            return;
        };
        self.batch.commit(Commit {
            key: t.key,
            fp: t.fp,
            path: Arc::clone(&t.path),
            offset: t.safe_offset(),
            ended: false,
        });
        if t.life == Life::Live {
            // Stopped following (ignore_older): remember where, in case it comes back.
            self.p.known.insert(
                t.key,
                Row {
                    fp: t.fp,
                    path: Arc::clone(&t.path),
                    offset: t.safe_offset(),
                    last_seen: unix_now(),
                },
            );
        } else {
            self.p
                .watermark
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .forget(&t.key);
        }
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
                    self.p.metrics.error("read");
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

    /// Timers: held messages, rotated files, `rotate_wait_max`, figures.
    fn housekeeping(&mut self, now: Instant) {
        let wait_max = self.p.settings.rotate_wait_max;
        let mut to_close = Vec::new();
        let mut lag: u64 = 0;
        let mut oldest: Option<Instant> = None;
        {
            let wm = self
                .p
                .watermark
                .lock()
                .unwrap_or_else(PoisonError::into_inner);
            for (_, t) in self.files.iter() {
                let committed = wm.committed(&t.key).unwrap_or(t.registered.min(t.pos));
                lag += t.size.saturating_sub(committed);
                if let Some(b) = t.behind_since {
                    oldest = Some(oldest.map_or(b, |o: Instant| o.min(b)));
                }
            }
        }
        TailStats::set(&self.p.stats.lag_bytes, lag);
        TailStats::set(
            &self.p.stats.oldest_unread_age_ms,
            oldest.map_or(0, |o| now.duration_since(o).as_millis() as u64),
        );
        let mut em = self.batch.emit(now, usize::MAX);
        for (i, t) in self.files.iter_mut() {
            if t.eof && !t.queued && t.decoder.has_pending() {
                t.flush_expired(&mut em);
            }
            let since = match t.life {
                Life::Live => continue,
                Life::Rotated { since } | Life::Deleted { since } => since,
            };
            if t.eof && !t.queued && now.duration_since(t.last_growth) >= ROTATED_QUIET {
                t.drain_tail(&mut em);
                to_close.push(i);
            } else if now.duration_since(since) >= wait_max {
                let lost = t.size.saturating_sub(t.pos);
                TailStats::add(&self.p.stats.abandoned_bytes, lost);
                self.p.metrics.error("rotate_wait_max");
                tracing::warn!(path = %t.path.display(), unread_bytes = lost, "rotated file still unread after rotate_wait_max: giving up its unread bytes");
                t.drain_tail(&mut em);
                t.pos = t.size;
                to_close.push(i);
            }
        }
        for i in 0..self.files.slot_count() {
            self.touch(i);
        }
        for i in to_close {
            self.close(i);
        }
        TailStats::set(&self.p.stats.files_watched, self.files.watched() as u64);
        TailStats::set(&self.p.stats.files_open, self.files.open_files() as u64);
    }

    /// Hands the batch and the offsets it reaches to the pump (waits while the pipeline is
    /// full).
    fn send(&mut self) {
        if !self.batch.send(&mut self.files) {
            self.stopped = true;
        }
    }
}

fn is_gzip(f: &File) -> bool {
    let mut magic = [0u8; 2];
    matches!(std::os::unix::fs::FileExt::read_at(f, &mut magic, 0), Ok(2)) && magic == [0x1f, 0x8b]
}

/// The current name of an open file (Linux `/proc/self/fd`).
fn fd_path(f: &File) -> Option<PathBuf> {
    use std::os::fd::AsRawFd;
    let p = std::fs::read_link(format!("/proc/self/fd/{}", f.as_raw_fd())).ok()?;
    let s = p.to_string_lossy();
    if s.ends_with(" (deleted)") {
        return None;
    }
    Some(p)
}

/// A rotation suffix: the kubelet's `YYYYMMDD-HHMMSS` or docker's decimal `N`.
fn rotated_suffix(s: &[u8]) -> bool {
    let digits = |b: &[u8]| !b.is_empty() && b.iter().all(u8::is_ascii_digit);
    match s.len() {
        15 => s[8] == b'-' && digits(&s[..8]) && digits(&s[9..]),
        _ => s.len() <= 4 && digits(s),
    }
}

/// A file with inode `key` in the directory of `old`.
fn find_by_inode(old: &Path, key: FileKey) -> Option<PathBuf> {
    let dir = old.parent()?;
    std::fs::read_dir(dir).ok()?.flatten().find_map(|e| {
        let m = e.metadata().ok()?;
        (FileKey::of(&m) == key).then(|| e.path())
    })
}
