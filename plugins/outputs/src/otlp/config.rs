//! The `[[outputs.otlp]]` table and its validation into [`Settings`] (no I/O).

use std::path::PathBuf;

use gleaner_api::{ByteSize, ConfigError, PluginConfig, Secret};
use serde::Deserialize;

use crate::http_client::{self, ContentEncoding};
use crate::http_output::{Auth, HttpDefaults, HttpOptions, token_source};

/// The shared HTTP keys' defaults (`http_output/options.rs`): the OpenTelemetry exporters'
/// 10 s timeout, gzip as the Collector's `otlphttp` exporter sends.
pub(crate) const HTTP_DEFAULTS: HttpDefaults = HttpDefaults {
    timeout: std::time::Duration::from_secs(10),
    events_key: "batch_max_events",
    max_events: 2000,
    max_bytes: ByteSize::mib(4),
    content_encoding: Some(ContentEncoding::Gzip),
    concurrency: None,
};

/// The `[[outputs.otlp]]` table's own keys.
#[derive(Debug, PartialEq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub(crate) struct OtlpConfig {
    /// The receiver's base URL; `/v1/logs` and `/v1/metrics` are appended.
    endpoint: String,
    /// `Authorization: Bearer <token>`.
    bearer_token: Option<Secret>,
    /// A file holding the bearer token, re-read when it changes.
    bearer_token_file: Option<PathBuf>,
    /// HTTP basic auth user.
    username: Option<String>,
    /// HTTP basic auth password.
    password: Option<Secret>,
}

impl Default for OtlpConfig {
    fn default() -> Self {
        OtlpConfig {
            endpoint: "http://127.0.0.1:4318".to_owned(),
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
    pub(crate) logs_url: http::Uri,
    pub(crate) metrics_url: http::Uri,
    pub(crate) auth: Auth,
    pub(crate) http: HttpOptions,
}

impl OtlpConfig {
    /// Parses the table (its own keys and the shared HTTP ones) and validates it.
    pub(crate) fn load(cfg: &PluginConfig) -> Result<Settings, ConfigError> {
        HttpOptions::own_keys::<OtlpConfig>(cfg, &HTTP_DEFAULTS)?.validate(cfg)
    }

    pub(crate) fn validate(self, cfg: &PluginConfig) -> Result<Settings, ConfigError> {
        let base = self.endpoint.trim_end_matches('/');
        let url = |signal: &str| {
            http_client::parse_url(&format!("{base}/v1/{signal}"))
                .map_err(|e| e.at(cfg, "endpoint"))
        };
        let (logs_url, metrics_url) = (url("logs")?, url("metrics")?);
        if http_client::parse_url(&self.endpoint)
            .map_err(|e| e.at(cfg, "endpoint"))?
            .query()
            .is_some()
        {
            return Err(cfg.error_at("endpoint", "the endpoint takes no query string"));
        }
        let bearer = token_source(
            cfg,
            ("bearer_token", self.bearer_token),
            ("bearer_token_file", self.bearer_token_file),
        );
        let auth = match (bearer, self.username) {
            (Err(e), _) => return Err(e),
            (Ok(Some(_)), Some(_)) => {
                return Err(cfg.error_at(
                    "username",
                    "basic auth and a bearer token exclude each other",
                ));
            }
            (Ok(Some(secret)), None) => Auth::Token {
                scheme: "Bearer",
                what: "bearer token",
                secret,
            },
            (Ok(None), Some(username)) => {
                Auth::basic(&username, self.password.as_ref().map_or("", |p| p.expose()))
            }
            (Ok(None), None) => {
                if self.password.is_some() {
                    return Err(cfg.error_at("password", "`password` needs `username`"));
                }
                Auth::None
            }
        };
        Ok(Settings {
            logs_url,
            metrics_url,
            auth,
            http: HttpOptions::parse(cfg, &HTTP_DEFAULTS)?,
        })
    }
}
