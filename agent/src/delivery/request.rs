//! One request of an output, from its first send to its end: retries (exponential backoff
//! with equal jitter, or the server's `Retry-After`), the halves of a request the
//! destination found too large (sent one after the other, split again as needed, down to one
//! event, which is then dropped), and permanent rejections (kept for the dead-letter
//! directory). It runs with its own instance of the output ([`Output::fork`]), beside the
//! output's other requests in flight; the worker records its end in the ledger.

use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use gleaner_api::{
    Batch, BatchLimits, ComponentMetrics, Output, OutputErrorKind, Payload, PluginId, Shutdown,
};
use tracing::{error, warn};

use super::backoff::Backoff;
use crate::buffer::OutputBuffer;

/// What every request of one output shares.
pub(crate) struct SendCx {
    pub(crate) id: PluginId,
    pub(crate) metrics: Arc<ComponentMetrics>,
    /// Retry delays: first and largest.
    pub(crate) backoff: (Duration, Duration),
    pub(crate) limits: BatchLimits,
    pub(crate) buffer: OutputBuffer,
    pub(crate) stopping: Shutdown,
    pub(crate) abort: Shutdown,
    pub(crate) handover: Shutdown,
    /// Events rejected for good are kept (the dead-letter directory): a request must give
    /// them back.
    pub(crate) keeps_rejected: bool,
}

/// A request's events while it is in flight.
pub(crate) enum Events {
    /// In hand: a memory buffer's, put back on a handover and counted on a stop.
    Held(Batch),
    /// Left in disk chunk `seq`: its events `start..start + len`, counted from the chunk's
    /// first event. They are read again only when needed (a split, a dead letter): a request
    /// in flight holds its compressed body, not its decoded events, which were several times
    /// that size.
    InChunk { seq: u64, start: u64, len: usize },
}

impl Events {
    fn len(&self) -> usize {
        match self {
            Events::Held(b) => b.len(),
            Events::InChunk { len, .. } => *len,
        }
    }

    /// The events in hand, read again from their chunk if need be; `None` when the chunk is
    /// gone (`drop_oldest` removed it and counted them) or cannot be read (counted here
    /// under `chunk_unreadable`: they are lost).
    async fn load(self, cx: &SendCx) -> Option<Batch> {
        let (seq, start, len) = match self {
            Events::Held(b) => return Some(b),
            Events::InChunk { seq, start, len } => (seq, start, len),
        };
        match cx.buffer.reread(Some(seq), start, len).await {
            Ok(b) => b,
            Err(e) => {
                cx.metrics.dropped("chunk_unreadable", len as u64);
                error!(output = %cx.id, error = %e, events = len, "events of a request lost: their chunk cannot be read again");
                None
            }
        }
    }
}

/// How a request ended.
pub(crate) enum End {
    /// Every event accepted or rejected for good.
    Done,
    /// Stopping: at the deadline, or a disk chunk's send failed while stopping. `left`: the
    /// memory events of this request not delivered.
    Stop { left: usize },
    /// Handing over: the batches of this request not delivered, in order (memory buffers
    /// put them back).
    HandOver { back: Vec<Batch> },
}

/// A request's end, with what the worker needs back.
pub(crate) struct Finished {
    /// The output instance, free for the next request (`None`: no send was made).
    pub(crate) out: Option<Box<dyn Output>>,
    pub(crate) ticket: u64,
    /// Events accepted or rejected for good, in order from the request's start.
    pub(crate) finished: u64,
    /// Events rejected for good, for the dead-letter directory.
    pub(crate) rejected: Vec<Batch>,
    /// The last request body, for reuse when nothing else holds it.
    pub(crate) body: Option<Bytes>,
    pub(crate) end: End,
}

/// How one send (with its retries) ended.
enum SendOutcome {
    Sent,
    Dropped,
    Split,
    Stop,
    HandOver,
}

