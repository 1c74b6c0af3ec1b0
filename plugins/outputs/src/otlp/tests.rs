//! `outputs.otlp`: the encoded requests (decoded back with the same messages: resource
//! grouping, semantic-convention names, severity, histogram and summary points), every answer
//! of the retry table and partial successes against a scripted local server (the sample is
//! checked from `src/sample_checks.rs`).

use std::sync::Arc;

use bytes::Bytes;
use gleaner_api::otlp::proto::{
    ExportLogsPartialSuccess, ExportLogsServiceRequest, ExportLogsServiceResponse,
    ExportMetricsServiceRequest, KeyValue, any_value::Value, metric::Data, number_data_point,
};
use gleaner_api::{
    Batch, BuildContext, ComponentMetrics, FieldValue, LogRecord, Metric, MetricKind, Output,
    OutputErrorKind, Payload, PluginConfig, SendReport, SharedAttributes, Stream,
};
use prost::Message as _;

use super::DESCRIPTOR;
use crate::test_server::{Reply, TestServer};

const T0: i64 = 1_700_000_000_123_456_789;

fn build(toml: &str) -> (Box<dyn Output>, Arc<ComponentMetrics>) {
    let mut cx = BuildContext::for_test("outputs.otlp.0");
    cx.metrics = ComponentMetrics::detached("otlp");
    let cfg = PluginConfig::from_toml_str("outputs.otlp.0", toml).expect("toml");
    let out = (DESCRIPTOR.build)(&cfg, &cx).unwrap_or_else(|e| panic!("build: {e}"));
    (out, cx.metrics)
}

fn s(v: &str) -> FieldValue {
    FieldValue::String(v.into())
}

fn text(kvs: &[KeyValue], key: &str) -> Option<String> {
    kvs.iter().find(|kv| kv.key == key).map(|kv| {
        match kv.value.as_ref().and_then(|v| v.value.as_ref()) {
            Some(Value::StringValue(s)) => s.clone(),
            Some(Value::IntValue(i)) => i.to_string(),
            other => format!("{other:?}"),
        }
    })
}

fn encode(out: &dyn Output, batch: Batch) -> Vec<u8> {
    let mut buf = Vec::new();
    out.encode(&batch, &mut buf).expect("encode");
    buf
}

pub(super) fn pod_records() -> Vec<LogRecord> {
    let shared = |pod: &str| -> SharedAttributes {
        vec![
            (
                "file".into(),
                s(&format!("/var/log/pods/shop_{pod}_u/app/0.log")),
            ),
            ("k8s.namespace".into(), s("shop")),
            ("k8s.pod".into(), s(pod)),
            ("k8s.pod_uid".into(), s(&format!("uid-{pod}"))),
            ("k8s.container".into(), s("app")),
            ("k8s.restart_count".into(), FieldValue::Int(0)),
        ]
        .into()
    };
    let (a, b) = (shared("web-1"), shared("web-2"));
    let mut out = Vec::new();
    for i in 0..6 {
        let sh = if i % 2 == 0 { &a } else { &b };
        let mut r = LogRecord::new(T0 + i, format!("line {i}"), Stream::Stdout);
        r.attributes = gleaner_api::Attributes::from_shared(Arc::clone(sh));
        out.push(r);
    }
    out[0].attributes.push("k8s.workload_kind", s("Deployment"));
    out[0].attributes.push("k8s.workload", s("web"));
    out[0].attributes.push("severity", s("error"));
    out[0]
        .attributes
        .push("trace_id", s("0102030405060708090a0b0c0d0e0f10"));
    out[0].attributes.push("status", FieldValue::Int(500));
    out[1].body = vec![0xff, 0xfe];
    out
}

