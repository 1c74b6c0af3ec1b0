use std::time::Duration;

use gleaner_api::{Ack, AckStatus, Acknowledgements, LogRecord, Stream};

use super::*;
use crate::config::BufferSync;

fn cfg(max_bytes: u64, when_full: WhenFull) -> DiskConfig {
    DiskConfig {
        store: StoreConfig {
            chunk_size: 1 << 20,
            sync: BufferSync::Batch,
        },
        max_bytes,
        when_full,
        flush_interval: Duration::from_millis(20),
    }
}

fn logs(ids: std::ops::Range<i64>) -> Batch {
    Batch::Logs(
        ids.map(|i| LogRecord::new(i, format!("line {i}"), Stream::Stdout))
            .collect(),
    )
}

fn ids(d: &mut ChunkDelivery) -> Vec<i64> {
    std::iter::from_fn(|| d.reader.next_batch().map(|b| b.expect("decodes")))
        .collect::<Vec<_>>()
        .iter()
        .flat_map(|b| match b {
            Batch::Logs(l) => l.iter().map(|r| r.timestamp).collect::<Vec<_>>(),
            Batch::Metrics(_) => vec![],
        })
        .collect()
}

async fn open(dir: &Path, c: DiskConfig) -> (DiskBuffer, Arc<ComponentMetrics>) {
    let m = ComponentMetrics::detached("out");
    let b = DiskBuffer::open(
        "outputs.test.0",
        &dir.join("buf"),
        &dir.join("corrupt"),
        c,
        Arc::clone(&m),
    )
    .await
    .unwrap();
    (b, m)
}

async fn within<T>(f: impl std::future::Future<Output = T>) -> T {
    tokio::time::timeout(Duration::from_secs(10), f)
        .await
        .expect("timed out")
}

#[tokio::test]
async fn acks_after_write_and_delivers_in_order() {
    let dir = tempfile::tempdir().unwrap();
    let (b, m) = open(dir.path(), cfg(1 << 30, WhenFull::Block)).await;
    let mut acks = Acknowledgements::new();
    b.push(logs(0..3), Some(acks.token(1))).await.unwrap();
    b.push(logs(3..5), Some(acks.token(2))).await.unwrap();
    assert_eq!(
        within(acks.recv()).await,
        Some(Ack {
            id: 1,
            status: AckStatus::Delivered
        })
    );
    assert_eq!(
        within(acks.recv()).await,
        Some(Ack {
            id: 2,
            status: AckStatus::Delivered
        })
    );
    let mut d = within(b.next()).await.unwrap();
    assert_eq!(ids(&mut d), vec![0, 1, 2, 3, 4]);
    assert!(m.buffer_bytes.load(Ordering::Relaxed) > 0);
    b.done(d.seq).await;
    assert_eq!(m.buffer_bytes.load(Ordering::Relaxed), 0);
    assert_eq!(
        std::fs::read_dir(dir.path().join("buf")).unwrap().count(),
        0
    );
    b.close();
    assert!(within(b.next()).await.is_none());
}

#[tokio::test]
async fn survives_reopen_and_seals_what_was_open() {
    let dir = tempfile::tempdir().unwrap();
    {
        // The abandoned writer must not seal the chunk behind the second buffer's back (it
        // would append a second footer): give it no seal timer within the test.
        let mut c = cfg(1 << 30, WhenFull::Block);
        c.flush_interval = Duration::from_secs(3600);
        let (b, _) = open(dir.path(), c).await;
        let mut acks = Acknowledgements::new();
        b.push(logs(0..2), Some(acks.token(1))).await.unwrap();
        within(acks.recv()).await;
        // No close: the writer task is simply abandoned, like a crash after the ack.
    }
    let (b, _) = open(dir.path(), cfg(1 << 30, WhenFull::Block)).await;
    let mut d = within(b.next()).await.unwrap();
    assert_eq!(ids(&mut d), vec![0, 1]);
}

