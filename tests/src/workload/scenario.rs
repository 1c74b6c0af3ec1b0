//! Running the agent on one workload and measuring it: wall time until the receiver holds
//! every sequence id, the agent's CPU seconds and peak RSS from `/proc`, and the verdict
//! (lost, duplicated). The agent is the built binary (`gleaner_bin()`: `$GLEANER_BIN`; the
//! `bench` binary points it at the release build), started through the e2e `Agent` helper
//! in a temp dir that holds its config, `data_dir` and logs.
//!
//! Workloads (`WORKLOADS`): `logs-hec`, `logs-parse`, `logs-rotate` and `files-2k` in
//! `scenario/logs.rs`, `scrape-rw` and `idle` in `scenario/metrics.rs`, `syslog` in
//! `scenario/syslog.rs`, `journald` in `scenario/journald.rs`, `otlp-logs` in `scenario/otlp.rs`,
//! `slow-receiver`, `latency` and `logs-k8s` in `scenario/delivery.rs`.

pub mod delivery;
pub mod journald;
pub mod logs;
pub mod metrics;
pub mod otlp;
pub mod syslog;

use std::time::{Duration, Instant};

use super::rotate::Rotation;
use super::tally::Tally;
use crate::Agent;

/// The workload names `run` knows.
pub const WORKLOADS: &[&str] = &[
    "logs-hec",
    "logs-parse",
    "logs-rotate",
    "scrape-rw",
    "idle",
    "files-2k",
    "syslog",
    "journald",
    "otlp-logs",
    "slow-receiver",
    "latency",
    "logs-k8s",
];

/// The HEC token the configs use (the counting receiver checks none).
pub const TOKEN: &str = "00000000-0000-0000-0000-000000000000";

/// How long a receiver may see no new id before a run gives up waiting.
pub const STALL: Duration = Duration::from_secs(60);

/// Options of a run.
#[derive(Debug, Clone)]
pub struct Opts {
    /// Length of the timed workloads (`logs-rotate`, `scrape-rw`, `idle`, `latency`); default
    /// 60 s.
    pub duration: Duration,
    /// Seed of every generator.
    pub seed: u64,
    /// `logs-hec` (and `slow-receiver`, `logs-k8s`): CRI lines; `journald`: journal entries
    /// (default 1,000,000).
    pub lines: u64,
    /// `logs-rotate`: how files rotate.
    pub rotation: Rotation,
    /// `latency`: `agent.flush_interval` (unset: the default).
    pub flush_interval: Option<String>,
    /// `syslog`: messages sent (unset: 200,000).
    pub messages: Option<u64>,
}

impl Default for Opts {
    fn default() -> Self {
        Opts {
            duration: Duration::from_secs(60),
            seed: 9,
            lines: 1_000_000,
            rotation: Rotation::Rename,
            flush_interval: None,
            messages: None,
        }
    }
}

/// One run's figures.
#[derive(Debug, Clone, Default)]
pub struct RunResult {
    /// Workload name.
    pub workload: String,
    /// Events (log records or samples) generated, or received for `idle`.
    pub events: u64,
    /// Wall seconds from the agent's start (or the writer's) until everything arrived.
    pub secs: f64,
    /// Input bytes (log bytes written, or page bytes served).
    pub input_bytes: u64,
    /// Agent CPU seconds (user + system) over the run.
    pub cpu_s: f64,
    /// Agent peak RSS (VmHWM), KiB.
    pub peak_rss_kib: u64,
    /// Ids never received (`None`: not checked).
    pub lost: Option<u64>,
    /// Ids received more than once.
    pub duplicated: Option<u64>,
    /// The workload's own figure against its goal (KiB per watched file, CPU-s per minute,
    /// CPU-s per million samples), with its unit.
    pub figure: Option<(f64, &'static str)>,
    /// Anything else worth a word (rotations, a stalled run).
    pub note: String,
}

/// Runs `workload` once.
///
/// # Errors
/// An unknown workload name.
///
/// # Panics
/// When the agent or a workload tool cannot be set up.
pub fn run(workload: &str, opts: &Opts) -> Result<RunResult, String> {
    match workload {
        "logs-hec" => Ok(logs::logs_hec(opts)),
        "logs-parse" => Ok(logs::logs_parse(opts)),
        "logs-rotate" => Ok(logs::logs_rotate(opts)),
        "files-2k" => Ok(logs::files_2k(opts)),
        "scrape-rw" => Ok(metrics::scrape_rw(opts)),
        "idle" => Ok(metrics::idle(opts)),
        "syslog" => Ok(syslog::syslog_tcp(opts)),
        "journald" => Ok(journald::journald_hec(opts)),
        "otlp-logs" => Ok(otlp::otlp_logs(opts)),
        "slow-receiver" => Ok(delivery::slow_receiver(opts)),
        "latency" => Ok(delivery::latency(opts)),
        "logs-k8s" => Ok(delivery::logs_k8s(opts)),
        other => Err(format!(
            "unknown workload `{other}`; known: {}",
            WORKLOADS.join(", ")
        )),
    }
}

/// Waits until `tally` holds `expected` distinct ids; false when no new id came for `stall`.
pub fn wait_delivered(tally: &Tally, expected: u64, stall: Duration) -> bool {
    let mut last = (tally.distinct(), Instant::now());
    loop {
        let n = tally.distinct();
        if n >= expected {
            return true;
        }
        if n != last.0 {
            last = (n, Instant::now());
        } else if last.1.elapsed() > stall {
            return false;
        }
        std::thread::sleep(Duration::from_millis(10));
    }
}

/// SIGTERM, then waits (90 s at most) for a clean exit.
///
/// # Panics
/// When the agent does not stop in time.
pub fn stop_agent(agent: &mut Agent) {
    if let Ok(None) = agent.child.try_wait() {
        agent.signal("TERM");
        let _status = agent.wait_exit(Duration::from_secs(90));
    }
}

/// The value of the first sample of `name` (exact name, any labels) on a `/metrics` page,
/// summed over its label sets.
pub fn metric_sum(page: &str, name: &str) -> Option<f64> {
    let mut sum = None;
    for line in page.lines() {
        let Some(rest) = line.strip_prefix(name) else {
            continue;
        };
        if !(rest.starts_with('{') || rest.starts_with(' ')) {
            continue;
        }
        let v: f64 = rest.rsplit(' ').next()?.parse().ok()?;
        sum = Some(sum.unwrap_or(0.0) + v);
    }
    sum
}

/// A config of `inputs.tail` over the kubelet layout under `root` into `outputs.splunk_hec`
/// at `url` with a disk buffer; `buffer_extra` is appended to the buffer table. `{dir}` and
/// `{telemetry}` are left for `Agent::start`.
pub fn tail_hec_config(root: &std::path::Path, url: &str, buffer_extra: &str) -> String {
    format!(
        r#"[agent]
http_listen = "{{telemetry}}"
data_dir = "{{dir}}"
hostname = "bench-node"
shutdown_timeout = "30s"

[[inputs.tail]]
paths = ["{}/*/*/*.log"]
format = "cri"
read_from_head = true

[[outputs.splunk_hec]]
endpoint = "{url}"
token = "{TOKEN}"
[outputs.splunk_hec.buffer]
type = "disk"
{buffer_extra}
"#,
        root.display()
    )
}
