//! One OTLP/HTTP request (the specification's "OTLP/HTTP" section): routing, the body read
//! within `max_body_size` (gzip decompressed within it too), decoding (protobuf or JSON, by
//! `Content-Type`), and the answer, which waits for the buffers.
//!
//! | case | answer |
//! |---|---|
//! | every event taken by every output's buffer | 200, `Export*ServiceResponse` in the request's encoding, with `partial_success` when some records or points were rejected |
//! | the pipeline stays full for `write_timeout`, or an output did not take the batch | 503 + `Retry-After: 1` (the sender retries) |
//! | undecodable body, bad gzip | 400 with a `google.rpc.Status` message |
//! | body over `max_body_size` (decompressed) | 413 |
//! | other `Content-Type` or `Content-Encoding` | 415 |
//! | another path; another method | 404; 405 |

use std::sync::Arc;

use bytes::Bytes;
use gleaner_api::otlp::proto::{
    ExportLogsPartialSuccess, ExportLogsServiceResponse, ExportMetricsPartialSuccess,
    ExportMetricsServiceRequest, ExportMetricsServiceResponse,
};
use gleaner_api::{AckStatus, Batch, ComponentMetrics, EventSender, now_ns};
use http_body_util::Full;
use hyper::body::Incoming;
use hyper::header::{ALLOW, CONTENT_ENCODING, CONTENT_LENGTH, CONTENT_TYPE, HeaderValue};
use hyper::{Method, Request, Response, StatusCode};
use prost::Message as _;

use super::config::Settings;
use super::decode::{self, Decoded};
use super::json;
use gleaner_api::listener::acks::AckRegistry;
use gleaner_api::listener::http::body::{self, BodyMemory, ReadBodyError};

/// The response type.
pub(crate) type Resp = Response<Full<Bytes>>;

/// What every request shares.
#[derive(Debug)]
pub(crate) struct Shared {
    pub(crate) settings: Settings,
    pub(crate) out: EventSender,
    pub(crate) metrics: Arc<ComponentMetrics>,
    pub(crate) acks: AckRegistry,
    /// Request bodies held at once: at most `max_body_size` in all.
    pub(crate) bodies: BodyMemory,
}

/// The two signals.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Signal {
    Logs,
    Metrics,
}

/// The body's encoding, from `Content-Type`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Encoding {
    Protobuf,
    Json,
}

/// Request bodies larger than this are decoded on the blocking pool.
const BLOCKING_THRESHOLD: usize = 256 * 1024;

/// Routes one request.
pub(crate) async fn handle(shared: &Shared, req: Request<Incoming>) -> Resp {
    let signal = match req.uri().path() {
        "/v1/logs" => Signal::Logs,
        "/v1/metrics" => Signal::Metrics,
        _ => {
            body::drain(req.into_body()).await;
            return status(StatusCode::NOT_FOUND, Encoding::Protobuf, "not found");
        }
    };
    if req.method() != Method::POST {
        body::drain(req.into_body()).await;
        let mut r = status(
            StatusCode::METHOD_NOT_ALLOWED,
            Encoding::Protobuf,
            "use POST",
        );
        r.headers_mut()
            .insert(ALLOW, HeaderValue::from_static("POST"));
        return r;
    }
    let content_type = header(&req, CONTENT_TYPE).to_owned();
    let encoding = match content_type.split(';').next().map(str::trim) {
        Some("application/x-protobuf" | "application/protobuf") => Encoding::Protobuf,
        Some("application/json") => Encoding::Json,
        _ => {
            shared.metrics.error("bad_request");
            body::drain(req.into_body()).await;
            let msg = format!(
                "unsupported content-type {content_type:?}: use application/x-protobuf or application/json"
            );
            return status(StatusCode::UNSUPPORTED_MEDIA_TYPE, Encoding::Protobuf, &msg);
        }
    };
    let content_encoding = header(&req, CONTENT_ENCODING).trim().to_ascii_lowercase();
    let gzip = match content_encoding.as_str() {
        "" | "identity" => false,
        "gzip" | "x-gzip" => true,
        other => {
            shared.metrics.error("bad_request");
            body::drain(req.into_body()).await;
            let msg = format!("unsupported content-encoding {other:?}: use gzip or identity");
            return status(StatusCode::UNSUPPORTED_MEDIA_TYPE, encoding, &msg);
        }
    };
    let limit = shared.settings.max_body_size;
    let length = header(&req, CONTENT_LENGTH).trim().parse::<u64>().ok();
    if length.is_some_and(|n| n > limit) {
        shared.metrics.error("too_large");
        body::drain(req.into_body()).await;
        return status(
            StatusCode::PAYLOAD_TOO_LARGE,
            encoding,
            "request body too large",
        );
    }
    // Room for the body (and, for gzip, what it expands to) in the listener's memory.
    let reserve = if gzip { limit } else { length.unwrap_or(limit) };
    let deadline = tokio::time::Instant::now() + shared.settings.read_timeout;
    let hold = match shared.bodies.reserve(reserve, deadline).await {
        Some(p) => p,
        None => {
            shared.metrics.error("busy");
            body::drain(req.into_body()).await;
            return retry_later(
                encoding,
                "the agent is reading as many bodies as it holds; retry",
            );
        }
    };
    let raw = match body::read_limited(
        req.into_body(),
        length.unwrap_or(0),
        limit,
        shared.settings.read_timeout,
    )
    .await
    {
        Ok(b) => b,
        Err(e) => return read_failed(shared, encoding, &e),
    };
    let decoded = if raw.len() > BLOCKING_THRESHOLD || gzip {
        tokio::task::spawn_blocking(move || decode_body(raw, gzip, limit, signal, encoding))
            .await
            .unwrap_or_else(|e| Err(Refused::Internal(e.to_string())))
    } else {
        decode_body(raw, gzip, limit, signal, encoding)
    };
    drop(hold);
    let (batch, rejected, message) = match decoded {
        Ok(d) => d,
        Err(Refused::TooLarge) => {
            shared.metrics.error("too_large");
            return status(
                StatusCode::PAYLOAD_TOO_LARGE,
                encoding,
                "request body too large",
            );
        }
        Err(Refused::Bad(msg)) => {
            shared.metrics.error("bad_request");
            return status(StatusCode::BAD_REQUEST, encoding, &msg);
        }
        Err(Refused::Internal(msg)) => {
            shared.metrics.error("internal");
            return status(StatusCode::INTERNAL_SERVER_ERROR, encoding, &msg);
        }
    };
    if rejected > 0 {
        shared.metrics.dropped("rejected", rejected);
    }
    if let Err(why) = deliver(shared, batch).await {
        return retry_later(encoding, why);
    }
    success(signal, encoding, rejected, &message)
}

