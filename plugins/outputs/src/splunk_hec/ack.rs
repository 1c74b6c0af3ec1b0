//! Indexer acknowledgement for `outputs.splunk_hec` (`ack = true`; the protocol is in
//! docs/protocols.md, "Splunk HTTP Event Collector").
//!
//! Every request carries `X-Splunk-Request-Channel: <guid>` (the `channel` option, else a
//! random version-4 GUID made when the output is built and kept for its life). A 200 answer
//! then carries `"ackId": N`; [`confirm`] polls `POST /services/collector/ack` with
//! `{"acks":[N]}` every `ack_poll_interval` until the answer reads `{"acks":{"N":true}}`, and
//! only then is the request delivered. Acks are read once: a `true` is reported once.
//!
//! | `/ack` answer | result |
//! |---|---|
//! | 200 with `N: true` | delivered |
//! | 200 with `N: false` (or without N) | keep polling |
//! | 429 (codes 26, 27), 503, 408, other 5xx, no answer | keep polling (after `Retry-After` when longer than the interval) |
//! | 400 code 14 (ACK is disabled) | `Retryable`, logged as an error: a misconfiguration |
//! | 400 codes 10/11 (channel missing or invalid) | `Retryable`, logged as an error |
//! | 401, 403, 404, any other status | `Retryable`, logged as an error |
//! | no `true` within `ack_timeout` | `Retryable`: the worker sends the request again |
//!
//! Sending again after a timeout can duplicate events (Splunk may have indexed them and only
//! the acknowledgement was lost or slow): acknowledgement trades loss for possible duplicates.
//! A 200 without an `ackId` (the token does not use acknowledgement) is taken as delivered,
//! with a warning logged once. A 400 per-event rejection carries no `ackId`: the events
//! before the refused one are taken as indexed, as without acknowledgement; the remainder
//! sent after it gets its own `ackId`, which is waited for.

use std::collections::BTreeMap;
use std::hash::{BuildHasher as _, Hasher as _};
use std::time::{Duration, Instant, SystemTime};

use bytes::Bytes;
use gleaner_api::OutputError;
use serde::Deserialize;
use tracing::{debug, error, warn};

use super::client::Client;
use crate::http_client::{self, Response};
use crate::http_output::Sender;

/// Acknowledgement settings (validated).
#[derive(Debug, Clone)]
pub(crate) struct AckSettings {
    /// Longest wait for the acknowledgement of one request.
    pub(crate) timeout: Duration,
    /// Pause between two polls.
    pub(crate) poll_interval: Duration,
}

/// The answer of `/services/collector/ack`.
#[derive(Debug, Default, Deserialize)]
struct AckAnswer {
    #[serde(default)]
    text: String,
    code: Option<i64>,
    acks: Option<BTreeMap<String, bool>>,
}

/// What one poll means.
#[derive(Debug, PartialEq)]
enum Poll {
    Acked,
    /// Not yet; poll again after at least this long (a server's `Retry-After`).
    Pending(Option<Duration>),
    Failed(OutputError),
}

/// Waits until HEC acknowledges `ack_id` (see the module doc).
pub(crate) async fn confirm(
    client: &Client,
    http: &mut Sender,
    settings: &AckSettings,
    ack_id: u64,
) -> Result<(), OutputError> {
    let deadline = Instant::now() + settings.timeout;
    let body = Bytes::from(format!("{{\"acks\":[{ack_id}]}}"));
    let mut wait = settings.poll_interval;
    loop {
        let remaining = deadline.saturating_duration_since(Instant::now());
        tokio::time::sleep(wait.min(remaining)).await;
        let poll = match client.post_ack(http, body.clone()).await {
            Ok(resp) => judge(client.ack_url(), &resp, ack_id),
            Err(e) => {
                debug!(error = %e, ack_id, "splunk_hec: ack poll failed; polling again");
                Poll::Pending(None)
            }
        };
        match poll {
            Poll::Acked => return Ok(()),
            Poll::Failed(e) => return Err(e),
            Poll::Pending(after) => {
                wait = after.map_or(settings.poll_interval, |a| a.max(settings.poll_interval));
            }
        }
        if Instant::now() >= deadline {
            warn!(url = %client.ack_url(), ack_id, timeout = ?settings.timeout, "splunk_hec: request not acknowledged within ack_timeout; sending it again (events may be duplicated)");
            return Err(OutputError::retryable(format!(
                "splunk_hec {}: ackId {ack_id} not acknowledged within ack_timeout ({}s); re-sending",
                client.ack_url(),
                settings.timeout.as_secs_f64()
            )));
        }
    }
}

