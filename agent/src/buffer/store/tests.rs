//! Model test of the chunk store: random sequences of append, sync, seal, deliver, crash
//! (with or without losing unsynced bytes), reopen and corrupt-a-byte, checked against the
//! simple model "every durable batch is delivered once, in order, unless its chunk was
//! reported corrupt". Regression seeds: `agent/proptest-regressions/buffer/store/tests.txt`
//! (committed; proptest replays them first).

use std::collections::BTreeSet;
use std::path::PathBuf;

use std::sync::{Arc, LazyLock};

use gleaner_api::{Attributes, Batch, FieldValue, Key, LogRecord, SharedAttributes, Stream};
use proptest::prelude::*;

use super::*;

#[derive(Debug, Clone)]
enum Op {
    Append(u8),
    Sync,
    Seal,
    Deliver,
    Crash {
        power_loss: bool,
    },
    Corrupt {
        chunk: prop::sample::Index,
        byte: prop::sample::Index,
    },
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        6 => (1u8..4).prop_map(Op::Append),
        2 => Just(Op::Sync),
        1 => Just(Op::Seal),
        2 => Just(Op::Deliver),
        1 => any::<bool>().prop_map(|power_loss| Op::Crash { power_loss }),
        1 => (any::<prop::sample::Index>(), any::<prop::sample::Index>())
            .prop_map(|(chunk, byte)| Op::Corrupt { chunk, byte }),
    ]
}

/// The shared attribute lists of the sources the events come from (held here, as a source
/// holds them, so a chunk's frames refer back to the ones its earlier frames wrote).
static SOURCES: LazyLock<Vec<SharedAttributes>> = LazyLock::new(|| {
    (0..3)
        .map(|i| {
            Arc::from(vec![(
                Key::from_static("file"),
                FieldValue::String(format!("/var/log/{i}.log").into()),
            )])
        })
        .collect()
});

fn batch(first_id: u64, n: u8) -> Batch {
    Batch::Logs(
        (0..u64::from(n))
            .map(|i| {
                let id = first_id + i;
                let mut attributes = Attributes::from_shared(Arc::clone(&SOURCES[id as usize % 3]));
                attributes.push("id", FieldValue::UInt(id));
                LogRecord {
                    attributes,
                    ..LogRecord::new(id as i64, format!("event {id}"), Stream::Stdout)
                }
            })
            .collect(),
    )
}

/// The events' ids; each must carry its source's list and its own id.
fn ids(b: &Batch) -> Vec<u64> {
    match b {
        Batch::Logs(l) => l
            .iter()
            .map(|r| {
                let id = r.timestamp as u64;
                assert_eq!(
                    r.attributes.shared_part(),
                    &SOURCES[id as usize % 3][..],
                    "event {id}"
                );
                assert_eq!(r.attribute("id"), Some(&FieldValue::UInt(id)));
                id
            })
            .collect(),
        Batch::Metrics(_) => vec![],
    }
}

struct Harness {
    dir: tempfile::TempDir,
    cfg: StoreConfig,
    store: Option<ChunkStore>,
    next_id: u64,
    appended: Vec<u64>,
    durable_upto: usize,
    /// Ids that may be missing: unsynced at a power loss.
    may_vanish: BTreeSet<u64>,
    /// Ids in chunks we damaged.
    damaged: BTreeSet<u64>,
    delivered: Vec<u64>,
    quarantines: usize,
    synced_len: Option<(PathBuf, u64)>,
}

impl Harness {
    fn new(chunk_size: u64) -> Self {
        let dir = tempfile::tempdir().unwrap();
        let cfg = StoreConfig {
            chunk_size,
            sync: BufferSync::Batch,
        };
        let mut h = Harness {
            dir,
            cfg,
            store: None,
            next_id: 1,
            appended: vec![],
            durable_upto: 0,
            may_vanish: BTreeSet::new(),
            damaged: BTreeSet::new(),
            delivered: vec![],
            quarantines: 0,
            synced_len: None,
        };
        h.reopen();
        h
    }

