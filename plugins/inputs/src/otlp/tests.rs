//! `inputs.otlp`: OTLP/JSON fixtures (`testdata/otlp/`) decoded into records and metrics
//! (the documented mapping), and a real server on `127.0.0.1:0` answering protobuf, JSON and
//! gzip requests only after the test (the pipeline) acknowledges, 503 when it does not, and
//! partial success for what it rejects.

use std::io::Write as _;
use std::net::SocketAddr;
use std::time::Duration;

use bytes::Bytes;
use gleaner_api::otlp::proto::{
    AnyValue, ExportLogsServiceRequest, ExportLogsServiceResponse, ExportMetricsServiceResponse,
    KeyValue, LogRecord as OtlpRecord, Resource, ResourceLogs, ScopeLogs, any_value::Value,
};
use gleaner_api::test_util::input_context;
use gleaner_api::{
    Batch, BuildContext, Envelope, FieldValue, LogRecord, Metric, PluginConfig, RunMode, Stream,
};
use http_body_util::{BodyExt, Full};
use hyper::{Request, StatusCode};
use hyper_util::rt::TokioIo;
use prost::Message as _;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::mpsc;

use super::*;

const LOGS_JSON: &str = include_str!("../../testdata/otlp/logs.json");
const METRICS_JSON: &str = include_str!("../../testdata/otlp/metrics.json");
const WAIT: Duration = Duration::from_secs(10);

fn attrs(r: &LogRecord) -> Vec<(String, FieldValue)> {
    r.attributes
        .iter()
        .map(|(k, v)| (k.to_string_owned(), v.clone()))
        .collect()
}

fn s(v: &str) -> FieldValue {
    FieldValue::String(v.into())
}

