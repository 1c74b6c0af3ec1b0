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

use std::path::PathBuf;
use std::sync::Arc;

use async_trait::async_trait;
use tokio::sync::mpsc;

use crate::ack::{AckToken, Acknowledgements};
use crate::config::{ConfigError, PluginConfig};
use crate::config_types::Duration;
use crate::error::{EncodeError, OutputError, PluginError};
use crate::event::{Batch, EventKind};
use crate::shutdown::Shutdown;
use crate::telemetry::{ComponentMetrics, Telemetry};

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
        }
    }
}

/// The pipeline is gone (the agent is stopping); the batch was not taken.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("pipeline closed")]
pub struct PipelineClosed;

/// An input's bounded way into the pipeline; `send` waits while the pipeline is full, which
/// is how backpressure reaches a tail or a listener.
#[derive(Debug, Clone)]
pub struct EventSender {
    id: PluginId,
    tx: mpsc::Sender<Envelope>,
    metrics: Arc<ComponentMetrics>,
}

impl EventSender {
    /// A sender for input `id` into `tx`.
    pub fn new(id: PluginId, tx: mpsc::Sender<Envelope>, metrics: Arc<ComponentMetrics>) -> Self {
        EventSender { id, tx, metrics }
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
        let n = batch.len() as u64;
        let env = Envelope { input: Arc::clone(&self.id), batch, ack };
        match self.tx.try_send(env) {
            Ok(()) => {
                self.metrics.sent(n, 0);
                Ok(())
            }
            Err(mpsc::error::TrySendError::Full(env)) => Err(TrySendError::Full(env.batch, env.ack)),
            Err(mpsc::error::TrySendError::Closed(env)) => {
                if let Some(a) = env.ack {
                    a.fail();
                }
                Err(TrySendError::Closed)
            }
        }
    }

    /// Sends a batch whose fate the input wants to learn through `ack`.
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
        let n = batch.len() as u64;
        let env = Envelope {
            input: Arc::clone(&self.id),
            batch,
            ack,
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

/// Ticks at the gather interval; in [`RunMode::Once`] ticks once. Stops on shutdown.
#[derive(Debug)]
pub struct Ticker {
    interval: tokio::time::Interval,
    mode: RunMode,
    ticks: u64,
    shutdown: Shutdown,
}

impl Ticker {
    /// A ticker whose first tick is immediate.
    pub fn new(period: Duration, mode: RunMode, shutdown: Shutdown) -> Self {
        let period = period.get().max(std::time::Duration::from_millis(1));
        let mut interval = tokio::time::interval(period);
        interval.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        Ticker {
            interval,
            mode,
            ticks: 0,
            shutdown,
        }
    }

    /// Waits for the next tick; `false` means stop (shutdown, or the one tick of once mode
    /// was taken).
    pub async fn tick(&mut self) -> bool {
        if self.shutdown.is_triggered() || (self.mode == RunMode::Once && self.ticks > 0) {
            return false;
        }
        tokio::select! {
            biased;
            () = self.shutdown.wait() => false,
            _ = self.interval.tick() => {
                self.ticks += 1;
                true
            }
        }
    }
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
pub trait Filter: Send {
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
            max_events: 10_000,
            max_bytes: 4 * 1024 * 1024,
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
    /// skipped and counted by the output; an `Err` rejects the whole batch.
    fn encode(&self, batch: &Batch, buf: &mut Vec<u8>) -> Result<(), EncodeError>;

    /// Sends one payload; `Ok` means the destination took it (minus what the report says
    /// it rejected).
    async fn send(&mut self, payload: Payload) -> Result<SendReport, OutputError>;

    /// Request size limits.
    fn batch_limits(&self) -> BatchLimits {
        BatchLimits::default()
    }

    /// Makes everything sent so far durable or visible (fsync a file, flush stdout).
    async fn flush(&mut self) -> Result<(), OutputError> {
        Ok(())
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
    /// Default routing.
    pub accepts: Accepts,
    /// The constructor.
    pub build: OutputBuild,
}