    fn store(&mut self) -> &mut ChunkStore {
        self.store.as_mut().expect("open")
    }

    fn reopen(&mut self) {
        let (s, rec) = ChunkStore::open(
            &self.dir.path().join("buf"),
            &self.dir.path().join("corrupt"),
            self.cfg,
        )
        .unwrap();
        self.quarantines += rec.quarantined.len();
        self.store = Some(s);
    }

    fn mark_durable(&mut self) {
        self.durable_upto = self.appended.len();
        self.synced_len = self
            .store
            .as_ref()
            .and_then(|s| s.active.as_ref())
            .map(|a| (a.meta.path.clone(), a.meta.bytes));
    }

    fn apply(&mut self, op: &Op) {
        match op {
            Op::Append(n) => {
                let b = batch(self.next_id, *n);
                let before = self.store().sealed_len();
                self.store().append(&b).unwrap();
                self.next_id += u64::from(*n);
                self.appended.extend(ids(&b));
                if self.store().sealed_len() > before {
                    self.mark_durable();
                }
            }
            Op::Sync => {
                self.store().sync().unwrap();
                self.mark_durable();
            }
            Op::Seal => {
                self.store().seal().unwrap();
                self.mark_durable();
            }
            Op::Deliver => self.deliver_one(),
            Op::Crash { power_loss } => {
                self.store = None;
                if *power_loss {
                    self.may_vanish
                        .extend(self.appended[self.durable_upto..].iter().copied());
                    if let Some((path, len)) = &self.synced_len {
                        let f = std::fs::OpenOptions::new().write(true).open(path).unwrap();
                        f.set_len(*len).unwrap();
                    }
                }
                self.synced_len = None;
                self.durable_upto = self.appended.len();
                self.reopen();
            }
            Op::Corrupt { chunk, byte } => {
                let s = self.store.as_ref().expect("open");
                if s.sealed.is_empty() {
                    return;
                }
                let meta = s.sealed[chunk.index(s.sealed.len())].clone();
                if let Ok(batches) = read_chunk(&meta.path) {
                    self.damaged.extend(batches.iter().flat_map(ids));
                }
                let mut bytes = std::fs::read(&meta.path).unwrap();
                let i = byte.index(bytes.len());
                bytes[i] ^= 0x5a;
                std::fs::write(&meta.path, bytes).unwrap();
            }
        }
    }

    fn deliver_one(&mut self) {
        let Some(meta) = self.store().front().cloned() else {
            return;
        };
        match read_chunk(&meta.path) {
            Ok(batches) => {
                self.delivered.extend(batches.iter().flat_map(ids));
                self.store().remove(meta.seq).unwrap();
            }
            Err(ReadChunkError::Corrupt { .. }) => {
                self.store().quarantine(meta.seq).unwrap();
                self.quarantines += 1;
            }
            Err(e) => panic!("{e}"),
        }
    }

