//! The `[[outputs.influxdb]]` table and its validation into [`Settings`] (no I/O).

use gleaner_api::line_protocol::Precision;
use gleaner_api::{ByteSize, ConfigError, PluginConfig, Secret};
use serde::Deserialize;

use crate::attr_glob::AttrGlobs;
use crate::http_client::{self, ContentEncoding};
use crate::http_output::{HttpDefaults, HttpOptions};

/// The shared HTTP keys' defaults (`timeout`, `batch_max_events`, `batch_max_bytes`,
/// `content_encoding`, `headers`, TLS: `http_output/options.rs`).
pub(crate) const HTTP_DEFAULTS: HttpDefaults = HttpDefaults {
    timeout: std::time::Duration::from_secs(5),
    events_key: "batch_max_events",
    max_events: 5000,
    max_bytes: ByteSize::mib(4),
    content_encoding: Some(ContentEncoding::Gzip),
    concurrency: Some(crate::http_output::DEFAULT_CONCURRENCY),
};

/// Which write API to speak.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize)]
#[serde(rename_all = "lowercase")]
pub(crate) enum Api {
    /// InfluxDB 1.x `POST /write?db=&rp=&precision=`.
    #[default]
    V1,
    /// InfluxDB 2.x / 3.x / Cloud `POST /api/v2/write?org=&bucket=&precision=`.
    V2,
}

/// The `[[outputs.influxdb]]` table's own keys (the shared HTTP keys are in [`HTTP_DEFAULTS`]).
#[derive(Debug, PartialEq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub(crate) struct InfluxConfig {
    /// One InfluxDB URL (`http://host:8086`); a path prefix is kept.
    url: Option<String>,
    /// Several URLs for failover: each request goes to the last one that worked, and moves on
    /// to the next when a server does not answer or answers 5xx/429.
    urls: Vec<String>,
    /// "v1" (`/write`) or "v2" (`/api/v2/write`).
    api: Api,
    /// v1: database.
    database: String,
    /// v1: retention policy ("" = the database's default).
    retention_policy: String,
    /// v1: user (HTTP basic auth).
    username: Option<String>,
    /// v1: password.
    password: Option<Secret>,
    /// v2: organization name.
    org: Option<String>,
    /// v2: bucket.
    bucket: Option<String>,
    /// v2: API token (`Authorization: Token ...`).
    token: Option<Secret>,
    /// Timestamp precision written: "ns", "us", "ms", "s" (v1 also "m", "h").
    precision: String,
    /// Write unsigned integers with the `u` suffix (InfluxDB 2.x+, or 1.x built with it);
    /// when false they are written as signed integers, clamped at 9223372036854775807.
    uint_support: bool,
    /// v1: create the database when the server says it does not exist.
    skip_database_creation: bool,
    /// Measurement of log records.
    logs_measurement: String,
    /// Log attributes written as tags (globs, `*` matches anything); the others are fields.
    logs_tag_attributes: Vec<String>,
}

impl Default for InfluxConfig {
    fn default() -> Self {
        InfluxConfig {
            url: None,
            urls: Vec::new(),
            api: Api::V1,
            database: "gleaner".to_owned(),
            retention_policy: String::new(),
            username: None,
            password: None,
            org: None,
            bucket: None,
            token: None,
            precision: "ns".to_owned(),
            uint_support: false,
            skip_database_creation: false,
            logs_measurement: "logs".to_owned(),
            logs_tag_attributes: vec!["k8s.*".to_owned()],
        }
    }
}

/// Where and how to write, validated.
#[derive(Debug, Clone)]
pub(crate) enum Target {
    /// `/write?db=&rp=` with optional basic auth.
    V1 {
        database: String,
        retention_policy: String,
        username: Option<String>,
        password: Option<Secret>,
        create_database: bool,
    },
    /// `/api/v2/write?org=&bucket=` with a token.
    V2 {
        org: String,
        bucket: String,
        token: Secret,
    },
}

