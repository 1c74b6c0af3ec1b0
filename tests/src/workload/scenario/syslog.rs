//! The `syslog` workload: 200,000 RFC 5424 messages (`--messages N` for another count) (about 190 bytes each, structured data
//! included, each with a unique `sq=<n>` id), octet-counted and written as fast as one TCP
//! connection takes them into `inputs.syslog` → disk buffer → `outputs.file` (JSON lines),
//! which a follower thread reads as it grows and tallies (never rotated: the follower reads
//! one file). Seconds: from the first byte sent
//! until every id is in the file. CPU: the agent's, after its start-up. Own figure: agent
//! CPU-s per million messages (issue 19's goal: at most 1.5).

use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use super::{Opts, RunResult, STALL, stop_agent, wait_delivered};
use crate::workload::proc_stats;
use crate::workload::protocols::scan_seq_ids;
use crate::workload::rng::Rng;
use crate::workload::tally::Tally;
use crate::{Agent, free_port};

/// Messages sent.
pub const MESSAGES: u64 = 200_000;

/// The octet-counted stream of `n` messages.
pub fn stream(n: u64, seed: u64) -> Vec<u8> {
    const APPS: [&str; 4] = ["api", "worker", "nginx", "auth"];
    const PATHS: [&str; 4] = ["/api/v1/items", "/healthz", "/api/v1/users/42", "/login"];
    let mut rng = Rng::new(seed);
    let mut out = Vec::with_capacity(n as usize * 200);
    for i in 0..n {
        let app = rng.pick(&APPS);
        let msg = format!(
            "<{pri}>1 2026-12-06T13:20:{s:02}.{us:06}Z node-{node} {app} {pid} ACCESS \
             [req@32473 method=\"GET\" status=\"{status}\"] GET {path} sq={i} bytes={bytes} \
             duration_ms={ms} user_agent=\"curl/8.5.0\"",
            pri = 128 + 6 + 8 * rng.below(4),
            s = i % 60,
            us = rng.below(1_000_000),
            node = rng.below(8),
            pid = 1000 + rng.below(50),
            status = rng.pick(&[200, 200, 200, 404, 500]),
            path = rng.pick(&PATHS),
            bytes = rng.below(100_000),
            ms = rng.below(2000),
        );
        out.extend_from_slice(format!("{} ", msg.len()).as_bytes());
        out.extend_from_slice(msg.as_bytes());
    }
    out
}

/// Reads `path` as it grows and records the ids of its complete lines.
fn follow(path: PathBuf, tally: Arc<Tally>, stop: Arc<AtomicBool>) -> std::thread::JoinHandle<()> {
    std::thread::spawn(move || {
        let mut file = None;
        let mut pending: Vec<u8> = Vec::new();
        let mut buf = vec![0u8; 1 << 20];
        let mut ids = Vec::new();
        while !stop.load(Ordering::Relaxed) {
            if file.is_none() {
                file = std::fs::File::open(&path).ok();
            }
            let n = file.as_mut().map_or(0, |f| f.read(&mut buf).unwrap_or(0));
            if n == 0 {
                std::thread::sleep(Duration::from_millis(10));
                continue;
            }
            pending.extend_from_slice(&buf[..n]);
            if let Some(end) = memchr::memrchr(b'\n', &pending) {
                ids.clear();
                scan_seq_ids(&pending[..=end], &mut ids);
                tally.record(&ids);
                pending.drain(..=end);
            }
        }
    })
}

/// `syslog`.
///
/// # Panics
/// When the agent or the connection cannot be set up.
pub fn syslog_tcp(opts: &Opts) -> RunResult {
    let port = free_port();
    let messages = opts.messages.unwrap_or(MESSAGES);
    let data = stream(messages, opts.seed);
    let config = format!(
        r#"[agent]
http_listen = "{{telemetry}}"
data_dir = "{{dir}}"
hostname = "bench-node"
shutdown_timeout = "30s"

[[inputs.syslog]]
listen = "tcp://127.0.0.1:{port}"

[[outputs.file]]
path = "{{dir}}/out.json"
rotate_max_bytes = "4GiB"
"#
    );
    let mut agent = Agent::start(&config);
    let deadline = Instant::now() + Duration::from_secs(30);
    while !agent.stderr().contains("syslog listening") {
        assert!(Instant::now() < deadline, "syslog not listening");
        std::thread::sleep(Duration::from_millis(10));
    }
    let tally = Arc::new(Tally::new());
    let stop = Arc::new(AtomicBool::new(false));
    let follower = follow(
        agent.path("out.json"),
        Arc::clone(&tally),
        Arc::clone(&stop),
    );
    let cpu0 = proc_stats::read(agent.child.id()).unwrap_or_default().cpu_s;
    let t0 = Instant::now();
    let mut conn = TcpStream::connect(("127.0.0.1", port)).expect("connect to syslog");
    conn.write_all(&data).expect("send the messages");
    drop(conn);
    let done = wait_delivered(&tally, messages, STALL);
    let secs = t0.elapsed().as_secs_f64();
    let st = proc_stats::read(agent.child.id()).unwrap_or_default();
    stop.store(true, Ordering::Relaxed);
    let _joined = follower.join();
    stop_agent(&mut agent);
    let v = tally.verdict(messages);
    let cpu = st.cpu_s - cpu0;
    RunResult {
        workload: "syslog".into(),
        events: messages,
        secs,
        input_bytes: data.len() as u64,
        cpu_s: cpu,
        peak_rss_kib: st.hwm_kib,
        lost: Some(v.lost),
        duplicated: Some(v.duplicated),
        figure: Some((cpu * 1e6 / messages as f64, "CPU-s per million messages")),
        note: format!(
            "RFC 5424 over one TCP connection, octet-counted{}",
            if done { "" } else { ", stalled" }
        ),
    }
}
