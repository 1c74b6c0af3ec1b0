//! `gleaner tap <components>`: asks a running agent's `/tap` again and again and prints the
//! events it answers with, one JSON line each, until interrupted (or after one answer with
//! `--once`).

use std::io::Write;
use std::time::Duration;

use bytes::Bytes;
use gleaner_api::http_client::{ClientSettings, HttpClient, TlsSettings, parse_url, push_query};
use http_body_util::Full;

/// How `gleaner tap` runs.
#[derive(Debug, Clone)]
pub struct TapOptions {
    /// The agent's base URL (`http://127.0.0.1:8686`).
    pub url: String,
    /// Component id globs, comma-separated (`inputs.tail.*,filters.*`).
    pub components: String,
    /// Events per answer, at most.
    pub limit: usize,
    /// How long one request waits for events.
    pub wait: Duration,
    /// Print one answer and exit.
    pub once: bool,
    /// Metrics as line protocol instead of JSON lines.
    pub influx: bool,
}

/// Runs until interrupted or, with `once`, after one answer. An error names the URL and
/// what the agent said.
pub fn run_client(opts: &TapOptions) -> Result<(), String> {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| format!("cannot start: {e}"))?;
    runtime.block_on(async {
        let mut query = String::new();
        push_query(&mut query, "components", &opts.components);
        push_query(&mut query, "limit", &opts.limit.to_string());
        push_query(&mut query, "wait_ms", &opts.wait.as_millis().to_string());
        if opts.influx {
            push_query(&mut query, "format", "influx");
        }
        let url = format!("{}/tap?{query}", opts.url.trim_end_matches('/'));
        let uri = parse_url(&url).map_err(|e| format!("bad --url {:?}: {e}", opts.url))?;
        let client = HttpClient::new(&ClientSettings {
            timeout: opts.wait + Duration::from_secs(10),
            tls: TlsSettings::default(),
            idle_per_host: gleaner_api::http_client::DEFAULT_IDLE_PER_HOST,
        })
        .map_err(|e| e.to_string())?;
        let stdout = std::io::stdout();
        loop {
            let req = http::Request::get(uri.clone())
                .body(Full::new(Bytes::new()))
                .map_err(|e| e.to_string())?;
            let resp = client
                .send_with_limit(req, 64 << 20)
                .await
                .map_err(|e| format!("cannot read {url}: {e} (is the agent running there?)"))?;
            if !resp.status.is_success() {
                return Err(format!(
                    "{url}: HTTP {}: {}",
                    resp.status,
                    String::from_utf8_lossy(&resp.body).trim()
                ));
            }
            let mut out = stdout.lock();
            // A closed pipe (`gleaner tap ... | head`) ends the tap quietly.
            if out
                .write_all(&resp.body)
                .and_then(|()| out.flush())
                .is_err()
                || opts.once
            {
                return Ok(());
            }
        }
    })
}
