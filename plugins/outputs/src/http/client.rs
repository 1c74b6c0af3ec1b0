//! The I/O of `outputs.http`: one POST per payload, and the answer mapped to what the
//! delivery worker does next.
//!
//! | answer | result |
//! |---|---|
//! | 2xx | accepted |
//! | 401, 403, 404 | `Retryable`, logged as an error (credentials or URL are wrong: the data waits until they are fixed, as for every HTTP output) |
//! | 408 | `Retryable` |
//! | 413 | `TooLarge`: the worker splits the batch |
//! | 429, 5xx | `RateLimited` with the server's `Retry-After` when it sends one, else `Retryable` |
//! | other 4xx, any other status | `Permanent`: the receiver refused the events and would again; dropped and counted (`permanent_error`), the answer logged |
//! | no answer, timeout | `Retryable` |

use std::time::SystemTime;

use gleaner_api::{OutputError, Payload, SendReport};
use tracing::error;

use super::config::Format;
use crate::http_client::{self, Response};
use crate::http_output::Sender;

/// Posts one payload to `url` (see the module doc for the answers).
pub(crate) async fn post(
    http: &mut Sender,
    url: &http::Uri,
    format: Format,
    payload: &Payload,
) -> Result<SendReport, OutputError> {
    let body = http.wire_body(payload.bytes.clone());
    let resp = http
        .post(url.clone(), format.content_type(), body, &[])
        .await?;
    judge(url, &resp)
}

fn judge(url: &http::Uri, resp: &Response) -> Result<SendReport, OutputError> {
    let status = resp.status;
    let body = resp.body_excerpt();
    let text = |what: &str| format!("http {url}: {status}: {what}: {body}");
    let retry_after = || http_client::retry_after(&resp.headers, SystemTime::now());
    match status.as_u16() {
        200..=299 => Ok(SendReport::ALL_ACCEPTED),
        401 | 403 | 404 => {
            error!(url = %url, status = status.as_u16(), reason = %body, "http: refused (check url and credentials); data is kept and retried");
            Err(OutputError::retryable(text("refused")))
        }
        408 => Err(OutputError::retryable(text("request timeout"))),
        413 => Err(OutputError::too_large(text("request too large"))),
        429 => Err(OutputError::rate_limited(
            retry_after(),
            text("rate limited"),
        )),
        500..=599 => match retry_after() {
            Some(d) => Err(OutputError::rate_limited(Some(d), text("unavailable"))),
            None => Err(OutputError::retryable(text("server error"))),
        },
        // The delivery worker logs permanent errors with this message, body included.
        _ => Err(OutputError::permanent(text("events rejected"))),
    }
}
