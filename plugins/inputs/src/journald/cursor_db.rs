//! The cursor database: one row holding the journal cursor of the last entry whose batch, and
//! every batch before it, the outputs acknowledged. SQLite (compiled in) with the tail's
//! conventions (`tail/offsets.rs`): `locking_mode = EXCLUSIVE` set before the first access
//! (no `-shm` mapping), WAL, `PRAGMA quick_check` at open, the schema versioned with
//! `PRAGMA user_version`, and a damaged or newer database moved aside to
//! `<db>.corrupt-<unix time>` and rebuilt (the input then reads the journal from its start:
//! duplicates, never a loss). The tail's own database code is keyed by files and private to
//! it, so this small one stands apart.
//!
//! Everything here blocks: callers run it under `spawn_blocking`.

use std::path::{Path, PathBuf};
use std::time::Duration;

use rusqlite::{Connection, OptionalExtension, params};

/// Forward migrations; entry `i` takes `user_version` from `i` to `i + 1`.
const MIGRATIONS: &[&str] = &["CREATE TABLE cursor (
        id INTEGER PRIMARY KEY CHECK (id = 0),
        cursor TEXT NOT NULL,
        updated INTEGER NOT NULL
    );"];

/// The schema version this code writes.
const SCHEMA_VERSION: i64 = MIGRATIONS.len() as i64;

/// Writing the cursor failed.
#[derive(Debug, thiserror::Error)]
#[error("cannot commit the journal cursor to {path}: {source}")]
pub(crate) struct CommitCursorError {
    /// The database file.
    pub(crate) path: PathBuf,
    /// Why.
    #[source]
    pub(crate) source: rusqlite::Error,
}

/// How the database was found at start.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Opened {
    /// It existed and was sound (with or without a cursor).
    Existing,
    /// It did not exist.
    Created,
    /// It was damaged (or from a newer agent) and was moved aside.
    Rebuilt,
    /// No file could be used: the cursor lives in memory only.
    InMemory,
}

/// The open database.
pub(crate) struct CursorDb {
    conn: Connection,
    path: PathBuf,
}

impl std::fmt::Debug for CursorDb {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CursorDb")
            .field("path", &self.path)
            .finish_non_exhaustive()
    }
}

fn open_conn(path: &Path) -> rusqlite::Result<Connection> {
    let conn = Connection::open(path)?;
    conn.busy_timeout(Duration::from_secs(5))?;
    let _mode: String = conn.query_row("PRAGMA locking_mode=EXCLUSIVE", [], |r| r.get(0))?;
    let check: String = conn.query_row("PRAGMA quick_check", [], |r| r.get(0))?;
    if check != "ok" {
        return Err(corrupt(format!("quick_check: {check}")));
    }
    let _journal: String = conn.query_row("PRAGMA journal_mode=WAL", [], |r| r.get(0))?;
    conn.pragma_update(None, "synchronous", "NORMAL")?;
    let version: i64 = conn.query_row("PRAGMA user_version", [], |r| r.get(0))?;
    if version > SCHEMA_VERSION {
        return Err(corrupt(format!(
            "schema version {version} is newer than this agent's {SCHEMA_VERSION}"
        )));
    }
    for (i, sql) in MIGRATIONS.iter().enumerate().skip(version.max(0) as usize) {
        let tx = conn.unchecked_transaction()?;
        tx.execute_batch(sql)?;
        tx.pragma_update(None, "user_version", i as i64 + 1)?;
        tx.commit()?;
    }
    Ok(conn)
}

fn corrupt(msg: String) -> rusqlite::Error {
    rusqlite::Error::SqliteFailure(
        rusqlite::ffi::Error::new(rusqlite::ffi::SQLITE_CORRUPT),
        Some(msg),
    )
}

/// Renames `path` and its `-wal` to `<path>.corrupt-<now>`.
fn move_aside(path: &Path, now: i64) {
    for suffix in ["", "-wal", "-shm"] {
        let mut from = path.as_os_str().to_owned();
        from.push(suffix);
        let mut to = path.as_os_str().to_owned();
        to.push(format!(".corrupt-{now}{suffix}"));
        match std::fs::rename(&from, &to) {
            Ok(()) if suffix.is_empty() => {
                tracing::error!(path = %path.display(), moved_to = %PathBuf::from(to).display(), "cursor database damaged: moved aside and rebuilt");
            }
            Ok(()) => {}
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => {
                tracing::error!(path = %PathBuf::from(from).display(), error = %e, "cannot move the damaged cursor database aside");
            }
        }
    }
}

