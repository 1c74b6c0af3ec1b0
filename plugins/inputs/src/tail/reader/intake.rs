//! Event intake: what tells the reader that files appeared, changed, moved or went, and its
//! reconciliation with what is followed. Inotify events (through [`Wake`]) mark paths dirty
//! (their data, or their identity: created, deleted, renamed); a rescan of the globs, on a
//! timer, on a lost event or when directories change, finds what events missed. Each dirty
//! or found path is then looked at once: a followed file at its path is queued, one that
//! left is handed to rotation, a new one is followed.

use std::collections::HashSet;
use std::path::Path;
use std::sync::Arc;
use std::time::Instant;

use super::Reader;
use crate::tail::discover::{Found, FsEvent, Wake};
use crate::tail::file::FileKey;
use crate::tail::tracked::Life;

impl Reader {
    /// A wake-up: stop, rescan, or inotify events.
    pub(super) fn on_wake(&mut self, w: Wake) {
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

    pub(super) fn process_dirty(&mut self) {
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
    pub(super) fn scan(&mut self, initial: bool) {
        let (found, failed) = self.discovery.scan();
        self.canon_roots = self
            .settings
            .symlink_roots
            .iter()
            .filter_map(|r| std::fs::canonicalize(r).ok())
            .collect();
        for _ in 0..failed {
            self.metrics.error("watch");
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
        if let Some(max_age) = self.settings.ignore_older
            && let Ok(mtime) = f.meta.modified()
            && mtime.elapsed().is_ok_and(|age| age > max_age)
        {
            return;
        }
        self.track(f, key, initial, Life::Live);
    }
}
