//! The `[[inputs.prometheus]]` table and its validation into [`Settings`] (no I/O: the HTTP
//! client, which reads CA and certificate files, is made on the first scrape).

use std::collections::BTreeMap;
use std::path::PathBuf;

use gleaner_api::glob::Glob;
use gleaner_api::http_client::{self, SecretSource, TlsSettings};
use gleaner_api::{ByteSize, ConfigError, Duration, PluginConfig, Secret};
use serde::Deserialize;

use super::discovery::KubernetesSd;
use super::parse::Format;
use super::shard::Shard;
use super::target::Target;

/// The timeout when none is given and the interval allows it.
const DEFAULT_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(10);

/// The `[[inputs.prometheus]]` table (`interval` is the shared key).
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub(super) struct PrometheusConfig {
    /// Static targets: full URLs of metrics pages.
    urls: Vec<String>,
    /// The `job` label of every series and of the synthetic ones.
    job: String,
    /// Extra target labels, added to every series of these targets.
    labels: BTreeMap<String, String>,
    /// Per-scrape timeout; must be below the interval. Default 10s, or 90% of a shorter
    /// interval (as Prometheus caps its default at the interval).
    timeout: Option<Duration>,
    /// On a clash, keep the page's label (true) or rename it `exported_<name>` (false).
    honor_labels: bool,
    /// Use timestamps written in the page (true) or the scrape time (false).
    honor_timestamps: bool,
    /// Metric name globs to keep (empty: all).
    keep: Vec<String>,
    /// Metric name globs to drop (after `keep`).
    drop: Vec<String>,
    /// Samples per scrape (after keep/drop) beyond which the scrape fails; 0: no limit.
    sample_limit: usize,
    /// Labels per series (with `__name__` and target labels) beyond which the scrape
    /// fails; 0: no limit.
    label_limit: usize,
    /// Largest (uncompressed) page.
    body_size_limit: ByteSize,
    /// The parser for pages whose `Content-Type` names no format we read.
    fallback_format: FallbackFormat,
    /// Targets scraped at once.
    max_concurrent_scrapes: usize,
    /// This replica's share of the targets (standalone poller).
    shard: Option<Shard>,
    /// Kubernetes service discovery.
    kubernetes: Option<KubernetesSd>,
    /// `Authorization: Bearer <file content>`, re-read when the file changes.
    bearer_token_file: Option<PathBuf>,
    /// HTTP basic auth user.
    username: Option<String>,
    /// HTTP basic auth password.
    password: Option<Secret>,
    /// PEM CA certificates trusted in addition to the system and built-in roots.
    ca_file: Option<PathBuf>,
    /// PEM client certificate (mutual TLS).
    cert_file: Option<PathBuf>,
    /// PEM client key.
    key_file: Option<PathBuf>,
    /// Accept any server certificate.
    insecure_skip_verify: bool,
}

/// `fallback_format`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
enum FallbackFormat {
    /// Text 0.0.4 (what Prometheus 2 assumed).
    Text,
    /// OpenMetrics 1.0.
    OpenMetrics,
}

impl Default for PrometheusConfig {
    fn default() -> Self {
        PrometheusConfig {
            urls: Vec::new(),
            job: "prometheus".to_owned(),
            labels: BTreeMap::new(),
            timeout: None,
            honor_labels: false,
            honor_timestamps: true,
            keep: Vec::new(),
            drop: Vec::new(),
            sample_limit: 0,
            label_limit: 0,
            body_size_limit: ByteSize::mib(64),
            fallback_format: FallbackFormat::Text,
            max_concurrent_scrapes: 64,
            shard: None,
            kubernetes: None,
            bearer_token_file: None,
            username: None,
            password: None,
            ca_file: None,
            cert_file: None,
            key_file: None,
            insecure_skip_verify: false,
        }
    }
}

/// How scrapes authenticate.
#[derive(Debug, Clone)]
pub(super) enum Auth {
    None,
    Bearer(SecretSource),
    Basic { username: String, password: Secret },
}

/// Which metric names are kept.
#[derive(Debug, Clone, Default)]
pub(super) struct NameFilter {
    keep: Vec<Glob>,
    drop: Vec<Glob>,
}

impl NameFilter {
    /// True when `name` passes `keep` (if any) and no `drop`.
    pub(super) fn passes(&self, name: &str) -> bool {
        (self.keep.is_empty() || self.keep.iter().any(|g| g.matches(name)))
            && !self.drop.iter().any(|g| g.matches(name))
    }
}

