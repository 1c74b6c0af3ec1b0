//! The one HTTP client of the HTTP outputs (influxdb, remote_write, splunk_hec) and of the
//! polling inputs (kubelet, prometheus), behind the `http-client` feature: hyper 1 with
//! hyper-util's pooled client over rustls (the `ring` provider only; trusted roots: the
//! operating system's CAs, the webpki roots and an optional `ca_file`; an optional client
//! certificate; an explicit `insecure_skip_verify`).
//!
//! What it adds to hyper, and nothing else:
//! - a whole-request timeout (`tokio::time::timeout` around connect, send and body read);
//! - the response body read up to [`MAX_RESPONSE_BODY`] (enough for any error message; the
//!   rest is discarded), or, with [`HttpClient::send_with_limit`], read whole up to a
//!   caller's limit (a kubelet summary, a scrape) and refused beyond it;
//! - gzip request bodies at a chosen level ([`gzip_level`], `gzip.rs`), off the runtime
//!   threads when large;
//! - `Retry-After` parsing ([`retry_after`]), seconds or an HTTP date, capped;
//! - secrets read from files and re-read when the file changes ([`SecretSource`]);
//! - [`install_crypto_provider`], which makes `ring` the process-wide rustls provider;
//! - configured URLs checked ([`parse_url`]: credentials in a URL are refused) and shown
//!   without credentials ([`display_url`], [`redact_url`]).
//!
//! Build-time rule: an output's `build` does no I/O, so the client (which reads the CA and
//! certificate files) is made on first use through [`LazyClient`]. A client that cannot be
//! made (a missing CA file) is a retryable error: the data stays buffered while an operator
//! fixes the file. The CA, certificate and key files are watched from then on
//! ([`crate::file_watch`]); after a change the next request makes the client again with the
//! files' new contents (a failure keeps the running client and says so).
//!
//! Each output classifies status codes itself; this module only reports what happened.
//!
//! Over 400 lines on purpose: the client and the small request helpers every HTTP plugin shares
//! (timeouts, bounded bodies, gzip, Retry-After, URLs), kept with the client they configure.

mod gzip;
mod secret;
#[cfg(test)]
mod tests;
mod tls;
mod url;

use std::path::PathBuf;
use std::time::{Duration, SystemTime};

use bytes::Bytes;
use http::{HeaderMap, Request, StatusCode};
use http_body_util::{BodyExt, Full};
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;

pub use gzip::{DEFAULT_GZIP_LEVEL, MAX_GZIP_LEVEL, gzip, gzip_async, gzip_level};
pub use secret::{ReadSecretError, SecretSource};
pub use tls::TlsSettings;
pub use url::{UrlError, display_url, join_path, parse_url, redact_url, with_path};

/// Response bodies are read up to this many bytes (error messages, HEC JSON answers).
pub const MAX_RESPONSE_BODY: usize = 64 * 1024;

/// The longest `Retry-After` we honour; longer answers wait this long and ask again.
pub const MAX_RETRY_AFTER: Duration = Duration::from_secs(300);

/// `User-Agent` of every request: `gleaner/<version>`.
pub const USER_AGENT: &str = concat!("gleaner/", env!("CARGO_PKG_VERSION"));

/// Makes `ring` the process-wide rustls crypto provider. Idempotent; call it at the start of
/// `main`, before anything (kube, an output) makes a TLS connection. Our own clients name
/// their provider explicitly and do not need it; other rustls users in the process do.
pub fn install_crypto_provider() {
    if rustls::crypto::CryptoProvider::get_default().is_none() {
        // Losing a race with another installer is fine: a provider is then installed.
        if rustls::crypto::ring::default_provider()
            .install_default()
            .is_err()
        {}
    }
}

/// Request body encoding (the `content_encoding` option).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ContentEncoding {
    /// `Content-Encoding: gzip`.
    #[default]
    Gzip,
    /// Uncompressed.
    Identity,
}

/// How to reach a destination: timeout, TLS, and the connections kept for reuse.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClientSettings {
    /// Whole-request timeout.
    pub timeout: Duration,
    /// TLS options.
    pub tls: TlsSettings,
    /// Idle connections kept per host for the next requests: at least the requests sent at
    /// once (an output's `concurrency`), else each burst closes the connections past it and
    /// the next opens them again (a TCP handshake, and with TLS a TLS one, each time).
    pub idle_per_host: usize,
}

