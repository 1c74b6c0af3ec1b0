//! `outputs.influxdb`: golden encodings (`testdata/influxdb/`), config validation, and every
//! answer of the status table against a scripted local server.

use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use gleaner_api::{
    Batch, ComponentMetrics, FieldValue, LogRecord, Metric, MetricKind, Output, OutputErrorKind,
    Payload, PluginConfig, SendReport, Stream,
};

use super::DESCRIPTOR;
use crate::test_server::{Reply, TestServer, assert_golden};

const T0: i64 = 1_700_000_000_123_456_789;

fn build(toml: &str) -> (Box<dyn Output>, Arc<ComponentMetrics>) {
    crate::test_server::build(&DESCRIPTOR, toml)
}

fn build_err(toml: &str) -> gleaner_api::ConfigError {
    crate::test_server::build_err(&DESCRIPTOR, toml)
}

fn encode(out: &dyn Output, batch: &Batch) -> Vec<u8> {
    let mut buf = Vec::new();
    out.encode(batch, &mut buf).expect("encode");
    buf
}

/// Metrics exercising every escape and value type.
pub(crate) fn tricky_metrics() -> Vec<Metric> {
    vec![
        Metric::new("weather report", T0)
            .with_kind(MetricKind::Gauge)
            .with_tag("location", "us,midwest")
            .with_tag("station=id", "a b")
            .with_tag("empty", "")
            .with_tag("trailing", "back\\")
            .with_field("temperature", FieldValue::Float(82.5))
            .with_field("humidity", FieldValue::Int(71))
            .with_field("count", FieldValue::UInt(3))
            .with_field("big", FieldValue::UInt(u64::MAX))
            .with_field("ok", FieldValue::Bool(true))
            .with_field("note", FieldValue::String("say \"hi\" \\ bye".into())),
        Metric::new("m,x", T0 + 1)
            .with_tag("tab\tkey", "new\nline")
            .with_field("f=k y", FieldValue::Float(-1.5e-7))
            .with_field("nan", FieldValue::Float(f64::NAN))
            .with_field("inf", FieldValue::Float(f64::INFINITY)),
        Metric::new("unicode", T0 + 2)
            .with_tag("tag", "ünï cødé")
            .with_field("f", FieldValue::String("多言語 ✓\nsecond line".into())),
        Metric::new("all_nan", T0 + 3).with_field("x", FieldValue::Float(f64::NAN)),
    ]
}

fn logs() -> Vec<LogRecord> {
    vec![
        LogRecord::new(T0, "GET /index.html 200", Stream::Stdout)
            .with_attribute("k8s.namespace", FieldValue::String("shop".into()))
            .with_attribute("k8s.pod", FieldValue::String("web-7d9f".into()))
            .with_attribute("file", FieldValue::String("/var/log/pods/x/0.log".into()))
            .with_attribute("line", FieldValue::UInt(42))
            .with_attribute("message", FieldValue::String("shadowed".into())),
        LogRecord::new(
            T0 + 1,
            b"bad \xff utf8, \"quoted\"".to_vec(),
            Stream::Unknown,
        ),
    ]
}

#[test]
fn metrics_golden_default() {
    let (out, metrics) = build("url = \"http://127.0.0.1:1\"\n");
    let buf = encode(out.as_ref(), &Batch::Metrics(tricky_metrics()));
    assert_golden("influxdb/metrics.lp", &buf);
    assert_eq!(metrics.dropped_count("nan_or_inf_field"), 3);
    assert_eq!(metrics.dropped_count("no_fields"), 1);
}

#[test]
fn trailing_backslashes_are_counted_not_taken_for_nan() {
    let (out, metrics) = build("url = \"http://127.0.0.1:1\"\n");
    let batch = Batch::Metrics(vec![
        Metric::new("up", T0)
            .with_tag("dir", "C:\\dir\\")
            .with_tag("gone", "\\")
            .with_field("\\", FieldValue::Int(1))
            .with_field("value", FieldValue::Float(1.0)),
    ]);
    let buf = encode(out.as_ref(), &batch);
    assert_eq!(
        String::from_utf8(buf).unwrap(),
        format!("up,dir=C:\\dir value=1 {T0}\n")
    );
    assert_eq!(metrics.dropped_count("nan_or_inf_field"), 0);
    assert_eq!(metrics.dropped_count("empty_field_key"), 1);
    assert_eq!(metrics.dropped_count("empty_tag"), 1);
    assert_eq!(metrics.dropped_count("trailing_backslash"), 1);
}

