//! A running pipeline: starting it, changing it by difference on reload, and stopping it.
//!
//! Reload by difference (as Vector's topology does): a component is identified by its id and
//! its table's value (shared keys included, `${VAR}` substituted, see
//! [`PluginSection::same_table`]) with the `[agent]` values every plugin is built from
//! ([`Facts`]). A component equal on both keeps running: its task, its listening socket, its
//! buffer and what it has in flight. Only changed, added and removed components are stopped
//! or built:
//!
//! - a changed output hands its buffer over: its worker lets a send in flight finish, puts
//!   back what it took and did not deliver, and the new build's worker delivers from the same
//!   buffer (new limits apply in place). When the buffer type changes, what a memory queue
//!   held moves into the new buffer; disk chunks stay on disk (delivered once the output's
//!   buffer is on disk again).
//! - a removed output stops as at shutdown, in the background: it drains within
//!   `shutdown_timeout`; its disk chunks stay on disk and go out when the output comes back.
//! - filters are swapped in the router between two batches, unchanged ones with their state;
//!   routes and agent tags are always taken anew.
//! - a changed or removed input is stopped (within `shutdown_timeout`) before its new build
//!   starts, so a listener's address is free again.
//!
//! The pipeline channel and its in-flight budget (`agent.queue_batches`,
//! `agent.max_in_flight_events`) are kept as they are until a restart.

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use gleaner_api::selector::Selectors;
use gleaner_api::{
    Accepts, Acknowledgements, ComponentMetrics, Envelope, EventSender, InputContext, PluginId,
    RunMode, Shared, Shutdown, ShutdownTrigger, Telemetry, Ticker, glob::Glob, shutdown_pair,
};
use tokio::sync::{Semaphore, mpsc};
use tokio::task::JoinHandle;
use tracing::{error, info, warn};

use super::router::{Enrich, Route, Router, RouterUpdate};
use super::{Built, BuiltInput, BuiltOutput, StartError, open_buffer, report_orphans};
use crate::buffer::OutputBuffer;
use crate::config::{AgentConfig, BufferKind, Config, PluginSection};
use crate::delivery::OutputWorker;

/// The drop reason of events an output abandons at the shutdown timeout.
const ABANDONED: &str = "shutdown_timeout";
/// How long the workers and the router get to stop once the shutdown timeout has passed.
const ABORT_GRACE: Duration = Duration::from_secs(1);

/// The `[agent]` values plugins are built from: when one changes, every component is built
/// again (their buffers are still handed over).
#[derive(Debug, Clone, PartialEq)]
struct Facts {
    hostname: String,
    data_dir: Option<PathBuf>,
    interval: gleaner_api::Duration,
    collection_jitter: gleaner_api::Duration,
    flush_interval: gleaner_api::Duration,
}

impl Facts {
    fn of(agent: &AgentConfig, hostname: &str) -> Self {
        Facts {
            hostname: hostname.to_owned(),
            data_dir: agent.data_dir.clone(),
            interval: agent.interval,
            collection_jitter: agent.collection_jitter,
            flush_interval: agent.flush_interval,
        }
    }
}

struct RunningInput {
    id: PluginId,
    section: PluginSection,
    selectors: Option<Arc<Selectors>>,
    task: JoinHandle<()>,
    stop: ShutdownTrigger,
    metrics: Arc<ComponentMetrics>,
}

struct RunningFilter {
    section: PluginSection,
    metrics: Arc<ComponentMetrics>,
}

struct RunningOutput {
    id: PluginId,
    /// `None` for the `--test` output.
    section: Option<PluginSection>,
    task: JoinHandle<()>,
    buffer: OutputBuffer,
    /// Where its disk buffer lives, if on disk.
    buffer_dir: Option<PathBuf>,
    globs: Option<Vec<Glob>>,
    accepts: Accepts,
    selectors: Option<Arc<Selectors>>,
    metrics: Arc<ComponentMetrics>,
    stopping: ShutdownTrigger,
    abort: ShutdownTrigger,
    handover: ShutdownTrigger,
}

impl RunningOutput {
    fn route(&self) -> Route {
        Route {
            globs: self.globs.clone(),
            accepts: self.accepts,
            selectors: self.selectors.clone(),
            buffer: self.buffer.clone(),
            metrics: Arc::clone(&self.metrics),
        }
    }
}

/// What a reload changed, by component count.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct ReloadSummary {
    /// Components kept running as they were.
    pub unchanged: usize,
    /// Components built again from a changed table.
    pub changed: usize,
    /// New components.
    pub added: usize,
    /// Components stopped for good.
    pub removed: usize,
}