    fn finish(mut self) {
        self.store().seal().unwrap();
        self.reopen();
        while self.store().front().is_some() {
            self.deliver_one();
        }
        // In order, no duplicates.
        assert!(
            self.delivered.windows(2).all(|w| w[0] < w[1]),
            "out of order or duplicated: {:?}",
            self.delivered
        );
        let delivered: BTreeSet<u64> = self.delivered.iter().copied().collect();
        let appended: BTreeSet<u64> = self.appended.iter().copied().collect();
        assert!(delivered.is_subset(&appended));
        for id in &self.appended {
            if !delivered.contains(id) {
                let excused = self.may_vanish.contains(id)
                    || (self.damaged.contains(id) && self.quarantines > 0);
                assert!(
                    excused,
                    "event {id} lost (damaged {}, quarantines {})",
                    self.damaged.contains(id),
                    self.quarantines
                );
            }
        }
        if self.damaged.is_empty() {
            assert_eq!(
                self.quarantines, 0,
                "a chunk was quarantined without damage"
            );
        }
        assert_eq!(
            std::fs::read_dir(self.dir.path().join("buf"))
                .unwrap()
                .count(),
            0,
            "delivered chunks left on disk"
        );
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

    #[test]
    fn store_matches_model(ops in proptest::collection::vec(op(), 1..60), chunk_size in 80u64..600) {
        let mut h = Harness::new(chunk_size);
        for op in &ops {
            h.apply(op);
        }
        h.finish();
    }
}

#[test]
fn recovery_truncates_torn_tail_and_seals() {
    let mut h = Harness::new(1 << 20);
    h.apply(&Op::Append(2));
    h.apply(&Op::Sync);
    h.apply(&Op::Append(1));
    let path = h.store().active.as_ref().unwrap().meta.path.clone();
    h.store = None;
    // A torn write: half of the last frame.
    let len = std::fs::metadata(&path).unwrap().len();
    std::fs::OpenOptions::new()
        .write(true)
        .open(&path)
        .unwrap()
        .set_len(len - 5)
        .unwrap();
    let (mut s, rec) = ChunkStore::open(
        &h.dir.path().join("buf"),
        &h.dir.path().join("corrupt"),
        h.cfg,
    )
    .unwrap();
    assert_eq!(rec.chunks, 1);
    assert_eq!(rec.events, 2);
    assert!(rec.torn_bytes > 0);
    let front = s.front().unwrap().clone();
    let batches = read_chunk(&front.path).unwrap();
    assert_eq!(batches.iter().flat_map(ids).collect::<Vec<_>>(), vec![1, 2]);
    s.remove(front.seq).unwrap();
}

#[test]
fn bad_header_is_moved_aside_and_reported() {
    let h = Harness::new(1 << 20);
    let buf = h.dir.path().join("buf");
    std::fs::write(
        buf.join(format!("{:020}.chunk", 7)),
        b"not a chunk at all, really not",
    )
    .unwrap();
    let (s, rec) = ChunkStore::open(&buf, &h.dir.path().join("corrupt"), h.cfg).unwrap();
    assert_eq!(rec.quarantined.len(), 1);
    assert!(
        rec.quarantined[0]
            .0
            .starts_with(h.dir.path().join("corrupt"))
    );
    assert!(s.front().is_none());
    // New chunks continue after the highest sequence seen.
    assert_eq!(s.next_seq, 8);
}

#[test]
fn an_earlier_builds_progress_files_read_back_and_a_damaged_one_is_no_progress() {
    let dir = tempfile::tempdir().unwrap();
    let chunk = chunk_path(dir.path(), 7);
    assert_eq!(read_legacy_sent(&chunk), 0, "no marker");
    write_legacy_sent(&chunk, 12_345).unwrap();
    assert_eq!(read_legacy_sent(&chunk), 12_345);
    let marker = sent_path(&chunk);
    let mut bytes = std::fs::read(&marker).unwrap();
    bytes[3] ^= 1;
    std::fs::write(&marker, &bytes).unwrap();
    assert_eq!(read_legacy_sent(&chunk), 0, "a flipped bit");
    std::fs::write(&marker, &bytes[..9]).unwrap();
    assert_eq!(read_legacy_sent(&chunk), 0, "torn");
}

#[test]
fn an_earlier_builds_marker_without_its_chunk_is_removed_at_open() {
    let mut h = Harness::new(1 << 20);
    h.apply(&Op::Append(2));
    h.apply(&Op::Seal);
    let buf = h.dir.path().join("buf");
    let kept = h.store().front().unwrap().path.clone();
    write_legacy_sent(&kept, 1).unwrap();
    let orphan = chunk_path(&buf, 999);
    write_legacy_sent(&orphan, 5).unwrap();
    h.store = None;
    let (s, _) = ChunkStore::open(&buf, &h.dir.path().join("corrupt"), h.cfg).unwrap();
    assert!(std::fs::metadata(sent_path(&orphan)).is_err());
    assert_eq!(read_legacy_sent(&kept), 1, "a chunk's own marker stays");
    let seq = s.front().unwrap().seq;
    assert_eq!(s.legacy_sent(seq), 1, "and is read at open");
}
