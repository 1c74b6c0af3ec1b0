//! The delivery worker against a scripted output, in paused tokio time: backoff bounds,
//! Retry-After, splitting, permanent drops, request planning, and the shutdown deadline.

use std::collections::VecDeque;
use std::sync::Mutex;

use async_trait::async_trait;
use gleaner_api::{
    EncodeError, EncodeReport, LogRecord, OutputError, SendReport, Stream, shutdown_pair,
};
use tokio::time::Instant;

use super::*;
use crate::buffer::memory::OutputQueue;
use crate::config::WhenFull;

type Script = Arc<Mutex<VecDeque<Result<SendReport, OutputError>>>>;

#[derive(Clone, Default)]
struct Log(Arc<Mutex<Vec<(Instant, usize)>>>);

struct Fake {
    script: Script,
    /// Events the encoder reports as skipped per batch.
    skip: usize,
    /// Answer TooLarge to requests with more events than this.
    max_ok_events: usize,
    limits: BatchLimits,
    sent: Log,
    /// How long each send takes.
    delay: Duration,
}

#[async_trait]
impl Output for Fake {
    fn encode(&self, batch: &Batch, buf: &mut Vec<u8>) -> Result<EncodeReport, EncodeError> {
        for _ in self.skip.min(batch.len())..batch.len() {
            buf.extend_from_slice(b"x\n");
        }
        Ok(EncodeReport {
            skipped: self.skip.min(batch.len()),
        })
    }
    async fn send(&mut self, payload: Payload) -> Result<SendReport, OutputError> {
        if !self.delay.is_zero() {
            tokio::time::sleep(self.delay).await;
        }
        self.sent
            .0
            .lock()
            .unwrap()
            .push((Instant::now(), payload.events));
        if payload.events > self.max_ok_events {
            return Err(OutputError::too_large("too big"));
        }
        self.script
            .lock()
            .unwrap()
            .pop_front()
            .unwrap_or(Ok(SendReport::ALL_ACCEPTED))
    }
    fn batch_limits(&self) -> BatchLimits {
        self.limits
    }
}

fn logs(n: usize) -> Batch {
    Batch::Logs(
        (0..n)
            .map(|i| LogRecord::new(i as i64, "x", Stream::Stdout))
            .collect(),
    )
}

struct Setup {
    queue: Arc<OutputQueue>,
    metrics: Arc<ComponentMetrics>,
    sent: Log,
    worker: OutputWorker,
    stop: gleaner_api::ShutdownTrigger,
    abort: gleaner_api::ShutdownTrigger,
    handover: gleaner_api::ShutdownTrigger,
}

fn setup(
    script: Vec<Result<SendReport, OutputError>>,
    max_ok_events: usize,
    limits: BatchLimits,
) -> Setup {
    let metrics = ComponentMetrics::detached("fake");
    let queue = Arc::new(OutputQueue::new(
        64,
        u64::MAX,
        WhenFull::Block,
        Arc::clone(&metrics),
    ));
    let sent = Log::default();
    let (stop, stopping) = shutdown_pair();
    let (abort, abort_sd) = shutdown_pair();
    let (handover, handover_sd) = shutdown_pair();
    let worker = OutputWorker {
        id: Arc::from("outputs.fake.0"),
        output: Box::new(Fake {
            script: Arc::new(Mutex::new(script.into())),
            skip: 0,
            max_ok_events,
            limits,
            sent: sent.clone(),
            delay: Duration::ZERO,
        }),
        buffer: OutputBuffer::Memory(Arc::clone(&queue)),
        metrics: Arc::clone(&metrics),
        flush_interval: Duration::from_secs(1),
        backoff: (Duration::from_secs(1), Duration::from_secs(60)),
        dead_letter: None,
        stopping,
        abort: abort_sd,
        handover: handover_sd,
    };
    Setup {
        queue,
        metrics,
        sent,
        worker,
        stop,
        abort,
        handover,
    }
}

