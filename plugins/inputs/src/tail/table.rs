//! The file table: every followed file in a slab (a file is known by its slot number, which
//! the ready queue and the batch's offsets hold), found by path (live files only) and by
//! (device, inode); and the open-file budget: at most `max_open_files` descriptors, the least
//! recently active live files closed beyond it and opened again when their turn comes.
//!
//! Invariants kept here: `open` is the number of followed files holding a descriptor (only
//! the table gives or takes one); a slot number stays valid until [`FileTable::remove`]
//! frees it for reuse; the path index may name a file the key index also names, never a
//! removed one. A rotated or deleted file is never closed for the budget: its path is gone,
//! so it could not be opened again.

use std::collections::HashMap;
use std::fs::File;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use super::file::FileKey;
use super::tracked::{Life, Tracked};

/// The followed files.
#[derive(Debug)]
pub(crate) struct FileTable {
    slots: Vec<Option<Tracked>>,
    free: Vec<usize>,
    by_path: HashMap<Arc<Path>, usize>,
    by_key: HashMap<FileKey, usize>,
    /// Files holding a descriptor.
    open: usize,
    /// The budget of descriptors (`max_open_files`).
    max_open: usize,
    /// The LRU clock: ticks at each insert and each read.
    clock: u64,
}

impl FileTable {
    /// An empty table holding at most `max_open` descriptors (beyond a rotated file's).
    pub(crate) fn new(max_open: usize) -> Self {
        FileTable {
            slots: Vec::new(),
            free: Vec::new(),
            by_path: HashMap::new(),
            by_key: HashMap::new(),
            open: 0,
            max_open,
            clock: 0,
        }
    }

    /// The file in slot `i`.
    pub(crate) fn get(&self, i: usize) -> Option<&Tracked> {
        self.slots.get(i)?.as_ref()
    }

    /// The file in slot `i`, to change (its descriptor is the table's).
    pub(crate) fn get_mut(&mut self, i: usize) -> Option<&mut Tracked> {
        self.slots.get_mut(i)?.as_mut()
    }

    /// The live file followed at `path`.
    pub(crate) fn at_path(&self, path: &Path) -> Option<usize> {
        self.by_path.get(path).copied()
    }

    /// The file with this (device, inode).
    pub(crate) fn with_key(&self, key: &FileKey) -> Option<usize> {
        self.by_key.get(key).copied()
    }

    /// The keys of every followed file.
    pub(crate) fn keys(&self) -> Vec<FileKey> {
        self.by_key.keys().copied().collect()
    }

    /// The paths of the live files.
    pub(crate) fn paths(&self) -> impl Iterator<Item = &Arc<Path>> {
        self.by_path.keys()
    }

    /// How many files are followed.
    pub(crate) fn watched(&self) -> usize {
        self.by_key.len()
    }

    /// How many descriptors are held.
    pub(crate) fn open_files(&self) -> usize {
        self.open
    }

    /// One past the highest slot number (slots below may be empty).
    pub(crate) fn slot_count(&self) -> usize {
        self.slots.len()
    }

    /// The followed files with their slot numbers.
    pub(crate) fn iter(&self) -> impl Iterator<Item = (usize, &Tracked)> {
        self.slots
            .iter()
            .enumerate()
            .filter_map(|(i, t)| t.as_ref().map(|t| (i, t)))
    }

    /// The followed files with their slot numbers, to change.
    pub(crate) fn iter_mut(&mut self) -> impl Iterator<Item = (usize, &mut Tracked)> {
        self.slots
            .iter_mut()
            .enumerate()
            .filter_map(|(i, t)| t.as_mut().map(|t| (i, t)))
    }

    /// Follows `t` in a free slot, as the most recently active file, indexed by its key and,
    /// when live, by its path. Nothing is closed here: [`FileTable::evict`] applies the
    /// budget.
    pub(crate) fn insert(&mut self, mut t: Tracked) -> usize {
        t.last_active = self.tick();
        let (key, live, path, has_file) = (
            t.key,
            t.life == Life::Live,
            Arc::clone(&t.path),
            t.file.is_some(),
        );
        let i = match self.free.pop() {
            Some(i) => {
                self.slots[i] = Some(t);
                i
            }
            None => {
                self.slots.push(Some(t));
                self.slots.len() - 1
            }
        };
        if live {
            self.by_path.insert(path, i);
        }
        self.by_key.insert(key, i);
        if has_file {
            self.open += 1;
        }
        i
    }

    /// Stops following file `i`: frees its slot and its descriptor, and drops the index
    /// entries that still name it (a path or key taken over by another file stays).
    pub(crate) fn remove(&mut self, i: usize) -> Option<Tracked> {
        let t = self.slots.get_mut(i)?.take()?;
        self.free.push(i);
        if t.file.is_some() {
            self.open -= 1;
        }
        if self.by_key.get(&t.key) == Some(&i) {
            self.by_key.remove(&t.key);
        }
        if self.by_path.get(&t.path) == Some(&i) {
            self.by_path.remove(&t.path);
        }
        Some(t)
    }

    /// Forgets which file is at `path` (it left it); the file stays followed.
    pub(crate) fn unlink_path(&mut self, path: &Path) -> Option<usize> {
        self.by_path.remove(path)
    }

    /// File `i` is live again, at `path` (moved back under a name the globs match).
    pub(crate) fn relink(&mut self, i: usize, path: PathBuf) {
        if let Some(t) = self.slots.get_mut(i).and_then(Option::as_mut) {
            t.path = Arc::from(path);
            t.life = Life::Live;
            self.by_path.insert(Arc::clone(&t.path), i);
        }
    }

    /// Gives file `i` the descriptor `file` (found again after it was closed for the budget).
    /// The budget is applied at its next read.
    pub(crate) fn attach(&mut self, i: usize, file: File) {
        if let Some(t) = self.slots.get_mut(i).and_then(Option::as_mut) {
            if t.file.is_none() {
                self.open += 1;
            }
            t.file = Some(file);
        }
    }

    /// Makes file `i` the most recently active, opening it again at its path if it was closed
    /// for the budget (and closing others beyond it). False when there is no file `i`, or it
    /// was closed and what is at its path now is another file or nothing: it left its path.
    pub(crate) fn ensure_open(&mut self, i: usize) -> bool {
        let Some(t) = self.slots.get_mut(i).and_then(Option::as_mut) else {
            return false;
        };
        let reopened = t.file.is_none();
        if reopened {
            match File::open(&t.path) {
                Ok(f) if f.metadata().is_ok_and(|m| FileKey::of(&m) == t.key) => {
                    t.file = Some(f);
                    self.open += 1;
                }
                _ => return false,
            }
        }
        self.clock += 1;
        t.last_active = self.clock;
        if reopened {
            self.evict(i);
        }
        true
    }

    /// Closes the least recently active live files while more descriptors than the budget
    /// are held (never file `keep`, never a rotated or deleted file).
    pub(crate) fn evict(&mut self, keep: usize) {
        while self.open > self.max_open {
            let victim = self
                .iter()
                .filter(|(i, t)| *i != keep && t.life == Life::Live && t.file.is_some())
                .min_by_key(|(_, t)| t.last_active)
                .map(|(i, _)| i);
            let Some(v) = victim else { break };
            if let Some(t) = self.slots[v].as_mut() {
                t.file = None;
                self.open -= 1;
            }
        }
    }

    fn tick(&mut self) -> u64 {
        self.clock += 1;
        self.clock
    }
}

#[cfg(test)]
mod tests;