/// A running pipeline.
pub struct Running {
    inputs: Vec<RunningInput>,
    filters: Vec<RunningFilter>,
    outputs: Vec<RunningOutput>,
    /// Removed outputs still draining in the background.
    retiring: Vec<JoinHandle<()>>,
    router: JoinHandle<()>,
    updates: mpsc::Sender<RouterUpdate>,
    /// The pipeline channel, for inputs a reload starts; dropped at stop.
    tx: Option<mpsc::Sender<Envelope>>,
    budget: Arc<Semaphore>,
    budget_total: u32,
    config: Config,
    facts: Facts,
    mode: RunMode,
    shared: Shared,
    services: Shutdown,
    filter_shutdown: ShutdownTrigger,
    telemetry: Telemetry,
}

/// Agent tags (and `host`) for the router.
fn enrich(agent: &AgentConfig, hostname: &str) -> Enrich {
    let mut tags: Vec<(String, String)> = agent
        .tags
        .iter()
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect();
    if !agent.omit_hostname {
        tags.push(("host".to_owned(), hostname.to_owned()));
    }
    Enrich { tags }
}

fn buffer_dir(o: &BuiltOutput, agent: &AgentConfig) -> Option<PathBuf> {
    match (o.buffer.kind, &agent.data_dir) {
        (BufferKind::Disk, Some(d)) => Some(d.join("buffer").join(&*o.id)),
        _ => None,
    }
}

/// Starts the delivery worker of `o` on `buffer`.
fn spawn_output(o: BuiltOutput, buffer: OutputBuffer, agent: &AgentConfig) -> RunningOutput {
    let (stopping, stopping_sd) = shutdown_pair();
    let (abort, abort_sd) = shutdown_pair();
    let (handover, handover_sd) = shutdown_pair();
    let dead_letter = match (&agent.data_dir, o.buffer.dead_letter) {
        (Some(d), true) => Some(d.join("dead").join(&*o.id)),
        _ => None,
    };
    let buffer_dir = buffer_dir(&o, agent);
    let worker = OutputWorker {
        id: Arc::clone(&o.id),
        output: o.output,
        buffer: buffer.clone(),
        metrics: Arc::clone(&o.metrics),
        flush_interval: agent.flush_interval.get(),
        backoff: (
            o.buffer.retry_initial_backoff.get(),
            o.buffer.retry_max_backoff.get(),
        ),
        dead_letter,
        stopping: stopping_sd,
        abort: abort_sd,
        handover: handover_sd,
    };
    RunningOutput {
        id: o.id,
        section: o.section,
        task: tokio::spawn(worker.run()),
        buffer,
        buffer_dir,
        globs: o.globs,
        accepts: o.accepts,
        selectors: o.selectors,
        metrics: o.metrics,
        stopping,
        abort,
        handover,
    }
}

/// Starts an input on the pipeline channel.
fn spawn_input(
    i: BuiltInput,
    tx: &mpsc::Sender<Envelope>,
    budget: &Arc<Semaphore>,
    budget_total: u32,
    mode: RunMode,
) -> RunningInput {
    let (stop, sd) = shutdown_pair();
    let cx = InputContext {
        id: Arc::clone(&i.id),
        out: EventSender::new(Arc::clone(&i.id), tx.clone(), Arc::clone(&i.metrics))
            .with_budget(Arc::clone(budget), budget_total),
        shutdown: sd.clone(),
        ticker: Ticker::new(i.interval, mode, sd).with_jitter(i.jitter),
        acks: Acknowledgements::new(),
        metrics: Arc::clone(&i.metrics),
        mode,
    };
    let id = Arc::clone(&i.id);
    let metrics = Arc::clone(&i.metrics);
    let input = i.input;
    let task = tokio::spawn(async move {
        if let Err(e) = input.run(cx).await {
            metrics.error("stopped");
            error!(input = %id, error = %e, "input stopped with an error");
        }
    });
    RunningInput {
        id: i.id,
        section: i.section,
        selectors: i.selectors,
        task,
        stop,
        metrics: i.metrics,
    }
}

