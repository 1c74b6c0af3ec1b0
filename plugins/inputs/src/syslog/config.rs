//! `inputs.syslog` configuration: the serde struct users write and its validation into
//! [`Settings`], with no I/O (`gleaner check` calls it; sockets are bound and TLS files read
//! in `run`).

use std::path::PathBuf;

use gleaner_api::{ByteSize, ConfigError, Duration, PluginConfig};
use serde::Deserialize;

use super::framing::Framing;

/// `[[inputs.syslog]]` as written.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub(crate) struct SyslogConfig {
    /// Where to listen: `udp://host:port`, `tcp://host:port` or `unix:///path` (a datagram
    /// socket, like `/dev/log`).
    listen: String,
    /// How messages are delimited on TCP: `auto` (per message: a length prefix when it starts
    /// with a digit, else a newline), `octet-counting` or `newline` (RFC 6587).
    framing: String,
    /// Longest message kept; the rest of a longer one is discarded and the message is flagged
    /// `syslog.truncated`.
    max_message_bytes: ByteSize,
    /// TCP connections served at once; more are closed at once and counted.
    max_connections: usize,
    /// A TCP connection with nothing to read for this long is closed ("0s": never).
    idle_timeout: Duration,
    /// Socket receive buffer (SO_RCVBUF) of a UDP or unix socket; default: the OS's.
    read_buffer_size: Option<ByteSize>,
    /// UDP: datagrams held while the pipeline is full; beyond, they are dropped and counted.
    udp_pending_max: usize,
    /// TLS on TCP: PEM certificate chain of the server.
    tls_cert_file: Option<PathBuf>,
    /// TLS on TCP: PEM private key of `tls_cert_file`.
    tls_key_file: Option<PathBuf>,
    /// TLS on TCP: PEM CA certificates; when set, clients must present a certificate
    /// signed by one of them (mutual TLS).
    tls_client_ca_file: Option<PathBuf>,
    /// Unix socket: permissions of the socket file (octal string, e.g. "0666"); default:
    /// what the process umask gives.
    socket_mode: Option<String>,
}

impl Default for SyslogConfig {
    fn default() -> Self {
        SyslogConfig {
            listen: "udp://127.0.0.1:5514".to_owned(),
            framing: "auto".to_owned(),
            max_message_bytes: ByteSize(64 * 1024),
            max_connections: 256,
            idle_timeout: Duration::from_secs(600),
            read_buffer_size: None,
            udp_pending_max: 10_000,
            tls_cert_file: None,
            tls_key_file: None,
            tls_client_ca_file: None,
            socket_mode: None,
        }
    }
}

/// Where and how to listen.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Listen {
    /// One message per datagram.
    Udp(String),
    /// A stream of framed messages.
    Tcp(String),
    /// A unix datagram socket at this path.
    Unix(PathBuf),
}

/// TLS files of a TCP listener.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct TlsFiles {
    /// Certificate chain.
    pub(crate) cert: PathBuf,
    /// Its private key.
    pub(crate) key: PathBuf,
    /// CAs of client certificates (mutual TLS).
    pub(crate) client_ca: Option<PathBuf>,
}

/// The validated configuration.
#[derive(Debug, Clone)]
pub(crate) struct Settings {
    /// The socket.
    pub(crate) listen: Listen,
    /// TCP framing.
    pub(crate) framing: Framing,
    /// Longest message kept.
    pub(crate) max_message_bytes: usize,
    /// TCP connection cap.
    pub(crate) max_connections: usize,
    /// Idle TCP connections are closed after this (None: never).
    pub(crate) idle_timeout: Option<std::time::Duration>,
    /// SO_RCVBUF.
    pub(crate) read_buffer_size: Option<usize>,
    /// UDP datagrams held while the pipeline is full.
    pub(crate) udp_pending_max: usize,
    /// TLS on TCP.
    pub(crate) tls: Option<TlsFiles>,
    /// Unix socket file mode.
    pub(crate) socket_mode: Option<u32>,
}

/// Parses and validates the plugin's table.
pub(crate) fn parse(cfg: &PluginConfig) -> Result<Settings, ConfigError> {
    let raw: SyslogConfig = cfg.parse()?;
    validate(raw, cfg)
}

const LISTEN_HINT: &str =
    "write \"udp://127.0.0.1:5514\", \"tcp://0.0.0.0:6514\" or \"unix:///run/gleaner/log.sock\"";

