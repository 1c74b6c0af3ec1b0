//! `inputs.procstat` (Telegraf's procstat): the processes chosen by `exe` (a regex on the
//! process name, as `pgrep`), `pattern` (a regex on the command line, as `pgrep -f`), `user`,
//! `pid_file`, `cgroup` or `systemd_unit` (the unit's cgroup), read from `/proc`:
//! - `procstat` per process: `cpu_usage` (percent of one core since the previous gather; 0 on
//!   the first), `memory_rss`, `memory_vms`, `num_threads`, `num_fds` (Linux), `read_bytes`,
//!   `write_bytes` (totals; left out when `/proc/<pid>/io` is not ours to read, as Telegraf
//!   does), `created_at` (ns, to the clock tick), and `pid` (a field, or a tag with
//!   `pid_tag = true`); tags `process_name`, `user` and the selector (`exe = "kubelet"`, ...);
//! - `procstat_lookup` per gather: `pid_count`, `running`, `result_code` (0 found or none to
//!   find, 1 the lookup failed: an unreadable pid file or cgroup), with the selector tag and
//!   `pid_finder = "native"`.
//!
//! Processes are read from `/proc` by `table.rs`, not through `sysinfo`'s process table
//! (see there and docs/decisions.md): each gather lists `/proc` and reads each process's
//! name, then `stat`, `statm` and `io` of the chosen ones and the size of their `fd` directory, all
//! from descriptors kept open between gathers (`count.rs` counts descriptors on kernels
//! before 6.2). User names come from `sysinfo`'s `Users` (`users.rs`). CPU per gather
//! (user+sys of the gathering thread, `procstat_gather` bench, ~505 processes, 2-core VM at
//! load 8-9, medians of 3 interleaved runs): every process chosen 20.5 -> 8.5 ms, three
//! chosen by exe 7.0 -> 0.82 ms; what is left of the first is mostly the kernel formatting
//! `stat`, `statm` and `io` (three quarters of its profile). A gather runs on a blocking
//! thread. In the DaemonSet the node's processes are visible through `hostPID: true`.

mod count;
pub(crate) mod kept;
mod parse;
mod select;
mod table;
#[cfg(test)]
mod tests;
mod users;

use std::sync::Arc;

use async_trait::async_trait;
use gleaner_api::{
    Batch, BuildContext, ComponentMetrics, ConfigError, FieldValue, Input, InputContext,
    InputDescriptor, Metric, PluginConfig, PluginError, now_ns,
};
use serde::Deserialize;

pub use select::Selector;

/// Registry entry.
pub const DESCRIPTOR: InputDescriptor = InputDescriptor {
    name: "procstat",
    summary: "Per-process CPU, memory, threads, descriptors and I/O of the processes chosen by \
              exe, command-line pattern, user, pid file, cgroup or systemd unit (Telegraf's procstat)",
    sample: SAMPLE,
    build,
};

const SAMPLE: &str = r#"[[inputs.procstat]]
## Which processes (one of these; `user` may also narrow another choice):
## exe: a regex on the process name, as `pgrep` (the kubelet, containerd, the agent itself);
## pattern: a regex on the whole command line, as `pgrep -f`; user: the owner's name;
## pid_file: a file holding a pid; cgroup: a cgroup directory (relative to /sys/fs/cgroup);
## systemd_unit: a unit's processes (its cgroup, system.slice/<unit>).
exe = "kubelet"
# pattern = ""
# user = ""
# pid_file = ""
# cgroup = ""
# systemd_unit = ""
## Tag each process's metric with its pid (one series per process instance) instead of
## reporting the pid as a field.
# pid_tag = false
## Value of the `process_name` tag; default: the process's own name.
# process_name = ""
"#;

/// The `[[inputs.procstat]]` table.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ProcstatConfig {
    pub exe: String,
    pub pattern: String,
    pub user: String,
    pub pid_file: String,
    pub cgroup: String,
    pub systemd_unit: String,
    pub pid_tag: bool,
    pub process_name: String,
}

fn build(cfg: &PluginConfig, _cx: &BuildContext) -> Result<Box<dyn Input>, ConfigError> {
    let config: ProcstatConfig = cfg.parse()?;
    let selector = Selector::from_config(&config).map_err(|(key, msg)| cfg.error_at(key, msg))?;
    Ok(Box::new(Procstat {
        gatherer: Gatherer::new(selector, config),
    }))
}

