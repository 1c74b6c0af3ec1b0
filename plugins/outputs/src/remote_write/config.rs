//! The `[[outputs.remote_write]]` table and its validation into [`Settings`] (no I/O).

use std::path::PathBuf;

use gleaner_api::{ByteSize, ConfigError, PluginConfig, Secret};
use serde::Deserialize;

use crate::http_client;
use crate::http_output::{Auth, HttpDefaults, HttpOptions, bearer_or_basic};

/// The shared HTTP keys' defaults (`timeout`, `max_samples_per_request`, `batch_max_bytes`,
/// `headers`, TLS: `http_output/options.rs`); the body is always snappy.
pub(crate) const HTTP_DEFAULTS: HttpDefaults = HttpDefaults {
    timeout: std::time::Duration::from_secs(30),
    events_key: "max_samples_per_request",
    max_events: 2000,
    max_bytes: ByteSize::mib(4),
    content_encoding: None,
    concurrency: None,
};

/// The `[[outputs.remote_write]]` table's own keys.
#[derive(Debug, PartialEq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub(crate) struct RemoteWriteConfig {
    /// The receiver's write URL (Prometheus: `http://host:9090/api/v1/write`).
    url: String,
    /// Send each family's type as `MetricMetadata`.
    metadata: bool,
    /// `Authorization: Bearer <token>`.
    bearer_token: Option<Secret>,
    /// A file holding the bearer token, re-read when it changes.
    bearer_token_file: Option<PathBuf>,
    /// HTTP basic auth user.
    username: Option<String>,
    /// HTTP basic auth password.
    password: Option<Secret>,
}

impl Default for RemoteWriteConfig {
    fn default() -> Self {
        RemoteWriteConfig {
            url: "http://127.0.0.1:9090/api/v1/write".to_owned(),
            metadata: false,
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
    pub(crate) metadata: bool,
    pub(crate) auth: Auth,
    pub(crate) http: HttpOptions,
}

impl RemoteWriteConfig {
    /// Parses the table (its own keys and the shared HTTP ones) and validates it.
    pub(crate) fn load(cfg: &PluginConfig) -> Result<Settings, ConfigError> {
        HttpOptions::own_keys::<RemoteWriteConfig>(cfg, &HTTP_DEFAULTS)?.validate(cfg)
    }

    pub(crate) fn validate(self, cfg: &PluginConfig) -> Result<Settings, ConfigError> {
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
            metadata: self.metadata,
            auth,
            http: HttpOptions::parse(cfg, &HTTP_DEFAULTS)?,
        })
    }
}
