//! The offset database: SQLite (compiled in), WAL mode, one row per file keyed by
//! (device, inode) and checked against a fingerprint of the file's first bytes, holding the
//! last path, the acknowledged offset and when the file was last seen.
//!
//! - The connection uses `locking_mode = EXCLUSIVE`, set before its first access, so SQLite
//!   keeps the WAL index in heap memory and never maps a `-shm` file (a `-shm` file cut or
//!   made unwritable under a mapping is a SIGBUS). The agent holds the lock on `data_dir`,
//!   so no other process shares the database anyway; a `-shm` left by an older agent is
//!   removed.
//! - `prefixes` remembers, by path and fingerprint, how far a file was acknowledged before it
//!   was truncated (copytruncate): a copy of it found later (`<name>.1`) starts there.
//! - The schema is versioned with `PRAGMA user_version`; [`MIGRATIONS`] run forward in one
//!   transaction each. A database from a newer agent is moved aside like a corrupt one.
//! - A database that cannot be opened or fails `PRAGMA quick_check` is renamed to
//!   `<db>.corrupt-<unix time>` (with its `-wal`/`-shm`), logged, and rebuilt empty; if even
//!   that fails, offsets live in memory only and the input keeps working.
//! - Commits come in batches, one transaction each ([`OffsetDb::commit`]); a commit that fails
//!   keeps its rows dirty and they are written with the next one. A commit that finds the
//!   file corrupt rebuilds it from the in-memory mirror of every row.
//! - The `meta` table remembers that the input has started once, at its first commit or once
//!   it was caught up with its files (`read_from_head = false` applies to the very first
//!   start only).
//!
//! Everything here blocks; it runs on the database thread ([`spawn`], `offsets/thread.rs`).
//! Over 400 lines because the schema, opening and rebuilding, and the mirrored writes of rows
//! and prefixes share one connection and one mirror; the thread is apart.
//!
//! Over 400 lines on purpose: every SQL statement on the offset database (schema, migrations,
//! load, commit, copytruncate prefixes, retention) lives here, so the schema is read in one place.

use std::collections::{HashMap, HashSet};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use rusqlite::{Connection, ErrorCode, OptionalExtension, params};

use super::file::{FileKey, Fingerprint};

/// Forward migrations; entry `i` takes `user_version` from `i` to `i + 1`.
const MIGRATIONS: &[&str] = &[
    // 1: files and meta.
    "CREATE TABLE files (
        dev INTEGER NOT NULL,
        ino INTEGER NOT NULL,
        fp_len INTEGER NOT NULL,
        fp_hash INTEGER NOT NULL,
        path TEXT NOT NULL,
        offset INTEGER NOT NULL,
        last_seen INTEGER NOT NULL,
        PRIMARY KEY (dev, ino)
    ) WITHOUT ROWID;
    CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL) WITHOUT ROWID;",
    // 2: acknowledged prefixes of truncated files.
    "CREATE TABLE prefixes (
        path TEXT NOT NULL,
        fp_len INTEGER NOT NULL,
        fp_hash INTEGER NOT NULL,
        offset INTEGER NOT NULL,
        last_seen INTEGER NOT NULL,
        PRIMARY KEY (path, fp_len, fp_hash)
    ) WITHOUT ROWID;",
];

/// Acknowledged prefixes kept per path at most (a program that truncates its own log often
/// would otherwise add one per truncation until `db_retention`).
pub(crate) const PREFIXES_PER_PATH: usize = 8;

/// The schema version this code writes.
pub(crate) const SCHEMA_VERSION: i64 = MIGRATIONS.len() as i64;

/// One remembered file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Row {
    /// Fingerprint of its first bytes.
    pub(crate) fp: Fingerprint,
    /// Last known path (shared with the reader's file and its commits, not copied per row).
    pub(crate) path: Arc<Path>,
    /// Acknowledged offset.
    pub(crate) offset: u64,
    /// Unix seconds when last committed or seen.
    pub(crate) last_seen: i64,
}

