//! `inputs.remote_write` tests: the decoder on its own, and a real server on `127.0.0.1:0`
//! driven by hyper's HTTP/1.1 client, with the pipeline played by the test (it receives the
//! batches and settles their acknowledgements). The round trip through `outputs.remote_write`
//! is in the e2e crate (`tests/e2e/remote_write.rs`), which sees both plugins.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use gleaner_api::prompb::{Label, Sample, TimeSeries, WriteRequest};
use gleaner_api::test_util::input_context;
use gleaner_api::{
    Batch, BuildContext, ComponentMetrics, Envelope, Metric, PluginConfig, PluginError, RunMode,
    ShutdownTrigger,
};
use http_body_util::{BodyExt, Full};
use hyper::{HeaderMap, Request, StatusCode};
use hyper_util::rt::TokioIo;
use prost::Message as _;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::mpsc;
use tokio::task::JoinHandle;

use super::decode;
use super::*;

const WAIT: Duration = Duration::from_secs(10);
const LISTEN: &str = "listen = \"127.0.0.1:0\"\n";
/// Prometheus's stale marker.
pub(super) const STALE_NAN: u64 = 0x7ff0_0000_0000_0002;

pub(super) fn series(labels: &[(&str, &str)], samples: &[(f64, i64)]) -> TimeSeries {
    TimeSeries {
        labels: labels
            .iter()
            .map(|(n, v)| Label {
                name: (*n).to_owned(),
                value: (*v).to_owned(),
            })
            .collect(),
        samples: samples
            .iter()
            .map(|&(value, timestamp)| Sample { value, timestamp })
            .collect(),
        ..TimeSeries::default()
    }
}

pub(super) fn request(timeseries: Vec<TimeSeries>) -> WriteRequest {
    WriteRequest {
        timeseries,
        metadata: vec![],
    }
}

pub(super) fn snappy(req: &WriteRequest) -> Vec<u8> {
    snap::raw::Encoder::new()
        .compress_vec(&req.encode_to_vec())
        .unwrap()
}

pub(super) fn decoded_metrics(req: WriteRequest, piece: usize) -> Vec<Vec<Metric>> {
    decode::check(req).unwrap().pieces(piece).collect()
}

mod decoding;

// ---------------------------------------------------------------- the server

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

async fn start(toml: &str) -> Harness {
    start_with_capacity(toml, 4).await
}

async fn start_with_capacity(toml: &str, cap: usize) -> Harness {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let cfg = PluginConfig::from_toml_str("inputs.remote_write.0", toml).unwrap();
    let bcx = BuildContext::for_test("inputs.remote_write.0");
    let (cx, rx, trigger) = input_context(&bcx, RunMode::Continuous, cap);
    let task = tokio::spawn(serve_on(listener, config::parse(&cfg).unwrap(), cx));
    Harness {
        addr,
        rx,
        trigger,
        task,
        metrics: Arc::clone(&bcx.metrics),
    }
}

fn post(
    addr: SocketAddr,
    method: &'static str,
    uri: &'static str,
    headers: &[(&'static str, &'static str)],
    body: impl Into<Bytes>,
) -> JoinHandle<Answer> {
    let headers = headers.to_vec();
    let body = body.into();
    tokio::spawn(async move {
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
            req = req.header(k, v);
        }
        let resp = sender
            .send_request(req.body(Full::new(body)).unwrap())
            .await
            .unwrap();
        let status = resp.status();
        let headers = resp.headers().clone();
        let body = resp.into_body().collect().await.unwrap().to_bytes();
        Answer {
            status,
            headers,
            body: String::from_utf8_lossy(&body).into_owned(),
        }
    })
}

/// What Prometheus sends with a request.
const HEADERS: &[(&str, &str)] = &[
    ("content-encoding", "snappy"),
    ("content-type", "application/x-protobuf"),
    ("x-prometheus-remote-write-version", "0.1.0"),
];

fn write(h: &Harness, req: &WriteRequest) -> JoinHandle<Answer> {
    post(h.addr, "POST", "/api/v1/write", HEADERS, snappy(req))
}

async fn next_batch(rx: &mut mpsc::Receiver<Envelope>) -> Envelope {
    tokio::time::timeout(WAIT, rx.recv())
        .await
        .expect("a batch")
        .expect("open")
}

