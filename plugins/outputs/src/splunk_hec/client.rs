//! The I/O of `outputs.splunk_hec`: posting to `/services/collector/event`, reading HEC's
//! `{"text":"...","code":N}` answers, re-sending the rest of a batch after a per-event
//! rejection, and posting ack polls to `/services/collector/ack` (the acknowledgement
//! protocol itself is in `ack.rs`).
//!
//! | answer | result |
//! |---|---|
//! | 200 (code 0; 24/25 "approaching capacity" are logged) | accepted; with `ack = true`, delivered once its `ackId` is acknowledged (`ack.rs`) |
//! | 400 codes 6, 12, 13, 15 with `invalid-event-number` N | events before N were indexed; event N is dropped (`invalid_event`; its index in the payload, size and HEC's reason logged at warn, its first bytes only at debug: events are user data) and the events after it are sent again, in the same call |
//! | 400 code 7 (incorrect index), 10/11 (channel missing or invalid: the token wants indexer acknowledgement), 16 (query-string auth) | `Retryable`, logged as an error: a misconfiguration, the data waits |
//! | 400 otherwise (code 5 no data, 6 without an event number) | `Permanent` |
//! | 401 (codes 2, 3), 403 (codes 1, 4), 404 | `Retryable`, logged as an error |
//! | 413 | `TooLarge`: the worker splits the batch |
//! | 429 (26, 27), 503 (9 busy, 18-20 unhealthy, 23 shutting down) | `RateLimited` with the server's `Retry-After` |
//! | 408, 500 (code 8), other 5xx, no answer, timeout | `Retryable` |
//! | any other status | `Permanent` |
//!
//! A payload is one JSON object per line. When part of a payload was indexed and the rest
//! then fails (a 503 after a code-6 resend), the output remembers how far it got; the
//! worker's retry of the same payload resumes there, so indexed events are not sent twice.
//! If the rest is refused for good instead, the send succeeds with the rest reported as
//! rejected (counted as `permanent_error`), so the indexed part is not counted as lost.
//! An acknowledgement that does not come within `ack_timeout` fails the send (`Retryable`)
//! with the progress kept, so the retry sends the unacknowledged part again. Without
//! acknowledgement, a timeout after Splunk took a request duplicates it on retry: HEC has no
//! idempotency (with it, duplicates remain possible when only the acknowledgement is late).

use std::sync::Arc;
use std::time::SystemTime;

use bytes::Bytes;
use gleaner_api::{ComponentMetrics, OutputError, OutputErrorKind, Payload, SendReport};
use http::HeaderValue;
use serde::Deserialize;
use tracing::{debug, error, warn};

use super::ack::{self, AckSettings};
use super::config::Settings;
use crate::http_client::{self, Response};
use crate::http_output::{Auth, Body, Sender};

/// Drop reason for events HEC refused one by one (codes 6, 12, 13, 15).
pub(crate) const REASON_INVALID_EVENT: &str = "invalid_event";
/// Drop reason for the rest of a partly indexed payload that HEC then refused for good
/// (the engine's reason for a payload refused whole).
const REASON_PERMANENT: &str = "permanent_error";

/// HEC's answer body.
#[derive(Debug, Default, Deserialize)]
struct HecAnswer {
    #[serde(default)]
    text: String,
    code: Option<i64>,
    #[serde(rename = "invalid-event-number")]
    invalid_event_number: Option<usize>,
    #[serde(rename = "ackId")]
    ack_id: Option<u64>,
}

/// What one answer means.
enum Verdict {
    /// Accepted, with the `ackId` when the server gave one.
    Accepted(Option<u64>),
    /// Event `n` of the request (0-based) was refused; those before it were indexed.
    Rejected {
        n: usize,
        text: String,
    },
    Failed(OutputError),
}

/// Where a partly delivered payload stands.
#[derive(Debug, Clone)]
struct Progress {
    /// The payload as sent (compressed when the output compresses). A retry sends the same
    /// `Bytes`; holding a clone keeps its buffer alive, so no other payload can have the same
    /// address.
    bytes: Bytes,
    /// Its encoding, once a rejection needed to look inside it.
    plain: Option<Bytes>,
    /// Byte offset of the first event not yet indexed.
    offset: usize,
    /// Events rejected so far.
    rejected: usize,
    /// Events before `offset` (indexed or rejected), to name a rejected one by its index.
    events: usize,
}

/// How much of a refused event the debug log shows.
const LOGGED_EVENT_BYTES: usize = 64;

/// Sends payloads to one HEC endpoint.
pub(crate) struct Client {
    url: http::Uri,
    metrics: Arc<ComponentMetrics>,
    progress: Option<Progress>,
    ack_url: http::Uri,
    ack: Option<AckSettings>,
    channel: Option<HeaderValue>,
    /// A 200 without `ackId` while `ack = true` was logged.
    warned_no_ack_id: bool,
}

