//! `inputs.host`: the node's CPU, memory, swap, disks, disk I/O, network, load, processes
//! and kernel counters, read from `/proc` under a configurable root and parsed by the
//! `procfs` crate (`statvfs` for disk space; the `processes` walk and the mount table keep
//! their own readers, see their modules), with Telegraf's measurement, tag and field names (one collector per
//! module under `host/`):
//! `cpu` (usage_* %, from deltas: the first gather emits none), `mem`, `swap`, `disk`,
//! `diskio`, `net`, `system`, `processes`, `kernel`.
//!
//! In a container, mount the host's `/` at e.g. `/hostfs` and set `host_root` (or env
//! `HOST_ROOT`): every read goes to `<root>/proc/...`, mounts come from
//! `<root>/proc/1/mountinfo` and `statvfs` goes to `<root>/<mount point>`. Network counters
//! are those of the namespace `/proc/net/dev` shows: the host's only with `hostNetwork`.
//!
//! A file that is missing or malformed makes its collector emit nothing and counts an error
//! with reason `host_<collector>`; the input keeps running. The gather (a few small file
//! reads, plus one per process for `processes`) runs on the blocking pool.
//! `system.n_users` counts the sessions of `<root>/var/run/utmp` (`<root>/run/utmp`); a host
//! without one has no `n_users`, as in Telegraf. `tests/e2e/host.rs` compares a gather with
//! node_exporter's on the same machine.

mod cpu;
mod disk;
mod diskio;
mod gather;
mod kernel;
mod mem;
mod net;
mod processes;
mod root;
mod swap;
mod system;
mod utmp;

#[cfg(test)]
mod tests;

use std::sync::Arc;

use async_trait::async_trait;
use gleaner_api::{
    Batch, BuildContext, ComponentMetrics, ConfigError, Input, InputContext, InputDescriptor,
    Metric, PluginConfig, PluginError,
};
use serde::Deserialize;

use self::gather::Gatherer;
use self::root::HostRoot;

/// Registry entry.
pub const DESCRIPTOR: InputDescriptor = InputDescriptor {
    name: "host",
    summary: "Node metrics from /proc under a configurable root, with Telegraf's names: cpu, \
              mem, swap, disk, diskio, net, system, processes, kernel",
    sample: SAMPLE,
    build,
};

const SAMPLE: &str = r#"[[inputs.host]]
## Where the host's / is mounted (in a container: e.g. "/hostfs"). Default: env HOST_ROOT, else "/".
# host_root = "/"
## Collectors to run.
# collect = ["cpu", "mem", "swap", "disk", "diskio", "net", "system", "processes", "kernel"]
## cpu: one metric per CPU (cpu0, cpu1, ...) and one for all (cpu-total).
# percpu = true
# totalcpu = true
## disk: filesystem types to skip, and mount point globs to keep (empty: all).
# ignore_fs = ["tmpfs", "devtmpfs", "overlay", "proc", "sysfs", "squashfs", "cgroup", "cgroup2", "nsfs", "tracefs", "debugfs", "securityfs", "pstore", "bpf", "autofs", "mqueue", "hugetlbfs", "configfs", "fusectl", "binfmt_misc", "devpts", "rpc_pipefs", "ramfs"]
# mount_points = []
## diskio: device name globs to keep (empty: all) and to skip.
# devices = []
# exclude_devices = ["loop*", "ram*"]
## net: interface name globs to keep (empty: all) and to skip. Host counters need hostNetwork.
# interfaces = []
# exclude_interfaces = ["lo"]
"#;

/// Every collector, in gather order.
const COLLECTORS: [&str; 9] = [
    "cpu",
    "mem",
    "swap",
    "disk",
    "diskio",
    "net",
    "system",
    "processes",
    "kernel",
];

fn strings(list: &[&str]) -> Vec<String> {
    list.iter().map(|s| (*s).to_owned()).collect()
}

/// The `[[inputs.host]]` table.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, default)]
struct HostConfig {
    /// Where the host's `/` is; default env `HOST_ROOT`, else `/`.
    host_root: Option<String>,
    /// Collectors to run.
    collect: Vec<String>,
    /// Per-CPU metrics.
    percpu: bool,
    /// The `cpu-total` metric.
    totalcpu: bool,
    /// Filesystem types `disk` skips.
    ignore_fs: Vec<String>,
    /// Mount point globs `disk` keeps (empty: all).
    mount_points: Vec<String>,
    /// Device globs `diskio` keeps (empty: all).
    devices: Vec<String>,
    /// Device globs `diskio` skips.
    exclude_devices: Vec<String>,
    /// Interface globs `net` keeps (empty: all).
    interfaces: Vec<String>,
    /// Interface globs `net` skips.
    exclude_interfaces: Vec<String>,
}

