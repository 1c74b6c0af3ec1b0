//! The file table alone: indexes, slot reuse, the descriptor budget and reopening, on real
//! files in a temp dir.

use std::fs::File;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Instant;

use super::FileTable;
use crate::tail::config::Format;
use crate::tail::file::{FINGERPRINT_BYTES, FileKey, Fingerprint};
use crate::tail::tracked::{Life, OpenedFile, Tracked};

/// Writes `name` in `dir` and opens it as a followed file in `life`.
fn followed(dir: &Path, name: &str, life: Life) -> Tracked {
    let path = dir.join(name);
    std::fs::write(&path, format!("{name}\n")).unwrap();
    open(&path, life)
}

fn open(path: &Path, life: Life) -> Tracked {
    let file = File::open(path).unwrap();
    let meta = file.metadata().unwrap();
    let opened = OpenedFile {
        path: Arc::from(path),
        key: FileKey::of(&meta),
        fp: Fingerprint::read(&file, FINGERPRINT_BYTES).unwrap(),
        size: meta.len(),
        file,
    };
    Tracked::new(opened, 0, life, Format::Raw)
}

fn rotated() -> Life {
    Life::Rotated {
        since: Instant::now(),
    }
}

/// The slots holding a descriptor, counted one by one (what `open_files` must equal).
fn holding(table: &FileTable) -> Vec<usize> {
    table
        .iter()
        .filter(|(_, t)| t.file.is_some())
        .map(|(i, _)| i)
        .collect()
}

#[test]
fn files_are_found_by_key_and_live_ones_by_path() {
    let dir = tempfile::tempdir().unwrap();
    let mut table = FileTable::new(10);
    let a = table.insert(followed(dir.path(), "a.log", Life::Live));
    let b = table.insert(followed(dir.path(), "b.log", rotated()));
    let (ka, kb) = (table.get(a).unwrap().key, table.get(b).unwrap().key);
    assert_eq!(table.with_key(&ka), Some(a));
    assert_eq!(table.with_key(&kb), Some(b));
    assert_eq!(table.at_path(&dir.path().join("a.log")), Some(a));
    assert_eq!(
        table.at_path(&dir.path().join("b.log")),
        None,
        "a rotated file is not at its path"
    );
    let mut paths: Vec<PathBuf> = table.paths().map(|p| p.to_path_buf()).collect();
    paths.sort();
    assert_eq!(paths, [dir.path().join("a.log")]);
    let mut keys = table.keys();
    keys.sort();
    let mut want = vec![ka, kb];
    want.sort();
    assert_eq!(keys, want);
    assert_eq!((table.watched(), table.open_files()), (2, 2));
}

#[test]
fn a_removed_file_leaves_both_indexes_and_its_slot_is_reused() {
    let dir = tempfile::tempdir().unwrap();
    let mut table = FileTable::new(10);
    let a = table.insert(followed(dir.path(), "a.log", Life::Live));
    let b = table.insert(followed(dir.path(), "b.log", Life::Live));
    let key = table.get(a).unwrap().key;
    let t = table.remove(a).expect("a is followed");
    assert_eq!(t.key, key);
    assert!(table.get(a).is_none());
    assert_eq!(table.with_key(&key), None);
    assert_eq!(table.at_path(&dir.path().join("a.log")), None);
    assert_eq!((table.watched(), table.open_files()), (1, 1));
    assert!(table.remove(a).is_none(), "removed twice");
    let c = table.insert(followed(dir.path(), "c.log", Life::Live));
    assert_eq!(c, a, "the free slot is taken again");
    assert_eq!(table.slot_count(), 2);
    assert_eq!(table.at_path(&dir.path().join("b.log")), Some(b));
}

#[test]
fn removing_a_file_keeps_a_path_another_file_took_over() {
    let dir = tempfile::tempdir().unwrap();
    let mut table = FileTable::new(10);
    let old = table.insert(followed(dir.path(), "a.log", Life::Live));
    // Rename-and-create: the old file left its path and a new one is there.
    assert_eq!(table.unlink_path(&dir.path().join("a.log")), Some(old));
    std::fs::rename(dir.path().join("a.log"), dir.path().join("a.log.1")).unwrap();
    let new = table.insert(followed(dir.path(), "a.log", Life::Live));
    table.remove(old);
    assert_eq!(table.at_path(&dir.path().join("a.log")), Some(new));
    let key = table.get(new).unwrap().key;
    assert_eq!(table.with_key(&key), Some(new));
}

