//! The plugin traits ([`Input`], [`Filter`], [`Output`]), what each is given to run
//! ([`BuildContext`], [`InputContext`]), and the descriptors the static registries list.
//!
//! Contract for every plugin:
//! - `build` parses and validates the config and constructs the plugin; it does no I/O (no
//!   bind, no connect, no file open), so `gleaner check` can call it safely.
//! - An input owns its loop in [`Input::run`] and returns when [`InputContext::shutdown`]
//!   fires (or at once, after one gather, in [`RunMode::Once`]).
//! - A filter is synchronous and works in place; background work starts in `build` and stops
//!   on [`BuildContext::shutdown`].
//! - An output encodes purely and sends with I/O; its errors carry a kind.
//!
//! Over 400 lines on purpose: the whole plugin contract (three traits, their contexts and the
//! descriptors) in one file that a plugin author reads top to bottom.

use std::path::PathBuf;
use std::sync::Arc;

use async_trait::async_trait;
use tokio::sync::{OwnedSemaphorePermit, Semaphore, TryAcquireError, mpsc};

use crate::ack::{AckToken, Acknowledgements};
use crate::config::{ConfigError, PluginConfig};
use crate::config_types::Duration;
use crate::error::{EncodeError, OutputError, PluginError};
use crate::event::{Batch, EventKind};
use crate::shared::Shared;
use crate::shutdown::Shutdown;
use crate::telemetry::{ComponentMetrics, Telemetry};

mod ticker;
pub use ticker::Ticker;

/// A plugin instance's stable id: its `alias`, else `<kind>.<name>.<index>`.
pub type PluginId = Arc<str>;

/// A batch on its way from an input to the outputs.
#[derive(Debug)]
pub struct Envelope {
    /// The input that produced it.
    pub input: PluginId,
    /// The events.
    pub batch: Batch,
    /// Settled when every destination took the batch, if the input asked.
    pub ack: Option<AckToken>,
    /// Its share of the pipeline's event budget, given back when the router is done with it.
    pub permit: Option<OwnedSemaphorePermit>,
}

/// Whether the agent runs until stopped or gathers once.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RunMode {
    /// Until SIGTERM.
    Continuous,
    /// `--once` / `--test`: gather once, deliver, exit. Service inputs return at once.
    Once,
}

/// What every plugin's `build` is given.
#[derive(Debug, Clone)]
pub struct BuildContext {
    /// The instance id.
    pub id: PluginId,
    /// `agent.data_dir`, for state (offsets, buffers).
    pub data_dir: Option<PathBuf>,
    /// `agent.hostname` (resolved).
    pub hostname: String,
    /// The effective gather interval (the input's `interval`, else the agent's).
    pub interval: Duration,
    /// This instance's counters.
    pub metrics: Arc<ComponentMetrics>,
    /// Every component's counters (for `inputs.internal`).
    pub telemetry: Telemetry,
    /// The agent-wide stop signal, for a filter's background work.
    pub shutdown: Shutdown,
    /// Services shared by this pipeline's plugins (the Kubernetes client).
    pub shared: Shared,
}

impl BuildContext {
    /// A context for unit tests.
    pub fn for_test(id: &str) -> Self {
        BuildContext {
            id: Arc::from(id),
            data_dir: None,
            hostname: "test-host".to_owned(),
            interval: Duration::from_secs(10),
            metrics: ComponentMetrics::detached("test"),
            telemetry: Telemetry::new(),
            shutdown: Shutdown::never(),
            shared: Shared::new(),
        }
    }
}

/// The pipeline is gone (the agent is stopping); the batch was not taken.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("pipeline closed")]
pub struct PipelineClosed;

/// An input's bounded way into the pipeline; `send` waits while the pipeline is full, which
/// is how backpressure reaches a tail or a listener.
///
/// Bounded twice: by batches (the channel) and, with [`EventSender::with_budget`], by events
/// in flight between the inputs and the output buffers (a semaphore shared by every input),
/// so memory stays bounded however large the batches are. No batch larger than the budget
/// enters the pipeline: [`EventSender::send_with_ack`] cuts one into pieces of at most
/// [`EventSender::max_batch_events`], each holding its own share of the budget and a clone of
/// the token (a larger batch used to take the whole budget and pass, and then sat whole in
/// the output's queue and in its delivery). Inputs that can build their batches in pieces
/// should: a batch cut here was already built whole.
#[derive(Debug, Clone)]
pub struct EventSender {
    id: PluginId,
    tx: mpsc::Sender<Envelope>,
    metrics: Arc<ComponentMetrics>,
    budget: Option<(Arc<Semaphore>, u32)>,
}

