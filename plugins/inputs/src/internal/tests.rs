//! Tests of `inputs.internal`: exact metrics from a registry with known counters, the
//! `/proc` parsers against `testdata/internal/`, the gather loop in once and continuous
//! mode, and the sample config.

use std::time::Duration;

use gleaner_api::test_util::{input_context, run_input_once};
use gleaner_api::{
    Batch, BuildContext, ComponentKind, FieldValue, Metric, MetricKind, PluginConfig, RunMode,
    Telemetry,
};

use super::DESCRIPTOR;
use super::procfs::{self, ProcessStats};

/// Runs the input in once mode with `telemetry` in its build context; returns its metrics.
async fn gather_once(telemetry: &Telemetry, toml: &str) -> Vec<Metric> {
    let mut bcx = BuildContext::for_test("inputs.internal.0");
    bcx.telemetry = telemetry.clone();
    bcx.hostname = "node-1".to_owned();
    let cfg = PluginConfig::from_toml_str("inputs.internal.0", toml).unwrap();
    let input = (DESCRIPTOR.build)(&cfg, &bcx).unwrap();
    let (cx, mut rx, _trigger) = input_context(&bcx, RunMode::Once, 16);
    input.run(cx).await.unwrap();
    let env = rx.recv().await.unwrap();
    assert!(rx.recv().await.is_none(), "one batch per gather");
    match env.batch {
        Batch::Metrics(m) => m,
        Batch::Logs(_) => panic!("logs from inputs.internal"),
    }
}

fn uints(pairs: &[(&str, u64)]) -> Vec<(String, FieldValue)> {
    pairs
        .iter()
        .map(|(k, v)| ((*k).to_owned(), FieldValue::UInt(*v)))
        .collect()
}

fn tags(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
    pairs
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect()
}

#[tokio::test]
async fn emits_exact_component_and_drop_metrics() {
    let t = Telemetry::new();
    let out = t.register("outputs.file.0", ComponentKind::Output, "file");
    out.received(4, 0);
    out.queue_depth
        .store(3, std::sync::atomic::Ordering::Relaxed);
    let tail = t.register("inputs.tail.0", ComponentKind::Input, "tail");
    tail.received(10, 1000);
    tail.sent(8, 800);
    tail.dropped("malformed", 2);
    tail.dropped("queue_full", 1);
    tail.error("io");
    tail.error("io");
    tail.error("parse");

    let metrics = gather_once(&t, "collect_process = false\n").await;
    let ts = metrics[0].timestamp;
    assert!(ts > 0);
    assert!(
        metrics.iter().all(|m| m.timestamp == ts),
        "one timestamp per gather"
    );

    let names: Vec<&str> = metrics.iter().map(|m| m.measurement.as_str()).collect();
    // Sorted by kind (inputs first), then id; each component's drops follow it.
    assert_eq!(
        names,
        [
            "internal_component",
            "internal_dropped",
            "internal_dropped",
            "internal_component",
            "internal_agent"
        ]
    );

    let tail_tags = [
        ("component_id", "inputs.tail.0"),
        ("component_kind", "input"),
        ("host", "node-1"),
        ("plugin", "tail"),
    ];
    assert_eq!(metrics[0].kind, MetricKind::Counter);
    assert_eq!(metrics[0].tags, tags(&tail_tags));
    assert_eq!(
        metrics[0].fields,
        uints(&[
            ("events_received", 10),
            ("events_sent", 8),
            ("batches_sent", 1),
            ("bytes_received", 1000),
            ("bytes_sent", 800),
            ("errors", 3),
            ("dropped", 3),
            ("queue_depth", 0),
        ])
    );

    let mut malformed_tags = tail_tags.to_vec();
    malformed_tags.push(("reason", "malformed"));
    assert_eq!(metrics[1].kind, MetricKind::Counter);
    assert_eq!(metrics[1].tags, tags(&malformed_tags));
    assert_eq!(metrics[1].fields, uints(&[("events", 2)]));
    assert_eq!(metrics[2].tag("reason"), Some("queue_full"));
    assert_eq!(metrics[2].fields, uints(&[("events", 1)]));

    assert_eq!(
        metrics[3].tags,
        tags(&[
            ("component_id", "outputs.file.0"),
            ("component_kind", "output"),
            ("host", "node-1"),
            ("plugin", "file"),
        ])
    );
    assert_eq!(
        metrics[3].fields,
        uints(&[
            ("events_received", 4),
            ("events_sent", 0),
            ("batches_sent", 0),
            ("bytes_received", 0),
            ("bytes_sent", 0),
            ("errors", 0),
            ("dropped", 0),
            ("queue_depth", 3),
        ])
    );

    let agent = &metrics[4];
    assert_eq!(agent.kind, MetricKind::Gauge);
    assert_eq!(agent.tags, tags(&[("host", "node-1")]));
    let keys: Vec<&str> = agent.fields.iter().map(|(k, _)| k.as_str()).collect();
    assert_eq!(keys, ["uptime_seconds"]);
}