#[tokio::test]
async fn block_waits_until_a_chunk_is_delivered() {
    let dir = tempfile::tempdir().unwrap();
    let (b, _) = open(dir.path(), cfg(1, WhenFull::Block)).await;
    b.push(logs(0..1), None).await.unwrap();
    let first = within(b.next()).await.unwrap();
    let b2 = b.clone();
    let pusher = tokio::spawn(async move { b2.push(logs(1..2), None).await });
    tokio::time::sleep(Duration::from_millis(100)).await;
    assert!(!pusher.is_finished(), "push into a full buffer must wait");
    b.done(first.seq).await;
    within(pusher).await.unwrap().unwrap();
    assert_eq!(ids(&mut within(b.next()).await.unwrap()), vec![1]);
}

#[tokio::test]
async fn drop_oldest_deletes_whole_chunks_and_counts() {
    let dir = tempfile::tempdir().unwrap();
    let (b, m) = open(dir.path(), cfg(1, WhenFull::DropOldest)).await;
    b.push(logs(0..3), None).await.unwrap();
    // Wait until it is sealed (a sealed chunk is what drop_oldest can drop).
    let d = within(b.next()).await.unwrap();
    assert!(b.holds(d.seq));
    b.push(logs(3..4), None).await.unwrap();
    assert_eq!(m.dropped_count("drop_oldest"), 3);
    assert!(!b.holds(d.seq), "the dropped chunk is no longer held");
    assert_eq!(ids(&mut within(b.next()).await.unwrap()), vec![3]);
}

#[tokio::test]
async fn corrupt_chunk_is_moved_aside_and_skipped() {
    let dir = tempfile::tempdir().unwrap();
    {
        let (b, _) = open(dir.path(), cfg(1 << 30, WhenFull::Block)).await;
        b.push(logs(0..2), None).await.unwrap();
        let d = within(b.next()).await.unwrap();
        b.push(logs(2..4), None).await.unwrap();
        let d2 = within(async {
            loop {
                tokio::time::sleep(Duration::from_millis(5)).await;
                if b.chunks() >= 2 && lock(&b.inner.store).sealed_len() >= 2 {
                    break;
                }
            }
        });
        d2.await;
        // Damage the first chunk's payload.
        let path = dir.path().join("buf").join(format!("{:020}.chunk", d.seq));
        let mut bytes = std::fs::read(&path).unwrap();
        bytes[super::super::format::HEADER_LEN + 10] ^= 0xff;
        std::fs::write(&path, bytes).unwrap();
    }
    let (b, m) = open(dir.path(), cfg(1 << 30, WhenFull::Block)).await;
    let mut d = within(b.next()).await.unwrap();
    assert_eq!(ids(&mut d), vec![2, 3]);
    let snap = m.snapshot();
    assert!(
        snap.errors.contains(&("corrupt_chunk", 1)),
        "{:?}",
        snap.errors
    );
    assert_eq!(
        std::fs::read_dir(dir.path().join("corrupt"))
            .unwrap()
            .count(),
        1
    );
}

/// A `next` dropped while its chunk is being read (the worker races it against its flush
/// timer) leaves the read to the next call: the chunk is read once and delivered whole.
#[tokio::test]
async fn a_read_cut_short_is_taken_over_by_the_next_call() {
    let dir = tempfile::tempdir().unwrap();
    let (b, _m) = open(dir.path(), cfg(1 << 30, WhenFull::Block)).await;
    b.push(logs(0..1000), None).await.unwrap();
    within(async {
        while lock(&b.inner.store).front().is_none() {
            let sealed = b.inner.ready.notified();
            if lock(&b.inner.store).front().is_some() {
                break;
            }
            sealed.await;
        }
    })
    .await;
    // Polled once: the read starts on the blocking pool, then the future is dropped.
    let mut first = Box::pin(b.next());
    let polled = std::future::poll_fn(|cx| std::task::Poll::Ready(first.as_mut().poll(cx))).await;
    drop(first);
    let mut d = match polled {
        std::task::Poll::Pending => {
            let seq = lock(&b.inner.reading).as_ref().map(|(seq, _)| *seq);
            assert!(seq.is_some(), "the unfinished read is kept");
            let d = within(b.next()).await.expect("the chunk");
            assert_eq!(Some(d.seq), seq);
            assert!(lock(&b.inner.reading).is_none());
            d
        }
        // The read finished within the first poll: nothing was cut short.
        std::task::Poll::Ready(d) => d.expect("the chunk"),
    };
    assert_eq!(ids(&mut d), (0..1000).collect::<Vec<_>>());
}

