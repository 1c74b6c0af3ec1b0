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
        ended: false,
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

#[test]
fn no_shared_memory_file_is_used_and_a_stale_one_goes() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("t.db");
    let shm = dir.path().join("t.db-shm");
    std::fs::write(&shm, b"left by an older agent").unwrap();
    let (mut db, _) = OffsetDb::open(&path, 0);
    db.commit(&[commit(1, 1)], 10).unwrap();
    db.commit(&[commit(1, 2)], 11).unwrap();
    assert!(
        std::fs::metadata(&shm).is_err(),
        "WAL index in heap memory: no -shm file"
    );
    let locking: String = db
        .conn
        .query_row("PRAGMA locking_mode", [], |r| r.get(0))
        .unwrap();
    assert_eq!(locking, "exclusive");
    drop(db);
    let (db, opened) = OffsetDb::open(&path, 20);
    assert_eq!(opened, Opened::Existing);
    let k1 = FileKey {
        dev: u64::MAX - 1,
        ino: 1,
    };
    assert_eq!(
        db.rows()[&k1].offset,
        2,
        "the WAL is read back without -shm"
    );
}

#[test]
fn prefixes_of_truncated_files_are_kept_bounded_and_expire() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("t.db");
    let (mut db, _) = OffsetDb::open(&path, 0);
    let ended = |hash: u64, offset: u64| Commit {
        fp: Fingerprint { len: 1024, hash },
        ended: true,
        ..commit(1, offset)
    };
    db.commit(&[ended(7, 900), commit(1, 40)], 10).unwrap();
    let k1 = FileKey {
        dev: u64::MAX - 1,
        ino: 1,
    };
    assert_eq!(
        db.rows()[&k1].offset,
        40,
        "the file's own offset is separate"
    );
    drop(db);
    let (mut db, _) = OffsetDb::open(&path, 20);
    assert_eq!(db.prefixes().len(), 1);
    assert_eq!(db.prefixes()[0].offset, 900);
    assert_eq!(db.prefixes()[0].fp.hash, 7);
    // One path truncated over and over keeps its newest few.
    for i in 0..20 {
        db.commit(&[ended(100 + i, i)], 30 + i as i64).unwrap();
    }
    assert_eq!(db.prefixes().len(), super::PREFIXES_PER_PATH);
    assert!(db.prefixes().iter().all(|r| r.fp.hash >= 112));
    drop(db);
    let (mut db, _) = OffsetDb::open(&path, 60);
    assert_eq!(db.prefixes().len(), super::PREFIXES_PER_PATH);
    db.forget_older(45).unwrap();
    assert_eq!(db.prefixes().len(), 5, "last seen at 45..=49 stay");
    drop(db);
    let (db, _) = OffsetDb::open(&path, 60);
    assert_eq!(db.prefixes().len(), 5);
}
