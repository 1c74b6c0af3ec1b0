//! Finding files: walking the directories the globs imply, and watching those directories
//! with inotify so a new file or a rotation is seen at once. The periodic rescan
//! (`refresh_interval`) is the fallback for filesystems without events and for exhausted
//! inotify limits; a failed watch is logged once and counted, never fatal.
//!
//! Only directories are watched (one watch each, not one per file): inotify reports the
//! writes, creations, renames and deletions of the files inside them. The watches are kept
//! here rather than in a general-purpose watcher, because each costs memory for as long as
//! its pod lives: one shared copy of the directory's path, in two sorted lists (by path, to
//! reconcile with a walk; by watch descriptor, to name events), and only the events the
//! reader uses (no opens, closes or reads). A small thread blocks on the inotify descriptor
//! and hands each read's raw events to the reader, which names them
//! ([`Discovery::event_path`]) on its own thread, so the lists need no lock.
//!
//! Over 400 lines on purpose: the directory walk and the inotify watches share the set of
//! watched directories and the glob roots; its tests take most of the length.

use std::ffi::OsStr;
use std::fs::Metadata;
use std::mem::MaybeUninit;
use std::os::fd::OwnedFd;
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};
use std::sync::{Arc, mpsc};
use std::thread::JoinHandle;

use rustix::event::{EventfdFlags, PollFd, PollFlags, eventfd, poll};
use rustix::fs::inotify::{self, CreateFlags, ReadFlags, WatchFlags};
use rustix::io::Errno;

use super::file::FileKey;
use super::glob::{Glob, Segment};

/// What a directory watch reports: entries created, deleted, renamed in or out, written or
/// changed (`ATTRIB`: link count, truncation by some tools), and the directory itself going.
const WATCH_MASK: WatchFlags = WatchFlags::CREATE
    .union(WatchFlags::DELETE)
    .union(WatchFlags::MOVED_FROM)
    .union(WatchFlags::MOVED_TO)
    .union(WatchFlags::MODIFY)
    .union(WatchFlags::ATTRIB)
    .union(WatchFlags::DELETE_SELF)
    .union(WatchFlags::MOVE_SELF)
    .union(WatchFlags::ONLYDIR);

/// Bytes read from the inotify descriptor at a time (an event is 16 bytes plus its name).
const EVENT_BUF: usize = 8192;

/// What wakes the reader thread.
#[derive(Debug)]
pub(crate) enum Wake {
    /// Filesystem events, one read's worth, in the kernel's order.
    Fs(Vec<FsEvent>),
    /// Events were lost or the watcher failed: rescan.
    Rescan,
    /// Stop reading.
    Stop,
}

/// One inotify event, its watch not yet resolved to a directory.
#[derive(Debug)]
pub(crate) struct FsEvent {
    /// The watch it came from.
    wd: i32,
    /// What happened.
    pub(crate) flags: ReadFlags,
    /// Pairs the two halves of a rename.
    pub(crate) cookie: u32,
    /// The entry's name in the watched directory; `None` for the directory itself.
    name: Option<Box<OsStr>>,
}

impl FsEvent {
    /// The watch it came from.
    pub(crate) fn wd(&self) -> i32 {
        self.wd
    }
}

/// A file a glob matched.
#[derive(Debug)]
pub(crate) struct Found {
    /// Its path.
    pub(crate) path: PathBuf,
    /// Its stat (symlinks followed).
    pub(crate) meta: Metadata,
}

/// A watched directory.
#[derive(Debug)]
struct WatchedDir {
    path: Arc<Path>,
    /// Its identity when watched: a directory replaced at the same path is watched again.
    key: FileKey,
    wd: i32,
}

/// The inotify descriptor and the thread reading it.
struct Watcher {
    fd: Arc<OwnedFd>,
    /// Written to stop the thread.
    stop: Arc<OwnedFd>,
    thread: Option<JoinHandle<()>>,
}

impl Watcher {
    fn start(wake: mpsc::Sender<Wake>) -> std::io::Result<Self> {
        let fd = Arc::new(inotify::init(CreateFlags::CLOEXEC | CreateFlags::NONBLOCK)?);
        let stop = Arc::new(eventfd(0, EventfdFlags::CLOEXEC | EventfdFlags::NONBLOCK)?);
        let thread = std::thread::Builder::new()
            .name("gleaner-tail-watch".to_owned())
            .spawn({
                let fd = Arc::clone(&fd);
                let stop = Arc::clone(&stop);
                move || read_events(&fd, &stop, &wake)
            })?;
        Ok(Watcher {
            fd,
            stop,
            thread: Some(thread),
        })
    }
}