#[test]
fn logs_group_by_pod_with_semantic_convention_names() {
    let (out, _) = build("");
    let buf = encode(out.as_ref(), Batch::Logs(pod_records()));
    assert_eq!(buf[0], b'L');
    let req = ExportLogsServiceRequest::decode(&buf[1..]).expect("decode");
    // web-1's first record names its deployment: a resource of its own.
    let pods: Vec<(String, Option<String>, usize)> = req
        .resource_logs
        .iter()
        .map(|rl| {
            let attrs = &rl.resource.as_ref().expect("resource").attributes;
            (
                text(attrs, "k8s.pod.name").expect("pod"),
                text(attrs, "k8s.deployment.name"),
                rl.scope_logs.iter().map(|s| s.log_records.len()).sum(),
            )
        })
        .collect();
    assert_eq!(
        pods,
        vec![
            ("web-1".into(), Some("web".into()), 1),
            ("web-2".into(), None, 3),
            ("web-1".into(), None, 2),
        ]
    );
    let res = &req.resource_logs[0]
        .resource
        .as_ref()
        .expect("resource")
        .attributes;
    assert_eq!(text(res, "k8s.namespace.name").as_deref(), Some("shop"));
    assert_eq!(text(res, "k8s.pod.uid").as_deref(), Some("uid-web-1"));
    assert_eq!(text(res, "k8s.container.name").as_deref(), Some("app"));
    assert_eq!(
        text(res, "k8s.container.restart_count").as_deref(),
        Some("0")
    );
    let r = &req.resource_logs[0].scope_logs[0].log_records[0];
    assert_eq!(r.time_unix_nano, T0 as u64);
    assert_eq!(r.severity_text, "error");
    assert_eq!(r.severity_number, 17);
    assert_eq!(r.trace_id, (1u8..=16).collect::<Vec<u8>>());
    assert_eq!(
        r.body.as_ref().and_then(|b| b.value.clone()),
        Some(Value::StringValue("line 0".into()))
    );
    assert_eq!(text(&r.attributes, "status").as_deref(), Some("500"));
    assert_eq!(
        text(&r.attributes, "log.iostream").as_deref(),
        Some("stdout")
    );
    assert!(text(&r.attributes, "file").is_some());
    for gone in ["k8s.pod", "severity", "trace_id", "k8s.workload"] {
        assert_eq!(
            text(&r.attributes, gone),
            None,
            "{gone} stays a record attribute"
        );
    }
    let bytes_body = &req.resource_logs[1].scope_logs[0].log_records[0];
    assert_eq!(
        bytes_body.body.as_ref().and_then(|b| b.value.clone()),
        Some(Value::BytesValue(vec![0xff, 0xfe]))
    );
}

fn histogram_metrics() -> Vec<Metric> {
    let sample = |field: &str, le: Option<&str>, v: f64| {
        let mut m = Metric::new("prometheus", T0)
            .with_kind(MetricKind::Histogram)
            .with_tag("job", "api")
            .with_tag("host", "node-1")
            .with_field(field, FieldValue::Float(v));
        if let Some(le) = le {
            m.insert_tag("le".into(), le.into());
        }
        m
    };
    vec![
        sample("rpc_seconds_bucket", Some("0.1"), 2.0),
        sample("rpc_seconds_bucket", Some("1.0"), 5.0),
        sample("rpc_seconds_bucket", Some("+Inf"), 7.0),
        sample("rpc_seconds_sum", None, 3.5),
        sample("rpc_seconds_count", None, 7.0),
        Metric::new("prometheus", T0)
            .with_kind(MetricKind::Summary)
            .with_tag("quantile", "0.5")
            .with_field("gc_seconds", FieldValue::Float(0.01)),
        Metric::new("prometheus", T0)
            .with_kind(MetricKind::Summary)
            .with_field("gc_seconds_sum", FieldValue::Float(1.5)),
        Metric::new("prometheus", T0)
            .with_kind(MetricKind::Summary)
            .with_field("gc_seconds_count", FieldValue::Float(30.0)),
        Metric::new("prometheus", T0)
            .with_kind(MetricKind::Counter)
            .with_field("http_requests_total", FieldValue::Float(42.0)),
        Metric::new("cpu", T0)
            .with_tag("core", "0")
            .with_field("usage_user", FieldValue::Float(1.5))
            .with_field("usage_system", FieldValue::Int(2))
            .with_field("state", s("busy")),
        // A histogram without its _count: sent sample by sample.
        Metric::new("prometheus", T0)
            .with_kind(MetricKind::Histogram)
            .with_tag("le", "+Inf")
            .with_field("broken_bucket", FieldValue::Float(1.0)),
    ]
}

