//! The process's one file watcher (the `notify` crate, its inotify backend on a thread of its
//! own): the agent's config (`--watch-config`) and the plugins' credential and TLS files
//! (bearer token files, `ca_file`, client certificate and key) subscribe to it, and learn
//! that a file may have changed from a counter instead of polling the file on every use.
//!
//! A subscription watches the file's directory (a directory subscribes to itself), not the
//! file: editors replace a file by renaming a new one over it, and Kubernetes updates a
//! mounted Secret or ConfigMap by swapping the `..data` symlink of that directory, which a
//! watch on the old file would never see. Any event in the directory bumps the counter of
//! every subscription in it, so a bump means "read it again", not "it changed": readers
//! compare what they read. Watches are shared per directory and never removed (a process
//! watches a handful).
//!
//! When a directory cannot be watched (it does not exist yet, no inotify instance is left),
//! the subscription is not live ([`Watched::is_live`]) and its user falls back to checking
//! the file itself.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Mutex, OnceLock, PoisonError, RwLock};

use notify::{RecursiveMode, Watcher as _};
use tokio::sync::watch;
use tracing::{debug, warn};

/// A subscription to one file (or directory).
#[derive(Debug, Clone)]
pub struct Watched {
    rx: Option<watch::Receiver<u64>>,
}

impl Watched {
    /// A subscription that never fires: the fallback when watching is not possible.
    pub fn dead() -> Self {
        Watched { rx: None }
    }

    /// True when changes are reported; false means the user must check the file itself.
    pub fn is_live(&self) -> bool {
        self.rx.is_some()
    }

    /// The number of events seen in the file's directory so far.
    pub fn generation(&self) -> u64 {
        self.rx.as_ref().map_or(0, |rx| *rx.borrow())
    }

    /// Completes at the next event in the file's directory (never for a dead subscription).
    pub async fn changed(&mut self) {
        match &mut self.rx {
            Some(rx) => {
                if rx.changed().await.is_err() {
                    // The watcher is gone (never, in a running process): wait forever.
                    std::future::pending::<()>().await;
                }
            }
            None => std::future::pending().await,
        }
    }
}

/// The process's file watcher. Two locks: `watcher` serialises subscriptions (notify's
/// `watch` waits for its event thread), `dirs` is all the event handler takes, so the event
/// thread never waits for a subscriber that waits for it.
pub struct FileWatch {
    watcher: Mutex<Option<notify::RecommendedWatcher>>,
    dirs: RwLock<HashMap<PathBuf, watch::Sender<u64>>>,
}

impl FileWatch {
    /// The process's one instance (its thread starts at the first subscription).
    pub fn global() -> &'static FileWatch {
        static ONE: OnceLock<FileWatch> = OnceLock::new();
        ONE.get_or_init(|| FileWatch {
            watcher: Mutex::new(None),
            dirs: RwLock::new(HashMap::new()),
        })
    }

    /// Subscribes to `path`: a file is watched through its directory, a directory itself.
    pub fn watch(&'static self, path: &Path) -> Watched {
        let dir = if path.is_dir() {
            path.to_owned()
        } else {
            match path.parent() {
                Some(p) if !p.as_os_str().is_empty() => p.to_owned(),
                _ => PathBuf::from("."),
            }
        };
        let dir = std::fs::canonicalize(&dir).unwrap_or(dir);
        let mut watcher = self.watcher.lock().unwrap_or_else(PoisonError::into_inner);
        if let Some(tx) = self.dirs().get(&dir) {
            return Watched {
                rx: Some(tx.subscribe()),
            };
        }
        if watcher.is_none() {
            match notify::recommended_watcher(move |event| self.on_event(event)) {
                Ok(w) => *watcher = Some(w),
                Err(e) => {
                    warn!(error = %e, "cannot start the file watcher; files are checked on use");
                    return Watched::dead();
                }
            }
        }
        let Some(w) = watcher.as_mut() else {
            return Watched::dead();
        };
        // Registered first, so an event right after the watch starts is not missed.
        let (tx, rx) = watch::channel(0);
        self.dirs_mut().insert(dir.clone(), tx);
        if let Err(e) = w.watch(&dir, RecursiveMode::NonRecursive) {
            self.dirs_mut().remove(&dir);
            warn!(dir = %dir.display(), error = %e, "cannot watch a directory; its files are checked on use");
            return Watched::dead();
        }
        debug!(dir = %dir.display(), "watching");
        Watched { rx: Some(rx) }
    }

    fn dirs(&self) -> std::sync::RwLockReadGuard<'_, HashMap<PathBuf, watch::Sender<u64>>> {
        self.dirs.read().unwrap_or_else(PoisonError::into_inner)
    }

    fn dirs_mut(&self) -> std::sync::RwLockWriteGuard<'_, HashMap<PathBuf, watch::Sender<u64>>> {
        self.dirs.write().unwrap_or_else(PoisonError::into_inner)
    }

    fn on_event(&self, event: notify::Result<notify::Event>) {
        let event = match event {
            Ok(e) => e,
            Err(e) => {
                warn!(error = %e, "file watcher error");
                // Missed events (a queue overflow): everyone reads again.
                for tx in self.dirs().values() {
                    tx.send_modify(|g| *g += 1);
                }
                return;
            }
        };
        if event.kind.is_access() {
            return;
        }
        let dirs = self.dirs();
        for path in &event.paths {
            for dir in [Some(path.as_path()), path.parent()].into_iter().flatten() {
                if let Some(tx) = dirs.get(dir) {
                    tx.send_modify(|g| *g += 1);
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    async fn bumped(w: &mut Watched) {
        tokio::time::timeout(Duration::from_secs(10), w.changed())
            .await
            .expect("a change is reported");
    }

    #[tokio::test]
    async fn a_rewrite_and_a_symlink_swap_are_seen() {
        let tmp = tempfile::tempdir().unwrap();
        let file = tmp.path().join("token");
        std::fs::write(&file, "a").unwrap();
        let mut w = FileWatch::global().watch(&file);
        assert!(w.is_live());
        let g = w.generation();
        std::fs::write(&file, "b").unwrap();
        bumped(&mut w).await;
        assert!(w.generation() > g);

        // Kubernetes' update: the file is a link through `..data`, which is swapped.
        let mount = tmp.path().join("mount");
        std::fs::create_dir_all(mount.join("..v1")).unwrap();
        std::fs::write(mount.join("..v1/token"), "one").unwrap();
        std::os::unix::fs::symlink("..v1", mount.join("..data")).unwrap();
        std::os::unix::fs::symlink("..data/token", mount.join("token")).unwrap();
        let mut w = FileWatch::global().watch(&mount.join("token"));
        std::fs::create_dir_all(mount.join("..v2")).unwrap();
        std::fs::write(mount.join("..v2/token"), "two").unwrap();
        std::os::unix::fs::symlink("..v2", mount.join("..data_tmp")).unwrap();
        std::fs::rename(mount.join("..data_tmp"), mount.join("..data")).unwrap();
        bumped(&mut w).await;
        assert_eq!(std::fs::read_to_string(mount.join("token")).unwrap(), "two");
    }

    #[test]
    fn a_missing_directory_gives_a_dead_subscription() {
        let w = FileWatch::global().watch(Path::new("/nonexistent/dir/token"));
        assert!(!w.is_live());
        assert_eq!(w.generation(), 0);
    }
}
