//! Tests of `inputs.kubelet` without a network: the fixture `testdata/kubelet/summary.json`
//! (written from the Summary API's Go types: system containers, pods with several containers
//! and volumes, a pod with missing values, a pod with nothing) against the golden line
//! protocol `summary.lp`; omitted-not-zero values, kinds and timestamps; a generated huge
//! node; bad JSON; and config validation. The HTTP side is tested end to end against the
//! fake kubelet in `tests/e2e/kubelet.rs`.

use std::path::PathBuf;

use gleaner_api::line_protocol::encode_metric;
use gleaner_api::{BuildContext, Duration, FieldValue, Metric, MetricKind, PluginConfig};

use super::{DESCRIPTOR, base_url, parse};

const NOW: i64 = 1_800_000_000_000_000_000;

fn testdata(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("testdata/kubelet")
        .join(name)
}

fn fixture() -> Vec<Metric> {
    let body = std::fs::read(testdata("summary.json")).expect("fixture");
    parse(&body, NOW).expect("the fixture parses")
}

fn lines(metrics: &[Metric]) -> String {
    let mut out = Vec::new();
    for m in metrics {
        encode_metric(m, &mut out);
    }
    String::from_utf8(out).expect("utf-8")
}

fn find<'a>(m: &'a [Metric], measurement: &str, tag: (&str, &str)) -> Option<&'a Metric> {
    m.iter()
        .find(|x| x.measurement == measurement && x.tag(tag.0) == Some(tag.1))
}

#[test]
fn fixture_matches_the_golden_line_protocol() {
    let got = lines(&fixture());
    let path = testdata("summary.lp");
    if std::env::var_os("UPDATE_GOLDEN").is_some() {
        std::fs::write(&path, &got).expect("write golden");
    }
    let want = std::fs::read_to_string(&path).expect("golden");
    for (i, (g, w)) in got.lines().zip(want.lines()).enumerate() {
        assert_eq!(g, w, "line {}", i + 1);
    }
    assert_eq!(got.lines().count(), want.lines().count(), "{got}");
}

#[test]
fn missing_values_are_omitted_never_zero() {
    let m = fixture();
    let worker =
        find(&m, "kubernetes_pod_container", ("container_name", "worker")).expect("worker");
    let names: Vec<&str> = worker.fields.iter().map(|(k, _)| k.as_str()).collect();
    assert_eq!(names, ["memory_working_set_bytes", "rootfs_used_bytes"]);
    assert_eq!(worker.field("rootfs_used_bytes"), Some(&FieldValue::Int(0)));
    // No stats at all: no metric. No network: no pod_network metric. Null lists: nothing.
    assert!(
        find(
            &m,
            "kubernetes_pod_container",
            ("container_name", "init-done")
        )
        .is_none()
    );
    assert!(
        find(
            &m,
            "kubernetes_pod_network",
            ("pod_name", "batch-job-x2k9q")
        )
        .is_none()
    );
    assert!(m.iter().all(|x| x.tag("pod_name") != Some("pending-0")));
    // A container without a memory limit has no memory_available_bytes; containers never
    // carry it (Telegraf's pod_container has no such field).
    assert!(m.iter().all(|x| x.measurement != "kubernetes_pod_container"
        || x.field("memory_available_bytes").is_none()));
    // System containers, as Telegraf: no *_used_bytes.
    let kubelet = find(
        &m,
        "kubernetes_system_container",
        ("container_name", "kubelet"),
    )
    .expect("system container");
    assert!(
        kubelet
            .fields
            .iter()
            .all(|(k, _)| !k.ends_with("_used_bytes"))
    );
}

#[test]
fn kinds_tags_and_timestamps() {
    let m = fixture();
    let node = find(&m, "kubernetes_node", ("node_name", "node-a")).expect("node");
    assert_eq!(node.kind, MetricKind::Untyped);
    assert_eq!(node.tags, [("node_name".to_owned(), "node-a".to_owned())]);
    assert_eq!(node.timestamp, 1_795_233_610_000_000_000); // cpu.time 04:00:10Z
    assert_eq!(node.fields.len(), 18);
    let net = find(&m, "kubernetes_pod_network", ("pod_name", "web-7d9f")).expect("net");
    assert_eq!(net.kind, MetricKind::Counter);
    let tags: Vec<&str> = net.tags.iter().map(|(k, _)| k).collect();
    assert_eq!(tags, ["namespace", "node_name", "pod_name"]);
    let vol = find(&m, "kubernetes_pod_volume", ("volume_name", "data")).expect("volume");
    assert_eq!(vol.kind, MetricKind::Gauge);
    assert_eq!(vol.timestamp, 1_795_233_607_000_000_000);
    // The worker has no cpu block: its time comes from memory.
    let worker = find(&m, "kubernetes_pod_container", ("container_name", "worker")).expect("w");
    assert_eq!(worker.timestamp, 1_795_233_604_000_000_000);
    assert_eq!(worker.kind, MetricKind::Untyped);
}

