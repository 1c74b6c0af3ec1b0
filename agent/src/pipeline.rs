//! Running a config: build every plugin through the registry ([`build`]), wire inputs →
//! router → per-output queues → delivery workers ([`Built::start`]), and stop in order
//! ([`Running::stop`]): inputs first, then the router drains into the queues, then the
//! workers drain the queues and flush, all within `shutdown_timeout`.

pub mod router;
mod selectors;

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use gleaner_api::{
    Accepts, Acknowledgements, BuildContext, ComponentKind, ComponentMetrics, ConfigError,
    EventSender, Input, InputContext, Output, PluginConfig, PluginId, RunMode, Shared,
    ShutdownTrigger, Telemetry, Ticker, shutdown_pair,
};
use tokio::sync::mpsc;
use tokio::task::JoinHandle;
use tracing::{error, info, warn};

use crate::buffer::OutputBuffer;
use crate::buffer::disk::{DiskBuffer, DiskConfig};
use crate::buffer::memory::OutputQueue;
use crate::buffer::store::StoreConfig;
use crate::config::engine_keys;
use crate::config::{
    AgentConfig, BufferConfig, BufferKind, Config, ConfigErrors, LocatedError, PluginSection,
};
use crate::delivery::OutputWorker;
use crate::registry;
use gleaner_api::glob::Glob;
use gleaner_api::selector::Selectors;
use router::{Enrich, FilterStage, Route, Router};

/// An input ready to run.
pub struct BuiltInput {
    id: PluginId,
    input: Box<dyn Input>,
    interval: gleaner_api::Duration,
    /// `collection_jitter`: a random delay in `[0, jitter)` before each gather.
    jitter: gleaner_api::Duration,
    metrics: Arc<ComponentMetrics>,
    selectors: Option<Arc<Selectors>>,
}

/// An output ready to run.
pub struct BuiltOutput {
    id: PluginId,
    output: Box<dyn Output>,
    accepts: Accepts,
    globs: Option<Vec<Glob>>,
    selectors: Option<Arc<Selectors>>,
    buffer: BufferConfig,
    metrics: Arc<ComponentMetrics>,
}

/// Every plugin of a config, built and validated, not yet running.
pub struct Built {
    inputs: Vec<BuiltInput>,
    filters: Vec<FilterStage>,
    outputs: Vec<BuiltOutput>,
    config: Config,
    hostname: String,
    filter_shutdown: ShutdownTrigger,
    telemetry: Telemetry,
}

/// The host name: `agent.hostname`, else `NODE_NAME`, else the kernel's.
pub fn resolve_hostname(configured: &str) -> String {
    if !configured.is_empty() {
        return configured.to_owned();
    }
    if let Ok(n) = std::env::var("NODE_NAME")
        && !n.is_empty()
    {
        return n;
    }
    for p in ["/proc/sys/kernel/hostname", "/etc/hostname"] {
        if let Ok(s) = std::fs::read_to_string(p) {
            let s = s.trim();
            if !s.is_empty() {
                return s.to_owned();
            }
        }
    }
    "localhost".to_owned()
}

fn globs(section: &PluginSection) -> Option<Vec<Glob>> {
    section
        .match_globs
        .as_ref()
        .map(|v| v.iter().map(Glob::new).collect())
}

/// Shared state while building one config's plugins; collects located errors.
struct Builder<'a> {
    config: &'a Config,
    hostname: String,
    telemetry: &'a Telemetry,
    shutdown: gleaner_api::Shutdown,
    shared: Shared,
    errors: Vec<LocatedError>,
}

