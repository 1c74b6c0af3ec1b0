//! The `[[outputs.remote_write]]` table and its validation into [`Settings`] (no I/O).

use std::collections::BTreeMap;
use std::path::PathBuf;

use gleaner_api::{ByteSize, ConfigError, Duration, PluginConfig, Secret};
use serde::Deserialize;

use crate::http_client::{self, SecretSource, TlsSettings};

/// The `[[outputs.remote_write]]` table.
#[derive(Debug, PartialEq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub(crate) struct RemoteWriteConfig {
    /// The receiver's write URL (Prometheus: `http://host:9090/api/v1/write`).
    url: String,
    /// Per-request timeout.
    timeout: Duration,
    /// Metrics per request (a Prometheus metric is one sample).
    max_samples_per_request: usize,
    /// Uncompressed protobuf bytes per request.
    batch_max_bytes: ByteSize,
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
    /// Extra HTTP headers (the remote-write headers themselves cannot be overridden).
    headers: BTreeMap<String, String>,
    /// PEM CA certificates trusted in addition to the system and built-in roots.
    ca_file: Option<PathBuf>,
    /// PEM client certificate (mutual TLS).
    cert_file: Option<PathBuf>,
    /// PEM client key.
    key_file: Option<PathBuf>,
    /// Accept any server certificate.
    insecure_skip_verify: bool,
}

impl Default for RemoteWriteConfig {
    fn default() -> Self {
        RemoteWriteConfig {
            url: "http://127.0.0.1:9090/api/v1/write".to_owned(),
            timeout: Duration::from_secs(30),
            max_samples_per_request: 2000,
            batch_max_bytes: ByteSize::mib(4),
            metadata: false,
            bearer_token: None,
            bearer_token_file: None,
            username: None,
            password: None,
            headers: BTreeMap::new(),
            ca_file: None,
            cert_file: None,
            key_file: None,
            insecure_skip_verify: false,
        }
    }
}

/// How requests authenticate.
#[derive(Debug, Clone)]
pub(crate) enum Auth {
    None,
    Bearer(SecretSource),
    Basic { username: String, password: Secret },
}

/// The validated settings.
#[derive(Debug, Clone)]
pub(crate) struct Settings {
    pub(crate) url: http::Uri,
    pub(crate) timeout: std::time::Duration,
    pub(crate) max_samples: usize,
    pub(crate) max_bytes: usize,
    pub(crate) metadata: bool,
    pub(crate) auth: Auth,
    pub(crate) headers: Vec<(http::HeaderName, http::HeaderValue)>,
    pub(crate) tls: TlsSettings,
}

impl RemoteWriteConfig {
    pub(crate) fn validate(self, cfg: &PluginConfig) -> Result<Settings, ConfigError> {
        let url = http_client::parse_url(&self.url).map_err(|e| e.at(cfg, "url"))?;
        let auth = match (self.bearer_token, self.bearer_token_file, self.username) {
            (None, None, None) => {
                if self.password.is_some() {
                    return Err(cfg.error_at("password", "`password` needs `username`"));
                }
                Auth::None
            }
            (Some(t), None, None) => {
                check_header_text(cfg, "bearer_token", t.expose())?;
                Auth::Bearer(SecretSource::Inline(t))
            }
            (None, Some(path), None) => Auth::Bearer(SecretSource::file(path)),
            (None, None, Some(username)) => Auth::Basic {
                username,
                password: self.password.unwrap_or_default(),
            },
            (Some(_), Some(_), _) => {
                return Err(cfg.error_at(
                    "bearer_token_file",
                    "give `bearer_token` or `bearer_token_file`, not both",
                ));
            }
            (_, _, Some(_)) => {
                return Err(cfg.error_at(
                    "username",
                    "basic auth and a bearer token exclude each other",
                ));
            }
        };
        if self.max_samples_per_request == 0 {
            return Err(cfg.error_at("max_samples_per_request", "must be at least 1"));
        }
        if self.batch_max_bytes.get() < 1024 {
            return Err(cfg.error_at("batch_max_bytes", "must be at least 1KiB"));
        }
        if self.timeout.get().is_zero() {
            return Err(cfg.error_at("timeout", "must be above 0s"));
        }
        let headers =
            http_client::parse_headers(&self.headers).map_err(|m| cfg.error_at("headers", m))?;
        let tls = TlsSettings {
            ca_file: self.ca_file,
            cert_file: self.cert_file,
            key_file: self.key_file,
            insecure_skip_verify: self.insecure_skip_verify,
        };
        tls.validate().map_err(|m| cfg.error_at("cert_file", m))?;
        Ok(Settings {
            url,
            timeout: self.timeout.get(),
            max_samples: self.max_samples_per_request,
            max_bytes: usize::try_from(self.batch_max_bytes.get()).unwrap_or(usize::MAX),
            metadata: self.metadata,
            auth,
            headers,
            tls,
        })
    }
}

/// A secret that goes into a header must be valid header text.
pub(crate) fn check_header_text(
    cfg: &PluginConfig,
    key: &str,
    value: &str,
) -> Result<(), ConfigError> {
    if value.is_empty() || http_client::sensitive_header(value).is_none() {
        return Err(cfg.error_at(
            key,
            format!("`{key}` is empty or holds characters a header cannot carry"),
        ));
    }
    Ok(())
}
