//! `outputs.remote_write` against a real Prometheus 2.x (`--web.enable-remote-write-
//! receiver`): series come back with exactly their name, labels (including one that sorts
//! before `__name__`), value and timestamp; an out-of-order sample is refused (400) and that
//! is a permanent error; the binary delivers what `inputs.http_listener` took.
//!
//! Timestamps are a few seconds old, not fixed: Prometheus refuses samples older than its
//! head block ("out of bounds").

use std::collections::BTreeMap;

use gleaner_api::{Batch, FieldValue, Metric, MetricKind, OutputErrorKind, SendReport, now_ns};
use gleaner_e2e::peers::{Peer, encode_query_value};
use gleaner_e2e::{Agent, free_port, http};
use serde_json::Value;

use super::{build_output, deliver, runtime, wait_for};

/// One stored sample: labels, timestamp (ms), value as Prometheus prints it.
#[derive(Debug, PartialEq)]
struct Series {
    labels: BTreeMap<String, String>,
    timestamp_ms: i64,
    value: String,
}

/// Every raw sample of the series matching `selector` in the 5 minutes before `at_ms`
/// (a range-vector query: samples come back with their own timestamps and names).
fn instant(prom: &Peer, selector: &str, at_ms: i64) -> Vec<Series> {
    let at = format!("{}.{:03}", at_ms / 1000, at_ms % 1000);
    let r = prom.get(&format!(
        "/api/v1/query?query={}&time={at}",
        encode_query_value(&format!("{selector}[5m]"))
    ));
    assert_eq!(r.status, 200, "{}", r.body);
    let v: Value = serde_json::from_str(&r.body).expect("json");
    assert_eq!(v["status"], "success", "{}", r.body);
    let mut out = Vec::new();
    for series in v["data"]["result"].as_array().into_iter().flatten() {
        let labels: BTreeMap<String, String> = series["metric"]
            .as_object()
            .expect("metric")
            .iter()
            .map(|(k, v)| (k.clone(), v.as_str().expect("label").to_owned()))
            .collect();
        for pair in series["values"].as_array().expect("values") {
            let ts = pair[0].as_f64().expect("timestamp");
            out.push(Series {
                labels: labels.clone(),
                timestamp_ms: (ts * 1000.0).round() as i64,
                value: pair[1].as_str().expect("value").to_owned(),
            });
        }
    }
    out.sort_by(|a, b| {
        a.labels
            .cmp(&b.labels)
            .then(a.timestamp_ms.cmp(&b.timestamp_ms))
    });
    out
}

fn labels(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
    pairs
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect()
}

/// A recent timestamp in ns on a whole millisecond.
fn recent_ns(seconds_ago: i64) -> i64 {
    (now_ns() / 1_000_000 - seconds_ago * 1000) * 1_000_000
}

