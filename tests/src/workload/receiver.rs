//! Lean counting receivers: Splunk HEC (`POST /services/collector/event`, JSON events
//! concatenated, gzip or not; answers `{"text":"Success","code":0}`), InfluxDB line protocol
//! (`POST /write`, `/api/v2/write`; 204) and Prometheus remote write 1.0 (protobuf +
//! snappy; 204) and OTLP/HTTP logs (protobuf, gzip or not; 200). Unlike the faithful fakes (`fake_hec.rs`), they check nothing but the
//! body's ids: each request's sequence ids go to a `Tally` in one lock, so a receiver keeps
//! up with the agent on a shared 2-core machine.
//!
//! Faults for chaos runs (`set_mode`): `Down` drops every connection without an answer (a
//! dead server behind a load balancer), `Status(503)` answers every request with that status
//! and `Retry-After: 1` (a 503 storm), `Slow(d)` waits `d` before reading each body (a
//! receiver that accepts slowly), `Gather(n)` holds every request until `n` were in flight at
//! once (a receiver that proves the agent's concurrency without timing).
//!
//! Measures besides the ids: requests in flight now and at most (`max_in_flight`), the
//! latency of each event from the write time its line carries (`wt=<unix µs>`) to the
//! request's receipt (`record_latency`), and the events that carry a given token
//! (`count_token`, e.g. the workload attribute of `logs-k8s`).

use std::collections::HashMap;
use std::io::Read as _;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use hyper::service::service_fn;
use hyper::{Request, Response};
use hyper_util::rt::TokioIo;

use super::protocols::{each_series, scan_seq_ids};
use super::tally::Tally;

/// The protocol a receiver speaks.
#[derive(Debug)]
pub enum Protocol {
    /// Splunk HEC events; ids from `sq=` tokens.
    Hec,
    /// Line protocol; ids from `sq=` tokens.
    LineProtocol,
    /// OTLP/HTTP logs (`/v1/logs`, protobuf, gzip or not); ids from `sq=` tokens in the
    /// records' bodies (decoded: a byte scan of the protobuf would read the next field's tag
    /// as a digit). Answers 200 with an empty response.
    Otlp,
    /// Remote write of an `expo::ChangingPage`: series named `wl_*` (`series` of them) with
    /// page timestamps `base_ms + 1000 * generation`; id = `(generation - 1) * series + index`
    /// of the series (indexes given in order of first arrival).
    RemoteWrite {
        /// Series on the page.
        series: usize,
        /// Timestamp of generation 0, in ms.
        base_ms: i64,
    },
}

/// A fault mode.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// Take everything.
    Normal,
    /// Drop connections without an answer.
    Down,
    /// Answer every request with this status (and `Retry-After: 1`).
    Status(u16),
    /// Wait this long before reading each body.
    Slow(Duration),
    /// Hold each request until this many were in flight at once (then answer all).
    Gather(usize),
}