impl Default for HostConfig {
    fn default() -> Self {
        HostConfig {
            host_root: None,
            collect: strings(&COLLECTORS),
            percpu: true,
            totalcpu: true,
            ignore_fs: strings(&[
                "tmpfs",
                "devtmpfs",
                "overlay",
                "proc",
                "sysfs",
                "squashfs",
                "cgroup",
                "cgroup2",
                "nsfs",
                "tracefs",
                "debugfs",
                "securityfs",
                "pstore",
                "bpf",
                "autofs",
                "mqueue",
                "hugetlbfs",
                "configfs",
                "fusectl",
                "binfmt_misc",
                "devpts",
                "rpc_pipefs",
                "ramfs",
            ]),
            mount_points: Vec::new(),
            devices: Vec::new(),
            exclude_devices: strings(&["loop*", "ram*"]),
            interfaces: Vec::new(),
            exclude_interfaces: strings(&["lo"]),
        }
    }
}

fn build(cfg: &PluginConfig, _cx: &BuildContext) -> Result<Box<dyn Input>, ConfigError> {
    Ok(Box::new(Host {
        gatherer: gatherer(cfg)?,
    }))
}

/// One host gather outside the pipeline, on the calling thread: for the bench
/// (`benches/host_gather.rs`) and comparisons. Not part of the plugin API.
#[doc(hidden)]
pub struct HostGather {
    gatherer: Gatherer,
    errors: Arc<ComponentMetrics>,
}

impl HostGather {
    /// A gatherer for the body of an `[[inputs.host]]` table.
    pub fn from_toml(toml: &str) -> Result<Self, ConfigError> {
        let cfg = PluginConfig::from_toml_str("inputs.host.0", toml)?;
        Ok(HostGather {
            gatherer: gatherer(&cfg)?,
            errors: ComponentMetrics::detached("host"),
        })
    }

    /// One gather of every enabled collector.
    pub fn gather(&mut self) -> Vec<Metric> {
        self.gatherer.gather(&self.errors)
    }

    /// Errors counted so far, by reason.
    pub fn errors(&self) -> Vec<(&'static str, u64)> {
        self.errors.snapshot().errors
    }
}

fn gatherer(cfg: &PluginConfig) -> Result<Gatherer, ConfigError> {
    let config: HostConfig = cfg.parse()?;
    for c in &config.collect {
        if !COLLECTORS.contains(&c.as_str()) {
            return Err(cfg.error_at(
                "collect",
                format!("unknown collector {c:?}; known: {}", COLLECTORS.join(", ")),
            ));
        }
    }
    let root = match config.host_root.clone() {
        Some(r) => r,
        None => std::env::var("HOST_ROOT")
            .ok()
            .filter(|r| !r.is_empty())
            .unwrap_or_else(|| "/".to_owned()),
    };
    if root.is_empty() {
        return Err(cfg.error_at("host_root", "host_root must not be empty"));
    }
    Ok(Gatherer::new(HostRoot::new(root), &config))
}

/// The input.
struct Host {
    gatherer: Gatherer,
}

#[async_trait]
impl Input for Host {
    async fn run(self: Box<Self>, mut cx: InputContext) -> Result<(), PluginError> {
        let mut gatherer = self.gatherer;
        while cx.ticker.tick().await {
            let errors: Arc<ComponentMetrics> = Arc::clone(&cx.metrics);
            let (back, metrics) = tokio::task::spawn_blocking(move || {
                let metrics = gatherer.gather(&errors);
                (gatherer, metrics)
            })
            .await
            .map_err(|e| PluginError::new(format!("host gather panicked: {e}")))?;
            gatherer = back;
            if cx.out.send(Batch::Metrics(metrics)).await.is_err() {
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
    gleaner_api::test_util::sample::assert_sample_debug::<HostConfig>(
        "inputs.host.0",
        SAMPLE,
        // Unset: env HOST_ROOT, else "/".
        &["host_root"],
        &[],
    );
}