/// Delivery progress survives a restart: the chunk comes back with its delivered events
/// counted, `Delivery` skips exactly those (mid-batch too), and `done` removes the marker.
#[tokio::test]
async fn a_restart_resumes_after_the_events_marked_sent() {
    let dir = tempfile::tempdir().unwrap();
    {
        let (b, _) = open(dir.path(), cfg(1 << 30, WhenFull::Block)).await;
        let mut acks = Acknowledgements::new();
        b.push(logs(0..3), Some(acks.token(1))).await.unwrap();
        b.push(logs(3..7), Some(acks.token(2))).await.unwrap();
        b.push(logs(7..12), Some(acks.token(3))).await.unwrap();
        for _ in 0..3 {
            within(acks.recv()).await;
        }
        let d = within(b.next()).await.unwrap();
        assert_eq!(d.sent, 0);
        b.mark_sent(d.seq, 5).await;
        // Killed here: the chunk was never done.
    }
    let (b, _) = open(dir.path(), cfg(1 << 30, WhenFull::Block)).await;
    let out = crate::buffer::OutputBuffer::Disk(b.clone());
    let mut d = within(out.next()).await.expect("the chunk again");
    assert_eq!(d.sent_before, 5);
    let mut rest = Vec::new();
    while let Some(batch) = d.next_batch() {
        match batch.expect("decodes") {
            Batch::Logs(l) => rest.extend(l.iter().map(|r| r.timestamp)),
            Batch::Metrics(_) => unreachable!("logs only"),
        }
    }
    assert_eq!(rest, (5..12).collect::<Vec<_>>());
    out.done(d).await;
    assert_eq!(
        files(&dir.path().join("buf")),
        ["progress"],
        "nothing of the chunk is left; the progress record is rewritten in place"
    );
}

/// The names of the files in `dir`, sorted.
fn files(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    names
}

#[tokio::test]
async fn an_earlier_builds_progress_file_is_honoured_and_removed_with_its_chunk() {
    let dir = tempfile::tempdir().unwrap();
    let buf = dir.path().join("buf");
    let chunk = {
        let c = cfg(1 << 30, WhenFull::Block);
        let (mut s, _) = ChunkStore::open(&buf, &dir.path().join("corrupt"), c.store).unwrap();
        s.append(&logs(0..12)).unwrap();
        s.seal().unwrap();
        s.front().unwrap().path.clone()
    };
    store::write_legacy_sent(&chunk, 5).unwrap();
    let (b, _) = open(dir.path(), cfg(1 << 30, WhenFull::Block)).await;
    let d = within(b.next()).await.expect("the chunk");
    assert_eq!(d.sent, 5, "resumes where the earlier build left off");
    b.done(d.seq).await;
    assert!(files(&buf).is_empty(), "{:?}", files(&buf));
}

/// One sealed chunk of `events`, written and closed through the store (as a run would leave it).
fn sealed_chunk(dir: &Path, events: std::ops::Range<i64>) {
    let c = cfg(1 << 30, WhenFull::Block);
    let (mut s, _) = ChunkStore::open(&dir.join("buf"), &dir.join("corrupt"), c.store).unwrap();
    s.append(&logs(events)).unwrap();
    s.seal().unwrap();
}

#[tokio::test]
async fn a_later_chunk_given_the_same_number_does_not_take_the_old_progress() {
    let dir = tempfile::tempdir().unwrap();
    sealed_chunk(dir.path(), 0..12);
    let first = {
        let (b, _) = open(dir.path(), cfg(1 << 30, WhenFull::Block)).await;
        let d = within(b.next()).await.expect("the chunk");
        b.mark_sent(d.seq, 5).await;
        b.done(d.seq).await;
        d.seq
    };
    assert_eq!(files(&dir.path().join("buf")), ["progress"]);
    // Every chunk went, so numbering starts again: the new chunk has the old one's number.
    sealed_chunk(dir.path(), 100..112);
    let (b, _) = open(dir.path(), cfg(1 << 30, WhenFull::Block)).await;
    let mut d = within(b.next()).await.expect("the new chunk");
    assert_eq!(d.seq, first, "the same sequence number");
    assert_eq!(d.sent, 0, "nothing of the new chunk was delivered");
    assert_eq!(ids(&mut d), (100..112).collect::<Vec<_>>());
}