impl EventSender {
    /// A sender for input `id` into `tx`.
    pub fn new(id: PluginId, tx: mpsc::Sender<Envelope>, metrics: Arc<ComponentMetrics>) -> Self {
        EventSender {
            id,
            tx,
            metrics,
            budget: None,
        }
    }

    /// Takes a share of `budget` (of `total` permits) per event sent.
    #[must_use]
    pub fn with_budget(mut self, budget: Arc<Semaphore>, total: u32) -> Self {
        self.budget = Some((budget, total.max(1)));
        self
    }

    /// The most events one batch takes into the pipeline: the budget (larger ones are cut).
    pub fn max_batch_events(&self) -> usize {
        self.budget.as_ref().map_or(usize::MAX, |(_, t)| {
            usize::try_from(*t).unwrap_or(usize::MAX)
        })
    }

    fn permits(&self, batch: &Batch) -> u32 {
        let total = self.budget.as_ref().map_or(1, |(_, t)| *t);
        u32::try_from(batch.len())
            .unwrap_or(u32::MAX)
            .clamp(1, total)
    }

    /// Sends a batch; empty batches are skipped.
    pub async fn send(&self, batch: Batch) -> Result<(), PipelineClosed> {
        self.send_with_ack(batch, None).await
    }

    /// Sends a batch only if the pipeline has room now. For inputs that can tell their
    /// client to come back later (a listener answering 503) instead of waiting.
    pub fn try_send_with_ack(
        &self,
        batch: Batch,
        ack: Option<AckToken>,
    ) -> Result<(), TrySendError> {
        if batch.is_empty() {
            if let Some(a) = ack {
                a.ack();
            }
            return Ok(());
        }
        let permit = match &self.budget {
            None => None,
            Some((sem, _)) => match Arc::clone(sem).try_acquire_many_owned(self.permits(&batch)) {
                Ok(p) => Some(p),
                Err(TryAcquireError::NoPermits) => return Err(TrySendError::Full(batch, ack)),
                Err(TryAcquireError::Closed) => {
                    if let Some(a) = ack {
                        a.fail();
                    }
                    return Err(TrySendError::Closed);
                }
            },
        };
        let n = batch.len() as u64;
        let env = Envelope {
            input: Arc::clone(&self.id),
            batch,
            ack,
            permit,
        };
        match self.tx.try_send(env) {
            Ok(()) => {
                self.metrics.sent(n, 0);
                Ok(())
            }
            Err(mpsc::error::TrySendError::Full(env)) => {
                Err(TrySendError::Full(env.batch, env.ack))
            }
            Err(mpsc::error::TrySendError::Closed(env)) => {
                if let Some(a) = env.ack {
                    a.fail();
                }
                Err(TrySendError::Closed)
            }
        }
    }

    /// Sends a batch whose fate the input wants to learn through `ack`. Waits while the
    /// pipeline is full. Cancel-safe for a batch of at most [`Self::max_batch_events`]: if
    /// the future is dropped before it completes, the batch was not taken. A larger batch
    /// goes in pieces, in order; dropped half-way, the pieces already sent were taken.
    pub async fn send_with_ack(
        &self,
        batch: Batch,
        ack: Option<AckToken>,
    ) -> Result<(), PipelineClosed> {
        if batch.is_empty() {
            if let Some(a) = ack {
                a.ack();
            }
            return Ok(());
        }
        let max = self.max_batch_events();
        if batch.len() > max {
            let mut rest = batch.into_pieces();
            while !rest.is_empty() {
                // A piece that is not taken fails its clone, and so the whole token.
                self.send_one(rest.take(max), ack.clone()).await?;
            }
            if let Some(a) = ack {
                a.ack();
            }
            return Ok(());
        }
        self.send_one(batch, ack).await
    }