impl Client {
    /// A client for a request beside this one's: the same endpoint, channel and settings,
    /// none of the progress of a payload in hand.
    pub(crate) fn fork(&self) -> Client {
        Client {
            url: self.url.clone(),
            metrics: Arc::clone(&self.metrics),
            progress: None,
            ack_url: self.ack_url.clone(),
            ack: self.ack.clone(),
            channel: self.channel.clone(),
            warned_no_ack_id: self.warned_no_ack_id,
        }
    }

    pub(crate) fn new(settings: &Settings, metrics: Arc<ComponentMetrics>) -> Self {
        Client {
            url: settings.url.clone(),
            metrics,
            progress: None,
            ack_url: settings.ack_url.clone(),
            ack: settings.ack.clone(),
            channel: settings.channel.clone(),
            warned_no_ack_id: false,
        }
    }

    /// Sends one payload (its bytes in the output's content encoding: the worker compressed
    /// them once), resending after per-event rejections (see the module doc).
    pub(crate) async fn write(
        &mut self,
        http: &mut Sender,
        payload: &Payload,
    ) -> Result<SendReport, OutputError> {
        let wire = &payload.bytes;
        let mut at = match self.progress.take() {
            Some(p) if p.bytes.as_ptr() == wire.as_ptr() && p.bytes.len() == wire.len() => p,
            _ => Progress {
                bytes: wire.clone(),
                plain: None,
                offset: 0,
                rejected: 0,
                events: 0,
            },
        };
        loop {
            // The whole payload goes as it was compressed; after a rejection, the rest of its
            // encoding is compressed again (a rare path: HEC refused an event).
            let body = if at.offset == 0 {
                http.wire_body(wire.clone())
            } else {
                let rest = self.plain(http, &mut at)?.slice(at.offset..);
                if rest.iter().all(u8::is_ascii_whitespace) {
                    return Ok(SendReport {
                        rejected: at.rejected,
                    });
                }
                http.encode_body(rest).await
            };
            let verdict = match self.send(http, self.url.clone(), body).await {
                Ok(resp) => judge(&self.url, &resp),
                Err(e) => Verdict::Failed(e),
            };
            match verdict {
                Verdict::Accepted(ack_id) => {
                    if let Some(settings) = self.ack.clone() {
                        match ack_id {
                            Some(id) => {
                                if let Err(e) = ack::confirm(self, http, &settings, id).await {
                                    // Events before `at.offset` were indexed; the retry
                                    // sends the unacknowledged rest again.
                                    self.remember(at);
                                    return Err(e);
                                }
                            }
                            None if !self.warned_no_ack_id => {
                                self.warned_no_ack_id = true;
                                warn!(url = %self.url, "splunk_hec: ack = true but HEC answered without an ackId (indexer acknowledgement is disabled on the token); requests are taken as delivered when accepted");
                            }
                            None => {}
                        }
                    }
                    return Ok(SendReport {
                        rejected: at.rejected,
                    });
                }
                Verdict::Rejected { n, text } => {
                    let rest = self.plain(http, &mut at)?.slice(at.offset..);
                    let Some((start, end)) = nth_line(&rest, n) else {
                        let e = OutputError::permanent(format!(
                            "splunk_hec {}: invalid-event-number {n} is past the {} events sent: {text}",
                            self.url,
                            count_events(&rest)
                        ));
                        if at.offset == 0 {
                            return Err(e);
                        }
                        return Ok(self.reject_rest(&rest, at.rejected, &e));
                    };
                    self.metrics.dropped(REASON_INVALID_EVENT, 1);
                    let event = &rest[start..end];
                    let event_index = at.events + n;
                    // The event is user data (it may hold personal data): its content goes
                    // to the debug log only, and only its first bytes.
                    warn!(url = %self.url, event_index, bytes = event.len(), reason = %text, "splunk_hec: event refused and dropped; the events after it are sent again");
                    debug!(url = %self.url, event_index, first_bytes = %http_client::excerpt(&event[..event.len().min(LOGGED_EVENT_BYTES)]), "splunk_hec: the refused event");
                    at.rejected += 1;
                    at.events = event_index + 1;
                    at.offset += end;
                }
                Verdict::Failed(e) if at.offset == 0 => return Err(e),
                Verdict::Failed(e) => match e.kind {
                    // Part of the payload is indexed: the retry resumes after it.
                    OutputErrorKind::Retryable | OutputErrorKind::RateLimited { .. } => {
                        self.remember(at);
                        return Err(e);
                    }
                    // The rest is refused for good (too large cannot follow the acceptance
                    // of a larger body): report it rejected, so the indexed part is neither
                    // counted as lost nor sent again.
                    OutputErrorKind::Permanent | OutputErrorKind::TooLarge => {
                        let rest = self.plain(http, &mut at)?.slice(at.offset..);
                        return Ok(self.reject_rest(&rest, at.rejected, &e));
                    }
                },
            }
        }
    }

    /// The payload's encoding (the sent bytes decompressed), made on first need and kept
    /// with the progress.
    fn plain(&self, http: &Sender, at: &mut Progress) -> Result<Bytes, OutputError> {
        if let Some(p) = &at.plain {
            return Ok(p.clone());
        }
        let plain = http.plain_body(&at.bytes).map_err(|e| {
            OutputError::permanent(format!(
                "splunk_hec {}: cannot read back the compressed request body (a bug): {e}",
                self.url
            ))
        })?;
        at.plain = Some(plain.clone());
        Ok(plain)
    }