/// Opens every output's buffer (recovering disk buffers) and starts every task.
pub(super) async fn start(built: Built, mode: RunMode) -> Result<Running, StartError> {
    let Built {
        inputs,
        filters,
        outputs,
        config,
        hostname,
        filter_shutdown,
        shared,
        services,
        telemetry,
    } = built;
    let agent = &config.agent;
    if let Some(data_dir) = &agent.data_dir {
        report_orphans(data_dir, &outputs);
    }
    let mut running_outputs = Vec::new();
    for o in outputs {
        let buffer = open_buffer(&o, agent).await?;
        running_outputs.push(spawn_output(o, buffer, agent));
    }
    let (tx, rx) = mpsc::channel(agent.queue_batches.max(1));
    let budget_total = u32::try_from(agent.max_in_flight_events.max(1)).unwrap_or(u32::MAX);
    let budget = Arc::new(Semaphore::new(budget_total as usize));
    let input_metrics: HashMap<Arc<str>, Arc<ComponentMetrics>> = inputs
        .iter()
        .map(|i| (Arc::clone(&i.id), Arc::clone(&i.metrics)))
        .collect();
    let running_filters = config
        .filters
        .iter()
        .zip(&filters)
        .map(|(s, f)| RunningFilter {
            section: s.clone(),
            metrics: Arc::clone(&f.metrics),
        })
        .collect();
    let mut filters = filters;
    for f in &mut filters {
        f.filter.start(mode).await;
    }
    let routes = running_outputs.iter().map(RunningOutput::route).collect();
    let input_selectors = inputs
        .iter()
        .filter_map(|i| Some((Arc::clone(&i.id), Arc::clone(i.selectors.as_ref()?))))
        .collect();
    let router = Router::new(filters, routes, enrich(agent, &hostname), input_metrics)
        .with_input_selectors(input_selectors);
    let (updates, updates_rx) = mpsc::channel(1);
    let router = tokio::spawn(router.run(rx, updates_rx));
    let running_inputs: Vec<RunningInput> = inputs
        .into_iter()
        .map(|i| spawn_input(i, &tx, &budget, budget_total, mode))
        .collect();
    info!(
        inputs = running_inputs.len(),
        outputs = running_outputs.len(),
        "pipeline started"
    );
    let facts = Facts::of(agent, &hostname);
    Ok(Running {
        inputs: running_inputs,
        filters: running_filters,
        outputs: running_outputs,
        retiring: Vec::new(),
        router,
        updates,
        tx: Some(tx),
        budget,
        budget_total,
        config,
        facts,
        mode,
        shared,
        services,
        filter_shutdown,
        telemetry,
    })
}

/// Stops an input; aborts it after `deadline`. False when it had to be aborted.
async fn stop_input(i: RunningInput, deadline: tokio::time::Instant) -> bool {
    i.stop.trigger();
    let mut task = i.task;
    if tokio::time::timeout_at(deadline, &mut task).await.is_err() {
        warn!(input = %i.id, "input did not stop in time; aborting it");
        task.abort();
        return false;
    }
    true
}

/// Stops a removed output as at shutdown: its buffer is closed, it drains within `timeout`,
/// then gives up (what a memory queue still held is counted as abandoned).
async fn retire_output(o: RunningOutput, timeout: Duration) {
    let before = o.metrics.dropped_count(ABANDONED);
    o.buffer.close();
    o.stopping.trigger();
    let mut task = o.task;
    if tokio::time::timeout(timeout, &mut task).await.is_err() {
        o.abort.trigger();
        if tokio::time::timeout(ABORT_GRACE, &mut task).await.is_err() {
            error!(output = %o.id, "removed output did not stop after the abort signal");
        }
    }
    let events = o.metrics.dropped_count(ABANDONED).saturating_sub(before);
    if events > 0 {
        error!(output = %o.id, events, "removed output: events abandoned, not delivered within shutdown_timeout");
    } else {
        info!(output = %o.id, "removed output stopped");
    }
}

impl Running {
    /// Waits until every input has returned by itself (once mode).
    pub async fn inputs_done(&mut self) {
        for i in &mut self.inputs {
            if let Err(e) = (&mut i.task).await {
                error!(input = %i.id, error = %e, "input task failed");
            }
        }
        self.inputs.clear();
    }

    /// The config running now.
    pub fn config(&self) -> &Config {
        &self.config
    }

    /// The counters of every running component.
    pub fn component_metrics(&self) -> Vec<Arc<ComponentMetrics>> {
        self.inputs
            .iter()
            .map(|i| Arc::clone(&i.metrics))
            .chain(self.filters.iter().map(|f| Arc::clone(&f.metrics)))
            .chain(self.outputs.iter().map(|o| Arc::clone(&o.metrics)))
            .collect()
    }
}

mod reload;
mod stop;
#[cfg(test)]
mod tests;
