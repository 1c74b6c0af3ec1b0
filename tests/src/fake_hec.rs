//! A faithful fake Splunk HTTP Event Collector for the `splunk_hec` output tests.
//!
//! It follows Splunk's documented protocol: "HTTP Event Collector REST API endpoints"
//! (help.splunk.com, Splunk Enterprise "Get data in" → "HTTP Event Collector REST API
//! endpoints"), "Format events for HTTP Event Collector" (docs.splunk.com
//! Documentation/Splunk/9.1.1/Data/HECExamples: a batch is JSON objects concatenated, no
//! array) and the status-code table of "Troubleshoot HTTP Event Collector"
//! (docs.splunk.com Documentation/Splunk/9.2.3/Data/TroubleshootHTTPEventCollector), as
//! summarised in docs/protocols.md ("Splunk HTTP Event Collector"):
//! - `POST /services/collector`, `/services/collector/event`, `/services/collector/event/1.0`;
//!   `GET /services/collector/health` (and `/health/1.0`); `POST /services/collector/ack`;
//! - auth `Authorization: Splunk <token>` or HTTP basic with the token as password: none →
//!   401 code 2, malformed → 401 code 3, unknown token → 403 code 4, disabled token → 403
//!   code 1; `?token=` without a header → 400 code 16 (query-string auth is off);
//! - `Content-Encoding: gzip` bodies; any other encoding → 415;
//! - bodies over `max_content_length` → 413;
//! - events are parsed one by one and indexed until the first bad one, whose 0-based index is
//!   returned as `invalid-event-number`: not JSON or not an object, or a bad `time` → 400
//!   code 6; no `event` → code 12; blank `event` → code 13; `fields` not a flat object of
//!   strings/numbers/string arrays → code 15; an `index` not allowed for the token → code 7;
//!   an empty body → code 5;
//! - tokens with indexer acknowledgement need a channel (`X-Splunk-Request-Channel` or
//!   `?channel=`; none → 400 code 10, not a GUID → code 11), get `ackId`s, and `/ack` answers
//!   each id `true` once (read-once), then `false`; `/ack` for a token without ack → code 14;
//!   while acks are withheld (test control), `/ack` answers `false` for every id and keeps
//!   it pending, as an indexer that has not yet confirmed; ack polls are recorded;
//! - injected failures (test control): the next requests get a given status and code (503
//!   code 9 busy, 500 code 8, 429 code 26, 503 code 23, 413, ...) with nothing indexed, and
//!   "busy" mode makes health answer 503 code 18.
//!
//! It runs on its own thread and runtime, so plain `#[test]`s can use it; it stops on drop.

use std::collections::{BTreeMap, VecDeque};
use std::convert::Infallible;
use std::io::Read as _;
use std::sync::{Arc, Mutex, PoisonError};

use crate::fake_server::ServerThread;
use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use hyper::{Request, Response, StatusCode};
use serde_json::{Value, json};

/// A token the fake knows.
#[derive(Debug, Clone)]
pub struct Token {
    /// The token text.
    pub token: String,
    /// A disabled token answers 403 code 1.
    pub disabled: bool,
    /// Indexer acknowledgement (`useACK`).
    pub ack: bool,
    /// Indexes the token may write to; empty means any.
    pub indexes: Vec<String>,
}

impl Token {
    /// An enabled token without ack, any index.
    pub fn new(token: &str) -> Token {
        Token {
            token: token.to_owned(),
            disabled: false,
            ack: false,
            indexes: Vec::new(),
        }
    }
}

/// What the fake accepts.
#[derive(Debug, Clone)]
pub struct FakeHecConfig {
    /// Known tokens.
    pub tokens: Vec<Token>,
    /// Largest body (after decompression) in bytes; Splunk's `max_content_length`.
    pub max_content_length: usize,
    /// Keep every indexed event (false: only count them, for benchmarks).
    pub keep_events: bool,
}

impl Default for FakeHecConfig {
    fn default() -> Self {
        FakeHecConfig {
            tokens: vec![Token::new(FakeHec::TOKEN)],
            max_content_length: 800 * 1024 * 1024,
            keep_events: true,
        }
    }
}