struct Shared {
    protocol: Protocol,
    tally: Arc<Tally>,
    mode: Mutex<Mode>,
    requests: AtomicU64,
    refused: AtomicU64,
    bytes: AtomicU64,
    other_samples: AtomicU64,
    series_index: Mutex<HashMap<Vec<u8>, u64>>,
    in_flight: AtomicU64,
    max_in_flight: AtomicU64,
    /// Wakes requests held by `Gather`.
    gathered: tokio::sync::Notify,
    /// Latencies (µs) from `wt=` to receipt, when recording.
    latencies: Mutex<Option<Vec<u64>>>,
    /// Events carrying this token, when counting.
    token: Mutex<Option<(memchr::memmem::Finder<'static>, u64)>>,
}

/// A running receiver; stops when dropped.
pub struct Receiver {
    /// Its address (127.0.0.1, a free port).
    pub addr: SocketAddr,
    /// What arrived.
    pub tally: Arc<Tally>,
    shared: Arc<Shared>,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
}

impl Receiver {
    /// Starts a receiver on its own thread and single-threaded runtime.
    ///
    /// # Panics
    /// When it cannot bind or start its runtime.
    pub fn start(protocol: Protocol) -> Receiver {
        let std_listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind receiver");
        std_listener.set_nonblocking(true).expect("nonblocking");
        let addr = std_listener.local_addr().expect("receiver addr");
        let tally = Arc::new(Tally::new());
        let shared = Arc::new(Shared {
            protocol,
            tally: Arc::clone(&tally),
            mode: Mutex::new(Mode::Normal),
            requests: AtomicU64::new(0),
            refused: AtomicU64::new(0),
            bytes: AtomicU64::new(0),
            other_samples: AtomicU64::new(0),
            series_index: Mutex::new(HashMap::new()),
            in_flight: AtomicU64::new(0),
            max_in_flight: AtomicU64::new(0),
            gathered: tokio::sync::Notify::new(),
            latencies: Mutex::new(None),
            token: Mutex::new(None),
        });
        let (stop, mut stopped) = tokio::sync::oneshot::channel::<()>();
        let sh = Arc::clone(&shared);
        std::thread::Builder::new()
            .name("receiver".into())
            .spawn(move || {
                let rt = tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build()
                    .expect("receiver runtime");
                rt.block_on(async move {
                    let listener =
                        tokio::net::TcpListener::from_std(std_listener).expect("tokio listener");
                    loop {
                        let stream = tokio::select! {
                            _ = &mut stopped => return,
                            r = listener.accept() => match r {
                                Ok((s, _)) => s,
                                Err(_) => continue,
                            },
                        };
                        if sh.mode() == Mode::Down {
                            sh.refused.fetch_add(1, Ordering::Relaxed);
                            drop(stream);
                            continue;
                        }
                        let sh = Arc::clone(&sh);
                        tokio::spawn(async move {
                            let svc = service_fn(move |req| handle(Arc::clone(&sh), req));
                            let _closed = hyper::server::conn::http1::Builder::new()
                                .serve_connection(TokioIo::new(stream), svc)
                                .await;
                        });
                    }
                });
            })
            .expect("spawn receiver thread");
        Receiver {
            addr,
            tally,
            shared,
            stop: Some(stop),
        }
    }

    /// `http://127.0.0.1:<port>`.
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// Changes the fault mode.
    pub fn set_mode(&self, mode: Mode) {
        *self
            .shared
            .mode
            .lock()
            .unwrap_or_else(PoisonError::into_inner) = mode;
        self.shared.gathered.notify_waiters();
    }

    /// Requests seen (answered or refused).
    pub fn requests(&self) -> u64 {
        self.shared.requests.load(Ordering::Relaxed)
    }

    /// Connections and requests refused by a fault mode.
    pub fn refused(&self) -> u64 {
        self.shared.refused.load(Ordering::Relaxed)
    }

    /// Body bytes taken (decoded).
    pub fn bytes(&self) -> u64 {
        self.shared.bytes.load(Ordering::Relaxed)
    }

    /// Requests being answered now.
    pub fn in_flight(&self) -> u64 {
        self.shared.in_flight.load(Ordering::SeqCst)
    }

    /// The most requests in flight at once so far.
    pub fn max_in_flight(&self) -> u64 {
        self.shared.max_in_flight.load(Ordering::SeqCst)
    }

    /// From now on, records each event's latency from the `wt=<unix µs>` its line carries
    /// to its request's receipt.
    pub fn record_latency(&self) {
        *lock(&self.shared.latencies) = Some(Vec::new());
    }

    /// The latencies recorded so far, µs, in arrival order.
    pub fn latencies(&self) -> Vec<u64> {
        lock(&self.shared.latencies).clone().unwrap_or_default()
    }

    /// From now on, counts the occurrences of `token` in the bodies taken (decoded).
    pub fn count_token(&self, token: &'static [u8]) {
        *lock(&self.shared.token) = Some((memchr::memmem::Finder::new(token), 0));
    }

