//! The bounded in-memory queue in front of each output (the disk buffer of the next issue
//! replaces it behind the same `push`/`pop` shape).
//!
//! Bounded by batches and by approximate bytes. A full queue either blocks the pusher (the
//! router, and so every input: backpressure) or drops the oldest batches, counted under
//! `drop_oldest`. A push is the moment an output has "taken" a batch, so the router settles
//! acknowledgements after it.

use std::collections::VecDeque;
use std::sync::atomic::Ordering;
use std::sync::{Arc, Mutex, PoisonError};

use gleaner_api::{Batch, ComponentMetrics, FieldValue};
use tokio::sync::Notify;

use crate::config::WhenFull;

/// The queue was closed: the pipeline is stopping.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct QueueClosed;

#[derive(Debug)]
struct State {
    items: VecDeque<(Batch, usize)>,
    bytes: usize,
    events: usize,
    closed: bool,
    /// Limits; a reload changes them in place ([`OutputQueue::reconfigure`]).
    max_batches: usize,
    max_bytes: usize,
    when_full: WhenFull,
}

/// One output's queue.
#[derive(Debug)]
pub struct OutputQueue {
    state: Mutex<State>,
    pushed: Notify,
    popped: Notify,
    metrics: Arc<ComponentMetrics>,
}

impl OutputQueue {
    /// A queue of at most `max_batches` batches and about `max_bytes` bytes (one batch is
    /// always admitted into an empty queue, however large).
    pub fn new(
        max_batches: usize,
        max_bytes: u64,
        when_full: WhenFull,
        metrics: Arc<ComponentMetrics>,
    ) -> Self {
        metrics
            .queue_capacity
            .store(max_batches as u64, Ordering::Relaxed);
        OutputQueue {
            state: Mutex::new(State {
                items: VecDeque::new(),
                bytes: 0,
                events: 0,
                closed: false,
                max_batches: max_batches.max(1),
                max_bytes: usize::try_from(max_bytes).unwrap_or(usize::MAX),
                when_full,
            }),
            pushed: Notify::new(),
            popped: Notify::new(),
            metrics,
        }
    }

    /// New limits for what is pushed from now on (a reload that changed the output's buffer
    /// settings); what is queued stays, even above the new bounds.
    pub fn reconfigure(&self, max_batches: usize, max_bytes: u64, when_full: WhenFull) {
        let mut s = self.lock();
        s.max_batches = max_batches.max(1);
        s.max_bytes = usize::try_from(max_bytes).unwrap_or(usize::MAX);
        s.when_full = when_full;
        drop(s);
        self.metrics
            .queue_capacity
            .store(max_batches as u64, Ordering::Relaxed);
        self.popped.notify_waiters();
    }

    /// Puts batches taken but not delivered back at the front, in their order (a worker
    /// handing its output over to the one a reload built). They were queued before, so the
    /// bounds do not apply.
    pub fn put_back(&self, batches: Vec<Batch>) {
        if batches.is_empty() {
            return;
        }
        let mut s = self.lock();
        for batch in batches.into_iter().rev() {
            let bytes = approx_bytes(&batch);
            s.events += batch.len();
            s.bytes += bytes;
            s.items.push_front((batch, bytes));
        }
        self.metrics
            .queue_depth
            .store(s.events as u64, Ordering::Relaxed);
        drop(s);
        self.pushed.notify_one();
    }