    /// Sends a non-empty batch of at most [`Self::max_batch_events`] events.
    async fn send_one(&self, batch: Batch, ack: Option<AckToken>) -> Result<(), PipelineClosed> {
        let permit = match &self.budget {
            None => None,
            Some((sem, _)) => match Arc::clone(sem)
                .acquire_many_owned(self.permits(&batch))
                .await
            {
                Ok(p) => Some(p),
                Err(_) => {
                    if let Some(a) = ack {
                        a.fail();
                    }
                    return Err(PipelineClosed);
                }
            },
        };
        let n = batch.len() as u64;
        let env = Envelope {
            input: Arc::clone(&self.id),
            batch,
            ack,
            permit,
        };
        match self.tx.send(env).await {
            Ok(()) => {
                self.metrics.sent(n, 0);
                Ok(())
            }
            Err(mpsc::error::SendError(env)) => {
                if let Some(a) = env.ack {
                    a.fail();
                }
                Err(PipelineClosed)
            }
        }
    }
}

/// Why [`EventSender::try_send_with_ack`] did not take a batch.
#[derive(Debug)]
pub enum TrySendError {
    /// The pipeline is full (outputs are pushing back): the batch and its token come back.
    Full(Batch, Option<AckToken>),
    /// The pipeline is gone (the agent is stopping).
    Closed,
}

/// What an input's `run` is given.
#[derive(Debug)]
pub struct InputContext {
    /// The instance id.
    pub id: PluginId,
    /// The bounded way into the pipeline.
    pub out: EventSender,
    /// The stop signal.
    pub shutdown: Shutdown,
    /// Gather ticks.
    pub ticker: Ticker,
    /// Tokens and outcomes for end-to-end acknowledgement.
    pub acks: Acknowledgements,
    /// This instance's counters.
    pub metrics: Arc<ComponentMetrics>,
    /// Continuous or once.
    pub mode: RunMode,
}

/// A source of events. It owns its loop.
#[async_trait]
pub trait Input: Send {
    /// Runs until shutdown (or one gather in once mode). An error stops this input only.
    async fn run(self: Box<Self>, cx: InputContext) -> Result<(), PluginError>;
}

/// A synchronous, in-place transformation of batches.
#[async_trait]
pub trait Filter: Send {
    /// Starts the filter's background work (a watch, a cache) on the agent's runtime, once,
    /// before the first batch; the pipeline waits for it, so a filter bounds its own wait
    /// (the Kubernetes filter's `startup_wait`). `gleaner check` never calls it.
    async fn start(&mut self, _mode: RunMode) {}

    /// Transforms, enriches or removes events of `batch`.
    fn process(&mut self, batch: &mut Batch);
}

/// An encoded payload, ready to send. `Bytes` so a retry resends without copying.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Payload {
    /// The bytes.
    pub bytes: bytes::Bytes,
    /// How many events they hold.
    pub events: usize,
}

/// What an encoder left out of a payload.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct EncodeReport {
    /// Whole events it could not write (no writable field, empty message). The output has
    /// already counted them under its own drop reason; the engine does not count them sent.
    pub skipped: usize,
}

/// What the destination did with a payload it answered without an error.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct SendReport {
    /// Events the destination rejected for good (an InfluxDB partial write, a Splunk
    /// invalid event). The output has already counted them under its own drop reason; the
    /// engine counts the rest of the payload as sent.
    pub rejected: usize,
}

impl SendReport {
    /// Every event was accepted.
    pub const ALL_ACCEPTED: SendReport = SendReport { rejected: 0 };
}

/// How much one request may carry; the delivery worker joins small batches and splits big
/// ones to fit.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BatchLimits {
    /// Events per request.
    pub max_events: usize,
    /// Encoded bytes per request (a single event larger than this is still sent alone).
    pub max_bytes: usize,
}

impl Default for BatchLimits {
    fn default() -> Self {
        BatchLimits {
            max_events: 2_000,
            max_bytes: 2 * 1024 * 1024,
        }
    }
}