#[tokio::test(start_paused = true)]
async fn retries_with_growing_jittered_backoff() {
    let s = setup(
        vec![
            Err(OutputError::retryable("down")),
            Err(OutputError::retryable("down")),
        ],
        usize::MAX,
        BatchLimits::default(),
    );
    s.queue.push(logs(3)).await.unwrap();
    s.queue.close();
    let start = Instant::now();
    s.worker.run().await;
    let sent = s.sent.0.lock().unwrap().clone();
    assert_eq!(sent.len(), 3);
    let gap1 = sent[1].0 - sent[0].0;
    let gap2 = sent[2].0 - sent[1].0;
    // Equal jitter, in [d/2, d]: first delay from 1s, second from 2s.
    assert!(
        gap1 >= Duration::from_millis(500) && gap1 <= Duration::from_secs(1),
        "{gap1:?}"
    );
    assert!(
        gap2 >= Duration::from_secs(1) && gap2 <= Duration::from_secs(2),
        "{gap2:?}"
    );
    assert!(start.elapsed() <= Duration::from_secs(3));
    let snap = s.metrics.snapshot();
    assert_eq!(snap.events_sent, 3);
    assert_eq!(snap.events_retried, 6);
    assert!(snap.errors.contains(&("retryable", 2)));
}

#[tokio::test(start_paused = true)]
async fn honours_retry_after() {
    let s = setup(
        vec![Err(OutputError::rate_limited(
            Some(Duration::from_secs(7)),
            "slow down",
        ))],
        usize::MAX,
        BatchLimits::default(),
    );
    s.queue.push(logs(1)).await.unwrap();
    s.queue.close();
    s.worker.run().await;
    let sent = s.sent.0.lock().unwrap().clone();
    assert_eq!(sent[1].0 - sent[0].0, Duration::from_secs(7));
}

#[tokio::test(start_paused = true)]
async fn too_large_splits_down_to_one_event() {
    let s = setup(vec![], 2, BatchLimits::default());
    s.queue.push(logs(5)).await.unwrap();
    s.queue.close();
    s.worker.run().await;
    let sizes: Vec<usize> = s.sent.0.lock().unwrap().iter().map(|(_, n)| *n).collect();
    // 5 → 2+3 → 2 ok, 3 → 1+2 → ok, ok
    assert_eq!(sizes, vec![5, 2, 3, 1, 2]);
    assert_eq!(s.metrics.snapshot().events_sent, 5);

    let s = setup(vec![], 0, BatchLimits::default());
    s.queue.push(logs(2)).await.unwrap();
    s.queue.close();
    s.worker.run().await;
    assert_eq!(s.metrics.dropped_count("too_large"), 2);
}

#[tokio::test(start_paused = true)]
async fn permanent_errors_drop_and_continue_partial_rejections_are_not_sent() {
    let s = setup(
        vec![
            Err(OutputError::permanent("bad request")),
            Ok(SendReport { rejected: 1 }),
        ],
        usize::MAX,
        BatchLimits::default(),
    );
    s.queue.push(logs(2)).await.unwrap();
    s.queue.push(logs(4)).await.unwrap();
    s.queue.close();
    s.worker.run().await;
    assert_eq!(s.metrics.dropped_count("permanent_error"), 2);
    // 4 sent, 1 of which the destination rejected (the output counted it).
    assert_eq!(s.metrics.snapshot().events_sent, 3);
}

#[tokio::test(start_paused = true)]
async fn joins_and_cuts_to_batch_limits() {
    let s = setup(
        vec![],
        usize::MAX,
        BatchLimits {
            max_events: 3,
            max_bytes: 1 << 20,
        },
    );
    // The memory queue hands over one batch at a time; a batch of 7 is cut in 3+3+1.
    s.queue.push(logs(7)).await.unwrap();
    s.queue.close();
    s.worker.run().await;
    let sizes: Vec<usize> = s.sent.0.lock().unwrap().iter().map(|(_, n)| *n).collect();
    assert_eq!(sizes, vec![3, 3, 1]);

    // max_bytes: 2 bytes an event, 5 bytes at most → splits a request of 4 into 2+2.
    let s = setup(
        vec![],
        usize::MAX,
        BatchLimits {
            max_events: 100,
            max_bytes: 5,
        },
    );
    s.queue.push(logs(4)).await.unwrap();
    s.queue.close();
    s.worker.run().await;
    let sizes: Vec<usize> = s.sent.0.lock().unwrap().iter().map(|(_, n)| *n).collect();
    assert_eq!(sizes, vec![2, 2]);
}