fn judge(url: &http::Uri, resp: &Response, ack_id: u64) -> Poll {
    let answer: AckAnswer = serde_json::from_slice(&resp.body).unwrap_or_default();
    let status = resp.status.as_u16();
    let code = answer
        .code
        .map_or(String::new(), |c| format!(" (code {c})"));
    let text = if answer.text.is_empty() {
        resp.body_excerpt()
    } else {
        answer.text.clone()
    };
    let fail = |hint: &str, what: &str| {
        error!(url = %url, status, code = answer.code, reason = %text, "splunk_hec: {hint}; data is kept and sent again");
        Poll::Failed(OutputError::retryable(format!(
            "splunk_hec {url}: {status}{code}: {what}: {text}"
        )))
    };
    match (status, answer.code) {
        (200..=299, _) => {
            let acked = answer
                .acks
                .as_ref()
                .and_then(|a| a.get(&ack_id.to_string()))
                .copied()
                .unwrap_or(false);
            if acked {
                Poll::Acked
            } else {
                Poll::Pending(None)
            }
        }
        (400, Some(14)) => fail(
            "indexer acknowledgement is disabled for the token (enable it on the token, or set ack = false)",
            "ack is disabled",
        ),
        (400, Some(10 | 11)) => fail(
            "the ack endpoint refused the channel (check `channel`)",
            "data channel refused",
        ),
        (401 | 403, _) => fail(
            "token refused by the ack endpoint (check `token`)",
            "token refused",
        ),
        (429 | 503 | 408 | 500..=599, _) => {
            debug!(url = %url, status, code = answer.code, "splunk_hec: ack endpoint busy; polling again");
            Poll::Pending(http_client::retry_after(&resp.headers, SystemTime::now()))
        }
        _ => fail("the ack endpoint refused the poll", "ack poll refused"),
    }
}

/// Whether `s` is a GUID: 8-4-4-4-12 hex digits.
pub(crate) fn is_guid(s: &str) -> bool {
    let parts: Vec<&str> = s.split('-').collect();
    parts.len() == 5
        && parts
            .iter()
            .zip([8, 4, 4, 4, 12])
            .all(|(p, n)| p.len() == n && p.bytes().all(|b| b.is_ascii_hexdigit()))
}

/// A random version-4 GUID (no I/O: std's per-process random hash keys, the clock and a
/// counter, mixed).
pub(crate) fn new_channel() -> String {
    use std::sync::atomic::{AtomicU64, Ordering};
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let nanos = SystemTime::now()
        .duration_since(SystemTime::UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos());
    let word = |salt: u64| {
        let mut h = std::collections::hash_map::RandomState::new().build_hasher();
        h.write_u128(nanos);
        h.write_u64(COUNTER.fetch_add(1, Ordering::Relaxed));
        h.write_u32(std::process::id());
        h.write_u64(salt);
        h.finish()
    };
    let mut b = [0u8; 16];
    b[..8].copy_from_slice(&word(1).to_le_bytes());
    b[8..].copy_from_slice(&word(2).to_le_bytes());
    b[6] = (b[6] & 0x0f) | 0x40;
    b[8] = (b[8] & 0x3f) | 0x80;
    let hex: String = b.iter().map(|x| format!("{x:02x}")).collect();
    format!(
        "{}-{}-{}-{}-{}",
        &hex[..8],
        &hex[8..12],
        &hex[12..16],
        &hex[16..20],
        &hex[20..]
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn channels_are_v4_guids_and_differ() {
        let a = new_channel();
        let b = new_channel();
        assert!(is_guid(&a), "{a}");
        assert_ne!(a, b);
        assert_eq!(&a[14..15], "4");
        assert!(matches!(&a[19..20], "8" | "9" | "a" | "b"), "{a}");
        assert!(!is_guid("nope"));
        assert!(!is_guid("0f8c2e4a-1b2c-4d5e-8f90-a1b2c3d4e5fg"));
    }

    fn resp(status: u16, body: &str) -> Response {
        Response {
            status: http::StatusCode::from_u16(status).expect("status"),
            headers: http::HeaderMap::new(),
            body: Bytes::from(body.to_owned()),
        }
    }

    #[test]
    fn poll_answers() {
        let url = http::Uri::from_static("http://h/services/collector/ack");
        let j = |status, body: &str| judge(&url, &resp(status, body), 7);
        assert_eq!(j(200, r#"{"acks":{"7":true}}"#), Poll::Acked);
        assert_eq!(j(200, r#"{"acks":{"7":false}}"#), Poll::Pending(None));
        assert_eq!(j(200, r#"{"acks":{"8":true}}"#), Poll::Pending(None));
        assert_eq!(j(200, "garbage"), Poll::Pending(None));
        assert_eq!(j(503, r#"{"text":"busy","code":9}"#), Poll::Pending(None));
        assert_eq!(j(429, r#"{"text":"full","code":27}"#), Poll::Pending(None));
        for (status, body) in [
            (400, r#"{"text":"ACK is disabled","code":14}"#),
            (400, r#"{"text":"Data channel is missing","code":10}"#),
            (400, r#"{"text":"Invalid data channel","code":11}"#),
            (403, r#"{"text":"Invalid token","code":4}"#),
            (404, "not found"),
        ] {
            let Poll::Failed(e) = j(status, body) else {
                panic!("{status} {body}: not a failure");
            };
            assert_eq!(e.kind, gleaner_api::OutputErrorKind::Retryable, "{e}");
        }
    }
}