#[test]
fn metrics_map_to_otlp_types_with_the_same_buckets() {
    let (out, metrics) = build("");
    let buf = encode(out.as_ref(), Batch::Metrics(histogram_metrics()));
    assert_eq!(buf[0], b'M');
    let req = ExportMetricsServiceRequest::decode(&buf[1..]).expect("decode");
    let all: Vec<_> = req
        .resource_metrics
        .iter()
        .flat_map(|r| r.scope_metrics.iter().flat_map(|s| &s.metrics))
        .collect();
    let find = |name: &str| {
        all.iter()
            .find(|m| m.name == name)
            .unwrap_or_else(|| panic!("{name} in {all:#?}"))
    };
    let Some(Data::Histogram(h)) = &find("rpc_seconds").data else {
        panic!("rpc_seconds is not a histogram");
    };
    assert_eq!(h.aggregation_temporality, 2);
    let p = &h.data_points[0];
    assert_eq!(p.explicit_bounds, vec![0.1, 1.0]);
    assert_eq!(p.bucket_counts, vec![2, 3, 2]);
    assert_eq!((p.count, p.sum), (7, Some(3.5)));
    assert_eq!(text(&p.attributes, "job").as_deref(), Some("api"));
    assert_eq!(text(&p.attributes, "le"), None);
    assert_eq!(
        text(
            &req.resource_metrics[0]
                .resource
                .as_ref()
                .expect("resource")
                .attributes,
            "host.name"
        )
        .as_deref(),
        Some("node-1")
    );
    let Some(Data::Summary(sm)) = &find("gc_seconds").data else {
        panic!("gc_seconds is not a summary");
    };
    let q = &sm.data_points[0];
    assert_eq!((q.count, q.sum), (30, 1.5));
    assert_eq!(q.quantile_values[0].quantile, 0.5);
    assert_eq!(q.quantile_values[0].value, 0.01);
    let Some(Data::Sum(sum)) = &find("http_requests_total").data else {
        panic!("a counter is a sum");
    };
    assert!(sum.is_monotonic);
    assert_eq!(sum.aggregation_temporality, 2);
    let cpu = find("cpu_usage_system");
    assert_eq!(
        text(&cpu.metadata, "gleaner.measurement").as_deref(),
        Some("cpu")
    );
    assert_eq!(
        text(&cpu.metadata, "prometheus.type").as_deref(),
        Some("unknown")
    );
    let Some(Data::Gauge(g)) = &cpu.data else {
        panic!("untyped is a gauge");
    };
    assert_eq!(
        g.data_points[0].value,
        Some(number_data_point::Value::AsInt(2))
    );
    let broken = find("broken_bucket");
    assert_eq!(
        text(&broken.metadata, "prometheus.type").as_deref(),
        Some("histogram")
    );
    assert!(all.iter().all(|m| m.name != "cpu_state"));
    assert_eq!(metrics.dropped_count("string_field"), 1);
}

async fn send(out: &mut dyn Output, batch: Batch) -> Result<SendReport, gleaner_api::OutputError> {
    let mut buf = Vec::new();
    out.encode(&batch, &mut buf).expect("encode");
    let events = batch.len();
    out.send(Payload {
        bytes: Bytes::from(buf),
        events,
    })
    .await
}