fn validate(raw: SyslogConfig, cfg: &PluginConfig) -> Result<Settings, ConfigError> {
    let listen = parse_listen(&raw.listen).ok_or_else(|| {
        cfg.error_at("listen", format!("invalid listen address {:?}", raw.listen))
            .with_hint(LISTEN_HINT)
    })?;
    let framing = match raw.framing.as_str() {
        "auto" => Framing::Auto,
        "octet-counting" => Framing::OctetCounting,
        "newline" => Framing::Newline,
        other => {
            return Err(cfg
                .error_at("framing", format!("unknown framing {other:?}"))
                .with_hint("use \"auto\", \"octet-counting\" or \"newline\""));
        }
    };
    let max_message_bytes = usize::try_from(raw.max_message_bytes.get())
        .ok()
        .filter(|n| (480..=64 * 1024 * 1024).contains(n))
        .ok_or_else(|| {
            cfg.error_at(
                "max_message_bytes",
                "max_message_bytes must be between 480 bytes and 64MiB",
            )
            .with_hint("RFC 5424 receivers must take at least 480 bytes")
        })?;
    if raw.max_connections == 0 {
        return Err(cfg.error_at("max_connections", "max_connections must be at least 1"));
    }
    if raw.udp_pending_max == 0 {
        return Err(cfg.error_at("udp_pending_max", "udp_pending_max must be at least 1"));
    }
    let read_buffer_size = match raw.read_buffer_size {
        None => None,
        Some(b) => Some(
            usize::try_from(b.get())
                .ok()
                .filter(|n| *n > 0 && *n <= i32::MAX as usize)
                .ok_or_else(|| {
                    cfg.error_at(
                        "read_buffer_size",
                        "read_buffer_size must be between 1 byte and 2GiB",
                    )
                })?,
        ),
    };
    let tls = match (raw.tls_cert_file, raw.tls_key_file) {
        (Some(cert), Some(key)) => Some(TlsFiles {
            cert,
            key,
            client_ca: raw.tls_client_ca_file,
        }),
        (None, None) => {
            if raw.tls_client_ca_file.is_some() {
                return Err(cfg
                    .error_at(
                        "tls_client_ca_file",
                        "tls_client_ca_file needs tls_cert_file",
                    )
                    .with_hint("set tls_cert_file and tls_key_file to serve TLS"));
            }
            None
        }
        (Some(_), None) => {
            return Err(cfg.error_at("tls_cert_file", "tls_cert_file needs tls_key_file"));
        }
        (None, Some(_)) => {
            return Err(cfg.error_at("tls_key_file", "tls_key_file needs tls_cert_file"));
        }
    };
    if tls.is_some() && !matches!(listen, Listen::Tcp(_)) {
        return Err(cfg
            .error_at("tls_cert_file", "TLS is served on tcp:// only")
            .with_hint("listen on tcp://host:port, or remove the tls_* keys"));
    }
    let socket_mode = match raw.socket_mode {
        None => None,
        Some(m) => {
            let parsed = u32::from_str_radix(m.trim_start_matches("0o"), 8)
                .ok()
                .filter(|v| *v <= 0o777);
            match (parsed, &listen) {
                (Some(v), Listen::Unix(_)) => Some(v),
                (None, _) => {
                    return Err(cfg
                        .error_at("socket_mode", format!("invalid socket_mode {m:?}"))
                        .with_hint("an octal mode such as \"0660\""));
                }
                (Some(_), _) => {
                    return Err(cfg.error_at("socket_mode", "socket_mode is for unix:// only"));
                }
            }
        }
    };
    Ok(Settings {
        listen,
        framing,
        max_message_bytes,
        max_connections: raw.max_connections,
        idle_timeout: Some(raw.idle_timeout.get()).filter(|d| !d.is_zero()),
        read_buffer_size,
        udp_pending_max: raw.udp_pending_max,
        tls,
        socket_mode,
    })
}

/// `udp://host:port`, `tcp://host:port` (a valid port, a host or `[v6]`), `unix:///abs/path`.
pub(crate) fn parse_listen(s: &str) -> Option<Listen> {
    if let Some(path) = s.strip_prefix("unix://") {
        return (path.starts_with('/') && path.len() > 1).then(|| Listen::Unix(path.into()));
    }
    let (scheme, addr) = s.split_once("://")?;
    let (host, port) = addr.rsplit_once(':')?;
    port.parse::<u16>().ok()?;
    if host.is_empty() || host.contains('/') {
        return None;
    }
    match scheme {
        "udp" => Some(Listen::Udp(addr.to_owned())),
        "tcp" => Some(Listen::Tcp(addr.to_owned())),
        _ => None,
    }
}