/// Sends `batch` and waits until every output's buffer has taken it.
async fn deliver(shared: &Shared, batch: Batch) -> Result<(), &'static str> {
    if batch.is_empty() {
        return Ok(());
    }
    let wait = shared.settings.write_timeout;
    let Some((token, outcome)) = shared.acks.register().await else {
        shared.metrics.error("not_delivered");
        return Err("the agent is stopping; retry");
    };
    let sent = tokio::time::timeout(wait, shared.out.send_with_ack(batch, Some(token))).await;
    match sent {
        Ok(Ok(())) => {}
        Ok(Err(_)) => {
            shared.metrics.error("not_delivered");
            return Err("the agent is stopping; retry");
        }
        Err(_) => {
            shared.metrics.error("pipeline_full");
            return Err(
                "the agent's buffers are full (a destination is slow or down); retry later",
            );
        }
    }
    match tokio::time::timeout(wait, outcome).await {
        Ok(Ok(AckStatus::Delivered)) => Ok(()),
        Ok(_) => {
            shared.metrics.error("not_delivered");
            Err("an output did not take the events; retry")
        }
        Err(_) => {
            shared.metrics.error("pipeline_full");
            Err("the agent's buffers did not take the events in time; retry later")
        }
    }
}

/// Why a body was refused.
#[derive(Debug)]
enum Refused {
    TooLarge,
    Bad(String),
    Internal(String),
}

type Outcome = (Batch, u64, String);

fn decode_body(
    raw: Vec<u8>,
    gzip: bool,
    limit: u64,
    signal: Signal,
    encoding: Encoding,
) -> Result<Outcome, Refused> {
    let raw = if gzip { gunzip(&raw, limit)? } else { raw };
    let now = now_ns();
    let bad = |e: String| Refused::Bad(format!("cannot decode the request: {e}"));
    match signal {
        Signal::Logs => {
            let d = match encoding {
                Encoding::Protobuf => {
                    decode::wire::logs(&raw, now).map_err(|e| bad(e.to_string()))?
                }
                Encoding::Json => decode::logs(json::logs_request(&raw).map_err(bad)?, now),
            };
            Ok(outcome(d, Batch::Logs))
        }
        Signal::Metrics => {
            let req = match encoding {
                Encoding::Protobuf => ExportMetricsServiceRequest::decode(raw.as_slice())
                    .map_err(|e| bad(e.to_string()))?,
                Encoding::Json => json::metrics_request(&raw).map_err(bad)?,
            };
            let d = decode::metrics(req, now);
            Ok(outcome(d, Batch::Metrics))
        }
    }
}

