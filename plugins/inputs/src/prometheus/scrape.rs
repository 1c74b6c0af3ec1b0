//! One scrape of one target: GET the page (Prometheus's `Accept`, gzip, the timeout header,
//! auth), read it whole up to `body_size_limit` (compressed and uncompressed), pick the
//! parser from `Content-Type`, and turn every kept sample into a metric. A scrape either
//! yields the whole page or fails as a whole: on any error (transport, status, gzip, parse,
//! `sample_limit`, `label_limit`) its samples are dropped and only the synthetic series
//! (`up` 0) remain. Pages past 64 KiB are decompressed and parsed on the blocking pool, and
//! their metrics come out in batches as they are built ([`super::samples`]), so a scrape
//! holds about its page, not its page's metrics.

use std::io::Read as _;
use std::sync::{Arc, Mutex, PoisonError};

use bytes::Bytes;
use gleaner_api::http_client::{self, BuildClientError, HttpClient, ReadSecretError, RequestError};
use gleaner_api::{Metric, now_ns};
use http_body_util::Full;

use super::config::{Auth, Settings};
use super::model::{self, Report};
use super::parse::{self, Format, ParseError};
use super::samples;
use super::series::SeriesCache;
use super::target::Target;

/// Pages at least this large (compressed) are handled off the runtime threads, and their
/// metrics streamed in batches.
pub(super) const INLINE_LIMIT: usize = 64 * 1024;