impl Drop for Watcher {
    fn drop(&mut self) {
        // The thread wakes on the eventfd and returns; closing the inotify descriptor (the
        // last Arc) then removes every watch.
        if let Err(e) = rustix::io::write(&*self.stop, &1u64.to_ne_bytes()) {
            tracing::debug!(error = %e, "cannot signal the inotify thread");
            return; // it would never wake: leave it detached
        }
        if let Some(t) = self.thread.take() {
            drop(t.join());
        }
    }
}

/// The watcher thread: waits for events (or the stop signal) and sends each read's worth.
fn read_events(fd: &OwnedFd, stop: &OwnedFd, wake: &mpsc::Sender<Wake>) {
    let mut buf = vec![MaybeUninit::<u8>::uninit(); EVENT_BUF];
    loop {
        let mut fds = [
            PollFd::new(fd, PollFlags::IN),
            PollFd::new(stop, PollFlags::IN),
        ];
        match poll(&mut fds, None) {
            Ok(_) | Err(Errno::INTR) => {}
            Err(e) => {
                tracing::warn!(error = %e, "inotify watcher stopped: new files are found by rescans only");
                drop(wake.send(Wake::Rescan));
                return;
            }
        }
        if !fds[1].revents().is_empty() {
            return;
        }
        let mut events = Vec::new();
        let mut reader = inotify::Reader::new(fd, &mut buf);
        loop {
            match reader.next() {
                Ok(e) => events.push(FsEvent {
                    wd: e.wd(),
                    flags: e.events(),
                    cookie: e.cookie(),
                    name: e
                        .file_name()
                        .map(|n| OsStr::from_bytes(n.to_bytes()).into()),
                }),
                Err(Errno::AGAIN | Errno::INTR) => break,
                Err(e) => {
                    tracing::warn!(error = %e, "inotify watcher stopped: new files are found by rescans only");
                    drop(wake.send(Wake::Rescan));
                    return;
                }
            }
            if reader.is_buffer_empty() {
                break;
            }
        }
        if !events.is_empty() && wake.send(Wake::Fs(events)).is_err() {
            return; // the reader is gone
        }
    }
}

