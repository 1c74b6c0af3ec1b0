//! One output's delivery loop.
//!
//! Per batch: encode (pure) → send → on failure act on the error's kind: `Retryable` and
//! `RateLimited` retry the same payload (backoff, or the server's `Retry-After`) until the
//! abort signal (shutdown timeout) fires; `TooLarge` splits the batch in halves and sends each
//! (a single event too large is dropped and counted); `Permanent` drops and counts. Flushes
//! every `flush_interval` when something was sent, and once at the end.

use std::sync::Arc;
use std::time::Duration;

use gleaner_api::{Batch, ComponentMetrics, Output, OutputErrorKind, Payload, PluginId, Shutdown};
use tracing::{error, warn};

use super::backoff::Backoff;
use crate::buffer::memory::OutputQueue;

/// A running output.
pub struct OutputWorker {
    /// Instance id.
    pub id: PluginId,
    /// The plugin.
    pub output: Box<dyn Output>,
    /// Its queue.
    pub queue: Arc<OutputQueue>,
    /// Its counters.
    pub metrics: Arc<ComponentMetrics>,
    /// Flush period.
    pub flush_interval: Duration,
    /// Fires when the shutdown timeout has expired: stop retrying.
    pub abort: Shutdown,
}

enum Outcome {
    Done,
    Aborted,
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
    /// Runs until the queue is closed and drained (or the abort signal fires).
    pub async fn run(mut self) {
        let mut dirty = false;
        let mut flush = tokio::time::interval(self.flush_interval.max(Duration::from_millis(10)));
        flush.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tokio::select! {
                batch = self.queue.pop() => match batch {
                    Some(b) => {
                        if let Outcome::Aborted = self.deliver(b).await {
                            break;
                        }
                        dirty = true;
                    }
                    None => break,
                },
                _ = flush.tick(), if dirty => {
                    self.flush().await;
                    dirty = false;
                }
            }
        }
        let left = self.queue.events();
        if left > 0 {
            self.metrics.dropped("shutdown_timeout", left as u64);
            error!(output = %self.id, events = left, "shutdown timeout: events left undelivered");
        }
        self.flush().await;
    }

    async fn flush(&mut self) {
        if let Err(e) = self.output.flush().await {
            self.metrics.error("flush");
            warn!(output = %self.id, error = %e, "flush failed");
        }
    }

    async fn deliver(&mut self, batch: Batch) -> Outcome {
        let mut pending = vec![batch];
        while let Some(b) = pending.pop() {
            let events = b.len();
            let mut buf = Vec::new();
            if let Err(e) = self.output.encode(&b, &mut buf) {
                self.metrics.dropped("encode_error", events as u64);
                error!(output = %self.id, error = %e, events, "batch dropped: cannot encode");
                continue;
            }
            if buf.is_empty() {
                continue;
            }
            let payload = Payload {
                bytes: buf.into(),
                events,
            };
            match self.send_with_retry(payload).await {
                SendOutcome::Sent => {}
                SendOutcome::Dropped => {}
                SendOutcome::Split if events > 1 => {
                    let (a, c) = split(b);
                    pending.push(c);
                    pending.push(a);
                }
                SendOutcome::Split => {
                    self.metrics.dropped("too_large", 1);
                    error!(output = %self.id, "event dropped: too large for the destination");
                }
                SendOutcome::Aborted => {
                    let left: usize = events + pending.iter().map(Batch::len).sum::<usize>();
                    self.metrics.dropped("shutdown_timeout", left as u64);
                    return Outcome::Aborted;
                }
            }
        }
        Outcome::Done
    }

    async fn send_with_retry(&mut self, payload: Payload) -> SendOutcome {
        let mut backoff = Backoff::new(Duration::from_millis(100), Duration::from_secs(30));
        let mut attempt: u32 = 0;
        loop {
            attempt += 1;
            let err = match self.output.send(payload.clone()).await {
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
                    error!(output = %self.id, error = %err, events = payload.events, "events dropped: permanent error");
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
            warn!(output = %self.id, error = %err, attempt, retry_in = ?delay, "send failed, will retry");
            tokio::select! {
                () = tokio::time::sleep(delay) => {}
                () = self.abort.wait() => return SendOutcome::Aborted,
            }
        }
    }
}

enum SendOutcome {
    Sent,
    Dropped,
    Split,
    Aborted,
}
