//! `--watch-config` (or `agent.watch_config = true`): the config file, or every file of a
//! config directory, watched through the process's file watcher
//! ([`gleaner_api::file_watch`]). An event in the watched directory makes the files be read
//! again, and only a change of their contents (or of the set of `*.toml` files) asks for a
//! reload: an editor's temporary files, or other files of `/etc`, do not.
//!
//! The directory is watched, not the file, so both ways a file is replaced are seen: an
//! editor renaming a new file over it, and a Kubernetes ConfigMap update, which writes a new
//! timestamped directory and swaps the mount's `..data` symlink to it (the config file is a
//! link through `..data`).

use std::hash::{DefaultHasher, Hash as _, Hasher as _};
use std::path::{Path, PathBuf};

use gleaner_api::file_watch::{FileWatch, Watched};
use tracing::warn;

use super::load::config_paths;

/// A watched config.
#[derive(Debug)]
pub struct ConfigWatch {
    path: PathBuf,
    watched: Watched,
    /// The contents last seen.
    seen: u64,
    /// A change already known (made between loading the config and watching it).
    pending: bool,
}

/// What the config files hold: a hash of their names and bytes, in load order. A file that
/// cannot be read counts as its error, so it changing back is a change too.
pub fn fingerprint(path: &Path) -> u64 {
    let mut h = DefaultHasher::new();
    match config_paths(path) {
        Ok(files) => {
            for f in files {
                f.hash(&mut h);
                match std::fs::read(&f) {
                    Ok(bytes) => bytes.hash(&mut h),
                    Err(e) => e.kind().hash(&mut h),
                }
            }
        }
        Err(e) => e.to_string().hash(&mut h),
    }
    h.finish()
}

impl ConfigWatch {
    /// Starts watching `path` (a file or a directory); `loaded` is the [`fingerprint`] taken
    /// before the running config was read, so a change made since is reported at once.
    /// `None` when it cannot be watched (logged): SIGHUP still reloads.
    pub fn new(path: &Path, loaded: u64) -> Option<Self> {
        let watched = FileWatch::global().watch(path);
        if !watched.is_live() {
            warn!(path = %path.display(), "cannot watch the config; reload it with SIGHUP");
            return None;
        }
        // Taken once the watch is in place: a change after this makes an event.
        let seen = fingerprint(path);
        Some(ConfigWatch {
            path: path.to_owned(),
            watched,
            seen,
            pending: seen != loaded,
        })
    }

    /// Completes when the config's contents differ from the last time this returned (or
    /// from the config that was loaded).
    pub async fn changed(&mut self) {
        if std::mem::take(&mut self.pending) {
            return;
        }
        loop {
            self.watched.changed().await;
            let path = self.path.clone();
            let now = tokio::task::spawn_blocking(move || fingerprint(&path))
                .await
                .unwrap_or_default();
            // Unchanged contents are not logged: the agent's own log file may be in the
            // watched directory, and each line would make another event.
            if now != self.seen {
                self.seen = now;
                return;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    async fn changes(w: &mut ConfigWatch) -> bool {
        tokio::time::timeout(Duration::from_secs(10), w.changed())
            .await
            .is_ok()
    }

    #[tokio::test]
    async fn a_rewrite_is_a_change_and_a_neighbour_is_not() {
        let tmp = tempfile::tempdir().unwrap();
        let file = tmp.path().join("gleaner.toml");
        std::fs::write(&file, "[agent]\n").unwrap();
        let mut w = ConfigWatch::new(&file, fingerprint(&file)).expect("watchable");
        // An editor's swap file next to it: events, but the config is the same.
        std::fs::write(tmp.path().join(".gleaner.toml.swp"), "x").unwrap();
        std::fs::write(&file, "[agent]\n").unwrap();
        let quiet = tokio::time::timeout(Duration::from_millis(500), w.changed()).await;
        assert!(quiet.is_err(), "same contents: no reload");
        // Replaced by a rename, as editors do.
        let new = tmp.path().join("gleaner.toml.new");
        std::fs::write(&new, "[agent]\ninterval = \"5s\"\n").unwrap();
        std::fs::rename(&new, &file).unwrap();
        assert!(changes(&mut w).await);
    }

    #[tokio::test]
    async fn a_change_before_watching_is_reported_at_once() {
        let tmp = tempfile::tempdir().unwrap();
        let file = tmp.path().join("gleaner.toml");
        std::fs::write(&file, "[agent]\n").unwrap();
        let loaded = fingerprint(&file);
        std::fs::write(&file, "[agent]\nhostname = \"x\"\n").unwrap();
        let mut w = ConfigWatch::new(&file, loaded).expect("watchable");
        assert!(changes(&mut w).await);
    }

    #[tokio::test]
    async fn a_configmap_update_is_seen() {
        let tmp = tempfile::tempdir().unwrap();
        let mount = tmp.path();
        std::fs::create_dir(mount.join("..2026_01")).unwrap();
        std::fs::write(mount.join("..2026_01/gleaner.toml"), "[agent]\n").unwrap();
        std::os::unix::fs::symlink("..2026_01", mount.join("..data")).unwrap();
        std::os::unix::fs::symlink("..data/gleaner.toml", mount.join("gleaner.toml")).unwrap();
        let mut w = ConfigWatch::new(mount, fingerprint(mount)).expect("watchable");
        std::fs::create_dir(mount.join("..2026_02")).unwrap();
        std::fs::write(
            mount.join("..2026_02/gleaner.toml"),
            "[agent]\nhostname = \"b\"\n",
        )
        .unwrap();
        std::os::unix::fs::symlink("..2026_02", mount.join("..data_tmp")).unwrap();
        std::fs::rename(mount.join("..data_tmp"), mount.join("..data")).unwrap();
        assert!(changes(&mut w).await);
    }
}
