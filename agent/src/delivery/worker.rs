//! One output's delivery loop.
//!
//! It takes [`Delivery`]s from the output's buffer (a queued batch, or a whole disk chunk),
//! joins consecutive batches of one kind into requests of at most the output's
//! `batch_limits().max_events`, encodes each (pure), splits a request whose encoding exceeds
//! `max_bytes`, and sends it (`request.rs`: retries, halves of a request the destination
//! found too large, permanent drops counted by reason and kept under
//! `<data_dir>/dead/<output-id>/` with `dead_letter = true`).
//!
//! Compression: an output that compresses its bodies ([`Output::prepare`]: the HTTP outputs
//! with `content_encoding = "gzip"`) has each request compressed here, once, right after it
//! is encoded; the request in flight holds only the compressed body, every try sends it
//! again as it is, and the one encoding buffer of the worker is reused for the next request.
//! (Each request held its encoded body, about 1 MiB, for its whole life, and its gzip was
//! made again on every try.) Compressing here, on a blocking thread the worker awaits,
//! also keeps the output's gzip work to one body at a time.
//!
//! A request of a disk chunk lets go of its decoded events once encoded: it keeps where they
//! are in the chunk (`request::Events`), and the rare paths that need them again (a split of
//! a request the destination found too large, a dead letter) read them back from the chunk.
//! So a request in flight costs its compressed body (about a tenth of a megabyte for HEC),
//! and `concurrency` can be raised for a distant receiver without the memory of a decoded
//! request per lane. A memory buffer's requests keep their events (nothing else holds them).
//!
//! Concurrency: an output whose `concurrency()` is above 1 gets that many instances
//! ([`Output::fork`]), each with one request in flight; the worker keeps issuing requests,
//! from the next delivery too, while an instance is idle. Requests finish in any order, but
//! progress is recorded in order (`ledger.rs`): a chunk's progress record and its removal
//! count a request only once every request issued before it has finished, so a later
//! request finishing first never moves progress past an earlier one in flight or being
//! retried. At most twice the concurrency of requests may be held back that way (each holds
//! its delivery; a disk chunk's bytes are in memory only while its requests are planned). With one instance (file, stdout,
//! remote_write), it is the sequential loop it always was.
//!
//! Stopping: a memory buffer is drained until `shutdown_timeout`. At the deadline (the abort
//! signal) the worker stops between requests, or in the middle of sends or retry delays,
//! closes its memory queue so nothing more is pushed into it, and counts every event it
//! abandons under `shutdown_timeout`: the requests in flight (with split halves), what the
//! planner carries, the rest of the delivery in hand and what is still queued. The router
//! counts what it can no longer push; the pipeline logs the total per output. A disk buffer
//! keeps delivering while sends succeed; after the first failure once the agent is stopping,
//! it stops and leaves the chunks on disk for the next start (at-least-once: the requests of
//! a chunk already sent after its progress marker are sent again).
//!
//! Handing over (a reload built this output again): at the handover signal the worker lets
//! the sends in flight finish, skips any retry delay, puts every memory event it took but did
//! not deliver back at the front of its queue, in order, flushes and returns; the worker of
//! the new build goes on from the same buffer (a disk chunk is simply read again, after its
//! progress marker). Nothing is counted as dropped.
//!
//! (Over 400 lines: delivering, the window of requests in flight and the three ways of
//! stopping share one loop's state.)

use std::future::Future;
use std::path::PathBuf;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

use futures_util::stream::{FuturesUnordered, StreamExt};
use gleaner_api::{Batch, BatchLimits, ComponentMetrics, Output, Payload, PluginId, Shutdown};
use tracing::{error, info, warn};

use super::dead_letter::DeadLetter;
use super::ledger::{Ledger, Released};
use super::plan::Planner;
use super::request::{self, End, Events, Finished, SendCx, split};
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

