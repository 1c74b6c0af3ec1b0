//! `inputs.http_listener` tests: a real server on `127.0.0.1:0` driven by hyper's HTTP/1.1
//! client, with the pipeline played by the test (it receives the batches and settles their
//! acknowledgements).

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use gleaner_api::test_util::input_context;
use gleaner_api::{
    Batch, BuildContext, ComponentMetrics, Envelope, FieldValue, Metric, PluginConfig, PluginError,
    RunMode, ShutdownTrigger,
};
use http_body_util::{BodyExt, Full};
use hyper::{HeaderMap, Request, StatusCode};
use hyper_util::rt::TokioIo;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::mpsc;
use tokio::task::JoinHandle;

use super::*;

const ALL_TYPES: &str = include_str!("../../testdata/http_listener/all_types.lp");
const PARTIAL: &str = include_str!("../../testdata/http_listener/partial.lp");
const WAIT: Duration = Duration::from_secs(10);

struct Harness {
    addr: SocketAddr,
    rx: mpsc::Receiver<Envelope>,
    trigger: ShutdownTrigger,
    task: JoinHandle<Result<(), PluginError>>,
    metrics: Arc<ComponentMetrics>,
}

struct Answer {
    status: StatusCode,
    headers: HeaderMap,
    body: String,
}

impl Answer {
    fn error(&self) -> String {
        let v: serde_json::Value = serde_json::from_str(&self.body).expect("json error body");
        v["error"]
            .as_str()
            .or(v["message"].as_str())
            .expect("error text")
            .to_owned()
    }
}

fn settings(toml: &str) -> Settings {
    let cfg = PluginConfig::from_toml_str("inputs.http_listener.0", toml).unwrap();
    config::parse(&cfg).unwrap()
}

async fn start(toml: &str) -> Harness {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let bcx = BuildContext::for_test("inputs.http_listener.0");
    let (cx, rx, trigger) = input_context(&bcx, RunMode::Continuous, 4);
    let task = tokio::spawn(serve_on(listener, settings(toml), cx));
    Harness {
        addr,
        rx,
        trigger,
        task,
        metrics: Arc::clone(&bcx.metrics),
    }
}

async fn request(
    addr: SocketAddr,
    method: &str,
    uri: &str,
    headers: &[(&str, &str)],
    body: impl Into<Bytes>,
) -> Answer {
    let stream = TcpStream::connect(addr).await.unwrap();
    let (mut sender, conn) = hyper::client::conn::http1::handshake(TokioIo::new(stream))
        .await
        .unwrap();
    tokio::spawn(conn);
    let mut req = Request::builder()
        .method(method)
        .uri(uri)
        .header("host", "localhost");
    for (k, v) in headers {
        req = req.header(*k, *v);
    }
    let resp = sender
        .send_request(req.body(Full::new(body.into())).unwrap())
        .await
        .unwrap();
    let status = resp.status();
    let headers = resp.headers().clone();
    let body = resp.into_body().collect().await.unwrap().to_bytes();
    Answer {
        status,
        headers,
        body: String::from_utf8(body.to_vec()).unwrap(),
    }
}

fn post(
    addr: SocketAddr,
    uri: &str,
    headers: &[(&str, &str)],
    body: impl Into<Bytes>,
) -> JoinHandle<Answer> {
    let (uri, body) = (uri.to_owned(), body.into());
    let headers: Vec<(String, String)> = headers
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect();
    tokio::spawn(async move {
        let h: Vec<(&str, &str)> = headers
            .iter()
            .map(|(k, v)| (k.as_str(), v.as_str()))
            .collect();
        request(addr, "POST", &uri, &h, body).await
    })
}

/// Receives the next batch and acknowledges it.
async fn take(rx: &mut mpsc::Receiver<Envelope>) -> Vec<Metric> {
    let env = tokio::time::timeout(WAIT, rx.recv())
        .await
        .expect("a batch")
        .expect("open");
    env.ack.expect("listener asks for an ack").ack();
    match env.batch {
        Batch::Metrics(m) => m,
        Batch::Logs(_) => panic!("logs from http_listener"),
    }
}

async fn answer(h: JoinHandle<Answer>) -> Answer {
    tokio::time::timeout(WAIT, h)
        .await
        .expect("an answer")
        .unwrap()
}