#[test]
fn remote_write_series_come_back_exactly() {
    let prom = Peer::prometheus();
    let rt = runtime();
    let (mut out, metrics) = build_output(
        "remote_write",
        &format!("url = \"{}/api/v1/write\"\n", prom.url()),
    );
    let t = recent_ns(20);
    let t_ms = t / 1_000_000;
    let batch = vec![
        Metric::new("prometheus", t)
            .with_kind(MetricKind::Counter)
            .with_tag("Zone", "eu-1")
            .with_tag("job", "node")
            .with_tag("path", "/a b,\"c\"=ü")
            .with_tag("empty", "")
            .with_field("http_requests_total", FieldValue::Float(1027.0)),
        Metric::new("cpu", t + 1_000_000)
            .with_tag("cpu", "cpu-total")
            .with_tag("host.name", "n1")
            .with_field("usage_user", FieldValue::Float(1.5))
            .with_field("ok", FieldValue::Bool(true))
            .with_field("note", FieldValue::String("skipped".into())),
    ];
    let r = deliver(&rt, out.as_mut(), &Batch::Metrics(batch));
    assert_eq!(r, Ok(SendReport::ALL_ACCEPTED), "{}", prom.log());
    assert_eq!(metrics.dropped_count("string_field"), 1);

    assert_eq!(
        instant(&prom, "http_requests_total", t_ms + 2000),
        vec![Series {
            labels: labels(&[
                ("Zone", "eu-1"),
                ("__name__", "http_requests_total"),
                ("job", "node"),
                ("path", "/a b,\"c\"=ü"),
            ]),
            timestamp_ms: t_ms,
            value: "1027".to_owned(),
        }]
    );
    assert_eq!(
        instant(&prom, "{__name__=~\"cpu_.*\"}", t_ms + 2000),
        vec![
            Series {
                labels: labels(&[
                    ("__name__", "cpu_ok"),
                    ("cpu", "cpu-total"),
                    ("host_name", "n1"),
                ]),
                timestamp_ms: t_ms + 1,
                value: "1".to_owned(),
            },
            Series {
                labels: labels(&[
                    ("__name__", "cpu_usage_user"),
                    ("cpu", "cpu-total"),
                    ("host_name", "n1"),
                ]),
                timestamp_ms: t_ms + 1,
                value: "1.5".to_owned(),
            },
        ]
    );
}

#[test]
fn remote_write_out_of_order_sample_is_permanent() {
    let prom = Peer::prometheus();
    let rt = runtime();
    let (mut out, _) = build_output(
        "remote_write",
        &format!("url = \"{}/api/v1/write\"\n", prom.url()),
    );
    let m = |t: i64, v: f64| {
        Batch::Metrics(vec![
            Metric::new("prometheus", t).with_field("ooo_gauge", FieldValue::Float(v)),
        ])
    };
    let t = recent_ns(5);
    assert_eq!(
        deliver(&rt, out.as_mut(), &m(t, 1.0)),
        Ok(SendReport::ALL_ACCEPTED)
    );
    let err = deliver(&rt, out.as_mut(), &m(t - 60_000_000_000, 2.0)).expect_err("out of order");
    assert_eq!(err.kind, OutputErrorKind::Permanent, "{err}");
    assert!(err.message.contains("400"), "{err}");
}

#[test]
fn agent_delivers_listener_writes_to_prometheus() {
    let prom = Peer::prometheus();
    let listen = format!("127.0.0.1:{}", free_port());
    let mut agent = Agent::start(&format!(
        r#"[agent]
omit_hostname = true
http_listen = "{{telemetry}}"
flush_interval = "100ms"

[[inputs.http_listener]]
listen = "{listen}"

[[outputs.remote_write]]
url = "{}/api/v1/write"
"#,
        prom.url()
    ));
    let t = recent_ns(10);
    let t_ms = t / 1_000_000;
    let body = format!(
        "prometheus,Zone=eu,job=node node_load1=0.25 {t}\ncpu,cpu=cpu0 usage_idle=99.5 {t}\n"
    );
    let r = http(
        &listen,
        "POST",
        "/write?db=any",
        &[("Content-Type", "text/plain")],
        body.as_bytes(),
    )
    .expect("POST /write");
    assert_eq!(r.status, 204, "{}", r.body);
    let got = wait_for("series in prometheus", || {
        let s = instant(
            &prom,
            "{__name__=~\"node_load1|cpu_usage_idle\"}",
            t_ms + 1000,
        );
        (s.len() == 2).then_some(s)
    });
    assert_eq!(
        got,
        vec![
            Series {
                labels: labels(&[("Zone", "eu"), ("__name__", "node_load1"), ("job", "node")]),
                timestamp_ms: t_ms,
                value: "0.25".to_owned(),
            },
            Series {
                labels: labels(&[("__name__", "cpu_usage_idle"), ("cpu", "cpu0")]),
                timestamp_ms: t_ms,
                value: "99.5".to_owned(),
            },
        ]
    );
    agent.signal("TERM");
    assert!(
        agent
            .wait_exit(std::time::Duration::from_secs(30))
            .success()
    );
}
