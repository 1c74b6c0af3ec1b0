//! The I/O of `outputs.influxdb`: one write request per payload, URL failover, and the
//! answer mapped to what the delivery worker does next.
//!
//! | answer | result |
//! |---|---|
//! | 2xx | accepted |
//! | 400 or 422 with `partial write: ... dropped=N` | the good points were written: `Ok` with `N` rejected (counted as `partial_write`, reason logged). v1 parse errors among good lines say `dropped=0`; the failed lines are then counted from the `unable to parse` messages |
//! | 400/422 otherwise (`unable to parse` every line, v2 malformed body) | `Permanent`: nothing was written and a retry gets the same answer (docs/protocols.md, "InfluxDB line protocol": drop, log, do not retry) |
//! | 401, 403 | `Retryable`, logged as an error: credentials are wrong, the data waits |
//! | 404 | v1 `database not found`: the database is created (unless `skip_database_creation`) and the write retried once; otherwise `Retryable`, logged as an error |
//! | 413 | `TooLarge`: the worker splits the batch |
//! | 429, 503 | `RateLimited` with the server's `Retry-After`, after trying the other URLs |
//! | 408, other 5xx, no answer, timeout | `Retryable`, after trying the other URLs |
//! | any other status | `Permanent` |

use std::sync::Arc;
use std::time::SystemTime;

use bytes::Bytes;
use gleaner_api::{ComponentMetrics, OutputError, Payload, SendReport};
use http::{HeaderValue, StatusCode};
use tracing::{error, warn};

use super::config::{Settings, Target};
use crate::http_client::{self, Response, push_query};
use crate::http_output::{Auth, Body, Sender};

/// Drop reason for points the server rejected in a partial write.
pub(crate) const REASON_PARTIAL_WRITE: &str = "partial_write";

/// What to do after one server's answer.
enum Verdict {
    /// Final: return this.
    Done(Result<SendReport, OutputError>),
    /// Try the next URL, else return this.
    Failover(OutputError),
    /// v1 said the database does not exist.
    NoDatabase(OutputError),
}

/// Sends payloads to one of the configured URLs.
pub(crate) struct Client {
    /// Base URL and full write URI of each server.
    servers: Vec<(http::Uri, http::Uri)>,
    current: usize,
    target: Target,
    metrics: Arc<ComponentMetrics>,
}

/// The `Authorization` of the target: basic auth (v1, when a user is set) or `Token` (v2).
pub(crate) fn auth(target: &Target) -> Auth {
    match target {
        Target::V1 {
            username: Some(u),
            password,
            ..
        } => Auth::basic(u, password.as_ref().map_or("", |p| p.expose())),
        Target::V1 { .. } => Auth::None,
        Target::V2 { token, .. } => Auth::Token {
            scheme: "Token",
            what: "token",
            secret: http_client::SecretSource::Inline(token.clone()),
        },
    }
}

impl Client {
    /// A client for a request beside this one's: the same servers, starting from the one in
    /// use now.
    pub(crate) fn fork(&self) -> Client {
        Client {
            servers: self.servers.clone(),
            current: self.current,
            target: self.target.clone(),
            metrics: Arc::clone(&self.metrics),
        }
    }

    pub(crate) fn new(settings: &Settings, metrics: Arc<ComponentMetrics>) -> Self {
        let (path, query) = match &settings.target {
            Target::V1 {
                database,
                retention_policy,
                ..
            } => {
                let mut q = String::new();
                push_query(&mut q, "db", database);
                if !retention_policy.is_empty() {
                    push_query(&mut q, "rp", retention_policy);
                }
                push_query(&mut q, "precision", v1_precision(settings.precision));
                ("/write", q)
            }
            Target::V2 { org, bucket, .. } => {
                let mut q = String::new();
                push_query(&mut q, "org", org);
                push_query(&mut q, "bucket", bucket);
                push_query(&mut q, "precision", settings.precision.as_str());
                ("/api/v2/write", q)
            }
        };
        let servers = settings
            .urls
            .iter()
            .map(|base| {
                let write =
                    http_client::with_path(base, &http_client::join_path(base, path), &query);
                (base.clone(), write)
            })
            .collect();
        Client {
            servers,
            current: 0,
            target: settings.target.clone(),
            metrics,
        }
    }

    /// Writes one payload (see the module doc for the answers).
    pub(crate) async fn write(
        &mut self,
        http: &mut Sender,
        payload: &Payload,
    ) -> Result<SendReport, OutputError> {
        let body = http.wire_body(payload.bytes.clone());
        let n = self.servers.len();
        let mut last = OutputError::retryable("influxdb: no url configured");
        for i in 0..n {
            let idx = (self.current + i) % n;
            let mut created = false;
            loop {
                let uri = self.servers[idx].1.clone();
                // Errors come back as JSON.
                let accept = [("accept", HeaderValue::from_static("application/json"))];
                let verdict = match http
                    .post(uri, "text/plain; charset=utf-8", body.clone(), &accept)
                    .await
                {
                    Ok(resp) => self.judge(idx, &resp, payload.events),
                    Err(e) => Verdict::Failover(e),
                };
                match verdict {
                    Verdict::Done(result) => {
                        if result.is_ok() {
                            self.current = idx;
                        }
                        return result;
                    }
                    Verdict::Failover(e) => {
                        if n > 1 {
                            warn!(url = %self.servers[idx].0, error = %e, "influxdb: trying the next url");
                        }
                        last = e;
                        break;
                    }
                    Verdict::NoDatabase(e) => {
                        let create = matches!(
                            self.target,
                            Target::V1 {
                                create_database: true,
                                ..
                            }
                        );
                        if !create || created {
                            error!(error = %e, "influxdb: database not found; data is kept and retried (create it, or fix `database`)");
                            return Err(e);
                        }
                        created = true;
                        self.create_database(http, idx).await?;
                    }
                }
            }
        }
        Err(last)
    }