/// An offset to record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Commit {
    /// The file.
    pub(crate) key: FileKey,
    /// Its fingerprint now.
    pub(crate) fp: Fingerprint,
    /// Its path now (the reader's, shared). Stored as text, lossily for a path that is not
    /// UTF-8, as it always was.
    pub(crate) path: Arc<Path>,
    /// Everything before this offset is acknowledged.
    pub(crate) offset: u64,
    /// The file was truncated after `offset` (copytruncate): this is the acknowledged prefix
    /// of its content before the truncation, kept by path and fingerprint for a copy of it to
    /// start from, not the file's current offset.
    pub(crate) ended: bool,
}

/// Opening the database failed even after moving a bad one aside.
#[derive(Debug, thiserror::Error)]
#[error("cannot open offset database {path}: {source}")]
pub(crate) struct OpenOffsetsError {
    /// The database file.
    pub(crate) path: PathBuf,
    /// Why.
    #[source]
    pub(crate) source: rusqlite::Error,
}

/// Writing offsets failed.
#[derive(Debug, thiserror::Error)]
#[error("cannot commit offsets to {path}: {source}")]
pub(crate) struct CommitOffsetError {
    /// The database file.
    pub(crate) path: PathBuf,
    /// Why.
    #[source]
    pub(crate) source: rusqlite::Error,
}

impl CommitOffsetError {
    /// True when the file is damaged (rebuild), false when the error may pass (retry).
    pub(crate) fn is_corrupt(&self) -> bool {
        matches!(
            self.source.sqlite_error_code(),
            Some(ErrorCode::DatabaseCorrupt | ErrorCode::NotADatabase)
        )
    }
}

/// How the database was found at start.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Opened {
    /// It existed and was sound.
    Existing,
    /// It did not exist.
    Created,
    /// It was damaged (or from a newer agent) and was moved aside.
    Rebuilt,
    /// No file could be used: offsets are kept in memory only.
    InMemory,
}

/// The open database and a mirror of its rows.
pub(crate) struct OffsetDb {
    conn: Connection,
    path: PathBuf,
    mirror: HashMap<FileKey, Row>,
    dirty: HashSet<FileKey>,
    /// Acknowledged prefixes of truncated files (few: bounded per path and by retention).
    prefixes: Vec<Row>,
    prefixes_dirty: bool,
    started: bool,
}

impl std::fmt::Debug for OffsetDb {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OffsetDb")
            .field("path", &self.path)
            .field("rows", &self.mirror.len())
            .finish_non_exhaustive()
    }
}

fn open_conn(path: &Path) -> rusqlite::Result<Connection> {
    let conn = Connection::open(path)?;
    conn.busy_timeout(Duration::from_secs(5))?;
    // Before any access: the WAL index then lives in heap memory, not in a mapped `-shm`.
    let locking: String = conn.query_row("PRAGMA locking_mode=EXCLUSIVE", [], |r| r.get(0))?;
    if !locking.eq_ignore_ascii_case("exclusive") {
        tracing::warn!(path = %path.display(), mode = %locking, "offset database not in exclusive locking mode");
    }
    let check: String = conn.query_row("PRAGMA quick_check", [], |r| r.get(0))?;
    if check != "ok" {
        return Err(rusqlite::Error::SqliteFailure(
            rusqlite::ffi::Error::new(rusqlite::ffi::SQLITE_CORRUPT),
            Some(format!("quick_check: {check}")),
        ));
    }
    let mode: String = conn.query_row("PRAGMA journal_mode=WAL", [], |r| r.get(0))?;
    if !mode.eq_ignore_ascii_case("wal") {
        tracing::debug!(path = %path.display(), mode = %mode, "offset database not in WAL mode");
    }
    conn.pragma_update(None, "synchronous", "NORMAL")?;
    migrate(&conn)?;
    // Written at least once under the exclusive lock: a `-shm` file of an older agent (or of
    // someone's `sqlite3` session) is not used, and goes.
    let mut shm = path.as_os_str().to_owned();
    shm.push("-shm");
    if let Err(e) = std::fs::remove_file(&shm)
        && e.kind() != std::io::ErrorKind::NotFound
    {
        tracing::debug!(path = %PathBuf::from(shm).display(), error = %e, "cannot remove an unused -shm file");
    }
    Ok(conn)
}