#[tokio::test]
async fn progress_that_cannot_be_recorded_is_counted_and_delivery_goes_on() {
    let dir = tempfile::tempdir().unwrap();
    sealed_chunk(dir.path(), 0..12);
    // A directory where the record goes: opening it for writing fails (EISDIR).
    std::fs::create_dir(
        dir.path()
            .join("buf")
            .join(crate::buffer::progress::FILE_NAME),
    )
    .unwrap();
    let (b, m) = open(dir.path(), cfg(1 << 30, WhenFull::Block)).await;
    // Unreadable at open: reported once.
    assert!(m.snapshot().errors.contains(&("buffer_progress", 1)));
    let d = within(b.next()).await.expect("the chunk");
    b.mark_sent(d.seq, 5).await;
    assert!(m.snapshot().errors.contains(&("buffer_progress", 2)));
    b.done(d.seq).await;
    assert_eq!(
        m.snapshot().buffer_chunks,
        0,
        "delivered and removed all the same"
    );
}

/// Three sealed chunks of 3, 4 and 5 events, the first taken for delivery.
async fn three_chunks(dir: &Path) -> (DiskBuffer, Arc<ComponentMetrics>, ChunkDelivery) {
    let mut c = cfg(1 << 30, WhenFull::Block);
    c.store.chunk_size = 1; // every batch seals its chunk
    let (b, m) = open(dir, c).await;
    let mut acks = Acknowledgements::new();
    for (i, r) in [0..3, 3..7, 7..12].into_iter().enumerate() {
        b.push(logs(r), Some(acks.token(i as u64))).await.unwrap();
    }
    for _ in 0..3 {
        within(acks.recv()).await.unwrap();
    }
    assert_eq!(lock(&b.inner.store).sealed_len(), 3);
    let mut first = within(b.next()).await.unwrap();
    assert_eq!(ids(&mut first), vec![0, 1, 2]);
    (b, m, first)
}

#[tokio::test]
async fn a_deleted_chunk_is_skipped_counted_and_delivery_goes_on() {
    let dir = tempfile::tempdir().unwrap();
    let (b, m, first) = three_chunks(dir.path()).await;
    let victim = store::chunk_path(&dir.path().join("buf"), first.seq + 1);
    std::fs::remove_file(&victim).unwrap();
    b.done(first.seq).await;
    let mut next = within(b.next()).await.unwrap();
    assert_eq!(ids(&mut next), vec![7, 8, 9, 10, 11]);
    assert_eq!(m.dropped_count("chunk_missing"), 4);
    let snap = m.snapshot();
    assert_eq!((snap.buffer_chunks, snap.buffer_events), (1, 5));
    b.done(next.seq).await;
    assert_eq!(m.snapshot().buffer_chunks, 0);
}

#[tokio::test]
async fn a_deleted_chunk_counts_only_what_was_not_delivered_before() {
    let dir = tempfile::tempdir().unwrap();
    let (b, m, first) = three_chunks(dir.path()).await;
    let victim = store::chunk_path(&dir.path().join("buf"), first.seq + 1);
    // Its first 3 events went out before.
    b.mark_sent(first.seq + 1, 3).await;
    std::fs::remove_file(&victim).unwrap();
    b.done(first.seq).await;
    let mut next = within(b.next()).await.unwrap();
    assert_eq!(ids(&mut next), vec![7, 8, 9, 10, 11]);
    assert_eq!(m.dropped_count("chunk_missing"), 1);
}

