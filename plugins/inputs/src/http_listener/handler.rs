//! One HTTP request: routing, the write flow, and InfluxDB-style answers.
//!
//! Write flow: authenticate, read `precision`, check `Content-Encoding` and
//! `Content-Length`, reserve room in the listener's body memory (waiting up to
//! `read_timeout`, then 503 + Retry-After): a plain body is cut as it arrives and needs room
//! for about two pieces, a gzip body is read whole within `max_body_size` and needs its
//! size. Then `ingest.rs` parses and sends the body in pieces and waits for the outcome of
//! every piece. The answer is 204 only when every line was valid and every piece was
//! delivered; 400 names the first bad line (the valid lines of the body are delivered all the
//! same); 503 means some of it was not taken and the client should retry; 413, 408 or 400
//! when a plain body fails part-way (its first pieces may have been delivered). v1 errors are
//! `{"error": ...}`, v2 errors `{"code": ..., "message": ...}`.

use std::sync::Arc;

use bytes::Bytes;
use gleaner_api::line_protocol::Precision;
use gleaner_api::listener::acks::AckRegistry;
use gleaner_api::listener::http::body::{self, BodyMemory, ReadBodyError};
use gleaner_api::{ComponentMetrics, EventSender};
use http_body_util::Full;
use hyper::body::Incoming;
use hyper::header::{
    ALLOW, CONNECTION, CONTENT_ENCODING, CONTENT_LENGTH, CONTENT_TYPE, HeaderValue,
    WWW_AUTHENTICATE,
};
use hyper::{Method, Request, Response, StatusCode};

use super::body::GunzipError;
use super::config::Settings;
use super::ingest::{self, Body, Refusal};
use super::query::Query;

/// The response type of every route.
pub(crate) type Resp = Response<Full<Bytes>>;

/// What every request handler shares.
#[derive(Debug)]
pub(crate) struct Shared {
    /// The validated config.
    pub(crate) settings: Settings,
    /// Into the pipeline.
    pub(crate) out: EventSender,
    /// This input's counters.
    pub(crate) metrics: Arc<ComponentMetrics>,
    /// Tokens and outcomes for acknowledgement.
    pub(crate) acks: AckRegistry,
    /// Request bodies held at once, in KiB: at most `max_body_size` in all.
    pub(crate) bodies: BodyMemory,
}

/// Sent as `X-Influxdb-Version` on every answer.
const VERSION: &str = concat!("gleaner-", env!("CARGO_PKG_VERSION"));
/// The answer when the batch was not taken.
const RETRY: &str = "the agent did not take the points (shutting down or an output failed); retry";
const FULL: &str = "the agent's buffers are full (a destination is slow or down); retry later";
const BUSY: &str = "the agent is reading as many request bodies as it holds at once; retry later";
/// What a plain body reserves of the body memory: about two pieces.
const PLAIN_HOLD: u64 = 2 * super::pieces::PIECE_BYTES as u64;

/// Which write API a request uses: it decides the precision values and the error shape.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Api {
    V1,
    V2,
}