    /// Closes the queue and takes everything in it (a reload moving an output to another
    /// buffer type).
    pub fn close_and_take(&self) -> Vec<Batch> {
        let mut s = self.lock();
        s.closed = true;
        s.bytes = 0;
        s.events = 0;
        let out = s.items.drain(..).map(|(b, _)| b).collect();
        self.metrics.queue_depth.store(0, Ordering::Relaxed);
        drop(s);
        self.pushed.notify_waiters();
        self.popped.notify_waiters();
        out
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn full(s: &State, bytes: usize) -> bool {
        !s.items.is_empty()
            && (s.items.len() >= s.max_batches || s.bytes.saturating_add(bytes) > s.max_bytes)
    }

    /// Enqueues a batch, waiting for room (`block`) or making room (`drop_oldest`).
    pub async fn push(&self, batch: Batch) -> Result<(), QueueClosed> {
        let bytes = approx_bytes(&batch);
        loop {
            {
                let mut s = self.lock();
                if s.closed {
                    return Err(QueueClosed);
                }
                if s.when_full == WhenFull::DropOldest {
                    while Self::full(&s, bytes) {
                        if let Some((old, b)) = s.items.pop_front() {
                            s.bytes -= b;
                            s.events -= old.len();
                            self.metrics.dropped("drop_oldest", old.len() as u64);
                        }
                    }
                }
                if !Self::full(&s, bytes) {
                    s.events += batch.len();
                    s.bytes += bytes;
                    s.items.push_back((batch, bytes));
                    self.metrics
                        .queue_depth
                        .store(s.events as u64, Ordering::Relaxed);
                    drop(s);
                    self.pushed.notify_one();
                    return Ok(());
                }
            }
            self.popped.notified().await;
        }
    }

    /// The oldest batch; `None` once the queue is closed and empty.
    pub async fn pop(&self) -> Option<Batch> {
        loop {
            {
                let mut s = self.lock();
                if let Some((batch, bytes)) = s.items.pop_front() {
                    s.bytes -= bytes;
                    s.events -= batch.len();
                    self.metrics
                        .queue_depth
                        .store(s.events as u64, Ordering::Relaxed);
                    drop(s);
                    self.popped.notify_one();
                    return Some(batch);
                }
                if s.closed {
                    return None;
                }
            }
            self.pushed.notified().await;
        }
    }

    /// Refuses further pushes; `pop` drains what is left, then returns `None`.
    pub fn close(&self) {
        self.lock().closed = true;
        self.pushed.notify_one();
        self.popped.notify_one();
    }

    /// Events still queued.
    pub fn events(&self) -> usize {
        self.lock().events
    }
}

/// A cheap estimate of a batch's size in memory, for the `max_bytes` bound.
pub fn approx_bytes(batch: &Batch) -> usize {
    fn value(v: &FieldValue) -> usize {
        match v {
            FieldValue::String(s) => s.len() + 24,
            _ => 16,
        }
    }
    match batch {
        Batch::Metrics(ms) => ms
            .iter()
            .map(|m| {
                64 + m.measurement.len()
                    + m.tags
                        .iter()
                        .map(|(k, v)| k.len() + v.len() + 48)
                        .sum::<usize>()
                    + m.fields
                        .iter()
                        .map(|(k, v)| k.len() + 24 + value(v))
                        .sum::<usize>()
            })
            .sum(),
        Batch::Logs(ls) => ls
            .iter()
            .map(|l| {
                64 + l.body.len()
                    + l.attributes
                        .iter()
                        .map(|(k, v)| k.len() + 24 + value(v))
                        .sum::<usize>()
            })
            .sum(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use gleaner_api::{LogRecord, Stream};

    fn logs(n: usize) -> Batch {
        Batch::Logs(
            (0..n)
                .map(|i| LogRecord::new(i as i64, "x", Stream::Stdout))
                .collect(),
        )
    }

    #[tokio::test]
    async fn block_waits_for_room() {
        let m = ComponentMetrics::detached("t");
        let q = Arc::new(OutputQueue::new(1, u64::MAX, WhenFull::Block, m));
        q.push(logs(1)).await.unwrap();
        let q2 = Arc::clone(&q);
        let pusher = tokio::spawn(async move { q2.push(logs(2)).await });
        tokio::task::yield_now().await;
        assert!(!pusher.is_finished(), "push into a full queue must wait");
        assert_eq!(q.pop().await.map(|b| b.len()), Some(1));
        pusher.await.unwrap().unwrap();
        assert_eq!(q.pop().await.map(|b| b.len()), Some(2));
    }

    #[tokio::test]
    async fn drop_oldest_counts() {
        let m = ComponentMetrics::detached("t");
        let q = OutputQueue::new(2, u64::MAX, WhenFull::DropOldest, Arc::clone(&m));
        q.push(logs(1)).await.unwrap();
        q.push(logs(2)).await.unwrap();
        q.push(logs(3)).await.unwrap();
        assert_eq!(m.dropped_count("drop_oldest"), 1);
        assert_eq!(q.pop().await.map(|b| b.len()), Some(2));
        assert_eq!(q.pop().await.map(|b| b.len()), Some(3));
    }

    #[tokio::test]
    async fn close_drains_then_ends() {
        let m = ComponentMetrics::detached("t");
        let q = OutputQueue::new(4, u64::MAX, WhenFull::Block, m);
        q.push(logs(1)).await.unwrap();
        q.close();
        assert_eq!(q.push(logs(1)).await, Err(QueueClosed));
        assert!(q.pop().await.is_some());
        assert!(q.pop().await.is_none());
    }

    #[tokio::test]
    async fn put_back_goes_first_and_reconfigure_changes_the_bound() {
        let m = ComponentMetrics::detached("t");
        let q = Arc::new(OutputQueue::new(1, u64::MAX, WhenFull::Block, m));
        q.push(logs(3)).await.unwrap();
        q.put_back(vec![logs(1), logs(2)]);
        assert_eq!(q.events(), 6);
        let sizes: Vec<usize> = [q.pop().await, q.pop().await]
            .iter()
            .map(|b| b.as_ref().map_or(0, Batch::len))
            .collect();
        assert_eq!(sizes, vec![1, 2]);
        // One batch queued, bound 1: a push waits until the bound grows.
        let q2 = Arc::clone(&q);
        let pusher = tokio::spawn(async move { q2.push(logs(4)).await });
        tokio::task::yield_now().await;
        assert!(!pusher.is_finished());
        q.reconfigure(2, u64::MAX, WhenFull::Block);
        pusher.await.unwrap().unwrap();
        let left: Vec<usize> = q.close_and_take().iter().map(Batch::len).collect();
        assert_eq!(left, vec![3, 4]);
        assert_eq!(q.events(), 0);
        assert_eq!(q.push(logs(1)).await, Err(QueueClosed));
    }
}