#[test]
fn metrics_golden_seconds_with_uints() {
    let (out, _) = build("url = \"http://127.0.0.1:1\"\nprecision = \"s\"\nuint_support = true\n");
    let buf = encode(out.as_ref(), &Batch::Metrics(tricky_metrics()));
    assert_golden("influxdb/metrics_s_uint.lp", &buf);
}

#[test]
fn logs_golden() {
    let (out, _) = build("url = \"http://127.0.0.1:1\"\n");
    let buf = encode(out.as_ref(), &Batch::Logs(logs()));
    assert_golden("influxdb/logs.lp", &buf);
}

#[test]
fn encoded_lines_parse_back() {
    let (out, _) = build("url = \"http://127.0.0.1:1\"\nprecision = \"ms\"\n");
    let buf = encode(out.as_ref(), &Batch::Metrics(tricky_metrics()));
    let parsed = gleaner_api::line_protocol::parse_lines(
        &buf,
        gleaner_api::line_protocol::Precision::Milliseconds,
        0,
    );
    assert!(parsed.errors.is_empty(), "{:?}", parsed.errors);
    assert_eq!(parsed.metrics.len(), 3);
    assert_eq!(parsed.metrics[0].measurement, "weather report");
    assert_eq!(parsed.metrics[0].timestamp, T0 / 1_000_000 * 1_000_000);
    assert_eq!(
        parsed.metrics[0].field("big"),
        Some(&FieldValue::Int(i64::MAX))
    );
}

#[test]
fn config_errors_name_the_key() {
    let cases = [
        ("url = \"x\"\nurls = [\"y\"]\n", "outputs.influxdb.0.urls"),
        ("url = \"ftp://h\"\n", "outputs.influxdb.0.url"),
        (
            "urls = [\"http://a\", \"nope\"]\n",
            "outputs.influxdb.0.urls",
        ),
        (
            "precision = \"m\"\napi = \"v2\"\norg = \"o\"\nbucket = \"b\"\ntoken = \"t\"\n",
            "outputs.influxdb.0.precision",
        ),
        ("precision = \"xs\"\n", "outputs.influxdb.0.precision"),
        (
            "api = \"v2\"\nbucket = \"b\"\ntoken = \"t\"\n",
            "outputs.influxdb.0.org",
        ),
        (
            "api = \"v2\"\norg = \"o\"\nbucket = \"b\"\n",
            "outputs.influxdb.0.token",
        ),
        ("token = \"t\"\n", "outputs.influxdb.0.token"),
        ("password = \"p\"\n", "outputs.influxdb.0.password"),
        (
            "batch_max_events = 0\n",
            "outputs.influxdb.0.batch_max_events",
        ),
        (
            "content_encoding = \"br\"\n",
            "outputs.influxdb.0.content_encoding",
        ),
        ("databse = \"x\"\n", "outputs.influxdb.0.databse"),
        (
            "headers = { \"Content-Type\" = \"x\" }\n",
            "outputs.influxdb.0.headers",
        ),
        ("cert_file = \"/c.pem\"\n", "outputs.influxdb.0.cert_file"),
    ];
    for (toml, key) in cases {
        let e = build_err(toml);
        assert_eq!(e.key.as_deref(), Some(key), "{toml}: {e}");
    }
    assert_eq!(
        build_err("databse = \"x\"\n").hint.as_deref(),
        Some("did you mean `database`?")
    );
}

#[test]
fn tokens_never_show_in_debug() {
    let cfg = PluginConfig::from_toml_str(
        "outputs.influxdb.0",
        "api = \"v2\"\norg = \"o\"\nbucket = \"b\"\ntoken = \"s3cr3t-token\"\n",
    )
    .expect("toml");
    let raw: super::config::InfluxConfig = cfg.parse().expect("parse");
    let settings = raw.validate(&cfg).expect("valid");
    assert!(!format!("{settings:?}").contains("s3cr3t"));
}

fn payload(lines: &str) -> Payload {
    Payload {
        bytes: Bytes::from(lines.to_owned()),
        events: lines.lines().count(),
    }
}