async fn stop(h: Harness) {
    h.trigger.trigger();
    tokio::time::timeout(WAIT, h.task)
        .await
        .expect("run returns")
        .unwrap()
        .unwrap();
}

fn gzip(data: &[u8]) -> Vec<u8> {
    use std::io::Write;
    let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    enc.write_all(data).unwrap();
    enc.finish().unwrap()
}

const LISTEN: &str = "listen = \"127.0.0.1:0\"\n";

#[tokio::test]
async fn delivers_every_type_and_escape() {
    let mut h = start(LISTEN).await;
    let pending = post(h.addr, "/write?db=telegraf", &[], ALL_TYPES);
    let got = take(&mut h.rx).await;
    let a = answer(pending).await;
    assert_eq!(a.status, StatusCode::NO_CONTENT, "{}", a.body);
    assert!(a.headers.contains_key("x-influxdb-version"));
    let t = 1_700_000_000_000_000_000;
    let want = vec![
        Metric::new("cpu load", t)
            .with_tag("region", "eu,west")
            .with_tag("host", "node 1")
            .with_tag("path", "C:\\dir")
            .with_field("usage", FieldValue::Float(12.5))
            .with_field("count", FieldValue::Int(-3))
            .with_field("total", FieldValue::UInt(u64::MAX))
            .with_field("ok", FieldValue::Bool(true))
            .with_field("bad", FieldValue::Bool(false))
            .with_field("msg", FieldValue::String("say \"hi\" \\ there".into())),
        Metric::new("disk", t + 1)
            .with_tag("dev=ice", "sda")
            .with_field("used", FieldValue::Float(1000.0))
            .with_field("free", FieldValue::Float(-0.015))
            .with_field("f k,x", FieldValue::Int(1)),
        Metric::new("log", t + 2)
            .with_field("text", FieldValue::String("line one\nline two".into()))
            .with_field("level", FieldValue::String("warn".into())),
    ];
    assert_eq!(got, want);
    let snap = h.metrics.snapshot();
    assert_eq!(snap.events_received, 3);
    assert_eq!(snap.bytes_received, ALL_TYPES.len() as u64);
    assert_eq!(snap.events_sent, 3);
    stop(h).await;
}

#[tokio::test]
async fn partial_write_names_the_first_bad_line_and_delivers_the_rest() {
    let mut h = start(LISTEN).await;
    let pending = post(h.addr, "/write", &[], PARTIAL);
    let got = take(&mut h.rx).await;
    let a = answer(pending).await;
    assert_eq!(a.status, StatusCode::BAD_REQUEST);
    assert_eq!(
        a.error(),
        "partial write: unable to parse 'm v=oops 4': invalid boolean (line 6); dropped=2"
    );
    assert_eq!(
        got.iter().map(|m| m.timestamp).collect::<Vec<_>>(),
        vec![1, 2, 3, 5]
    );
    assert_eq!(h.metrics.dropped_count("malformed"), 2);
    assert_eq!(h.metrics.snapshot().events_received, 6);
    stop(h).await;
}

#[tokio::test]
async fn all_bad_lines_send_nothing() {
    let mut h = start(LISTEN).await;
    let a = answer(post(h.addr, "/write", &[], "m v=x 1\n")).await;
    assert_eq!(a.status, StatusCode::BAD_REQUEST);
    assert_eq!(
        a.error(),
        "unable to parse 'm v=x 1': invalid boolean (line 1); dropped=1"
    );
    assert!(h.rx.try_recv().is_err());
    stop(h).await;
}

#[tokio::test]
async fn empty_body_is_accepted() {
    let mut h = start(LISTEN).await;
    let a = answer(post(h.addr, "/write", &[], "")).await;
    assert_eq!(a.status, StatusCode::NO_CONTENT);
    assert!(h.rx.try_recv().is_err());
    stop(h).await;
}

