//! The delivery workloads (issue 22): `slow-receiver` (the `logs-hec` events into a
//! receiver that answers each request 50 ms late: what `concurrency` buys), `latency` (lines
//! written at 20,000 a second for the run's duration over 10 pods, each carrying its write
//! time; p50, p99 and max from the write to the receiver, at the defaults: disk buffer with
//! `sync = "batch"`, `flush_interval = "1s"`), and `logs-k8s` (`logs-hec` through
//! `filters.kubernetes`, against the fake API server serving the 10 pods, each owned by a
//! ReplicaSet owned by a Deployment; every record must arrive with its workload).

use std::time::{Duration, Instant};

use super::{Opts, RunResult, STALL, metric_sum, stop_agent, tail_hec_config, wait_delivered};
use crate::Agent;
use crate::fake_kube::{FakeKube, FakeOwner, FakePod};
use crate::workload::cri_gen::write_files;
use crate::workload::paced::{PacedConfig, PacedWriter};
use crate::workload::proc_stats;
use crate::workload::receiver::{Mode, Protocol, Receiver};

/// The slow receiver's delay per request.
pub const SLOW: Duration = Duration::from_millis(50);

/// `slow-receiver`.
///
/// # Panics
/// When the workload or the agent cannot be set up.
pub fn slow_receiver(opts: &Opts) -> RunResult {
    let rx = Receiver::start(Protocol::Hec);
    rx.set_mode(Mode::Slow(SLOW));
    let (mut result, rx) = super::logs::tail_to_hec(opts, "slow-receiver", rx);
    result.note = format!(
        "{}, {} requests answered after {} ms, at most {} in flight",
        result.note,
        rx.requests(),
        SLOW.as_millis(),
        rx.max_in_flight(),
    );
    result
}

/// `latency`: the figure is the p99 in ms; p50 and max are in the note.
///
/// # Panics
/// When the workload or the agent cannot be set up.
pub fn latency(opts: &Opts) -> RunResult {
    let root = tempfile::tempdir().expect("tempdir for logs");
    let rx = Receiver::start(Protocol::Hec);
    rx.record_latency();
    let mut config = tail_hec_config(root.path(), &rx.url(), "");
    if let Some(f) = &opts.flush_interval {
        config = config.replacen(
            "[agent]\n",
            &format!("[agent]\nflush_interval = \"{f}\"\n"),
            1,
        );
    }
    let mut agent = Agent::start(&config);
    let cpu0 = proc_stats::read(agent.child.id()).unwrap_or_default().cpu_s;
    let t0 = Instant::now();
    let wrote = PacedWriter::start(
        root.path(),
        PacedConfig {
            pods: 10,
            lines_per_sec: 20_000,
            duration: opts.duration,
            seed: opts.seed,
        },
    )
    .join();
    let done = wait_delivered(&rx.tally, wrote.lines, STALL);
    let secs = t0.elapsed().as_secs_f64();
    let st = proc_stats::read(agent.child.id()).unwrap_or_default();
    stop_agent(&mut agent);
    let v = rx.tally.verdict(wrote.lines);
    let mut lat = rx.latencies();
    lat.sort_unstable();
    let q = |p: f64| -> f64 {
        if lat.is_empty() {
            return 0.0;
        }
        let i = ((lat.len() - 1) as f64 * p).round() as usize;
        lat[i] as f64 / 1000.0
    };
    let (p50, p99, max) = (q(0.5), q(0.99), q(1.0));
    RunResult {
        workload: "latency".into(),
        events: wrote.lines,
        secs,
        input_bytes: wrote.bytes,
        cpu_s: st.cpu_s - cpu0,
        peak_rss_kib: st.hwm_kib,
        lost: Some(v.lost),
        duplicated: Some(v.duplicated),
        figure: Some((p99, "ms p99 write→receipt")),
        note: format!(
            "p50 {p50:.0} ms, p99 {p99:.0} ms, max {max:.0} ms over {} lines (20,000/s, 10 pods), flush_interval {}{}",
            lat.len(),
            opts.flush_interval.as_deref().unwrap_or("default"),
            if done { "" } else { ", stalled" }
        ),
    }
}

