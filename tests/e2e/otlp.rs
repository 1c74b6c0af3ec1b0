//! OTLP with real peers, through the binary:
//! - OpenTelemetry's Python SDK and OTLP/HTTP exporters push logs and metrics with unique ids
//!   to `inputs.otlp`: every id reaches the file output once, attributes intact;
//! - `outputs.otlp` sends to a receiver written on the official `opentelemetry-proto` Python
//!   messages (`testdata/otlp/receiver.py`): every id arrives, Kubernetes attributes are
//!   resource attributes under the semantic-conventions names, one `ResourceLogs` per pod;
//! - a round trip `outputs.otlp` → a second agent's `inputs.otlp` → file gives what the first
//!   agent's own file output has (records compared as JSON objects, metrics as lines): tailed
//!   CRI logs of two pods, line protocol with several fields, and a scraped page of every
//!   Prometheus type (histogram, summary, counter, gauge, untyped).
//!
//! The Python packages live in a virtualenv that scripts/test.sh makes (`<target>/otel-venv`,
//! or `$OTEL_VENV`). Without it the two Python tests say so and pass, unless
//! `GLEANER_REQUIRE_OTEL=1` (scripts/test.sh sets it), where they fail. Three tests with
//! their agents' configs written out in full make this file a little long.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use gleaner_e2e::exposition::{Exposition, Page};
use gleaner_e2e::{Agent, free_port, http, workspace_root};

/// The virtualenv's python, when the OpenTelemetry packages are installed.
fn python() -> Option<PathBuf> {
    let venv = std::env::var_os("OTEL_VENV")
        .map(PathBuf::from)
        .unwrap_or_else(|| {
            std::env::var_os("CARGO_TARGET_DIR")
                .map_or_else(|| workspace_root().join("target"), PathBuf::from)
                .join("otel-venv")
        });
    let py = venv.join("bin/python");
    let ok = Command::new(&py)
        .args([
            "-c",
            "import opentelemetry.sdk, opentelemetry.proto, opentelemetry.exporter.otlp.proto.http",
        ])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success());
    if ok {
        return Some(py);
    }
    let msg = format!(
        "SKIPPED: the OpenTelemetry Python packages are not installed in {} (scripts/test.sh installs them)",
        venv.display()
    );
    assert!(std::env::var("GLEANER_REQUIRE_OTEL").is_err(), "{msg}");
    eprintln!("{msg}");
    None
}

fn testdata(name: &str) -> PathBuf {
    workspace_root().join("tests/testdata/otlp").join(name)
}