/// [`ClientSettings::idle_per_host`] of clients with a few requests at a time.
pub const DEFAULT_IDLE_PER_HOST: usize = 4;

/// A client could not be made (bad CA or certificate file).
#[derive(Debug, thiserror::Error)]
pub enum BuildClientError {
    /// A file could not be read.
    #[error("cannot read {what} {}: {source}", path.display())]
    Read {
        /// `ca_file`, `cert_file` or `key_file`.
        what: &'static str,
        /// The path.
        path: PathBuf,
        /// The cause.
        source: std::io::Error,
    },
    /// A file holds no usable PEM item.
    #[error("{what} {}: {message}", path.display())]
    Pem {
        /// `ca_file`, `cert_file` or `key_file`.
        what: &'static str,
        /// The path.
        path: PathBuf,
        /// What is wrong.
        message: String,
    },
    /// rustls refused the configuration (a key that does not match the certificate).
    #[error("invalid tls settings: {0}")]
    Tls(#[from] rustls::Error),
}

/// A request that got no HTTP answer.
#[derive(Debug, thiserror::Error)]
pub enum RequestError {
    /// No complete answer within the timeout.
    #[error("{url}: no answer within {after:?}")]
    Timeout {
        /// The request URL (without query string secrets: we never put any there).
        url: String,
        /// The timeout.
        after: Duration,
    },
    /// Connect, TLS or protocol failure.
    #[error("{url}: {message}")]
    Transport {
        /// The request URL.
        url: String,
        /// The error and its causes, joined with `: `.
        message: String,
    },
    /// [`HttpClient::send_with_limit`]: the body is longer than the limit.
    #[error("{url}: response body larger than {limit} bytes")]
    TooLarge {
        /// The request URL.
        url: String,
        /// The limit, in bytes.
        limit: usize,
    },
}

/// An HTTP answer, body read up to [`MAX_RESPONSE_BODY`].
#[derive(Debug, Clone)]
pub struct Response {
    /// Status code.
    pub status: StatusCode,
    /// Headers.
    pub headers: HeaderMap,
    /// Body (possibly truncated).
    pub body: Bytes,
}

impl Response {
    /// The body as text for a log line: lossy UTF-8, trimmed, cut at 512 characters.
    pub fn body_excerpt(&self) -> String {
        excerpt(&self.body)
    }
}

/// Lossy UTF-8, trimmed, cut at 512 characters.
pub fn excerpt(body: &[u8]) -> String {
    let text = String::from_utf8_lossy(body);
    let text = text.trim();
    match text.char_indices().nth(512) {
        Some((i, _)) => format!("{}…", &text[..i]),
        None => text.to_owned(),
    }
}

type Connector = hyper_rustls::HttpsConnector<HttpConnector>;

/// A pooled HTTP/1.1 client with a whole-request timeout.
#[derive(Debug, Clone)]
pub struct HttpClient {
    client: Client<Connector, Full<Bytes>>,
    timeout: Duration,
}

impl HttpClient {
    /// Makes a client; reads the TLS files.
    pub fn new(settings: &ClientSettings) -> Result<Self, BuildClientError> {
        let tls = settings.tls.client_config()?;
        let mut http = HttpConnector::new();
        http.enforce_http(false);
        http.set_nodelay(true);
        http.set_connect_timeout(Some(settings.timeout));
        let connector = hyper_rustls::HttpsConnectorBuilder::new()
            .with_tls_config(tls)
            .https_or_http()
            .enable_http1()
            .wrap_connector(http);
        let client = Client::builder(TokioExecutor::new())
            .pool_idle_timeout(Duration::from_secs(60))
            .pool_max_idle_per_host(settings.idle_per_host.max(1))
            .build(connector);
        Ok(HttpClient {
            client,
            timeout: settings.timeout,
        })
    }

    /// Sends `req` and reads the answer, all within the timeout; the body is cut at
    /// [`MAX_RESPONSE_BODY`] (enough for an error message).
    pub async fn send(&self, req: Request<Full<Bytes>>) -> Result<Response, RequestError> {
        self.exchange(req, MAX_RESPONSE_BODY, false).await
    }