/// Globs, exclusions and the directory watches.
pub(crate) struct Discovery {
    globs: Vec<Glob>,
    exclude: Vec<Glob>,
    watcher: Option<Watcher>,
    /// Watched directories, sorted by path.
    watched: Vec<WatchedDir>,
    /// The same directories' paths, sorted by watch descriptor.
    by_wd: Vec<(i32, Arc<Path>)>,
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
            match Watcher::start(wake) {
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
            watched: Vec::new(),
            by_wd: Vec::new(),
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

    /// True when `dir` is watched.
    #[cfg(test)]
    pub(crate) fn watched_dir(&self, dir: &Path) -> bool {
        self.watched
            .binary_search_by(|w| (*w.path).cmp(dir))
            .is_ok()
    }

    /// The path an event is about: the entry it names in its watched directory, or the
    /// directory itself. `None` for a watch no longer known (removed meanwhile).
    pub(crate) fn event_path(&self, ev: &FsEvent) -> Option<PathBuf> {
        let i = self
            .by_wd
            .binary_search_by_key(&ev.wd, |(wd, _)| *wd)
            .ok()?;
        let dir = &self.by_wd[i].1;
        Some(match &ev.name {
            Some(name) => dir.join(&**name),
            None => dir.to_path_buf(),
        })
    }

    /// A watch is gone (`IN_IGNORED`: its directory was deleted or unwatched): forgets it, so
    /// the next scan watches the directory again if it is back.
    pub(crate) fn watch_gone(&mut self, wd: i32) {
        let Ok(i) = self.by_wd.binary_search_by_key(&wd, |(w, _)| *w) else {
            return;
        };
        let (_, path) = self.by_wd.remove(i);
        if let Ok(j) = self.watched.binary_search_by(|w| (*w.path).cmp(&path))
            && self.watched[j].wd == wd
        {
            self.watched.remove(j);
        }
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
    fn watch_dirs(&mut self, mut dirs: Vec<(PathBuf, FileKey)>) -> (usize, usize) {
        let Some(w) = self.watcher.as_ref() else {
            return (0, 0);
        };
        dirs.sort_by(|a, b| a.0.cmp(&b.0));
        dirs.dedup_by(|a, b| a.0 == b.0);
        let unchanged = dirs.len() == self.watched.len()
            && dirs
                .iter()
                .zip(&self.watched)
                .all(|((d, key), w)| *w.path == **d && w.key == *key);
        if unchanged {
            return (0, 0);
        }
        let mut failed = 0;
        let mut added = 0;
        let mut keep: Vec<WatchedDir> = Vec::with_capacity(dirs.len());
        let mut dropped: Vec<WatchedDir> = Vec::new();
        let mut old = std::mem::take(&mut self.watched).into_iter().peekable();
        for (d, key) in dirs {
            while let Some(o) = old.next_if(|o| *o.path < *d) {
                dropped.push(o);
            }
            match old.next_if(|o| *o.path == *d) {
                Some(o) if o.key == key => {
                    keep.push(o);
                    continue;
                }
                // Replaced by another directory at the same path: its watch goes.
                Some(o) => dropped.push(o),
                None => {}
            }
            match inotify::add_watch(&*w.fd, &d, WATCH_MASK) {
                Ok(wd) => {
                    added += 1;
                    keep.push(WatchedDir {
                        path: Arc::from(d),
                        key,
                        wd,
                    });
                }
                Err(e) => {
                    failed += 1;
                    if !self.watch_failed {
                        tracing::warn!(dir = %d.display(), error = %e, "cannot watch directory (inotify limits?): relying on rescans");
                        self.watch_failed = true;
                    }
                }
            }
        }
        dropped.extend(old);
        let mut by_wd: Vec<(i32, Arc<Path>)> =
            keep.iter().map(|k| (k.wd, Arc::clone(&k.path))).collect();
        by_wd.sort_unstable_by_key(|(wd, _)| *wd);
        for o in dropped {
            // Gone directories lose their watch by themselves; this is for the others (a
            // watch shared with a kept path, the same directory reached twice, stays).
            if by_wd.binary_search_by_key(&o.wd, |(wd, _)| *wd).is_err()
                && let Err(e) = inotify::remove_watch(&*w.fd, o.wd)
            {
                tracing::debug!(dir = %o.path.display(), error = %e, "cannot remove watch");
            }
        }
        self.watched = keep;
        self.by_wd = by_wd;
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

    /// Events until `pred` holds for one of them (or a few seconds pass).
    fn events_until(
        rx: &mpsc::Receiver<Wake>,
        d: &Discovery,
        pred: impl Fn(&FsEvent, &Path) -> bool,
    ) -> Vec<(ReadFlags, u32, PathBuf)> {
        let mut seen = Vec::new();
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(5);
        while let Some(left) = deadline.checked_duration_since(std::time::Instant::now()) {
            let Ok(Wake::Fs(evs)) = rx.recv_timeout(left) else {
                continue;
            };
            for ev in evs {
                let Some(p) = d.event_path(&ev) else { continue };
                let done = pred(&ev, &p);
                seen.push((ev.flags, ev.cookie, p));
                if done {
                    return seen;
                }
            }
        }
        panic!("no matching event; saw {seen:?}");
    }

    #[test]
    fn directory_watches_name_file_events_and_pair_renames() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        std::fs::create_dir_all(root.join("ns_a_u1/app")).unwrap();
        let g = Glob::absolute(&format!("{}/*/*/*.log", root.display())).unwrap();
        let (tx, rx) = mpsc::channel();
        let mut d = Discovery::new(vec![g], vec![], tx, true);
        d.scan();
        assert_eq!(d.watched.len(), 3, "root, pod and container directories");
        assert!(d.watched_dir(&root.join("ns_a_u1")));

        let log = root.join("ns_a_u1/app/0.log");
        std::fs::write(&log, "x\n").unwrap();
        events_until(&rx, &d, |e, p| {
            e.flags.contains(ReadFlags::CREATE) && p == log
        });
        let rotated = root.join("ns_a_u1/app/0.log.1");
        std::fs::rename(&log, &rotated).unwrap();
        let seen = events_until(&rx, &d, |e, _| e.flags.contains(ReadFlags::MOVED_TO));
        let from = seen
            .iter()
            .find(|(f, _, _)| f.contains(ReadFlags::MOVED_FROM))
            .unwrap();
        let to = seen.last().unwrap();
        assert_eq!((&from.2, &to.2), (&log, &rotated));
        assert_eq!(from.1, to.1, "one cookie for both halves");

        std::fs::create_dir(root.join("ns_b_u2")).unwrap();
        let seen = events_until(&rx, &d, |e, _| e.flags.contains(ReadFlags::ISDIR));
        assert_eq!(seen.last().unwrap().2, root.join("ns_b_u2"));
        let (found, failed) = d.scan();
        assert_eq!((found.len(), failed), (0, 0));
        assert!(d.watched_dir(&root.join("ns_b_u2")), "a new pod is watched");

        // A deleted directory's watch goes away by itself and is forgotten.
        std::fs::remove_dir(root.join("ns_b_u2")).unwrap();
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(5);
        while d.watched_dir(&root.join("ns_b_u2")) {
            assert!(
                std::time::Instant::now() < deadline,
                "IN_IGNORED never came"
            );
            if let Ok(Wake::Fs(evs)) = rx.recv_timeout(std::time::Duration::from_millis(100)) {
                for ev in evs.iter().filter(|e| e.flags.contains(ReadFlags::IGNORED)) {
                    d.watch_gone(ev.wd());
                }
            }
        }
        assert_eq!(d.watched.len(), d.by_wd.len());
        drop(d); // joins the watcher thread
    }
}
