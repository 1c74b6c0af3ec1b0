//! The `journald` workload: 1,000,000 entries (`--lines`) in journal files made offline by
//! `systemd-journal-remote` before the start (about 300 bytes of export stream each, four
//! units, each `MESSAGE` with a unique `sq=<n>` id), read from the head by `inputs.journald`
//! through `journal_directory` → disk buffer → `splunk_hec` → the counting receiver.
//! Seconds: from the agent's start until every id arrived. CPU: the agent's, and apart from
//! it journalctl's (the child that formats the entries), read before the stop. Own figure:
//! agent CPU-s per million entries (issue 19's goal: at most 3, and < 32 MiB).

use std::time::Instant;

use super::{Opts, RunResult, STALL, TOKEN, stop_agent, wait_delivered};
use crate::Agent;
use crate::workload::journal_gen::{children, make_journal};
use crate::workload::proc_stats;
use crate::workload::receiver::{Protocol, Receiver};

/// A config of `inputs.journald` over `dir` into `outputs.splunk_hec` at `url` with a disk
/// buffer; `buffer_extra` is appended to the buffer table. `{dir}` and `{telemetry}` are left
/// for `Agent::start`.
pub fn journald_hec_config(dir: &std::path::Path, url: &str, buffer_extra: &str) -> String {
    format!(
        r#"[agent]
http_listen = "{{telemetry}}"
data_dir = "{{dir}}"
hostname = "bench-node"
shutdown_timeout = "30s"

[[inputs.journald]]
journal_directory = "{}"

[[outputs.splunk_hec]]
endpoint = "{url}"
token = "{TOKEN}"
[outputs.splunk_hec.buffer]
type = "disk"
{buffer_extra}
"#,
        dir.display()
    )
}

/// `journald`.
///
/// # Panics
/// When the journal or the agent cannot be set up.
pub fn journald_hec(opts: &Opts) -> RunResult {
    let root = tempfile::tempdir().expect("tempdir for the journal");
    let j = make_journal(root.path(), "bench", 0, opts.lines, opts.seed);
    let rx = Receiver::start(Protocol::Hec);
    let config = journald_hec_config(root.path(), &rx.url(), "");
    let t0 = Instant::now();
    let mut agent = Agent::start(&config);
    let done = wait_delivered(&rx.tally, j.entries, STALL);
    let secs = t0.elapsed().as_secs_f64();
    let st = proc_stats::read(agent.child.id()).unwrap_or_default();
    let child = children(agent.child.id())
        .into_iter()
        .filter_map(proc_stats::read)
        .fold((0.0, 0u64), |(c, m), s| (c + s.cpu_s, m.max(s.hwm_kib)));
    stop_agent(&mut agent);
    let v = rx.tally.verdict(j.entries);
    RunResult {
        workload: "journald".into(),
        events: j.entries,
        secs,
        input_bytes: j.export_bytes,
        cpu_s: st.cpu_s,
        peak_rss_kib: st.hwm_kib,
        lost: Some(v.lost),
        duplicated: Some(v.duplicated),
        figure: Some((
            st.cpu_s * 1e6 / j.entries as f64,
            "agent CPU-s per million entries",
        )),
        note: format!(
            "journalctl apart: {:.2} CPU-s, {:.1} MiB peak{}",
            child.0,
            child.1 as f64 / 1024.0,
            if done { "" } else { ", stalled" }
        ),
    }
}
