//! The log workloads: `logs-hec` (1,000,000 CRI lines over 10 pods, written before the
//! agent starts, tailed from the head through the disk buffer into `splunk_hec` and the
//! counting receiver; no kubernetes filter), `logs-parse` (the same, through `filters.parse`
//! (json, `time_key`), `filters.select` dropping one pod of ten and `filters.modify` renaming
//! two attributes), `logs-rotate` (the rotating writer at 20 MB/s
//! over 4 pods, each file rotated every 10 MB, for the run's duration) and `files-2k`
//! (2,000 small files; memory per watched file from the RSS difference with a 1-file run).

use std::time::{Duration, Instant};

use super::{Opts, RunResult, STALL, metric_sum, stop_agent, tail_hec_config, wait_delivered};
use crate::Agent;
use crate::workload::cri_gen::write_files;
use crate::workload::proc_stats::{self, ProcStats};
use crate::workload::protocols::scan_seq_ids;
use crate::workload::receiver::{Protocol, Receiver};
use crate::workload::rotate::{RotateConfig, Writer};

/// `logs-hec`.
///
/// # Panics
/// When the workload or the agent cannot be set up.
pub fn logs_hec(opts: &Opts) -> RunResult {
    tail_to_hec(opts, "logs-hec", Receiver::start(Protocol::Hec)).0
}

/// `opts.lines` CRI lines over 10 pods written before the start, tailed from the head through
/// the disk buffer into `splunk_hec` and the receiver `rx` (set up by the caller): the run's
/// result under `workload` (note: the lines, and whether it stalled), and the receiver.
pub(super) fn tail_to_hec(opts: &Opts, workload: &str, rx: Receiver) -> (RunResult, Receiver) {
    let root = tempfile::tempdir().expect("tempdir for logs");
    let w = write_files(root.path(), opts.lines, 10, opts.seed);
    let config = tail_hec_config(root.path(), &rx.url(), "");
    let t0 = Instant::now();
    let mut agent = Agent::start(&config);
    let done = wait_delivered(&rx.tally, w.events, STALL);
    let secs = t0.elapsed().as_secs_f64();
    let st = proc_stats::read(agent.child.id()).unwrap_or_default();
    stop_agent(&mut agent);
    let v = rx.tally.verdict(w.events);
    let result = RunResult {
        workload: workload.into(),
        events: w.events,
        secs,
        input_bytes: w.bytes,
        cpu_s: st.cpu_s,
        peak_rss_kib: st.hwm_kib,
        lost: Some(v.lost),
        duplicated: Some(v.duplicated),
        note: format!("{} lines{}", w.lines, if done { "" } else { ", stalled" }),
        figure: None,
    };
    (result, rx)
}

/// The filters `logs-parse` adds, dropping the pod whose uid is `uid`.
fn parse_filters(uid: &str) -> String {
    format!(
        r#"
[[filters.parse]]
format = "json"
time_key = "ts"
time_format = "rfc3339"

[[filters.select]]
exclude = {{ "k8s.pod_uid" = "{uid}" }}

[[filters.modify]]
rename = {{ "log.msg" = "message", "log.logger" = "logger" }}
"#
    )
}

/// `logs-parse`: `logs-hec` plus parse, select (one pod of ten dropped) and modify. Every id
/// of the other pods must arrive and none of the dropped pod's.
///
/// # Panics
/// When the workload or the agent cannot be set up.
pub fn logs_parse(opts: &Opts) -> RunResult {
    let root = tempfile::tempdir().expect("tempdir for logs");
    let w = write_files(root.path(), opts.lines, 10, opts.seed);
    // <root>/<ns>_<pod>_<uid>/app/0.log: the first pod is the one dropped.
    let pod_dir = w.files[0]
        .parent()
        .and_then(|c| c.parent())
        .and_then(|d| d.file_name())
        .and_then(|n| n.to_str())
        .expect("pod directory name");
    let uid = pod_dir
        .rsplit('_')
        .next()
        .expect("uid in the pod directory");
    let mut dropped = Vec::new();
    scan_seq_ids(
        &std::fs::read(&w.files[0]).expect("read the dropped pod's log"),
        &mut dropped,
    );
    dropped.sort_unstable();
    let expected = w.events - dropped.len() as u64;
    let rx = Receiver::start(Protocol::Hec);
    let config = tail_hec_config(root.path(), &rx.url(), "") + &parse_filters(uid);
    let t0 = Instant::now();
    let mut agent = Agent::start(&config);
    let done = wait_delivered(&rx.tally, expected, STALL);
    let secs = t0.elapsed().as_secs_f64();
    let st = proc_stats::read(agent.child.id()).unwrap_or_default();
    stop_agent(&mut agent);
    let v = rx.tally.verdict(w.events);
    let missing = rx.tally.missing(w.events, usize::MAX);
    let lost = missing
        .iter()
        .filter(|id| dropped.binary_search(id).is_err())
        .count() as u64;
    let leaked = dropped.len() as u64 - (missing.len() as u64 - lost);
    RunResult {
        workload: "logs-parse".into(),
        events: expected,
        secs,
        input_bytes: w.bytes,
        cpu_s: st.cpu_s,
        peak_rss_kib: st.hwm_kib,
        lost: Some(lost),
        duplicated: Some(v.duplicated),
        note: format!(
            "{} lines, {} records of 1 pod in 10 dropped{}{}",
            w.lines,
            dropped.len(),
            if leaked > 0 {
                format!(", {leaked} of them delivered")
            } else {
                String::new()
            },
            if done { "" } else { ", stalled" }
        ),
        figure: None,
    }
}

