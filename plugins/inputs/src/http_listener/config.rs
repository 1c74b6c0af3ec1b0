//! `inputs.http_listener` configuration: the serde struct users write, and its validation into
//! [`Settings`], with no I/O (`gleaner check` calls it).

use std::net::SocketAddr;

use gleaner_api::{ByteSize, ConfigError, Duration, PluginConfig, Secret};
use serde::Deserialize;

use super::auth::Credentials;

/// `[[inputs.http_listener]]` as written.
#[derive(Debug, PartialEq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub(crate) struct HttpListenerConfig {
    /// Address to listen on (`host:port`, host an IP address).
    listen: String,
    /// Largest accepted request body, after gzip decompression; larger ones get 413. Also
    /// the memory for the bodies of all writes being read at once.
    max_body_size: ByteSize,
    /// Time allowed to receive a request's headers, and then its body (waiting for room to
    /// hold it included; then 503 + Retry-After).
    read_timeout: Duration,
    /// Time a write may wait for every output to take its points (InfluxDB's
    /// `write-timeout`); then the answer is 503 with Retry-After. The points may still be
    /// delivered later, so a client that retries can cause duplicates (at-least-once).
    write_timeout: Duration,
    /// HTTP Basic user; set together with `basic_password` to require authentication.
    basic_username: Option<String>,
    /// HTTP Basic password.
    basic_password: Option<Secret>,
}

impl Default for HttpListenerConfig {
    fn default() -> Self {
        HttpListenerConfig {
            listen: DEFAULT_LISTEN.to_owned(),
            max_body_size: DEFAULT_MAX_BODY_SIZE,
            read_timeout: DEFAULT_READ_TIMEOUT,
            write_timeout: DEFAULT_WRITE_TIMEOUT,
            basic_username: None,
            basic_password: None,
        }
    }
}

/// Default of `listen`.
pub(crate) const DEFAULT_LISTEN: &str = "127.0.0.1:8186";
/// Default of `max_body_size`.
pub(crate) const DEFAULT_MAX_BODY_SIZE: ByteSize = ByteSize::mib(32);
/// Default of `read_timeout`.
pub(crate) const DEFAULT_READ_TIMEOUT: Duration = Duration::from_secs(10);

/// Default of `write_timeout`.
pub(crate) const DEFAULT_WRITE_TIMEOUT: Duration = Duration::from_secs(10);

/// The validated configuration the listener runs with.
#[derive(Debug, Clone)]
pub(crate) struct Settings {
    /// Where to bind.
    pub(crate) listen: SocketAddr,
    /// Body limit in bytes (decompressed).
    pub(crate) max_body_size: u64,
    /// Header and body read timeout.
    pub(crate) read_timeout: std::time::Duration,
    /// Wait for the outputs to take a write.
    pub(crate) write_timeout: std::time::Duration,
    /// Required credentials, if any.
    pub(crate) auth: Option<Credentials>,
}

/// Parses and validates the plugin's table.
pub(crate) fn parse(cfg: &PluginConfig) -> Result<Settings, ConfigError> {
    let raw: HttpListenerConfig = cfg.parse()?;
    let listen: SocketAddr = raw.listen.parse().map_err(|_| {
        cfg.error_at("listen", format!("invalid listen address {:?}", raw.listen))
            .with_hint(
                "write an IP address and a port, like \"127.0.0.1:8186\" or \"0.0.0.0:8186\"",
            )
    })?;
    if raw.max_body_size.get() == 0 {
        return Err(cfg.error_at("max_body_size", "max_body_size must be greater than 0"));
    }
    if raw.write_timeout.get().is_zero() {
        return Err(cfg.error_at("write_timeout", "write_timeout must be greater than 0"));
    }
    if raw.read_timeout.get().is_zero() {
        return Err(cfg.error_at("read_timeout", "read_timeout must be greater than 0"));
    }
    let auth = match (raw.basic_username, raw.basic_password) {
        (None, None) => None,
        (Some(user), Some(password)) => Some(Credentials::new(user, password)),
        (Some(_), None) => {
            return Err(cfg
                .error_at(
                    "basic_username",
                    "basic_username is set but basic_password is not",
                )
                .with_hint("set both to require authentication, or neither"));
        }
        (None, Some(_)) => {
            return Err(cfg
                .error_at(
                    "basic_password",
                    "basic_password is set but basic_username is not",
                )
                .with_hint("set both to require authentication, or neither"));
        }
    };
    Ok(Settings {
        listen,
        max_body_size: raw.max_body_size.get(),
        read_timeout: raw.read_timeout.get(),
        write_timeout: raw.write_timeout.get(),
        auth,
    })
}