impl Builder<'_> {
    /// Looks `s` up with `lookup` (giving the registry name and a constructor) and builds
    /// it; on error records it, located in the section's file, and returns `None`.
    fn build<T, F>(
        &mut self,
        s: &PluginSection,
        kind: ComponentKind,
        interval: gleaner_api::Duration,
        lookup: Result<(&'static str, F), ConfigError>,
    ) -> Option<(T, BuildContext)>
    where
        F: FnOnce(&PluginConfig, &BuildContext) -> Result<T, ConfigError>,
    {
        let located = |e: ConfigError| {
            let e = if e.span.is_none() {
                e.with_span(s.span.clone())
            } else {
                e
            };
            s.file.locate(e)
        };
        let (plugin, build) = match lookup {
            Ok(x) => x,
            Err(e) => {
                let key = format!("{}s.{}", kind.as_str(), s.name);
                self.errors.push(located(e.with_key(key)));
                return None;
            }
        };
        let bcx = BuildContext {
            id: Arc::from(s.id.as_str()),
            data_dir: self.config.agent.data_dir.clone(),
            hostname: self.hostname.clone(),
            interval,
            metrics: self.telemetry.register(&s.id, kind, plugin),
            telemetry: self.telemetry.clone(),
            shutdown: self.shutdown.clone(),
            shared: self.shared.clone(),
        };
        match build(&s.config, &bcx) {
            Ok(t) => Some((t, bcx)),
            Err(e) => {
                // An unknown key may be a misspelt shared key (`namepas`).
                let shared: Vec<&str> = engine_keys(kind).collect();
                let e = e.with_shared_keys_hint(s.config.key_path(), &shared);
                self.errors.push(located(e));
                None
            }
        }
    }
}

/// Builds every plugin of `config`; collects every error, located in its file.
pub fn build(config: Config, telemetry: &Telemetry) -> Result<Built, ConfigErrors> {
    let hostname = resolve_hostname(&config.agent.hostname);
    let (filter_shutdown, shutdown) = shutdown_pair();
    let agent_interval = config.agent.interval;
    let mut b = Builder {
        config: &config,
        hostname: hostname.clone(),
        telemetry,
        shutdown,
        shared: Shared::new(),
        errors: Vec::new(),
    };

    let mut inputs = Vec::new();
    for s in &config.inputs {
        let interval = s.interval.unwrap_or(agent_interval);
        let jitter = s
            .collection_jitter
            .unwrap_or(config.agent.collection_jitter);
        if jitter.get() >= interval.get() {
            let e = ConfigError::new(format!(
                "collection_jitter ({jitter}) must be shorter than the interval ({interval})"
            ))
            .with_key(format!("{}.collection_jitter", s.config.key_path()))
            .with_hint("a gather must start before its next tick: lower collection_jitter");
            b.errors.push(s.file.locate(e.with_span(s.span.clone())));
            continue;
        }
        let lookup = registry::input(&s.name).map(|d| (d.name, d.build));
        if let Some((input, bcx)) = b.build(s, ComponentKind::Input, interval, lookup) {
            inputs.push(BuiltInput {
                id: bcx.id,
                input,
                interval,
                jitter,
                metrics: bcx.metrics,
                selectors: s.selectors.clone(),
            });
        }
    }
    let mut filters = Vec::new();
    for s in &config.filters {
        let lookup = registry::filter(&s.name).map(|d| (d.name, d.build));
        if let Some((filter, bcx)) = b.build(s, ComponentKind::Filter, agent_interval, lookup) {
            filters.push(FilterStage {
                filter,
                globs: globs(s),
                selectors: s.selectors.clone(),
                metrics: bcx.metrics,
            });
        }
    }
    let mut outputs = Vec::new();
    for s in &config.outputs {
        let desc = registry::output(&s.name);
        let accepts = match (&desc, s.kinds) {
            (Ok(d), Some(k))
                if (k.metrics && !d.supports.metrics) || (k.logs && !d.supports.logs) =>
            {
                let can = [("metrics", d.supports.metrics), ("logs", d.supports.logs)]
                    .iter()
                    .filter(|(_, ok)| *ok)
                    .map(|(n, _)| format!("\"{n}\""))
                    .collect::<Vec<_>>()
                    .join(", ");
                let e = ConfigError::new(format!(
                    "outputs.{} cannot encode every kind asked for",
                    s.name
                ))
                .with_key(format!("{}.kinds", s.config.key_path()))
                .with_hint(format!("it takes: {can}"));
                b.errors.push(s.file.locate(e.with_span(s.span.clone())));
                continue;
            }
            (Ok(_), Some(k)) => k,
            (Ok(d), None) => d.accepts,
            (Err(_), _) => Accepts::BOTH,
        };
        let lookup = desc.map(|d| (d.name, d.build));
        if let Some((output, bcx)) = b.build(s, ComponentKind::Output, agent_interval, lookup) {
            outputs.push(BuiltOutput {
                id: bcx.id,
                output,
                accepts,
                globs: globs(s),
                selectors: s.selectors.clone(),
                buffer: s.buffer.clone(),
                metrics: bcx.metrics,
            });
        }
    }
    let errors = b.errors;
    if !errors.is_empty() {
        return Err(ConfigErrors(errors));
    }
    Ok(Built {
        inputs,
        filters,
        outputs,
        config,
        hostname,
        filter_shutdown,
        telemetry: telemetry.clone(),
    })
}