#[test]
fn relink_makes_a_rotated_file_live_at_its_new_path() {
    let dir = tempfile::tempdir().unwrap();
    let mut table = FileTable::new(10);
    let i = table.insert(followed(dir.path(), "a.log.1", rotated()));
    table.relink(i, dir.path().join("a.log"));
    let t = table.get(i).unwrap();
    assert_eq!(t.life, Life::Live);
    assert_eq!(&*t.path, dir.path().join("a.log"));
    assert_eq!(table.at_path(&dir.path().join("a.log")), Some(i));
}

#[test]
fn the_least_recently_active_live_file_is_closed_beyond_the_budget() {
    let dir = tempfile::tempdir().unwrap();
    let mut table = FileTable::new(3);
    let a = table.insert(followed(dir.path(), "a.log", Life::Live));
    let b = table.insert(followed(dir.path(), "b.log", Life::Live));
    let r = table.insert(followed(dir.path(), "r.log", rotated()));
    let c = table.insert(followed(dir.path(), "c.log", Life::Live));
    assert_eq!(table.open_files(), 4, "insert alone closes nothing");
    assert!(
        table.ensure_open(a),
        "a read of a makes b the least recently active"
    );
    table.evict(c);
    assert_eq!(holding(&table), [a, r, c]);
    assert!(
        table.get(b).unwrap().file.is_none(),
        "b closed, still followed"
    );
    let d = table.insert(followed(dir.path(), "d.log", Life::Live));
    table.evict(d);
    assert_eq!(holding(&table), [a, r, d], "c was read before a");
    assert_eq!(table.open_files(), 3);
}

#[test]
fn a_rotated_file_and_the_one_kept_pass_the_budget_rather_than_close() {
    let dir = tempfile::tempdir().unwrap();
    let mut table = FileTable::new(1);
    let r = table.insert(followed(dir.path(), "r.log", rotated()));
    let x = table.insert(followed(dir.path(), "x.log", Life::Live));
    table.evict(x);
    assert_eq!(holding(&table), [r, x]);
    assert_eq!(table.open_files(), 2);
    table.evict(usize::MAX);
    assert_eq!(holding(&table), [r]);
    assert_eq!(table.open_files(), 1);
}

#[test]
fn a_closed_file_is_opened_again_when_its_turn_comes() {
    let dir = tempfile::tempdir().unwrap();
    let mut table = FileTable::new(1);
    let a = table.insert(followed(dir.path(), "a.log", Life::Live));
    let b = table.insert(followed(dir.path(), "b.log", Life::Live));
    table.evict(b);
    assert_eq!(holding(&table), [b]);
    assert!(table.ensure_open(a));
    assert_eq!(holding(&table), [a], "opening a closes b for the budget");
    assert_eq!(table.open_files(), 1);
    assert!(table.ensure_open(a), "already open");
    assert!(!table.ensure_open(99), "no such file");
}

#[test]
fn a_closed_file_replaced_at_its_path_is_not_opened_again() {
    let dir = tempfile::tempdir().unwrap();
    let mut table = FileTable::new(1);
    let a = table.insert(followed(dir.path(), "a.log", Life::Live));
    let b = table.insert(followed(dir.path(), "b.log", Life::Live));
    table.evict(b);
    std::fs::rename(dir.path().join("a.log"), dir.path().join("a.log.1")).unwrap();
    std::fs::write(dir.path().join("a.log"), "another file\n").unwrap();
    assert!(!table.ensure_open(a), "another inode is at a's path");
    assert!(table.get(a).unwrap().file.is_none());
    std::fs::remove_file(dir.path().join("a.log")).unwrap();
    assert!(!table.ensure_open(a), "nothing is at a's path");
    assert_eq!(holding(&table), [b]);
    // Found again by the caller (by inode, under its new name).
    let f = File::open(dir.path().join("a.log.1")).unwrap();
    table.attach(a, f);
    assert_eq!(holding(&table), [a, b]);
    assert_eq!(table.open_files(), 2);
}

#[test]
fn the_open_count_follows_every_change() {
    let dir = tempfile::tempdir().unwrap();
    let mut table = FileTable::new(3);
    let mut ids = Vec::new();
    for n in 0..6 {
        let life = if n % 3 == 0 { rotated() } else { Life::Live };
        ids.push(table.insert(followed(dir.path(), &format!("{n}.log"), life)));
        table.evict(ids[n]);
        assert_eq!(table.open_files(), holding(&table).len());
    }
    for &i in ids.iter().rev() {
        table.ensure_open(i);
        assert_eq!(table.open_files(), holding(&table).len());
    }
    for &i in &ids[..3] {
        table.remove(i);
        assert_eq!(table.open_files(), holding(&table).len());
    }
    assert_eq!(table.watched(), 3);
}
