//! One output's delivery loop.
//!
//! It takes [`Delivery`]s from the output's buffer (a queued batch, or a whole disk chunk),
//! joins consecutive batches of one kind into requests of at most the output's
//! `batch_limits().max_events`, encodes each (pure), splits a request whose encoding exceeds
//! `max_bytes`, and sends. On failure the error's kind decides: `Retryable` and
//! `RateLimited` retry the same payload (exponential backoff with equal jitter from
//! `retry_initial_backoff` to `retry_max_backoff`, see `backoff.rs`, or the server's
//! `Retry-After`); `TooLarge` splits the request in halves, down to one event, which is
//! then dropped; `Permanent` drops the request, counted by reason and kept under
//! `<data_dir>/dead/<output-id>/` with `dead_letter = true`. A delivery is reported done
//! only when every event in it was accepted or rejected for good.
//!
//! Stopping: a memory buffer is drained until `shutdown_timeout`. At the deadline (the abort
//! signal) the worker stops between requests, or in the middle of a send or a retry delay,
//! closes its memory queue so nothing more is pushed into it, and counts every event it
//! abandons under `shutdown_timeout`: the rest of the delivery in hand (the request being
//! sent or retried, split halves, what the planner carries) and what is still queued. The
//! router counts what it can no longer push; the pipeline logs the total per output. A disk
//! buffer keeps delivering while sends succeed; after the first failure once the agent is
//! stopping, it stops and leaves the chunk on disk for the next start (at-least-once: the
//! requests of that chunk already sent are sent again).
//!
//! Handing over (a reload built this output again): at the handover signal the worker lets
//! a send in flight finish, skips any retry delay, puts every memory event it took but did
//! not deliver back at the front of its queue, in order, flushes and returns; the worker of
//! the new build goes on from the same buffer (a disk chunk is simply read again, after its
//! progress marker). Nothing is counted as dropped.
//!
//! (Over 400 lines: delivering, retrying and the three ways of stopping share one loop's
//! state, the delivery in hand.)

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use gleaner_api::{
    Batch, BatchLimits, ComponentMetrics, Output, OutputErrorKind, Payload, PluginId, Shutdown,
};
use tracing::{error, info, warn};

use super::backoff::Backoff;
use super::dead_letter::DeadLetter;
use super::plan::Planner;
use crate::buffer::{Delivery, OutputBuffer};

/// How long the last flush may take once the shutdown timeout has passed.
const ABORTED_FLUSH: Duration = Duration::from_millis(500);

/// A running output.
pub struct OutputWorker {
    /// Instance id.
    pub id: PluginId,
    /// The plugin.
    pub output: Box<dyn Output>,
    /// Its buffer.
    pub buffer: OutputBuffer,
    /// Its counters.
    pub metrics: Arc<ComponentMetrics>,
    /// Flush period.
    pub flush_interval: Duration,
    /// Retry delays.
    pub backoff: (Duration, Duration),
    /// Where rejected events are kept, if wanted.
    pub dead_letter: Option<PathBuf>,
    /// Fires when the agent starts stopping.
    pub stopping: Shutdown,
    /// Fires when the shutdown timeout has expired: stop retrying.
    pub abort: Shutdown,
    /// Fires when a reload hands the buffer over to a new build of this output.
    pub handover: Shutdown,
}

/// What one event costs once encoded, learned from the requests so far, so the planner
/// joins as many events as fit in `max_bytes` instead of encoding too many and splitting
/// (a Splunk HEC event is 3–5 times its buffered size: 10,000 events made a 5 MB body that
/// was encoded, split and encoded again down to the 1 MiB limit).
#[derive(Debug, Default)]
struct Sizing {
    /// Encoded bytes per event (a moving average); `None` before the first request.
    bytes_per_event: Option<f64>,
}

impl Sizing {
    fn learn(&mut self, bytes: usize, events: usize) {
        if events == 0 {
            return;
        }
        let now = bytes as f64 / events as f64;
        self.bytes_per_event = Some(match self.bytes_per_event {
            Some(avg) => avg * 0.7 + now * 0.3,
            None => now,
        });
    }