/// A buffer could not be opened.
#[derive(Debug, thiserror::Error)]
#[error("output {output}: cannot open its buffer: {source}")]
pub struct StartError {
    /// The output.
    pub output: String,
    /// The cause.
    #[source]
    pub source: crate::buffer::store::StoreError,
}

async fn open_buffer(o: &BuiltOutput, agent: &AgentConfig) -> Result<OutputBuffer, StartError> {
    let cfg = &o.buffer;
    match (cfg.kind, &agent.data_dir) {
        (BufferKind::Disk, Some(data_dir)) => {
            let disk = DiskConfig {
                store: StoreConfig {
                    chunk_size: cfg.chunk_size.get().max(1),
                    sync: cfg.sync,
                },
                max_bytes: cfg.max_bytes.get(),
                when_full: cfg.when_full,
                flush_interval: agent.flush_interval.get(),
            };
            let dir = data_dir.join("buffer").join(&*o.id);
            let corrupt = data_dir.join("corrupt").join(&*o.id);
            DiskBuffer::open(&o.id, &dir, &corrupt, disk, Arc::clone(&o.metrics))
                .await
                .map(OutputBuffer::Disk)
                .map_err(|source| StartError {
                    output: o.id.to_string(),
                    source,
                })
        }
        _ => Ok(OutputBuffer::Memory(Arc::new(OutputQueue::new(
            agent.queue_batches,
            cfg.max_bytes.get(),
            cfg.when_full,
            Arc::clone(&o.metrics),
        )))),
    }
}

/// Warns about buffer directories no configured output owns (they are kept, not deleted).
fn report_orphans(data_dir: &std::path::Path, outputs: &[BuiltOutput]) {
    let Ok(entries) = std::fs::read_dir(data_dir.join("buffer")) else {
        return;
    };
    for entry in entries.flatten() {
        let name = entry.file_name().to_string_lossy().into_owned();
        if !outputs.iter().any(|o| *o.id == *name) {
            let chunks = std::fs::read_dir(entry.path())
                .map(|d| d.count())
                .unwrap_or(0);
            warn!(
                dir = %entry.path().display(),
                chunks,
                "buffer directory of an output that is not in the config: kept, not delivered; restore the output (same alias or id) or remove the directory"
            );
        }
    }
}

/// The drop reason of events an output abandons at the shutdown timeout.
const ABANDONED: &str = "shutdown_timeout";
/// How long the workers and the router get to stop once the shutdown timeout has passed.
const ABORT_GRACE: Duration = Duration::from_secs(1);

/// A running pipeline.
pub struct Running {
    inputs: Vec<(PluginId, JoinHandle<()>)>,
    router: JoinHandle<()>,
    outputs: Vec<(PluginId, JoinHandle<()>, Arc<ComponentMetrics>)>,
    input_shutdown: ShutdownTrigger,
    abort: ShutdownTrigger,
    filter_shutdown: ShutdownTrigger,
    shutdown_timeout: Duration,
}