/// One indexed event, with the token and channel it came with.
#[derive(Debug, Clone, PartialEq)]
pub struct Indexed {
    /// The event object as received.
    pub event: Value,
    /// The token used.
    pub token: String,
    /// The request's `Content-Encoding`, if any.
    pub content_encoding: Option<String>,
}

/// One answered request to the event endpoint.
#[derive(Debug, Clone)]
pub struct Answered {
    /// HTTP status.
    pub status: u16,
    /// The answer body.
    pub body: Value,
    /// Events in the request (that could be counted).
    pub events: usize,
}

/// One answered poll of `/services/collector/ack`.
#[derive(Debug, Clone, PartialEq)]
pub struct AckPoll {
    /// The channel it came with.
    pub channel: String,
    /// The ids asked about, and the answer for each.
    pub acks: Vec<(u64, bool)>,
}

#[derive(Debug, Default)]
struct State {
    config: FakeHecConfig,
    indexed: Vec<Indexed>,
    indexed_count: usize,
    answered: Vec<Answered>,
    inject: VecDeque<(u16, Option<u16>, Option<u64>)>,
    busy: bool,
    withhold_acks: bool,
    ack_polls: Vec<AckPoll>,
    next_ack: u64,
    /// channel → ack id → acknowledged and not yet read.
    acks: BTreeMap<String, BTreeMap<u64, bool>>,
}

/// The running fake; stops when dropped.
pub struct FakeHec {
    server: ServerThread,
    state: Arc<Mutex<State>>,
}

impl FakeHec {
    /// The token of the default config.
    pub const TOKEN: &'static str = "11111111-2222-3333-4444-555555555555";

    /// A fake with one enabled token ([`FakeHec::TOKEN`]), any index.
    pub fn start() -> FakeHec {
        FakeHec::start_with(FakeHecConfig::default())
    }

    /// A fake with the given tokens and limits.
    ///
    /// # Panics
    /// When it cannot bind 127.0.0.1:0.
    pub fn start_with(config: FakeHecConfig) -> FakeHec {
        let state = Arc::new(Mutex::new(State {
            config,
            ..State::default()
        }));
        let server = ServerThread::spawn("fake hec", Arc::clone(&state), handle);
        FakeHec { server, state }
    }

    /// `http://127.0.0.1:<port>`.
    pub fn url(&self) -> String {
        self.server.url()
    }

    fn state(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Every event indexed so far, in order.
    pub fn indexed(&self) -> Vec<Indexed> {
        self.state().indexed.clone()
    }

    /// How many events were indexed so far.
    pub fn indexed_count(&self) -> usize {
        self.state().indexed_count
    }

    /// The `event` values of everything indexed so far.
    pub fn events(&self) -> Vec<Value> {
        self.state()
            .indexed
            .iter()
            .map(|i| i.event.get("event").cloned().unwrap_or(Value::Null))
            .collect()
    }

    /// Every answer to the event endpoint so far.
    pub fn answered(&self) -> Vec<Answered> {
        self.state().answered.clone()
    }

    /// The next request to the event endpoint (after auth) gets `status` with `code` (and a
    /// `Retry-After`), and indexes nothing. Calls queue up.
    pub fn fail_next(&self, status: u16, code: Option<u16>, retry_after: Option<u64>) {
        self.state().inject.push_back((status, code, retry_after));
    }

    /// Busy: health answers 503 code 18 and events 503 code 9 until cleared.
    pub fn set_busy(&self, busy: bool) {
        self.state().busy = busy;
    }

    /// Withhold acknowledgements: while set, `/ack` answers `false` for every id (they stay
    /// pending and read `true` once released).
    pub fn set_withhold_acks(&self, withhold: bool) {
        self.state().withhold_acks = withhold;
    }

    /// Every answered poll of `/services/collector/ack` so far.
    pub fn ack_polls(&self) -> Vec<AckPoll> {
        self.state().ack_polls.clone()
    }

    /// Enables or disables a token.
    pub fn set_token_disabled(&self, token: &str, disabled: bool) {
        for t in &mut self.state().config.tokens {
            if t.token == token {
                t.disabled = disabled;
            }
        }
    }
}

fn answer(status: u16, body: &Value) -> Response<Full<Bytes>> {
    Response::builder()
        .status(StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR))
        .header("Content-Type", "application/json; charset=UTF-8")
        .body(Full::new(Bytes::from(body.to_string())))
        .unwrap_or_else(|_| Response::new(Full::new(Bytes::new())))
}

