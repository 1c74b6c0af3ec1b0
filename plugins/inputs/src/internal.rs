//! `inputs.internal`: the agent's own counters as metrics, like Telegraf's `internal` plugin.
//! On every gather it reads [`Telemetry::snapshot`] and emits one batch of:
//! - `internal_component` per component (tags `component_id`, `component_kind`, `plugin`,
//!   `host`; counter fields `events_received`, `events_sent`, `batches_sent`,
//!   `bytes_received`, `bytes_sent`, `errors` and `dropped` (sums over reasons),
//!   `queue_depth`);
//! - `internal_dropped` per component and drop reason (tag `reason`, field `events`);
//! - `internal_agent` once (tag `host`; fields `uptime_seconds` since the input was built,
//!   and with `collect_process` the process's `mem_rss_bytes`, `cpu_seconds`, `num_threads`
//!   from `/proc/self`, Linux only; what cannot be read is left out, never an error).
//!
//! The metric shapes are built in `internal/gather.rs`, `/proc` is parsed in
//! `internal/procfs.rs`; this module owns the config and the gather loop.

mod gather;
mod procfs;

#[cfg(test)]
mod tests;

use async_trait::async_trait;
use gleaner_api::{
    Batch, BuildContext, ConfigError, Input, InputContext, InputDescriptor, PluginConfig,
    PluginError, Telemetry, now_ns,
};
use serde::Deserialize;
use tokio::time::Instant;

/// Registry entry.
pub const DESCRIPTOR: InputDescriptor = InputDescriptor {
    name: "internal",
    summary: "The agent's own metrics: events, bytes, drops and errors per component, and \
              process memory, CPU and threads",
    sample: SAMPLE,
    build,
};

const SAMPLE: &str = r#"[[inputs.internal]]
## Also report the agent process's memory (RSS), CPU time and threads (Linux, /proc/self).
# collect_process = true
"#;

/// The `[[inputs.internal]]` table.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, default)]
struct InternalConfig {
    /// Report the process's memory, CPU time and threads.
    collect_process: bool,
}

impl Default for InternalConfig {
    fn default() -> Self {
        InternalConfig {
            collect_process: true,
        }
    }
}

fn build(cfg: &PluginConfig, cx: &BuildContext) -> Result<Box<dyn Input>, ConfigError> {
    let config: InternalConfig = cfg.parse()?;
    Ok(Box::new(Internal {
        telemetry: cx.telemetry.clone(),
        hostname: cx.hostname.clone(),
        collect_process: config.collect_process,
        started: Instant::now(),
    }))
}

/// The input: where to read counters, and what to add to them.
struct Internal {
    telemetry: Telemetry,
    hostname: String,
    collect_process: bool,
    /// When the input was built: the origin of `uptime_seconds`.
    started: Instant,
}

impl Internal {
    /// One gather's metrics.
    fn gather(&self) -> Vec<gleaner_api::Metric> {
        let ts = now_ns();
        let snapshots = self.telemetry.snapshot();
        let mut metrics = Vec::with_capacity(snapshots.len() * 2 + 1);
        gather::component_metrics(&snapshots, &self.hostname, ts, &mut metrics);
        // Two small reads of /proc/self: microseconds, fine on the runtime (STYLE rule 10
        // draws the line at ~0.5 ms).
        let process = self.collect_process.then(procfs::read_self);
        metrics.push(gather::agent_metric(
            &self.hostname,
            ts,
            self.started.elapsed(),
            process.as_ref(),
        ));
        metrics
    }
}

#[async_trait]
impl Input for Internal {
    async fn run(self: Box<Self>, mut cx: InputContext) -> Result<(), PluginError> {
        while cx.ticker.tick().await {
            if cx.out.send(Batch::Metrics(self.gather())).await.is_err() {
                // The pipeline is closed: the agent is stopping.
                return Ok(());
            }
        }
        Ok(())
    }
}

/// This plugin's sample check (run for every registered plugin from `src/sample_checks.rs`):
/// each option the sample shows at its default is the real default.
#[cfg(test)]
pub(crate) fn check_sample() {
    gleaner_api::test_util::sample::assert_sample_debug::<InternalConfig>(
        "inputs.internal.0",
        SAMPLE,
        &[],
        &[],
    );
}
