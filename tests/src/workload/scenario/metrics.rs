//! The metric workloads: `scrape-rw` (a page of 10,000 series whose values change at every
//! scrape, scraped every second by `inputs.prometheus` and shipped by `remote_write` to the
//! counting receiver, which checks every series of every scrape arrived) and `idle`
//! (`inputs.host` every 10 s into `outputs.file`: what the agent costs doing almost nothing).

use std::time::{Instant, SystemTime, UNIX_EPOCH};

use super::{Opts, RunResult, STALL, stop_agent, wait_delivered};
use crate::Agent;
use crate::workload::expo::{ChangingPage, page};
use crate::workload::proc_stats;
use crate::workload::receiver::{Protocol, Receiver};

/// Series on the `scrape-rw` page.
pub const SERIES: usize = 10_000;

/// `scrape-rw`.
///
/// # Panics
/// When the workload or the agent cannot be set up.
pub fn scrape_rw(opts: &Opts) -> RunResult {
    let now_ms = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as i64);
    let base_ms = now_ms - now_ms % 1000;
    let mut expo = ChangingPage::start(SERIES, base_ms);
    let rx = Receiver::start(Protocol::RemoteWrite {
        series: SERIES,
        base_ms,
    });
    let config = format!(
        r#"[agent]
http_listen = "{{telemetry}}"
data_dir = "{{dir}}"
hostname = "bench-node"

[[inputs.prometheus]]
urls = ["{}"]
interval = "1s"

[[outputs.remote_write]]
url = "{}/api/v1/write"
"#,
        expo.server.url,
        rx.url()
    );
    let t0 = Instant::now();
    let mut agent = Agent::start(&config);
    std::thread::sleep(opts.duration);
    let served = expo.finish();
    let expected = served * SERIES as u64;
    let done = wait_delivered(&rx.tally, expected, STALL);
    let secs = t0.elapsed().as_secs_f64();
    let st = proc_stats::read(agent.child.id()).unwrap_or_default();
    stop_agent(&mut agent);
    let v = rx.tally.verdict(expected);
    let page_bytes = page(SERIES, 1, base_ms).len() as u64;
    RunResult {
        workload: "scrape-rw".into(),
        events: expected,
        secs,
        input_bytes: page_bytes * served,
        cpu_s: st.cpu_s,
        peak_rss_kib: st.hwm_kib,
        lost: Some(v.lost),
        duplicated: Some(v.duplicated),
        figure: Some((
            st.cpu_s * 1e6 / expected.max(1) as f64,
            "CPU-s per million samples",
        )),
        note: format!(
            "{served} scrapes of {SERIES} series{}",
            if done { "" } else { ", stalled" }
        ),
    }
}

/// `idle`.
///
/// # Panics
/// When the agent cannot be set up.
pub fn idle(opts: &Opts) -> RunResult {
    let config = r#"[agent]
http_listen = "{telemetry}"
data_dir = "{dir}"
hostname = "bench-node"

[[inputs.host]]
interval = "10s"

[[outputs.file]]
path = "{dir}/metrics.lp"
"#;
    let mut agent = Agent::start(config);
    let st0 = proc_stats::read(agent.child.id()).unwrap_or_default();
    let t0 = Instant::now();
    std::thread::sleep(opts.duration);
    let secs = t0.elapsed().as_secs_f64();
    let st = proc_stats::read(agent.child.id()).unwrap_or_default();
    stop_agent(&mut agent);
    let out = std::fs::read_to_string(agent.path("metrics.lp")).unwrap_or_default();
    let cpu = st.cpu_s - st0.cpu_s;
    RunResult {
        workload: "idle".into(),
        events: out.lines().count() as u64,
        secs,
        input_bytes: 0,
        cpu_s: cpu,
        peak_rss_kib: st.hwm_kib,
        lost: None,
        duplicated: None,
        figure: Some((cpu * 60.0 / secs.max(f64::EPSILON), "CPU-s per minute")),
        note: format!(
            "inputs.host every 10s; start-up ({:.2} CPU-s) not counted",
            st0.cpu_s
        ),
    }
}
