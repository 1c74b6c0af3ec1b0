use std::path::Path;
use std::sync::Arc;

use super::{Commit, OffsetDb, Opened, SCHEMA_VERSION};
use crate::tail::file::{FileKey, Fingerprint};

fn commit(ino: u64, offset: u64) -> Commit {
    Commit {
        key: FileKey {
            dev: u64::MAX - 1,
            ino,
        },
        fp: Fingerprint {
            len: 1024,
            hash: u64::MAX - ino,
        },
        path: Arc::from(Path::new(&format!("/var/log/{ino}.log"))),
        offset,
    }
}

#[test]
fn commits_survive_reopening() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("sub/tail.db");
    let (mut db, opened) = OffsetDb::open(&path, 100);
    assert_eq!(opened, Opened::Created);
    assert!(!db.started());
    db.commit(&[commit(1, 10), commit(2, 20)], 100).unwrap();
    db.commit(&[commit(1, 15)], 101).unwrap();
    assert!(db.started());
    drop(db);
    let (db, opened) = OffsetDb::open(&path, 200);
    assert_eq!(opened, Opened::Existing);
    assert!(db.started());
    let k1 = FileKey {
        dev: u64::MAX - 1,
        ino: 1,
    };
    let row = &db.rows()[&k1];
    assert_eq!(row.offset, 15, "the latest commit wins");
    assert_eq!(row.fp, commit(1, 0).fp, "u64 values round-trip");
    assert_eq!(&*row.path, Path::new("/var/log/1.log"));
    assert_eq!(row.last_seen, 101);
    assert_eq!(db.rows().len(), 2);
    let mode: String = db
        .conn
        .query_row("PRAGMA journal_mode", [], |r| r.get(0))
        .unwrap();
    assert_eq!(mode, "wal");
    let v: i64 = db
        .conn
        .query_row("PRAGMA user_version", [], |r| r.get(0))
        .unwrap();
    assert_eq!(v, SCHEMA_VERSION);
}

#[test]
fn corrupt_database_is_moved_aside_and_rebuilt() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("tail.db");
    std::fs::write(
        &path,
        b"this is not a sqlite database, not at all, really not".repeat(100),
    )
    .unwrap();
    let (mut db, opened) = OffsetDb::open(&path, 42);
    assert_eq!(opened, Opened::Rebuilt);
    assert!(
        db.started(),
        "a rebuilt database does not mean a first start"
    );
    assert!(db.rows().is_empty());
    db.commit(&[commit(1, 1)], 43).unwrap();
    let aside = dir.path().join("tail.db.corrupt-42");
    assert!(
        std::fs::metadata(&aside).is_ok(),
        "the bad file is kept for inspection"
    );
}

#[test]
fn newer_schema_is_moved_aside() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("tail.db");
    {
        let c = rusqlite::Connection::open(&path).unwrap();
        c.pragma_update(None, "user_version", 99).unwrap();
    }
    let (_db, opened) = OffsetDb::open(&path, 7);
    assert_eq!(opened, Opened::Rebuilt);
}

#[test]
fn unwritable_location_falls_back_to_memory() {
    let dir = tempfile::tempdir().unwrap();
    let blocker = dir.path().join("file");
    std::fs::write(&blocker, b"x").unwrap();
    let (mut db, opened) = OffsetDb::open(&blocker.join("tail.db"), 1);
    assert_eq!(opened, Opened::InMemory);
    db.commit(&[commit(1, 1)], 2).unwrap();
}

#[test]
fn retention_forgets_old_rows_and_touch_keeps_them() {
    let dir = tempfile::tempdir().unwrap();
    let (mut db, _) = OffsetDb::open(&dir.path().join("t.db"), 0);
    db.commit(&[commit(1, 1), commit(2, 2)], 100).unwrap();
    db.touch(
        &[FileKey {
            dev: u64::MAX - 1,
            ino: 2,
        }],
        500,
    )
    .unwrap();
    assert_eq!(db.forget_older(400).unwrap(), 1);
    assert_eq!(db.rows().len(), 1);
    drop(db);
    let (db, _) = OffsetDb::open(&dir.path().join("t.db"), 0);
    assert_eq!(db.rows().len(), 1);
}

#[test]
fn corruption_found_at_commit_rebuilds_from_the_mirror() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("t.db");
    let (mut db, _) = OffsetDb::open(&path, 0);
    db.commit(&[commit(1, 1), commit(2, 2)], 10).unwrap();
    // Replace the file under the open connection with garbage.
    db.conn = rusqlite::Connection::open_in_memory().unwrap();
    db.conn
        .execute_batch("CREATE TABLE x (a); PRAGMA user_version = 5;")
        .unwrap();
    let err = db.commit(&[commit(3, 3)], 11).unwrap_err();
    assert!(
        !err.is_corrupt(),
        "a missing table is not corruption: {err}"
    );
    // A really corrupt file is handled at open; here the mirror still has every row.
    assert_eq!(db.rows().len(), 3);
}
