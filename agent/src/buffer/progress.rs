//! Delivery progress of one disk buffer: how many events of the chunk being delivered are
//! finished (accepted or rejected for good), so a restart resumes after them.
//!
//! Requests finish in issue order as far as progress goes (the delivery worker's ledger), and
//! chunks are delivered in order, so at most one chunk has finished part of its events while
//! the ones before it are done: one record says it all. It is `<dir>/progress`, 32 bytes
//! rewritten in place through one descriptor kept open (no file created, truncated or
//! deleted per request or per chunk): the chunk's sequence number and creation time (from
//! its header, so a later chunk given the same number never matches), the events finished,
//! and a CRC-32 of those. It is not fsynced: a record lost or torn in a crash reads as no
//! progress, which only means duplicates, and one is never written before its events were
//! delivered, so it cannot lose any.
//!
//! Earlier builds wrote one `<seq>.sent` file per chunk; [`super::store::ChunkStore::open`]
//! still reads those (see [`super::store::read_legacy_sent`]).

use std::fs::{File, OpenOptions};
use std::io;
use std::os::unix::fs::FileExt as _;
use std::path::{Path, PathBuf};
use std::sync::{Mutex, PoisonError};

/// File name of the record, in the buffer's directory.
pub const FILE_NAME: &str = "progress";

/// Size of the record on disk.
const RECORD_LEN: usize = 32;

/// The chunk whose first `events` events are finished.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Record {
    /// Its sequence number.
    pub seq: u64,
    /// Its creation time (ns since the epoch), as its header and [`super::store::ChunkMeta`]
    /// hold it.
    pub created_ns: i64,
    /// Events finished, counted from its first.
    pub events: u64,
}

impl Record {
    fn encode(&self) -> [u8; RECORD_LEN] {
        let mut b = [0u8; RECORD_LEN];
        b[..8].copy_from_slice(&self.seq.to_le_bytes());
        b[8..16].copy_from_slice(&self.created_ns.to_le_bytes());
        b[16..24].copy_from_slice(&self.events.to_le_bytes());
        let crc = crc32fast::hash(&b[..24]);
        b[24..28].copy_from_slice(&crc.to_le_bytes());
        b
    }

    /// `None` for anything but a whole record whose CRC holds (absent, torn, foreign).
    fn decode(b: &[u8]) -> Option<Record> {
        let b: &[u8; RECORD_LEN] = b.try_into().ok()?;
        let (body, rest) = b.split_at(24);
        let crc = u32::from_le_bytes(rest[..4].try_into().ok()?);
        if crc != crc32fast::hash(body) || rest[4..] != [0; 4] {
            return None;
        }
        let word = |i: usize| body[i..i + 8].try_into().ok().map(u64::from_le_bytes);
        Some(Record {
            seq: word(0)?,
            created_ns: i64::from_le_bytes(body[8..16].try_into().ok()?),
            events: word(16)?,
        })
    }
}

/// The progress record of one buffer directory: the last one written (or found at open), and
/// the descriptor it is written through (opened at the first write).
#[derive(Debug)]
pub struct Progress {
    path: PathBuf,
    damaged: bool,
    state: Mutex<State>,
}

#[derive(Debug, Default)]
struct State {
    last: Option<Record>,
    file: Option<File>,
}

impl Progress {
    /// Reads `<dir>/progress`; a missing or damaged record is no progress.
    pub fn open(dir: &Path) -> Progress {
        let path = dir.join(FILE_NAME);
        let (last, damaged) = match std::fs::read(&path) {
            Ok(b) => {
                let last = Record::decode(&b);
                (last, last.is_none())
            }
            Err(e) => (None, e.kind() != io::ErrorKind::NotFound),
        };
        Progress {
            path,
            damaged,
            state: Mutex::new(State { last, file: None }),
        }
    }

    /// The file was there at open but held no valid record (torn in a crash, or not ours),
    /// or could not be read: the chunk being delivered then goes again from its start.
    pub fn damaged(&self) -> bool {
        self.damaged
    }

    /// Events of the chunk `seq` created at `created_ns` finished before (0 when the record
    /// is about another chunk).
    pub fn sent(&self, seq: u64, created_ns: i64) -> u64 {
        match self.lock().last {
            Some(r) if r.seq == seq && r.created_ns == created_ns => r.events,
            _ => 0,
        }
    }

    /// Records that the first `events` events of the chunk are finished. An error leaves the
    /// record as it was on disk (duplicates after a restart, nothing lost).
    pub fn record(&self, seq: u64, created_ns: i64, events: u64) -> io::Result<()> {
        let rec = Record {
            seq,
            created_ns,
            events,
        };
        let mut s = self.lock();
        if s.file.is_none() {
            let file = OpenOptions::new()
                .create(true)
                .truncate(false)
                .write(true)
                .open(&self.path)?;
            // Anything but a record (a foreign file) would never read back.
            if file.metadata()?.len() != RECORD_LEN as u64 {
                file.set_len(RECORD_LEN as u64)?;
            }
            s.file = Some(file);
        }
        if let Some(f) = &s.file {
            f.write_all_at(&rec.encode(), 0)?;
        }
        s.last = Some(rec);
        Ok(())
    }

    /// The file's path (for messages).
    pub fn path(&self) -> &Path {
        &self.path
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_record_reads_back_only_for_its_own_chunk() {
        let dir = tempfile::tempdir().unwrap();
        let p = Progress::open(dir.path());
        assert!(!p.damaged(), "no file is no damage");
        assert_eq!(p.sent(7, 100), 0, "nothing recorded");
        p.record(7, 100, 12_345).unwrap();
        assert_eq!(p.sent(7, 100), 12_345);
        let again = Progress::open(dir.path());
        assert!(!again.damaged());
        assert_eq!(again.sent(7, 100), 12_345, "read back after a restart");
        assert_eq!(again.sent(7, 101), 0, "a later chunk given the same number");
        assert_eq!(again.sent(8, 100), 0, "another chunk");
        p.record(8, 200, 3).unwrap();
        assert_eq!(Progress::open(dir.path()).sent(7, 100), 0, "replaced");
        assert_eq!(Progress::open(dir.path()).sent(8, 200), 3);
        assert_eq!(
            std::fs::metadata(dir.path().join(FILE_NAME)).unwrap().len(),
            RECORD_LEN as u64,
            "rewritten in place"
        );
    }

    #[test]
    fn a_damaged_or_short_record_is_no_progress() {
        let dir = tempfile::tempdir().unwrap();
        let p = Progress::open(dir.path());
        p.record(7, 100, 12_345).unwrap();
        let path = dir.path().join(FILE_NAME);
        let good = std::fs::read(&path).unwrap();
        for i in 0..RECORD_LEN {
            let mut bad = good.clone();
            bad[i] ^= 0x10;
            std::fs::write(&path, &bad).unwrap();
            let p = Progress::open(dir.path());
            assert_eq!(p.sent(7, 100), 0, "byte {i} flipped");
            assert!(p.damaged(), "byte {i} flipped");
        }
        std::fs::write(&path, &good[..20]).unwrap();
        assert_eq!(Progress::open(dir.path()).sent(7, 100), 0, "torn");
        std::fs::write(&path, b"").unwrap();
        assert_eq!(Progress::open(dir.path()).sent(7, 100), 0, "empty");
    }
}
