//! A scripted HTTP/1.1 server for the unit tests of the HTTP outputs: binds 127.0.0.1:0,
//! records every request (method, path and query, headers, body un-gzipped) and answers
//! each with the next scripted [`Reply`] (the last one repeats); and the outputs' other test
//! helpers: an output built from TOML ([`build`], [`build_err`]) and golden files.

use std::convert::Infallible;
use std::io::Read as _;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};

use bytes::Bytes;
use http::{Request, Response, StatusCode};
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use hyper::service::service_fn;
use hyper_util::rt::TokioIo;

/// One scripted answer.
#[derive(Debug, Clone)]
pub(crate) struct Reply {
    pub(crate) status: u16,
    pub(crate) headers: Vec<(&'static str, String)>,
    pub(crate) body: String,
    /// A binary body sent instead of `body` (a protobuf answer).
    pub(crate) raw: Option<Vec<u8>>,
}

impl Reply {
    pub(crate) fn new(status: u16, body: &str) -> Self {
        Reply {
            status,
            headers: Vec::new(),
            body: body.to_owned(),
            raw: None,
        }
    }

    /// An answer with a binary body (a protobuf response).
    pub(crate) fn bytes(status: u16, body: Vec<u8>) -> Self {
        Reply {
            status,
            headers: Vec::new(),
            body: String::new(),
            raw: Some(body),
        }
    }

    pub(crate) fn header(mut self, k: &'static str, v: &str) -> Self {
        self.headers.push((k, v.to_owned()));
        self
    }
}

/// A recorded request.
#[derive(Debug, Clone)]
pub(crate) struct Recorded {
    pub(crate) method: String,
    pub(crate) path_and_query: String,
    pub(crate) headers: http::HeaderMap,
    /// The body, gunzipped when `Content-Encoding: gzip`.
    pub(crate) body: Vec<u8>,
}

impl Recorded {
    pub(crate) fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }
}

#[derive(Default)]
struct State {
    script: Vec<Reply>,
    next: usize,
    requests: Vec<Recorded>,
}

/// The running server; stops when dropped.
pub(crate) struct TestServer {
    pub(crate) addr: SocketAddr,
    state: Arc<Mutex<State>>,
    task: tokio::task::JoinHandle<()>,
}

impl TestServer {
    /// Starts a server answering with `script` in order (the last reply repeats).
    pub(crate) async fn start(script: Vec<Reply>) -> TestServer {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        let addr = listener.local_addr().expect("addr");
        let state = Arc::new(Mutex::new(State {
            script,
            ..State::default()
        }));
        let st = Arc::clone(&state);
        let task = tokio::spawn(async move {
            while let Ok((stream, _)) = listener.accept().await {
                let st = Arc::clone(&st);
                tokio::spawn(async move {
                    let svc = service_fn(move |req| handle(Arc::clone(&st), req));
                    if hyper::server::conn::http1::Builder::new()
                        .serve_connection(TokioIo::new(stream), svc)
                        .await
                        .is_err()
                    {}
                });
            }
        });
        TestServer { addr, state, task }
    }

    pub(crate) fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// Every request so far.
    pub(crate) fn requests(&self) -> Vec<Recorded> {
        self.state.lock().expect("state").requests.clone()
    }
}

impl Drop for TestServer {
    fn drop(&mut self) {
        self.task.abort();
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
    let gz = parts
        .headers
        .get("content-encoding")
        .is_some_and(|v| v == "gzip");
    let body = if gz {
        let mut out = Vec::new();
        flate2::read::GzDecoder::new(&raw[..])
            .read_to_end(&mut out)
            .expect("gzip body");
        out
    } else {
        raw
    };
    let reply = {
        let mut s = st.lock().expect("state");
        s.requests.push(Recorded {
            method: parts.method.to_string(),
            path_and_query: parts
                .uri
                .path_and_query()
                .map_or(String::new(), ToString::to_string),
            headers: parts.headers,
            body,
        });
        let i = s.next.min(s.script.len().saturating_sub(1));
        s.next += 1;
        s.script
            .get(i)
            .cloned()
            .unwrap_or_else(|| Reply::new(204, ""))
    };
    let mut resp = Response::builder().status(StatusCode::from_u16(reply.status).expect("status"));
    for (k, v) in &reply.headers {
        resp = resp.header(*k, v.as_str());
    }
    Ok(resp
        .body(Full::new(match reply.raw {
            Some(raw) => Bytes::from(raw),
            None => Bytes::from(reply.body),
        }))
        .expect("response"))
}

/// The output of `desc` built from `toml`, with its own counters.
///
/// # Panics
/// When the config is refused: this is a test helper.
pub(crate) fn build(
    desc: &gleaner_api::OutputDescriptor,
    toml: &str,
) -> (
    Box<dyn gleaner_api::Output>,
    Arc<gleaner_api::ComponentMetrics>,
) {
    let id = format!("outputs.{}.0", desc.name);
    let mut cx = gleaner_api::BuildContext::for_test(&id);
    cx.metrics = gleaner_api::ComponentMetrics::detached(desc.name);
    let cfg = gleaner_api::PluginConfig::from_toml_str(&id, toml).expect("toml");
    let out = (desc.build)(&cfg, &cx).unwrap_or_else(|e| panic!("build: {e}"));
    (out, cx.metrics)
}

/// The error that refuses `toml` as the config of `desc`.
///
/// # Panics
/// When the config is accepted: this is a test helper.
pub(crate) fn build_err(
    desc: &gleaner_api::OutputDescriptor,
    toml: &str,
) -> gleaner_api::ConfigError {
    let id = format!("outputs.{}.0", desc.name);
    let cx = gleaner_api::BuildContext::for_test(&id);
    let cfg = gleaner_api::PluginConfig::from_toml_str(&id, toml).expect("toml");
    match (desc.build)(&cfg, &cx) {
        Ok(_) => panic!("config accepted:\n{toml}"),
        Err(e) => e,
    }
}

/// Compares `actual` with the golden file `testdata/<name>` of this crate
/// (`gleaner_api::test_util::golden`: a line diff; `GOLDEN_UPDATE=1` rewrites the file).
pub(crate) fn assert_golden(name: &str, actual: &[u8]) {
    gleaner_api::test_util::golden::assert_golden(env!("CARGO_MANIFEST_DIR"), name, actual);
}