#[tokio::test(start_paused = true)]
async fn an_unreadable_chunk_is_moved_aside_after_its_tries() {
    let dir = tempfile::tempdir().unwrap();
    let (b, m, first) = three_chunks(dir.path()).await;
    // A directory where the chunk was: it opens, but reading it fails (EISDIR), every time.
    let victim = store::chunk_path(&dir.path().join("buf"), first.seq + 1);
    std::fs::remove_file(&victim).unwrap();
    std::fs::create_dir(&victim).unwrap();
    b.done(first.seq).await;
    let mut next = within(b.next()).await.unwrap();
    assert_eq!(ids(&mut next), vec![7, 8, 9, 10, 11]);
    assert_eq!(m.dropped_count("chunk_unreadable"), 4);
    let errors = m.snapshot().errors;
    assert!(
        errors.contains(&("buffer_read", u64::from(UNREADABLE_TRIES))),
        "{errors:?}"
    );
    assert_eq!(
        std::fs::read_dir(dir.path().join("corrupt"))
            .unwrap()
            .count(),
        1
    );
}

#[tokio::test]
async fn reconfigure_applies_new_limits_to_the_next_push() {
    let dir = tempfile::tempdir().unwrap();
    let (b, _) = open(dir.path(), cfg(1, WhenFull::Block)).await;
    b.push(logs(0..1), None).await.unwrap();
    let first = within(b.next()).await.unwrap();
    let b2 = b.clone();
    let pusher = tokio::spawn(async move { b2.push(logs(1..2), None).await });
    tokio::time::sleep(Duration::from_millis(100)).await;
    assert!(!pusher.is_finished(), "full at max_bytes = 1");
    // A reload raises the bound: the waiting push goes in, nothing is delivered first.
    b.reconfigure(cfg(1 << 30, WhenFull::Block));
    within(pusher).await.unwrap().unwrap();
    assert_eq!(ids(&mut { first }), vec![0]);
}

fn metrics_of(d: &mut ChunkDelivery) -> Vec<gleaner_api::Metric> {
    std::iter::from_fn(|| d.reader.next_batch().map(|b| b.expect("decodes")))
        .flat_map(|b| match b {
            Batch::Metrics(ms) => ms,
            Batch::Logs(_) => vec![],
        })
        .collect()
}

#[tokio::test]
async fn the_reader_keeps_no_tag_set_past_the_metrics_that_carry_it() {
    // Two scrapes of one series (its set shared by two metrics) in two chunks: each chunk's
    // metrics share one decoded set, held by them alone, so it goes when they are delivered.
    let dir = tempfile::tempdir().unwrap();
    let (b, _) = open(dir.path(), cfg(1 << 30, WhenFull::Block)).await;
    let scrape = |t| {
        let m = gleaner_api::Metric::new("up", t).with_tag("instance", "node-1:9100");
        let mut n = gleaner_api::Metric::new("scrape_seconds", t);
        n.tags = m.tags.clone();
        Batch::Metrics(vec![m, n])
    };
    b.push(scrape(1), None).await.unwrap();
    let mut d = within(b.next()).await.unwrap();
    let first = metrics_of(&mut d);
    b.done(d.seq).await;
    b.push(scrape(2), None).await.unwrap();
    let mut d = within(b.next()).await.unwrap();
    let second = metrics_of(&mut d);
    b.done(d.seq).await;
    for ms in [&first, &second] {
        assert_eq!(ms.len(), 2);
        assert!(gleaner_api::Tags::ptr_eq(&ms[0].tags, &ms[1].tags));
        assert_eq!(ms[0].tags.holders(), 2, "only the two metrics hold the set");
    }
    assert_eq!(first[0].tags, second[0].tags);
    assert!(!gleaner_api::Tags::ptr_eq(&first[0].tags, &second[0].tags));
    b.close();
}

#[tokio::test]
async fn a_damaged_progress_record_is_reported_and_its_chunk_sent_whole() {
    let dir = tempfile::tempdir().unwrap();
    sealed_chunk(dir.path(), 0..12);
    let record = dir
        .path()
        .join("buf")
        .join(crate::buffer::progress::FILE_NAME);
    std::fs::write(&record, b"torn").unwrap();
    let (b, m) = open(dir.path(), cfg(1 << 30, WhenFull::Block)).await;
    assert!(m.snapshot().errors.contains(&("buffer_progress", 1)));
    let mut d = within(b.next()).await.expect("the chunk");
    assert_eq!(d.sent, 0);
    assert_eq!(ids(&mut d), (0..12).collect::<Vec<_>>());
}
