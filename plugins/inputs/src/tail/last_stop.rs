//! The record of when a tail input was last caught up with its files, kept beside the offset
//! database and not in it (`<db without extension>.last-stop`, unix seconds as text), so that
//! an offset database deleted or lost while the agent was stopped is noticed: the input ran
//! before, and a file modified since that moment holds lines nobody read.
//!
//! The reader sends the moment it last woke up before a stretch of reading that ended with
//! every file read to its end; the database thread writes it (temporary file, fsync, rename) at most every
//! [`WRITE_EVERY`] and once more when the input stops. After a kill -9 the record is at most
//! that old: more files count as modified since, and are read again (duplicates, never a
//! loss).

use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::time::Duration;

/// How often the record is rewritten at most while the input runs.
pub(crate) const WRITE_EVERY: Duration = Duration::from_secs(10);

/// Seconds taken off the record when comparing modification times: a write just before the
/// recorded moment whose inotify event had not reached the reader yet.
pub(crate) const MARGIN_SECS: i64 = 2;

/// Where the record of the database at `db` lives.
pub(crate) fn path_for(db: &Path) -> PathBuf {
    db.with_extension("last-stop")
}

/// The recorded moment (unix seconds), if there is a readable record.
pub(crate) fn read(db: &Path) -> Option<i64> {
    let path = path_for(db);
    match std::fs::read_to_string(&path) {
        Ok(text) => match text.trim().parse() {
            Ok(t) => Some(t),
            Err(e) => {
                tracing::warn!(path = %path.display(), error = %e, "ignoring an unreadable last-stop record");
                None
            }
        },
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => None,
        Err(e) => {
            tracing::warn!(path = %path.display(), error = %e, "cannot read the last-stop record");
            None
        }
    }
}

/// Writes `t` (unix seconds) as the record of the database at `db`, crash-safely.
pub(crate) fn write(db: &Path, t: i64) -> std::io::Result<()> {
    let path = path_for(db);
    let mut tmp = path.as_os_str().to_owned();
    tmp.push(".tmp");
    let tmp = PathBuf::from(tmp);
    {
        let mut f = std::fs::File::create(&tmp)?;
        f.write_all(format!("{t}\n").as_bytes())?;
        f.sync_all()?;
    }
    std::fs::rename(&tmp, &path)?;
    if let Some(dir) = path.parent()
        && let Ok(d) = std::fs::File::open(dir)
    {
        // The rename itself is durable once the directory is synced; a failure here only
        // makes the record older after a crash.
        drop(d.sync_all());
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_record_round_trips_beside_the_database() {
        let dir = tempfile::tempdir().unwrap();
        let db = dir.path().join("inputs.tail.0.db");
        assert_eq!(read(&db), None);
        write(&db, 1_700_000_000).unwrap();
        assert_eq!(read(&db), Some(1_700_000_000));
        assert_eq!(
            path_for(&db),
            dir.path().join("inputs.tail.0.last-stop"),
            "a name that `rm <db>*` leaves alone"
        );
        std::fs::write(path_for(&db), "garbage").unwrap();
        assert_eq!(read(&db), None);
    }
}