#[tokio::test]
async fn posts_protobuf_to_the_signal_paths_with_gzip_and_auth() {
    let server = TestServer::start(vec![Reply::new(200, "")]).await;
    let (mut out, _) = build(&format!(
        "endpoint = \"{}/\"\nbearer_token = \"t0k\"\nheaders = {{ \"X-Tenant\" = \"a\" }}\n",
        server.url()
    ));
    send(out.as_mut(), Batch::Logs(pod_records()))
        .await
        .expect("logs");
    send(out.as_mut(), Batch::Metrics(histogram_metrics()))
        .await
        .expect("metrics");
    let reqs = server.requests();
    assert_eq!(reqs[0].path_and_query, "/v1/logs");
    assert_eq!(reqs[1].path_and_query, "/v1/metrics");
    for r in &reqs {
        assert_eq!(r.header("content-type"), Some("application/x-protobuf"));
        assert_eq!(r.header("content-encoding"), Some("gzip"));
        assert_eq!(r.header("authorization"), Some("Bearer t0k"));
        assert_eq!(r.header("x-tenant"), Some("a"));
    }
    let logs = ExportLogsServiceRequest::decode(reqs[0].body.as_slice()).expect("decode");
    assert_eq!(logs.resource_logs.len(), 3);
}

#[tokio::test]
async fn answers_follow_the_otlp_retry_rules() {
    for (status, retry_after, kind) in [
        (
            429,
            Some("7"),
            OutputErrorKind::RateLimited {
                retry_after: Some(std::time::Duration::from_secs(7)),
            },
        ),
        (
            429,
            None,
            OutputErrorKind::RateLimited { retry_after: None },
        ),
        (502, None, OutputErrorKind::Retryable),
        (
            503,
            Some("2"),
            OutputErrorKind::RateLimited {
                retry_after: Some(std::time::Duration::from_secs(2)),
            },
        ),
        (504, None, OutputErrorKind::Retryable),
        (400, None, OutputErrorKind::Permanent),
        (401, None, OutputErrorKind::Permanent),
        (404, None, OutputErrorKind::Permanent),
        (500, None, OutputErrorKind::Permanent),
        (413, None, OutputErrorKind::TooLarge),
    ] {
        let mut reply = Reply::new(status, "nope");
        if let Some(r) = retry_after {
            reply = reply.header("retry-after", r);
        }
        let server = TestServer::start(vec![reply]).await;
        let (mut out, _) = build(&format!("endpoint = \"{}\"\n", server.url()));
        let err = send(out.as_mut(), Batch::Logs(pod_records()))
            .await
            .expect_err("error answer");
        assert_eq!(err.kind, kind, "status {status}: {err}");
    }
}

#[tokio::test]
async fn partial_success_is_counted() {
    let body = ExportLogsServiceResponse {
        partial_success: Some(ExportLogsPartialSuccess {
            rejected_log_records: 2,
            error_message: "too old".into(),
        }),
    }
    .encode_to_vec();
    let server = TestServer::start(vec![Reply::bytes(200, body)]).await;
    let (mut out, metrics) = build(&format!("endpoint = \"{}\"\n", server.url()));
    let report = send(out.as_mut(), Batch::Logs(pod_records()))
        .await
        .expect("sent");
    assert_eq!(report, SendReport { rejected: 2 });
    let report = send(out.as_mut(), Batch::Logs(pod_records()))
        .await
        .expect("sent");
    assert_eq!(report.rejected, 2);
    assert_eq!(metrics.dropped_count("partial_success"), 4);
}

#[test]
fn endpoint_must_be_a_url() {
    let cx = BuildContext::for_test("outputs.otlp.0");
    let cfg = PluginConfig::from_toml_str("outputs.otlp.0", "endpoint = \"collector:4318\"\n")
        .expect("toml");
    let Err(e) = (DESCRIPTOR.build)(&cfg, &cx) else {
        panic!("accepted a bad endpoint");
    };
    assert!(e.to_string().contains("endpoint"), "{e}");
}

mod wire_matches_prost;