/// Events of an output's first request, at most, before its encoded size per event is
/// known: the first request of a HEC output at `max_events` (10,000) encoded 5 MB, was split
/// in halves, and left the worker holding its decoded events and a body buffer of 8 MiB.
const FIRST_REQUEST_EVENTS: usize = 1_000;

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
    /// of its `max_bytes`; before anything is learned, at most [`FIRST_REQUEST_EVENTS`].
    fn events_per_request(&self, limits: &BatchLimits) -> usize {
        match self.bytes_per_event {
            Some(bpe) if bpe > 0.0 => {
                let fit = (limits.max_bytes as f64 * 0.9 / bpe) as usize;
                fit.clamp(1, limits.max_events.max(1))
            }
            _ => limits.max_events.clamp(1, FIRST_REQUEST_EVENTS),
        }
    }
}

/// The delivery requests are planned from.
struct Current {
    planner: Planner,
    /// Halves of requests whose encoding exceeded `max_bytes`, first half on top.
    pending: Vec<Batch>,
    chunk: Option<u64>,
    /// Index in the chunk of the next event a request is issued for (counted from the
    /// chunk's first event, as its progress is).
    next_event: u64,
}

/// Requests in flight.
type InFlight = FuturesUnordered<Pin<Box<dyn Future<Output = Finished> + Send>>>;

/// Why the loop ended.
enum Exit {
    /// The buffer is closed and every delivery done.
    Drained,
    /// Stopped at the deadline (or a disk send failed while stopping), with this many
    /// memory events of the deliveries in hand undelivered.
    Stopped(usize),
    /// Handing over, with the memory batches to put back, in order.
    HandOver(Vec<Batch>),
}

/// The state of one worker's loop: the output's instances, the requests in flight, the
/// ledger of deliveries and tickets, and the delivery being planned.
struct Lanes {
    cx: Arc<SendCx>,
    /// Instances of the output not sending now.
    idle: Vec<Box<dyn Output>>,
    /// Instances in all (the output's concurrency, or fewer when it cannot fork).
    lanes: usize,
    inflight: InFlight,
    ledger: Ledger<Delivery>,
    current: Option<Current>,
    sizing: Sizing,
    /// Requests are alike: start each encoding at the largest size so far (up to
    /// `max_bytes`) instead of growing it by doubling.
    size_hint: usize,
    /// The last request's body, when the output let go of it: a request body is about a
    /// megabyte, and a fresh one every request costs its page faults again.
    spare_body: Vec<u8>,
    dead: Option<DeadLetter>,
    /// Batches handed back by requests that stopped for a handover, by ticket.
    handed_back: Vec<(u64, Vec<Batch>)>,
}