    /// Occurrences of the counted token so far.
    pub fn token_count(&self) -> u64 {
        lock(&self.shared.token).as_ref().map_or(0, |t| t.1)
    }

    /// Remote write: samples of series not on the page (`up`, `scrape_*`).
    pub fn other_samples(&self) -> u64 {
        self.shared.other_samples.load(Ordering::Relaxed)
    }
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

/// Counts a request in flight (and the most at once) while it lives.
struct InFlight<'a>(&'a Shared);

impl<'a> InFlight<'a> {
    fn new(sh: &'a Shared) -> Self {
        let now = sh.in_flight.fetch_add(1, Ordering::SeqCst) + 1;
        sh.max_in_flight.fetch_max(now, Ordering::SeqCst);
        sh.gathered.notify_waiters();
        InFlight(sh)
    }
}

impl Drop for InFlight<'_> {
    fn drop(&mut self) {
        self.0.in_flight.fetch_sub(1, Ordering::SeqCst);
    }
}

/// Appends every `wt=<digits>` (a write time, unix µs) found in `body` as its latency at
/// `now_us`.
fn scan_latencies(body: &[u8], now_us: u64, out: &mut Vec<u64>) {
    let finder = memchr::memmem::Finder::new(b"wt=");
    let mut i = 0;
    while let Some(p) = finder.find(&body[i..]) {
        let mut j = i + p + 3;
        let start = j;
        let mut n: u64 = 0;
        while j < body.len() && body[j].is_ascii_digit() {
            n = n.wrapping_mul(10).wrapping_add(u64::from(body[j] - b'0'));
            j += 1;
        }
        if j > start {
            out.push(now_us.saturating_sub(n));
        }
        i = j;
    }
}

/// Now, unix µs.
pub fn unix_micros() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_micros() as u64)
}

impl Drop for Receiver {
    fn drop(&mut self) {
        if let Some(s) = self.stop.take() {
            let _gone = s.send(());
        }
    }
}

impl Shared {
    fn mode(&self) -> Mode {
        *self.mode.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn busy_body(&self, status: u16) -> &'static str {
        match (&self.protocol, status) {
            (Protocol::Hec, 503) => r#"{"text":"Server is busy","code":9}"#,
            (Protocol::Hec, _) => r#"{"text":"Internal server error","code":8}"#,
            _ => "busy\n",
        }
    }

    /// The ids in a decoded body.
    fn ids(&self, body: &[u8], out: &mut Vec<u64>) -> Result<(), String> {
        match &self.protocol {
            Protocol::Hec | Protocol::LineProtocol => {
                scan_seq_ids(body, out);
                Ok(())
            }
            Protocol::Otlp => {
                use gleaner_api::otlp::proto::{ExportLogsServiceRequest, any_value::Value};
                use prost::Message as _;
                let req = ExportLogsServiceRequest::decode(body).map_err(|e| e.to_string())?;
                for r in req
                    .resource_logs
                    .iter()
                    .flat_map(|r| &r.scope_logs)
                    .flat_map(|s| &s.log_records)
                {
                    match r.body.as_ref().and_then(|b| b.value.as_ref()) {
                        Some(Value::StringValue(s)) => scan_seq_ids(s.as_bytes(), out),
                        Some(Value::BytesValue(b)) => scan_seq_ids(b, out),
                        _ => out.push(u64::MAX),
                    }
                }
                Ok(())
            }
            Protocol::RemoteWrite { series, base_ms } => {
                let mut index = self
                    .series_index
                    .lock()
                    .unwrap_or_else(PoisonError::into_inner);
                let mut key = Vec::new();
                each_series(body, |s| {
                    if !s.name().starts_with(b"wl_") {
                        self.other_samples
                            .fetch_add(s.samples.len() as u64, Ordering::Relaxed);
                        return;
                    }
                    key.clear();
                    for (k, v) in &s.labels {
                        key.extend_from_slice(k);
                        key.push(0);
                        key.extend_from_slice(v);
                        key.push(0);
                    }
                    let next = index.len() as u64;
                    let i = *index.entry(key.clone()).or_insert(next);
                    for &(_, ts) in &s.samples {
                        let generation = (ts - base_ms).div_euclid(1000);
                        if generation >= 1 && i < *series as u64 {
                            out.push((generation as u64 - 1) * *series as u64 + i);
                        } else {
                            out.push(u64::MAX);
                        }
                    }
                })
            }
        }
    }
}

