//! The `[[outputs.splunk_hec]]` table and its validation into [`Settings`] (no I/O).

use std::collections::BTreeMap;
use std::path::PathBuf;

use gleaner_api::{ByteSize, ConfigError, Duration, PluginConfig, Secret};
use serde::Deserialize;

use super::ack::{self, AckSettings};
use super::encode::Envelope;
use crate::attr_glob::AttrGlobs;
use crate::http_client::{self, ContentEncoding, SecretSource, TlsSettings};

/// The `[[outputs.splunk_hec]]` table.
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
    /// "gzip" or "identity".
    content_encoding: ContentEncoding,
    /// Per-request timeout.
    timeout: Duration,
    /// Events per request.
    batch_max_events: usize,
    /// Uncompressed bytes per request.
    batch_max_bytes: ByteSize,
    /// Extra HTTP headers.
    headers: BTreeMap<String, String>,
    /// PEM CA certificates trusted in addition to the system and built-in roots.
    ca_file: Option<PathBuf>,
    /// PEM client certificate (mutual TLS).
    cert_file: Option<PathBuf>,
    /// PEM client key.
    key_file: Option<PathBuf>,
    /// Accept any server certificate (Splunk's default self-signed certificate).
    insecure_skip_verify: bool,
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
            content_encoding: ContentEncoding::Gzip,
            timeout: Duration::from_secs(30),
            batch_max_events: 10_000,
            batch_max_bytes: ByteSize::mib(1),
            headers: BTreeMap::new(),
            ca_file: None,
            cert_file: None,
            key_file: None,
            insecure_skip_verify: false,
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
    pub(crate) gzip: bool,
    pub(crate) timeout: std::time::Duration,
    pub(crate) max_events: usize,
    pub(crate) max_bytes: usize,
    pub(crate) headers: Vec<(http::HeaderName, http::HeaderValue)>,
    pub(crate) tls: TlsSettings,
    /// `/services/collector/ack` on the same base.
    pub(crate) ack_url: http::Uri,
    /// Set when `ack = true`.
    pub(crate) ack: Option<AckSettings>,
    /// The channel sent with every request (set when `ack = true` or `channel` is given).
    pub(crate) channel: Option<http::HeaderValue>,
}

impl HecConfig {
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
        let token = match (self.token, self.token_file) {
            (Some(t), None) => {
                if t.expose().is_empty()
                    || http_client::sensitive_header(&format!("Splunk {}", t.expose())).is_none()
                {
                    return Err(cfg.error_at(
                        "token",
                        "`token` is empty or holds characters a header cannot carry",
                    ));
                }
                SecretSource::Inline(t)
            }
            (None, Some(path)) => SecretSource::file(path),
            (Some(_), Some(_)) => {
                return Err(cfg.error_at("token_file", "give `token` or `token_file`, not both"));
            }
            (None, None) => {
                return Err(cfg
                    .error_at("token", "a HEC token is required")
                    .with_hint("token = \"${SPLUNK_HEC_TOKEN}\", or token_file = \"/path\""));
            }
        };
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
        if self.batch_max_events == 0 {
            return Err(cfg.error_at("batch_max_events", "must be at least 1"));
        }
        if self.batch_max_bytes.get() < 1024 {
            return Err(cfg.error_at("batch_max_bytes", "must be at least 1KiB"));
        }
        if self.timeout.get().is_zero() {
            return Err(cfg.error_at("timeout", "must be above 0s"));
        }
        let headers =
            http_client::parse_headers(&self.headers).map_err(|m| cfg.error_at("headers", m))?;
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
        let tls = TlsSettings {
            ca_file: self.ca_file,
            cert_file: self.cert_file,
            key_file: self.key_file,
            insecure_skip_verify: self.insecure_skip_verify,
        };
        tls.validate().map_err(|m| cfg.error_at("cert_file", m))?;
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
            gzip: self.content_encoding == ContentEncoding::Gzip,
            timeout: self.timeout.get(),
            max_events: self.batch_max_events,
            max_bytes: usize::try_from(self.batch_max_bytes.get()).unwrap_or(usize::MAX),
            headers,
            tls,
            ack_url,
            ack,
            channel,
        })
    }
}
