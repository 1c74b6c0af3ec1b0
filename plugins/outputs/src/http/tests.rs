//! `outputs.http`: the body in each format, the request (content type, auth, headers, gzip),
//! and every answer of the status table against a scripted local server.

use std::sync::Arc;
use std::time::Duration;

use gleaner_api::{
    Batch, BuildContext, ComponentMetrics, FieldValue, LogRecord, Metric, MetricKind, Output,
    OutputErrorKind, Payload, PluginConfig, SendReport, Stream,
};

use super::DESCRIPTOR;
use super::config::HTTP_DEFAULTS;
use crate::http_output::HttpOptions;
use crate::test_server::{Reply, TestServer};

const T0: i64 = 1_700_000_000_123_456_789;

fn build(toml: &str) -> (Box<dyn Output>, Arc<ComponentMetrics>) {
    let mut cx = BuildContext::for_test("outputs.http.0");
    cx.metrics = ComponentMetrics::detached("http");
    let cfg = PluginConfig::from_toml_str("outputs.http.0", toml).expect("toml");
    let out = (DESCRIPTOR.build)(&cfg, &cx).unwrap_or_else(|e| panic!("build: {e}"));
    (out, cx.metrics)
}

fn build_err(toml: &str) -> gleaner_api::ConfigError {
    let cx = BuildContext::for_test("outputs.http.0");
    let cfg = PluginConfig::from_toml_str("outputs.http.0", toml).expect("toml");
    match (DESCRIPTOR.build)(&cfg, &cx) {
        Ok(_) => panic!("config accepted:\n{toml}"),
        Err(e) => e,
    }
}

fn metrics() -> Batch {
    Batch::Metrics(vec![
        Metric::new("cpu", T0)
            .with_kind(MetricKind::Gauge)
            .with_tag("host", "n1")
            .with_field("usage", FieldValue::Float(1.5))
            .with_field("count", FieldValue::UInt(7)),
        // Nothing writable: left out and counted.
        Metric::new("bad", T0).with_field("v", FieldValue::Float(f64::NAN)),
        Metric::new("disk", T0 + 1).with_field("ok", FieldValue::Bool(true)),
    ])
}

fn logs() -> Batch {
    Batch::Logs(vec![
        LogRecord::new(T0, "line \"one\"\nwith a newline", Stream::Stdout)
            .with_attribute("file", FieldValue::String("/var/log/a.log".into())),
        LogRecord::new(T0 + 1, "two", Stream::Stderr),
    ])
}

fn encode(out: &dyn Output, batch: &Batch) -> (String, usize) {
    let mut buf = Vec::new();
    let report = out.encode(batch, &mut buf).expect("encode");
    (String::from_utf8(buf).expect("utf-8"), report.skipped)
}

#[test]
fn ndjson_writes_the_json_lines_of_file_and_stdout() {
    let (out, m) = build("url = \"http://x/\"\n");
    let (body, skipped) = encode(out.as_ref(), &metrics());
    assert_eq!(skipped, 1);
    assert_eq!(m.dropped_count("no_fields"), 1);
    assert_eq!(
        body,
        "{\"timestamp\":\"2023-11-14T22:13:20.123456789Z\",\"name\":\"cpu\",\"kind\":\"gauge\",\"tags\":{\"host\":\"n1\"},\"fields\":{\"usage\":1.5,\"count\":7}}\n\
         {\"timestamp\":\"2023-11-14T22:13:20.123456790Z\",\"name\":\"disk\",\"kind\":\"untyped\",\"tags\":{},\"fields\":{\"ok\":true}}\n"
    );
    let (body, _) = encode(out.as_ref(), &logs());
    let mut want = Vec::new();
    if let Batch::Logs(l) = logs() {
        for r in &l {
            crate::json_lines::encode_log(r, &mut want);
        }
    }
    assert_eq!(body.as_bytes(), want.as_slice());
}