#[cfg(target_os = "linux")]
#[tokio::test]
async fn process_stats_come_from_proc_on_linux() {
    let metrics = gather_once(&Telemetry::new(), "").await;
    assert_eq!(metrics.len(), 1);
    let agent = &metrics[0];
    let keys: Vec<&str> = agent.fields.iter().map(|(k, _)| k.as_str()).collect();
    assert_eq!(
        keys,
        [
            "uptime_seconds",
            "mem_rss_bytes",
            "cpu_seconds",
            "num_threads"
        ]
    );
    assert!(matches!(agent.field("mem_rss_bytes"), Some(FieldValue::UInt(n)) if *n > 0));
    assert!(matches!(agent.field("cpu_seconds"), Some(FieldValue::Float(s)) if *s >= 0.0));
    assert!(matches!(agent.field("num_threads"), Some(FieldValue::UInt(n)) if *n >= 1));
}

#[test]
fn proc_files_parse() {
    let stat = include_str!("../../testdata/internal/stat");
    let status = include_str!("../../testdata/internal/status");
    assert_eq!(
        procfs::parse(Some(stat), Some(status)),
        ProcessStats {
            rss_bytes: Some(38_912 * 1024),
            cpu_seconds: Some(3.8),
            num_threads: Some(7),
        }
    );
    // Missing or garbled files leave fields out.
    assert_eq!(procfs::parse(None, None), ProcessStats::default());
    assert_eq!(procfs::parse_stat("garbage"), (None, None));
    assert_eq!(procfs::parse_stat("1 (x) S 1 2"), (None, None));
    assert_eq!(procfs::parse_vm_rss("Name:\tx\nVmRSS:\tlots kB\n"), None);
    assert_eq!(procfs::parse_vm_rss("Name:\tkthreadd\n"), None);
}

#[tokio::test]
async fn sample_builds_and_runs_once() {
    let table = DESCRIPTOR
        .sample
        .strip_prefix("[[inputs.internal]]\n")
        .unwrap();
    let batches = run_input_once(&DESCRIPTOR, table).await;
    assert_eq!(batches.len(), 1);
    let uncommented = table.replace("# collect_process", "collect_process");
    assert!(uncommented.contains("\ncollect_process = true"));
    assert_eq!(run_input_once(&DESCRIPTOR, &uncommented).await.len(), 1);
}

#[test]
fn unknown_key_is_located() {
    let bcx = BuildContext::for_test("inputs.internal.0");
    let cfg = PluginConfig::from_toml_str("inputs.internal.0", "collect_proces = true\n").unwrap();
    let err = (DESCRIPTOR.build)(&cfg, &bcx).err().unwrap();
    assert_eq!(err.key.as_deref(), Some("inputs.internal.0.collect_proces"));
    assert_eq!(err.hint.as_deref(), Some("did you mean `collect_process`?"));
}

#[tokio::test(start_paused = true)]
async fn ticks_report_uptime_and_stop_on_shutdown() {
    let bcx = BuildContext::for_test("inputs.internal.0");
    let cfg = PluginConfig::from_toml_str("inputs.internal.0", "collect_process = false").unwrap();
    let input = (DESCRIPTOR.build)(&cfg, &bcx).unwrap();
    let (cx, mut rx, trigger) = input_context(&bcx, RunMode::Continuous, 16);
    let handle = tokio::spawn(input.run(cx));
    let uptime = |b: Batch| match b {
        Batch::Metrics(m) => m[0].field("uptime_seconds").cloned(),
        Batch::Logs(_) => None,
    };
    assert_eq!(
        uptime(rx.recv().await.unwrap().batch),
        Some(FieldValue::Float(0.0))
    );
    assert_eq!(
        uptime(rx.recv().await.unwrap().batch),
        Some(FieldValue::Float(10.0))
    );
    trigger.trigger();
    handle.await.unwrap().unwrap();
}

#[tokio::test(start_paused = true)]
async fn closed_pipeline_ends_the_input() {
    let bcx = BuildContext::for_test("inputs.internal.0");
    let cfg = PluginConfig::from_toml_str("inputs.internal.0", "").unwrap();
    let input = (DESCRIPTOR.build)(&cfg, &bcx).unwrap();
    let (cx, rx, _trigger) = input_context(&bcx, RunMode::Continuous, 16);
    drop(rx);
    tokio::time::timeout(Duration::from_secs(60), input.run(cx))
        .await
        .unwrap()
        .unwrap();
}
