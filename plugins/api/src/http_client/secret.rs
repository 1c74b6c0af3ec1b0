//! A secret (token, password) given inline or as a file, re-read when the file changes, so a
//! rotated token (a Kubernetes projected secret, a Vault agent file) is picked up without a
//! restart. The value never appears in `Debug` output or in errors.

use std::path::PathBuf;
use std::time::SystemTime;

use crate::Secret;

/// Where a secret comes from.
#[derive(Debug, Clone)]
pub enum SecretSource {
    /// Given in the config (possibly through `${VAR}`).
    Inline(Secret),
    /// Read from a file; surrounding whitespace is trimmed.
    File {
        /// The file.
        path: PathBuf,
        /// The last value read, with the file's modification time and length then.
        cached: Option<(SystemTime, u64, Secret)>,
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
        }
    }

    /// The current value: for a file, re-read when its modification time or length changed
    /// since the last read.
    pub async fn current(&mut self) -> Result<&Secret, ReadSecretError> {
        match self {
            SecretSource::Inline(s) => Ok(s),
            SecretSource::File { path, cached } => {
                let err = |source| ReadSecretError {
                    path: path.clone(),
                    source,
                };
                let meta = tokio::fs::metadata(&*path).await.map_err(err)?;
                let stamp = (meta.modified().map_err(err)?, meta.len());
                let fresh = matches!(cached, Some((m, l, _)) if (*m, *l) == stamp);
                if !fresh {
                    let text = tokio::fs::read_to_string(&*path).await.map_err(err)?;
                    *cached = Some((stamp.0, stamp.1, Secret::new(text.trim())));
                }
                Ok(&cached.as_ref().expect("cached was just filled").2)
            }
        }
    }
}