    /// Sends `req` and reads the whole answer, all within the timeout, for endpoints whose
    /// body is the data (a kubelet's `/stats/summary`, a scrape): a body longer than
    /// `max_bytes` is [`RequestError::TooLarge`], never silently cut.
    pub async fn send_with_limit(
        &self,
        req: Request<Full<Bytes>>,
        max_bytes: usize,
    ) -> Result<Response, RequestError> {
        self.exchange(req, max_bytes, true).await
    }

    async fn exchange(
        &self,
        req: Request<Full<Bytes>>,
        limit: usize,
        fail_over_limit: bool,
    ) -> Result<Response, RequestError> {
        let url = display_url(req.uri());
        let exchange = async {
            let resp = self
                .client
                .request(req)
                .await
                .map_err(|e| Failure::Transport(error_chain(&e)))?;
            let (parts, mut body) = resp.into_parts();
            // Size the buffer once from Content-Length (bounded by the limit).
            let hint = parts
                .headers
                .get(http::header::CONTENT_LENGTH)
                .and_then(|v| v.to_str().ok()?.parse::<usize>().ok())
                .unwrap_or(0);
            let mut buf = Vec::with_capacity(hint.min(limit));
            while let Some(frame) = body.frame().await {
                let frame = frame.map_err(|e| Failure::Transport(error_chain(&e)))?;
                let Ok(data) = frame.into_data() else {
                    continue;
                };
                let room = limit - buf.len();
                if data.len() > room && fail_over_limit {
                    return Err(Failure::TooLarge);
                }
                buf.extend_from_slice(&data[..data.len().min(room)]);
            }
            Ok::<_, Failure>(Response {
                status: parts.status,
                headers: parts.headers,
                body: Bytes::from(buf),
            })
        };
        match tokio::time::timeout(self.timeout, exchange).await {
            Ok(Ok(resp)) => Ok(resp),
            Ok(Err(Failure::Transport(message))) => Err(RequestError::Transport { url, message }),
            Ok(Err(Failure::TooLarge)) => Err(RequestError::TooLarge { url, limit }),
            Err(_) => Err(RequestError::Timeout {
                url,
                after: self.timeout,
            }),
        }
    }
}

/// Why an exchange failed, before the URL is attached.
enum Failure {
    Transport(String),
    TooLarge,
}

/// A client made on first use (an output's `build` does no I/O), and made again when its
/// TLS files change on disk.
#[derive(Debug, Clone)]
pub struct LazyClient {
    settings: ClientSettings,
    client: Option<HttpClient>,
    /// The TLS files' subscriptions, with the counts the client was made at.
    files: Vec<(crate::file_watch::Watched, u64)>,
}

impl LazyClient {
    /// A client that will be made with `settings`.
    pub fn new(settings: ClientSettings) -> Self {
        LazyClient {
            settings,
            client: None,
            files: Vec::new(),
        }
    }

    /// The client, made now if needed (first use, or its TLS files changed).
    pub fn get(&mut self) -> Result<&HttpClient, BuildClientError> {
        let changed = self.files.iter().any(|(w, at)| w.generation() != *at);
        if self.client.is_none() || changed {
            if self.files.is_empty() {
                let tls = &self.settings.tls;
                self.files = [&tls.ca_file, &tls.cert_file, &tls.key_file]
                    .into_iter()
                    .flatten()
                    .map(|p| (crate::file_watch::FileWatch::global().watch(p), 0))
                    .collect();
            }
            // Counts first: a change while the files are read makes the client again.
            for (w, at) in &mut self.files {
                *at = w.generation();
            }
            match (HttpClient::new(&self.settings), self.client.is_some()) {
                (Ok(c), had) => {
                    if had {
                        tracing::info!("TLS files changed: HTTP client made again");
                    }
                    self.client = Some(c);
                }
                (Err(e), true) => {
                    tracing::warn!(error = %e, "TLS files changed but cannot be used; the running client is kept");
                }
                (Err(e), false) => return Err(e),
            }
        }
        Ok(self.client.as_ref().expect("client was just made"))
    }