impl CursorDb {
    /// Opens (creating, migrating, or rebuilding) the database at `path`.
    pub(crate) fn open(path: &Path, now: i64) -> (CursorDb, Opened) {
        if let Some(dir) = path.parent()
            && let Err(e) = std::fs::create_dir_all(dir)
        {
            tracing::error!(dir = %dir.display(), error = %e, "cannot create the cursor database directory");
        }
        let existed = std::fs::metadata(path).is_ok();
        let (conn, opened) = match open_conn(path) {
            Ok(c) if existed => (c, Opened::Existing),
            Ok(c) => (c, Opened::Created),
            Err(e) => {
                tracing::error!(path = %path.display(), error = %e, "cursor database unusable");
                move_aside(path, now);
                match open_conn(path) {
                    Ok(c) => (c, Opened::Rebuilt),
                    Err(e) => {
                        tracing::error!(path = %path.display(), error = %e, "the journal cursor is kept in memory only: a restart reads the journal again");
                        let c = Connection::open_in_memory()
                            .and_then(|c| {
                                c.execute_batch(MIGRATIONS[0])?;
                                Ok(c)
                            })
                            .expect("an in-memory SQLite database opens");
                        (c, Opened::InMemory)
                    }
                }
            }
        };
        (
            CursorDb {
                conn,
                path: path.to_owned(),
            },
            opened,
        )
    }

    /// The saved cursor, if any.
    pub(crate) fn cursor(&self) -> Option<String> {
        match self
            .conn
            .query_row("SELECT cursor FROM cursor WHERE id = 0", [], |r| r.get(0))
            .optional()
        {
            Ok(c) => c,
            Err(e) => {
                tracing::error!(path = %self.path.display(), error = %e, "cannot read the journal cursor; reading from the start");
                None
            }
        }
    }

    /// Saves `cursor`; on a damaged file, rebuilds it and tries once more.
    pub(crate) fn commit(&mut self, cursor: &str, now: i64) -> Result<(), CommitCursorError> {
        let write = |conn: &Connection| {
            conn.execute(
                "INSERT INTO cursor (id, cursor, updated) VALUES (0, ?1, ?2)
                 ON CONFLICT (id) DO UPDATE SET cursor = ?1, updated = ?2",
                params![cursor, now],
            )
        };
        let err = |source| CommitCursorError {
            path: self.path.clone(),
            source,
        };
        match write(&self.conn) {
            Ok(_) => Ok(()),
            Err(e)
                if matches!(
                    e.sqlite_error_code(),
                    Some(rusqlite::ErrorCode::DatabaseCorrupt | rusqlite::ErrorCode::NotADatabase)
                ) =>
            {
                move_aside(&self.path, now);
                self.conn = open_conn(&self.path).map_err(err)?;
                write(&self.conn).map(|_| ()).map_err(err)
            }
            Err(e) => Err(err(e)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_cursor_survives_a_reopen_and_a_damaged_file_is_rebuilt() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("j/x.db");
        let (mut db, opened) = CursorDb::open(&path, 1);
        assert_eq!(opened, Opened::Created);
        assert_eq!(db.cursor(), None);
        db.commit("s=1;i=2", 5).unwrap();
        db.commit("s=1;i=3", 6).unwrap();
        drop(db);
        let (db, opened) = CursorDb::open(&path, 7);
        assert_eq!(opened, Opened::Existing);
        assert_eq!(db.cursor().as_deref(), Some("s=1;i=3"));
        drop(db);
        let _gone = std::fs::remove_file(path.with_extension("db-wal")).is_ok();
        std::fs::write(&path, b"this is not a database, just text long enough").unwrap();
        let (mut db, opened) = CursorDb::open(&path, 8);
        assert_eq!(opened, Opened::Rebuilt);
        assert_eq!(db.cursor(), None);
        db.commit("s=1;i=9", 9).unwrap();
        assert!(std::fs::read_dir(path.parent().unwrap()).unwrap().any(|e| {
            e.unwrap()
                .file_name()
                .to_string_lossy()
                .contains(".corrupt-8")
        }));
    }
}