/// Reads `path` until `done` says its content is complete (30 s at most).
fn wait_file(path: &Path, what: &str, done: impl Fn(&str) -> bool) -> String {
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let text = std::fs::read_to_string(path).unwrap_or_default();
        if done(&text) {
            return text;
        }
        assert!(
            Instant::now() < deadline,
            "timed out waiting for {what}; have:\n{text}"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// A child process killed when dropped.
struct Killed(Child);

impl Drop for Killed {
    fn drop(&mut self) {
        let _kill = self.0.kill();
        let _reaped = self.0.wait();
    }
}

fn json_lines(text: &str) -> Vec<serde_json::Value> {
    text.lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{e}: {l}")))
        .collect()
}

#[test]
fn python_sdk_logs_and_metrics_reach_the_file_once() {
    let Some(py) = python() else { return };
    let port = free_port();
    let agent = Agent::start(&format!(
        r#"[agent]
omit_hostname = true
http_listen = "{{telemetry}}"
data_dir = "{{dir}}/data"
flush_interval = "100ms"

[[inputs.otlp]]
listen = "127.0.0.1:{port}"

[[outputs.file]]
path = "{{dir}}/logs.jsonl"
kinds = ["logs"]

[[outputs.file]]
path = "{{dir}}/metrics.lp"
kinds = ["metrics"]
"#
    ));
    let n = 300;
    let run = format!("r{}", std::process::id());
    let status = Command::new(&py)
        .arg(testdata("sender.py"))
        .arg(format!("http://127.0.0.1:{port}"))
        .arg(&run)
        .arg(n.to_string())
        .status()
        .expect("run sender.py");
    assert!(status.success(), "sender.py failed");
    let logs = wait_file(&agent.path("logs.jsonl"), "every log id", |t| {
        t.lines().count() >= n
    });
    let mut seen: BTreeMap<String, usize> = BTreeMap::new();
    for r in json_lines(&logs) {
        let id = r["id"].as_str().expect("id attribute").to_owned();
        let seq: usize = id
            .rsplit('-')
            .next()
            .and_then(|s| s.parse().ok())
            .expect("seq");
        assert_eq!(r["message"], format!("log {id}"), "{r}");
        assert_eq!(r["seq"], seq, "{r}");
        assert_eq!(r["ok"], true, "{r}");
        assert_eq!(r["severity"], "WARN", "{r}");
        assert!(r.get("severity_number").is_none(), "WARN implies 13: {r}");
        assert_eq!(r["k8s.pod"], "sender-pod", "{r}");
        assert_eq!(r["k8s.namespace"], "e2e", "{r}");
        assert_eq!(r["resource.service.name"], "otlp-e2e", "{r}");
        assert_eq!(r["scope.name"], "e2e.sender", "{r}");
        assert_eq!(r["scope.version"], "1.2.3", "{r}");
        *seen.entry(id).or_default() += 1;
    }
    assert_eq!(seen.len(), n, "every id");
    assert!(seen.values().all(|c| *c == 1), "each id once");

    // One counter and one histogram (bucket lines, _sum, _count) per id.
    let metrics = wait_file(&agent.path("metrics.lp"), "every metric id", |t| {
        let count = |what: &str| t.lines().filter(|l| l.contains(what)).count();
        count(" e2e_requests=") >= n && count(" e2e_latency_count=") >= n
    });
    for i in 0..n {
        let id = format!("id={run}-{i}");
        let counter: Vec<&str> = metrics
            .lines()
            .filter(|l| l.contains(&format!("{id},")) || l.contains(&format!("{id} ")))
            .filter(|l| l.contains(" e2e_requests="))
            .collect();
        assert_eq!(counter.len(), 1, "{id}: {counter:?}");
        assert!(
            counter[0].contains(&format!(" e2e_requests={}i ", i + 1)),
            "{}",
            counter[0]
        );
        let count = metrics
            .lines()
            .filter(|l| l.contains(&format!("{id},")) || l.contains(&format!("{id} ")))
            .filter(|l| l.contains(" e2e_latency_count="))
            .count();
        assert_eq!(count, 1, "{id}");
    }
    assert!(metrics.contains("le=+Inf"), "histogram buckets: {metrics}");
    assert!(metrics.contains("resource.service.name=otlp-e2e"));
}

#[test]
fn outputs_otlp_reaches_an_opentelemetry_proto_receiver_grouped_by_pod() {
    let Some(py) = python() else { return };
    let (agent, out, _receiver, n) = agent_with_receiver(&py);
    let text = wait_file(&out, "every record at the receiver", |t| {
        json_lines(t)
            .iter()
            .filter_map(|l| l["resources"].as_array())
            .flatten()
            .map(|r| r["records"].as_array().map_or(0, Vec::len))
            .sum::<usize>()
            >= 2 * n
    });
    let mut ids: BTreeMap<String, usize> = BTreeMap::new();
    for line in json_lines(&text) {
        let Some(resources) = line["resources"].as_array() else {
            continue;
        };
        assert_eq!(line["content_type"], "application/x-protobuf");
        let mut pods = Vec::new();
        for r in resources {
            let res = &r["resource"];
            let pod = res["k8s.pod.name"]
                .as_str()
                .expect("k8s.pod.name")
                .to_owned();
            assert_eq!(res["k8s.namespace.name"], "shop", "{res}");
            assert!(res["k8s.pod.uid"].as_str().is_some(), "{res}");
            assert_eq!(res["k8s.container.name"], "app", "{res}");
            assert!(
                !pods.contains(&pod),
                "one ResourceLogs per pod in a request: {line}"
            );
            pods.push(pod.clone());
            for rec in r["records"].as_array().expect("records") {
                let body = rec["body"].as_str().expect("string body");
                let id = body.strip_prefix("msg ").expect("body").to_owned();
                assert!(id.starts_with(&pod), "{id} under {pod}");
                assert!(
                    rec["attributes"].get("k8s.pod").is_none(),
                    "moved to the resource"
                );
                assert!(rec["attributes"]["file"].as_str().is_some(), "{rec}");
                assert_eq!(rec["attributes"]["log.iostream"], "stdout");
                *ids.entry(id).or_default() += 1;
            }
        }
    }
    assert_eq!(ids.len(), 2 * n, "every id");
    assert!(ids.values().all(|c| *c == 1), "each id once");
    // Metrics: a counter as a monotonic cumulative sum, a gauge with its measurement.
    let text = wait_file(&out, "metrics at the receiver", |t| {
        t.contains("\"/v1/metrics\"")
    });
    let metrics: Vec<serde_json::Value> = json_lines(&text)
        .into_iter()
        .filter_map(|l| l["metrics"].as_array().cloned())
        .flatten()
        .collect();
    let cpu = metrics
        .iter()
        .find(|m| m["name"] == "cpu_usage_user")
        .expect("cpu_usage_user");
    assert_eq!(cpu["kind"], "gauge");
    assert_eq!(cpu["metadata"]["gleaner.measurement"], "cpu");
    assert_eq!(cpu["metadata"]["prometheus.type"], "unknown");
    assert_eq!(cpu["resource"]["host.name"], "node-1");
    assert_eq!(cpu["points"][0]["attributes"]["core"], "0");
    drop(agent);
}

/// Agent with tail (two pods' CRI files) and http_listener → outputs.otlp → receiver.py.
fn agent_with_receiver(py: &Path) -> (Agent, PathBuf, Killed, usize) {
    let dir = tempfile::tempdir().expect("tempdir");
    let out = dir.path().join("received.jsonl");
    let port = free_port();
    let receiver = Killed(
        Command::new(py)
            .arg(testdata("receiver.py"))
            .arg(port.to_string())
            .arg(&out)
            .spawn()
            .expect("start receiver.py"),
    );
    wait_port(port);
    let listen = format!("127.0.0.1:{}", free_port());
    let agent = Agent::start(&format!(
        r#"[agent]
omit_hostname = true
http_listen = "{{telemetry}}"
data_dir = "{{dir}}/data"
flush_interval = "100ms"

[[inputs.tail]]
paths = ["{{dir}}/pods/*/*/*.log"]
format = "cri"
read_from_head = true

[[inputs.http_listener]]
listen = "{listen}"

[[outputs.otlp]]
endpoint = "http://127.0.0.1:{port}"
"#
    ));
    let n = 200;
    for pod in ["web-1", "web-2"] {
        let d = agent
            .dir
            .path()
            .join(format!("pods/shop_{pod}_uid-{pod}/app"));
        std::fs::create_dir_all(&d).expect("mkdir");
        let mut text = String::new();
        for i in 0..n {
            text.push_str(&format!(
                "2026-05-21T04:00:00.{i:09}Z stdout F msg {pod}-{i}\n"
            ));
        }
        std::fs::write(d.join("0.log"), text).expect("write log");
    }
    let r = http(
        &listen,
        "POST",
        "/write",
        &[],
        b"cpu,core=0,host=node-1 usage_user=1.5,usage_system=2i 1700000000000000000\n",
    )
    .expect("POST /write");
    assert_eq!(r.status, 204, "{}", r.body);
    // Keep the receiver's temp dir alive with the agent's.
    std::mem::forget(dir);
    (agent, out, receiver, n)
}

fn wait_port(port: u16) {
    let deadline = Instant::now() + Duration::from_secs(30);
    while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(Instant::now() < deadline, "receiver.py did not listen");
        std::thread::sleep(Duration::from_millis(50));
    }
}

#[test]
fn round_trip_through_a_second_agent_is_identical() {
    let b_port = free_port();
    let b = Agent::start(&format!(
        r#"[agent]
omit_hostname = true
http_listen = "{{telemetry}}"
data_dir = "{{dir}}/data"
flush_interval = "100ms"

[[inputs.otlp]]
listen = "127.0.0.1:{b_port}"

[[outputs.file]]
path = "{{dir}}/logs.jsonl"
kinds = ["logs"]

[[outputs.file]]
path = "{{dir}}/metrics.lp"
kinds = ["metrics"]
"#
    ));
    let listen = format!("127.0.0.1:{}", free_port());
    // Every Prometheus type, scraped every second until `a` stops.
    let page = Exposition::start(Page::Body(
        "text/plain; version=0.0.4",
        "# TYPE rpc_seconds histogram\n\
         rpc_seconds_bucket{op=\"get\",le=\"0.1\"} 3\n\
         rpc_seconds_bucket{op=\"get\",le=\"1.0\"} 5\n\
         rpc_seconds_bucket{op=\"get\",le=\"+Inf\"} 7\n\
         rpc_seconds_sum{op=\"get\"} 2.25\n\
         rpc_seconds_count{op=\"get\"} 7\n\
         # TYPE gc_seconds summary\n\
         gc_seconds{quantile=\"0.5\"} 0.01\n\
         gc_seconds{quantile=\"0.99\"} 0.5\n\
         gc_seconds_sum 1.5\n\
         gc_seconds_count 30\n\
         # TYPE requests_total counter\n\
         requests_total{code=\"200\"} 42\n\
         # TYPE queue_depth gauge\n\
         queue_depth 3.5\n\
         plain_untyped 1\n"
            .to_owned(),
    ));
    let mut a = Agent::start(&format!(
        r#"[agent]
omit_hostname = true
http_listen = "{{telemetry}}"
data_dir = "{{dir}}/data"
flush_interval = "100ms"

[[inputs.prometheus]]
urls = ["{}"]
interval = "1s"

[[inputs.tail]]
paths = ["{{dir}}/pods/*/*/*.log"]
format = "cri"
read_from_head = true

[[inputs.http_listener]]
listen = "{listen}"

[[outputs.file]]
path = "{{dir}}/logs.jsonl"
kinds = ["logs"]

[[outputs.file]]
path = "{{dir}}/metrics.lp"
kinds = ["metrics"]

[[outputs.otlp]]
endpoint = "http://127.0.0.1:{b_port}"
"#,
        page.url
    ));
    let n = 100;
    for (pod, stream) in [("api-7", "stdout"), ("db-0", "stderr")] {
        let d = a.dir.path().join(format!("pods/prod_{pod}_uid-{pod}/main"));
        std::fs::create_dir_all(&d).expect("mkdir");
        let mut text = String::new();
        for i in 0..n {
            text.push_str(&format!(
                "2026-05-21T04:00:01.{i:09}Z {stream} F line {pod} {i} \"quoted\" ünï\n"
            ));
        }
        std::fs::write(d.join("3.log"), text).expect("write log");
    }
    let lines = "cpu,core=0,zone=a usage_user=1.5,usage_system=2i,idle=97.25 1700000000000000000\n\
                 cpu,core=1,zone=a usage_user=0.5,usage_system=1i,idle=98.5 1700000000000000000\n\
                 prometheus,job=api,le=0.5 http_seconds_bucket=3 1700000000001000000\n\
                 prometheus,job=api http_requests_total=42 1700000000001000000\n\
                 mem,host=node-9 used=123456i,free=42i 1700000000002000000\n";
    let r = http(&listen, "POST", "/write", &[], lines.as_bytes()).expect("POST /write");
    assert_eq!(r.status, 204, "{}", r.body);
    let logs_a = wait_file(&a.path("logs.jsonl"), "a's logs", |t| {
        t.lines().count() >= 2 * n
    });
    let logs_b = wait_file(&b.path("logs.jsonl"), "b's logs", |t| {
        t.lines().count() >= 2 * n
    });
    let mut ja = json_lines(&logs_a);
    let mut jb = json_lines(&logs_b);
    let key = |v: &serde_json::Value| v.to_string();
    ja.sort_by_key(key);
    jb.sort_by_key(key);
    assert_eq!(ja.len(), 2 * n);
    assert_eq!(ja, jb, "records through OTLP differ");
    wait_file(&a.path("metrics.lp"), "a's metrics", |t| {
        t.contains(" rpc_seconds_count=") && t.contains("mem,") && t.contains(" plain_untyped=")
    });
    // Stopped, `a` has flushed both outputs: its file is final and `b` gets the rest.
    a.signal("TERM");
    assert!(
        a.wait_exit(Duration::from_secs(60)).success(),
        "a stops cleanly"
    );
    let metrics_a = std::fs::read_to_string(a.path("metrics.lp")).expect("a's metrics");
    let sorted = |t: &str| {
        let mut v: Vec<String> = t.lines().map(str::to_owned).collect();
        v.sort();
        v
    };
    let want = sorted(&metrics_a);
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let got = sorted(&std::fs::read_to_string(b.path("metrics.lp")).unwrap_or_default());
        if got == want || Instant::now() > deadline {
            assert_eq!(got, want, "metrics through OTLP differ");
            break;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    assert!(
        want.iter()
            .any(|l| l.contains("le=1.0") && l.contains(" rpc_seconds_bucket=5 ")),
        "{want:#?}"
    );
}
