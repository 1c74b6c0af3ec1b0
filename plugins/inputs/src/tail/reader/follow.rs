//! A followed file's life after it is found: opened and checked (symlinks, compression,
//! identity) and started at the right offset; rotated or deleted (kept open and read to its
//! end under its new name); truncated (read again from 0, what was acknowledged before
//! remembered); closed for good, committing where it stopped; and the timers that close a
//! quiet rotated file, give one up after `rotate_wait_max` and flush held messages.

use std::fs::File;
use std::os::unix::fs::MetadataExt;
use std::path::Path;
use std::sync::{Arc, PoisonError};
use std::time::Instant;

use super::{ROTATED_QUIET, Reader};
use crate::tail::batch::MAX_BATCH_RECORDS;
use crate::tail::discover::{Found, compressed_or_temp};
use crate::tail::file::{FINGERPRINT_BYTES, FileKey, Fingerprint, fd_path, find_by_inode, is_gzip};
use crate::tail::offsets::{Commit, Row, unix_now};
use crate::tail::stats::TailStats;
use crate::tail::tracked::{Life, OpenedFile, Tracked};

impl Reader {
    /// Follows the file at `f.path` (a glob matched it, an event named it, or it is a rotated
    /// sibling found at start), once opened and checked, from where it starts; `initial` when
    /// the first scan found it.
    pub(super) fn track(&mut self, f: Found, key: FileKey, initial: bool, life: Life) {
        let file = match File::open(&f.path) {
            Ok(file) => file,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                tracing::debug!(path = %f.path.display(), error = %e, "gone before it was opened");
                return;
            }
            Err(e) => {
                if self.unreadable.insert(f.path.clone()) {
                    self.metrics.error("unreadable");
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
            TailStats::add(&self.stats.compressed_skipped, 1);
            tracing::debug!(path = %f.path.display(), "compressed file ignored");
            self.ignored.insert(f.path);
            return;
        }
        let size = meta.len();
        let (remembered, displaced) = match self.known.remove(&key) {
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
                TailStats::add(&self.stats.truncations, 1);
                (0, true)
            }
            None if initial && !self.settings.read_from_head && self.first_start => {
                (size, size > 0)
            }
            None if initial && !self.settings.read_from_head && self.missing_since.is_some() => {
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
        let t = Tracked::new(opened, pos, life, self.settings.format);
        let i = self.files.insert(t);
        if touched {
            self.touch(i);
        }
        if size > pos {
            self.queue(i);
        }
        self.files.evict(i);
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
        let roots = &self.settings.symlink_roots;
        if roots
            .iter()
            .chain(&self.canon_roots)
            .any(|r| real.starts_with(r))
        {
            return true;
        }
        if self.refused.insert(path.to_owned()) {
            self.metrics.error("symlink_refused");
            tracing::warn!(path = %path.display(), target = %real.display(), "a symlink leads outside the globs' roots and the kubelet's log trees: not read (follow_symlinks_into allows more)");
        }
        false
    }

    /// The file left its path: rotated (renamed) or deleted. Keep reading it.
    pub(super) fn lost(&mut self, i: usize) {
        let Some(t) = self.files.get_mut(i) else {
            return;
        };
        if t.life != Life::Live {
            return;
        }
        let now = Instant::now();
        TailStats::add(&self.stats.rotations, 1);
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
                        TailStats::add(&self.stats.abandoned_bytes, lost);
                        self.metrics.error("rotated_while_closed");
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

    /// File `i` is shorter than its read position (copytruncate): what its decoder holds is
    /// sent, what was acknowledged of its content before is remembered, and it is read again
    /// from 0.
    pub(super) fn truncated(&mut self, i: usize) {
        let now = Instant::now();
        let Some(t) = self.files.get_mut(i) else {
            return;
        };
        TailStats::add(&self.stats.truncations, 1);
        self.metrics.error("truncated");
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

    /// Removes a file for good, committing where it stopped.
    pub(super) fn close(&mut self, i: usize) {
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
            self.known.insert(
                t.key,
                Row {
                    fp: t.fp,
                    path: Arc::clone(&t.path),
                    offset: t.safe_offset(),
                    last_seen: unix_now(),
                },
            );
        } else {
            self.watermark
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .forget(&t.key);
        }
    }

    /// Timers: held messages, rotated files, `rotate_wait_max`, figures.
    pub(super) fn housekeeping(&mut self, now: Instant) {
        let wait_max = self.settings.rotate_wait_max;
        let mut to_close = Vec::new();
        let mut lag: u64 = 0;
        let mut oldest: Option<Instant> = None;
        {
            let wm = self
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
        TailStats::set(&self.stats.lag_bytes, lag);
        TailStats::set(
            &self.stats.oldest_unread_age_ms,
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
                TailStats::add(&self.stats.abandoned_bytes, lost);
                self.metrics.error("rotate_wait_max");
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
        TailStats::set(&self.stats.files_watched, self.files.watched() as u64);
        TailStats::set(&self.stats.files_open, self.files.open_files() as u64);
    }
}
