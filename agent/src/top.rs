//! `gleaner top`: a live view of a running agent, read from its `/metrics` (the agent's
//! `http_listen`): one row per component with events per second in and out, drops and errors
//! in the last interval (totals beside them), output queue depth, buffer bytes and tail lag.
//! Rows are sorted inputs, filters, outputs, then busiest first. On a terminal the screen is
//! redrawn in place with colours (drops red, errors yellow; `NO_COLOR` turns colours off);
//! piped, a plain table is printed each interval, and `--once` prints one and exits.

mod snapshot;
mod table;
#[cfg(test)]
mod tests;

use std::io::{IsTerminal, Write};
use std::time::Duration;

use bytes::Bytes;
use gleaner_api::http_client::{ClientSettings, HttpClient, TlsSettings, parse_url};
use http_body_util::Full;

pub use snapshot::Snapshot;

/// Largest `/metrics` page read (an agent with a thousand components answers ~1 MiB).
const MAX_PAGE: usize = 16 << 20;

/// How `gleaner top` runs.
#[derive(Debug, Clone)]
pub struct TopOptions {
    /// The agent's base URL (`http://127.0.0.1:8686`); `/metrics` is appended.
    pub url: String,
    /// Time between two reads.
    pub interval: Duration,
    /// Print one table (rates over one interval) and exit.
    pub once: bool,
}

/// Why `gleaner top` stopped.
#[derive(Debug, thiserror::Error)]
pub enum TopError {
    #[error("bad --url {url:?}: {reason}")]
    Url { url: String, reason: String },
    #[error("cannot read {url}: {reason} (is the agent running with agent.http_listen there?)")]
    Fetch { url: String, reason: String },
    #[error("{url} is not a Gleaner /metrics page: {reason}")]
    Page { url: String, reason: String },
    #[error("cannot start: {0}")]
    Runtime(#[from] std::io::Error),
}

/// Runs until interrupted (or after one table with `once`).
pub fn run(opts: &TopOptions) -> Result<(), TopError> {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    runtime.block_on(run_async(opts))
}

async fn run_async(opts: &TopOptions) -> Result<(), TopError> {
    let url = format!("{}/metrics", opts.url.trim_end_matches('/'));
    let uri = parse_url(&url).map_err(|e| TopError::Url {
        url: opts.url.clone(),
        reason: e.to_string(),
    })?;
    let client = HttpClient::new(&ClientSettings {
        timeout: Duration::from_secs(5),
        tls: TlsSettings::default(),
        idle_per_host: gleaner_api::http_client::DEFAULT_IDLE_PER_HOST,
    })
    .map_err(|e| TopError::Fetch {
        url: url.clone(),
        reason: e.to_string(),
    })?;
    let fetch = || async {
        let req = http::Request::get(uri.clone())
            .body(Full::new(Bytes::new()))
            .map_err(|e| TopError::Url {
                url: url.clone(),
                reason: e.to_string(),
            })?;
        let resp = client
            .send_with_limit(req, MAX_PAGE)
            .await
            .map_err(|e| TopError::Fetch {
                url: url.clone(),
                reason: e.to_string(),
            })?;
        if !resp.status.is_success() {
            return Err(TopError::Fetch {
                url: url.clone(),
                reason: format!("HTTP {}", resp.status),
            });
        }
        Snapshot::parse(&resp.body, std::time::Instant::now()).map_err(|reason| TopError::Page {
            url: url.clone(),
            reason,
        })
    };

    let stdout = std::io::stdout();
    let terminal = stdout.is_terminal();
    let style = table::Style {
        color: terminal && std::env::var_os("NO_COLOR").is_none(),
        redraw: terminal && !opts.once,
    };
    let mut previous = fetch().await?;
    loop {
        tokio::time::sleep(opts.interval).await;
        let current = fetch().await?;
        let text = table::render(&opts.url, &previous, &current, style);
        let mut out = stdout.lock();
        // A closed pipe (`gleaner top | head`) ends the view quietly.
        if out
            .write_all(text.as_bytes())
            .and_then(|()| out.flush())
            .is_err()
            || opts.once
        {
            return Ok(());
        }
        previous = current;
    }
}
