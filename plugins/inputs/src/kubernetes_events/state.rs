//! The input's state database: SQLite (compiled in), in the style of the tail's offset
//! database (`tail/offsets.rs`): exclusive locking (no `-shm` mapping), WAL, `synchronous =
//! NORMAL`, the schema versioned with `PRAGMA user_version` and migrated forward, and a file
//! that cannot be opened, fails `quick_check` or comes from a newer agent moved aside to
//! `<db>.corrupt-<unix time>` and rebuilt empty (then everything the API server still holds
//! is sent once more: at-least-once). If even that fails the memory lives in RAM only.
//!
//! Tables: `seen` (uid, namespace, count sent, resource version, recency), trimmed to the
//! `remember` most recent, and `watermarks` (scope, resource version): see `seen.rs`.
//!
//! Everything here blocks; it runs on the database thread ([`spawn`]), which writes each
//! group of acknowledged commits in one transaction. A failed write keeps its commits for the
//! next one.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::sync::mpsc;
use std::thread::JoinHandle;
use std::time::Duration;

use rusqlite::{Connection, params};

use super::seen::{Commit, Remembered};
use super::stats::Stats;

/// Forward migrations; entry `i` takes `user_version` from `i` to `i + 1`.
const MIGRATIONS: &[&str] = &[
    // 1: seen uids and watermarks.
    "CREATE TABLE seen (
        uid TEXT PRIMARY KEY,
        namespace TEXT NOT NULL,
        count INTEGER NOT NULL,
        rv INTEGER,
        seq INTEGER NOT NULL
    ) WITHOUT ROWID;
    CREATE INDEX seen_seq ON seen (seq);
    CREATE TABLE watermarks (scope TEXT PRIMARY KEY, rv INTEGER NOT NULL) WITHOUT ROWID;",
];

/// The schema version this code writes.
const SCHEMA_VERSION: i64 = MIGRATIONS.len() as i64;

/// Opening or writing the database failed.
#[derive(Debug, thiserror::Error)]
#[error("kubernetes events state database {path}: {source}")]
pub(crate) struct StateDbError {
    /// The database file.
    pub(crate) path: PathBuf,
    /// Why.
    #[source]
    pub(crate) source: rusqlite::Error,
}

/// What the database held at start.
#[derive(Debug, Default)]
pub(crate) struct Loaded {
    /// Remembered uids.
    pub(crate) uids: Vec<Remembered>,
    /// Watermarks by scope.
    pub(crate) watermarks: Vec<(Box<str>, u64)>,
}

/// The open database.
pub(crate) struct StateDb {
    conn: Connection,
    path: PathBuf,
    remember: usize,
}

fn open_conn(path: &Path) -> rusqlite::Result<Connection> {
    let conn = Connection::open(path)?;
    conn.busy_timeout(Duration::from_secs(5))?;
    // Before any access: the WAL index then lives in heap memory, not in a mapped `-shm`.
    let _mode: String = conn.query_row("PRAGMA locking_mode=EXCLUSIVE", [], |r| r.get(0))?;
    let check: String = conn.query_row("PRAGMA quick_check", [], |r| r.get(0))?;
    if check != "ok" {
        return Err(rusqlite::Error::SqliteFailure(
            rusqlite::ffi::Error::new(rusqlite::ffi::SQLITE_CORRUPT),
            Some(format!("quick_check: {check}")),
        ));
    }
    let _wal: String = conn.query_row("PRAGMA journal_mode=WAL", [], |r| r.get(0))?;
    conn.pragma_update(None, "synchronous", "NORMAL")?;
    let version: i64 = conn.query_row("PRAGMA user_version", [], |r| r.get(0))?;
    if version > SCHEMA_VERSION {
        return Err(rusqlite::Error::SqliteFailure(
            rusqlite::ffi::Error::new(rusqlite::ffi::SQLITE_CORRUPT),
            Some(format!(
                "schema version {version} is newer than {SCHEMA_VERSION}"
            )),
        ));
    }
    for (i, m) in MIGRATIONS.iter().enumerate().skip(version.max(0) as usize) {
        let tx = conn.unchecked_transaction()?;
        tx.execute_batch(m)?;
        tx.pragma_update(None, "user_version", i as i64 + 1)?;
        tx.commit()?;
    }
    Ok(conn)
}

/// Moves a damaged database (and its `-wal`) aside.
fn move_aside(path: &Path, now: i64) {
    for suffix in ["", "-wal", "-shm"] {
        let mut from = path.as_os_str().to_owned();
        from.push(suffix);
        let mut to = path.as_os_str().to_owned();
        to.push(format!(".corrupt-{now}{suffix}"));
        if let Err(e) = std::fs::rename(&from, &to)
            && e.kind() != std::io::ErrorKind::NotFound
        {
            tracing::warn!(path = %PathBuf::from(from).display(), error = %e, "cannot move a damaged state database aside");
        }
    }
}

impl StateDb {
    /// Opens (or creates) the database at `path`, moving a damaged one aside; the memory
    /// lives in RAM only if no file can be used (logged).
    ///
    /// # Errors
    /// Only when not even an in-memory database can be made.
    pub(crate) fn open(path: &Path, remember: usize) -> Result<StateDb, StateDbError> {
        if let Some(dir) = path.parent()
            && let Err(e) = std::fs::create_dir_all(dir)
        {
            tracing::warn!(path = %dir.display(), error = %e, "cannot create the state directory");
        }
        let conn = match open_conn(path) {
            Ok(c) => c,
            Err(e) => {
                tracing::error!(path = %path.display(), error = %e, "kubernetes events state database unusable: moved aside, starting empty (events the API server still holds are sent again)");
                move_aside(path, gleaner_api::now_ns() / 1_000_000_000);
                match open_conn(path) {
                    Ok(c) => c,
                    Err(e) => {
                        tracing::error!(path = %path.display(), error = %e, "no state database: what was sent is remembered in memory only");
                        Connection::open_in_memory()
                            .and_then(|c| {
                                c.execute_batch(MIGRATIONS[0])?;
                                Ok(c)
                            })
                            .map_err(|source| StateDbError {
                                path: path.to_owned(),
                                source,
                            })?
                    }
                }
            }
        };
        Ok(StateDb {
            conn,
            path: path.to_owned(),
            remember,
        })
    }