#[tokio::test]
async fn gzip_body() {
    let mut h = start(LISTEN).await;
    let body = gzip(b"m v=1 1\nm v=2 2\n");
    let pending = post(
        h.addr,
        "/api/v2/write?org=o&bucket=b",
        &[("content-encoding", "gzip")],
        body,
    );
    assert_eq!(take(&mut h.rx).await.len(), 2);
    assert_eq!(answer(pending).await.status, StatusCode::NO_CONTENT);

    let a = answer(post(
        h.addr,
        "/write",
        &[("content-encoding", "gzip")],
        "not gzip",
    ))
    .await;
    assert_eq!(a.status, StatusCode::BAD_REQUEST);
    assert!(a.error().starts_with("invalid gzip body"), "{}", a.body);

    let a = answer(post(
        h.addr,
        "/write",
        &[("content-encoding", "br")],
        "m v=1",
    ))
    .await;
    assert_eq!(a.status, StatusCode::UNSUPPORTED_MEDIA_TYPE);
    stop(h).await;
}

#[tokio::test]
async fn oversize_bodies_get_413_and_send_nothing() {
    let mut h = start(&format!("{LISTEN}max_body_size = 64\n")).await;
    let big = "m v=1 1\n".repeat(20);

    let a = answer(post(h.addr, "/write", &[], big.clone())).await;
    assert_eq!(a.status, StatusCode::PAYLOAD_TOO_LARGE);
    assert_eq!(a.body, r#"{"error":"Request Entity Too Large"}"#);

    // Small compressed, too large once decompressed.
    let zipped = gzip(big.as_bytes());
    assert!(zipped.len() <= 64);
    let a = answer(post(
        h.addr,
        "/write",
        &[("content-encoding", "gzip")],
        zipped,
    ))
    .await;
    assert_eq!(a.status, StatusCode::PAYLOAD_TOO_LARGE);

    // Exactly at the limit is fine.
    let pending = post(h.addr, "/write", &[], "m v=1 1\n".repeat(8));
    assert_eq!(take(&mut h.rx).await.len(), 8);
    assert_eq!(answer(pending).await.status, StatusCode::NO_CONTENT);

    assert!(h.rx.try_recv().is_err());
    assert_eq!(h.metrics.snapshot().errors, vec![("too_large", 2)]);
    stop(h).await;
}

#[tokio::test]
async fn streamed_oversize_body_gets_413() {
    let h = start(&format!("{LISTEN}max_body_size = 64\n")).await;
    // No Content-Length: the limit is enforced while reading.
    let mut stream = TcpStream::connect(h.addr).await.unwrap();
    let chunk = "m v=1 1\n".repeat(10);
    let req = format!(
        "POST /write HTTP/1.1\r\nhost: x\r\ntransfer-encoding: chunked\r\n\r\n{:x}\r\n{chunk}\r\n0\r\n\r\n",
        chunk.len()
    );
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    stream.write_all(req.as_bytes()).await.unwrap();
    let mut resp = Vec::new();
    tokio::time::timeout(WAIT, stream.read_to_end(&mut resp))
        .await
        .unwrap()
        .unwrap();
    let resp = String::from_utf8_lossy(&resp);
    assert!(resp.starts_with("HTTP/1.1 413"), "{resp}");
    stop(h).await;
}

#[tokio::test]
async fn bad_precision_is_400() {
    let mut h = start(LISTEN).await;
    let a = answer(post(h.addr, "/write?precision=sec", &[], "m v=1 1")).await;
    assert_eq!(a.status, StatusCode::BAD_REQUEST);
    assert_eq!(
        a.error(),
        "invalid precision \"sec\": expected one of n, ns, u, us, ms, s, m, h"
    );
    let a = answer(post(h.addr, "/api/v2/write?precision=h", &[], "m v=1 1")).await;
    assert_eq!(a.status, StatusCode::BAD_REQUEST);
    let v: serde_json::Value = serde_json::from_str(&a.body).unwrap();
    assert_eq!(v["code"], "invalid");
    assert!(h.rx.try_recv().is_err());
    stop(h).await;
}

#[tokio::test]
async fn precision_converts_timestamps() {
    let mut h = start(LISTEN).await;
    let pending = post(
        h.addr,
        "/api/v2/write?bucket=b&precision=s",
        &[],
        "m v=1 1700000000\n",
    );
    assert_eq!(
        take(&mut h.rx).await[0].timestamp,
        1_700_000_000_000_000_000
    );
    assert_eq!(answer(pending).await.status, StatusCode::NO_CONTENT);

    let pending = post(
        h.addr,
        "/write?db=x&precision=ms",
        &[],
        "m v=1 1700000000123\nm v=2\n",
    );
    let got = take(&mut h.rx).await;
    assert_eq!(got[0].timestamp, 1_700_000_000_123_000_000);
    assert!(
        got[1].timestamp > 1_700_000_000_000_000_000,
        "default time is now"
    );
    assert_eq!(
        got[1].timestamp % 1_000_000,
        0,
        "the receive time is truncated to the precision, as InfluxDB does"
    );
    assert_eq!(answer(pending).await.status, StatusCode::NO_CONTENT);
    stop(h).await;
}

#[tokio::test]
async fn ping_and_unknown_routes() {
    let h = start(LISTEN).await;
    for method in ["GET", "HEAD"] {
        let a = request(h.addr, method, "/ping", &[], "").await;
        assert_eq!(a.status, StatusCode::NO_CONTENT);
        assert!(
            a.headers["x-influxdb-version"]
                .to_str()
                .unwrap()
                .starts_with("gleaner-")
        );
    }
    let a = request(h.addr, "GET", "/query", &[], "").await;
    assert_eq!(a.status, StatusCode::NOT_FOUND);
    assert_eq!(a.error(), "not found");
    let a = request(h.addr, "GET", "/write", &[], "").await;
    assert_eq!(a.status, StatusCode::METHOD_NOT_ALLOWED);
    assert_eq!(a.headers["allow"], "POST");
    stop(h).await;
}

#[tokio::test]
async fn failed_ack_is_503() {
    let mut h = start(LISTEN).await;
    let pending = post(h.addr, "/write", &[], "m v=1 1\n");
    let env = tokio::time::timeout(WAIT, h.rx.recv())
        .await
        .unwrap()
        .unwrap();
    env.ack.unwrap().fail();
    let a = answer(pending).await;
    assert_eq!(a.status, StatusCode::SERVICE_UNAVAILABLE);
    assert!(a.error().contains("retry"), "{}", a.body);

    // A batch dropped without an answer fails too.
    let pending = post(h.addr, "/write", &[], "m v=1 1\n");
    drop(
        tokio::time::timeout(WAIT, h.rx.recv())
            .await
            .unwrap()
            .unwrap(),
    );
    assert_eq!(
        answer(pending).await.status,
        StatusCode::SERVICE_UNAVAILABLE
    );
    stop(h).await;
}

#[tokio::test]
async fn full_pipeline_is_503_with_retry_after() {
    // Capacity 4, nobody reading: four requests fill the pipeline; the fifth waits
    // write_timeout for room, then gets 503 without having been taken.
    let mut h = start(&format!("{LISTEN}write_timeout = \"300ms\"\n")).await;
    let mut waiting = Vec::new();
    for i in 0..4 {
        waiting.push(post(h.addr, "/write", &[], format!("m v={i} {i}\n")));
    }
    // Wait until all four are in the pipeline.
    let deadline = tokio::time::Instant::now() + WAIT;
    while h.metrics.snapshot().events_sent < 4 {
        assert!(
            tokio::time::Instant::now() < deadline,
            "requests never reached the pipeline"
        );
        tokio::task::yield_now().await;
    }
    let a = answer(post(h.addr, "/write", &[], "late v=1 1\n")).await;
    assert_eq!(a.status, StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(a.headers["retry-after"], "1");
    assert!(a.error().contains("buffers are full"), "{}", a.body);
    // The refused write never entered the pipeline: only the four are there.
    let mut got = Vec::new();
    while let Ok(env) = h.rx.try_recv() {
        let Batch::Metrics(m) = &env.batch else {
            panic!("metrics expected")
        };
        got.push(m[0].measurement.clone());
    }
    assert_eq!(got, vec!["m"; 4]);
    drop(waiting);
    stop(h).await;
}

#[tokio::test]
async fn write_timeout_answers_503() {
    let mut h = start(&format!("{LISTEN}write_timeout = \"100ms\"\n")).await;
    let a = answer(post(h.addr, "/write", &[], "m v=1 1\n")).await;
    assert_eq!(a.status, StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(a.headers["retry-after"], "1");
    // The batch is still in the pipeline (at-least-once): it can be delivered later.
    let env = tokio::time::timeout(WAIT, h.rx.recv())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(env.batch.len(), 1);
    stop(h).await;
}

#[tokio::test]
async fn closed_pipeline_is_503() {
    let h = start(LISTEN).await;
    let Harness {
        addr,
        rx,
        trigger,
        task,
        ..
    } = h;
    drop(rx);
    let a = answer(post(addr, "/write", &[], "m v=1 1\n")).await;
    assert_eq!(a.status, StatusCode::SERVICE_UNAVAILABLE);
    trigger.trigger();
    tokio::time::timeout(WAIT, task)
        .await
        .unwrap()
        .unwrap()
        .unwrap();
}

#[tokio::test]
async fn concurrent_requests_get_their_own_outcome() {
    let mut h = start(LISTEN).await;
    let first = post(h.addr, "/write", &[], "a v=1 1\n");
    let env_a = tokio::time::timeout(WAIT, h.rx.recv())
        .await
        .unwrap()
        .unwrap();
    let second = post(h.addr, "/write", &[], "b v=1 1\n");
    let env_b = tokio::time::timeout(WAIT, h.rx.recv())
        .await
        .unwrap()
        .unwrap();
    // Settle in the opposite order: b delivered, a failed.
    env_b.ack.unwrap().ack();
    env_a.ack.unwrap().fail();
    assert_eq!(answer(second).await.status, StatusCode::NO_CONTENT);
    assert_eq!(answer(first).await.status, StatusCode::SERVICE_UNAVAILABLE);
    stop(h).await;
}

#[tokio::test]
async fn shutdown_finishes_in_flight_requests_then_returns() {
    let mut h = start(LISTEN).await;
    let pending = post(h.addr, "/write", &[], "m v=1 1\n");
    let env = tokio::time::timeout(WAIT, h.rx.recv())
        .await
        .unwrap()
        .unwrap();
    h.trigger.trigger();
    tokio::time::sleep(Duration::from_millis(50)).await;
    assert!(!h.task.is_finished(), "waits for the request in flight");
    assert!(
        TcpStream::connect(h.addr).await.is_err(),
        "no longer accepting"
    );
    env.ack.unwrap().ack();
    assert_eq!(answer(pending).await.status, StatusCode::NO_CONTENT);
    tokio::time::timeout(WAIT, h.task)
        .await
        .unwrap()
        .unwrap()
        .unwrap();
}

#[tokio::test]
async fn idle_connections_do_not_hold_shutdown() {
    let h = start(LISTEN).await;
    let _idle = TcpStream::connect(h.addr).await.unwrap();
    let stream = TcpStream::connect(h.addr).await.unwrap();
    let (mut sender, conn) = hyper::client::conn::http1::handshake(TokioIo::new(stream))
        .await
        .unwrap();
    tokio::spawn(conn);
    let req = Request::get("/ping")
        .header("host", "x")
        .body(Full::new(Bytes::new()))
        .unwrap();
    assert_eq!(
        sender.send_request(req).await.unwrap().status(),
        StatusCode::NO_CONTENT
    );
    // `sender` keeps its keep-alive connection open.
    stop(h).await;
}

#[tokio::test]
async fn basic_auth() {
    let toml = format!("{LISTEN}basic_username = \"user\"\nbasic_password = \"pa:ss\"\n");
    let mut h = start(&toml).await;
    let a = answer(post(h.addr, "/write", &[], "m v=1 1")).await;
    assert_eq!(a.status, StatusCode::UNAUTHORIZED);
    assert_eq!(a.error(), "authorization failed");
    let wrong = auth::base64(b"user:nope");
    let a = answer(post(
        h.addr,
        "/write",
        &[("authorization", &format!("Basic {wrong}"))],
        "m v=1",
    ))
    .await;
    assert_eq!(a.status, StatusCode::UNAUTHORIZED);

    let good = format!("Basic {}", auth::base64(b"user:pa:ss"));
    let accepted: [(&str, Vec<(&str, &str)>); 3] = [
        ("/write", vec![("authorization", good.as_str())]),
        ("/write?u=user&p=pa%3Ass", vec![]),
        ("/api/v2/write", vec![("authorization", "Token user:pa:ss")]),
    ];
    for (uri, headers) in accepted {
        let pending = post(h.addr, uri, &headers, "m v=1 1");
        take(&mut h.rx).await;
        assert_eq!(
            answer(pending).await.status,
            StatusCode::NO_CONTENT,
            "{uri}"
        );
    }
    assert_eq!(h.metrics.snapshot().errors, vec![("unauthorized", 2)]);
    stop(h).await;
}

#[test]
fn base64_vectors() {
    for (plain, coded) in [
        ("", ""),
        ("f", "Zg=="),
        ("fo", "Zm8="),
        ("foo", "Zm9v"),
        ("foob", "Zm9vYg=="),
        ("fooba", "Zm9vYmE="),
    ] {
        assert_eq!(auth::base64(plain.as_bytes()), coded);
    }
}

// ---------------------------------------------------------------- config

#[test]
fn sample_parses_and_builds_with_defaults() {
    use gleaner_api::config::PathSeg;
    let path = vec![
        PathSeg::Key("inputs".into()),
        PathSeg::Key("http_listener".into()),
        PathSeg::Index(0),
    ];
    let cfg = PluginConfig::new(
        "inputs.http_listener.0",
        DESCRIPTOR.sample.into(),
        path,
        vec![],
    );
    let s = config::parse(&cfg).unwrap();
    assert_eq!(
        s.listen,
        config::DEFAULT_LISTEN.parse::<SocketAddr>().unwrap()
    );
    assert_eq!(s.max_body_size, config::DEFAULT_MAX_BODY_SIZE.get());
    assert_eq!(s.read_timeout, config::DEFAULT_READ_TIMEOUT.get());
    assert!(s.auth.is_none());
    (DESCRIPTOR.build)(&cfg, &BuildContext::for_test("inputs.http_listener.0")).unwrap();

    // Every commented option shows its default: `check_sample` (run for every plugin from
    // src/sample_checks.rs). With every option uncommented, the auth options are on.
    let all = gleaner_api::test_util::sample::uncomment(DESCRIPTOR.sample, |_| true, &|_| {
        "secret".to_owned()
    });
    let cfg = PluginConfig::from_toml_str("inputs.http_listener.0", &all).unwrap();
    assert!(config::parse(&cfg).unwrap().auth.is_some());
    assert!(DESCRIPTOR.sample.starts_with("[[inputs.http_listener]]\n"));
}

#[test]
fn config_errors_name_the_key() {
    let err = |toml: &str| {
        let cfg = PluginConfig::from_toml_str("inputs.http_listener.0", toml).unwrap();
        config::parse(&cfg).unwrap_err()
    };
    let e = err("listen = \"localhost\"\n");
    assert_eq!(e.key.as_deref(), Some("inputs.http_listener.0.listen"));
    assert!(e.message.contains("invalid listen address"), "{e}");
    let e = err("lisen = \"127.0.0.1:1\"\n");
    assert_eq!(e.hint.as_deref(), Some("did you mean `listen`?"));
    let e = err("basic_username = \"u\"\n");
    assert_eq!(
        e.key.as_deref(),
        Some("inputs.http_listener.0.basic_username")
    );
    let e = err("max_body_size = 0\n");
    assert_eq!(
        e.key.as_deref(),
        Some("inputs.http_listener.0.max_body_size")
    );
    let e = err("read_timeout = \"0s\"\n");
    assert_eq!(
        e.key.as_deref(),
        Some("inputs.http_listener.0.read_timeout")
    );
}

#[tokio::test]
async fn once_mode_returns_without_binding() {
    // The port is taken: binding would fail, so Ok proves nothing was bound.
    let taken = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let toml = format!("listen = \"{}\"\n", taken.local_addr().unwrap());
    let cfg = PluginConfig::from_toml_str("inputs.http_listener.0", &toml).unwrap();
    let bcx = BuildContext::for_test("inputs.http_listener.0");
    let input = (DESCRIPTOR.build)(&cfg, &bcx).unwrap();
    let (cx, _rx, _trigger) = input_context(&bcx, RunMode::Once, 1);
    tokio::time::timeout(WAIT, input.run(cx))
        .await
        .unwrap()
        .unwrap();

    let input = (DESCRIPTOR.build)(&cfg, &bcx).unwrap();
    let (cx, _rx, _trigger) = input_context(&bcx, RunMode::Continuous, 1);
    let e = input.run(cx).await.unwrap_err();
    assert!(e.message.starts_with("cannot listen on 127.0.0.1:"), "{e}");
}

mod bounded;
