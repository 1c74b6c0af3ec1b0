//! `outputs.remote_write`: the mapping (golden `testdata/remote_write/`, rendered from the
//! decoded request), wire details (field numbers, snappy block format, headers), auth, and
//! every answer of the status table against a scripted local server.

mod prometheus_roundtrip;
mod wire_matches_prost;

use std::fmt::Write as _;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use gleaner_api::{
    Batch, ComponentMetrics, FieldValue, LogRecord, Metric, MetricKind, Output, OutputErrorKind,
    Payload, SendReport, Stream,
};
use prost::Message as _;

use super::DESCRIPTOR;
use super::proto::{MetricMetadata, WriteRequest};
use crate::test_server::{Reply, TestServer, assert_golden};

const T0: i64 = 1_700_000_000_123_456_789;
const STALE_NAN: u64 = 0x7ff0_0000_0000_0002;

fn build(toml: &str) -> (Box<dyn Output>, Arc<ComponentMetrics>) {
    crate::test_server::build(&DESCRIPTOR, toml)
}

fn build_err(toml: &str) -> gleaner_api::ConfigError {
    crate::test_server::build_err(&DESCRIPTOR, toml)
}

fn encode(out: &dyn Output, metrics: Vec<Metric>) -> Vec<u8> {
    let mut buf = Vec::new();
    out.encode(&Batch::Metrics(metrics), &mut buf)
        .expect("encode");
    buf
}

/// One line per sample, `{name="value",...} value @ms`, then `# TYPE` lines for metadata.
fn render(req: &WriteRequest) -> String {
    let mut s = String::new();
    for ts in &req.timeseries {
        let labels: Vec<String> = ts
            .labels
            .iter()
            .map(|l| format!("{}={:?}", l.name, l.value))
            .collect();
        for sample in &ts.samples {
            let v = if sample.value.is_nan() {
                format!("NaN(0x{:016x})", sample.value.to_bits())
            } else {
                format!("{}", sample.value)
            };
            writeln!(s, "{{{}}} {v} @{}", labels.join(","), sample.timestamp).expect("write");
        }
    }
    for MetricMetadata {
        r#type,
        metric_family_name,
        help,
        unit,
    } in &req.metadata
    {
        writeln!(
            s,
            "# TYPE {metric_family_name} {type} help={help:?} unit={unit:?}"
        )
        .expect("write");
    }
    s
}

fn sample_metrics() -> Vec<Metric> {
    vec![
        // A scraped Prometheus series: name, labels, value and timestamp come out unchanged.
        Metric::new("prometheus", T0)
            .with_kind(MetricKind::Counter)
            .with_tag("Zone", "eu-1")
            .with_tag("job", "node")
            .with_tag("empty", "")
            .with_field("http_requests_total", FieldValue::Float(1027.0)),
        Metric::new("prometheus", T0)
            .with_kind(MetricKind::Histogram)
            .with_tag("le", "0.5")
            .with_field("rpc_seconds_bucket", FieldValue::Float(3.0)),
        Metric::new("prometheus", T0)
            .with_kind(MetricKind::Histogram)
            .with_field("rpc_seconds_sum", FieldValue::Float(1.25)),
        Metric::new("prometheus", T0 + 1_000_000)
            .with_kind(MetricKind::Gauge)
            .with_field("up", FieldValue::Float(f64::from_bits(STALE_NAN))),
        // A Telegraf-style metric: <measurement>_<field>, every value type.
        Metric::new("cpu", T0)
            .with_kind(MetricKind::Gauge)
            .with_tag("cpu", "cpu-total")
            .with_tag("host.name", "n1")
            .with_tag("9lives", "x")
            .with_field("usage_user", FieldValue::Float(1.5))
            .with_field("count", FieldValue::Int(-3))
            .with_field("big", FieldValue::UInt(42))
            .with_field("ok", FieldValue::Bool(true))
            .with_field("label", FieldValue::String("skipped".into())),
        // Out of order in the batch: sorted per series; the same ms twice keeps the last.
        Metric::new("temp", T0 + 2_000_000).with_field("c", FieldValue::Float(3.0)),
        Metric::new("temp", T0).with_field("c", FieldValue::Float(1.0)),
        Metric::new("temp", T0 + 2_000_001).with_field("c", FieldValue::Float(4.0)),
        Metric::new("weird-name.x", T0).with_field("a:b", FieldValue::Float(0.0)),
        Metric::new("only_strings", T0).with_field("s", FieldValue::String("x".into())),
    ]
}