fn outcome<T>(d: Decoded<T>, batch: fn(Vec<T>) -> Batch) -> Outcome {
    (batch(d.events), d.rejected, d.message)
}

/// Decompresses within `limit`.
fn gunzip(raw: &[u8], limit: u64) -> Result<Vec<u8>, Refused> {
    use std::io::Read as _;
    let mut out = Vec::new();
    let mut decoder = flate2::read::MultiGzDecoder::new(raw).take(limit + 1);
    decoder
        .read_to_end(&mut out)
        .map_err(|e| Refused::Bad(format!("invalid gzip body: {e}")))?;
    if out.len() as u64 > limit {
        return Err(Refused::TooLarge);
    }
    Ok(out)
}

fn header(req: &Request<Incoming>, name: hyper::header::HeaderName) -> &str {
    req.headers()
        .get(name)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
}

fn read_failed(shared: &Shared, encoding: Encoding, e: &ReadBodyError) -> Resp {
    let (reason, code) = match e {
        ReadBodyError::TooLarge { .. } => ("too_large", StatusCode::PAYLOAD_TOO_LARGE),
        ReadBodyError::Timeout { .. } => ("timeout", StatusCode::REQUEST_TIMEOUT),
        ReadBodyError::Io { .. } => ("read_body", StatusCode::BAD_REQUEST),
    };
    shared.metrics.error(reason);
    status(code, encoding, &e.to_string())
}

/// The success answer, with a partial success when some of the request was rejected.
fn success(signal: Signal, encoding: Encoding, rejected: u64, message: &str) -> Resp {
    let rejected = i64::try_from(rejected).unwrap_or(i64::MAX);
    let body = match (signal, encoding) {
        (Signal::Logs, Encoding::Protobuf) => ExportLogsServiceResponse {
            partial_success: (rejected > 0).then(|| ExportLogsPartialSuccess {
                rejected_log_records: rejected,
                error_message: message.to_owned(),
            }),
        }
        .encode_to_vec(),
        (Signal::Metrics, Encoding::Protobuf) => ExportMetricsServiceResponse {
            partial_success: (rejected > 0).then(|| ExportMetricsPartialSuccess {
                rejected_data_points: rejected,
                error_message: message.to_owned(),
            }),
        }
        .encode_to_vec(),
        (_, Encoding::Json) => {
            let key = match signal {
                Signal::Logs => "rejectedLogRecords",
                Signal::Metrics => "rejectedDataPoints",
            };
            let v = if rejected > 0 {
                serde_json::json!({"partialSuccess": {key: rejected.to_string(), "errorMessage": message}})
            } else {
                serde_json::json!({})
            };
            v.to_string().into_bytes()
        }
    };
    respond(StatusCode::OK, encoding, body)
}

/// 503 with `Retry-After: 1`.
fn retry_later(encoding: Encoding, message: &str) -> Resp {
    let mut r = status(StatusCode::SERVICE_UNAVAILABLE, encoding, message);
    r.headers_mut()
        .insert(hyper::header::RETRY_AFTER, HeaderValue::from_static("1"));
    r
}

/// A `google.rpc.Status` (code and message) as the error body.
#[derive(Clone, PartialEq, prost::Message)]
struct Status {
    #[prost(int32, tag = "1")]
    code: i32,
    #[prost(string, tag = "2")]
    message: String,
}

/// An error answer: `google.rpc.Status` in the request's encoding.
fn status(code: StatusCode, encoding: Encoding, message: &str) -> Resp {
    // gRPC codes: INVALID_ARGUMENT 3, NOT_FOUND 5, RESOURCE_EXHAUSTED 8, UNIMPLEMENTED 12,
    // INTERNAL 13, UNAVAILABLE 14.
    let rpc = match code.as_u16() {
        400 | 413 | 415 => 3,
        404 => 5,
        405 => 12,
        503 => 14,
        408 => 4,
        _ => 13,
    };
    let body = match encoding {
        Encoding::Protobuf => Status {
            code: rpc,
            message: message.to_owned(),
        }
        .encode_to_vec(),
        Encoding::Json => serde_json::json!({"code": rpc, "message": message})
            .to_string()
            .into_bytes(),
    };
    respond(code, encoding, body)
}

fn respond(code: StatusCode, encoding: Encoding, body: Vec<u8>) -> Resp {
    let mut r = Response::new(Full::new(Bytes::from(body)));
    *r.status_mut() = code;
    let ct = match encoding {
        Encoding::Protobuf => "application/x-protobuf",
        Encoding::Json => "application/json",
    };
    r.headers_mut()
        .insert(CONTENT_TYPE, HeaderValue::from_static(ct));
    r
}