fn answer(status: u16, body: &'static str) -> Response<Full<Bytes>> {
    let mut r = Response::new(Full::new(Bytes::from_static(body.as_bytes())));
    *r.status_mut() = hyper::StatusCode::from_u16(status).unwrap_or(hyper::StatusCode::OK);
    r
}

async fn handle(
    sh: Arc<Shared>,
    req: Request<Incoming>,
) -> Result<Response<Full<Bytes>>, std::io::Error> {
    sh.requests.fetch_add(1, Ordering::Relaxed);
    if req.method() == hyper::Method::GET {
        return Ok(answer(200, r#"{"text":"HEC is healthy","code":17}"#));
    }
    let _counted = InFlight::new(&sh);
    match sh.mode() {
        Mode::Down => {
            sh.refused.fetch_add(1, Ordering::Relaxed);
            return Err(std::io::Error::other("receiver down"));
        }
        Mode::Status(code) => {
            sh.refused.fetch_add(1, Ordering::Relaxed);
            let mut r = answer(code, sh.busy_body(code));
            r.headers_mut()
                .insert("retry-after", hyper::header::HeaderValue::from_static("1"));
            return Ok(r);
        }
        Mode::Slow(d) => tokio::time::sleep(d).await,
        Mode::Gather(n) => loop {
            let woken = sh.gathered.notified();
            tokio::pin!(woken);
            woken.as_mut().enable();
            if sh.max_in_flight.load(Ordering::SeqCst) >= n as u64 || sh.mode() != Mode::Gather(n) {
                break;
            }
            woken.await;
        },
        Mode::Normal => {}
    }
    let gzip = req
        .headers()
        .get("content-encoding")
        .is_some_and(|v| v.as_bytes().eq_ignore_ascii_case(b"gzip"));
    let raw = req
        .into_body()
        .collect()
        .await
        .map_err(std::io::Error::other)?
        .to_bytes();
    let received_us = unix_micros();
    let decoded = match &sh.protocol {
        Protocol::RemoteWrite { .. } => snap::raw::Decoder::new()
            .decompress_vec(&raw)
            .map_err(|e| e.to_string()),
        _ if gzip => {
            let mut out = Vec::with_capacity(raw.len() * 8);
            flate2::read::MultiGzDecoder::new(&raw[..])
                .read_to_end(&mut out)
                .map(|_| out)
                .map_err(|e| e.to_string())
        }
        _ => Ok(raw.to_vec()),
    };
    let mut ids = Vec::new();
    let parsed = decoded.and_then(|body| {
        sh.bytes.fetch_add(body.len() as u64, Ordering::Relaxed);
        if let Some(l) = lock(&sh.latencies).as_mut() {
            scan_latencies(&body, received_us, l);
        }
        if let Some((finder, n)) = lock(&sh.token).as_mut() {
            *n += finder.find_iter(&body).count() as u64;
        }
        sh.ids(&body, &mut ids)
    });
    if parsed.is_err() {
        return Ok(answer(400, "bad body\n"));
    }
    sh.tally.record(&ids);
    Ok(match sh.protocol {
        Protocol::Hec => answer(200, r#"{"text":"Success","code":0}"#),
        Protocol::Otlp => answer(200, ""),
        _ => answer(204, ""),
    })
}

#[cfg(test)]
mod tests;
