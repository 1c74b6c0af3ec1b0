//! A disk chunk's request in flight holds its compressed body, not its events: the rare
//! paths that need them again (a split of a request the destination found too large, a dead
//! letter) read them back from the chunk, at the right place (after a progress marker too),
//! and every event is still delivered exactly once, in order.

use crate::buffer::disk::DiskBuffer;
use crate::buffer::progress::Progress;
use crate::buffer::store::{ChunkStore, read_chunk};

use super::*;

/// Encodes each event's id on a line; refuses as too large requests of more than
/// `max_ok` events, and for good those holding id `refused`. With `lose_chunks`, the first
/// too-large answer also deletes every chunk file of that directory (a chunk lost under a
/// request in flight, before its split reads the events back).
struct Picky {
    max_ok: usize,
    refused: Option<i64>,
    accepted: Arc<Mutex<Vec<i64>>>,
    lose_chunks: Arc<Mutex<Option<std::path::PathBuf>>>,
}

#[async_trait]
impl Output for Picky {
    fn encode(&self, batch: &Batch, buf: &mut Vec<u8>) -> Result<EncodeReport, EncodeError> {
        for id in timestamps(batch) {
            buf.extend_from_slice(format!("{id}\n").as_bytes());
        }
        Ok(EncodeReport::default())
    }
    async fn send(&mut self, payload: Payload) -> Result<SendReport, OutputError> {
        let ids: Vec<i64> = std::str::from_utf8(&payload.bytes)
            .unwrap()
            .lines()
            .map(|l| l.parse().unwrap())
            .collect();
        if ids.len() > self.max_ok {
            if let Some(dir) = self.lose_chunks.lock().unwrap().take() {
                for f in std::fs::read_dir(dir).unwrap() {
                    let f = f.unwrap().path();
                    if f.extension().is_some_and(|e| e == "chunk") {
                        std::fs::remove_file(f).unwrap();
                    }
                }
            }
            return Err(OutputError::too_large("too big"));
        }
        if self.refused.is_some_and(|r| ids.contains(&r)) {
            return Err(OutputError::permanent("refused"));
        }
        self.accepted.lock().unwrap().extend(ids);
        Ok(SendReport::ALL_ACCEPTED)
    }
    fn batch_limits(&self) -> BatchLimits {
        BatchLimits {
            max_events: 6,
            max_bytes: 1 << 20,
        }
    }
}

/// Runs `output` over one chunk of events 0..20 (two frames), of which the first
/// `sent_before` were delivered before a restart; returns the dead letters' ids.
async fn run(output: Picky, sent_before: u64) -> (Vec<i64>, Arc<ComponentMetrics>) {
    let dir = tempfile::tempdir().unwrap();
    let metrics = ComponentMetrics::detached("fake");
    let cfg = super::test_disk_config();
    let (buf_dir, corrupt) = (dir.path().join("buf"), dir.path().join("corrupt"));
    let open = || {
        DiskBuffer::open(
            "outputs.fake.0",
            &buf_dir,
            &corrupt,
            cfg,
            Arc::clone(&metrics),
        )
    };
    // As after a restart: one sealed chunk of two frames, its first events delivered before.
    {
        let (mut store, _) = ChunkStore::open(&buf_dir, &corrupt, cfg.store).unwrap();
        store.append(&seq(0..8)).unwrap();
        store.append(&seq(8..20)).unwrap();
        store.seal().unwrap();
        let chunk = store.front().expect("the chunk");
        Progress::open(&buf_dir)
            .record(chunk.seq, chunk.created_ns, sent_before)
            .unwrap();
    }
    if output.lose_chunks.lock().unwrap().is_some() {
        *output.lose_chunks.lock().unwrap() = Some(buf_dir.clone());
    }
    let disk = open().await.unwrap();
    let buffer = OutputBuffer::Disk(disk.clone());
    buffer.close();
    let (_stop, stopping) = shutdown_pair();
    let (_abort, abort) = shutdown_pair();
    let (_handover, handover) = shutdown_pair();
    let dead = dir.path().join("dead");
    let worker = OutputWorker {
        id: Arc::from("outputs.fake.0"),
        output: Box::new(output),
        buffer,
        metrics: Arc::clone(&metrics),
        flush_interval: Duration::from_secs(1),
        backoff: (Duration::from_millis(1), Duration::from_millis(2)),
        dead_letter: Some(dead.clone()),
        stopping,
        abort,
        handover,
    };
    tokio::time::timeout(Duration::from_secs(20), worker.run())
        .await
        .expect("the worker drains and stops");
    assert_eq!(disk.chunks(), 0, "the chunk is removed once delivered");
    let mut kept = Vec::new();
    if let Ok(dir) = std::fs::read_dir(&dead) {
        let mut files: Vec<_> = dir
            .map(|e| e.unwrap().path())
            .filter(|p| p.extension().is_some_and(|e| e == "chunk"))
            .collect();
        files.sort();
        for f in files {
            for b in read_chunk(&f).unwrap() {
                kept.extend(timestamps(&b));
            }
        }
    }
    (kept, metrics)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_split_reads_its_events_back_from_the_chunk() {
    let accepted = Arc::new(Mutex::new(Vec::new()));
    let (kept, metrics) = run(
        Picky {
            max_ok: 2,
            refused: None,
            accepted: Arc::clone(&accepted),
            lose_chunks: Arc::default(),
        },
        3,
    )
    .await;
    assert_eq!(*accepted.lock().unwrap(), (3..20).collect::<Vec<_>>());
    assert!(kept.is_empty());
    assert_eq!(metrics.snapshot().events_sent, 17);
    assert_eq!(metrics.dropped_count("chunk_unreadable"), 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_dead_letter_reads_its_events_back_from_the_chunk() {
    let accepted = Arc::new(Mutex::new(Vec::new()));
    let (kept, metrics) = run(
        Picky {
            max_ok: usize::MAX,
            refused: Some(10),
            accepted: Arc::clone(&accepted),
            lose_chunks: Arc::default(),
        },
        1,
    )
    .await;
    // Requests of six from event 1: 1..7, then 7..8 (the end of the first frame) joined with
    // 8..13 from the second, which holds the refused id 10.
    assert_eq!(kept, (7..13).collect::<Vec<_>>());
    let mut expected: Vec<i64> = (1..7).collect();
    expected.extend(13..20);
    assert_eq!(*accepted.lock().unwrap(), expected);
    assert_eq!(metrics.dropped_count("permanent_error"), 6);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_split_whose_chunk_is_gone_counts_its_events_lost_and_goes_on() {
    let accepted = Arc::new(Mutex::new(Vec::new()));
    let (kept, metrics) = run(
        Picky {
            max_ok: 2,
            refused: None,
            accepted: Arc::clone(&accepted),
            // Any path: `run` puts the buffer's directory in its place.
            lose_chunks: Arc::new(Mutex::new(Some(std::path::PathBuf::new()))),
        },
        3,
    )
    .await;
    // Every request (six events) is too large, and the chunk is gone before the first split
    // reads its events back: no split can be made, so each of the 17 undelivered events is
    // counted lost exactly once, none is sent, and the worker still drains and stops.
    assert!(accepted.lock().unwrap().is_empty());
    assert!(kept.is_empty());
    assert_eq!(metrics.dropped_count("chunk_unreadable"), 17);
    assert_eq!(metrics.snapshot().events_sent, 0);
}
