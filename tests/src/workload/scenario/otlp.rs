//! `otlp-logs`: the `logs-hec` records (1,000,000 CRI lines over 10 pods, P/F pieces merged
//! as the tail input would) pushed as OTLP/HTTP protobuf by a generator into `inputs.otlp`,
//! through a disk buffer, out of `outputs.otlp` (gzip) to the counting receiver. Each request
//! is one pod's batch of up to 1,000 records under its Kubernetes resource attributes, as an
//! application's SDK would send it; four senders post at once and retry a 503 after 100 ms.
//! The requests are encoded before the agent starts: the agent's CPU is what is measured.

use std::io::{BufRead as _, BufReader};
use std::path::Path;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use gleaner_api::otlp::proto::{
    AnyValue, ExportLogsServiceRequest, KeyValue, LogRecord, Resource, ResourceLogs, ScopeLogs,
    any_value::Value,
};
use prost::Message as _;

use super::{Opts, RunResult, STALL, stop_agent, wait_delivered};
use crate::workload::cri_gen::write_files;
use crate::workload::proc_stats;
use crate::workload::receiver::{Protocol, Receiver};
use crate::{Agent, free_port, http};

/// Records per request.
const BATCH: usize = 1000;
/// Requests in flight at once.
const SENDERS: usize = 4;

fn string_kv(key: &str, v: &str) -> KeyValue {
    KeyValue {
        key: key.to_owned(),
        value: Some(AnyValue {
            value: Some(Value::StringValue(v.to_owned())),
        }),
    }
}

/// The encoded requests of one pod's file (`<root>/<ns>_<pod>_<uid>/<container>/0.log`).
fn requests_of(file: &Path, out: &mut Vec<Vec<u8>>) -> u64 {
    let container = file.parent().expect("container dir");
    let pod_dir = container.parent().expect("pod dir");
    let name = pod_dir
        .file_name()
        .and_then(|n| n.to_str())
        .expect("pod dir name");
    let mut parts = name.splitn(3, '_');
    let (ns, pod, uid) = (
        parts.next().expect("ns"),
        parts.next().expect("pod"),
        parts.next().expect("uid"),
    );
    let resource = Resource {
        attributes: vec![
            string_kv("k8s.namespace.name", ns),
            string_kv("k8s.pod.name", pod),
            string_kv("k8s.pod.uid", uid),
            string_kv(
                "k8s.container.name",
                container
                    .file_name()
                    .and_then(|n| n.to_str())
                    .expect("container"),
            ),
        ],
        dropped_attributes_count: 0,
    };
    let mut records: Vec<LogRecord> = Vec::with_capacity(BATCH);
    let mut pending = String::new();
    let mut n = 0u64;
    let flush = |records: &mut Vec<LogRecord>, out: &mut Vec<Vec<u8>>| {
        if records.is_empty() {
            return;
        }
        let req = ExportLogsServiceRequest {
            resource_logs: vec![ResourceLogs {
                resource: Some(resource.clone()),
                scope_logs: vec![ScopeLogs {
                    scope: None,
                    log_records: std::mem::take(records),
                    schema_url: String::new(),
                }],
                schema_url: String::new(),
            }],
        };
        out.push(req.encode_to_vec());
    };
    let reader = BufReader::new(std::fs::File::open(file).expect("open 0.log"));
    for (i, line) in reader.lines().enumerate() {
        let line = line.expect("read 0.log");
        let mut f = line.splitn(4, ' ');
        let (_ts, stream, tag, msg) = (
            f.next().unwrap_or(""),
            f.next().unwrap_or("stdout"),
            f.next().unwrap_or("F"),
            f.next().unwrap_or(""),
        );
        pending.push_str(msg);
        if tag == "P" {
            continue;
        }
        records.push(LogRecord {
            time_unix_nano: 1_779_336_000_000_000_000 + i as u64 * 1000,
            body: Some(AnyValue {
                value: Some(Value::StringValue(std::mem::take(&mut pending))),
            }),
            attributes: vec![string_kv("log.iostream", stream)],
            ..LogRecord::default()
        });
        n += 1;
        if records.len() == BATCH {
            flush(&mut records, out);
        }
    }
    flush(&mut records, out);
    n
}

/// `otlp-logs`.
///
/// # Panics
/// When the workload or the agent cannot be set up.
pub fn otlp_logs(opts: &Opts) -> RunResult {
    let root = tempfile::tempdir().expect("tempdir for logs");
    let w = write_files(root.path(), opts.lines, 10, opts.seed);
    let mut requests = Vec::new();
    let records: u64 = w.files.iter().map(|f| requests_of(f, &mut requests)).sum();
    assert_eq!(records, w.events, "one record per sequence id");
    let body_bytes: u64 = requests.iter().map(|r| r.len() as u64).sum();
    let rx = Receiver::start(Protocol::Otlp);
    let listen = format!("127.0.0.1:{}", free_port());
    let mut agent = Agent::start(&format!(
        r#"[agent]
http_listen = "{{telemetry}}"
data_dir = "{{dir}}"
hostname = "bench-node"
shutdown_timeout = "30s"

[[inputs.otlp]]
listen = "{listen}"

[[outputs.otlp]]
endpoint = "{}"
[outputs.otlp.buffer]
type = "disk"
"#,
        rx.url()
    ));
    let t0 = Instant::now();
    let next = Mutex::new(requests.into_iter());
    let retried = AtomicU64::new(0);
    std::thread::scope(|s| {
        for _ in 0..SENDERS {
            s.spawn(|| {
                loop {
                    let Some(body) = next.lock().expect("requests").next() else {
                        return;
                    };
                    loop {
                        let r = http(
                            &listen,
                            "POST",
                            "/v1/logs",
                            &[("Content-Type", "application/x-protobuf")],
                            &body,
                        );
                        match r {
                            Ok(r) if r.status == 200 => break,
                            _ => {
                                retried.fetch_add(1, Ordering::Relaxed);
                                std::thread::sleep(Duration::from_millis(100));
                            }
                        }
                    }
                }
            });
        }
    });
    let done = wait_delivered(&rx.tally, w.events, STALL);
    let secs = t0.elapsed().as_secs_f64();
    let st = proc_stats::read(agent.child.id()).unwrap_or_default();
    stop_agent(&mut agent);
    let v = rx.tally.verdict(w.events);
    RunResult {
        workload: "otlp-logs".into(),
        events: w.events,
        secs,
        input_bytes: body_bytes,
        cpu_s: st.cpu_s,
        peak_rss_kib: st.hwm_kib,
        lost: Some(v.lost),
        duplicated: Some(v.duplicated),
        figure: Some((
            st.cpu_s * 1e6 / w.events.max(1) as f64,
            "CPU-s per million records",
        )),
        note: format!(
            "{} requests retried{}",
            retried.load(Ordering::Relaxed),
            if done { "" } else { ", stalled" }
        ),
    }
}