fn hec(status: u16, code: u16, text: &str) -> (u16, Value) {
    (status, json!({"text": text, "code": code}))
}

fn query_param(uri: &hyper::Uri, key: &str) -> Option<String> {
    uri.query()?.split('&').find_map(|kv| {
        let (k, v) = kv.split_once('=').unwrap_or((kv, ""));
        (k == key).then(|| v.to_owned())
    })
}

fn decode_base64(s: &str) -> Option<Vec<u8>> {
    let val = |c: u8| -> Option<u32> {
        Some(match c {
            b'A'..=b'Z' => c - b'A',
            b'a'..=b'z' => c - b'a' + 26,
            b'0'..=b'9' => c - b'0' + 52,
            b'+' => 62,
            b'/' => 63,
            _ => return None,
        } as u32)
    };
    let s = s.trim_end_matches('=').as_bytes();
    let mut out = Vec::new();
    for chunk in s.chunks(4) {
        let mut n = 0u32;
        for (i, &c) in chunk.iter().enumerate() {
            n |= val(c)? << (18 - 6 * i);
        }
        let bytes = n.to_be_bytes();
        out.extend_from_slice(&bytes[1..chunk.len()]);
    }
    Some(out)
}

/// The token of a request, or the error answer.
fn authenticate(st: &State, req: &hyper::http::request::Parts) -> Result<Token, (u16, Value)> {
    let token = match req.headers.get("authorization").map(|v| v.to_str()) {
        None => {
            if query_param(&req.uri, "token").is_some() {
                return Err(hec(400, 16, "Query string authorization is not enabled"));
            }
            return Err(hec(401, 2, "Token is required"));
        }
        Some(Err(_)) => return Err(hec(401, 3, "Invalid authorization")),
        Some(Ok(v)) => {
            if let Some(t) = v.strip_prefix("Splunk ") {
                t.trim().to_owned()
            } else if let Some(b) = v.strip_prefix("Basic ") {
                let decoded = decode_base64(b.trim())
                    .and_then(|d| String::from_utf8(d).ok())
                    .ok_or_else(|| hec(401, 3, "Invalid authorization"))?;
                match decoded.split_once(':') {
                    Some((_, pass)) => pass.to_owned(),
                    None => return Err(hec(401, 3, "Invalid authorization")),
                }
            } else {
                return Err(hec(401, 3, "Invalid authorization"));
            }
        }
    };
    let t = st
        .config
        .tokens
        .iter()
        .find(|t| t.token == token)
        .ok_or_else(|| hec(403, 4, "Invalid token"))?;
    if t.disabled {
        return Err(hec(403, 1, "Token disabled"));
    }
    Ok(t.clone())
}

/// A channel GUID: 8-4-4-4-12 hex digits.
fn is_guid(s: &str) -> bool {
    let parts: Vec<&str> = s.split('-').collect();
    parts.len() == 5
        && parts
            .iter()
            .zip([8, 4, 4, 4, 12])
            .all(|(p, n)| p.len() == n && p.bytes().all(|b| b.is_ascii_hexdigit()))
}

fn channel(req: &hyper::http::request::Parts) -> Option<String> {
    req.headers
        .get("x-splunk-request-channel")
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned)
        .or_else(|| query_param(&req.uri, "channel"))
}