#[test]
fn mapping_golden() {
    let (out, metrics) = build("metadata = true\n");
    let buf = encode(out.as_ref(), sample_metrics());
    let req = WriteRequest::decode(&buf[..]).expect("decode");
    assert_golden("remote_write/mapping.txt", render(&req).as_bytes());
    assert_eq!(metrics.dropped_count("string_field"), 2);
    assert_eq!(metrics.dropped_count("no_fields"), 1);
    assert_eq!(metrics.dropped_count("duplicate_sample"), 1);
}

#[test]
fn labels_sort_by_bytes_and_stale_markers_keep_their_bits() {
    let (out, _) = build("");
    let buf = encode(out.as_ref(), sample_metrics());
    let req = WriteRequest::decode(&buf[..]).expect("decode");
    for ts in &req.timeseries {
        let names: Vec<&str> = ts.labels.iter().map(|l| l.name.as_str()).collect();
        let mut sorted = names.clone();
        sorted.sort_unstable();
        assert_eq!(names, sorted);
        assert!(ts.labels.iter().all(|l| !l.value.is_empty()));
        assert!(
            ts.samples
                .windows(2)
                .all(|w| w[0].timestamp < w[1].timestamp)
        );
    }
    let first = req
        .timeseries
        .iter()
        .find(|t| t.labels.iter().any(|l| l.value == "http_requests_total"))
        .expect("http_requests_total");
    assert_eq!(first.labels[0].name, "Zone");
    assert_eq!(first.labels[1].name, "__name__");
    let up = req
        .timeseries
        .iter()
        .find(|t| t.labels.iter().any(|l| l.value == "up"))
        .expect("up");
    assert_eq!(up.samples[0].value.to_bits(), STALE_NAN);
    assert!(req.metadata.is_empty());
}

#[test]
fn a_series_from_separate_tag_sets_is_one_time_series_in_first_sample_order() {
    // Two chunks of one series decode into two sets with equal content (not one shared
    // set): their samples still make one series. A series of the same labels but another
    // name, and one with the same name but other labels, stay apart.
    let series = |ts: i64, name: &str, job: &str| {
        Metric::new("prometheus", ts)
            .with_tag("instance", "a:1")
            .with_tag("job", job)
            .with_field(name, FieldValue::Float(ts as f64))
    };
    let batch = vec![
        series(T0 + 2_000_000, "b", "x"),
        series(T0, "a", "x"),
        series(T0 + 1_000_000, "b", "y"),
        series(T0 + 1_000_000, "b", "x"),
        series(T0 + 3_000_000, "a", "x"),
    ];
    assert!(!gleaner_api::Tags::ptr_eq(&batch[0].tags, &batch[3].tags));
    let (out, _) = build("");
    let req = WriteRequest::decode(&encode(out.as_ref(), batch)[..]).expect("decode");
    let got: Vec<(String, Vec<i64>)> = req
        .timeseries
        .iter()
        .map(|t| {
            let labels: Vec<&str> = t.labels.iter().map(|l| l.value.as_str()).collect();
            let stamps = t
                .samples
                .iter()
                .map(|s| s.timestamp - T0 / 1_000_000)
                .collect();
            (labels.join(","), stamps)
        })
        .collect();
    assert_eq!(
        got,
        [
            ("b,a:1,x".to_owned(), vec![1, 2]),
            ("a,a:1,x".to_owned(), vec![0, 3]),
            ("b,a:1,y".to_owned(), vec![1]),
        ]
    );
}

