//! `concurrency` above 1 on a disk buffer: requests of one chunk in flight together, a
//! later request finishing first (or the first one failing and being retried) leaves the
//! chunk's progress marker where it was, and every event is sent exactly once.

use std::sync::atomic::{AtomicBool, Ordering};

use tokio::sync::{Notify, watch};

use super::*;
use crate::buffer::disk::DiskBuffer;
use crate::buffer::progress;

/// What the gated fake has seen, for the test to await.
#[derive(Debug, Default, Clone)]
struct Seen {
    /// Requests in flight now, and the most at once.
    in_flight: usize,
    max_in_flight: usize,
    /// Requests accepted.
    accepted: usize,
    /// Ids of the events accepted, in arrival order.
    ids: Vec<i64>,
}

/// Each request waits until `together` requests are in flight at once; the one carrying id 0
/// then fails once (if `fail_first`) and waits for `release`.
#[derive(Clone)]
struct Gated {
    together: usize,
    fail_first: Arc<AtomicBool>,
    release: Arc<Notify>,
    seen: Arc<watch::Sender<Seen>>,
}

#[async_trait]
impl Output for Gated {
    fn encode(&self, batch: &Batch, buf: &mut Vec<u8>) -> Result<EncodeReport, EncodeError> {
        if let Batch::Logs(l) = batch {
            for r in l {
                buf.extend_from_slice(format!("{}\n", r.timestamp).as_bytes());
            }
        }
        Ok(EncodeReport { skipped: 0 })
    }

    async fn send(&mut self, payload: Payload) -> Result<SendReport, OutputError> {
        let ids: Vec<i64> = std::str::from_utf8(&payload.bytes)
            .unwrap()
            .lines()
            .map(|l| l.parse().unwrap())
            .collect();
        self.seen.send_modify(|s| {
            s.in_flight += 1;
            s.max_in_flight = s.max_in_flight.max(s.in_flight);
        });
        let mut rx = self.seen.subscribe();
        let together = self.together;
        rx.wait_for(|s| s.max_in_flight >= together).await.unwrap();
        if ids.first() == Some(&0) {
            if self.fail_first.swap(false, Ordering::SeqCst) {
                self.seen.send_modify(|s| s.in_flight -= 1);
                return Err(OutputError::retryable("first attempt fails"));
            }
            self.release.notified().await;
        }
        self.seen.send_modify(|s| {
            s.in_flight -= 1;
            s.accepted += 1;
            s.ids.extend(&ids);
        });
        Ok(SendReport::ALL_ACCEPTED)
    }

    fn batch_limits(&self) -> BatchLimits {
        BatchLimits {
            max_events: 10,
            max_bytes: 1 << 20,
        }
    }

    fn concurrency(&self) -> usize {
        4
    }

    fn fork(&self) -> Option<Box<dyn Output>> {
        Some(Box::new(self.clone()))
    }
}

async fn held_back_request(fail_first: bool) {
    let dir = tempfile::tempdir().unwrap();
    let metrics = ComponentMetrics::detached("fake");
    let disk = DiskBuffer::open(
        "outputs.fake.0",
        &dir.path().join("buf"),
        &dir.path().join("corrupt"),
        super::test_disk_config(),
        Arc::clone(&metrics),
    )
    .await
    .unwrap();
    let buffer = OutputBuffer::Disk(disk.clone());
    // One chunk of 40 events: four requests of ten.
    buffer.push(seq(0..40), None).await.unwrap();
    buffer.close();
    let (seen, mut watch) = watch::channel(Seen::default());
    let release = Arc::new(Notify::new());
    let (_stop, stopping) = shutdown_pair();
    let (_abort, abort) = shutdown_pair();
    let (_handover, handover) = shutdown_pair();
    let worker = OutputWorker {
        id: Arc::from("outputs.fake.0"),
        output: Box::new(Gated {
            together: 4,
            fail_first: Arc::new(AtomicBool::new(fail_first)),
            release: Arc::clone(&release),
            seen: Arc::new(seen),
        }),
        buffer,
        metrics: Arc::clone(&metrics),
        flush_interval: Duration::from_secs(1),
        backoff: (Duration::from_millis(1), Duration::from_millis(2)),
        dead_letter: None,
        stopping,
        abort,
        handover,
    };
    let task = tokio::spawn(worker.run());
    let within = Duration::from_secs(20);
    // The three requests after the first are accepted while the first is held (or retried).
    tokio::time::timeout(within, watch.wait_for(|s| s.accepted == 3))
        .await
        .expect("three requests accepted while the first is held")
        .unwrap();
    let record = std::fs::metadata(dir.path().join("buf").join(progress::FILE_NAME));
    assert!(
        record.is_err_and(|e| e.kind() == std::io::ErrorKind::NotFound),
        "progress moved past the request still in flight"
    );
    assert_eq!(disk.chunks(), 1);
    assert_eq!(watch.borrow().max_in_flight, 4);
    release.notify_one();
    tokio::time::timeout(within, task)
        .await
        .expect("the worker drains and stops")
        .unwrap();
    let mut ids = watch.borrow().ids.clone();
    ids.sort_unstable();
    assert_eq!(ids, (0..40).collect::<Vec<_>>(), "every event exactly once");
    assert_eq!(
        disk.chunks(),
        0,
        "the chunk is removed once all four finished"
    );
    let retried = metrics.events_retried.load(Ordering::Relaxed);
    assert_eq!(retried, if fail_first { 10 } else { 0 });
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_later_request_finishing_first_does_not_move_the_progress_marker() {
    held_back_request(false).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failed_first_request_is_retried_and_holds_progress_until_it_succeeds() {
    held_back_request(true).await;
}
