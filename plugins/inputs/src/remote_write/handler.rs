//! One request to the receiver: routing, the write flow, and the answers.
//!
//! Write flow: check `Content-Encoding` (snappy or none) and `Content-Type` (remote write
//! 2.0 is refused with 415, as its specification asks of a 1.0 receiver), refuse an
//! announced body over `max_body_size` (413), reserve room in the receiver's body memory
//! (waiting up to `read_timeout`, then 503 + Retry-After), read the body within
//! `max_body_size` and `read_timeout`, grow the reservation to the decompressed size, then
//! decompress and decode it (on the blocking pool when large). A body that does not decode is
//! refused whole with 400 and nothing of it is delivered. The samples go out in pieces of at
//! most [`PIECE_EVENTS`] metrics, each with its own acknowledgement token, and the answer
//! waits for every piece: 204 once every output has taken all of them, 503 + Retry-After
//! when the pipeline stayed full for `write_timeout` or a piece was not taken (Prometheus
//! retries a 5xx with backoff; what was taken before may be delivered twice).

use std::sync::Arc;

use bytes::Bytes;
use gleaner_api::listener::acks::AckRegistry;
use gleaner_api::listener::http::body::{self, BodyMemory, ReadBodyError};
use gleaner_api::{AckStatus, Batch, ComponentMetrics, EventSender};
use http_body_util::Full;
use hyper::body::Incoming;
use hyper::header::{
    ALLOW, CONNECTION, CONTENT_ENCODING, CONTENT_LENGTH, CONTENT_TYPE, HeaderValue, RETRY_AFTER,
};
use hyper::{Method, Request, Response, StatusCode};
use tokio::sync::oneshot;
use tokio::time::Instant;

use super::config::Settings;
use super::decode::{self, DecodeError, Decoded};

/// The response type of every route.
pub(crate) type Resp = Response<Full<Bytes>>;

/// Metrics per piece at most (the tail input's batch size).
pub(crate) const PIECE_EVENTS: usize = 1_000;
/// Bodies larger than this (decompressed) are decoded on the blocking pool.
const BLOCKING_THRESHOLD: u64 = 256 * 1024;

const FULL: &str = "the agent's buffers are full (a destination is slow or down); retry later";
const RETRY: &str = "the agent did not take the samples (shutting down or an output failed); retry";
const BUSY: &str = "the agent is reading as many request bodies as it holds at once; retry later";

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
    /// Request bodies held at once: at most `max_body_size` in all.
    pub(crate) bodies: BodyMemory,
}

/// Routes one request.
pub(crate) async fn handle(shared: &Shared, req: Request<Incoming>) -> Resp {
    match (req.method(), req.uri().path()) {
        (&Method::POST, "/api/v1/write") => write(shared, req).await,
        (_, "/api/v1/write") => {
            let mut r = text(StatusCode::METHOD_NOT_ALLOWED, "method not allowed");
            r.headers_mut()
                .insert(ALLOW, HeaderValue::from_static("POST"));
            reject(req, r).await
        }
        _ => reject(req, text(StatusCode::NOT_FOUND, "not found")).await,
    }
}

/// Why a write was refused: a status and its message, counted under `reason`.
struct Refused {
    status: StatusCode,
    reason: &'static str,
    message: String,
}

impl Refused {
    fn new(status: StatusCode, reason: &'static str, message: impl Into<String>) -> Self {
        Refused {
            status,
            reason,
            message: message.into(),
        }
    }

    fn answer(self, metrics: &ComponentMetrics) -> Resp {
        metrics.error(self.reason);
        let mut r = text(self.status, &self.message);
        match self.status {
            StatusCode::SERVICE_UNAVAILABLE => {
                r.headers_mut()
                    .insert(RETRY_AFTER, HeaderValue::from_static("1"));
            }
            StatusCode::PAYLOAD_TOO_LARGE => {
                r.headers_mut()
                    .insert(CONNECTION, HeaderValue::from_static("close"));
            }
            _ => {}
        }
        r
    }
}

async fn write(shared: &Shared, req: Request<Incoming>) -> Resp {
    if let Err(refused) = check_headers(&shared.settings, req.headers()) {
        return reject(req, refused.answer(&shared.metrics)).await;
    }
    match receive(shared, req).await {
        Ok(()) => {
            let mut r = Response::new(Full::new(Bytes::new()));
            *r.status_mut() = StatusCode::NO_CONTENT;
            r
        }
        Err(refused) => refused.answer(&shared.metrics),
    }
}

/// The checks made before reading the body.
fn check_headers(settings: &Settings, headers: &hyper::HeaderMap) -> Result<(), Refused> {
    let header = |name| {
        headers.get(name).map(|v: &HeaderValue| {
            v.to_str()
                .map_or_else(|_| "?".to_owned(), |s| s.trim().to_ascii_lowercase())
        })
    };
    match header(CONTENT_ENCODING).as_deref() {
        None | Some("snappy") => {}
        Some(other) => {
            return Err(Refused::new(
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                "unsupported_media_type",
                format!("unsupported content-encoding {other:?}: remote write 1.0 is snappy"),
            ));
        }
    }
    if let Some(ct) = header(CONTENT_TYPE)
        && ct.contains("io.prometheus.write.v2")
    {
        return Err(Refused::new(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "unsupported_media_type",
            "remote write 2.0 is not supported: send prometheus.WriteRequest (1.0)",
        ));
    }
    let length = headers
        .get(CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|s| s.trim().parse::<u64>().ok());
    if length.is_some_and(|n| n > settings.max_body_size) {
        return Err(too_large(settings.max_body_size));
    }
    Ok(())
}

