//! The `[[outputs.http]]` table and its validation into [`Settings`] (no I/O).

use std::path::PathBuf;

use gleaner_api::{ByteSize, ConfigError, PluginConfig, Secret};
use serde::Deserialize;

use crate::http_client::{self, ContentEncoding};
use crate::http_output::{Auth, HttpDefaults, HttpOptions, bearer_or_basic};

/// The shared HTTP keys' defaults (`timeout`, `batch_max_events`, `batch_max_bytes`,
/// `content_encoding`, `headers`, TLS: `http_output/options.rs`).
pub(crate) const HTTP_DEFAULTS: HttpDefaults = HttpDefaults {
    timeout: std::time::Duration::from_secs(30),
    events_key: "batch_max_events",
    max_events: 1000,
    max_bytes: ByteSize::mib(1),
    content_encoding: Some(ContentEncoding::Identity),
    concurrency: Some(crate::http_output::DEFAULT_CONCURRENCY),
};

/// How a request's events are written.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize)]
#[serde(rename_all = "snake_case")]
pub(crate) enum Format {
    /// One JSON object per line (`application/x-ndjson`).
    #[default]
    Ndjson,
    /// One JSON array of the objects (`application/json`).
    JsonArray,
    /// InfluxDB line protocol (`text/plain`).
    Influx,
}

impl Format {
    /// The request's `Content-Type`.
    pub(crate) fn content_type(self) -> &'static str {
        match self {
            Format::Ndjson => "application/x-ndjson",
            Format::JsonArray => "application/json",
            Format::Influx => "text/plain; charset=utf-8",
        }
    }
}

/// The `[[outputs.http]]` table's own keys.
#[derive(Debug, PartialEq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub(crate) struct HttpConfig {
    /// Where batches are posted.
    url: String,
    /// `ndjson`, `json_array` or `influx`.
    format: Format,
    /// `Authorization: Bearer <token>`.
    bearer_token: Option<Secret>,
    /// A file holding the bearer token, re-read when it changes.
    bearer_token_file: Option<PathBuf>,
    /// HTTP basic auth user.
    username: Option<String>,
    /// HTTP basic auth password.
    password: Option<Secret>,
}

/// Default of `url`.
pub(crate) const DEFAULT_URL: &str = "http://127.0.0.1:8080/ingest";

impl Default for HttpConfig {
    fn default() -> Self {
        HttpConfig {
            url: DEFAULT_URL.to_owned(),
            format: Format::Ndjson,
            bearer_token: None,
            bearer_token_file: None,
            username: None,
            password: None,
        }
    }
}

/// The validated settings.
#[derive(Debug, Clone)]
pub(crate) struct Settings {
    pub(crate) url: http::Uri,
    pub(crate) format: Format,
    pub(crate) auth: Auth,
    pub(crate) http: HttpOptions,
}

impl HttpConfig {
    /// Parses the table (its own keys and the shared HTTP ones) and validates it.
    pub(crate) fn load(cfg: &PluginConfig) -> Result<Settings, ConfigError> {
        HttpOptions::own_keys::<HttpConfig>(cfg, &HTTP_DEFAULTS)?.validate(cfg)
    }

    fn validate(self, cfg: &PluginConfig) -> Result<Settings, ConfigError> {
        let url = http_client::parse_url(&self.url).map_err(|e| e.at(cfg, "url"))?;
        let auth = bearer_or_basic(
            cfg,
            self.bearer_token,
            self.bearer_token_file,
            self.username,
            self.password,
        )?;
        Ok(Settings {
            url,
            format: self.format,
            auth,
            http: HttpOptions::parse(cfg, &HTTP_DEFAULTS)?,
        })
    }
}