async fn handle(
    st: Arc<Mutex<State>>,
    req: Request<Incoming>,
) -> Result<Response<Full<Bytes>>, Infallible> {
    let (parts, body) = req.into_parts();
    let raw = body
        .collect()
        .await
        .map(|b| b.to_bytes())
        .unwrap_or_default();
    let mut st = st.lock().unwrap_or_else(PoisonError::into_inner);
    let path = parts.uri.path().trim_end_matches('/');
    let (status, body, retry_after) = match (parts.method.as_str(), path) {
        ("GET", "/services/collector/health" | "/services/collector/health/1.0") => {
            if st.busy {
                let (s, b) = hec(503, 18, "HEC is unhealthy, queues are full");
                (s, b, None)
            } else {
                let (s, b) = hec(200, 17, "HEC is healthy");
                (s, b, None)
            }
        }
        (
            "POST",
            "/services/collector" | "/services/collector/event" | "/services/collector/event/1.0",
        ) => event_endpoint(&mut st, &parts, &raw),
        ("POST", "/services/collector/ack") => {
            let (s, b) = ack_endpoint(&mut st, &parts, &raw);
            (s, b, None)
        }
        _ => (
            404,
            json!({"text": "The requested URL was not found on this server.", "code": 404}),
            None,
        ),
    };
    drop(st);
    let mut resp = answer(status, &body);
    if let Some(secs) = retry_after
        && let Ok(v) = secs.to_string().parse()
    {
        resp.headers_mut().insert("retry-after", v);
    }
    Ok(resp)
}

fn event_endpoint(
    st: &mut State,
    parts: &hyper::http::request::Parts,
    raw: &[u8],
) -> (u16, Value, Option<u64>) {
    let token = match authenticate(st, parts) {
        Ok(t) => t,
        Err((s, b)) => return record(st, s, b, 0, None),
    };
    if let Some((status, code, retry_after)) = st.inject.pop_front() {
        let body = match code {
            Some(c) => json!({"text": injected_text(c), "code": c}),
            None => json!({"text": "injected failure"}),
        };
        return record(st, status, body, 0, retry_after);
    }
    if st.busy {
        let (s, b) = hec(503, 9, "Server is busy");
        return record(st, s, b, 0, None);
    }
    let encoding = parts
        .headers
        .get("content-encoding")
        .and_then(|v| v.to_str().ok())
        .map(str::to_ascii_lowercase);
    let body = match encoding.as_deref() {
        None | Some("identity") => raw.to_vec(),
        Some("gzip") => {
            let mut out = Vec::new();
            if flate2::read::GzDecoder::new(raw)
                .read_to_end(&mut out)
                .is_err()
            {
                let (s, b) = hec(400, 6, "Invalid data format");
                return record(st, s, b, 0, None);
            }
            out
        }
        Some(_) => {
            return record(
                st,
                415,
                json!({"text": "Unsupported content encoding"}),
                0,
                None,
            );
        }
    };
    if body.len() > st.config.max_content_length {
        let text = format!(
            "Content-Length of {} too large (maximum is {})",
            body.len(),
            st.config.max_content_length
        );
        return record(st, 413, json!({"text": text}), 0, None);
    }
    let channel = channel(parts);
    if token.ack {
        match &channel {
            None => {
                let (s, b) = hec(400, 10, "Data channel is missing");
                return record(st, s, b, 0, None);
            }
            Some(c) if !is_guid(c) => {
                let (s, b) = hec(400, 11, "Invalid data channel");
                return record(st, s, b, 0, None);
            }
            Some(_) => {}
        }
    }
    if body.iter().all(u8::is_ascii_whitespace) {
        let (s, b) = hec(400, 5, "No data");
        return record(st, s, b, 0, None);
    }
    let mut stream = serde_json::Deserializer::from_slice(&body).into_iter::<Value>();
    let mut n = 0usize;
    loop {
        let next = stream.next();
        let Some(item) = next else { break };
        let problem = match item {
            Err(_) => Some(hec(400, 6, "Invalid data format")),
            Ok(v) => match check_event(&v, &token) {
                Some(p) => Some(p),
                None => {
                    st.indexed_count += 1;
                    if st.config.keep_events {
                        st.indexed.push(Indexed {
                            event: v,
                            token: token.token.clone(),
                            content_encoding: encoding.clone(),
                        });
                    }
                    None
                }
            },
        };
        if let Some((status, mut b)) = problem {
            b["invalid-event-number"] = json!(n);
            return record(st, status, b, n + 1, None);
        }
        n += 1;
    }
    let mut ok = json!({"text": "Success", "code": 0});
    if token.ack
        && let Some(c) = channel
    {
        let id = st.next_ack;
        st.next_ack += 1;
        st.acks.entry(c).or_default().insert(id, true);
        ok["ackId"] = json!(id);
    }
    record(st, 200, ok, n, None)
}