    fn judge(&self, idx: usize, resp: &Response, events: usize) -> Verdict {
        let url = &self.servers[idx].0;
        let status = resp.status;
        let msg = error_message(&resp.body);
        let err_text = |what: &str| format!("influxdb {url}: {status}: {what}: {msg}");
        match status.as_u16() {
            200..=299 => Verdict::Done(Ok(SendReport::ALL_ACCEPTED)),
            400 | 422 => {
                if let Some(n) = partial_write_dropped(&msg) {
                    let rejected = n.min(events);
                    self.metrics.dropped(REASON_PARTIAL_WRITE, rejected as u64);
                    warn!(url = %url, rejected, reason = %msg, "influxdb: partial write: points rejected by the server were dropped, the rest were written");
                    Verdict::Done(Ok(SendReport { rejected }))
                } else {
                    Verdict::Done(Err(OutputError::permanent(err_text("batch rejected"))))
                }
            }
            401 | 403 => {
                error!(url = %url, status = status.as_u16(), reason = %msg, "influxdb: not authorized; data is kept and retried (check username/password or token)");
                Verdict::Done(Err(OutputError::retryable(err_text("not authorized"))))
            }
            404 => {
                let e = OutputError::retryable(err_text("not found"));
                if matches!(self.target, Target::V1 { .. }) && msg.contains("database not found") {
                    Verdict::NoDatabase(e)
                } else {
                    error!(url = %url, reason = %msg, "influxdb: not found; data is kept and retried (check url, database, org and bucket)");
                    Verdict::Done(Err(e))
                }
            }
            413 => Verdict::Done(Err(OutputError::too_large(err_text("request too large")))),
            429 | 503 => Verdict::Failover(OutputError::rate_limited(
                http_client::retry_after(&resp.headers, SystemTime::now()),
                err_text("busy"),
            )),
            408 | 500..=599 => Verdict::Failover(OutputError::retryable(err_text("server error"))),
            _ => Verdict::Done(Err(OutputError::permanent(err_text("unexpected answer")))),
        }
    }

    /// `CREATE DATABASE` on server `idx` (v1), as Telegraf does on a missing database.
    async fn create_database(&mut self, http: &mut Sender, idx: usize) -> Result<(), OutputError> {
        let Target::V1 { database, .. } = &self.target else {
            return Ok(());
        };
        let base = &self.servers[idx].0;
        let mut form = String::new();
        push_query(
            &mut form,
            "q",
            &format!("CREATE DATABASE {}", quote_ident(database)),
        );
        let uri = http_client::with_path(base, &http_client::join_path(base, "/query"), "");
        let resp = http
            .post(
                uri,
                "application/x-www-form-urlencoded",
                Body::identity(Bytes::from(form)),
                &[],
            )
            .await?;
        let body = resp.body_excerpt();
        if resp.status == StatusCode::OK && !body.contains("\"error\"") {
            warn!(url = %base, database = %database, "influxdb: created the missing database");
            Ok(())
        } else {
            error!(url = %base, database = %database, status = resp.status.as_u16(), reason = %body, "influxdb: database not found and cannot be created; data is kept and retried");
            Err(OutputError::retryable(format!(
                "influxdb {base}: cannot create database {database:?}: {} {body}",
                resp.status
            )))
        }
    }
}

/// The v1 spelling of a precision (`n`, `u`, `ms`, `s`, `m`, `h`).
fn v1_precision(p: gleaner_api::line_protocol::Precision) -> &'static str {
    use gleaner_api::line_protocol::Precision as P;
    match p {
        P::Nanoseconds => "n",
        P::Microseconds => "u",
        P::Milliseconds => "ms",
        P::Seconds => "s",
        P::Minutes => "m",
        P::Hours => "h",
    }
}

/// The error text of an answer: v1 `{"error":"..."}`, v2 `{"code":"...","message":"..."}`,
/// else the body itself.
pub(crate) fn error_message(body: &[u8]) -> String {
    #[derive(serde::Deserialize)]
    struct ErrorBody {
        error: Option<String>,
        message: Option<String>,
    }
    match serde_json::from_slice::<ErrorBody>(body) {
        Ok(ErrorBody { error: Some(e), .. }) => e,
        Ok(ErrorBody {
            message: Some(m), ..
        }) => m,
        _ => http_client::excerpt(body),
    }
}

/// For a partial write, how many points were rejected: the last `dropped=N`, or when that
/// is 0 (v1 parse errors next to good lines), the number of `unable to parse` messages.
/// `None` when the message is not a partial write.
pub(crate) fn partial_write_dropped(msg: &str) -> Option<usize> {
    if !msg.contains("partial write") {
        return None;
    }
    let dropped = msg
        .rsplit_once("dropped=")
        .and_then(|(_, rest)| {
            let digits = rest.bytes().take_while(u8::is_ascii_digit).count();
            rest[..digits].parse::<usize>().ok()
        })
        .unwrap_or(0);
    let unparsed = msg.matches("unable to parse '").count();
    Some(dropped.max(unparsed).max(1))
}

/// An InfluxQL identifier in double quotes.
fn quote_ident(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        if c == '"' || c == '\\' {
            out.push('\\');
        }
        out.push(c);
    }
    out.push('"');
    out
}
