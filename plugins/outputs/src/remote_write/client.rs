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
use http::{HeaderValue, Request, header};
use http_body_util::Full;
use tracing::error;

use super::config::{Auth, Settings};
use crate::http_client::{self, ClientSettings, LazyClient, Response, USER_AGENT};

/// Sends payloads to one remote-write receiver.
pub(crate) struct Client {
    http: LazyClient,
    url: http::Uri,
    auth: Auth,
    headers: Vec<(http::HeaderName, HeaderValue)>,
}

impl Client {
    pub(crate) fn new(settings: &Settings) -> Self {
        Client {
            http: LazyClient::new(ClientSettings {
                timeout: settings.timeout,
                tls: settings.tls.clone(),
            }),
            url: settings.url.clone(),
            auth: settings.auth.clone(),
            headers: settings.headers.clone(),
        }
    }

    /// Compresses and posts one payload (see the module doc for the answers).
    pub(crate) async fn write(&mut self, payload: &Payload) -> Result<SendReport, OutputError> {
        let body = snappy(&payload.bytes)?;
        let auth = self.authorization().await?;
        let mut req = Request::post(self.url.clone());
        for (k, v) in &self.headers {
            req = req.header(k, v.clone());
        }
        req = req
            .header(header::CONTENT_ENCODING, "snappy")
            .header(header::CONTENT_TYPE, "application/x-protobuf")
            .header("X-Prometheus-Remote-Write-Version", "0.1.0")
            .header(header::USER_AGENT, USER_AGENT);
        if let Some(a) = auth {
            req = req.header(header::AUTHORIZATION, a);
        }
        let req = req.body(Full::new(body)).map_err(|e| {
            OutputError::permanent(format!("remote_write: cannot build request: {e}"))
        })?;
        let client = self.http.get().map_err(|e| {
            error!(error = %e, "remote_write: cannot set up the http client; data is kept and retried");
            OutputError::retryable(format!("remote_write: {e}"))
        })?;
        let resp = client
            .send(req)
            .await
            .map_err(|e| OutputError::retryable(format!("remote_write: {e}")))?;
        judge(&self.url, &resp)
    }

    async fn authorization(&mut self) -> Result<Option<HeaderValue>, OutputError> {
        match &mut self.auth {
            Auth::None => Ok(None),
            Auth::Basic { username, password } => {
                Ok(http_client::basic_auth(username, password.expose()))
            }
            Auth::Bearer(source) => {
                let token = source.current().await.map_err(|e| {
                    error!(error = %e, "remote_write: cannot read the bearer token; data is kept and retried");
                    OutputError::retryable(format!("remote_write: {e}"))
                })?;
                http_client::sensitive_header(&format!("Bearer {}", token.expose()))
                    .map(Some)
                    .ok_or_else(|| {
                        error!("remote_write: the bearer token file holds characters a header cannot carry; data is kept and retried");
                        OutputError::retryable("remote_write: invalid bearer token")
                    })
            }
        }
    }
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
