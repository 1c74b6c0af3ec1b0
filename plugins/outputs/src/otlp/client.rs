//! The I/O of `outputs.otlp`: one POST per payload to `/v1/logs` or `/v1/metrics`
//! (`Content-Type: application/x-protobuf`, gzip by default), and the answer judged as the
//! OTLP specification's "OTLP/HTTP Response" section says:
//!
//! | answer | result |
//! |---|---|
//! | 2xx | accepted; a `partial_success` with rejected records or data points is counted `partial_success` (dropped) and logged once per output, with the receiver's message |
//! | 429, 502, 503, 504 | retried, after the server's `Retry-After` when it gives one (`RateLimited`), else with backoff |
//! | 413 | `TooLarge`: the worker splits the batch (the specification does not name 413; splitting loses nothing) |
//! | other 4xx and 5xx, 3xx | `Permanent`: not retried (the specification says MUST NOT), counted `permanent_error` by the worker, with the body in the log |
//! | no answer, timeout | retried with backoff |

use std::time::SystemTime;

use bytes::Bytes;
use gleaner_api::otlp::proto::{ExportLogsServiceResponse, ExportMetricsServiceResponse};
use gleaner_api::{ComponentMetrics, OutputError, SendReport};
use prost::Message as _;
use tracing::warn;

use crate::http_client::{self, Response};
use crate::http_output::Sender;

/// Drop reason for records or points a receiver refused in a partial success.
pub(crate) const REASON_PARTIAL: &str = "partial_success";

/// Which signal a payload carries.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Signal {
    Logs,
    Metrics,
}

/// Posts `body` (protobuf) and judges the answer.
pub(crate) async fn export(
    http: &mut Sender,
    url: &http::Uri,
    signal: Signal,
    body: Bytes,
    events: usize,
    partial: &mut PartialLog,
) -> Result<SendReport, OutputError> {
    let body = http.wire_body(body);
    let resp = http
        .post(url.clone(), "application/x-protobuf", body, &[])
        .await?;
    judge(url, signal, &resp, events, partial)
}

/// Logs the first partial success of an output, and counts every one.
#[derive(Debug)]
pub(crate) struct PartialLog {
    pub(crate) metrics: std::sync::Arc<ComponentMetrics>,
    pub(crate) logged: bool,
}

fn judge(
    url: &http::Uri,
    signal: Signal,
    resp: &Response,
    events: usize,
    partial: &mut PartialLog,
) -> Result<SendReport, OutputError> {
    let status = resp.status;
    let text = |what: &str| format!("otlp {url}: {status}: {what}: {}", resp.body_excerpt());
    match status.as_u16() {
        200..=299 => Ok(partial_success(url, signal, &resp.body, events, partial)),
        413 => Err(OutputError::too_large(text("request too large"))),
        429 | 502..=504 => {
            let after = http_client::retry_after(&resp.headers, SystemTime::now());
            match (status.as_u16(), after) {
                (429, a) | (_, a @ Some(_)) => {
                    Err(OutputError::rate_limited(a, text("retry later")))
                }
                _ => Err(OutputError::retryable(text("unavailable"))),
            }
        }
        _ => Err(OutputError::permanent(text("refused"))),
    }
}

/// The rejected count of a success answer's body (0 when it has none or does not decode).
fn partial_success(
    url: &http::Uri,
    signal: Signal,
    body: &[u8],
    events: usize,
    partial: &mut PartialLog,
) -> SendReport {
    let (rejected, message) = match signal {
        Signal::Logs => match ExportLogsServiceResponse::decode(body) {
            Ok(r) => r
                .partial_success
                .map(|p| (p.rejected_log_records, p.error_message)),
            Err(_) => None,
        },
        Signal::Metrics => match ExportMetricsServiceResponse::decode(body) {
            Ok(r) => r
                .partial_success
                .map(|p| (p.rejected_data_points, p.error_message)),
            Err(_) => None,
        },
    }
    .unwrap_or_default();
    if rejected <= 0 {
        return SendReport::ALL_ACCEPTED;
    }
    // A histogram point holds several of our metrics: never count more than were sent.
    let rejected = usize::try_from(rejected).unwrap_or(usize::MAX).min(events);
    partial.metrics.dropped(REASON_PARTIAL, rejected as u64);
    if !partial.logged {
        partial.logged = true;
        warn!(url = %url, rejected, message = %message, "otlp: the receiver rejected part of a request (partial success); counted as dropped, logged only once");
    }
    SendReport { rejected }
}
