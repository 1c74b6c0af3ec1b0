//! The blocking side of `outputs.file`: appends payloads to the file, rotates it by size,
//! fsyncs on flush, and notices when someone else moved or deleted it. Called only from
//! tokio's blocking pool.
//!
//! Rotation: before a write that would make the file larger than `max_bytes`, the file is
//! closed, `path.N` deleted, `path.(i)` renamed to `path.(i+1)` from the oldest down, `path`
//! renamed to `path.1`, and a fresh `path` opened. A payload is never split: one larger than
//! `max_bytes` goes alone into a fresh file. A file that is still empty is never rotated.
//!
//! Rotation by others: a flush arms a check that the next write makes (so at most once per
//! flush, one `stat`): if `path` no longer names the open file (deleted, or moved away by
//! logrotate) the file is reopened, so data goes to the new `path`; if it is the same file,
//! its size is re-read, so a `copytruncate` does not trigger an early rotation. Between a
//! move and the next flush, writes still go to the moved file, which is where logrotate's
//! `delaycompress` expects them.
//!
//! A write that fails is rolled back (the file is truncated to its previous size, best
//! effort) and the file closed, so a retry neither duplicates nor tears a line.

use std::fs::{self, File, OpenOptions};
use std::io::{self, Write as _};
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// Validated settings of one `outputs.file` instance.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Settings {
    /// The file appended to.
    pub(super) path: PathBuf,
    /// Rotate before the file would grow past this; 0 disables rotation.
    pub(super) max_bytes: u64,
    /// Rotated files kept, at least 1.
    pub(super) max_files: u32,
    /// fsync on flush.
    pub(super) fsync: bool,
}

/// A failed file operation, naming the file.
#[derive(Debug, thiserror::Error)]
pub(super) enum WriteFileError {
    /// Opening (creating) the output file.
    #[error("cannot open output file {}: {source}", path.display())]
    Open { path: PathBuf, source: io::Error },
    /// Appending to it.
    #[error("cannot write output file {}: {source}", path.display())]
    Write { path: PathBuf, source: io::Error },
    /// Moving a file during rotation.
    #[error("cannot rotate output file {} to {}: {source}", from.display(), to.display())]
    Rotate {
        from: PathBuf,
        to: PathBuf,
        source: io::Error,
    },
    /// Deleting the oldest rotated file.
    #[error("cannot remove rotated output file {}: {source}", path.display())]
    Remove { path: PathBuf, source: io::Error },
    /// fsync of the file or its directory.
    #[error("cannot fsync {}: {source}", path.display())]
    Sync { path: PathBuf, source: io::Error },
}

/// Identifies a file independently of its name.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct FileId {
    dev: u64,
    ino: u64,
}

impl FileId {
    #[cfg(unix)]
    fn of(meta: &fs::Metadata) -> Self {
        use std::os::unix::fs::MetadataExt as _;
        FileId {
            dev: meta.dev(),
            ino: meta.ino(),
        }
    }

    /// Elsewhere every file looks the same: rotation by others is not detected.
    #[cfg(not(unix))]
    fn of(_meta: &fs::Metadata) -> Self {
        FileId { dev: 0, ino: 0 }
    }
}

/// The open output file.
#[derive(Debug)]
struct OpenFile {
    file: File,
    /// Bytes in the file, as far as we know.
    size: u64,
    id: FileId,
    /// A regular file. Anything else (`/dev/null`, a FIFO, a terminal) is never rotated: a
    /// rename would move the device node itself (as root, `/dev/null` became a regular file).
    regular: bool,
}

/// Appends to one output file; see the module doc.
#[derive(Debug)]
pub(super) struct Writer {
    settings: Arc<Settings>,
    file: Option<OpenFile>,
    /// Set by flush: the next write checks that `path` is still the open file.
    verify: bool,
    /// A file was created or renamed since the last fsync of the directory.
    dir_dirty: bool,
}

impl Writer {
    /// A writer that opens the file on its first write.
    pub(super) fn new(settings: Arc<Settings>) -> Self {
        Writer {
            settings,
            file: None,
            verify: false,
            dir_dirty: false,
        }
    }