/// A destination: pure encoding plus I/O. The engine counts what an output sends (events,
/// batches, bytes) and its errors by kind; an output counts only the events it drops itself
/// (while encoding, or a rejected part of a payload, reported in [`SendReport`]).
///
/// Encodings should be line-oriented where the protocol allows (line protocol, newline-
/// separated HEC events) so that a partial rejection can be resent from an event boundary.
#[async_trait]
pub trait Output: Send {
    /// Encodes a batch, appending to `buf`. Pure: no I/O. Events that cannot be encoded are
    /// skipped, counted by the output and reported; an `Err` rejects the whole batch.
    fn encode(&self, batch: &Batch, buf: &mut Vec<u8>) -> Result<EncodeReport, EncodeError>;

    /// Sends one payload; `Ok` means the destination took it (minus what the report says
    /// it rejected).
    async fn send(&mut self, payload: Payload) -> Result<SendReport, OutputError>;

    /// The bytes a request sends for `payload` (its encoding compressed, for an output that
    /// compresses), made once per request before its first send; `None` (the default) when
    /// the payload goes as encoded. The engine then holds only what this returns while the
    /// request is in flight, and every try (retries included) sends those same bytes through
    /// [`Output::send_prepared`]: an encoded request body is several times its compressed
    /// size, and compressing it again per try cost CPU for nothing.
    async fn prepare(&mut self, _payload: &Payload) -> Option<Payload> {
        None
    }

    /// Sends a payload [`Output::prepare`] made (or the encoded payload, when it made none);
    /// the answer is the same as [`Output::send`]'s. The default is [`Output::send`].
    async fn send_prepared(&mut self, payload: Payload) -> Result<SendReport, OutputError> {
        self.send(payload).await
    }

    /// Request size limits.
    fn batch_limits(&self) -> BatchLimits {
        BatchLimits::default()
    }

    /// Makes everything sent so far durable or visible (fsync a file, flush stdout).
    async fn flush(&mut self) -> Result<(), OutputError> {
        Ok(())
    }

    /// Requests this output may have in flight at once (its `concurrency` key). The worker
    /// asks [`Output::fork`] for the instances beyond the first.
    fn concurrency(&self) -> usize {
        1
    }

    /// Another instance sending to the same destination with the same settings, for one
    /// more request in flight beside this one's; `None` (the default) when the output sends
    /// one request at a time.
    fn fork(&self) -> Option<Box<dyn Output>> {
        None
    }
}

/// Which event kinds an output takes by default (without a `match`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Accepts {
    /// Takes metrics.
    pub metrics: bool,
    /// Takes logs.
    pub logs: bool,
}

impl Accepts {
    /// Metrics only.
    pub const METRICS: Accepts = Accepts {
        metrics: true,
        logs: false,
    };
    /// Logs only.
    pub const LOGS: Accepts = Accepts {
        metrics: false,
        logs: true,
    };
    /// Both kinds.
    pub const BOTH: Accepts = Accepts {
        metrics: true,
        logs: true,
    };

    /// True when `kind` is taken.
    pub const fn takes(self, kind: EventKind) -> bool {
        match kind {
            EventKind::Metrics => self.metrics,
            EventKind::Logs => self.logs,
        }
    }
}

/// Builds an input from its config.
pub type InputBuild = fn(&PluginConfig, &BuildContext) -> Result<Box<dyn Input>, ConfigError>;
/// Builds a filter from its config.
pub type FilterBuild = fn(&PluginConfig, &BuildContext) -> Result<Box<dyn Filter>, ConfigError>;
/// Builds an output from its config.
pub type OutputBuild = fn(&PluginConfig, &BuildContext) -> Result<Box<dyn Output>, ConfigError>;

/// One registry entry.
#[derive(Debug, Clone, Copy)]
pub struct Descriptor<B> {
    /// The TOML name: `tail` in `[[inputs.tail]]`.
    pub name: &'static str,
    /// One line for the README table and `sample-config`.
    pub summary: &'static str,
    /// The commented TOML table printed by `sample-config`, every option with its default.
    pub sample: &'static str,
    /// The constructor.
    pub build: B,
}

/// A registry entry for an input.
pub type InputDescriptor = Descriptor<InputBuild>;
/// A registry entry for a filter.
pub type FilterDescriptor = Descriptor<FilterBuild>;