/// Routes one request.
pub(crate) async fn handle(shared: &Shared, req: Request<Incoming>) -> Resp {
    enum Route {
        Ping,
        Write(Api),
        WrongMethod(&'static str),
        NotFound,
    }
    let route = match (req.method(), req.uri().path()) {
        (&Method::GET | &Method::HEAD, "/ping") => Route::Ping,
        (&Method::POST, "/write") => Route::Write(Api::V1),
        (&Method::POST, "/api/v2/write") => Route::Write(Api::V2),
        (_, "/ping") => Route::WrongMethod("GET, HEAD"),
        (_, "/write" | "/api/v2/write") => Route::WrongMethod("POST"),
        _ => Route::NotFound,
    };
    match route {
        Route::Ping => no_content(),
        Route::Write(api) => write(shared, req, api).await,
        Route::WrongMethod(allow) => {
            let mut r = error(
                Api::V1,
                StatusCode::METHOD_NOT_ALLOWED,
                "method not allowed",
            );
            r.headers_mut()
                .insert(ALLOW, HeaderValue::from_static(allow));
            reject(req, r).await
        }
        Route::NotFound => reject(req, error(Api::V1, StatusCode::NOT_FOUND, "not found")).await,
    }
}

async fn write(shared: &Shared, req: Request<Incoming>, api: Api) -> Resp {
    let settings = &shared.settings;
    let (authorized, precision) = {
        let query = Query::parse(req.uri().query().unwrap_or(""));
        let authorized = settings
            .auth
            .as_ref()
            .is_none_or(|creds| creds.accepts(req.headers(), query.get("u"), query.get("p")));
        let given = query.get("precision").unwrap_or("");
        let precision = match api {
            Api::V1 => Precision::from_v1_param(given),
            Api::V2 => Precision::from_v2_param(given),
        };
        (authorized, precision)
    };
    if !authorized {
        shared.metrics.error("unauthorized");
        let mut r = error(api, StatusCode::UNAUTHORIZED, "authorization failed");
        r.headers_mut().insert(
            WWW_AUTHENTICATE,
            HeaderValue::from_static("Basic realm=\"gleaner\""),
        );
        return reject(req, r).await;
    }
    let precision = match precision {
        Ok(p) => p,
        Err(e) => {
            shared.metrics.error("bad_request");
            return reject(req, error(api, StatusCode::BAD_REQUEST, &e.to_string())).await;
        }
    };

    let encoding = req.headers().get(CONTENT_ENCODING).map(|v| {
        v.to_str()
            .map_or_else(|_| "?".to_owned(), |s| s.trim().to_ascii_lowercase())
    });
    let gzip = match encoding.as_deref() {
        None | Some("" | "identity") => false,
        Some("gzip" | "x-gzip") => true,
        Some(other) => {
            shared.metrics.error("bad_request");
            let msg = format!("unsupported content-encoding {other:?}: use gzip or identity");
            return reject(req, error(api, StatusCode::UNSUPPORTED_MEDIA_TYPE, &msg)).await;
        }
    };

    let limit = settings.max_body_size;
    let length = req
        .headers()
        .get(CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|s| s.trim().parse::<u64>().ok());
    if length.is_some_and(|n| n > limit) {
        shared.metrics.error("too_large");
        return reject(req, too_large(api)).await;
    }

    // Room for the body first. A plain body is cut as it arrives: it needs room for the
    // piece being cut (its size when announced and smaller). A gzip body is held whole:
    // its size when announced (hyper holds the body to it), else the limit.
    let reserve = match (gzip, length) {
        (false, Some(n)) => n.min(PLAIN_HOLD),
        (false, None) => PLAIN_HOLD,
        (true, Some(n)) => n,
        (true, None) => limit,
    }
    .min(limit);
    let wait_until = tokio::time::Instant::now() + settings.read_timeout;
    let Some(hold) = shared.bodies.reserve(reserve, wait_until).await else {
        shared.metrics.error("busy");
        let r = retry_later(error(api, StatusCode::SERVICE_UNAVAILABLE, BUSY));
        return reject(req, r).await;
    };
    let body = if gzip {
        let prealloc = length.map_or(0, |n| n.min(limit));
        match body::read_limited(req.into_body(), prealloc, limit, settings.read_timeout).await {
            Ok(raw) => Body::Gzip(raw),
            Err(e) => return read_failed(shared, api, e),
        }
    } else {
        Body::Plain(req.into_body())
    };

    let report = match ingest::ingest(shared, body, precision, hold).await {
        Ok(r) => r,
        Err(Refusal::Read(e)) => return read_failed(shared, api, e),
        Err(Refusal::Gzip(GunzipError::TooLarge { .. })) => {
            shared.metrics.error("too_large");
            return too_large(api);
        }
        Err(Refusal::Gzip(e @ GunzipError::Invalid(_))) => {
            shared.metrics.error("bad_request");
            return error(api, StatusCode::BAD_REQUEST, &e.to_string());
        }
        Err(Refusal::Internal(e)) => {
            shared.metrics.error("internal");
            let msg = format!("parsing the request failed: {e}");
            return error(api, StatusCode::INTERNAL_SERVER_ERROR, &msg);
        }
        Err(Refusal::Full) => {
            shared.metrics.error("pipeline_full");
            return retry_later(error(api, StatusCode::SERVICE_UNAVAILABLE, FULL));
        }
        Err(Refusal::NotTaken) => {
            shared.metrics.error("not_delivered");
            return retry_later(error(api, StatusCode::SERVICE_UNAVAILABLE, RETRY));
        }
    };
    match report.first_error {
        None => no_content(),
        Some(first) => {
            let partial = if report.good > 0 {
                "partial write: "
            } else {
                ""
            };
            let msg = format!(
                "{partial}{} (line {}); dropped={}",
                first.message, first.line, report.bad
            );
            error(api, StatusCode::BAD_REQUEST, &msg)
        }
    }
}

/// The answer to a body that could not be read to its end.
fn read_failed(shared: &Shared, api: Api, e: ReadBodyError) -> Resp {
    let (reason, status) = match e {
        ReadBodyError::TooLarge { .. } => {
            shared.metrics.error("too_large");
            return too_large(api);
        }
        ReadBodyError::Timeout { .. } => ("timeout", StatusCode::REQUEST_TIMEOUT),
        ReadBodyError::Io { .. } => ("read_body", StatusCode::BAD_REQUEST),
    };
    shared.metrics.error(reason);
    error(api, status, &e.to_string())
}

/// Adds `Retry-After: 1` to a 503.
fn retry_later(mut resp: Resp) -> Resp {
    resp.headers_mut()
        .insert(hyper::header::RETRY_AFTER, HeaderValue::from_static("1"));
    resp
}

/// Reads (a bounded part of) the body the request still carries, then answers: a client
/// that is still sending gets the answer instead of a reset connection.
async fn reject(req: Request<Incoming>, resp: Resp) -> Resp {
    body::drain(req.into_body()).await;
    resp
}

fn too_large(api: Api) -> Resp {
    let mut r = error(
        api,
        StatusCode::PAYLOAD_TOO_LARGE,
        "Request Entity Too Large",
    );
    r.headers_mut()
        .insert(CONNECTION, HeaderValue::from_static("close"));
    r
}

fn base(status: StatusCode, body: Bytes) -> Resp {
    let mut r = Response::new(Full::new(body));
    *r.status_mut() = status;
    r.headers_mut()
        .insert("x-influxdb-version", HeaderValue::from_static(VERSION));
    r
}

fn no_content() -> Resp {
    base(StatusCode::NO_CONTENT, Bytes::new())
}

/// A JSON error in the shape of the API.
fn error(api: Api, status: StatusCode, message: &str) -> Resp {
    let body = match api {
        Api::V1 => serde_json::json!({ "error": message }),
        Api::V2 => serde_json::json!({ "code": v2_code(status), "message": message }),
    };
    let mut r = base(status, Bytes::from(body.to_string()));
    r.headers_mut()
        .insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
    r
}

/// The v2 error `code` for a status (influxdata/influxdb `kit/platform/errors`).
fn v2_code(status: StatusCode) -> &'static str {
    match status {
        StatusCode::BAD_REQUEST => "invalid",
        StatusCode::UNAUTHORIZED => "unauthorized",
        StatusCode::NOT_FOUND => "not found",
        StatusCode::METHOD_NOT_ALLOWED => "method not allowed",
        StatusCode::PAYLOAD_TOO_LARGE => "request too large",
        StatusCode::UNSUPPORTED_MEDIA_TYPE => "unsupported media type",
        StatusCode::SERVICE_UNAVAILABLE => "unavailable",
        StatusCode::REQUEST_TIMEOUT => "request timeout",
        _ => "internal error",
    }
}