    /// Appends `bytes`, rotating first if they would not fit.
    pub(super) fn write(&mut self, bytes: &[u8]) -> Result<(), WriteFileError> {
        if std::mem::take(&mut self.verify) {
            self.check_identity();
        }
        let len = bytes.len() as u64;
        let mut open = match self.file.take() {
            Some(open) => open,
            None => self.open()?,
        };
        let max = self.settings.max_bytes;
        if max > 0 && open.regular && open.size > 0 && open.size.saturating_add(len) > max {
            drop(open);
            self.rotate()?;
            open = self.open()?;
        }
        if let Err(source) = open.file.write_all(bytes) {
            // Best effort: take back a partial write so the retry starts on a clean line.
            // The file is closed (dropped) either way and reopened by the next write.
            if open.file.set_len(open.size).is_err() {
                let path = self.settings.path.display();
                tracing::warn!(path = %path, "partial write not rolled back");
            }
            return Err(WriteFileError::Write {
                path: self.settings.path.clone(),
                source,
            });
        }
        open.size += len;
        self.file = Some(open);
        Ok(())
    }

    /// fsyncs the file (and its directory, after a rotation) when configured, and arms the
    /// check for rotation by others. `File` has no user-space buffer, so there is nothing
    /// else to flush.
    pub(super) fn flush(&mut self) -> Result<(), WriteFileError> {
        self.verify = true;
        if !self.settings.fsync {
            return Ok(());
        }
        if let Some(open) = &self.file {
            open.file
                .sync_all()
                .map_err(|source| WriteFileError::Sync {
                    path: self.settings.path.clone(),
                    source,
                })?;
        }
        if self.dir_dirty {
            let dir = parent_dir(&self.settings.path);
            File::open(dir)
                .and_then(|d| d.sync_all())
                .map_err(|source| WriteFileError::Sync {
                    path: dir.to_path_buf(),
                    source,
                })?;
            self.dir_dirty = false;
        }
        Ok(())
    }

    /// Opens (creating) the file for appending.
    fn open(&mut self) -> Result<OpenFile, WriteFileError> {
        let path = &self.settings.path;
        let err = |source| WriteFileError::Open {
            path: path.clone(),
            source,
        };
        let file = OpenOptions::new()
            .create(true)
            .append(true)
            .open(path)
            .map_err(err)?;
        let meta = file.metadata().map_err(err)?;
        if meta.len() == 0 {
            // Possibly created just now: its directory entry needs an fsync too.
            self.dir_dirty = true;
        }
        Ok(OpenFile {
            size: meta.len(),
            id: FileId::of(&meta),
            regular: meta.is_file(),
            file,
        })
    }

    /// Closes the file if `path` no longer names it; refreshes its size if it does.
    fn check_identity(&mut self) {
        let Some(open) = &mut self.file else { return };
        let same = fs::metadata(&self.settings.path).is_ok_and(|m| FileId::of(&m) == open.id);
        match open.file.metadata() {
            Ok(meta) if same => open.size = meta.len(),
            _ => {
                let path = self.settings.path.display();
                tracing::info!(path = %path, "output file moved or deleted; reopening");
                self.file = None;
            }
        }
    }

    /// Shifts `path.(i)` to `path.(i+1)`, deleting `path.N`, then moves `path` to `path.1`.
    fn rotate(&mut self) -> Result<(), WriteFileError> {
        let path = &self.settings.path;
        let n = self.settings.max_files;
        let oldest = numbered(path, n);
        match fs::remove_file(&oldest) {
            Err(e) if e.kind() != io::ErrorKind::NotFound => {
                return Err(WriteFileError::Remove {
                    path: oldest,
                    source: e,
                });
            }
            _ => {}
        }
        for i in (1..n).rev() {
            rename_if_present(&numbered(path, i), &numbered(path, i + 1))?;
        }
        rename_if_present(path, &numbered(path, 1))?;
        self.dir_dirty = true;
        Ok(())
    }
}

/// `path.i`.
fn numbered(path: &Path, i: u32) -> PathBuf {
    let mut name = path.as_os_str().to_owned();
    name.push(format!(".{i}"));
    PathBuf::from(name)
}

/// Renames `from` to `to`; a missing `from` is not an error.
fn rename_if_present(from: &Path, to: &Path) -> Result<(), WriteFileError> {
    match fs::rename(from, to) {
        Err(e) if e.kind() != io::ErrorKind::NotFound => Err(WriteFileError::Rotate {
            from: from.to_path_buf(),
            to: to.to_path_buf(),
            source: e,
        }),
        _ => Ok(()),
    }
}

/// The directory holding `path` (`.` for a bare file name).
fn parent_dir(path: &Path) -> &Path {
    match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
    }
}