/// A registry entry for an output, with the kinds it takes by default.
#[derive(Debug, Clone, Copy)]
pub struct OutputDescriptor {
    /// The TOML name.
    pub name: &'static str,
    /// One line for the README table.
    pub summary: &'static str,
    /// The commented sample table.
    pub sample: &'static str,
    /// Default routing: the kinds taken when the table has no `kinds` key.
    pub accepts: Accepts,
    /// Every kind `encode` can handle (what `kinds` may ask for).
    pub supports: Accepts,
    /// The constructor.
    pub build: OutputBuild,
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::event::{LogRecord, Stream};

    fn logs(n: usize) -> Batch {
        Batch::Logs(
            (0..n)
                .map(|i| LogRecord::new(i as i64, "x", Stream::Stdout))
                .collect(),
        )
    }

    #[tokio::test]
    async fn the_budget_bounds_events_in_flight_until_the_router_lets_go() {
        let (tx, mut rx) = mpsc::channel(100);
        let budget = Arc::new(Semaphore::new(10));
        let out = EventSender::new(Arc::from("in"), tx, ComponentMetrics::detached("in"))
            .with_budget(Arc::clone(&budget), 10);
        out.send(logs(8)).await.unwrap();
        // 8 of 10 taken: 5 more do not fit.
        let Err(TrySendError::Full(back, _)) = out.try_send_with_ack(logs(5), None) else {
            panic!("expected Full");
        };
        assert_eq!(back.len(), 5);
        // A batch larger than the whole budget waits for room like any other.
        let big = tokio::spawn({
            let out = out.clone();
            async move { out.send(logs(50)).await }
        });
        tokio::task::yield_now().await;
        assert!(!big.is_finished());
        // The router is done with the first batch: its permits come back.
        drop(rx.recv().await.unwrap());
        // The large batch arrives cut into pieces of the budget, each holding its permits
        // until the router lets go of it, in order.
        let mut next = 0;
        while next < 50 {
            let env = rx.recv().await.unwrap();
            assert_eq!(env.batch.len(), 10);
            assert_eq!(
                env.permit.as_ref().map(OwnedSemaphorePermit::num_permits),
                Some(10)
            );
            let Batch::Logs(l) = &env.batch else {
                panic!("logs came out as metrics")
            };
            assert_eq!(l[0].timestamp, next);
            next += 10;
        }
        big.await.unwrap().unwrap();
        assert_eq!(budget.available_permits(), 10);
    }

    #[tokio::test]
    async fn the_token_of_a_cut_batch_settles_once_every_piece_is_taken() {
        let (tx, mut rx) = mpsc::channel(100);
        let budget = Arc::new(Semaphore::new(4));
        let out = EventSender::new(Arc::from("in"), tx, ComponentMetrics::detached("in"))
            .with_budget(Arc::clone(&budget), 4);
        let mut acks = Acknowledgements::new();
        let sending = tokio::spawn({
            let out = out.clone();
            let token = acks.token(7);
            async move { out.send_with_ack(logs(10), Some(token)).await }
        });
        let mut sizes = Vec::new();
        let mut tokens = Vec::new();
        while sizes.iter().sum::<usize>() < 10 {
            let env = rx.recv().await.unwrap();
            sizes.push(env.batch.len());
            tokens.extend(env.ack);
        }
        sending.await.unwrap().unwrap();
        assert_eq!(sizes, vec![4, 4, 2]);
        assert!(acks.try_recv().is_none(), "settled before its pieces were");
        for t in tokens {
            t.ack();
        }
        let ack = acks.recv().await.unwrap();
        assert_eq!((ack.id, ack.status), (7, crate::ack::AckStatus::Delivered));
    }

    #[tokio::test]
    async fn a_cancelled_send_takes_nothing() {
        let (tx, mut rx) = mpsc::channel(100);
        let budget = Arc::new(Semaphore::new(1));
        let out = EventSender::new(Arc::from("in"), tx, ComponentMetrics::detached("in"))
            .with_budget(Arc::clone(&budget), 1);
        out.send(logs(1)).await.unwrap();
        let waited =
            tokio::time::timeout(std::time::Duration::from_millis(20), out.send(logs(1))).await;
        assert!(waited.is_err(), "the budget is spent: send must wait");
        drop(rx.recv().await.unwrap());
        assert!(
            rx.try_recv().is_err(),
            "the cancelled batch must not arrive"
        );
        assert_eq!(budget.available_permits(), 1);
    }
}
