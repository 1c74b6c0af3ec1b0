//! The I/O of `outputs.remote_write`: snappy (block format) compression, the required
//! headers, authentication, and the answer mapped to what the delivery worker does next.
//!
//! | answer | result |
//! |---|---|
//! | 2xx | accepted |
//! | 400 (and other 4xx not below) | `Permanent`: the receiver refused the samples (out of order, out of bounds, bad labels); retrying sends the same refusal (spec: MUST NOT retry). The body is logged |
//! | 401, 403, 404 | `Retryable`, logged as an error (a misconfiguration; the spec says never retry 4xx, holding the data is our deliberate choice) |
//! | 413 | `TooLarge`: the worker splits the batch |
//! | 429 | `RateLimited` with the server's `Retry-After` |
//! | 503 with `Retry-After` | `RateLimited` |
//! | 408, 5xx, no answer, timeout | `Retryable` (spec: MUST retry 5xx with backoff) |

use std::time::SystemTime;

use bytes::Bytes;
use gleaner_api::{OutputError, Payload, SendReport};
use http::HeaderValue;
use tracing::error;

use crate::http_client::{self, Response};
use crate::http_output::{Body, Sender};

/// Compresses and posts one payload to `url` (see the module doc for the answers).
pub(crate) async fn write(
    http: &mut Sender,
    url: &http::Uri,
    payload: &Payload,
) -> Result<SendReport, OutputError> {
    let body = Body {
        bytes: snappy(&payload.bytes)?,
        encoding: Some("snappy"),
    };
    let version = [(
        "x-prometheus-remote-write-version",
        HeaderValue::from_static("0.1.0"),
    )];
    let resp = http
        .post(url.clone(), "application/x-protobuf", body, &version)
        .await?;
    judge(url, &resp)
}

/// Snappy block format (not the framed format: receivers reject it).
fn snappy(data: &[u8]) -> Result<Bytes, OutputError> {
    snap::raw::Encoder::new()
        .compress_vec(data)
        .map(Bytes::from)
        .map_err(|e| OutputError::too_large(format!("remote_write: cannot compress: {e}")))
}

fn judge(url: &http::Uri, resp: &Response) -> Result<SendReport, OutputError> {
    let status = resp.status;
    let body = resp.body_excerpt();
    let text = |what: &str| format!("remote_write {url}: {status}: {what}: {body}");
    match status.as_u16() {
        200..=299 => Ok(SendReport::ALL_ACCEPTED),
        401 | 403 | 404 => {
            error!(url = %url, status = status.as_u16(), reason = %body, "remote_write: refused (check url and credentials); data is kept and retried");
            Err(OutputError::retryable(text("refused")))
        }
        413 => Err(OutputError::too_large(text("request too large"))),
        429 => Err(OutputError::rate_limited(
            http_client::retry_after(&resp.headers, SystemTime::now()),
            text("rate limited"),
        )),
        503 => match http_client::retry_after(&resp.headers, SystemTime::now()) {
            Some(d) => Err(OutputError::rate_limited(Some(d), text("unavailable"))),
            None => Err(OutputError::retryable(text("unavailable"))),
        },
        408 | 500..=599 => Err(OutputError::retryable(text("server error"))),
        // The delivery worker logs permanent errors with this message, body included.
        _ => Err(OutputError::permanent(text("samples rejected"))),
    }
}