/// The validated output settings.
#[derive(Debug, Clone)]
pub(crate) struct Settings {
    pub(crate) urls: Vec<http::Uri>,
    pub(crate) target: Target,
    pub(crate) precision: Precision,
    pub(crate) uint_support: bool,
    pub(crate) logs_measurement: String,
    pub(crate) logs_tags: AttrGlobs,
    pub(crate) http: HttpOptions,
}

impl InfluxConfig {
    /// Parses the table (its own keys and the shared HTTP ones) and validates it.
    pub(crate) fn load(cfg: &PluginConfig) -> Result<Settings, ConfigError> {
        HttpOptions::own_keys::<InfluxConfig>(cfg, &HTTP_DEFAULTS)?.validate(cfg)
    }

    /// Validates into [`Settings`]; errors point at the key.
    pub(crate) fn validate(self, cfg: &PluginConfig) -> Result<Settings, ConfigError> {
        let mut raw_urls = self.urls;
        match (self.url, raw_urls.is_empty()) {
            (Some(_), false) => {
                return Err(cfg
                    .error_at("urls", "give `url` or `urls`, not both")
                    .with_hint("put every server in `urls`"));
            }
            (Some(u), true) => raw_urls.push(u),
            (None, true) => raw_urls.push("http://127.0.0.1:8086".to_owned()),
            (None, false) => {}
        }
        let key = if raw_urls.len() == 1 { "url" } else { "urls" };
        let urls = raw_urls
            .iter()
            .map(|u| http_client::parse_url(u).map_err(|e| e.at(cfg, key)))
            .collect::<Result<Vec<_>, _>>()?;
        let precision = match self.api {
            Api::V1 => Precision::from_v1_param(&self.precision),
            Api::V2 => Precision::from_v2_param(&self.precision),
        }
        .map_err(|e| cfg.error_at("precision", e.to_string()))?;
        let target = match self.api {
            Api::V1 => {
                if self.database.is_empty() {
                    return Err(cfg.error_at("database", "`database` may not be empty"));
                }
                if self.password.is_some() && self.username.is_none() {
                    return Err(cfg.error_at("password", "`password` needs `username`"));
                }
                for k in ["org", "bucket", "token"] {
                    let given = match k {
                        "org" => self.org.is_some(),
                        "bucket" => self.bucket.is_some(),
                        _ => self.token.is_some(),
                    };
                    if given {
                        return Err(cfg
                            .error_at(k, format!("`{k}` is a v2 option"))
                            .with_hint("set api = \"v2\""));
                    }
                }
                Target::V1 {
                    database: self.database,
                    retention_policy: self.retention_policy,
                    username: self.username,
                    password: self.password,
                    create_database: !self.skip_database_creation,
                }
            }
            Api::V2 => {
                let org = self
                    .org
                    .filter(|s| !s.is_empty())
                    .ok_or_else(|| cfg.error_at("org", "api = \"v2\" needs `org`"))?;
                let bucket = self
                    .bucket
                    .filter(|s| !s.is_empty())
                    .ok_or_else(|| cfg.error_at("bucket", "api = \"v2\" needs `bucket`"))?;
                let token = self
                    .token
                    .filter(|s| !s.expose().is_empty())
                    .ok_or_else(|| {
                        cfg.error_at("token", "api = \"v2\" needs `token`")
                            .with_hint("token = \"${INFLUX_TOKEN}\"")
                    })?;
                if self.username.is_some() || self.password.is_some() {
                    return Err(cfg
                        .error_at("username", "`username`/`password` are v1 options")
                        .with_hint("v2 authenticates with `token`"));
                }
                Target::V2 { org, bucket, token }
            }
        };
        let http = HttpOptions::parse(cfg, &HTTP_DEFAULTS)?;
        if self.logs_measurement.is_empty() {
            return Err(cfg.error_at("logs_measurement", "may not be empty"));
        }
        Ok(Settings {
            urls,
            target,
            precision,
            uint_support: self.uint_support,
            logs_measurement: self.logs_measurement,
            logs_tags: AttrGlobs::new(self.logs_tag_attributes),
            http,
        })
    }
}