/// What a gather keeps between calls: the process table (for CPU rates and kept
/// descriptors) and the user names.
pub struct Gatherer {
    selector: Selector,
    config: ProcstatConfig,
    table: table::Table,
    users: users::UserNames,
    /// Counts `num_fds`.
    dirs: count::DirCounter,
    /// The chosen pids (reused).
    pids: Vec<u32>,
}

impl Gatherer {
    pub fn new(selector: Selector, config: ProcstatConfig) -> Self {
        Gatherer {
            selector,
            config,
            table: table::Table::new(),
            users: users::UserNames::new(),
            dirs: count::DirCounter::default(),
            pids: Vec::new(),
        }
    }

    /// One gather: the chosen processes' metrics and the lookup metric.
    pub fn gather(&mut self, errors: &ComponentMetrics) -> Vec<Metric> {
        let ts = now_ns();
        self.table.begin();
        let found = self
            .selector
            .pids(&mut self.table, &mut self.users, &mut self.pids);
        let (tag_key, tag_value) = self.selector.tag();
        let mut lookup = Metric::new("procstat_lookup", ts)
            .with_tag("pid_finder", "native")
            .with_tag(tag_key, tag_value.clone());
        if let Err(e) = found {
            self.table.end();
            tracing::warn!(selector = %tag_value, error = %e, "procstat: lookup failed");
            errors.error("lookup");
            lookup = lookup
                .with_field("pid_count", FieldValue::Int(0))
                .with_field("running", FieldValue::Int(0))
                .with_field("result_code", FieldValue::Int(1));
            return vec![lookup];
        }
        let mut out = Vec::with_capacity(self.pids.len() + 1);
        for &pid in &self.pids {
            // Gone since it was chosen.
            let Some(f) = self.table.figures(pid) else {
                continue;
            };
            let name = if self.config.process_name.is_empty() {
                self.table.name(pid).unwrap_or_default().to_owned()
            } else {
                self.config.process_name.clone()
            };
            let mut m = Metric::new("procstat", ts);
            // At most 10 fields: one allocation for them all.
            m.fields.reserve(10);
            m = m
                .with_tag("process_name", name)
                .with_tag(tag_key, tag_value.clone());
            if let Some(user) = self.table.uid(pid).and_then(|u| self.users.name(u)) {
                m = m.with_tag("user", user);
            }
            if self.config.pid_tag {
                m = m.with_tag("pid", pid.to_string());
            }
            m = m
                .with_field("cpu_usage", FieldValue::Float(f.cpu_usage))
                .with_field("memory_rss", FieldValue::UInt(f.rss_bytes))
                .with_field("memory_vms", FieldValue::UInt(f.vms_bytes));
            if let Some((read, written)) = f.io {
                m = m
                    .with_field("read_bytes", FieldValue::UInt(read))
                    .with_field("write_bytes", FieldValue::UInt(written));
            }
            m = m
                .with_field("created_at", FieldValue::Int(f.created_at_ns))
                .with_field(
                    "num_threads",
                    FieldValue::Int(i64::try_from(f.threads.max(1)).unwrap_or(i64::MAX)),
                );
            if let Some(fds) = f.fds.or_else(|| self.dirs.fds(pid)) {
                m = m.with_field("num_fds", FieldValue::Int(fds as i64));
            }
            if !self.config.pid_tag {
                m = m.with_field("pid", FieldValue::Int(i64::from(pid)));
            }
            out.push(m);
        }
        self.table.end();
        let n = out.len() as i64;
        lookup = lookup
            .with_field("pid_count", FieldValue::Int(n))
            .with_field("running", FieldValue::Int(n))
            .with_field("result_code", FieldValue::Int(0));
        out.push(lookup);
        out
    }
}

/// The input.
struct Procstat {
    gatherer: Gatherer,
}

#[async_trait]
impl Input for Procstat {
    async fn run(self: Box<Self>, mut cx: InputContext) -> Result<(), PluginError> {
        let mut gatherer = self.gatherer;
        while cx.ticker.tick().await {
            let errors: Arc<ComponentMetrics> = Arc::clone(&cx.metrics);
            let (back, metrics) = tokio::task::spawn_blocking(move || {
                let metrics = gatherer.gather(&errors);
                (gatherer, metrics)
            })
            .await
            .map_err(|e| PluginError::new(format!("procstat gather panicked: {e}")))?;
            gatherer = back;
            if cx.out.send(Batch::Metrics(metrics)).await.is_err() {
                return Ok(());
            }
        }
        Ok(())
    }
}

#[cfg(test)]
pub(crate) fn check_sample() {
    gleaner_api::test_util::sample::assert_sample::<ProcstatConfig>(
        "inputs.procstat.0",
        SAMPLE,
        &[],
        &[],
    );
}
