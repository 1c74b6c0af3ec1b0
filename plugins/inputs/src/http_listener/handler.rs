//! One HTTP request: routing, the write flow, and InfluxDB-style answers.
//!
//! Write flow: authenticate, read `precision`, check `Content-Encoding` and
//! `Content-Length`, read the body within `max_body_size` and `read_timeout`, decompress,
//! parse (on the blocking pool for large bodies), send the valid metrics as one batch with an
//! acknowledgement token, and wait for its outcome. The answer is 204 only when every line was
//! valid and the batch was delivered; 400 names the first bad line (the valid lines of the
//! body are delivered all the same); 503 means the batch was not taken and the client should
//! retry. v1 errors are `{"error": ...}`, v2 errors `{"code": ..., "message": ...}`.

use std::sync::Arc;

use bytes::Bytes;
use gleaner_api::line_protocol::{ParseOutput, Precision, parse_lines};
use gleaner_api::{AckStatus, Batch, ComponentMetrics, EventSender, Metric, now_ns};
use http_body_util::Full;
use hyper::body::Incoming;
use hyper::header::{
    ALLOW, CONNECTION, CONTENT_ENCODING, CONTENT_LENGTH, CONTENT_TYPE, HeaderValue,
    WWW_AUTHENTICATE,
};
use hyper::{Method, Request, Response, StatusCode};

use super::acks::AckRegistry;
use super::body::{self, GunzipError, ReadBodyError};
use super::config::Settings;
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
}

/// Sent as `X-Influxdb-Version` on every answer.
const VERSION: &str = concat!("gleaner-", env!("CARGO_PKG_VERSION"));
/// Plain bodies larger than this are parsed on the blocking pool; gzip bodies always are
/// (a small one can expand up to `max_body_size`).
pub(crate) const BLOCKING_THRESHOLD: usize = 256 * 1024;
/// The answer when the batch was not taken.
const RETRY: &str = "the agent did not take the points (shutting down or an output failed); retry";
const FULL: &str = "the agent's buffers are full (a destination is slow or down); retry later";

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

    let raw = match body::read_limited(req.into_body(), length, limit, settings.read_timeout).await
    {
        Ok(raw) => raw,
        Err(e) => {
            let (reason, status) = match e {
                ReadBodyError::TooLarge { .. } => {
                    shared.metrics.error("too_large");
                    return too_large(api);
                }
                ReadBodyError::Timeout { .. } => ("timeout", StatusCode::REQUEST_TIMEOUT),
                ReadBodyError::Io { .. } => ("read_body", StatusCode::BAD_REQUEST),
            };
            shared.metrics.error(reason);
            return error(api, status, &e.to_string());
        }
    };

    let raw_len = raw.len();
    let now = now_ns();
    let decoded = if gzip || raw_len > BLOCKING_THRESHOLD {
        let job = move || decode_and_parse(&raw, gzip, precision, now, limit);
        match tokio::task::spawn_blocking(job).await {
            Ok(r) => r,
            Err(e) => {
                shared.metrics.error("internal");
                let msg = format!("parsing the request failed: {e}");
                return error(api, StatusCode::INTERNAL_SERVER_ERROR, &msg);
            }
        }
    } else {
        decode_and_parse(&raw, gzip, precision, now, limit)
    };
    let parsed = match decoded {
        Ok(p) => p,
        Err(GunzipError::TooLarge { .. }) => {
            shared.metrics.error("too_large");
            return too_large(api);
        }
        Err(e @ GunzipError::Invalid(_)) => {
            shared.metrics.error("bad_request");
            return error(api, StatusCode::BAD_REQUEST, &e.to_string());
        }
    };

    let ParseOutput { metrics, errors } = parsed;
    let (good, bad) = (metrics.len(), errors.len());
    shared.metrics.received((good + bad) as u64, raw_len as u64);
    shared.metrics.dropped("malformed", bad as u64);
    if good > 0 {
        match deliver(shared, metrics).await {
            Delivery::Delivered => {}
            Delivery::Full => {
                shared.metrics.error("pipeline_full");
                return retry_later(error(api, StatusCode::SERVICE_UNAVAILABLE, FULL));
            }
            Delivery::NotTaken => {
                shared.metrics.error("not_delivered");
                return retry_later(error(api, StatusCode::SERVICE_UNAVAILABLE, RETRY));
            }
        }
    }
    match errors.first() {
        None => no_content(),
        Some(first) => {
            let partial = if good > 0 { "partial write: " } else { "" };
            let msg = format!(
                "{partial}{} (line {}); dropped={bad}",
                first.message, first.line
            );
            error(api, StatusCode::BAD_REQUEST, &msg)
        }
    }
}

fn decode_and_parse(
    raw: &[u8],
    gzip: bool,
    precision: Precision,
    now: i64,
    limit: u64,
) -> Result<ParseOutput, GunzipError> {
    if gzip {
        let plain = body::gunzip(raw, limit)?;
        Ok(parse_lines(&plain, precision, now))
    } else {
        Ok(parse_lines(raw, precision, now))
    }
}

/// What became of a request's points.
enum Delivery {
    /// Every destination took them.
    Delivered,
    /// The pipeline is full (an output's buffer is full with `when_full = "block"`).
    Full,
    /// Not taken (shutting down, or an output refused them).
    NotTaken,
}

/// Sends the batch and waits for its outcome, both within `write_timeout` (InfluxDB's
/// `write-timeout`). A pipeline still full at the deadline gets 503 + Retry-After, which
/// InfluxDB clients retry; the batch was then never taken, so it cannot be written twice.
async fn deliver(shared: &Shared, metrics: Vec<Metric>) -> Delivery {
    let Some((token, outcome)) = shared.acks.register().await else {
        return Delivery::NotTaken;
    };
    let deadline = tokio::time::Instant::now() + shared.settings.write_timeout;
    let send = shared
        .out
        .send_with_ack(Batch::Metrics(metrics), Some(token));
    match tokio::time::timeout_at(deadline, send).await {
        Ok(Ok(())) => {}
        Ok(Err(_)) => return Delivery::NotTaken,
        // Not taken: sending is cancel-safe, so nothing of this request enters the pipeline.
        Err(_) => return Delivery::Full,
    }
    match tokio::time::timeout_at(deadline, outcome).await {
        Ok(Ok(AckStatus::Delivered)) => Delivery::Delivered,
        Ok(_) => Delivery::NotTaken,
        // Taken but not yet safe everywhere: it may still be delivered (at-least-once).
        Err(_) => Delivery::Full,
    }
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