    /// Events per request: the output's `max_events`, fewer when they would not fit in 90%
    /// of its `max_bytes`.
    fn events_per_request(&self, limits: &BatchLimits) -> usize {
        match self.bytes_per_event {
            Some(bpe) if bpe > 0.0 => {
                let fit = (limits.max_bytes as f64 * 0.9 / bpe) as usize;
                fit.clamp(1, limits.max_events.max(1))
            }
            _ => limits.max_events,
        }
    }
}

/// How sending one request ended.
enum SendOutcome {
    Sent,
    Dropped,
    Split,
    /// Stopping: leave the rest for later (disk) or give up (memory, at the deadline).
    Stop,
    /// Handing over: the request was not delivered and goes back to the buffer.
    HandOver,
}

/// Why a delivery ended before every event in it was done.
enum Interrupted {
    /// Stopped at the deadline with this many memory events undelivered.
    Stopped(usize),
    /// Handing over, with the memory batches still to deliver, in order.
    HandOver(Vec<Batch>),
}

fn split(batch: Batch) -> (Batch, Batch) {
    match batch {
        Batch::Metrics(mut v) => {
            let tail = v.split_off(v.len() / 2);
            (Batch::Metrics(v), Batch::Metrics(tail))
        }
        Batch::Logs(mut v) => {
            let tail = v.split_off(v.len() / 2);
            (Batch::Logs(v), Batch::Logs(tail))
        }
    }
}

impl OutputWorker {
    /// Runs until the buffer is closed and drained, or stopping rules say stop.
    pub async fn run(mut self) {
        let mut dirty = false;
        let mut flush = tokio::time::interval(self.flush_interval.max(Duration::from_millis(10)));
        flush.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        let mut dead = self
            .dead_letter
            .take()
            .map(|dir| DeadLetter::new(dir, Arc::clone(&self.id)));
        let mut sizing = Sizing::default();
        let mut spare_body = Vec::new();
        // Memory events of the delivery in hand when the worker had to stop.
        let mut in_hand = 0;
        loop {
            tokio::select! {
                d = self.buffer.next() => match d {
                    Some(mut d) => {
                        let stopped = self
                            .deliver(&mut d, &mut dead, &mut sizing, &mut spare_body)
                            .await;
                        dirty = true;
                        match stopped {
                            None => self.buffer.done(d).await,
                            Some(Interrupted::Stopped(left)) => {
                                in_hand = left;
                                break;
                            }
                            Some(Interrupted::HandOver(back)) => {
                                self.hand_over(back).await;
                                return;
                            }
                        }
                    }
                    None => break,
                },
                _ = flush.tick(), if dirty => {
                    self.flush().await;
                    dirty = false;
                }
                () = self.abort.wait() => break,
                () = self.handover.wait() => {
                    self.hand_over(Vec::new()).await;
                    return;
                }
            }
        }
        if !self.buffer.is_durable() {
            // Closed first, so what is counted is all there will be.
            self.buffer.close();
            let queued = self.buffer.volatile_events();
            let left = in_hand + queued;
            if left > 0 {
                self.metrics.dropped("shutdown_timeout", left as u64);
                warn!(output = %self.id, events = left, in_hand, queued, "shutdown timeout: memory buffer events left undelivered");
            }
        }
        if let crate::buffer::OutputBuffer::Disk(d) = &self.buffer {
            let chunks = d.chunks();
            if chunks > 0 {
                info!(output = %self.id, chunks, "chunks left in the disk buffer for the next start");
            }
        }
        if self.abort.is_triggered() {
            // Past the deadline: a flush gets a moment, not another timeout's worth.
            if tokio::time::timeout(ABORTED_FLUSH, self.flush())
                .await
                .is_err()
            {
                warn!(output = %self.id, "flush abandoned at the shutdown timeout");
            }
        } else {
            self.flush().await;
        }
    }

    /// Gives the buffer back for the next build of this output: `back` (memory batches
    /// taken and not delivered) returns to the front of the queue; then a flush.
    async fn hand_over(&mut self, back: Vec<Batch>) {
        let events: usize = back.iter().map(Batch::len).sum();
        if let OutputBuffer::Memory(q) = &self.buffer {
            q.put_back(back);
        }
        info!(output = %self.id, events_returned = events, "handed over to the reloaded output");
        self.flush().await;
    }