async fn send_once(
    server: &TestServer,
    extra: &str,
) -> Result<SendReport, gleaner_api::OutputError> {
    let (mut out, _) = build(&format!("url = \"{}\"\n{extra}", server.url()));
    out.send(payload("m a=1 1\nm a=2 2\nm a=3 3\n")).await
}

#[tokio::test]
async fn v1_request_shape() {
    let server = TestServer::start(vec![Reply::new(204, "")]).await;
    let (mut out, _) = build(&format!(
        "url = \"{}/prefix/\"\ndatabase = \"my db\"\nretention_policy = \"short\"\nusername = \"u\"\npassword = \"p\"\nprecision = \"ms\"\nheaders = {{ \"X-Tenant\" = \"t1\" }}\n",
        server.url()
    ));
    let r = out.send(payload("m a=1 1\n")).await.expect("sent");
    assert_eq!(r, SendReport::ALL_ACCEPTED);
    let reqs = server.requests();
    assert_eq!(reqs.len(), 1);
    let q = &reqs[0];
    assert_eq!(q.method, "POST");
    assert_eq!(
        q.path_and_query,
        "/prefix/write?db=my%20db&rp=short&precision=ms"
    );
    assert_eq!(q.header("content-encoding"), Some("gzip"));
    assert_eq!(q.header("authorization"), Some("Basic dTpw"));
    assert_eq!(q.header("x-tenant"), Some("t1"));
    assert!(
        q.header("user-agent")
            .is_some_and(|u| u.starts_with("gleaner/"))
    );
    assert_eq!(q.body, b"m a=1 1\n");
}

#[tokio::test]
async fn v2_request_shape() {
    let server = TestServer::start(vec![Reply::new(204, "")]).await;
    let (mut out, _) = build(&format!(
        "url = \"{}\"\napi = \"v2\"\norg = \"acme\"\nbucket = \"b/rp\"\ntoken = \"tok\"\nprecision = \"us\"\ncontent_encoding = \"identity\"\n",
        server.url()
    ));
    out.send(payload("m a=1 1\n")).await.expect("sent");
    let q = &server.requests()[0];
    assert_eq!(
        q.path_and_query,
        "/api/v2/write?org=acme&bucket=b%2Frp&precision=us"
    );
    assert_eq!(q.header("authorization"), Some("Token tok"));
    assert_eq!(q.header("content-encoding"), None);
}

#[tokio::test]
async fn partial_write_rejects_only_the_named_points() {
    let body = r#"{"error":"partial write: field type conflict: input field \"a\" on measurement \"m\" is type integer, already exists as type float dropped=2"}"#;
    let server = TestServer::start(vec![Reply::new(400, body)]).await;
    let (mut out, metrics) = build(&format!("url = \"{}\"\n", server.url()));
    let r = out.send(payload("m a=1 1\nm a=2i 2\nm a=3i 3\n")).await;
    assert_eq!(r, Ok(SendReport { rejected: 2 }));
    assert_eq!(metrics.dropped_count("partial_write"), 2);
    // v1 parse errors next to good lines: dropped=0, one message per bad line.
    let body = r#"{"error":"partial write: unable to parse 'x': missing fields\nunable to parse 'y z': invalid field format dropped=0"}"#;
    let server = TestServer::start(vec![Reply::new(400, body)]).await;
    assert_eq!(send_once(&server, "").await, Ok(SendReport { rejected: 2 }));
    // v2 answers 422 for a partial write.
    let body = r#"{"code":"unprocessable entity","message":"failure writing points to database: partial write: points beyond retention policy dropped=1"}"#;
    let server = TestServer::start(vec![Reply::new(422, body)]).await;
    assert_eq!(send_once(&server, "").await, Ok(SendReport { rejected: 1 }));
}