/// Why a scrape failed.
#[derive(Debug, thiserror::Error)]
pub(super) enum ScrapeError {
    /// The HTTP client could not be made (a CA file).
    #[error("http client: {0}")]
    Client(#[from] BuildClientError),
    /// The bearer token file could not be read.
    #[error("{0}")]
    Secret(#[from] ReadSecretError),
    /// No complete answer (timeout, connection, body over the limit).
    #[error("{0}")]
    Request(#[from] RequestError),
    /// An answer other than 200.
    #[error("{url}: http status {status}")]
    Status { url: String, status: u16 },
    /// A gzip body that does not inflate, or inflates past the limit.
    #[error("{url}: {message}")]
    Gzip { url: String, message: String },
    /// The page is not valid exposition text.
    #[error("{url}: {source}")]
    Parse { url: String, source: ParseError },
    /// More samples than `sample_limit`.
    #[error("{url}: {samples} samples, over sample_limit {limit}")]
    SampleLimit {
        url: String,
        samples: usize,
        limit: usize,
    },
    /// The parse task did not finish (the agent is stopping).
    #[error("{url}: parse task failed: {message}")]
    Task { url: String, message: String },
    /// A series with more labels than `label_limit`.
    #[error("{url}: a series has {labels} labels, over label_limit {limit}")]
    LabelLimit {
        url: String,
        labels: usize,
        limit: usize,
    },
}

impl ScrapeError {
    /// The reason the error is counted under.
    pub(super) fn reason(&self) -> &'static str {
        match self {
            ScrapeError::Client(_) => "scrape_client",
            ScrapeError::Secret(_) => "scrape_auth",
            ScrapeError::Request(RequestError::Timeout { .. }) => "scrape_timeout",
            ScrapeError::Request(RequestError::TooLarge { .. }) => "body_size_limit",
            ScrapeError::Request(_) => "scrape_transport",
            ScrapeError::Status { .. } => "scrape_status",
            ScrapeError::Gzip { .. } => "scrape_gzip",
            ScrapeError::Parse { .. } => "scrape_parse",
            ScrapeError::SampleLimit { .. } => "sample_limit",
            ScrapeError::LabelLimit { .. } => "label_limit",
            ScrapeError::Task { .. } => "scrape_task",
        }
    }
}

/// What one scrape produced: the metrics to ship (the samples of a big page come first,
/// through `stream`; then `metrics`, the synthetic series last) and the error.
pub(super) struct Outcome {
    pub(super) stream: Option<tokio::sync::mpsc::Receiver<Vec<Metric>>>,
    pub(super) metrics: Vec<Metric>,
    pub(super) error: Option<ScrapeError>,
}

/// Scrapes `target` once; a big page's metrics come in batches of `batch`.
pub(super) async fn scrape(
    settings: &Arc<Settings>,
    client: Result<HttpClient, ScrapeError>,
    auth: &mut Auth,
    target: &Target,
    cache: &Arc<Mutex<SeriesCache>>,
    batch: usize,
) -> Outcome {
    let target_tags = {
        let mut c = cache.lock().unwrap_or_else(PoisonError::into_inner);
        c.begin();
        c.target().clone()
    };
    let start_ns = now_ns();
    // Every sample of a scrape carries its start time, in whole milliseconds (what remote
    // write keeps), unless the page gives one.
    let stamp = start_ns - start_ns.rem_euclid(1_000_000);
    let started = tokio::time::Instant::now();
    let result = match client {
        Ok(c) => fetch(settings, &c, auth, target).await,
        Err(e) => Err(e),
    };
    let url = || http_client::display_url(&target.url);
    let labels = target.labels().to_vec();
    let (scraped, result, stream) = match result {
        Err(e) => (0, Err(e), None),
        Ok((body, format)) if body.len() < INLINE_LIMIT => {
            let mut c = cache.lock().unwrap_or_else(PoisonError::into_inner);
            let (n, r) = samples::collect(settings, &body, format, &mut c, stamp, &url());
            (n, r.map(|m| (m.len(), m)), None)
        }
        Ok((body, format)) => {
            let s = Arc::clone(settings);
            let u = url();
            let c = Arc::clone(cache);
            let checked = tokio::task::spawn_blocking(move || {
                let mut c = c.lock().unwrap_or_else(PoisonError::into_inner);
                let r = samples::check(&s, &body, format, &mut c, &labels, &u);
                drop(c);
                (body, labels, r)
            })
            .await;
            match checked {
                Err(e) => (0, Err(task_error(url(), &e)), None),
                Ok((_, _, Err((n, e)))) => (n, Err(e), None),
                Ok((body, _, Ok(counts))) => {
                    let (tx, rx) = tokio::sync::mpsc::channel(1);
                    let s = Arc::clone(settings);
                    let cache = Arc::clone(cache);
                    // Ends when the page is done or the receiver is gone. Holds the series
                    // cache meanwhile: the target's next scrape starts after this one is sent.
                    drop(tokio::task::spawn_blocking(move || {
                        let mut c = cache.lock().unwrap_or_else(PoisonError::into_inner);
                        samples::stream(&s, &body, format, &mut c, stamp, batch, &mut |b| {
                            tx.blocking_send(b).is_ok()
                        })
                    }));
                    (counts.scraped, Ok((counts.kept, Vec::new())), Some(rx))
                }
            }
        }
    };
    let (mut metrics, post_relabeling, error) = match result {
        Ok((kept, m)) => (m, kept, None),
        Err(e) => (Vec::new(), 0, Some(e)),
    };
    let report = Report {
        up: error.is_none(),
        duration_seconds: started.elapsed().as_secs_f64(),
        scraped,
        post_relabeling,
    };
    model::synthetic(&report, &target_tags, stamp, &mut metrics);
    Outcome {
        stream,
        metrics,
        error,
    }
}

/// The blocking pool is gone: the agent is stopping.
fn task_error(url: String, e: &tokio::task::JoinError) -> ScrapeError {
    ScrapeError::Task {
        url,
        message: e.to_string(),
    }
}

/// GET the page; returns the uncompressed body and its format.
async fn fetch(
    settings: &Settings,
    client: &HttpClient,
    auth: &mut Auth,
    target: &Target,
) -> Result<(Bytes, Format), ScrapeError> {
    let url = http_client::display_url(&target.url);
    let mut req = http::Request::get(target.url.clone())
        .header(http::header::ACCEPT, parse::ACCEPT)
        .header(http::header::ACCEPT_ENCODING, "gzip")
        .header(http::header::USER_AGENT, http_client::USER_AGENT)
        .header(
            "X-Prometheus-Scrape-Timeout-Seconds",
            format!("{}", settings.timeout.as_secs_f64()),
        )
        .body(Full::new(Bytes::new()))
        .map_err(|e| RequestError::Transport {
            url: url.clone(),
            message: e.to_string(),
        })?;
    let authorization = match auth {
        Auth::None => None,
        Auth::Bearer(source) => {
            let token = source.current().await?;
            http_client::sensitive_header(&format!("Bearer {}", token.expose()))
        }
        Auth::Basic { username, password } => http_client::basic_auth(username, password.expose()),
    };
    if let Some(v) = authorization {
        req.headers_mut().insert(http::header::AUTHORIZATION, v);
    }
    let resp = client
        .send_with_limit(req, settings.body_size_limit)
        .await?;
    if resp.status != http::StatusCode::OK {
        return Err(ScrapeError::Status {
            url,
            status: resp.status.as_u16(),
        });
    }
    let content_type = resp
        .headers
        .get(http::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok());
    let format = Format::from_content_type(content_type, settings.fallback);
    let gzipped = resp
        .headers
        .get(http::header::CONTENT_ENCODING)
        .is_some_and(|v| v.as_bytes().eq_ignore_ascii_case(b"gzip"));
    if !gzipped {
        return Ok((resp.body, format));
    }
    let limit = settings.body_size_limit;
    let body = resp.body;
    let big = body.len() >= INLINE_LIMIT / 8;
    let inflate = move || gunzip(&body, limit);
    let inflated = if big {
        tokio::task::spawn_blocking(inflate)
            .await
            .unwrap_or_else(|e| Err(e.to_string()))
    } else {
        inflate()
    };
    inflated
        .map(|b| (Bytes::from(b), format))
        .map_err(|message| ScrapeError::Gzip { url, message })
}

/// Inflates a gzip body, refusing past `limit` bytes.
fn gunzip(body: &[u8], limit: usize) -> Result<Vec<u8>, String> {
    let mut out = Vec::with_capacity((body.len() * 4).min(limit));
    let mut dec = flate2::read::GzDecoder::new(body).take(limit as u64 + 1);
    dec.read_to_end(&mut out)
        .map_err(|e| format!("bad gzip body: {e}"))?;
    if out.len() > limit {
        return Err(format!("body larger than {limit} bytes once inflated"));
    }
    Ok(out)
}

/// The client for the next scrape: made on first use, then shared (it is a pooled handle).
pub(super) async fn client(
    lazy: &tokio::sync::Mutex<http_client::LazyClient>,
) -> Result<HttpClient, ScrapeError> {
    let mut guard = lazy.lock().await;
    Ok(guard.get()?.clone())
}