fn injected_text(code: u16) -> &'static str {
    match code {
        8 => "Internal server error",
        9 => "Server is busy",
        18 => "HEC is unhealthy, queues are full",
        23 => "Server is shutting down",
        26 => "Queue is at capacity",
        27 => "ACK channel is at capacity",
        _ => "injected failure",
    }
}

fn record(
    st: &mut State,
    status: u16,
    body: Value,
    events: usize,
    retry_after: Option<u64>,
) -> (u16, Value, Option<u64>) {
    st.answered.push(Answered {
        status,
        body: body.clone(),
        events,
    });
    (status, body, retry_after)
}

/// The error for one event, or `None` when it is valid.
fn check_event(v: &Value, token: &Token) -> Option<(u16, Value)> {
    let Some(obj) = v.as_object() else {
        return Some(hec(400, 6, "Invalid data format"));
    };
    if let Some(t) = obj.get("time") {
        let ok = t.is_number() || t.as_str().is_some_and(|s| s.parse::<f64>().is_ok());
        if !ok {
            return Some(hec(400, 6, "Invalid data format"));
        }
    }
    match obj.get("event") {
        None => return Some(hec(400, 12, "Event field is required")),
        Some(Value::String(s)) if s.trim().is_empty() => {
            return Some(hec(400, 13, "Event field cannot be blank"));
        }
        Some(Value::Null) => return Some(hec(400, 13, "Event field cannot be blank")),
        Some(_) => {}
    }
    if let Some(fields) = obj.get("fields") {
        let flat = fields.as_object().is_some_and(|f| {
            f.values().all(|v| match v {
                Value::String(_) | Value::Number(_) => true,
                Value::Array(a) => a.iter().all(|x| x.is_string() || x.is_number()),
                _ => false,
            })
        });
        if !flat {
            return Some(hec(400, 15, "Error in handling indexed fields"));
        }
    }
    if let Some(index) = obj.get("index") {
        let allowed = index
            .as_str()
            .is_some_and(|i| token.indexes.is_empty() || token.indexes.iter().any(|x| x == i));
        if !allowed {
            return Some(hec(400, 7, "Incorrect index"));
        }
    }
    None
}

fn ack_endpoint(st: &mut State, parts: &hyper::http::request::Parts, raw: &[u8]) -> (u16, Value) {
    let token = match authenticate(st, parts) {
        Ok(t) => t,
        Err(e) => return e,
    };
    if !token.ack {
        return hec(400, 14, "ACK is disabled");
    }
    let Some(channel) = channel(parts) else {
        return hec(400, 10, "Data channel is missing");
    };
    if !is_guid(&channel) {
        return hec(400, 11, "Invalid data channel");
    }
    let ids: Vec<u64> = serde_json::from_slice::<Value>(raw)
        .ok()
        .and_then(|v| v["acks"].as_array().cloned())
        .map(|a| a.iter().filter_map(Value::as_u64).collect())
        .unwrap_or_default();
    let withhold = st.withhold_acks;
    let pending = st.acks.entry(channel.clone()).or_default();
    let mut out = serde_json::Map::new();
    let mut poll = AckPoll {
        channel,
        acks: Vec::new(),
    };
    for id in ids {
        // Read-once: a true is reported once, then the id reads false.
        let acked = !withhold && pending.remove(&id).unwrap_or(false);
        out.insert(id.to_string(), json!(acked));
        poll.acks.push((id, acked));
    }
    st.ack_polls.push(poll);
    (200, json!({"acks": out}))
}
