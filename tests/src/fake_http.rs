//! A small HTTP receiver for `outputs.http`: any path, `POST` bodies recorded (gunzipped when
//! `Content-Encoding: gzip`) with their headers, answered 200 unless the test injected
//! failures for the next requests (a status, with an optional `Retry-After`). A request that
//! is not `POST` gets 405. A receiver has no protocol of its own beyond HTTP/1.1 (RFC 9110
//! for the status codes and `Retry-After`), which is what the output is written against.
//!
//! It runs on its own thread and runtime, so plain `#[test]`s can use it; it stops on drop.

use std::collections::VecDeque;
use std::convert::Infallible;
use std::io::Read as _;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use crate::fake_server::ServerThread;
use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use hyper::{Request, Response, StatusCode};

/// One recorded request.
#[derive(Debug, Clone)]
pub struct Received {
    /// Path and query.
    pub path: String,
    /// Header names (lowercase) and values, in arrival order.
    pub headers: Vec<(String, String)>,
    /// The body, gunzipped.
    pub body: Vec<u8>,
    /// The status it was answered.
    pub status: u16,
}

impl Received {
    /// The first value of header `name` (lowercase).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }
}

#[derive(Default)]
struct State {
    requests: Vec<Received>,
    failures: VecDeque<(u16, Option<u32>)>,
}

/// The running receiver.
pub struct FakeHttp {
    server: ServerThread,
    state: Arc<Mutex<State>>,
}

impl FakeHttp {
    /// Starts on a free port of 127.0.0.1.
    ///
    /// # Panics
    /// When it cannot bind.
    pub fn start() -> FakeHttp {
        let state = Arc::new(Mutex::new(State::default()));
        let server = ServerThread::spawn("fake http", Arc::clone(&state), handle);
        FakeHttp { server, state }
    }

    /// `http://127.0.0.1:<port>`.
    pub fn url(&self) -> String {
        self.server.url()
    }

    /// The next `n` requests get `status` (with `Retry-After: <secs>` when given).
    pub fn fail_next(&self, n: usize, status: u16, retry_after: Option<u32>) {
        let mut s = self.lock();
        s.failures
            .extend(std::iter::repeat_n((status, retry_after), n));
    }

    /// Every request so far.
    pub fn requests(&self) -> Vec<Received> {
        self.lock().requests.clone()
    }

    /// Waits until `pred` holds for the requests so far; returns them.
    ///
    /// # Panics
    /// After `timeout`.
    pub fn wait_for(
        &self,
        timeout: Duration,
        what: &str,
        pred: impl Fn(&[Received]) -> bool,
    ) -> Vec<Received> {
        let deadline = Instant::now() + timeout;
        loop {
            {
                let s = self.lock();
                if pred(&s.requests) {
                    return s.requests.clone();
                }
                assert!(
                    Instant::now() < deadline,
                    "timed out waiting for {what}: {} requests, statuses {:?}",
                    s.requests.len(),
                    s.requests.iter().map(|r| r.status).collect::<Vec<_>>()
                );
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

async fn handle(
    st: Arc<Mutex<State>>,
    req: Request<Incoming>,
) -> Result<Response<Full<Bytes>>, Infallible> {
    let (parts, body) = req.into_parts();
    let raw = body
        .collect()
        .await
        .map(|b| b.to_bytes().to_vec())
        .unwrap_or_default();
    if parts.method != hyper::Method::POST {
        return Ok(answer(405, None));
    }
    let gzip = parts
        .headers
        .get("content-encoding")
        .is_some_and(|v| v == "gzip");
    let body = if gzip {
        let mut out = Vec::new();
        if flate2::read::GzDecoder::new(&raw[..])
            .read_to_end(&mut out)
            .is_err()
        {
            return Ok(answer(400, None));
        }
        out
    } else {
        raw
    };
    let mut s = st.lock().unwrap_or_else(PoisonError::into_inner);
    let (status, retry_after) = s.failures.pop_front().unwrap_or((200, None));
    s.requests.push(Received {
        path: parts
            .uri
            .path_and_query()
            .map_or_else(String::new, ToString::to_string),
        headers: parts
            .headers
            .iter()
            .map(|(k, v)| {
                (
                    k.as_str().to_owned(),
                    String::from_utf8_lossy(v.as_bytes()).into_owned(),
                )
            })
            .collect(),
        body,
        status,
    });
    Ok(answer(status, retry_after))
}

fn answer(status: u16, retry_after: Option<u32>) -> Response<Full<Bytes>> {
    let mut r = Response::builder()
        .status(StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR));
    if let Some(secs) = retry_after {
        r = r.header("retry-after", secs.to_string());
    }
    r.body(Full::new(Bytes::from_static(b"")))
        .unwrap_or_else(|_| Response::new(Full::new(Bytes::new())))
}