    async fn flush(&mut self) {
        if let Err(e) = self.output.flush().await {
            self.metrics.error("flush");
            warn!(output = %self.id, error = %e, "flush failed");
        }
    }

    /// Delivers every event of one delivery, decoding as it goes. `None` when every event
    /// was accepted or rejected for good; else why it ended early: stopped, with the events
    /// of a memory delivery it did not deliver (0 for a disk chunk, which stays), or handing
    /// over, with the memory batches to put back.
    async fn deliver(
        &mut self,
        d: &mut Delivery,
        dead: &mut Option<DeadLetter>,
        sizing: &mut Sizing,
        spare_body: &mut Vec<u8>,
    ) -> Option<Interrupted> {
        let limits: BatchLimits = self.output.batch_limits();
        let chunk = d.chunk;
        let mut planner = Planner::new(sizing.events_per_request(&limits));
        // Requests of one delivery are alike: start each encoding at the last one's size
        // instead of growing it by doubling.
        let mut size_hint = 0usize;
        // Halves of split requests wait here, first half on top.
        let mut pending: Vec<Batch> = Vec::new();
        // Events of the chunk finished (accepted or rejected for good), in chunk order:
        // requests and split halves go out in order, so this only grows.
        let mut finished = d.sent_before;
        let durable = self.buffer.is_durable();
        // What a memory delivery still holds besides the request in hand.
        let held = |pending: &[Batch], planner: &Planner, d: &Delivery| {
            pending.iter().map(Batch::len).sum::<usize>() + planner.carried() + d.volatile_events()
        };
        // What a memory delivery gives back on a handover, in order: the request in hand (if
        // any), the split halves (top of the stack first), the planner's carry, the rest.
        let give_back = |first: Option<Batch>,
                         mut pending: Vec<Batch>,
                         planner: &mut Planner,
                         d: &mut Delivery| {
            if durable {
                return Interrupted::HandOver(Vec::new());
            }
            let mut back: Vec<Batch> = first.into_iter().collect();
            while let Some(b) = pending.pop() {
                back.push(b);
            }
            back.extend(planner.take_carried());
            back.extend(d.take_volatile());
            Interrupted::HandOver(back)
        };
        loop {
            if self.abort.is_triggered() {
                return Some(Interrupted::Stopped(if durable {
                    0
                } else {
                    held(&pending, &planner, d)
                }));
            }
            if self.handover.is_triggered() {
                return Some(give_back(None, pending, &mut planner, d));
            }
            let next = match pending.pop() {
                Some(b) => Some(b),
                None => {
                    let (metrics, id) = (&self.metrics, &self.id);
                    planner.next_request(|| loop {
                        match d.next_batch()? {
                            Ok(b) => return Some(b),
                            Err(e) => {
                                metrics.error("undecodable_record");
                                error!(output = %id, error = %e, "a buffered record does not decode; skipped");
                            }
                        }
                    })
                }
            };
            let b = next?;
            // The last request's body, when the output let go of it: a request body is about
            // a megabyte, and a fresh one every request costs its page faults again.
            let mut buf = std::mem::take(spare_body);
            buf.clear();
            buf.reserve(size_hint);
            let events = match self.output.encode(&b, &mut buf) {
                Ok(report) => b.len().saturating_sub(report.skipped),
                Err(e) => {
                    let events = b.len();
                    self.metrics.dropped("encode_error", events as u64);
                    error!(output = %self.id, error = %e, events, "batch dropped: cannot encode");
                    finished += events as u64;
                    continue;
                }
            };
            if buf.is_empty() {
                finished += b.len() as u64;
                continue;
            }
            size_hint = size_hint.max(buf.len().min(limits.max_bytes));
            sizing.learn(buf.len(), b.len());
            planner.set_max(sizing.events_per_request(&limits));
            if buf.len() > limits.max_bytes && b.len() > 1 {
                let (a, c) = split(b);
                pending.push(c);
                pending.push(a);
                continue;
            }
            let payload = Payload {
                bytes: buf.into(),
                events,
            };
            let outcome = self.send_with_retry(&payload, chunk).await;
            if let Ok(body) = payload.bytes.try_into_mut()
                && body.capacity() <= limits.max_bytes.saturating_mul(2)
            {
                *spare_body = body.into();
            }
            match outcome {
                SendOutcome::Sent => {
                    finished += b.len() as u64;
                    self.buffer.mark_sent(d, finished).await;
                }
                SendOutcome::Dropped => {
                    finished += b.len() as u64;
                    if let Some(dl) = dead.as_mut() {
                        dl.keep(b).await;
                    }
                    self.buffer.mark_sent(d, finished).await;
                }
                SendOutcome::Split if b.len() > 1 => {
                    let (a, c) = split(b);
                    pending.push(c);
                    pending.push(a);
                }
                SendOutcome::Split => {
                    self.metrics.dropped("too_large", 1);
                    error!(output = %self.id, "event dropped: too large for the destination even alone");
                    finished += b.len() as u64;
                    if let Some(dl) = dead.as_mut() {
                        dl.keep(b).await;
                    }
                    self.buffer.mark_sent(d, finished).await;
                }
                SendOutcome::Stop => {
                    // The request's events (those its encoder skipped are counted by the
                    // output) and everything behind it.
                    return Some(Interrupted::Stopped(if durable {
                        0
                    } else {
                        events + held(&pending, &planner, d)
                    }));
                }
                SendOutcome::HandOver => {
                    return Some(give_back(Some(b), pending, &mut planner, d));
                }
            }
        }
    }

