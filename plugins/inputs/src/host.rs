//! `inputs.host`: the node's CPU, memory, swap, disks, disk I/O, network, load, processes
//! and kernel counters, read straight from `/proc` (and `statvfs` for disk space) under a
//! configurable root, with Telegraf's measurement, tag and field names (one collector per
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
//! Not yet: `system.n_users` (utmp), `kubelet`, comparison with node_exporter.

mod cpu;
mod disk;
mod diskio;
mod kernel;
mod mem;
mod net;
mod processes;
mod root;
mod swap;
mod system;

#[cfg(test)]
mod tests;

use std::path::Path;
use std::sync::Arc;

use async_trait::async_trait;
use gleaner_api::{
    Batch, BuildContext, ComponentMetrics, ConfigError, Input, InputContext, InputDescriptor,
    Metric, PluginConfig, PluginError, now_ns,
};
use serde::Deserialize;

use self::root::{HostRoot, NameFilter};

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
    Ok(Box::new(Host {
        gatherer: Gatherer::new(HostRoot::new(root), &config),
    }))
}

/// The input.
struct Host {
    gatherer: Gatherer,
}

/// The collectors' settings and state, moved to the blocking pool for each gather.
struct Gatherer {
    root: HostRoot,
    enabled: [bool; 9],
    percpu: bool,
    totalcpu: bool,
    ignore_fs: Vec<String>,
    mount_points: Vec<String>,
    devices: NameFilter,
    interfaces: NameFilter,
    cpu: cpu::CpuState,
    /// `statvfs`, replaceable in tests.
    statfs: fn(&Path) -> Option<disk::Space>,
    /// Reused read buffers.
    stat: String,
    buf: String,
}

impl Gatherer {
    fn new(root: HostRoot, c: &HostConfig) -> Self {
        let mut enabled = [false; 9];
        for (i, name) in COLLECTORS.iter().enumerate() {
            enabled[i] = c.collect.iter().any(|x| x == name);
        }
        Gatherer {
            root,
            enabled,
            percpu: c.percpu,
            totalcpu: c.totalcpu,
            ignore_fs: c.ignore_fs.clone(),
            mount_points: c.mount_points.clone(),
            devices: NameFilter {
                include: c.devices.clone(),
                exclude: c.exclude_devices.clone(),
            },
            interfaces: NameFilter {
                include: c.interfaces.clone(),
                exclude: c.exclude_interfaces.clone(),
            },
            cpu: cpu::CpuState::default(),
            statfs: disk::statvfs,
            stat: String::new(),
            buf: String::new(),
        }
    }

    fn on(&self, name: &str) -> bool {
        COLLECTORS
            .iter()
            .position(|c| *c == name)
            .is_some_and(|i| self.enabled[i])
    }

    /// One gather: every enabled collector, one timestamp.
    fn gather(&mut self, errors: &ComponentMetrics) -> Vec<Metric> {
        let ts = now_ns();
        let mut out = Vec::with_capacity(64);
        let root = self.root.clone();
        let stat_ok = (self.on("cpu") || self.on("system") || self.on("kernel"))
            && root.read_into("/proc/stat", &mut self.stat).is_some();
        let stat = if stat_ok { self.stat.as_str() } else { "" };
        let fail = |ok: bool, reason: &'static str| {
            if !ok {
                errors.error(reason);
            }
        };

        if self.on("cpu") {
            fail(stat_ok, "host_cpu");
            if stat_ok {
                let now = cpu::parse_stat(stat);
                self.cpu
                    .collect(now, self.percpu, self.totalcpu, ts, &mut out);
            }
        }
        if self.on("mem") || self.on("swap") {
            let ok = root.read_into("/proc/meminfo", &mut self.buf).is_some();
            let info = mem::parse_meminfo(if ok { &self.buf } else { "" });
            if self.on("mem") {
                let m = mem::collect(&info, ts);
                fail(m.is_some(), "host_mem");
                out.extend(m);
            }
            if self.on("swap") {
                let m = swap::collect_space(&info, ts);
                fail(m.is_some(), "host_swap");
                out.extend(m);
            }
        }
        if self.on("swap") && root.read_into("/proc/vmstat", &mut self.buf).is_some() {
            out.extend(swap::collect_io(&self.buf, ts));
        }
        if self.on("disk") {
            let ok = disk::read_mounts(&root, &mut self.buf);
            fail(ok, "host_disk");
            if ok {
                let mounts = disk::parse_mountinfo(&self.buf);
                let statfs = self.statfs;
                disk::collect(
                    &root,
                    &mounts,
                    &self.ignore_fs,
                    &self.mount_points,
                    &statfs,
                    ts,
                    &mut out,
                );
            }
        }
        if self.on("diskio") {
            let ok = root.read_into("/proc/diskstats", &mut self.buf).is_some();
            fail(ok, "host_diskio");
            if ok {
                diskio::collect(&self.buf, &self.devices, ts, &mut out);
            }
        }
        if self.on("net") {
            let ok = root.read_into("/proc/net/dev", &mut self.buf).is_some();
            fail(ok, "host_net");
            if ok {
                net::collect(&self.buf, &self.interfaces, ts, &mut out);
            }
        }
        if self.on("system") {
            let mut uptime = String::new();
            let up = root
                .read_into("/proc/uptime", &mut uptime)
                .map(|()| uptime.as_str());
            let m = root
                .read_into("/proc/loadavg", &mut self.buf)
                .and_then(|()| system::collect(&self.buf, up, stat, ts));
            fail(m.is_some(), "host_system");
            out.extend(m);
        }
        if self.on("processes") {
            let m = processes::collect(&root, &mut self.buf, ts);
            fail(m.is_some(), "host_processes");
            out.extend(m);
        }
        if self.on("kernel") {
            let mut vm = String::new();
            let vm_ok = root.read_into("/proc/vmstat", &mut vm).is_some();
            let mut ent = String::new();
            let ent_ok = root
                .read_into("/proc/sys/kernel/random/entropy_avail", &mut ent)
                .is_some();
            let m = kernel::collect(
                stat,
                vm_ok.then_some(vm.as_str()),
                ent_ok.then_some(ent.as_str()),
                ts,
            );
            fail(m.is_some(), "host_kernel");
            out.extend(m);
        }
        out
    }
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