impl OutputWorker {
    /// Runs until the buffer is closed and drained, or stopping rules say stop.
    pub async fn run(self) {
        let OutputWorker {
            id,
            output,
            buffer,
            metrics,
            flush_interval,
            backoff,
            dead_letter,
            stopping,
            abort,
            handover,
        } = self;
        if let OutputBuffer::Disk(d) = &buffer {
            // A worker before this one (a reload) may have taken chunks it did not finish.
            d.rewind();
        }
        let limits = output.batch_limits();
        let wanted = output.concurrency().max(1);
        let mut idle = vec![];
        for _ in 1..wanted {
            match output.fork() {
                Some(f) => idle.push(f),
                None => break,
            }
        }
        idle.push(output);
        let lanes = idle.len();
        let mut l = Lanes {
            cx: Arc::new(SendCx {
                id: Arc::clone(&id),
                metrics: Arc::clone(&metrics),
                backoff,
                limits,
                buffer: buffer.clone(),
                stopping,
                abort: abort.clone(),
                handover: handover.clone(),
                keeps_rejected: dead_letter.is_some(),
            }),
            idle,
            lanes,
            inflight: FuturesUnordered::new(),
            ledger: Ledger::default(),
            current: None,
            sizing: Sizing::default(),
            size_hint: 0,
            spare_body: Vec::new(),
            dead: dead_letter.map(|dir| DeadLetter::new(dir, Arc::clone(&id))),
            handed_back: Vec::new(),
        };
        let mut dirty = false;
        let mut flush_due = false;
        let mut handing = false;
        let mut closed = false;
        let mut flush = tokio::time::interval(flush_interval.max(Duration::from_millis(10)));
        flush.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        let exit = loop {
            if !handing && !flush_due {
                l.fill().await;
            }
            if handing && l.inflight.is_empty() {
                break Exit::HandOver(l.give_back());
            }
            if closed && l.inflight.is_empty() && l.ledger.deliveries() == 0 {
                break Exit::Drained;
            }
            if flush_due && l.inflight.is_empty() {
                l.flush().await;
                flush_due = false;
                dirty = false;
                continue;
            }
            let room = !handing && !flush_due && !closed && l.current.is_none() && l.has_room();
            tokio::select! {
                biased;
                () = abort.wait() => break Exit::Stopped(l.abandoned(None)),
                () = handover.wait(), if !handing => handing = true,
                Some(f) = l.inflight.next(), if !l.inflight.is_empty() => {
                    dirty = true;
                    match l.finished(f).await {
                        None => {}
                        Some(Exit::HandOver(_)) => handing = true,
                        Some(exit) => break exit,
                    }
                }
                d = buffer.next(), if room => match d {
                    Some(d) => {
                        dirty = true;
                        l.open(d);
                    }
                    None => closed = true,
                },
                _ = flush.tick(), if dirty => {
                    if l.lanes == 1 {
                        // Flush once the request in flight ends: "everything sent so far".
                        flush_due = true;
                    } else {
                        // Outputs that send concurrently flush what is idle, not waiting.
                        l.flush().await;
                        dirty = false;
                    }
                }
            }
        };
        let in_hand = match exit {
            Exit::Drained => 0,
            Exit::Stopped(left) => left,
            Exit::HandOver(back) => {
                let events: usize = back.iter().map(Batch::len).sum();
                if let OutputBuffer::Memory(q) = &buffer {
                    q.put_back(back);
                }
                info!(output = %id, events_returned = events, "handed over to the reloaded output");
                l.flush().await;
                return;
            }
        };
        // Requests still in flight are given up (a disk chunk stays; memory events were
        // counted in `in_hand`).
        drop(std::mem::take(&mut l.inflight));
        if !buffer.is_durable() {
            // Closed first, so what is counted is all there will be.
            buffer.close();
            let queued = buffer.volatile_events();
            let left = in_hand + queued;
            if left > 0 {
                metrics.dropped("shutdown_timeout", left as u64);
                warn!(output = %id, events = left, in_hand, queued, "shutdown timeout: memory buffer events left undelivered");
            }
        }
        if let OutputBuffer::Disk(d) = &buffer {
            let chunks = d.chunks();
            if chunks > 0 {
                info!(output = %id, chunks, "chunks left in the disk buffer for the next start");
            }
        }
        if abort.is_triggered() {
            // Past the deadline: a flush gets a moment, not another timeout's worth.
            if tokio::time::timeout(ABORTED_FLUSH, l.flush())
                .await
                .is_err()
            {
                warn!(output = %id, "flush abandoned at the shutdown timeout");
            }
        } else {
            l.flush().await;
        }
    }
}

impl Lanes {
    /// Room for another request: an idle instance, and not too many tickets held back
    /// behind one still in flight (each holds its delivery, a chunk read into memory).
    fn has_room(&self) -> bool {
        !self.idle.is_empty() && self.ledger.unreleased() < 2 * self.lanes
    }

    /// Takes a delivery in hand; its requests are planned next.
    fn open(&mut self, d: Delivery) {
        let chunk = d.chunk;
        let sent = d.sent_before;
        self.ledger.open(d, chunk, sent);
        self.current = Some(Current {
            planner: Planner::new(self.sizing.events_per_request(&self.cx.limits)),
            pending: Vec::new(),
            chunk,
            next_event: sent,
        });
    }