impl Built {
    /// The loaded config these plugins came from.
    pub fn config(&self) -> &Config {
        &self.config
    }

    /// The counters of every component of this pipeline.
    pub fn component_metrics(&self) -> Vec<Arc<ComponentMetrics>> {
        self.inputs
            .iter()
            .map(|i| Arc::clone(&i.metrics))
            .chain(self.filters.iter().map(|f| Arc::clone(&f.metrics)))
            .chain(self.outputs.iter().map(|o| Arc::clone(&o.metrics)))
            .collect()
    }

    /// Replaces the outputs by one (for `--test`: print, ship nothing).
    pub fn replace_outputs(&mut self, id: &str, output: Box<dyn Output>, accepts: Accepts) {
        self.outputs.clear();
        self.outputs.push(BuiltOutput {
            id: Arc::from(id),
            output,
            accepts,
            globs: None,
            selectors: None,
            buffer: BufferConfig::default(),
            metrics: self.telemetry.register(id, ComponentKind::Output, "test"),
        });
    }

    /// Opens every output's buffer (recovering disk buffers) and starts every task.
    pub async fn start(self, mode: RunMode) -> Result<Running, StartError> {
        let agent = &self.config.agent;
        let (input_shutdown, in_sd) = shutdown_pair();
        let (abort, abort_sd) = shutdown_pair();
        if let Some(data_dir) = &agent.data_dir {
            report_orphans(data_dir, &self.outputs);
        }

        let mut routes = Vec::new();
        let mut output_tasks = Vec::new();
        for o in self.outputs {
            let buffer = open_buffer(&o, agent).await?;
            routes.push(Route {
                globs: o.globs,
                accepts: o.accepts,
                buffer: buffer.clone(),
                selectors: o.selectors.clone(),
                metrics: Arc::clone(&o.metrics),
            });
            let dead_letter = match (&agent.data_dir, o.buffer.dead_letter) {
                (Some(d), true) => Some(d.join("dead").join(&*o.id)),
                _ => None,
            };
            let metrics = Arc::clone(&o.metrics);
            let worker = OutputWorker {
                id: Arc::clone(&o.id),
                output: o.output,
                buffer,
                metrics: o.metrics,
                flush_interval: agent.flush_interval.get(),
                backoff: (
                    o.buffer.retry_initial_backoff.get(),
                    o.buffer.retry_max_backoff.get(),
                ),
                dead_letter,
                stopping: in_sd.clone(),
                abort: abort_sd.clone(),
            };
            output_tasks.push((o.id, tokio::spawn(worker.run()), metrics));
        }

        let mut tags: Vec<(String, String)> = agent
            .tags
            .iter()
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect();
        if !agent.omit_hostname {
            tags.push(("host".to_owned(), self.hostname.clone()));
        }
        let (tx, rx) = mpsc::channel(agent.queue_batches.max(1));
        let budget_total = u32::try_from(agent.max_in_flight_events.max(1)).unwrap_or(u32::MAX);
        let budget = Arc::new(tokio::sync::Semaphore::new(budget_total as usize));
        let input_metrics: HashMap<Arc<str>, Arc<ComponentMetrics>> = self
            .inputs
            .iter()
            .map(|i| (Arc::clone(&i.id), Arc::clone(&i.metrics)))
            .collect();
        let mut filters = self.filters;
        for f in &mut filters {
            f.filter.start(mode).await;
        }
        let input_selectors = self
            .inputs
            .iter()
            .filter_map(|i| Some((Arc::clone(&i.id), Arc::clone(i.selectors.as_ref()?))))
            .collect();
        let router = Router::new(filters, routes, Enrich { tags }, input_metrics)
            .with_input_selectors(input_selectors);
        let router = tokio::spawn(router.run(rx));

        let mut input_tasks = Vec::new();
        for i in self.inputs {
            let cx = InputContext {
                id: Arc::clone(&i.id),
                out: EventSender::new(Arc::clone(&i.id), tx.clone(), Arc::clone(&i.metrics))
                    .with_budget(Arc::clone(&budget), budget_total),
                shutdown: in_sd.clone(),
                ticker: Ticker::new(i.interval, mode, in_sd.clone()).with_jitter(i.jitter),
                acks: Acknowledgements::new(),
                metrics: Arc::clone(&i.metrics),
                mode,
            };
            let id = Arc::clone(&i.id);
            let metrics = i.metrics;
            let input = i.input;
            let task = tokio::spawn(async move {
                if let Err(e) = input.run(cx).await {
                    metrics.error("stopped");
                    error!(input = %id, error = %e, "input stopped with an error");
                }
            });
            input_tasks.push((i.id, task));
        }
        drop(tx);
        info!(
            inputs = input_tasks.len(),
            outputs = output_tasks.len(),
            "pipeline started"
        );
        Ok(Running {
            inputs: input_tasks,
            router,
            outputs: output_tasks,
            input_shutdown,
            abort,
            filter_shutdown: self.filter_shutdown,
            shutdown_timeout: agent.shutdown_timeout.get(),
        })
    }
}