fn metrics_of(env: &Envelope) -> &[Metric] {
    match &env.batch {
        Batch::Metrics(m) => m,
        Batch::Logs(_) => panic!("logs from remote_write"),
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

#[tokio::test]
async fn answers_204_only_once_every_piece_is_acknowledged() {
    let mut h = start(LISTEN).await;
    // 1,500 samples: two pieces (1,000 and 500), each with its own token.
    let samples: Vec<(f64, i64)> = (0..1500).map(|i| (f64::from(i), i64::from(i))).collect();
    let req = request(vec![series(&[("__name__", "x"), ("job", "j")], &samples)]);
    let pending = write(&h, &req);
    let first = next_batch(&mut h.rx).await;
    let second = next_batch(&mut h.rx).await;
    assert_eq!(metrics_of(&first).len(), 1000);
    assert_eq!(metrics_of(&second).len(), 500);
    first.ack.expect("token").ack();
    // One piece is still not acknowledged: no answer yet.
    tokio::task::yield_now().await;
    assert!(!pending.is_finished());
    second.ack.expect("token").ack();
    let a = answer(pending).await;
    assert_eq!(a.status, StatusCode::NO_CONTENT, "{}", a.body);
    let snap = h.metrics.snapshot();
    assert_eq!(snap.events_received, 1500);
    assert_eq!(snap.bytes_received, snappy(&req).len() as u64);
    stop(h).await;
}

#[tokio::test]
async fn a_failed_piece_answers_503_with_retry_after() {
    let mut h = start(LISTEN).await;
    let pending = write(
        &h,
        &request(vec![series(&[("__name__", "x")], &[(1.0, 1)])]),
    );
    next_batch(&mut h.rx).await.ack.expect("token").fail();
    let a = answer(pending).await;
    assert_eq!(a.status, StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(a.headers.get("retry-after").unwrap(), "1");
    assert_eq!(h.metrics.snapshot().errors, vec![("not_delivered", 1)]);
    stop(h).await;
}

#[tokio::test]
async fn a_full_pipeline_answers_503_with_retry_after() {
    // Capacity 1 and nobody reading: the first piece fills the channel, the second waits
    // write_timeout for room.
    let mut h = start_with_capacity(&format!("{LISTEN}write_timeout = \"200ms\"\n"), 1).await;
    let samples: Vec<(f64, i64)> = (0..1500).map(|i| (f64::from(i), i64::from(i))).collect();
    let a = answer(write(
        &h,
        &request(vec![series(&[("__name__", "x")], &samples)]),
    ))
    .await;
    assert_eq!(a.status, StatusCode::SERVICE_UNAVAILABLE, "{}", a.body);
    assert_eq!(a.headers.get("retry-after").unwrap(), "1");
    assert!(a.body.contains("buffers are full"), "{}", a.body);
    assert_eq!(h.metrics.snapshot().errors, vec![("pipeline_full", 1)]);
    // The piece that was taken is still there (at-least-once: a retry may repeat it).
    assert_eq!(metrics_of(&h.rx.recv().await.unwrap()).len(), 1000);
    stop(h).await;
}

#[tokio::test]
async fn malformed_bodies_get_400_and_send_nothing() {
    let mut h = start(LISTEN).await;
    let no_name = request(vec![
        series(&[("__name__", "up")], &[(1.0, 1)]),
        series(&[("job", "x")], &[(1.0, 1)]),
    ]);
    let not_protobuf = snap::raw::Encoder::new()
        .compress_vec(b"\x0a\xff\xff")
        .unwrap();
    for (body, says) in [
        (b"not snappy at all".to_vec(), "invalid snappy body"),
        (not_protobuf, "invalid protobuf WriteRequest"),
        (snappy(&no_name), "series 1: no __name__ label"),
    ] {
        let a = answer(post(h.addr, "POST", "/api/v1/write", HEADERS, body)).await;
        assert_eq!(a.status, StatusCode::BAD_REQUEST);
        assert!(a.body.starts_with(says), "{}", a.body);
    }
    assert!(h.rx.try_recv().is_err());
    assert_eq!(h.metrics.snapshot().errors, vec![("bad_request", 3)]);
    stop(h).await;
}

#[tokio::test]
async fn oversize_bodies_get_413() {
    let mut h = start(&format!("{LISTEN}max_body_size = 256\n")).await;
    // Incompressible and announced larger than the limit.
    let noise: Vec<u8> = (0..300u32).map(|i| (i * 7919 % 251) as u8).collect();
    let a = answer(post(h.addr, "POST", "/api/v1/write", HEADERS, noise)).await;
    assert_eq!(a.status, StatusCode::PAYLOAD_TOO_LARGE);
    // Small compressed, too large once decompressed.
    let many = request(vec![
        series(&[("__name__", "up"), ("job", "j")], &[(1.0, 1)]);
        50
    ]);
    let body = snappy(&many);
    assert!(body.len() <= 256, "{}", body.len());
    let a = answer(post(h.addr, "POST", "/api/v1/write", HEADERS, body)).await;
    assert_eq!(a.status, StatusCode::PAYLOAD_TOO_LARGE, "{}", a.body);
    assert!(h.rx.try_recv().is_err());
    assert_eq!(h.metrics.snapshot().errors, vec![("too_large", 2)]);
    stop(h).await;
}

#[tokio::test]
async fn other_encodings_methods_and_paths_are_refused() {
    let h = start(LISTEN).await;
    let body = snappy(&request(vec![]));
    let a = answer(post(
        h.addr,
        "POST",
        "/api/v1/write",
        &[("content-encoding", "gzip")],
        body.clone(),
    ))
    .await;
    assert_eq!(a.status, StatusCode::UNSUPPORTED_MEDIA_TYPE);
    let a = answer(post(
        h.addr,
        "POST",
        "/api/v1/write",
        &[
            ("content-encoding", "snappy"),
            (
                "content-type",
                "application/x-protobuf;proto=io.prometheus.write.v2.Request",
            ),
        ],
        body.clone(),
    ))
    .await;
    assert_eq!(a.status, StatusCode::UNSUPPORTED_MEDIA_TYPE);
    assert!(a.body.contains("2.0"), "{}", a.body);
    let a = answer(post(h.addr, "GET", "/api/v1/write", &[], "")).await;
    assert_eq!(a.status, StatusCode::METHOD_NOT_ALLOWED);
    assert_eq!(a.headers.get("allow").unwrap(), "POST");
    let a = answer(post(h.addr, "POST", "/write", HEADERS, body.clone())).await;
    assert_eq!(a.status, StatusCode::NOT_FOUND);
    // A metadata-only request (no series) is taken at once.
    let a = answer(post(h.addr, "POST", "/api/v1/write", HEADERS, body)).await;
    assert_eq!(a.status, StatusCode::NO_CONTENT);
    stop(h).await;
}

// ---------------------------------------------------------------- config

#[test]
pub(super) fn sample_parses_and_equals_the_defaults() {
    gleaner_api::test_util::sample::assert_sample::<config::RemoteWriteConfig>(
        "inputs.remote_write.0",
        DESCRIPTOR.sample,
        &[],
        &[],
    );
    let cfg = PluginConfig::from_toml_str("inputs.remote_write.0", "").unwrap();
    let s = config::parse(&cfg).unwrap();
    assert_eq!(
        s.listen,
        config::DEFAULT_LISTEN.parse::<SocketAddr>().unwrap()
    );
    assert_eq!(s.max_body_size, config::DEFAULT_MAX_BODY_SIZE.get());
    assert!(DESCRIPTOR.sample.starts_with("[[inputs.remote_write]]\n"));
    (DESCRIPTOR.build)(&cfg, &BuildContext::for_test("inputs.remote_write.0")).unwrap();
}

#[test]
fn config_errors_name_the_key() {
    let err = |toml: &str| {
        let cfg = PluginConfig::from_toml_str("inputs.remote_write.0", toml).unwrap();
        config::parse(&cfg).unwrap_err()
    };
    let e = err("listen = \"localhost\"\n");
    assert_eq!(e.key.as_deref(), Some("inputs.remote_write.0.listen"));
    let e = err("lisen = \"127.0.0.1:1\"\n");
    assert_eq!(e.hint.as_deref(), Some("did you mean `listen`?"));
    let e = err("max_body_size = 0\n");
    assert_eq!(
        e.key.as_deref(),
        Some("inputs.remote_write.0.max_body_size")
    );
    let e = err("write_timeout = \"0s\"\n");
    assert_eq!(
        e.key.as_deref(),
        Some("inputs.remote_write.0.write_timeout")
    );
}

#[tokio::test]
async fn once_mode_returns_without_binding() {
    let taken = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let toml = format!("listen = \"{}\"\n", taken.local_addr().unwrap());
    let cfg = PluginConfig::from_toml_str("inputs.remote_write.0", &toml).unwrap();
    let bcx = BuildContext::for_test("inputs.remote_write.0");
    let input = (DESCRIPTOR.build)(&cfg, &bcx).unwrap();
    let (cx, _rx, _trigger) = input_context(&bcx, RunMode::Once, 1);
    tokio::time::timeout(WAIT, input.run(cx))
        .await
        .unwrap()
        .unwrap();
}
