//! A secret (token, password) given inline or as a file, re-read when the file changes, so a
//! rotated token (a Kubernetes projected secret, a Vault agent file) is picked up without a
//! restart. The value never appears in `Debug` output or in errors.
//!
//! A file is watched through the process's file watcher ([`crate::file_watch`]) from its
//! first use: a request reads a counter, and the file is read again only after an event in
//! its directory. Where the directory cannot be watched, each use compares the file's
//! modification time and length instead.

use std::path::PathBuf;
use std::time::SystemTime;

use crate::Secret;
use crate::file_watch::{FileWatch, Watched};

/// When a file's value was read: the watcher's count then, or the file's modification time
/// and length (unwatched).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ReadStamp {
    /// The watcher's event count.
    Watched(u64),
    /// Modification time and length.
    Stat(SystemTime, u64),
}

/// Where a secret comes from.
#[derive(Debug, Clone)]
pub enum SecretSource {
    /// Given in the config (possibly through `${VAR}`).
    Inline(Secret),
    /// Read from a file; surrounding whitespace is trimmed.
    File {
        /// The file.
        path: PathBuf,
        /// The last value read, and when.
        cached: Option<(ReadStamp, Secret)>,
        /// The file's subscription to the watcher, from the first use.
        watched: Option<Watched>,
    },
}

/// A secret file could not be read.
#[derive(Debug, thiserror::Error)]
#[error("cannot read secret file {}: {source}", path.display())]
pub struct ReadSecretError {
    /// The file.
    pub path: PathBuf,
    /// The cause.
    pub source: std::io::Error,
}

impl SecretSource {
    /// A secret read from `path` on first use.
    pub fn file(path: impl Into<PathBuf>) -> Self {
        SecretSource::File {
            path: path.into(),
            cached: None,
            watched: None,
        }
    }

    /// The current value: for a file, read again after the watcher saw its directory change
    /// (or, unwatched, when its modification time or length changed since the last read).
    pub async fn current(&mut self) -> Result<&Secret, ReadSecretError> {
        match self {
            SecretSource::Inline(s) => Ok(s),
            SecretSource::File {
                path,
                cached,
                watched,
            } => {
                let err = |source| ReadSecretError {
                    path: path.clone(),
                    source,
                };
                let watched = watched.get_or_insert_with(|| FileWatch::global().watch(path));
                // The count is taken before the read: a change during the read reads again.
                let stamp = if watched.is_live() {
                    ReadStamp::Watched(watched.generation())
                } else {
                    let meta = tokio::fs::metadata(&*path).await.map_err(err)?;
                    ReadStamp::Stat(meta.modified().map_err(err)?, meta.len())
                };
                let fresh = matches!(cached, Some((s, _)) if *s == stamp);
                if !fresh {
                    let text = tokio::fs::read_to_string(&*path).await.map_err(err)?;
                    *cached = Some((stamp, Secret::new(text.trim())));
                }
                Ok(&cached.as_ref().expect("cached was just filled").1)
            }
        }
    }
}