/// The fake API server's objects for the pod directories of `files`
/// (`<root>/<ns>_<pod>_<uid>/app/0.log`): each pod owned by the ReplicaSet `<pod>` less its
/// last `-xxxxx`, itself owned by the Deployment named for the pod's app.
fn serve_pods(kube: &FakeKube, files: &[std::path::PathBuf], node: &str) {
    for f in files {
        let dir = f
            .parent()
            .and_then(|c| c.parent())
            .and_then(|d| d.file_name())
            .and_then(|n| n.to_str())
            .expect("pod directory name");
        let mut parts = dir.splitn(3, '_');
        let (ns, pod, uid) = match (parts.next(), parts.next(), parts.next()) {
            (Some(ns), Some(pod), Some(uid)) => (ns, pod, uid),
            _ => panic!("pod directory {dir} is not <ns>_<pod>_<uid>"),
        };
        let rs = pod.rsplit_once('-').map_or(pod, |(rs, _)| rs);
        let deployment = rs.split_once('-').map_or(rs, |(app, _)| app);
        let rs_uid = format!("rs-{uid}");
        kube.add_owner(FakeOwner {
            kind: "ReplicaSet".into(),
            namespace: ns.into(),
            name: rs.into(),
            uid: rs_uid.clone(),
            owner: Some(("Deployment".into(), deployment.into())),
        });
        kube.apply_pod(FakePod::new(ns, pod, uid, node).owned_by("ReplicaSet", rs, &rs_uid));
    }
}

/// `logs-k8s`: `logs-hec` with `filters.kubernetes`; the note says how many records arrived
/// with their workload (`k8s.workload` in the HEC fields) and what the filter counted missing.
///
/// # Panics
/// When the workload or the agent cannot be set up.
pub fn logs_k8s(opts: &Opts) -> RunResult {
    let root = tempfile::tempdir().expect("tempdir for logs");
    let w = write_files(root.path(), opts.lines, 10, opts.seed);
    let kube = FakeKube::start();
    serve_pods(&kube, &w.files, "bench-node");
    let kdir = tempfile::tempdir().expect("tempdir for the kubeconfig");
    let kubeconfig = kube.write_kubeconfig(kdir.path());
    let rx = Receiver::start(Protocol::Hec);
    rx.count_token(br#""k8s.workload":"#);
    let config = tail_hec_config(root.path(), &rx.url(), "")
        + &format!(
            "\n[[filters.kubernetes]]\nkubeconfig = {:?}\nnode_name = \"bench-node\"\n",
            kubeconfig.display().to_string()
        );
    let t0 = Instant::now();
    let mut agent = Agent::start(&config);
    let done = wait_delivered(&rx.tally, w.events, STALL);
    let secs = t0.elapsed().as_secs_f64();
    let st = proc_stats::read(agent.child.id()).unwrap_or_default();
    let missing = crate::http(&agent.telemetry_addr, "GET", "/metrics", &[], b"")
        .ok()
        .and_then(|p| metric_sum(&p.body, "gleaner_kubernetes_records_missing_total"))
        .unwrap_or(f64::NAN);
    stop_agent(&mut agent);
    let v = rx.tally.verdict(w.events);
    let with_workload = rx.token_count();
    let received = rx.tally.received();
    RunResult {
        workload: "logs-k8s".into(),
        events: w.events,
        secs,
        input_bytes: w.bytes,
        cpu_s: st.cpu_s,
        peak_rss_kib: st.hwm_kib,
        lost: Some(v.lost),
        duplicated: Some(v.duplicated),
        figure: None,
        note: format!(
            "{with_workload} of {received} records with their workload{}, {missing} counted missing by the filter, {} owner GETs{}",
            if with_workload == received {
                " (all)"
            } else {
                ""
            },
            kube.count(crate::fake_kube::Verb::Get, "replicasets"),
            if done { "" } else { ", stalled" }
        ),
    }
}