#[test]
fn json_array_holds_the_same_objects() {
    let (lines, _) = build("url = \"http://x/\"\n");
    let (array, _) = build("url = \"http://x/\"\nformat = \"json_array\"\n");
    for batch in [metrics(), logs()] {
        let (nd, _) = encode(lines.as_ref(), &batch);
        let (body, _) = encode(array.as_ref(), &batch);
        let parsed: serde_json::Value = serde_json::from_str(&body).expect("one JSON value");
        let want: Vec<serde_json::Value> = nd
            .lines()
            .map(|l| serde_json::from_str(l).expect("json line"))
            .collect();
        assert_eq!(parsed, serde_json::Value::Array(want), "{body}");
        assert!(body.starts_with("[{") && body.ends_with("}]"), "{body}");
    }
    // Nothing writable: no body at all (the worker then sends nothing).
    let only_bad = Batch::Metrics(vec![
        Metric::new("bad", T0).with_field("v", FieldValue::Float(f64::INFINITY)),
    ]);
    assert_eq!(encode(array.as_ref(), &only_bad), (String::new(), 1));
}

#[test]
fn influx_writes_line_protocol_and_logs_as_points() {
    let (out, _) = build("url = \"http://x/\"\nformat = \"influx\"\n");
    let (body, skipped) = encode(out.as_ref(), &metrics());
    assert_eq!(skipped, 1);
    assert_eq!(
        body,
        "cpu,host=n1 usage=1.5,count=7i 1700000000123456789\ndisk ok=true 1700000000123456790\n"
    );
    let (body, _) = encode(out.as_ref(), &logs());
    assert_eq!(
        body,
        "logs,stream=stdout message=\"line \\\"one\\\"\nwith a newline\",file=\"/var/log/a.log\" 1700000000123456789\n\
         logs,stream=stderr message=\"two\" 1700000000123456790\n"
    );
}

fn payload(out: &dyn Output) -> Payload {
    let mut buf = Vec::new();
    out.encode(&metrics(), &mut buf).expect("encode");
    Payload {
        bytes: buf.into(),
        events: 2,
    }
}

#[tokio::test]
async fn request_shape() {
    let server = TestServer::start(vec![Reply::new(200, "ok")]).await;
    for (format, content_type, extra) in [
        ("ndjson", "application/x-ndjson", ""),
        (
            "json_array",
            "application/json",
            "content_encoding = \"gzip\"\n",
        ),
        (
            "influx",
            "text/plain; charset=utf-8",
            "bearer_token = \"t0k\"\n",
        ),
    ] {
        let (mut out, _) = build(&format!(
            "url = \"{}/ingest?x=1\"\nformat = \"{format}\"\nheaders = {{ \"X-Team\" = \"a\" }}\n{extra}",
            server.url()
        ));
        let p = payload(out.as_ref());
        assert_eq!(out.send(p.clone()).await, Ok(SendReport::ALL_ACCEPTED));
        let q = server.requests().pop().expect("a request");
        assert_eq!(q.method, "POST");
        assert_eq!(q.path_and_query, "/ingest?x=1");
        assert_eq!(q.header("content-type"), Some(content_type), "{format}");
        assert_eq!(q.header("x-team"), Some("a"));
        assert_eq!(q.body, p.bytes, "{format}: the body, un-gzipped");
        match format {
            "json_array" => assert_eq!(q.header("content-encoding"), Some("gzip")),
            "influx" => assert_eq!(q.header("authorization"), Some("Bearer t0k")),
            _ => {
                assert_eq!(q.header("content-encoding"), None);
                assert_eq!(q.header("authorization"), None);
            }
        }
    }
    let (mut out, _) = build(&format!(
        "url = \"{}/\"\nusername = \"u\"\npassword = \"p\"\n",
        server.url()
    ));
    out.send(payload(out.as_ref())).await.expect("sent");
    let q = server.requests().pop().expect("a request");
    assert_eq!(q.header("authorization"), Some("Basic dTpw"));
}