#[test]
fn a_block_without_a_time_takes_the_gather_time() {
    let body = br#"{"node":{"nodeName":"n","cpu":{"usageNanoCores":5},"memory":{"time":"garbage"}},
        "pods":[{"podRef":{"name":"p","namespace":"d"},"network":{"rxBytes":1}}]}"#;
    let m = parse(body, NOW).expect("parses");
    assert_eq!(m.len(), 2);
    assert!(m.iter().all(|x| x.timestamp == NOW));
    assert_eq!(
        lines(&m[1..]),
        format!("kubernetes_pod_network,namespace=d,node_name=n,pod_name=p rx_bytes=1i {NOW}\n")
    );
}

#[test]
fn a_huge_node_parses_whole() {
    let mut pods = Vec::new();
    for i in 0..500 {
        pods.push(format!(
            r#"{{"podRef":{{"name":"pod-{i}","namespace":"ns-{}"}},
            "containers":[{{"name":"a","cpu":{{"time":"2026-11-21T04:00:08Z","usageNanoCores":{i}}}}},
                          {{"name":"b","memory":{{"time":"2026-11-21T04:00:08Z","usageBytes":{i}}}}}],
            "network":{{"time":"2026-11-21T04:00:08Z","rxBytes":{i},"txBytes":{i}}},
            "volume":[{{"time":"2026-11-21T04:00:07Z","name":"v","usedBytes":{i}}}]}}"#,
            i % 7
        ));
    }
    let body = format!(
        r#"{{"node":{{"nodeName":"big"}},"pods":[{}]}}"#,
        pods.join(",")
    );
    let m = parse(body.as_bytes(), NOW).expect("parses");
    // No node metric (no node fields), 4 per pod.
    assert_eq!(m.len(), 2000);
    let last = &m[1999];
    assert_eq!(last.measurement, "kubernetes_pod_network");
    assert_eq!(last.tag("pod_name"), Some("pod-499"));
    assert_eq!(last.field("tx_bytes"), Some(&FieldValue::Int(499)));
}

#[test]
fn bad_json_is_a_parse_error() {
    assert!(parse(b"<html>401</html>", NOW).is_err());
    assert!(parse(br#"{"node":{"cpu":{"usageNanoCores":"many"}}}"#, NOW).is_err());
    // Unknown fields and an empty object are fine.
    assert!(
        parse(br#"{"future":{"x":1},"node":{"swap":{}}}"#, NOW)
            .expect("parses")
            .is_empty()
    );
}

#[test]
fn url_defaults_to_node_ip() {
    assert_eq!(
        base_url(Some("https://k:1"), Some("10.0.0.1")),
        Ok("https://k:1".to_owned())
    );
    assert_eq!(
        base_url(None, Some("10.0.0.1")),
        Ok("https://10.0.0.1:10250".to_owned())
    );
    assert_eq!(
        base_url(None, Some("fd00::1")),
        Ok("https://[fd00::1]:10250".to_owned())
    );
    assert!(base_url(None, Some(" ")).is_err());
    assert!(base_url(None, None).is_err());
}

fn build(toml: &str, interval: u64) -> Result<(), String> {
    let cfg = PluginConfig::from_toml_str("inputs.kubelet.0", toml).map_err(|e| e.to_string())?;
    let mut bcx = BuildContext::for_test("inputs.kubelet.0");
    bcx.interval = Duration::from_secs(interval);
    (DESCRIPTOR.build)(&cfg, &bcx).map(drop).map_err(|e| {
        format!(
            "{}: {} ({})",
            e.key.unwrap_or_default(),
            e.message,
            e.hint.unwrap_or_default()
        )
    })
}

#[test]
fn config_is_validated_without_io() {
    let body = DESCRIPTOR
        .sample
        .strip_prefix("[[inputs.kubelet]]\n")
        .expect("sample header");
    assert_eq!(build(body, 10), Ok(()));
    assert_eq!(
        build(
            "url = \"https://127.0.0.1:10250\"\nca_file = \"/nonexistent\"\n",
            10
        ),
        Ok(())
    );
    // An unset timeout (5s) is clamped to a shorter interval; only a written one is checked.
    assert_eq!(build("url = \"https://127.0.0.1:10250\"\n", 1), Ok(()));
    let e = build("url = \"https://127.0.0.1:10250\"\ntimeout = \"2s\"\n", 1)
        .expect_err("timeout > interval");
    assert!(
        e.starts_with("inputs.kubelet.0.timeout: timeout (2s) must be"),
        "{e}"
    );
    let e = build("url = \"ftp://x\"\n", 10).expect_err("scheme");
    assert!(e.starts_with("inputs.kubelet.0.url: "), "{e}");
    let e = build("url = \"https://x\"\nbearer_token = \"/t\"\n", 10).expect_err("unknown key");
    assert!(e.contains("bearer_token"), "{e}");
    let e = build("url = \"https://x\"\nmax_body_size = 0\n", 10).expect_err("zero");
    assert!(e.starts_with("inputs.kubelet.0.max_body_size"), "{e}");
}
