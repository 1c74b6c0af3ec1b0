//! `inputs.procstat` (Telegraf's procstat): the processes chosen by `exe` (a regex on the
//! process name, as `pgrep`), `pattern` (a regex on the command line, as `pgrep -f`), `user`,
//! `pid_file`, `cgroup` or `systemd_unit` (the unit's cgroup), read through `sysinfo`:
//! - `procstat` per process: `cpu_usage` (percent of one core since the previous gather; 0 on
//!   the first), `memory_rss`, `memory_vms`, `num_threads`, `num_fds` (Linux), `read_bytes`,
//!   `write_bytes` (totals), `created_at` (ns), and `pid` (a field, or a tag with
//!   `pid_tag = true`); tags `process_name`, `user` and the selector (`exe = "kubelet"`, ...);
//! - `procstat_lookup` per gather: `pid_count`, `running`, `result_code` (0 found or none to
//!   find, 1 the lookup failed: an unreadable pid file or cgroup), with the selector tag and
//!   `pid_finder = "native"`.
//!
//! Only the process figures a gather needs are refreshed (cpu, memory, disk usage, and the
//! command line, exe and user once per process; no thread lists: `num_threads` and `num_fds`
//! are directory counts of `count.rs`); one `System` is kept between gathers so that CPU
//! usage is a rate. A gather runs on a blocking thread. In the DaemonSet the node's
//! processes are visible through `hostPID: true`.

mod count;
mod select;
#[cfg(test)]
mod tests;

use std::sync::Arc;

use async_trait::async_trait;
use gleaner_api::{
    Batch, BuildContext, ComponentMetrics, ConfigError, FieldValue, Input, InputContext,
    InputDescriptor, Metric, PluginConfig, PluginError, now_ns,
};
use serde::Deserialize;
use sysinfo::{Pid, ProcessRefreshKind, System, UpdateKind, Users};

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

/// What a gather keeps between calls: the process table (for CPU rates) and the user names.
pub struct Gatherer {
    selector: Selector,
    config: ProcstatConfig,
    system: System,
    users: Users,
    /// Counts `num_fds` and `num_threads`.
    dirs: count::DirCounter,
    /// The last gather chose more than half of the processes: refresh them all in one pass.
    most: bool,
}

impl Gatherer {
    pub fn new(selector: Selector, config: ProcstatConfig) -> Self {
        Gatherer {
            selector,
            config,
            system: System::new(),
            users: Users::new_with_refreshed_list(),
            dirs: count::DirCounter::default(),
            most: false,
        }
    }

    /// One gather: the chosen processes' metrics and the lookup metric.
    pub fn gather(&mut self, errors: &ComponentMetrics) -> Vec<Metric> {
        let ts = now_ns();
        // No thread lists (`without_tasks`): `num_threads` and `num_fds` are counted below.
        let refresh = ProcessRefreshKind::nothing()
            .without_tasks()
            .with_cpu()
            .with_memory()
            .with_disk_usage()
            .with_exe(UpdateKind::OnlyIfNotSet)
            .with_cmd(UpdateKind::OnlyIfNotSet)
            .with_user(UpdateKind::OnlyIfNotSet);
        let found = self
            .selector
            .pids(&mut self.system, &self.users, refresh, self.most);
        let (tag_key, tag_value) = self.selector.tag();
        let mut lookup = Metric::new("procstat_lookup", ts)
            .with_tag("pid_finder", "native")
            .with_tag(tag_key, tag_value.clone());
        let pids = match found {
            Ok(pids) => pids,
            Err(e) => {
                tracing::warn!(selector = %tag_value, error = %e, "procstat: lookup failed");
                errors.error("lookup");
                lookup = lookup
                    .with_field("pid_count", FieldValue::Int(0))
                    .with_field("running", FieldValue::Int(0))
                    .with_field("result_code", FieldValue::Int(1));
                return vec![lookup];
            }
        };
        // Kernel threads and userland threads are never chosen: compare with processes.
        let processes = self
            .system
            .processes()
            .values()
            .filter(|p| p.thread_kind().is_none())
            .count();
        self.most = pids.len() * 2 > processes;
        let mut out = Vec::with_capacity(pids.len() + 1);
        for pid in &pids {
            let Some(p) = self.system.process(*pid) else {
                continue;
            };
            let name = if self.config.process_name.is_empty() {
                p.name().to_string_lossy().into_owned()
            } else {
                self.config.process_name.clone()
            };
            let mut m = Metric::new("procstat", ts)
                .with_tag("process_name", name)
                .with_tag(tag_key, tag_value.clone());
            if let Some(user) = p.user_id().and_then(|u| self.users.get_user_by_id(u)) {
                m = m.with_tag("user", user.name());
            }
            if self.config.pid_tag {
                m = m.with_tag("pid", pid.as_u32().to_string());
            }
            let disk = p.disk_usage();
            m = m
                .with_field("cpu_usage", FieldValue::Float(f64::from(p.cpu_usage())))
                .with_field("memory_rss", FieldValue::UInt(p.memory()))
                .with_field("memory_vms", FieldValue::UInt(p.virtual_memory()))
                .with_field("read_bytes", FieldValue::UInt(disk.total_read_bytes))
                .with_field("write_bytes", FieldValue::UInt(disk.total_written_bytes))
                .with_field(
                    "created_at",
                    FieldValue::Int(
                        i64::try_from(p.start_time())
                            .unwrap_or(0)
                            .saturating_mul(1_000_000_000),
                    ),
                );
            if let Some(t) = self.dirs.threads(pid.as_u32()) {
                m = m.with_field("num_threads", FieldValue::Int(t.max(1) as i64));
            }
            if let Some(fds) = self.dirs.fds(pid.as_u32()) {
                m = m.with_field("num_fds", FieldValue::Int(fds as i64));
            }
            if !self.config.pid_tag {
                m = m.with_field("pid", FieldValue::Int(i64::from(pid.as_u32())));
            }
            out.push(m);
        }
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

/// A pid as sysinfo names it.
fn pid(n: u32) -> Pid {
    Pid::from_u32(n)
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