    async fn send_with_retry(&mut self, payload: &Payload, chunk: Option<u64>) -> SendOutcome {
        let (base, cap) = self.backoff;
        let mut backoff = Backoff::new(base, cap);
        let mut attempt: u32 = 0;
        loop {
            attempt += 1;
            if attempt > 1 {
                self.metrics
                    .events_retried
                    .fetch_add(payload.events as u64, std::sync::atomic::Ordering::Relaxed);
            }
            let started = tokio::time::Instant::now();
            // At the shutdown deadline a send in flight is given up (its events are counted
            // as abandoned; the destination may have taken them).
            let result = tokio::select! {
                r = self.output.send(payload.clone()) => r,
                () = self.abort.wait() => return SendOutcome::Stop,
            };
            self.metrics
                .send_attempt(started.elapsed().as_micros() as u64);
            let err = match result {
                Ok(report) => {
                    let accepted = payload.events.saturating_sub(report.rejected);
                    self.metrics
                        .sent(accepted as u64, payload.bytes.len() as u64);
                    return SendOutcome::Sent;
                }
                Err(e) => e,
            };
            self.metrics.error(err.kind.as_str());
            let delay = match err.kind {
                OutputErrorKind::Permanent => {
                    self.metrics
                        .dropped("permanent_error", payload.events as u64);
                    error!(output = %self.id, error = %err, events = payload.events, "events dropped: the destination rejected them for good");
                    return SendOutcome::Dropped;
                }
                OutputErrorKind::TooLarge => return SendOutcome::Split,
                OutputErrorKind::RateLimited {
                    retry_after: Some(d),
                } => d,
                OutputErrorKind::RateLimited { retry_after: None } | OutputErrorKind::Retryable => {
                    backoff.next_delay()
                }
            };
            if self.buffer.is_durable() && self.stopping.is_triggered() {
                warn!(output = %self.id, error = %err, "send failed while stopping; the chunk stays on disk for the next start");
                return SendOutcome::Stop;
            }
            if self.handover.is_triggered() {
                return SendOutcome::HandOver;
            }
            warn!(output = %self.id, error = %err, attempt, retry_in = ?delay, "send failed, will retry");
            tokio::select! {
                () = tokio::time::sleep(delay) => {}
                () = self.abort.wait() => return SendOutcome::Stop,
                () = self.handover.wait() => return SendOutcome::HandOver,
            }
            if !self.buffer.holds(chunk) {
                // drop_oldest removed the chunk (and counted it) while we waited.
                return SendOutcome::Dropped;
            }
        }
    }
}

#[cfg(test)]
mod tests;