#[tokio::test]
async fn answers_map_to_kinds() {
    let cases: Vec<(Reply, OutputErrorKind)> = vec![
        (Reply::new(204, ""), OutputErrorKind::Permanent),
        (Reply::new(400, "bad json"), OutputErrorKind::Permanent),
        (Reply::new(422, "no"), OutputErrorKind::Permanent),
        (Reply::new(401, "who"), OutputErrorKind::Retryable),
        (Reply::new(403, "no"), OutputErrorKind::Retryable),
        (Reply::new(404, "where"), OutputErrorKind::Retryable),
        (Reply::new(408, "slow"), OutputErrorKind::Retryable),
        (Reply::new(413, "too big"), OutputErrorKind::TooLarge),
        (
            Reply::new(429, "slow down").header("Retry-After", "3"),
            OutputErrorKind::RateLimited {
                retry_after: Some(Duration::from_secs(3)),
            },
        ),
        (
            Reply::new(429, ""),
            OutputErrorKind::RateLimited { retry_after: None },
        ),
        (
            Reply::new(503, "").header("Retry-After", "2"),
            OutputErrorKind::RateLimited {
                retry_after: Some(Duration::from_secs(2)),
            },
        ),
        (Reply::new(500, "boom"), OutputErrorKind::Retryable),
        (Reply::new(502, ""), OutputErrorKind::Retryable),
    ];
    for (reply, kind) in cases {
        let status = reply.status;
        let server = TestServer::start(vec![reply]).await;
        let (mut out, _) = build(&format!("url = \"{}\"\n", server.url()));
        let p = payload(out.as_ref());
        let result = out.send(p).await;
        if status == 204 {
            assert_eq!(result, Ok(SendReport::ALL_ACCEPTED));
            continue;
        }
        let err = result.expect_err("error answer");
        assert_eq!(err.kind, kind, "status {status}: {err}");
        assert!(err.message.contains(&status.to_string()), "{err}");
    }
}

#[test]
fn config_errors_name_the_key() {
    let e = build_err("url = \"not a url\"\n");
    assert_eq!(e.key.as_deref(), Some("outputs.http.0.url"), "{e}");
    let e = build_err("url = \"http://x/\"\nformat = \"xml\"\n");
    assert_eq!(e.key.as_deref(), Some("outputs.http.0.format"), "{e}");
    let e = build_err("url = \"http://x/\"\nbearer_token = \"t\"\nusername = \"u\"\n");
    assert_eq!(e.key.as_deref(), Some("outputs.http.0.username"), "{e}");
    let e = build_err("url = \"http://x/\"\nformt = \"ndjson\"\n");
    assert_eq!(e.hint.as_deref(), Some("did you mean `format`?"), "{e}");
}

#[test]
pub(super) fn sample_parses_and_equals_the_defaults() {
    let read = |cfg: &PluginConfig| {
        Ok((
            HttpOptions::own_keys::<super::config::HttpConfig>(cfg, &HTTP_DEFAULTS)?,
            HttpOptions::parse(cfg, &HTTP_DEFAULTS)?,
        ))
    };
    gleaner_api::test_util::sample::assert_sample_with(
        "outputs.http.0",
        DESCRIPTOR.sample,
        // Options without a default, shown with an example value.
        &[
            "bearer_token",
            "bearer_token_file",
            "username",
            "password",
            "headers",
            "ca_file",
            "cert_file",
            "key_file",
        ],
        &[],
        &read,
    );
    assert!(DESCRIPTOR.sample.starts_with("[[outputs.http]]\n"));
    let cfg = PluginConfig::from_toml_str("outputs.http.0", "").expect("toml");
    let own: super::config::HttpConfig =
        HttpOptions::own_keys(&cfg, &HTTP_DEFAULTS).expect("defaults");
    assert_eq!(own, super::config::HttpConfig::default());
    build(&format!("url = \"{}\"\n", super::config::DEFAULT_URL));
}