    /// True when the client in use was made from the TLS files as they are now (tests).
    pub fn is_current(&self) -> bool {
        self.client.is_some() && self.files.iter().all(|(w, at)| w.generation() == *at)
    }
}

/// An error and its sources, joined with `: ` (hyper's top-level messages are vague).
fn error_chain(e: &(dyn std::error::Error + 'static)) -> String {
    let mut out = e.to_string();
    let mut src = e.source();
    while let Some(s) = src {
        let msg = s.to_string();
        if !out.contains(&msg) {
            out.push_str(": ");
            out.push_str(&msg);
        }
        src = s.source();
    }
    out
}

/// The `Retry-After` of an answer: delay-seconds or an IMF-fixdate, relative to `now`,
/// capped at [`MAX_RETRY_AFTER`]. `None` when absent or unreadable.
pub fn retry_after(headers: &HeaderMap, now: SystemTime) -> Option<Duration> {
    let v = headers
        .get(http::header::RETRY_AFTER)?
        .to_str()
        .ok()?
        .trim();
    let d = if let Ok(secs) = v.parse::<u64>() {
        Duration::from_secs(secs)
    } else {
        let at = parse_http_date(v)?;
        at.duration_since(now).unwrap_or(Duration::ZERO)
    };
    Some(d.min(MAX_RETRY_AFTER))
}

/// Parses an HTTP date (the IMF-fixdate of RFC 9110, and the two obsolete forms it tells
/// recipients to accept).
fn parse_http_date(s: &str) -> Option<SystemTime> {
    httpdate::parse_http_date(s).ok()
}

/// Appends `key=value` to a query string, percent-encoding both (`application/x-www-form-
/// urlencoded` minus the `+` for space, which every server reads as `%20` too).
pub fn push_query(query: &mut String, key: &str, value: &str) {
    if !query.is_empty() {
        query.push('&');
    }
    percent_encode(query, key);
    query.push('=');
    percent_encode(query, value);
}

/// Everything but the unreserved characters of RFC 3986 (`A-Z a-z 0-9 - _ . ~`).
const QUERY_ESCAPED: &percent_encoding::AsciiSet = &percent_encoding::NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'_')
    .remove(b'.')
    .remove(b'~');

fn percent_encode(out: &mut String, s: &str) {
    out.extend(percent_encoding::utf8_percent_encode(s, QUERY_ESCAPED));
}

/// Parses the `headers` table of an output; the headers the protocol sets itself
/// (`Content-Type`, `Content-Encoding`, ...) may not be overridden.
pub fn parse_headers(
    raw: &std::collections::BTreeMap<String, String>,
) -> Result<Vec<(http::HeaderName, http::HeaderValue)>, String> {
    const RESERVED: [&str; 5] = [
        "content-type",
        "content-encoding",
        "content-length",
        "host",
        "x-prometheus-remote-write-version",
    ];
    raw.iter()
        .map(|(k, v)| {
            let name: http::HeaderName = k
                .parse()
                .map_err(|_| format!("invalid header name {k:?}"))?;
            if RESERVED.contains(&name.as_str()) {
                return Err(format!(
                    "header {k:?} is set by the output and cannot be changed"
                ));
            }
            let value: http::HeaderValue = v
                .parse()
                .map_err(|_| format!("invalid value for header {k:?}"))?;
            Ok((name, value))
        })
        .collect()
}

/// A header value marked sensitive (hyper keeps it out of its debug output); `None` when
/// the text cannot be a header value (a control character).
pub fn sensitive_header(s: &str) -> Option<http::HeaderValue> {
    let mut v = http::HeaderValue::from_str(s).ok()?;
    v.set_sensitive(true);
    Some(v)
}

/// `Authorization: Basic base64(user:password)`.
pub fn basic_auth(user: &str, password: &str) -> Option<http::HeaderValue> {
    sensitive_header(&format!(
        "Basic {}",
        base64(format!("{user}:{password}").as_bytes())
    ))
}

/// Standard base64 with padding (RFC 4648 §4).
pub fn base64(data: &[u8]) -> String {
    use ::base64::Engine as _;
    ::base64::engine::general_purpose::STANDARD.encode(data)
}
