//! The `[[outputs.splunk_hec]]` table and its validation into [`Settings`] (no I/O).

use std::path::PathBuf;

use gleaner_api::{ByteSize, ConfigError, Duration, PluginConfig, Secret};
use serde::Deserialize;

use super::ack::{self, AckSettings};
use super::encode::Envelope;
use crate::attr_glob::AttrGlobs;
use crate::http_client::{self, ContentEncoding, SecretSource};
use crate::http_output::{HttpDefaults, HttpOptions, token_source};

/// The shared HTTP keys' defaults (`timeout`, `batch_max_events`, `batch_max_bytes`,
/// `content_encoding`, `headers`, TLS: `http_output/options.rs`).
pub(crate) const HTTP_DEFAULTS: HttpDefaults = HttpDefaults {
    timeout: std::time::Duration::from_secs(30),
    events_key: "batch_max_events",
    max_events: 10_000,
    max_bytes: ByteSize::mib(1),
    content_encoding: Some(ContentEncoding::Gzip),
    concurrency: Some(crate::http_output::DEFAULT_CONCURRENCY),
};

/// The `[[outputs.splunk_hec]]` table's own keys.
#[derive(Debug, PartialEq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub(crate) struct HecConfig {
    /// Base URL of the collector (`https://splunk:8088`); `/services/collector/event` is
    /// appended to its path.
    endpoint: String,
    /// The HEC token (`Authorization: Splunk <token>`).
    token: Option<Secret>,
    /// A file holding the token, re-read when it changes.
    token_file: Option<PathBuf>,
    /// Index (must be allowed for the token; a metrics index for metrics).
    index: Option<String>,
    /// Source; default: the record's `file` attribute.
    source: Option<String>,
    /// Sourcetype.
    sourcetype: Option<String>,
    /// Host; default: the agent's host name; "" leaves it to Splunk.
    host: Option<String>,
    /// Log attributes sent as indexed fields (globs; `stream` selects the stream).
    fields: Vec<String>,
    /// Indexer acknowledgement: a request is delivered only once HEC acknowledges it.
    ack: bool,
    /// Longest wait for an acknowledgement before the request is sent again.
    ack_timeout: Duration,
    /// Pause between two polls of `/services/collector/ack`.
    ack_poll_interval: Duration,
    /// The channel GUID (`X-Splunk-Request-Channel`); default: a random one per output.
    channel: Option<String>,
}

impl Default for HecConfig {
    fn default() -> Self {
        HecConfig {
            endpoint: "https://127.0.0.1:8088".to_owned(),
            token: None,
            token_file: None,
            index: None,
            source: None,
            sourcetype: None,
            host: None,
            fields: vec!["k8s.*".to_owned()],
            ack: false,
            ack_timeout: Duration::from_secs(60),
            ack_poll_interval: Duration::from_secs(1),
            channel: None,
        }
    }
}

/// The validated settings.
#[derive(Debug, Clone)]
pub(crate) struct Settings {
    pub(crate) url: http::Uri,
    pub(crate) token: SecretSource,
    pub(crate) envelope: Envelope,
    pub(crate) fields: AttrGlobs,
    /// `/services/collector/ack` on the same base.
    pub(crate) ack_url: http::Uri,
    /// Set when `ack = true`.
    pub(crate) ack: Option<AckSettings>,
    /// The channel sent with every request (set when `ack = true` or `channel` is given).
    pub(crate) channel: Option<http::HeaderValue>,
    pub(crate) http: HttpOptions,
}

impl HecConfig {
    /// Parses the table (its own keys and the shared HTTP ones) and validates it.
    pub(crate) fn load(cfg: &PluginConfig, hostname: &str) -> Result<Settings, ConfigError> {
        HttpOptions::own_keys::<HecConfig>(cfg, &HTTP_DEFAULTS)?.validate(cfg, hostname)
    }

    pub(crate) fn validate(
        self,
        cfg: &PluginConfig,
        hostname: &str,
    ) -> Result<Settings, ConfigError> {
        let base = http_client::parse_url(&self.endpoint).map_err(|e| e.at(cfg, "endpoint"))?;
        let path = http_client::join_path(&base, "/services/collector/event");
        let url = http_client::with_path(&base, &path, "");
        let ack_path = http_client::join_path(&base, "/services/collector/ack");
        let ack_url = http_client::with_path(&base, &ack_path, "");
        let token = token_source(cfg, ("token", self.token), ("token_file", self.token_file))?
            .ok_or_else(|| {
                cfg.error_at("token", "a HEC token is required")
                    .with_hint("token = \"${SPLUNK_HEC_TOKEN}\", or token_file = \"/path\"")
            })?;
        let nonempty = |key: &str, v: Option<String>| match v {
            Some(s) if s.is_empty() => Err(cfg.error_at(key, format!("`{key}` may not be empty"))),
            other => Ok(other),
        };
        let envelope = Envelope {
            host: match self.host {
                None => Some(hostname.to_owned()).filter(|h| !h.is_empty()),
                Some(h) if h.is_empty() => None,
                Some(h) => Some(h),
            },
            source: nonempty("source", self.source)?,
            sourcetype: nonempty("sourcetype", self.sourcetype)?,
            index: nonempty("index", self.index)?,
        };
        let http = HttpOptions::parse(cfg, &HTTP_DEFAULTS)?;
        let headers = &http.headers;
        if headers
            .iter()
            .any(|(k, _)| k == http::header::AUTHORIZATION)
        {
            return Err(cfg.error_at(
                "headers",
                "the token sets Authorization; give it as `token`",
            ));
        }
        if headers
            .iter()
            .any(|(k, _)| k.as_str() == "x-splunk-request-channel")
        {
            return Err(cfg.error_at("headers", "give the channel as `channel`"));
        }
        if self.ack_timeout.get().is_zero() {
            return Err(cfg.error_at("ack_timeout", "must be above 0s"));
        }
        if self.ack_poll_interval.get().is_zero() {
            return Err(cfg.error_at("ack_poll_interval", "must be above 0s"));
        }
        if self.ack_poll_interval.get() > self.ack_timeout.get() {
            return Err(cfg.error_at("ack_poll_interval", "must not exceed `ack_timeout`"));
        }
        if let Some(c) = &self.channel
            && !ack::is_guid(c)
        {
            return Err(cfg
                .error_at("channel", "`channel` must be a GUID")
                .with_hint("channel = \"0f8c2e4a-1b2c-4d5e-8f90-a1b2c3d4e5f6\", or leave it unset for a random one"));
        }
        let channel = match (self.channel, self.ack) {
            (Some(c), _) => Some(c),
            (None, true) => Some(ack::new_channel()),
            (None, false) => None,
        };
        let channel = match channel {
            Some(c) => Some(
                http::HeaderValue::from_str(&c)
                    .map_err(|_| cfg.error_at("channel", "`channel` must be a GUID"))?,
            ),
            None => None,
        };
        let ack = self.ack.then(|| AckSettings {
            timeout: self.ack_timeout.get(),
            poll_interval: self.ack_poll_interval.get(),
        });
        Ok(Settings {
            url,
            token,
            envelope,
            fields: AttrGlobs::new(self.fields),
            ack_url,
            ack,
            channel,
            http,
        })
    }
}