    /// The rest of a partly indexed payload was refused for good: count and log it.
    fn reject_rest(&self, rest: &[u8], rejected: usize, e: &OutputError) -> SendReport {
        let left = count_events(rest);
        self.metrics.dropped(REASON_PERMANENT, left as u64);
        error!(url = %self.url, events = left, error = %e, "splunk_hec: the rest of a partly indexed batch was refused and dropped");
        SendReport {
            rejected: rejected + left,
        }
    }

    fn remember(&mut self, at: Progress) {
        self.progress = Some(at);
    }

    /// `/services/collector/ack`, for logs and errors.
    pub(crate) fn ack_url(&self) -> &http::Uri {
        &self.ack_url
    }

    /// Posts an ack poll (`{"acks":[...]}`, never gzipped).
    pub(crate) async fn post_ack(
        &self,
        http: &mut Sender,
        body: Bytes,
    ) -> Result<Response, OutputError> {
        let url = self.ack_url.clone();
        self.send(http, url, Body::identity(body)).await
    }

    async fn send(
        &self,
        http: &mut Sender,
        url: http::Uri,
        body: Body,
    ) -> Result<Response, OutputError> {
        let channel = self
            .channel
            .clone()
            .map(|c| ("x-splunk-request-channel", c));
        http.post(url, "application/json", body, channel.as_slice())
            .await
    }
}

/// `Authorization: Splunk <token>`.
pub(crate) fn auth(settings: &Settings) -> Auth {
    Auth::Token {
        scheme: "Splunk",
        what: "token",
        secret: settings.token.clone(),
    }
}

/// Events (non-blank lines) in `body`.
fn count_events(body: &[u8]) -> usize {
    body.split(|&b| b == b'\n')
        .filter(|l| l.iter().any(|b| !b.is_ascii_whitespace()))
        .count()
}

/// Byte range (within `body`) of event `n` (0-based, one per non-empty line), end
/// including its newline.
fn nth_line(body: &[u8], n: usize) -> Option<(usize, usize)> {
    let mut start = 0;
    let mut index = 0;
    while start < body.len() {
        let end = body[start..]
            .iter()
            .position(|&b| b == b'\n')
            .map_or(body.len(), |i| start + i + 1);
        if body[start..end].iter().any(|b| !b.is_ascii_whitespace()) {
            if index == n {
                return Some((start, end));
            }
            index += 1;
        }
        start = end;
    }
    None
}

fn judge(url: &http::Uri, resp: &Response) -> Verdict {
    let answer: HecAnswer = serde_json::from_slice(&resp.body).unwrap_or_default();
    let status = resp.status.as_u16();
    let code = answer
        .code
        .map_or(String::new(), |c| format!(" (code {c})"));
    let text = if answer.text.is_empty() {
        resp.body_excerpt()
    } else {
        answer.text.clone()
    };
    let msg = |what: &str| format!("splunk_hec {url}: {status}{code}: {what}: {text}");
    let loud = |hint: &str| {
        error!(url = %url, status, code = answer.code, reason = %text, "splunk_hec: {hint}; data is kept and retried");
    };
    match (status, answer.code) {
        (200..=299, Some(24 | 25)) => {
            warn!(url = %url, code = answer.code, reason = %text, "splunk_hec: the server is approaching capacity");
            Verdict::Accepted(answer.ack_id)
        }
        (200..=299, _) => Verdict::Accepted(answer.ack_id),
        (400, Some(6 | 12 | 13 | 15)) if answer.invalid_event_number.is_some() => {
            Verdict::Rejected {
                n: answer.invalid_event_number.unwrap_or_default(),
                text: msg("event refused"),
            }
        }
        (400, Some(7)) => {
            loud("the token may not write to this index (check `index`)");
            Verdict::Failed(OutputError::retryable(msg("incorrect index")))
        }
        (400, Some(10 | 11)) => {
            loud(
                "the channel is missing or invalid: the token requires indexer acknowledgement (set ack = true, or disable useACK on the token)",
            );
            Verdict::Failed(OutputError::retryable(msg("data channel required")))
        }
        (400, Some(16)) => {
            loud("query-string authorization is not enabled");
            Verdict::Failed(OutputError::retryable(msg("auth refused")))
        }
        (401 | 403, _) => {
            loud("token refused (check `token`)");
            Verdict::Failed(OutputError::retryable(msg("token refused")))
        }
        (404, _) => {
            loud("not found (check `endpoint`)");
            Verdict::Failed(OutputError::retryable(msg("not found")))
        }
        (413, _) => Verdict::Failed(OutputError::too_large(msg("request too large"))),
        (429 | 503, _) => Verdict::Failed(OutputError::rate_limited(
            http_client::retry_after(&resp.headers, SystemTime::now()),
            msg("busy"),
        )),
        (408 | 500..=599, _) => Verdict::Failed(OutputError::retryable(msg("server error"))),
        _ => Verdict::Failed(OutputError::permanent(msg("refused"))),
    }
}