impl Running {
    /// Waits until every input has returned by itself (once mode).
    pub async fn inputs_done(&mut self) {
        for (id, h) in &mut self.inputs {
            if let Err(e) = h.await {
                error!(input = %id, error = %e, "input task failed");
            }
        }
        self.inputs.clear();
    }

    /// Stops inputs, drains, flushes; gives up on whatever is left after `shutdown_timeout`.
    /// Returns true when everything drained in time.
    pub async fn stop(self) -> bool {
        let Running {
            inputs,
            router,
            outputs,
            input_shutdown,
            abort,
            filter_shutdown,
            shutdown_timeout,
        } = self;
        input_shutdown.trigger();
        let deadline = tokio::time::Instant::now() + shutdown_timeout;
        // Abandoned events are counted under `shutdown_timeout` (by the workers and the
        // router) only while stopping: what is added from here on is this stop's.
        let counted: Vec<(PluginId, Arc<ComponentMetrics>, u64)> = outputs
            .iter()
            .map(|(id, _, m)| (Arc::clone(id), Arc::clone(m), m.dropped_count(ABANDONED)))
            .collect();
        let mut clean = true;
        for (id, mut h) in inputs {
            if tokio::time::timeout_at(deadline, &mut h).await.is_err() {
                warn!(input = %id, "input did not stop in time; aborting it");
                h.abort();
                clean = false;
            }
        }
        // Inputs are gone, so their senders are dropped and the router drains and closes the
        // queues; the workers drain the queues.
        let drain = async {
            if let Err(e) = router.await {
                error!(error = %e, "router task failed");
            }
            for (id, h, _) in outputs {
                if let Err(e) = h.await {
                    error!(output = %id, error = %e, "output task failed");
                }
            }
        };
        tokio::pin!(drain);
        if tokio::time::timeout_at(deadline, &mut drain).await.is_err() {
            clean = false;
            warn!("shutdown timeout reached: abandoning retries");
            abort.trigger();
            // Workers stop within a request once aborted, and count what they leave behind;
            // the router then finds their queues closed and counts what it still held.
            if tokio::time::timeout(ABORT_GRACE, &mut drain).await.is_err() {
                error!(
                    "outputs did not stop after the abort signal; their counts below may be short"
                );
            }
        }
        filter_shutdown.trigger();
        let mut total = 0;
        for (id, metrics, before) in counted {
            let events = metrics.dropped_count(ABANDONED).saturating_sub(before);
            if events > 0 {
                total += events;
                error!(output = %id, events, "events abandoned at shutdown: not delivered within shutdown_timeout");
            }
        }
        if total > 0 {
            clean = false;
            error!(events = total, "events abandoned at shutdown, all outputs");
        }
        clean
    }
}
