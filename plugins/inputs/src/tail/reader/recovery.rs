//! Startup recovery, and what the reader remembers from before.
//!
//! At start, after the first scan: files the database remembers with unread bytes under a
//! name no glob matches any more (rotated while the agent was down) are drained like
//! rotated files; rotated siblings the database does not know (created and rotated away
//! before any of their lines was committed) are read from their start; with the database
//! lost, the files read from 0 and from their end are counted in one warning.
//!
//! Where a file starts: with the database lost, at 0 when modified since the last stop, else
//! at its end; a copy of a truncated file (copytruncate's `<name>.1`) after the prefix that
//! was acknowledged of the original, which is remembered by content when the original is
//! truncated (at run time or while the agent was down).

use std::fs::File;
use std::os::unix::ffi::OsStrExt as _;
use std::os::unix::fs::MetadataExt;
use std::path::Path;
use std::sync::Arc;
use std::time::Instant;

use super::Reader;
use crate::tail::discover::{Found, compressed_or_temp};
use crate::tail::file::{FileKey, find_by_inode, is_gzip};
use crate::tail::last_stop;
use crate::tail::offsets::{Commit, Row};
use crate::tail::tracked::{Life, OpenedFile, Tracked};

impl Reader {
    /// After the first scan: rotated files the database remembers, rotated files it does not
    /// know, and the warning of a lost database.
    pub(super) fn recover(&mut self) {
        if let Some(t) = self.missing_since {
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
    }

    /// With the offset database lost: where a file present at start begins (0 when modified
    /// since the last stop, else its end), counted for the start-up warning.
    pub(super) fn missing_db_start(&mut self, f: &Found, size: u64) -> (u64, bool) {
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
        let Some(t) = self.missing_since else {
            return false;
        };
        let margin = last_stop::MARGIN_SECS + self.settings.refresh_interval.as_secs() as i64;
        meta.mtime() >= t - margin
    }

    /// Remembers an acknowledged prefix (by its file's directory).
    pub(super) fn add_prefix(&mut self, row: Row) {
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
    pub(super) fn retire(&mut self, key: FileKey, row: Row) {
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
    pub(super) fn copy_of_prefix(&self, path: &Path, file: &File, size: u64) -> Option<u64> {
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
        let rows: Vec<(FileKey, Row)> = self.known.iter().map(|(k, r)| (*k, r.clone())).collect();
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
            self.known.remove(&key);
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
            let t = Tracked::new(opened, row.offset, rotated, self.settings.format);
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
        if self.first_start {
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
                    .is_some_and(|age| age < self.settings.db_retention);
                let lost_db_and_old =
                    self.missing_since.is_some() && !self.modified_since_last_stop(&meta);
                if self.files.with_key(&key).is_some()
                    || self.known.contains_key(&key)
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
}

/// A rotation suffix: the kubelet's `YYYYMMDD-HHMMSS` or docker's decimal `N`.
fn rotated_suffix(s: &[u8]) -> bool {
    let digits = |b: &[u8]| !b.is_empty() && b.iter().all(u8::is_ascii_digit);
    match s.len() {
        15 => s[8] == b'-' && digits(&s[..8]) && digits(&s[9..]),
        _ => s.len() <= 4 && digits(s),
    }
}
