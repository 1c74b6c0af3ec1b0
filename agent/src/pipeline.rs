//! Running a config: build every plugin through the registry ([`build`]), wire inputs →
//! router → per-output queues → delivery workers ([`Built::start`]), change a running
//! pipeline by difference on reload ([`Running::reload`], in `running.rs`), and stop in order
//! ([`Running::stop`]): inputs first, then the router drains into the queues, then the
//! workers drain the queues and flush, all within `shutdown_timeout`.

pub mod router;
mod running;
mod selectors;

pub use running::{ReloadSummary, Running};

use std::sync::Arc;

use gleaner_api::{
    Accepts, BuildContext, ComponentKind, ComponentMetrics, ConfigError, Input, Output,
    PluginConfig, PluginId, RunMode, Shared, ShutdownTrigger, Telemetry, shutdown_pair,
};
use tracing::warn;

use crate::buffer::OutputBuffer;
use crate::buffer::disk::{DiskBuffer, DiskConfig};
use crate::buffer::memory::OutputQueue;
use crate::buffer::store::StoreConfig;
use crate::config::engine_keys;
use crate::config::{
    AgentConfig, BufferConfig, BufferKind, Config, ConfigErrors, LocatedError, PluginSection,
};
use crate::registry;
use gleaner_api::glob::Glob;
use gleaner_api::selector::Selectors;
use router::FilterStage;

/// An input ready to run.
pub struct BuiltInput {
    id: PluginId,
    /// Its table (for reloads).
    section: PluginSection,
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
    /// Its table (for reloads); `None` for the `--test` output.
    section: Option<PluginSection>,
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
    /// What the plugins share, and the signal that stops it: kept across reloads.
    shared: Shared,
    services: gleaner_api::Shutdown,
    telemetry: Telemetry,
}

/// The plugins a reload built (changed and added components), in config order.
pub(crate) struct Parts {
    inputs: Vec<BuiltInput>,
    filters: Vec<FilterStage>,
    outputs: Vec<BuiltOutput>,
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
    let shared = Shared::new();
    let Parts {
        inputs,
        filters,
        outputs,
    } = build_parts(&config, &hostname, telemetry, &shared, &shutdown, &|_| {
        false
    })?;
    Ok(Built {
        inputs,
        filters,
        outputs,
        config,
        hostname,
        filter_shutdown,
        shared,
        services: shutdown,
        telemetry: telemetry.clone(),
    })
}

/// Builds the plugins of `config` that `running` does not say are running already (a
/// reload keeps those), with the running pipeline's shared services.
pub(crate) fn build_parts(
    config: &Config,
    hostname: &str,
    telemetry: &Telemetry,
    shared: &Shared,
    shutdown: &gleaner_api::Shutdown,
    running: &dyn Fn(&PluginSection) -> bool,
) -> Result<Parts, ConfigErrors> {
    let agent_interval = config.agent.interval;
    let mut b = Builder {
        config,
        hostname: hostname.to_owned(),
        telemetry,
        shutdown: shutdown.clone(),
        shared: shared.clone(),
        errors: Vec::new(),
    };

    let mut inputs = Vec::new();
    for s in config.inputs.iter().filter(|s| !running(s)) {
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
                section: s.clone(),
                input,
                interval,
                jitter,
                metrics: bcx.metrics,
                selectors: s.selectors.clone(),
            });
        }
    }
    let mut filters = Vec::new();
    for s in config.filters.iter().filter(|s| !running(s)) {
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
    for s in config.outputs.iter().filter(|s| !running(s)) {
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
                section: Some(s.clone()),
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
    Ok(Parts {
        inputs,
        filters,
        outputs,
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
                .map(|d| {
                    d.flatten()
                        .filter(|e| e.path().extension().is_some_and(|x| x == "chunk"))
                        .count()
                })
                .unwrap_or(0);
            warn!(
                dir = %entry.path().display(),
                chunks,
                "buffer directory of an output that is not in the config: kept, not delivered; restore the output (same alias or id) or remove the directory"
            );
        }
    }
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
            section: None,
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
        running::start(self, mode).await
    }
}