fn migrate(conn: &Connection) -> rusqlite::Result<()> {
    let version: i64 = conn.query_row("PRAGMA user_version", [], |r| r.get(0))?;
    if version > SCHEMA_VERSION {
        return Err(rusqlite::Error::SqliteFailure(
            rusqlite::ffi::Error::new(rusqlite::ffi::SQLITE_NOTADB),
            Some(format!(
                "schema version {version} is newer than this agent's {SCHEMA_VERSION}"
            )),
        ));
    }
    for (i, sql) in MIGRATIONS.iter().enumerate().skip(version.max(0) as usize) {
        let tx = conn.unchecked_transaction()?;
        tx.execute_batch(sql)?;
        tx.pragma_update(None, "user_version", i as i64 + 1)?;
        tx.commit()?;
    }
    Ok(())
}

/// Renames `path` (and its `-wal`, `-shm`) to `<path>.corrupt-<now>`.
fn move_aside(path: &Path, now: i64) {
    let mut name = path.as_os_str().to_owned();
    name.push(format!(".corrupt-{now}"));
    let aside = PathBuf::from(name);
    match std::fs::rename(path, &aside) {
        Ok(()) => {
            tracing::error!(path = %path.display(), moved_to = %aside.display(), "offset database damaged: moved aside and rebuilt")
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
        Err(e) => {
            tracing::error!(path = %path.display(), error = %e, "cannot move the damaged offset database aside; removing it");
            if let Err(e) = std::fs::remove_file(path) {
                tracing::error!(path = %path.display(), error = %e, "cannot remove the damaged offset database");
            }
        }
    }
    for suffix in ["-wal", "-shm"] {
        let mut side = path.as_os_str().to_owned();
        side.push(suffix);
        let mut to = aside.as_os_str().to_owned();
        to.push(suffix);
        if let Err(e) = std::fs::rename(&side, &to)
            && e.kind() != std::io::ErrorKind::NotFound
        {
            tracing::warn!(path = %PathBuf::from(side).display(), error = %e, "cannot move offset database side file");
        }
    }
}

impl OffsetDb {
    /// Opens (creating, migrating, or rebuilding) the database at `path`.
    pub(crate) fn open(path: &Path, now: i64) -> (OffsetDb, Opened) {
        if let Some(dir) = path.parent()
            && let Err(e) = std::fs::create_dir_all(dir)
        {
            tracing::error!(dir = %dir.display(), error = %e, "cannot create the offset database directory");
        }
        let existed = std::fs::metadata(path).is_ok();
        let (conn, opened) = match open_conn(path) {
            Ok(c) => (
                c,
                if existed {
                    Opened::Existing
                } else {
                    Opened::Created
                },
            ),
            Err(e) => {
                tracing::error!(path = %path.display(), error = %e, "offset database unusable");
                move_aside(path, now);
                match open_conn(path) {
                    Ok(c) => (c, Opened::Rebuilt),
                    Err(e) => {
                        let err = OpenOffsetsError {
                            path: path.to_owned(),
                            source: e,
                        };
                        tracing::error!(error = %err, "offsets are kept in memory only: a restart re-reads files");
                        let c = Connection::open_in_memory()
                            .and_then(|c| migrate(&c).map(|()| c))
                            .expect("an in-memory SQLite database opens");
                        (c, Opened::InMemory)
                    }
                }
            }
        };
        let mut db = OffsetDb {
            conn,
            path: path.to_owned(),
            mirror: HashMap::new(),
            dirty: HashSet::new(),
            prefixes: Vec::new(),
            prefixes_dirty: false,
            started: false,
        };
        match db.read_all() {
            Ok((rows, prefixes, started)) => {
                db.mirror = rows;
                db.prefixes = prefixes;
                db.started = started || opened == Opened::Rebuilt;
            }
            Err(e) => {
                tracing::error!(path = %path.display(), error = %e, "cannot read offsets; starting empty");
            }
        }
        (db, opened)
    }

    fn read_all(&self) -> rusqlite::Result<(HashMap<FileKey, Row>, Vec<Row>, bool)> {
        let mut stmt = self
            .conn
            .prepare("SELECT dev, ino, fp_len, fp_hash, path, offset, last_seen FROM files")?;
        let rows = stmt
            .query_map([], |r| {
                Ok((
                    FileKey {
                        dev: r.get::<_, i64>(0)? as u64,
                        ino: r.get::<_, i64>(1)? as u64,
                    },
                    Row {
                        fp: Fingerprint {
                            len: r.get::<_, i64>(2)?.clamp(0, i64::from(u32::MAX)) as u32,
                            hash: r.get::<_, i64>(3)? as u64,
                        },
                        path: Arc::from(Path::new(&r.get::<_, String>(4)?)),
                        offset: r.get::<_, i64>(5)?.max(0) as u64,
                        last_seen: r.get(6)?,
                    },
                ))
            })?
            .collect::<rusqlite::Result<HashMap<_, _>>>()?;
        let mut stmt = self
            .conn
            .prepare("SELECT path, fp_len, fp_hash, offset, last_seen FROM prefixes")?;
        let prefixes = stmt
            .query_map([], |r| {
                Ok(Row {
                    path: Arc::from(Path::new(&r.get::<_, String>(0)?)),
                    fp: Fingerprint {
                        len: r.get::<_, i64>(1)?.clamp(0, i64::from(u32::MAX)) as u32,
                        hash: r.get::<_, i64>(2)? as u64,
                    },
                    offset: r.get::<_, i64>(3)?.max(0) as u64,
                    last_seen: r.get(4)?,
                })
            })?
            .collect::<rusqlite::Result<Vec<_>>>()?;
        let started = self
            .conn
            .query_row("SELECT value FROM meta WHERE key = 'started'", [], |r| {
                r.get::<_, String>(0)
            })
            .optional()?
            .is_some();
        Ok((rows, prefixes, started))
    }

    /// Every remembered file.
    pub(crate) fn rows(&self) -> &HashMap<FileKey, Row> {
        &self.mirror
    }

    /// Acknowledged prefixes of truncated files.
    pub(crate) fn prefixes(&self) -> &[Row] {
        &self.prefixes
    }

    /// True when the input has committed at least once with this database.
    pub(crate) fn started(&self) -> bool {
        self.started
    }

    /// The database file.
    pub(crate) fn path(&self) -> &Path {
        &self.path
    }

    /// Records offsets (and that the input has started) in one transaction. On error the
    /// rows stay dirty for the next commit; a damaged file is rebuilt from the mirror.
    pub(crate) fn commit(&mut self, entries: &[Commit], now: i64) -> Result<(), CommitOffsetError> {
        for c in entries {
            if c.ended {
                self.add_prefix(c, now);
                continue;
            }
            self.mirror.insert(
                c.key,
                Row {
                    fp: c.fp,
                    path: Arc::clone(&c.path),
                    offset: c.offset,
                    last_seen: now,
                },
            );
            self.dirty.insert(c.key);
        }
        match self.write_dirty() {
            Ok(()) => Ok(()),
            Err(e) if e.is_corrupt() => {
                move_aside(&self.path, now);
                match open_conn(&self.path) {
                    Ok(c) => {
                        self.conn = c;
                        self.dirty = self.mirror.keys().copied().collect();
                        self.prefixes_dirty = !self.prefixes.is_empty();
                        self.write_dirty()
                    }
                    Err(source) => Err(CommitOffsetError {
                        path: self.path.clone(),
                        source,
                    }),
                }
            }
            Err(e) => Err(e),
        }
    }

    /// Remembers an acknowledged prefix (the latest per path and fingerprint), keeping the
    /// newest [`PREFIXES_PER_PATH`] of its path.
    fn add_prefix(&mut self, c: &Commit, now: i64) {
        let row = Row {
            fp: c.fp,
            path: Arc::clone(&c.path),
            offset: c.offset,
            last_seen: now,
        };
        match self
            .prefixes
            .iter_mut()
            .find(|r| r.fp == c.fp && r.path == c.path)
        {
            Some(r) => *r = row,
            None => self.prefixes.push(row),
        }
        let same_path = self.prefixes.iter().filter(|r| r.path == c.path).count();
        if same_path > PREFIXES_PER_PATH
            && let Some((i, _)) = self
                .prefixes
                .iter()
                .enumerate()
                .filter(|(_, r)| r.path == c.path)
                .min_by_key(|(_, r)| r.last_seen)
        {
            self.prefixes.swap_remove(i);
        }
        self.prefixes_dirty = true;
    }

    fn write_dirty(&mut self) -> Result<(), CommitOffsetError> {
        let err = |source| CommitOffsetError {
            path: self.path.clone(),
            source,
        };
        let tx = self.conn.unchecked_transaction().map_err(err)?;
        {
            let mut up = tx
                .prepare_cached(
                    "INSERT INTO files (dev, ino, fp_len, fp_hash, path, offset, last_seen)
                     VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)
                     ON CONFLICT (dev, ino) DO UPDATE SET fp_len = ?3, fp_hash = ?4,
                        path = ?5, offset = ?6, last_seen = ?7",
                )
                .map_err(err)?;
            for key in &self.dirty {
                if let Some(r) = self.mirror.get(key) {
                    up.execute(params![
                        key.dev as i64,
                        key.ino as i64,
                        i64::from(r.fp.len),
                        r.fp.hash as i64,
                        r.path.to_string_lossy(),
                        r.offset as i64,
                        r.last_seen
                    ])
                    .map_err(err)?;
                }
            }
            if self.prefixes_dirty {
                // Few rows: rewritten whole, which also drops the ones pushed out per path.
                tx.execute("DELETE FROM prefixes", []).map_err(err)?;
                let mut ins = tx
                    .prepare_cached(
                        "INSERT OR REPLACE INTO prefixes (path, fp_len, fp_hash, offset, last_seen)
                         VALUES (?1, ?2, ?3, ?4, ?5)",
                    )
                    .map_err(err)?;
                for r in &self.prefixes {
                    ins.execute(params![
                        r.path.to_string_lossy(),
                        i64::from(r.fp.len),
                        r.fp.hash as i64,
                        r.offset as i64,
                        r.last_seen
                    ])
                    .map_err(err)?;
                }
            }
            if !self.started {
                tx.execute(
                    "INSERT OR IGNORE INTO meta (key, value) VALUES ('started', '1')",
                    [],
                )
                .map_err(err)?;
            }
        }
        tx.commit().map_err(err)?;
        self.dirty.clear();
        self.prefixes_dirty = false;
        self.started = true;
        Ok(())
    }

    /// Marks files as still present (so retention keeps them).
    pub(crate) fn touch(&mut self, keys: &[FileKey], now: i64) -> Result<(), CommitOffsetError> {
        let mut any = false;
        for k in keys {
            if let Some(r) = self.mirror.get_mut(k) {
                r.last_seen = now;
                self.dirty.insert(*k);
                any = true;
            }
        }
        if any { self.write_dirty() } else { Ok(()) }
    }

    /// Forgets files not seen since `before` (unix seconds); returns how many.
    pub(crate) fn forget_older(&mut self, before: i64) -> Result<usize, CommitOffsetError> {
        let old: Vec<FileKey> = self
            .mirror
            .iter()
            .filter(|(_, r)| r.last_seen < before)
            .map(|(k, _)| *k)
            .collect();
        let old_prefixes = self.prefixes.iter().any(|r| r.last_seen < before);
        if old_prefixes {
            self.prefixes.retain(|r| r.last_seen >= before);
            self.conn
                .execute("DELETE FROM prefixes WHERE last_seen < ?1", params![before])
                .map_err(|source| CommitOffsetError {
                    path: self.path.clone(),
                    source,
                })?;
        }
        if old.is_empty() {
            return Ok(0);
        }
        let n = self
            .conn
            .execute("DELETE FROM files WHERE last_seen < ?1", params![before])
            .map_err(|source| CommitOffsetError {
                path: self.path.clone(),
                source,
            })?;
        for k in &old {
            self.mirror.remove(k);
            self.dirty.remove(k);
        }
        Ok(n)
    }
}

mod thread;

pub(crate) use thread::{DbCmd, spawn, unix_now};

#[cfg(test)]
mod tests;