/// The validated settings.
#[derive(Debug, Clone)]
pub(super) struct Settings {
    pub(super) targets: Vec<Target>,
    pub(super) interval: std::time::Duration,
    pub(super) timeout: std::time::Duration,
    pub(super) honor_labels: bool,
    pub(super) honor_timestamps: bool,
    pub(super) names: NameFilter,
    pub(super) sample_limit: usize,
    pub(super) label_limit: usize,
    pub(super) body_size_limit: usize,
    pub(super) fallback: Format,
    pub(super) max_concurrent: usize,
    pub(super) shard: Option<Shard>,
    /// Kubernetes discovery, checked by the input's build (it needs the host name).
    pub(super) kubernetes: Option<KubernetesSd>,
    /// The `job` label.
    pub(super) job: String,
    /// The `labels` table, as target labels.
    pub(super) extra: Vec<(String, String)>,
    pub(super) auth: Auth,
    pub(super) tls: TlsSettings,
}

impl PrometheusConfig {
    /// Checks every key; `interval` is the input's effective interval.
    pub(super) fn validate(
        self,
        cfg: &PluginConfig,
        interval: std::time::Duration,
    ) -> Result<Settings, ConfigError> {
        let timeout = cfg.gather_timeout("timeout", self.timeout, DEFAULT_TIMEOUT, interval)?;
        if self.job.is_empty() {
            return Err(cfg.error_at("job", "`job` must not be empty"));
        }
        let mut extra = Vec::with_capacity(self.labels.len());
        for (k, v) in self.labels {
            if !is_label_name(&k) || k.starts_with("__") || k == "job" || k == "instance" {
                return Err(cfg.error_at(
                    "labels",
                    format!("{k:?} cannot be a target label (Prometheus label names, not job, instance or __*)"),
                ));
            }
            extra.push((k, v));
        }
        let mut targets = Vec::with_capacity(self.urls.len());
        for u in &self.urls {
            let uri = http_client::parse_url(u).map_err(|e| e.at(cfg, "urls"))?;
            targets.push(Target::from_url(uri, &self.job, &extra));
        }
        if let Some(s) = &self.shard {
            s.validate().map_err(|m| cfg.error_at("shard", m))?;
        }
        if self.max_concurrent_scrapes == 0 {
            return Err(cfg.error_at("max_concurrent_scrapes", "must be at least 1"));
        }
        let body_size_limit = usize::try_from(self.body_size_limit.get()).unwrap_or(usize::MAX);
        if body_size_limit < 1024 {
            return Err(cfg.error_at("body_size_limit", "must be at least 1KiB"));
        }
        let auth = match (self.bearer_token_file, self.username) {
            (None, None) => {
                if self.password.is_some() {
                    return Err(cfg.error_at("password", "`password` needs `username`"));
                }
                Auth::None
            }
            (Some(path), None) => Auth::Bearer(SecretSource::file(path)),
            (None, Some(username)) => Auth::Basic {
                username,
                password: self.password.unwrap_or_default(),
            },
            (Some(_), Some(_)) => {
                return Err(cfg.error_at(
                    "username",
                    "basic auth and a bearer token exclude each other",
                ));
            }
        };
        let tls = TlsSettings {
            ca_file: self.ca_file,
            cert_file: self.cert_file,
            key_file: self.key_file,
            insecure_skip_verify: self.insecure_skip_verify,
        };
        tls.validate().map_err(|m| cfg.error_at("cert_file", m))?;
        Ok(Settings {
            targets,
            interval,
            timeout,
            honor_labels: self.honor_labels,
            honor_timestamps: self.honor_timestamps,
            names: NameFilter {
                keep: self.keep.into_iter().map(Glob::new).collect(),
                drop: self.drop.into_iter().map(Glob::new).collect(),
            },
            sample_limit: self.sample_limit,
            label_limit: self.label_limit,
            body_size_limit,
            fallback: match self.fallback_format {
                FallbackFormat::Text => Format::Text,
                FallbackFormat::OpenMetrics => Format::OpenMetrics,
            },
            max_concurrent: self.max_concurrent_scrapes,
            shard: self.shard,
            kubernetes: self.kubernetes,
            job: self.job,
            extra,
            auth,
            tls,
        })
    }
}

/// `[a-zA-Z_][a-zA-Z0-9_]*`.
pub(super) fn is_label_name(s: &str) -> bool {
    let b = s.as_bytes();
    !b.is_empty()
        && (b[0].is_ascii_alphabetic() || b[0] == b'_')
        && b.iter().all(|c| c.is_ascii_alphanumeric() || *c == b'_')
}