    /// Issues requests from the current delivery while there is room.
    async fn fill(&mut self) {
        while self.has_room() {
            let Some(cur) = self.current.as_mut() else {
                return;
            };
            let next = match cur.pending.pop() {
                Some(b) => Some(b),
                None => match self.ledger.current_mut() {
                    Some(d) => {
                        let (metrics, id) = (&self.cx.metrics, &self.cx.id);
                        cur.planner.next_request(|| loop {
                            match d.next_batch()? {
                                Ok(b) => return Some(b),
                                Err(e) => {
                                    metrics.error("undecodable_record");
                                    error!(output = %id, error = %e, "a buffered record does not decode; skipped");
                                }
                            }
                        })
                    }
                    None => None,
                },
            };
            let Some(b) = next else {
                if let Some(d) = self.ledger.current_mut() {
                    self.cx.buffer.finish_reading(d);
                }
                self.ledger.exhaust();
                self.current = None;
                self.release().await;
                return;
            };
            let chunk = cur.chunk;
            let limits = self.cx.limits;
            let Some(out) = self.idle.last_mut() else {
                return;
            };
            let mut buf = std::mem::take(&mut self.spare_body);
            buf.clear();
            // An eighth over the largest body so far, so a body a little larger than the last
            // does not double the buffer.
            buf.reserve(self.size_hint + self.size_hint / 8);
            let events = match out.encode(&b, &mut buf) {
                Ok(report) => b.len().saturating_sub(report.skipped),
                Err(e) => {
                    let events = b.len();
                    self.cx.metrics.dropped("encode_error", events as u64);
                    error!(output = %self.cx.id, error = %e, events, "batch dropped: cannot encode");
                    self.spare_body = buf;
                    self.finish_now(events as u64).await;
                    continue;
                }
            };
            if buf.is_empty() {
                self.spare_body = buf;
                self.finish_now(b.len() as u64).await;
                continue;
            }
            self.size_hint = self.size_hint.max(buf.len().min(limits.max_bytes));
            self.sizing.learn(buf.len(), b.len());
            cur.planner.set_max(self.sizing.events_per_request(&limits));
            if buf.len() > limits.max_bytes && b.len() > 1 {
                let (a, c) = split(b);
                cur.pending.push(c);
                cur.pending.push(a);
                // Not an outsized buffer, kept for every request after.
                if buf.capacity() <= limits.max_bytes.saturating_mul(2) {
                    self.spare_body = buf;
                }
                continue;
            }
            let encoded = Payload {
                bytes: buf.into(),
                events,
            };
            // Compressed here, once: the request holds only what it sends.
            let payload = match out.prepare(&encoded).await {
                Some(wire) => {
                    self.spare_body = reclaim(encoded.bytes, limits.max_bytes).unwrap_or_default();
                    wire
                }
                None => encoded,
            };
            let ticket = self.ledger.issue(b.len() as u64);
            let start = cur.next_event;
            cur.next_event += b.len() as u64;
            // A disk chunk's events are let go of while the request is in flight.
            let events = match chunk {
                Some(seq) if self.cx.buffer.is_durable() => {
                    let len = b.len();
                    // Its records' memory serves the chunk's next ones.
                    if let Some(d) = self.ledger.current_mut() {
                        d.recycle(b);
                    }
                    Events::InChunk { seq, start, len }
                }
                _ => Events::Held(b),
            };
            let Some(out) = self.idle.pop() else { return };
            self.inflight.push(Box::pin(request::deliver(
                out,
                Arc::clone(&self.cx),
                ticket,
                chunk,
                events,
                payload,
            )));
        }
    }

    /// A request that needs no send (nothing to encode, or it cannot be): finished at once,
    /// in its place among the others.
    async fn finish_now(&mut self, events: u64) {
        if let Some(cur) = self.current.as_mut() {
            cur.next_event += events;
        }
        let t = self.ledger.issue(events);
        self.ledger.finish(t, events);
        self.release().await;
    }

