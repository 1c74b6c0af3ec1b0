//! The keys every HTTP output takes, their defaults per output, and their one validation.
//!
//! An output's table holds its own keys and these together; [`HttpOptions::parse`] reads
//! these (with [`PluginConfig::only`]) and [`HttpOptions::own_keys`] gives the output the rest
//! (with [`PluginConfig::without`]), so that the output's struct still refuses unknown keys,
//! and names these among the valid ones when a key is misspelt.

use std::collections::BTreeMap;
use std::path::PathBuf;

use gleaner_api::{BatchLimits, ByteSize, ConfigError, Duration, PluginConfig};
use serde::Deserialize;
use serde::de::DeserializeOwned;

use crate::http_client::{self, ClientSettings, ContentEncoding, TlsSettings};

/// One output's defaults for the shared keys, and which of them it offers.
#[derive(Debug, Clone, Copy)]
pub(crate) struct HttpDefaults {
    /// `timeout`.
    pub(crate) timeout: std::time::Duration,
    /// The events-per-request key: `batch_max_events`, or `max_samples_per_request`
    /// (remote_write).
    pub(crate) events_key: &'static str,
    /// Its default.
    pub(crate) max_events: usize,
    /// `batch_max_bytes`.
    pub(crate) max_bytes: ByteSize,
    /// `content_encoding` with its default; `None` when the protocol fixes the encoding
    /// (remote_write: snappy) and the key is not offered.
    pub(crate) content_encoding: Option<ContentEncoding>,
    /// `concurrency` with its default; `None` when requests must arrive in order
    /// (remote_write: Prometheus refuses a series' samples older than its newest) and the key
    /// is not offered.
    pub(crate) concurrency: Option<usize>,
}

/// The default `concurrency` of the outputs that offer it: requests in flight per output.
/// Sixteen keep a 50 ms round trip from bounding throughput (a 1 MiB request every 3 ms,
/// about 300 MB/s of HEC JSON: the `slow-receiver` bench within 2x of `logs-hec`, where four
/// took 2.4x to 2.7x). A request in flight holds only its gzipped body (about a tenth of
/// `batch_max_bytes` for logs) and, from a disk buffer, no decoded events, so sixteen cost no
/// measurable peak RSS against four; Fluent Bit's `workers` default is 2 and Vector's
/// adaptive concurrency starts at 1 and grows to 200.
pub(crate) const DEFAULT_CONCURRENCY: usize = 16;

/// The largest `concurrency` accepted.
const MAX_CONCURRENCY: usize = 64;

/// The shared keys as written (all optional: the defaults come from [`HttpDefaults`]).
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct HttpKeys {
    /// Per-request timeout.
    timeout: Option<Duration>,
    /// Events per request.
    batch_max_events: Option<usize>,
    /// Events (samples) per request, remote_write's name.
    max_samples_per_request: Option<usize>,
    /// Uncompressed bytes per request.
    batch_max_bytes: Option<ByteSize>,
    /// "gzip" or "identity".
    content_encoding: Option<ContentEncoding>,
    /// Deflate level of gzip bodies, 0 (stored) to 9.
    compression_level: Option<u32>,
    /// Requests in flight at once.
    concurrency: Option<usize>,
    /// Extra HTTP headers.
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

/// The shared keys, validated.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct HttpOptions {
    /// Timeout and TLS of the client.
    pub(crate) client: ClientSettings,
    /// Extra headers (the protocol's own cannot be among them).
    pub(crate) headers: Vec<(http::HeaderName, http::HeaderValue)>,
    /// The deflate level when request bodies are gzipped (`content_encoding = "gzip"`,
    /// `compression_level`); `None`: sent as they are.
    pub(crate) gzip: Option<u32>,
    /// Events and uncompressed bytes per request.
    pub(crate) limits: BatchLimits,
    /// Requests in flight at once (1 where the key is not offered).
    pub(crate) concurrency: usize,
}

impl HttpDefaults {
    /// The shared keys this output offers.
    fn keys(&self) -> Vec<&'static str> {
        let mut keys = vec![
            "timeout",
            self.events_key,
            "batch_max_bytes",
            "headers",
            "ca_file",
            "cert_file",
            "key_file",
            "insecure_skip_verify",
        ];
        if self.content_encoding.is_some() {
            keys.push("content_encoding");
            keys.push("compression_level");
        }
        if self.concurrency.is_some() {
            keys.push("concurrency");
        }
        keys
    }
}

impl HttpOptions {
    /// Parses the output's own keys (everything but the shared ones) into `T`; an unknown
    /// key's error lists the shared keys among the valid ones.
    pub(crate) fn own_keys<T: DeserializeOwned>(
        cfg: &PluginConfig,
        defaults: &HttpDefaults,
    ) -> Result<T, ConfigError> {
        let keys = defaults.keys();
        cfg.without(&keys)
            .parse()
            .map_err(|e| e.with_more_keys(&keys))
    }

    /// Parses and validates the shared keys of `cfg`; errors point at the key.
    pub(crate) fn parse(
        cfg: &PluginConfig,
        defaults: &HttpDefaults,
    ) -> Result<HttpOptions, ConfigError> {
        let raw: HttpKeys = cfg.only(&defaults.keys()).parse()?;
        let max_events = raw
            .batch_max_events
            .or(raw.max_samples_per_request)
            .unwrap_or(defaults.max_events);
        if max_events == 0 {
            return Err(cfg.error_at(defaults.events_key, "must be at least 1"));
        }
        let max_bytes = raw.batch_max_bytes.unwrap_or(defaults.max_bytes);
        if max_bytes.get() < 1024 {
            return Err(cfg.error_at("batch_max_bytes", "must be at least 1KiB"));
        }
        let timeout = raw.timeout.map_or(defaults.timeout, |t| t.get());
        if timeout.is_zero() {
            return Err(cfg.error_at("timeout", "must be above 0s"));
        }
        let headers =
            http_client::parse_headers(&raw.headers).map_err(|m| cfg.error_at("headers", m))?;
        let tls = TlsSettings {
            ca_file: raw.ca_file,
            cert_file: raw.cert_file,
            key_file: raw.key_file,
            insecure_skip_verify: raw.insecure_skip_verify,
        };
        tls.validate().map_err(|m| cfg.error_at("cert_file", m))?;
        let encoding = raw.content_encoding.or(defaults.content_encoding);
        let level = raw
            .compression_level
            .unwrap_or(http_client::DEFAULT_GZIP_LEVEL);
        if level > http_client::MAX_GZIP_LEVEL {
            return Err(cfg.error_at(
                "compression_level",
                "must be 0 (stored) to 9 (smallest, slowest)",
            ));
        }
        let concurrency = raw.concurrency.or(defaults.concurrency).unwrap_or(1);
        if !(1..=MAX_CONCURRENCY).contains(&concurrency) {
            return Err(cfg.error_at(
                "concurrency",
                format!("must be from 1 to {MAX_CONCURRENCY} requests in flight"),
            ));
        }
        Ok(HttpOptions {
            client: ClientSettings {
                timeout,
                tls,
                idle_per_host: concurrency,
            },
            headers,
            gzip: (encoding == Some(ContentEncoding::Gzip)).then_some(level),
            limits: BatchLimits {
                max_events,
                max_bytes: usize::try_from(max_bytes.get()).unwrap_or(usize::MAX),
            },
            concurrency,
        })
    }
}