/// Reads, decodes and delivers a request's samples.
async fn receive(shared: &Shared, req: Request<Incoming>) -> Result<(), Refused> {
    let settings = &shared.settings;
    let limit = settings.max_body_size;
    let length = req
        .headers()
        .get(CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|s| s.trim().parse::<u64>().ok());
    let wait_until = Instant::now() + settings.read_timeout;
    let busy = || Refused::new(StatusCode::SERVICE_UNAVAILABLE, "busy", BUSY);
    let Some(mut hold) = shared
        .bodies
        .reserve(length.unwrap_or(limit).min(limit), wait_until)
        .await
    else {
        body::drain(req.into_body()).await;
        return Err(busy());
    };
    let prealloc = length.unwrap_or(0).min(limit);
    let raw = body::read_limited(req.into_body(), prealloc, limit, settings.read_timeout)
        .await
        .map_err(|e| read_failed(limit, e))?;
    let size = decode::decompressed_len(&raw).map_err(|e| malformed(&e))?;
    if size > limit {
        return Err(too_large(limit));
    }
    if !shared
        .bodies
        .resize(&mut hold, raw.len() as u64 + size, wait_until)
        .await
    {
        return Err(busy());
    }
    shared.metrics.received(0, raw.len() as u64);
    let decoded = if size > BLOCKING_THRESHOLD {
        tokio::task::spawn_blocking(move || decode_body(&raw, limit))
            .await
            .map_err(|e| {
                Refused::new(
                    StatusCode::INTERNAL_SERVER_ERROR,
                    "internal",
                    format!("decoding the request failed: {e}"),
                )
            })?
    } else {
        decode_body(&raw, limit)
    };
    drop(hold);
    let decoded = decoded.map_err(|e| {
        if e.is_too_large() {
            too_large(limit)
        } else {
            malformed(&e)
        }
    })?;
    deliver(shared, decoded).await
}

fn decode_body(raw: &[u8], limit: u64) -> Result<Decoded, DecodeError> {
    decode::decode(&decode::decompress(raw, limit)?)
}

/// Sends the metrics of a decoded request in pieces and waits for every outcome.
async fn deliver(shared: &Shared, decoded: Decoded) -> Result<(), Refused> {
    let m = &shared.metrics;
    m.received(decoded.samples as u64, 0);
    m.dropped("exemplar", decoded.exemplars as u64);
    m.dropped("native_histogram", decoded.histograms as u64);
    let write_timeout = shared.settings.write_timeout;
    let full = || Refused::new(StatusCode::SERVICE_UNAVAILABLE, "pipeline_full", FULL);
    let not_taken = || Refused::new(StatusCode::SERVICE_UNAVAILABLE, "not_delivered", RETRY);
    let mut outcomes: Vec<oneshot::Receiver<AckStatus>> = Vec::new();
    for piece in decoded.pieces(PIECE_EVENTS.min(shared.out.max_batch_events())) {
        let Some((token, outcome)) = shared.acks.register().await else {
            return Err(not_taken());
        };
        let send = shared.out.send_with_ack(Batch::Metrics(piece), Some(token));
        match tokio::time::timeout(write_timeout, send).await {
            Ok(Ok(())) => outcomes.push(outcome),
            Ok(Err(_)) => return Err(not_taken()),
            // Sending is cancel-safe: this piece did not enter the pipeline.
            Err(_) => return Err(full()),
        }
    }
    let deadline = Instant::now() + write_timeout;
    for outcome in outcomes {
        match tokio::time::timeout_at(deadline, outcome).await {
            Ok(Ok(AckStatus::Delivered)) => {}
            Ok(_) => return Err(not_taken()),
            // Taken but not yet safe everywhere: it may still be delivered (at-least-once).
            Err(_) => return Err(full()),
        }
    }
    Ok(())
}

fn malformed(e: &DecodeError) -> Refused {
    Refused::new(StatusCode::BAD_REQUEST, "bad_request", e.to_string())
}

fn too_large(limit: u64) -> Refused {
    Refused::new(
        StatusCode::PAYLOAD_TOO_LARGE,
        "too_large",
        format!("request body larger than max_body_size ({limit} bytes)"),
    )
}

/// The refusal of a body that could not be read to its end.
fn read_failed(limit: u64, e: ReadBodyError) -> Refused {
    match e {
        ReadBodyError::TooLarge { .. } => too_large(limit),
        ReadBodyError::Timeout { .. } => {
            Refused::new(StatusCode::REQUEST_TIMEOUT, "timeout", e.to_string())
        }
        ReadBodyError::Io { .. } => {
            Refused::new(StatusCode::BAD_REQUEST, "read_body", e.to_string())
        }
    }
}

/// Reads (a bounded part of) the body the request still carries, then answers: a client
/// that is still sending gets the answer instead of a reset connection.
async fn reject(req: Request<Incoming>, resp: Resp) -> Resp {
    body::drain(req.into_body()).await;
    resp
}

/// A plain-text answer (as Prometheus's own receiver answers).
fn text(status: StatusCode, message: &str) -> Resp {
    let mut r = Response::new(Full::new(Bytes::from(format!("{message}\n"))));
    *r.status_mut() = status;
    r.headers_mut().insert(
        CONTENT_TYPE,
        HeaderValue::from_static("text/plain; charset=utf-8"),
    );
    r
}