#[tokio::test]
async fn answers_map_to_kinds() {
    let cases: Vec<(Reply, OutputErrorKind)> = vec![
        (
            Reply::new(
                400,
                r#"{"error":"unable to parse 'm a=': missing field value"}"#,
            ),
            OutputErrorKind::Permanent,
        ),
        (
            Reply::new(401, r#"{"error":"authorization failed"}"#),
            OutputErrorKind::Retryable,
        ),
        (
            Reply::new(403, r#"{"error":"forbidden"}"#),
            OutputErrorKind::Retryable,
        ),
        (
            Reply::new(
                404,
                r#"{"code":"not found","message":"bucket \"b\" not found"}"#,
            ),
            OutputErrorKind::Retryable,
        ),
        (
            Reply::new(413, r#"{"error":"Request Entity Too Large"}"#),
            OutputErrorKind::TooLarge,
        ),
        (
            Reply::new(429, "").header("Retry-After", "7"),
            OutputErrorKind::RateLimited {
                retry_after: Some(Duration::from_secs(7)),
            },
        ),
        (
            Reply::new(503, "overloaded"),
            OutputErrorKind::RateLimited { retry_after: None },
        ),
        (
            Reply::new(500, r#"{"error":"timeout"}"#),
            OutputErrorKind::Retryable,
        ),
        (Reply::new(502, "bad gateway"), OutputErrorKind::Retryable),
        (
            Reply::new(405, "method not allowed"),
            OutputErrorKind::Permanent,
        ),
    ];
    for (reply, kind) in cases {
        let status = reply.status;
        let server = TestServer::start(vec![reply]).await;
        let err = send_once(&server, "skip_database_creation = true\n")
            .await
            .expect_err("error answer");
        assert_eq!(err.kind, kind, "status {status}: {err}");
        assert!(err.message.contains(&status.to_string()), "{err}");
    }
}

#[tokio::test]
async fn missing_database_is_created_then_written() {
    let server = TestServer::start(vec![
        Reply::new(404, r#"{"error":"database not found: \"gleaner\""}"#),
        Reply::new(200, r#"{"results":[{"statement_id":0}]}"#),
        Reply::new(204, ""),
    ])
    .await;
    assert_eq!(send_once(&server, "").await, Ok(SendReport::ALL_ACCEPTED));
    let reqs = server.requests();
    assert_eq!(reqs.len(), 3);
    assert_eq!(reqs[1].path_and_query, "/query");
    assert_eq!(
        String::from_utf8_lossy(&reqs[1].body),
        "q=CREATE%20DATABASE%20%22gleaner%22"
    );
    // Without creation, a missing database is retryable and nothing else is tried.
    let server = TestServer::start(vec![Reply::new(
        404,
        r#"{"error":"database not found: \"gleaner\""}"#,
    )])
    .await;
    let err = send_once(&server, "skip_database_creation = true\n")
        .await
        .expect_err("404");
    assert_eq!(err.kind, OutputErrorKind::Retryable);
    assert_eq!(server.requests().len(), 1);
}

#[tokio::test]
async fn failover_moves_to_the_next_url_and_stays_there() {
    let down = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
        l.local_addr().expect("addr").port()
    };
    let busy = TestServer::start(vec![Reply::new(500, "boom")]).await;
    let good = TestServer::start(vec![Reply::new(204, "")]).await;
    let (mut out, _) = build(&format!(
        "urls = [\"http://127.0.0.1:{down}\", \"{}\", \"{}\"]\ntimeout = \"2s\"\n",
        busy.url(),
        good.url()
    ));
    assert_eq!(
        out.send(payload("m a=1 1\n")).await,
        Ok(SendReport::ALL_ACCEPTED)
    );
    assert_eq!(
        out.send(payload("m a=2 2\n")).await,
        Ok(SendReport::ALL_ACCEPTED)
    );
    assert_eq!(busy.requests().len(), 1);
    assert_eq!(good.requests().len(), 2);
    // All down: the last error is returned, retryable.
    drop(good);
    let (mut out, _) = build(&format!(
        "urls = [\"http://127.0.0.1:{down}\", \"{}\"]\n",
        busy.url()
    ));
    let err = out.send(payload("m a=1 1\n")).await.expect_err("all down");
    assert_eq!(err.kind, OutputErrorKind::Retryable);
}

#[test]
fn batch_limits_come_from_config() {
    let (out, _) = build("batch_max_events = 7\nbatch_max_bytes = \"2MiB\"\n");
    let l = out.batch_limits();
    assert_eq!((l.max_events, l.max_bytes), (7, 2 * 1024 * 1024));
    let (out, _) = build("");
    assert_eq!(out.batch_limits().max_events, 5000);
}
