//! Finding files: walking the directories the globs imply, and watching those directories
//! with inotify (through `notify`) so a new file or a rotation is seen at once. The periodic
//! rescan (`refresh_interval`) is the fallback for filesystems without events and for
//! exhausted inotify limits; a failed watch is logged once and counted, never fatal.
//!
//! Only directories are watched (one watch each, not one per file): inotify reports the
//! writes, creations, renames and deletions of the files inside them.

use std::collections::HashMap;
use std::fs::Metadata;
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};
use std::sync::mpsc;

use notify::{RecommendedWatcher, RecursiveMode, Watcher};

use super::file::FileKey;
use super::glob::{Glob, Segment};

/// What wakes the reader thread.
#[derive(Debug)]
pub(crate) enum Wake {
    /// A filesystem event (or a watcher error).
    Fs(notify::Result<notify::Event>),
    /// Stop reading.
    Stop,
}

/// A file a glob matched.
#[derive(Debug)]
pub(crate) struct Found {
    /// Its path.
    pub(crate) path: PathBuf,
    /// Its stat (symlinks followed).
    pub(crate) meta: Metadata,
}

/// Globs, exclusions and the directory watches.
pub(crate) struct Discovery {
    globs: Vec<Glob>,
    exclude: Vec<Glob>,
    watcher: Option<RecommendedWatcher>,
    /// Watched directories and the identity they had when watched.
    watched: HashMap<PathBuf, FileKey>,
    watch_failed: bool,
}

impl std::fmt::Debug for Discovery {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Discovery")
            .field(
                "globs",
                &self.globs.iter().map(Glob::text).collect::<Vec<_>>(),
            )
            .field("watched", &self.watched.len())
            .finish_non_exhaustive()
    }
}

/// Names that are never read: gzip'd rotations and kubelet's temporary files.
pub(crate) fn compressed_or_temp(path: &Path) -> bool {
    let name = path.file_name().map(OsStrExt::as_bytes).unwrap_or_default();
    name.ends_with(b".gz") || name.ends_with(b".tmp") || name.ends_with(b".zip")
}

impl Discovery {
    /// Discovery for `globs`; events go to `wake`. `watch = false` relies on rescans only.
    pub(crate) fn new(
        globs: Vec<Glob>,
        exclude: Vec<Glob>,
        wake: mpsc::Sender<Wake>,
        watch: bool,
    ) -> Self {
        let watcher = if watch {
            match notify::recommended_watcher(move |ev| {
                // The reader is gone when this fails: nothing to wake.
                drop(wake.send(Wake::Fs(ev)));
            }) {
                Ok(w) => Some(w),
                Err(e) => {
                    tracing::warn!(error = %e, "no inotify: new files are found by rescans only");
                    None
                }
            }
        } else {
            None
        };
        Discovery {
            globs,
            exclude,
            watcher,
            watched: HashMap::new(),
            watch_failed: false,
        }
    }

    /// True when `path` is to be read: a glob matches, no exclusion does, and it is not a
    /// compressed or temporary file.
    pub(crate) fn wanted(&self, path: &Path) -> bool {
        self.globs.iter().any(|g| g.matches(path))
            && !self.exclude.iter().any(|g| g.matches(path))
            && !compressed_or_temp(path)
    }

    /// True when some glob can match below `dir` (for directory events).
    pub(crate) fn watched_dir(&self, dir: &Path) -> bool {
        self.watched.contains_key(dir)
    }

    /// Walks every glob; returns the matching files (compressed ones included, for the caller
    /// to count) and refreshes the directory watches. Returns how many watches failed.
    ///
    /// A directory created between the walk and the moment its parent's watch is in place
    /// would be missed until the next rescan; so whenever new watches were added, the globs
    /// are walked again (the watches now cover that window), at most a few times.
    pub(crate) fn scan(&mut self) -> (Vec<Found>, usize) {
        let mut all = Vec::new();
        let mut failed = 0;
        for _ in 0..4 {
            let (found, f, added) = self.scan_once();
            all.extend(found);
            failed = f;
            if added == 0 {
                break;
            }
        }
        all.sort_by(|a, b| a.path.cmp(&b.path));
        all.dedup_by(|a, b| a.path == b.path);
        (all, failed)
    }

    /// One walk: the files found, the watches that failed and the watches newly added.
    fn scan_once(&mut self) -> (Vec<Found>, usize, usize) {
        let mut found = Vec::new();
        let mut dirs: Vec<(PathBuf, FileKey)> = Vec::new();
        for g in &self.globs {
            if std::fs::metadata(g.root()).is_ok() {
                walk(g.root(), g.segments(), &mut found, &mut dirs);
            } else if let Some((d, key)) = g.root().ancestors().skip(1).find_map(|a| {
                std::fs::metadata(a)
                    .ok()
                    .filter(Metadata::is_dir)
                    .map(|m| (a, FileKey::of(&m)))
            }) {
                // The root does not exist yet (no pod has started): watch the nearest
                // ancestor so its creation triggers a scan.
                dirs.push((d.to_owned(), key));
            }
        }
        found.retain(|f| !self.exclude.iter().any(|g| g.matches(&f.path)));
        found.sort_by(|a, b| a.path.cmp(&b.path));
        found.dedup_by(|a, b| a.path == b.path);
        let (failed, added) = self.watch_dirs(dirs);
        (found, failed, added)
    }