pub(crate) fn split(batch: Batch) -> (Batch, Batch) {
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

/// Delivers `events` (already encoded, and prepared, into `payload`) through `out`, with
/// `chunk` its disk chunk (to notice `drop_oldest` removing it while a retry waits).
pub(crate) async fn deliver(
    mut out: Box<dyn Output>,
    cx: Arc<SendCx>,
    ticket: u64,
    chunk: Option<u64>,
    events: Events,
    payload: Payload,
) -> Finished {
    let mut finished = 0u64;
    let mut rejected = Vec::new();
    let mut body = None;
    // Halves of a split request wait here, first half on top.
    let mut todo: Vec<(Events, Option<Payload>)> = vec![(events, Some(payload))];
    while let Some((e, encoded)) = todo.pop() {
        let (e, payload) = match encoded {
            Some(p) => (e, p),
            None => {
                let Events::Held(b) = e else {
                    // Halves are always in hand.
                    continue;
                };
                match encode_half(&*out, &cx, b) {
                    Half::Payload(b, p) => match out.prepare(&p).await {
                        Some(wire) => (Events::Held(b), wire),
                        None => (Events::Held(b), p),
                    },
                    Half::Finished(events) => {
                        finished += events;
                        continue;
                    }
                    Half::Split(a, c) => {
                        todo.push((Events::Held(c), None));
                        todo.push((Events::Held(a), None));
                        continue;
                    }
                }
            }
        };
        let n = e.len() as u64;
        let outcome = send_with_retry(&mut *out, &cx, &payload, chunk).await;
        match outcome {
            SendOutcome::Sent => finished += n,
            SendOutcome::Dropped => {
                finished += n;
                if cx.keeps_rejected
                    && let Some(b) = e.load(&cx).await
                {
                    rejected.push(b);
                }
            }
            SendOutcome::Split if n > 1 => match e.load(&cx).await {
                Some(b) => {
                    let (a, c) = split(b);
                    todo.push((Events::Held(c), None));
                    todo.push((Events::Held(a), None));
                }
                // Gone with its chunk (counted by `drop_oldest`), or lost (counted).
                None => finished += n,
            },
            SendOutcome::Split => {
                cx.metrics.dropped("too_large", 1);
                error!(output = %cx.id, "event dropped: too large for the destination even alone");
                finished += n;
                if cx.keeps_rejected
                    && let Some(b) = e.load(&cx).await
                {
                    rejected.push(b);
                }
            }
            SendOutcome::Stop => {
                // The request's events (those its encoder skipped are counted by the output)
                // and its halves not sent.
                let left = payload.events + todo.iter().map(|(e, _)| e.len()).sum::<usize>();
                return Finished {
                    out: Some(out),
                    ticket,
                    finished,
                    rejected,
                    body: None,
                    end: End::Stop { left },
                };
            }
            SendOutcome::HandOver => {
                // A memory buffer's events go back; a disk chunk's stay on disk.
                let back = std::iter::once(e)
                    .chain(todo.into_iter().rev().map(|(e, _)| e))
                    .filter_map(|e| match e {
                        Events::Held(b) => Some(b),
                        Events::InChunk { .. } => None,
                    })
                    .collect();
                return Finished {
                    out: Some(out),
                    ticket,
                    finished,
                    rejected,
                    body: None,
                    end: End::HandOver { back },
                };
            }
        }
        body = Some(payload.bytes);
    }
    Finished {
        out: Some(out),
        ticket,
        finished,
        rejected,
        body,
        end: End::Done,
    }
}

enum Half {
    Payload(Batch, Payload),
    /// Nothing to send (cannot be encoded, counted; or every event skipped): its events.
    Finished(u64),
    /// Still too large: its two halves.
    Split(Batch, Batch),
}

fn encode_half(out: &dyn Output, cx: &SendCx, b: Batch) -> Half {
    let mut buf = Vec::new();
    let events = match out.encode(&b, &mut buf) {
        Ok(report) => b.len().saturating_sub(report.skipped),
        Err(e) => {
            cx.metrics.dropped("encode_error", b.len() as u64);
            error!(output = %cx.id, error = %e, events = b.len(), "batch dropped: cannot encode");
            return Half::Finished(b.len() as u64);
        }
    };
    if buf.is_empty() {
        return Half::Finished(b.len() as u64);
    }
    if buf.len() > cx.limits.max_bytes && b.len() > 1 {
        let (a, c) = split(b);
        return Half::Split(a, c);
    }
    Half::Payload(
        b,
        Payload {
            bytes: buf.into(),
            events,
        },
    )
}

async fn send_with_retry(
    out: &mut dyn Output,
    cx: &SendCx,
    payload: &Payload,
    chunk: Option<u64>,
) -> SendOutcome {
    let (base, cap) = cx.backoff;
    let mut backoff = Backoff::new(base, cap);
    let mut attempt: u32 = 0;
    loop {
        attempt += 1;
        if attempt > 1 {
            cx.metrics
                .events_retried
                .fetch_add(payload.events as u64, std::sync::atomic::Ordering::Relaxed);
        }
        let started = tokio::time::Instant::now();
        // At the shutdown deadline a send in flight is given up (its events are counted
        // as abandoned; the destination may have taken them).
        let result = tokio::select! {
            r = out.send_prepared(payload.clone()) => r,
            () = cx.abort.wait() => return SendOutcome::Stop,
        };
        cx.metrics
            .send_attempt(started.elapsed().as_micros() as u64);
        let err = match result {
            Ok(report) => {
                let accepted = payload.events.saturating_sub(report.rejected);
                cx.metrics.sent(accepted as u64, payload.bytes.len() as u64);
                return SendOutcome::Sent;
            }
            Err(e) => e,
        };
        cx.metrics.error(err.kind.as_str());
        let delay = match err.kind {
            OutputErrorKind::Permanent => {
                cx.metrics.dropped("permanent_error", payload.events as u64);
                error!(output = %cx.id, error = %err, events = payload.events, "events dropped: the destination rejected them for good");
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
        if cx.buffer.is_durable() && cx.stopping.is_triggered() {
            warn!(output = %cx.id, error = %err, "send failed while stopping; the chunk stays on disk for the next start");
            return SendOutcome::Stop;
        }
        if cx.handover.is_triggered() {
            return SendOutcome::HandOver;
        }
        warn!(output = %cx.id, error = %err, attempt, retry_in = ?delay, "send failed, will retry");
        tokio::select! {
            () = tokio::time::sleep(delay) => {}
            () = cx.abort.wait() => return SendOutcome::Stop,
            () = cx.handover.wait() => return SendOutcome::HandOver,
        }
        if !cx.buffer.holds(chunk) {
            // drop_oldest removed the chunk (and counted it) while we waited.
            return SendOutcome::Dropped;
        }
    }
}