/// The `logs-rotate` writer settings for a run of `duration`.
pub fn rotate_config(opts: &Opts) -> RotateConfig {
    RotateConfig {
        pods: 4,
        bytes_per_sec: 20_000_000,
        rotate_bytes: 10_000_000,
        rotation: opts.rotation,
        keep: 5,
        duration: opts.duration,
        seed: opts.seed,
    }
}

/// `logs-rotate`.
///
/// # Panics
/// When the workload or the agent cannot be set up.
pub fn logs_rotate(opts: &Opts) -> RunResult {
    let root = tempfile::tempdir().expect("tempdir for logs");
    let rx = Receiver::start(Protocol::Hec);
    let mut agent = Agent::start(&tail_hec_config(root.path(), &rx.url(), ""));
    let cpu0 = proc_stats::read(agent.child.id()).unwrap_or_default().cpu_s;
    let t0 = Instant::now();
    let wrote = Writer::start(root.path(), rotate_config(opts)).join();
    let done = wait_delivered(&rx.tally, wrote.events, STALL);
    let secs = t0.elapsed().as_secs_f64();
    let st = proc_stats::read(agent.child.id()).unwrap_or_default();
    stop_agent(&mut agent);
    let v = rx.tally.verdict(wrote.events);
    RunResult {
        workload: "logs-rotate".into(),
        events: wrote.events,
        secs,
        input_bytes: wrote.bytes,
        cpu_s: st.cpu_s - cpu0,
        peak_rss_kib: st.hwm_kib,
        lost: Some(v.lost),
        duplicated: Some(v.duplicated),
        note: format!(
            "{} rotations ({:?}){}",
            wrote.rotations,
            opts.rotation,
            if done { "" } else { ", stalled" }
        ),
        figure: None,
    }
}

/// `files-2k`.
///
/// # Panics
/// When the workload or the agent cannot be set up.
pub fn files_2k(opts: &Opts) -> RunResult {
    const FILES: usize = 2000;
    let (one, _) = watch_files(1, opts.seed);
    let (many, mut r) = watch_files(FILES, opts.seed);
    let per_file = many.rss_kib.saturating_sub(one.rss_kib) as f64 / (FILES - 1) as f64;
    r.figure = Some((per_file, "KiB per watched file"));
    r.note = format!(
        "RSS {} KiB with 1 file, {} KiB with {FILES}{}",
        one.rss_kib, many.rss_kib, r.note
    );
    r
}

fn watch_files(files: usize, seed: u64) -> (ProcStats, RunResult) {
    let root = tempfile::tempdir().expect("tempdir for logs");
    let w = write_files(root.path(), files as u64 * 20, files, seed);
    let rx = Receiver::start(Protocol::Hec);
    let t0 = Instant::now();
    let mut agent = Agent::start(&tail_hec_config(root.path(), &rx.url(), ""));
    let done = wait_delivered(&rx.tally, w.events, STALL);
    let secs = t0.elapsed().as_secs_f64();
    agent.wait_metrics("every file watched", |page| {
        metric_sum(page, "gleaner_tail_files_watched").unwrap_or(0.0) >= files as f64
    });
    // Let the reader settle (batches freed, files idle) before reading the resident set.
    std::thread::sleep(Duration::from_secs(2));
    let st = proc_stats::read(agent.child.id()).unwrap_or_default();
    stop_agent(&mut agent);
    let v = rx.tally.verdict(w.events);
    let r = RunResult {
        workload: "files-2k".into(),
        events: w.events,
        secs,
        input_bytes: w.bytes,
        cpu_s: st.cpu_s,
        peak_rss_kib: st.hwm_kib,
        lost: Some(v.lost),
        duplicated: Some(v.duplicated),
        note: if done {
            String::new()
        } else {
            ", stalled".into()
        },
        figure: None,
    };
    (st, r)
}