#[test]
fn a_series_whose_labels_needed_cleaning_in_one_metric_is_still_one_series() {
    // The second metric's set holds an empty tag and a key to sanitize: its labels are
    // built, not taken from its set, and equal the first metric's, so one series.
    let batch = vec![
        Metric::new("prometheus", T0)
            .with_tag("job_name", "x")
            .with_field("a", FieldValue::Float(1.0)),
        Metric::new("prometheus", T0 + 1_000_000)
            .with_tag("empty", "")
            .with_tag("job.name", "x")
            .with_field("a", FieldValue::Float(2.0)),
    ];
    let (out, _) = build("");
    let req = WriteRequest::decode(&encode(out.as_ref(), batch)[..]).expect("decode");
    assert_eq!(
        render(&req),
        "{__name__=\"a\",job_name=\"x\"} 1 @1700000000123\n\
         {__name__=\"a\",job_name=\"x\"} 2 @1700000000124\n"
    );
    assert_eq!(req.timeseries.len(), 1);
}

#[test]
fn metadata_uses_field_3_and_help_field_4() {
    let req = WriteRequest {
        timeseries: Vec::new(),
        metadata: vec![MetricMetadata {
            r#type: 1,
            metric_family_name: "a".into(),
            help: "h".into(),
            unit: "u".into(),
        }],
    };
    let bytes = req.encode_to_vec();
    // Field 3, wire type 2 (0x1a); inside: type=1 (0x08 0x01), name (0x12), help (0x22),
    // unit (0x2a).
    assert_eq!(
        bytes,
        [
            0x1a, 0x0b, 0x08, 0x01, 0x12, 0x01, b'a', 0x22, 0x01, b'h', 0x2a, 0x01, b'u'
        ]
    );
}

#[test]
fn payloads_concatenate_into_one_request() {
    let (out, _) = build("");
    let m = sample_metrics();
    let mut both = encode(out.as_ref(), m[..2].to_vec());
    both.extend(encode(out.as_ref(), m[4..5].to_vec()));
    let req = WriteRequest::decode(&both[..]).expect("decode");
    assert_eq!(req.timeseries.len(), 2 + 4);
}

#[test]
fn logs_are_refused() {
    let (out, _) = build("");
    let mut buf = Vec::new();
    let logs = Batch::Logs(vec![LogRecord::new(T0, "x", Stream::Stdout)]);
    assert!(out.encode(&logs, &mut buf).is_err());
}

#[test]
fn config_errors_name_the_key() {
    let cases = [
        ("url = \"localhost:9090\"\n", "outputs.remote_write.0.url"),
        (
            "bearer_token = \"a\"\nbearer_token_file = \"/t\"\n",
            "outputs.remote_write.0.bearer_token_file",
        ),
        (
            "bearer_token = \"a\"\nusername = \"u\"\n",
            "outputs.remote_write.0.username",
        ),
        ("password = \"p\"\n", "outputs.remote_write.0.password"),
        (
            "bearer_token = \"\"\n",
            "outputs.remote_write.0.bearer_token",
        ),
        (
            "max_samples_per_request = 0\n",
            "outputs.remote_write.0.max_samples_per_request",
        ),
        (
            "headers = { \"X-Prometheus-Remote-Write-Version\" = \"2\" }\n",
            "outputs.remote_write.0.headers",
        ),
        ("key_file = \"/k\"\n", "outputs.remote_write.0.cert_file"),
        ("max_samples = 5\n", "outputs.remote_write.0.max_samples"),
    ];
    for (toml, key) in cases {
        let e = build_err(toml);
        assert_eq!(e.key.as_deref(), Some(key), "{toml}: {e}");
    }
}

fn payload(out: &dyn Output) -> Payload {
    let bytes = encode(out, sample_metrics()[..1].to_vec());
    Payload {
        bytes: Bytes::from(bytes),
        events: 1,
    }
}

#[tokio::test]
async fn request_shape() {
    let server = TestServer::start(vec![Reply::new(204, "")]).await;
    let (mut out, _) = build(&format!(
        "url = \"{}/api/v1/write\"\nheaders = {{ \"X-Scope-OrgID\" = \"team-a\" }}\nusername = \"u\"\npassword = \"p\"\n",
        server.url()
    ));
    let p = payload(out.as_ref());
    assert_eq!(out.send(p.clone()).await, Ok(SendReport::ALL_ACCEPTED));
    let q = &server.requests()[0];
    assert_eq!(q.path_and_query, "/api/v1/write");
    assert_eq!(q.header("content-encoding"), Some("snappy"));
    assert_eq!(q.header("content-type"), Some("application/x-protobuf"));
    assert_eq!(q.header("x-prometheus-remote-write-version"), Some("0.1.0"));
    assert_eq!(q.header("x-scope-orgid"), Some("team-a"));
    assert_eq!(q.header("authorization"), Some("Basic dTpw"));
    assert!(
        q.header("user-agent")
            .is_some_and(|u| u.starts_with("gleaner/"))
    );
    // Snappy block format: decodes with the raw decoder, not the framed one.
    let raw = snap::raw::Decoder::new()
        .decompress_vec(&q.body)
        .expect("snappy block");
    assert_eq!(raw, p.bytes);
}