#[tokio::test(start_paused = true)]
async fn abort_stops_retrying_and_counts_what_is_left() {
    let script = (0..1000)
        .map(|_| Err(OutputError::retryable("down")))
        .collect();
    let s = setup(script, usize::MAX, BatchLimits::default());
    s.queue.push(logs(2)).await.unwrap();
    s.queue.push(logs(3)).await.unwrap();
    s.queue.close();
    s.stop.trigger();
    let handle = tokio::spawn(s.worker.run());
    tokio::time::sleep(Duration::from_secs(30)).await;
    assert!(
        !handle.is_finished(),
        "a memory buffer keeps retrying until the deadline"
    );
    s.abort.trigger();
    handle.await.unwrap();
    assert_eq!(s.metrics.dropped_count("shutdown_timeout"), 5);
}

#[tokio::test(start_paused = true)]
async fn abort_stops_a_long_drain_within_a_request_and_counts_every_event_left() {
    let limits = BatchLimits {
        max_events: 10,
        max_bytes: 1 << 20,
    };
    let mut s = setup(vec![], usize::MAX, limits);
    s.worker.output = Box::new(Fake {
        script: Arc::new(Mutex::new(VecDeque::new())),
        skip: 0,
        max_ok_events: usize::MAX,
        limits,
        sent: s.sent.clone(),
        delay: Duration::from_secs(1),
    });
    // One batch of 100 is in the worker's hands (10 requests of a second each), 50 more
    // wait in the queue.
    s.queue.push(logs(100)).await.unwrap();
    s.queue.push(logs(50)).await.unwrap();
    s.stop.trigger();
    let start = Instant::now();
    let handle = tokio::spawn(s.worker.run());
    tokio::time::sleep(Duration::from_millis(3_500)).await;
    s.abort.trigger();
    handle.await.unwrap();
    // Stopped in the fourth send, not after the tenth.
    assert!(
        start.elapsed() < Duration::from_secs(4),
        "{:?}",
        start.elapsed()
    );
    let sent = s.metrics.snapshot().events_sent;
    assert_eq!(sent, 30);
    assert_eq!(s.metrics.dropped_count("shutdown_timeout"), 150 - sent);
    // The queue is closed: the router's later pushes fail (and it counts them).
    assert!(s.queue.push(logs(1)).await.is_err());
}

#[tokio::test(start_paused = true)]
async fn events_the_encoder_skips_are_not_counted_as_sent() {
    let mut s = setup(vec![], usize::MAX, BatchLimits::default());
    let metrics = ComponentMetrics::detached("fake");
    s.worker.metrics = Arc::clone(&metrics);
    let fake = Fake {
        script: Arc::new(Mutex::new(VecDeque::new())),
        skip: 2,
        max_ok_events: usize::MAX,
        limits: BatchLimits::default(),
        sent: s.sent.clone(),
        delay: Duration::ZERO,
    };
    s.worker.output = Box::new(fake);
    s.queue.push(logs(5)).await.unwrap();
    s.queue.close();
    s.worker.run().await;
    assert_eq!(metrics.snapshot().events_sent, 3);
    assert_eq!(s.sent.0.lock().unwrap()[0].1, 3);
}

