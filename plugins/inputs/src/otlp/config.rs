//! `[[inputs.otlp]]`: the table users write and its validation into [`Settings`] (no I/O).

use std::net::SocketAddr;

use gleaner_api::{ByteSize, ConfigError, Duration, PluginConfig};
use serde::Deserialize;

/// `[[inputs.otlp]]` as written.
#[derive(Debug, PartialEq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub(crate) struct OtlpConfig {
    /// Address to listen on (`host:port`, host an IP address): OTLP/HTTP's `/v1/logs` and
    /// `/v1/metrics`.
    listen: String,
    /// Largest accepted request body, after gzip decompression; larger ones get 413. Also
    /// the memory for the bodies of all requests being read at once.
    max_body_size: ByteSize,
    /// Time allowed to receive a request's headers, then its body.
    read_timeout: Duration,
    /// Time a request may wait for the pipeline to take its events and for every output's
    /// buffer to acknowledge them; then 503 with Retry-After (the sender retries).
    write_timeout: Duration,
}

/// Default of `listen` (OTLP/HTTP's port, on the loopback only).
pub(crate) const DEFAULT_LISTEN: &str = "127.0.0.1:4318";

impl Default for OtlpConfig {
    fn default() -> Self {
        OtlpConfig {
            listen: DEFAULT_LISTEN.to_owned(),
            max_body_size: ByteSize::mib(16),
            read_timeout: Duration::from_secs(10),
            write_timeout: Duration::from_secs(10),
        }
    }
}

/// The validated configuration.
#[derive(Debug, Clone)]
pub(crate) struct Settings {
    pub(crate) listen: SocketAddr,
    pub(crate) max_body_size: u64,
    pub(crate) read_timeout: std::time::Duration,
    pub(crate) write_timeout: std::time::Duration,
}

/// Parses and validates the plugin's table.
pub(crate) fn parse(cfg: &PluginConfig) -> Result<Settings, ConfigError> {
    let raw: OtlpConfig = cfg.parse()?;
    let listen: SocketAddr = raw.listen.parse().map_err(|_| {
        cfg.error_at("listen", format!("invalid listen address {:?}", raw.listen))
            .with_hint("write an IP address and a port, like \"127.0.0.1:4318\"")
    })?;
    if raw.max_body_size.get() == 0 {
        return Err(cfg.error_at("max_body_size", "max_body_size must be greater than 0"));
    }
    for (key, d) in [
        ("read_timeout", raw.read_timeout),
        ("write_timeout", raw.write_timeout),
    ] {
        if d.get().is_zero() {
            return Err(cfg.error_at(key, format!("{key} must be greater than 0")));
        }
    }
    Ok(Settings {
        listen,
        max_body_size: raw.max_body_size.get(),
        read_timeout: raw.read_timeout.get(),
        write_timeout: raw.write_timeout.get(),
    })
}