    /// Everything remembered.
    pub(crate) fn load(&self) -> Result<Loaded, StateDbError> {
        let err = |source| StateDbError {
            path: self.path.clone(),
            source,
        };
        let mut stmt = self
            .conn
            .prepare("SELECT uid, namespace, count, rv, seq FROM seen")
            .map_err(err)?;
        let uids = stmt
            .query_map([], |r| {
                Ok(Remembered {
                    uid: r.get::<_, String>(0)?.into(),
                    namespace: r.get::<_, String>(1)?.into(),
                    count: r.get::<_, i64>(2)?.clamp(0, i64::from(u32::MAX)) as u32,
                    rv: r.get::<_, Option<i64>>(3)?.map(|v| v.max(0) as u64),
                    seq: r.get::<_, i64>(4)?.max(0) as u64,
                })
            })
            .map_err(err)?
            .collect::<rusqlite::Result<Vec<_>>>()
            .map_err(err)?;
        let mut stmt = self
            .conn
            .prepare("SELECT scope, rv FROM watermarks")
            .map_err(err)?;
        let watermarks = stmt
            .query_map([], |r| {
                Ok((
                    Box::from(r.get::<_, String>(0)?.as_str()),
                    r.get::<_, i64>(1)?.max(0) as u64,
                ))
            })
            .map_err(err)?
            .collect::<rusqlite::Result<Vec<_>>>()
            .map_err(err)?;
        Ok(Loaded { uids, watermarks })
    }

    /// Writes `commits` in one transaction, in order, then keeps the `remember` most recent
    /// uids.
    pub(crate) fn commit(&mut self, commits: &[Commit]) -> Result<(), StateDbError> {
        let err = |source| StateDbError {
            path: self.path.clone(),
            source,
        };
        let tx = self.conn.unchecked_transaction().map_err(err)?;
        {
            let mut seen = tx
                .prepare_cached(
                    "INSERT INTO seen (uid, namespace, count, rv, seq) VALUES (?1, ?2, ?3, ?4, ?5)
                     ON CONFLICT (uid) DO UPDATE SET count = max(count, ?3), rv = ?4, seq = ?5",
                )
                .map_err(err)?;
            let mut mark = tx
                .prepare_cached(
                    "INSERT INTO watermarks (scope, rv) VALUES (?1, ?2)
                     ON CONFLICT (scope) DO UPDATE SET rv = max(rv, ?2)",
                )
                .map_err(err)?;
            let mut forget = tx
                .prepare_cached("DELETE FROM seen WHERE uid = ?1")
                .map_err(err)?;
            for c in commits {
                match c {
                    Commit::Seen {
                        uid,
                        namespace,
                        count,
                        rv,
                        seq,
                    } => seen.execute(params![
                        &**uid,
                        &**namespace,
                        i64::from(*count),
                        rv.map(|v| v as i64),
                        *seq as i64
                    ]),
                    Commit::Watermark { scope, rv } => mark.execute(params![&**scope, *rv as i64]),
                    Commit::Forget { uid } => forget.execute(params![&**uid]),
                }
                .map_err(err)?;
            }
            tx.execute(
                "DELETE FROM seen WHERE seq <= (SELECT seq FROM seen ORDER BY seq DESC LIMIT 1 OFFSET ?1)",
                params![self.remember as i64],
            )
            .map_err(err)?;
        }
        tx.commit().map_err(err)
    }
}

/// Runs `db` on its own thread until the returned sender is dropped: each message is one
/// group of acknowledged commits. A failed write is retried with the next group.
pub(crate) fn spawn(
    mut db: StateDb,
    stats: Arc<Stats>,
) -> std::io::Result<(mpsc::Sender<Vec<Commit>>, JoinHandle<()>)> {
    let (tx, rx) = mpsc::channel::<Vec<Commit>>();
    let handle = std::thread::Builder::new()
        .name("gleaner-events-db".to_owned())
        .spawn(move || {
            let mut pending: Vec<Commit> = Vec::new();
            let mut failing = false;
            while let Ok(commits) = rx.recv() {
                pending.extend(commits);
                // Take whatever else is queued: one transaction for all of it.
                while let Ok(more) = rx.try_recv() {
                    pending.extend(more);
                }
                match db.commit(&pending) {
                    Ok(()) => {
                        let sent = pending
                            .iter()
                            .filter(|c| matches!(c, Commit::Seen { .. }))
                            .count();
                        stats.committed.fetch_add(sent as u64, Ordering::Relaxed);
                        if failing {
                            tracing::info!("kubernetes events state commits work again");
                        }
                        failing = false;
                        pending.clear();
                    }
                    Err(e) => {
                        if !failing {
                            tracing::error!(error = %e, "kubernetes events state commit failed; retrying with the next one");
                        }
                        failing = true;
                    }
                }
            }
            tracing::debug!(path = %db.path.display(), "kubernetes events state database closed");
        })?;
    Ok((tx, handle))
}