#[test]
fn requests_shrink_to_what_fits_in_max_bytes() {
    let limits = BatchLimits {
        max_events: 10_000,
        max_bytes: 1 << 20,
    };
    let mut s = Sizing::default();
    assert_eq!(
        s.events_per_request(&limits),
        1_000,
        "nothing learned yet: a first request of at most 1,000 events"
    );
    // A 5 MB body for 10,000 events: about 524 bytes each.
    s.learn(5_242_880, 10_000);
    let n = s.events_per_request(&limits);
    assert!((1700..=1900).contains(&n), "{n}");
    // Small events: the event bound wins again.
    for _ in 0..20 {
        s.learn(10_000, 1_000);
    }
    assert_eq!(s.events_per_request(&limits), 10_000);
    // Huge events: at least one per request.
    s.learn(50 << 20, 1);
    assert_eq!(s.events_per_request(&limits), 1);
}

/// A disk buffer's settings for the worker tests: 1 MiB chunks, no size limit in reach, and
/// a flush interval no test waits for (each writes what it needs by hand).
fn test_disk_config() -> crate::buffer::disk::DiskConfig {
    crate::buffer::disk::DiskConfig {
        store: crate::buffer::store::StoreConfig {
            chunk_size: 1 << 20,
            sync: crate::config::BufferSync::Batch,
        },
        max_bytes: 1 << 30,
        when_full: WhenFull::Block,
        flush_interval: Duration::from_secs(3600),
    }
}

fn seq(ids: std::ops::Range<i64>) -> Batch {
    Batch::Logs(
        ids.map(|i| LogRecord::new(i, "x", Stream::Stdout))
            .collect(),
    )
}

fn timestamps(b: &Batch) -> Vec<i64> {
    match b {
        Batch::Logs(l) => l.iter().map(|r| r.timestamp).collect(),
        Batch::Metrics(m) => m.iter().map(|r| r.timestamp).collect(),
    }
}

#[tokio::test(start_paused = true)]
async fn handover_finishes_the_send_in_flight_and_puts_the_rest_back_in_order() {
    let limits = BatchLimits {
        max_events: 10,
        max_bytes: 1 << 20,
    };
    let mut s = setup(vec![], usize::MAX, limits);
    s.worker.output = Box::new(Fake {
        script: Arc::new(Mutex::new(VecDeque::new())),
        skip: 0,
        max_ok_events: usize::MAX,
        limits,
        sent: s.sent.clone(),
        delay: Duration::from_secs(1),
    });
    // 100 events in the worker's hands (10 requests of a second each), 50 more queued.
    s.queue.push(seq(0..100)).await.unwrap();
    s.queue.push(seq(100..150)).await.unwrap();
    let handle = tokio::spawn(s.worker.run());
    tokio::time::sleep(Duration::from_millis(3_500)).await;
    s.handover.trigger();
    handle.await.unwrap();
    // The fourth send, in flight at the handover, finished; nothing was dropped.
    let sizes: Vec<usize> = s.sent.0.lock().unwrap().iter().map(|(_, n)| *n).collect();
    assert_eq!(sizes, vec![10, 10, 10, 10]);
    assert_eq!(s.metrics.dropped_count("shutdown_timeout"), 0);
    assert_eq!(s.queue.events(), 110);
    let mut back = Vec::new();
    s.queue.close();
    while let Some(b) = s.queue.pop().await {
        back.extend(timestamps(&b));
    }
    assert_eq!(back, (40..150).collect::<Vec<_>>());
}

#[tokio::test(start_paused = true)]
async fn handover_during_a_retry_delay_returns_the_request() {
    let script = (0..1000)
        .map(|_| Err(OutputError::retryable("down")))
        .collect();
    let s = setup(script, usize::MAX, BatchLimits::default());
    s.queue.push(seq(0..3)).await.unwrap();
    let handle = tokio::spawn(s.worker.run());
    tokio::time::sleep(Duration::from_secs(10)).await;
    assert!(!handle.is_finished());
    s.handover.trigger();
    handle.await.unwrap();
    assert_eq!(s.metrics.dropped_count("shutdown_timeout"), 0);
    s.queue.close();
    let b = s
        .queue
        .pop()
        .await
        .expect("the request is back in the queue");
    assert_eq!(timestamps(&b), vec![0, 1, 2]);
}

mod concurrency;
mod lean;
mod prepared;
