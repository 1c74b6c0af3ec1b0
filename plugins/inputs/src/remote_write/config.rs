//! `inputs.remote_write` configuration: the serde struct users write, and its validation into
//! [`Settings`], with no I/O (`gleaner check` calls it).

use std::net::SocketAddr;

use gleaner_api::{ByteSize, ConfigError, Duration, PluginConfig};
use serde::Deserialize;

/// `[[inputs.remote_write]]` as written.
#[derive(Debug, PartialEq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub(crate) struct RemoteWriteConfig {
    /// Address to listen on (`host:port`, host an IP address).
    listen: String,
    /// Largest accepted request body, compressed and once decompressed; larger ones get 413.
    /// Also the memory for the bodies of all requests being read at once.
    max_body_size: ByteSize,
    /// Time allowed to receive a request's headers, and then its body (waiting for room to
    /// hold it included; then 503 + Retry-After).
    read_timeout: Duration,
    /// Time a request may wait for every output to take its samples; then 503 with
    /// Retry-After (the sender retries; the samples may still be delivered, so a retry can
    /// cause duplicates: at-least-once).
    write_timeout: Duration,
}

/// Default of `listen`.
pub(crate) const DEFAULT_LISTEN: &str = "127.0.0.1:9201";
/// Default of `max_body_size`: far above a Prometheus request (at most 2,000 samples, a few
/// hundred KiB), and small enough that a decoded request stays a few tens of MiB.
pub(crate) const DEFAULT_MAX_BODY_SIZE: ByteSize = ByteSize::mib(16);
/// Default of `read_timeout`.
pub(crate) const DEFAULT_READ_TIMEOUT: Duration = Duration::from_secs(10);
/// Default of `write_timeout`.
pub(crate) const DEFAULT_WRITE_TIMEOUT: Duration = Duration::from_secs(10);

impl Default for RemoteWriteConfig {
    fn default() -> Self {
        RemoteWriteConfig {
            listen: DEFAULT_LISTEN.to_owned(),
            max_body_size: DEFAULT_MAX_BODY_SIZE,
            read_timeout: DEFAULT_READ_TIMEOUT,
            write_timeout: DEFAULT_WRITE_TIMEOUT,
        }
    }
}

/// The validated configuration the receiver runs with.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Settings {
    /// Where to bind.
    pub(crate) listen: SocketAddr,
    /// Body limit in bytes (compressed, and decompressed).
    pub(crate) max_body_size: u64,
    /// Header and body read timeout.
    pub(crate) read_timeout: std::time::Duration,
    /// Wait for the outputs to take a request's samples.
    pub(crate) write_timeout: std::time::Duration,
}

/// Parses and validates the plugin's table.
pub(crate) fn parse(cfg: &PluginConfig) -> Result<Settings, ConfigError> {
    let raw: RemoteWriteConfig = cfg.parse()?;
    let listen: SocketAddr = raw.listen.parse().map_err(|_| {
        cfg.error_at("listen", format!("invalid listen address {:?}", raw.listen))
            .with_hint(
                "write an IP address and a port, like \"127.0.0.1:9201\" or \"0.0.0.0:9201\"",
            )
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