#[tokio::test]
async fn bearer_token_file_is_reread() {
    let dir = tempfile::tempdir().expect("tempdir");
    let token = dir.path().join("token");
    std::fs::write(&token, "one\n").expect("write");
    let server = TestServer::start(vec![Reply::new(204, "")]).await;
    let (mut out, _) = build(&format!(
        "url = \"{}\"\nbearer_token_file = \"{}\"\n",
        server.url(),
        token.display()
    ));
    let p = payload(out.as_ref());
    out.send(p.clone()).await.expect("sent");
    // The token file is watched: the output reads it again after the watcher's event, which
    // this test hears from the same watcher.
    let mut heard = gleaner_api::file_watch::FileWatch::global().watch(&token);
    std::fs::write(&token, "two-rotated\n").expect("write");
    heard.changed().await;
    out.send(p.clone()).await.expect("sent");
    std::fs::remove_file(&token).expect("rm");
    let err = tokio::time::timeout(std::time::Duration::from_secs(10), async {
        loop {
            match out.send(p.clone()).await {
                Err(e) => break e,
                // An event of the write came after the read: the removal's is still due.
                Ok(_) => heard.changed().await,
            }
        }
    })
    .await
    .expect("the removal is seen");
    assert_eq!(err.kind, OutputErrorKind::Retryable);
    let mut auth: Vec<_> = server
        .requests()
        .iter()
        .map(|r| r.header("authorization").unwrap_or_default().to_owned())
        .collect();
    auth.dedup();
    assert_eq!(auth, ["Bearer one", "Bearer two-rotated"]);
}

#[tokio::test]
async fn answers_map_to_kinds() {
    let cases: Vec<(Reply, OutputErrorKind)> = vec![
        (
            Reply::new(400, "out of order sample"),
            OutputErrorKind::Permanent,
        ),
        (Reply::new(409, "conflict"), OutputErrorKind::Permanent),
        (Reply::new(401, "unauthorized"), OutputErrorKind::Retryable),
        (Reply::new(403, "forbidden"), OutputErrorKind::Retryable),
        (Reply::new(404, "not found"), OutputErrorKind::Retryable),
        (Reply::new(413, "too big"), OutputErrorKind::TooLarge),
        (
            Reply::new(429, "slow down").header("Retry-After", "3"),
            OutputErrorKind::RateLimited {
                retry_after: Some(Duration::from_secs(3)),
            },
        ),
        (
            Reply::new(429, "slow down"),
            OutputErrorKind::RateLimited { retry_after: None },
        ),
        (
            Reply::new(503, "").header("Retry-After", "2"),
            OutputErrorKind::RateLimited {
                retry_after: Some(Duration::from_secs(2)),
            },
        ),
        (Reply::new(503, ""), OutputErrorKind::Retryable),
        (Reply::new(500, "boom"), OutputErrorKind::Retryable),
    ];
    for (reply, kind) in cases {
        let status = reply.status;
        let server = TestServer::start(vec![reply]).await;
        let (mut out, _) = build(&format!("url = \"{}\"\n", server.url()));
        let p = payload(out.as_ref());
        let err = out.send(p).await.expect_err("error answer");
        assert_eq!(err.kind, kind, "status {status}: {err}");
    }
}

#[test]
fn batch_limits_come_from_config() {
    let (out, _) = build("max_samples_per_request = 500\n");
    assert_eq!(out.batch_limits().max_events, 500);
    let (out, _) = build("");
    assert_eq!(out.batch_limits().max_events, 2000);
}