    /// Records a request's end; `Some` when the loop must stop (or hand over).
    async fn finished(&mut self, f: Finished) -> Option<Exit> {
        if let Some(out) = f.out {
            self.idle.push(out);
        }
        // A body sent as encoded comes back for the next encoding (a compressed one is
        // smaller than the buffer kept already).
        if let Some(body) = f.body
            && body.len() > self.spare_body.capacity()
            && let Some(body) = reclaim(body, self.cx.limits.max_bytes)
        {
            self.spare_body = body;
        }
        if let Some(dl) = self.dead.as_mut() {
            for b in f.rejected {
                dl.keep(b).await;
            }
        }
        match f.end {
            End::Done => {
                self.ledger.finish(f.ticket, f.finished);
                self.release().await;
                None
            }
            End::Stop { left } => Some(Exit::Stopped(self.abandoned(Some((f.ticket, left))))),
            End::HandOver { back } => {
                self.handed_back.push((f.ticket, back));
                Some(Exit::HandOver(Vec::new()))
            }
        }
    }

    /// Records what the ledger lets through: progress of disk chunks, deliveries done.
    async fn release(&mut self) {
        for r in self.ledger.release() {
            match r {
                Released::Progress { key, events } => {
                    self.cx.buffer.mark_sent(key, events).await;
                }
                Released::Done(d) => self.cx.buffer.done(d).await,
            }
        }
    }

    /// Memory events in hand that stopping now leaves undelivered: those of the requests in
    /// flight (`stopped`: a request that ended early, with what it left), and those of the
    /// delivery being planned. A disk buffer's stay on disk: 0.
    fn abandoned(&mut self, stopped: Option<(u64, usize)>) -> usize {
        if self.cx.buffer.is_durable() {
            return 0;
        }
        let (except, left) = stopped.map_or((None, 0), |(t, left)| (Some(t), left));
        let in_flight = self.ledger.unfinished_events(except) as usize;
        let held = self.current.as_ref().map_or(0, |c| {
            c.pending.iter().map(Batch::len).sum::<usize>() + c.planner.carried()
        }) + self.ledger.current_mut().map_or(0, |d| d.volatile_events());
        left + in_flight + held
    }

    /// What a memory buffer gets back on a handover, in order: the batches of the requests
    /// that did not finish, by ticket, then the split halves, the planner's carry and the
    /// rest of the delivery being planned.
    fn give_back(&mut self) -> Vec<Batch> {
        if self.cx.buffer.is_durable() {
            return Vec::new();
        }
        self.handed_back.sort_by_key(|(t, _)| *t);
        let mut back: Vec<Batch> = std::mem::take(&mut self.handed_back)
            .into_iter()
            .flat_map(|(_, b)| b)
            .collect();
        if let Some(mut cur) = self.current.take() {
            while let Some(b) = cur.pending.pop() {
                back.push(b);
            }
            back.extend(cur.planner.take_carried());
        }
        if let Some(d) = self.ledger.current_mut() {
            back.extend(d.take_volatile());
        }
        back
    }

    /// Flushes every instance not sending now.
    async fn flush(&mut self) {
        for out in &mut self.idle {
            if let Err(e) = out.flush().await {
                self.cx.metrics.error("flush");
                warn!(output = %self.cx.id, error = %e, "flush failed");
            }
        }
    }
}

/// The buffer of a body nothing else holds, for the next encoding, unless it grew past
/// twice `max_bytes` (an outsized request: not worth keeping).
fn reclaim(body: bytes::Bytes, max_bytes: usize) -> Option<Vec<u8>> {
    let body = body.try_into_mut().ok()?;
    (body.capacity() <= max_bytes.saturating_mul(2)).then(|| body.into())
}

#[cfg(test)]
mod tests;