    /// Watches `dirs` (and only them); returns (watches that failed, watches added).
    fn watch_dirs(&mut self, dirs: Vec<(PathBuf, FileKey)>) -> (usize, usize) {
        let Some(w) = self.watcher.as_mut() else {
            return (0, 0);
        };
        let mut failed = 0;
        let mut added = 0;
        let mut keep: HashMap<PathBuf, FileKey> = HashMap::with_capacity(dirs.len());
        for (d, key) in dirs {
            if keep.contains_key(&d) {
                continue;
            }
            if self.watched.get(&d) != Some(&key) {
                match w.watch(&d, RecursiveMode::NonRecursive) {
                    Ok(()) => added += 1,
                    Err(e) => {
                        failed += 1;
                        if !self.watch_failed {
                            tracing::warn!(dir = %d.display(), error = %e, "cannot watch directory (inotify limits?): relying on rescans");
                            self.watch_failed = true;
                        }
                        continue;
                    }
                }
            }
            keep.insert(d, key);
        }
        for d in self.watched.keys() {
            if !keep.contains_key(d) {
                // Gone directories lose their watch by themselves; this is for the others.
                drop(w.unwatch(d));
            }
        }
        self.watched = keep;
        (failed, added)
    }
}

/// Collects files under `dir` matching `segs`, and the directories walked (to watch).
fn walk(dir: &Path, segs: &[Segment], out: &mut Vec<Found>, dirs: &mut Vec<(PathBuf, FileKey)>) {
    let Ok(dmeta) = std::fs::metadata(dir) else {
        return;
    };
    if !dmeta.is_dir() {
        return;
    }
    let Some((seg, rest)) = segs.split_first() else {
        return;
    };
    dirs.push((dir.to_owned(), FileKey::of(&dmeta)));
    match seg {
        Segment::AnyDirs => {
            walk(dir, rest, out, dirs);
            if let Ok(rd) = std::fs::read_dir(dir) {
                for e in rd.flatten() {
                    let p = e.path();
                    if e.file_type().is_ok_and(|t| t.is_dir()) {
                        walk(&p, segs, out, dirs);
                    }
                }
            }
        }
        Segment::Literal(name) if !rest.is_empty() => {
            let p = dir.join(std::ffi::OsStr::from_bytes(name));
            walk(&p, rest, out, dirs);
        }
        Segment::Literal(name) => {
            let p = dir.join(std::ffi::OsStr::from_bytes(name));
            if let Ok(meta) = std::fs::metadata(&p)
                && meta.is_file()
            {
                out.push(Found { path: p, meta });
            }
        }
        Segment::Pattern(_) => {
            let Ok(rd) = std::fs::read_dir(dir) else {
                return;
            };
            for e in rd.flatten() {
                let name = e.file_name();
                if !seg.matches(name.as_bytes()) {
                    continue;
                }
                let p = e.path();
                if rest.is_empty() {
                    if let Ok(meta) = std::fs::metadata(&p)
                        && meta.is_file()
                    {
                        out.push(Found { path: p, meta });
                    }
                } else {
                    walk(&p, rest, out, dirs);
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn walks_the_kubelet_layout_and_skips_rotations() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        for (p, c) in [
            ("ns_a_u1/app/0.log", "x"),
            ("ns_a_u1/app/0.log.20240101-000000", "x"),
            ("ns_a_u1/app/0.log.20231231-000000.gz", "x"),
            ("ns_b_u2/side/3.log", "x"),
            ("ns_b_u2/side/notes.txt", "x"),
        ] {
            let p = root.join(p);
            std::fs::create_dir_all(p.parent().unwrap()).unwrap();
            std::fs::write(&p, c).unwrap();
        }
        let g = Glob::absolute(&format!("{}/*/*/*.log", root.display())).unwrap();
        let (tx, _rx) = mpsc::channel();
        let mut d = Discovery::new(vec![g], vec![], tx, true);
        let (found, failed) = d.scan();
        assert_eq!(failed, 0);
        let names: Vec<_> = found
            .iter()
            .map(|f| f.path.strip_prefix(root).unwrap().display().to_string())
            .collect();
        assert_eq!(names, ["ns_a_u1/app/0.log", "ns_b_u2/side/3.log"]);
        assert!(d.watched_dir(root), "the root is watched for new pods");
        assert!(d.watched_dir(&root.join("ns_a_u1/app")));
        assert!(d.wanted(&root.join("ns_c_u3/x/1.log")));
        assert!(!d.wanted(&root.join("ns_a_u1/app/0.log.1")));
    }

    #[test]
    fn a_missing_root_watches_its_nearest_ancestor() {
        let dir = tempfile::tempdir().unwrap();
        let g = Glob::absolute(&format!("{}/pods/*/*/*.log", dir.path().display())).unwrap();
        let (tx, _rx) = mpsc::channel();
        let mut d = Discovery::new(vec![g], vec![], tx, true);
        let (found, _) = d.scan();
        assert!(found.is_empty());
        assert!(d.watched_dir(dir.path()));
    }
}