#[test]
fn json_logs_decode_with_the_documented_mapping() {
    let req = json::logs_request(LOGS_JSON.as_bytes()).expect("json");
    let d = decode::logs(req, 5);
    assert_eq!(d.rejected, 0);
    let [first, second] = d.events.as_slice() else {
        panic!("two records: {:?}", d.events);
    };
    assert_eq!(first.timestamp, 1_700_000_000_123_456_789);
    assert_eq!(first.body, b"payment failed");
    assert_eq!(first.stream, Stream::Stderr);
    assert_eq!(
        attrs(first),
        vec![
            ("resource.service.name".into(), s("checkout")),
            ("k8s.pod".into(), s("web-1")),
            ("k8s.namespace".into(), s("shop")),
            ("k8s.workload_kind".into(), s("Deployment")),
            ("k8s.workload".into(), s("web")),
            ("scope.name".into(), s("app.logger")),
            ("scope.version".into(), s("2.0")),
            ("severity".into(), s("ERROR")),
            ("trace_id".into(), s("5b8efff798038103d269b633813fc60c")),
            ("span_id".into(), s("eee19b7ec3c1b174")),
            ("trace_flags".into(), FieldValue::Int(1)),
            ("order.id".into(), FieldValue::Int(9_007_199_254_740_993)),
            ("retry".into(), FieldValue::Bool(true)),
            ("ratio".into(), FieldValue::Float(0.25)),
            ("tags".into(), s(r#"["a",2]"#)),
        ]
    );
    // No time: the observed time; INFO implies 9, so 10 is kept; a map body is its JSON.
    assert_eq!(second.timestamp, 1_700_000_001_000_000_000);
    assert_eq!(second.body, br#"{"msg":"hi"}"#);
    assert_eq!(
        second.attribute("severity_number"),
        Some(&FieldValue::Int(10))
    );
    assert_eq!(second.stream, Stream::Unknown);
}

fn line(m: &Metric) -> String {
    let tags: Vec<String> = m.tags.iter().map(|(k, v)| format!("{k}={v}")).collect();
    let fields: Vec<String> = m.fields.iter().map(|(k, v)| format!("{k}={v:?}")).collect();
    format!(
        "{} {} {} {} {}",
        m.kind.as_str(),
        m.measurement,
        tags.join(","),
        fields.join(","),
        m.timestamp
    )
}

#[test]
fn json_metrics_decode_into_prometheus_shaped_samples() {
    let req = json::metrics_request(METRICS_JSON.as_bytes()).expect("json");
    let d = decode::metrics(req, 5);
    let got: Vec<String> = d.events.iter().map(line).collect();
    let base = "host=node-1,scope.name=meter";
    let t = 1_700_000_000_000_000_000i64;
    let want = vec![
        format!("counter prometheus code=200,{base} http_requests_total=Int(42) {t}"),
        format!("gauge prometheus {base} queue_depth=Float(3.5) {t}"),
        format!(
            "histogram prometheus host=node-1,le=0.1,scope.name=meter rpc_seconds_bucket=Float(2.0) {t}"
        ),
        format!(
            "histogram prometheus host=node-1,le=1.0,scope.name=meter rpc_seconds_bucket=Float(5.0) {t}"
        ),
        format!(
            "histogram prometheus host=node-1,le=+Inf,scope.name=meter rpc_seconds_bucket=Float(7.0) {t}"
        ),
        format!("histogram prometheus {base} rpc_seconds_sum=Float(3.5) {t}"),
        format!("histogram prometheus {base} rpc_seconds_count=Float(7.0) {t}"),
        format!(
            "summary prometheus host=node-1,quantile=0.5,scope.name=meter gc_seconds=Float(0.01) {t}"
        ),
        format!("summary prometheus {base} gc_seconds_sum=Float(1.5) {t}"),
        format!("summary prometheus {base} gc_seconds_count=Float(30.0) {t}"),
        format!("untyped cpu core=0,{base} usage_user=Float(1.5),usage_system=Int(2) {t}"),
    ];
    assert_eq!(got, want);
    // Two exponential histogram points and one point without a value.
    assert_eq!(d.rejected, 3);
    assert!(d.message.contains("exponential"), "{}", d.message);
}

#[test]
fn bad_json_is_an_error_not_a_panic() {
    for bad in [
        "[]",
        "{",
        r#"{"resourceLogs": 3}"#,
        r#"{"resourceLogs": [{"scopeLogs": [{"logRecords": [{"traceId": "xyz"}]}]}]}"#,
        r#"{"resourceLogs": [{"scopeLogs": [{"logRecords": [{"timeUnixNano": "-1"}]}]}]}"#,
    ] {
        assert!(json::logs_request(bad.as_bytes()).is_err(), "{bad}");
    }
}

struct Harness {
    addr: SocketAddr,
    rx: mpsc::Receiver<Envelope>,
    _trigger: gleaner_api::ShutdownTrigger,
}

async fn start(toml: &str) -> Harness {
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let addr = listener.local_addr().expect("addr");
    let bcx = BuildContext::for_test("inputs.otlp.0");
    let (cx, rx, trigger) = input_context(&bcx, RunMode::Continuous, 4);
    let cfg = PluginConfig::from_toml_str("inputs.otlp.0", toml).expect("toml");
    tokio::spawn(serve_on(listener, config::parse(&cfg).expect("config"), cx));
    Harness {
        addr,
        rx,
        _trigger: trigger,
    }
}

async fn post(
    addr: SocketAddr,
    path: &str,
    headers: &[(&str, &str)],
    body: Vec<u8>,
) -> (StatusCode, hyper::HeaderMap, Bytes) {
    let stream = TcpStream::connect(addr).await.expect("connect");
    let (mut sender, conn) = hyper::client::conn::http1::handshake(TokioIo::new(stream))
        .await
        .expect("handshake");
    tokio::spawn(conn);
    let mut req = Request::post(path).header("host", "localhost");
    for (k, v) in headers {
        req = req.header(*k, *v);
    }
    let resp = sender
        .send_request(req.body(Full::new(Bytes::from(body))).expect("request"))
        .await
        .expect("answer");
    let status = resp.status();
    let headers = resp.headers().clone();
    let body = resp.into_body().collect().await.expect("body").to_bytes();
    (status, headers, body)
}

pub(super) fn proto_logs(n: usize) -> Vec<u8> {
    let kv = |k: &str, v: &str| KeyValue {
        key: k.to_owned(),
        value: Some(AnyValue {
            value: Some(Value::StringValue(v.to_owned())),
        }),
    };
    ExportLogsServiceRequest {
        resource_logs: vec![ResourceLogs {
            resource: Some(Resource {
                attributes: vec![kv("k8s.pod.name", "p")],
                dropped_attributes_count: 0,
            }),
            scope_logs: vec![ScopeLogs {
                scope: None,
                log_records: (0..n)
                    .map(|i| OtlpRecord {
                        time_unix_nano: 1 + i as u64,
                        body: Some(AnyValue {
                            value: Some(Value::StringValue(format!("m{i}"))),
                        }),
                        ..OtlpRecord::default()
                    })
                    .collect(),
                schema_url: String::new(),
            }],
            schema_url: String::new(),
        }],
    }
    .encode_to_vec()
}

#[tokio::test]
async fn answers_only_after_the_buffer_acknowledges() {
    let mut h = start("listen = \"127.0.0.1:0\"\n").await;
    let addr = h.addr;
    let call = tokio::spawn(async move {
        post(
            addr,
            "/v1/logs",
            &[("content-type", "application/x-protobuf")],
            proto_logs(3),
        )
        .await
    });
    let env = tokio::time::timeout(WAIT, h.rx.recv())
        .await
        .expect("batch")
        .expect("open");
    let Batch::Logs(records) = &env.batch else {
        panic!("logs");
    };
    assert_eq!(records.len(), 3);
    assert_eq!(records[2].attribute("k8s.pod"), Some(&s("p")));
    // Not answered before the acknowledgement.
    tokio::time::sleep(Duration::from_millis(50)).await;
    assert!(
        !call.is_finished(),
        "answered before the buffer took the batch"
    );
    env.ack.expect("ack token").ack();
    let (status, headers, body) = tokio::time::timeout(WAIT, call)
        .await
        .expect("answer")
        .expect("task");
    assert_eq!(status, StatusCode::OK);
    assert_eq!(headers["content-type"], "application/x-protobuf");
    let resp = ExportLogsServiceResponse::decode(body).expect("response");
    assert_eq!(resp.partial_success, None);
}

#[tokio::test]
async fn a_failed_batch_gets_503_with_retry_after() {
    let mut h = start("listen = \"127.0.0.1:0\"\n").await;
    let addr = h.addr;
    let call = tokio::spawn(async move {
        post(
            addr,
            "/v1/logs",
            &[("content-type", "application/x-protobuf")],
            proto_logs(1),
        )
        .await
    });
    let env = tokio::time::timeout(WAIT, h.rx.recv())
        .await
        .expect("batch")
        .expect("open");
    env.ack.expect("ack token").fail();
    let (status, headers, _) = tokio::time::timeout(WAIT, call)
        .await
        .expect("answer")
        .expect("task");
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(headers["retry-after"], "1");
}

#[tokio::test]
async fn buffers_that_do_not_take_the_batch_in_time_get_503() {
    // Nobody reads the pipeline: the batches sit unacknowledged, then the channel is full.
    let h = start("listen = \"127.0.0.1:0\"\nwrite_timeout = \"200ms\"\n").await;
    let pb = [("content-type", "application/x-protobuf")];
    for _ in 0..6 {
        let (status, headers, _) = post(h.addr, "/v1/logs", &pb, proto_logs(2)).await;
        assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE);
        assert_eq!(headers["retry-after"], "1");
    }
    drop(h.rx);
}

#[tokio::test]
async fn gzip_json_metrics_get_a_partial_success_in_json() {
    let mut h = start("listen = \"127.0.0.1:0\"\n").await;
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    gz.write_all(METRICS_JSON.as_bytes()).expect("gzip");
    let body = gz.finish().expect("gzip");
    let addr = h.addr;
    let call = tokio::spawn(async move {
        post(
            addr,
            "/v1/metrics",
            &[
                ("content-type", "application/json"),
                ("content-encoding", "gzip"),
            ],
            body,
        )
        .await
    });
    let env = tokio::time::timeout(WAIT, h.rx.recv())
        .await
        .expect("batch")
        .expect("open");
    assert_eq!(env.batch.len(), 11);
    env.ack.expect("ack token").ack();
    let (status, _, body) = tokio::time::timeout(WAIT, call)
        .await
        .expect("answer")
        .expect("task");
    assert_eq!(status, StatusCode::OK);
    let v: serde_json::Value = serde_json::from_slice(&body).expect("json answer");
    assert_eq!(v["partialSuccess"]["rejectedDataPoints"], "3");
    let _ = ExportMetricsServiceResponse::default();
}

#[tokio::test]
async fn bad_requests_are_refused_with_their_reason() {
    let h = start("listen = \"127.0.0.1:0\"\nmax_body_size = \"1KiB\"\n").await;
    let pb = [("content-type", "application/x-protobuf")];
    let (status, _, _) = post(h.addr, "/v1/logs", &pb, b"\xff\xff\xff".to_vec()).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    let (status, _, _) = post(
        h.addr,
        "/v1/logs",
        &[("content-type", "text/plain")],
        Vec::new(),
    )
    .await;
    assert_eq!(status, StatusCode::UNSUPPORTED_MEDIA_TYPE);
    let (status, _, _) = post(h.addr, "/v1/traces", &pb, Vec::new()).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let (status, _, _) = post(h.addr, "/v1/logs", &pb, proto_logs(100)).await;
    assert_eq!(status, StatusCode::PAYLOAD_TOO_LARGE);
    let gz = [
        ("content-type", "application/x-protobuf"),
        ("content-encoding", "gzip"),
    ];
    let (status, _, _) = post(h.addr, "/v1/logs", &gz, b"not gzip".to_vec()).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
}

#[test]
fn the_sample_is_the_plugins() {
    // Every commented option shows its default: `check_sample` (run for every plugin from
    // src/sample_checks.rs).
    assert!(DESCRIPTOR.sample.starts_with("[[inputs.otlp]]\n"));
}

mod wire_matches_prost;
