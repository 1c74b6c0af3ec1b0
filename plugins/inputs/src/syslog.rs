//! `inputs.syslog`: a syslog server. RFC 5424 and RFC 3164 messages over UDP (one per
//! datagram), TCP with RFC 6587 framing (octet counting, newlines, or per message), TLS on
//! TCP, and a unix datagram socket (like `/dev/log`).
//!
//! Each message becomes a log record: the MSG part is the body, the timestamp the record's
//! time, and the header `syslog.*` attributes: `facility` and `severity` (keywords),
//! `hostname`, `app_name`, `proc_id`, `msg_id`, `version` (RFC 5424), RFC 5424 structured
//! data as `syslog.sd.<id>.<param>`, and `syslog.peer` (the sender's IP). Nothing is dropped
//! for its content: a message that does not parse is passed on raw with
//! `syslog.parse_error = "<reason>"`, one longer than `max_message_bytes` is cut and flagged
//! `syslog.truncated`; both are counted (`gleaner_syslog_parse_errors_total`,
//! `gleaner_syslog_truncated_total`).
//!
//! Back-pressure: a stream connection is not read while the pipeline is full (TCP pushes
//! back on the sender), nor is a unix socket (its senders block). UDP cannot push back: it
//! holds up to `udp_pending_max` records and drops beyond, counted
//! (`reason="queue_full"`), and the kernel's own drops are exported.
//!
//! Modules: `config.rs` (options, validation), `message.rs` (PRI, the record),
//! `header_cache.rs` (the shared header attribute lists),
//! `parse_5424.rs`, `parse_3164.rs`, `time.rs` (timestamps), `framing.rs` (RFC 6587),
//! `stream.rs` (TCP and TLS connections), `datagram.rs` (UDP, unix), `tls.rs`, `stats.rs`.

mod config;
mod datagram;
mod framing;
mod header_cache;
mod message;
mod parse_3164;
mod parse_5424;
mod stats;
mod stream;
mod time;
mod tls;

#[cfg(test)]
mod tests;

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::Ordering;

use async_trait::async_trait;
use gleaner_api::{
    BuildContext, ConfigError, Input, InputContext, InputDescriptor, PluginConfig, PluginError,
    RunMode,
};
use tokio::net::{TcpListener, UdpSocket, UnixDatagram};
use tokio_rustls::TlsAcceptor;

use config::{Listen, Settings};
use datagram::{DgramInput, DgramSocket};
use stats::Stats;
use stream::StreamInput;

/// Registry entry.
pub const DESCRIPTOR: InputDescriptor = InputDescriptor {
    name: "syslog",
    summary: "syslog server: RFC 5424 and RFC 3164 over UDP, TCP (RFC 6587 octet counting or \
              newlines, optional TLS) or a unix socket; header fields and structured data as \
              attributes",
    sample: SAMPLE,
    build,
};

const SAMPLE: &str = r#"[[inputs.syslog]]
## udp://host:port, tcp://host:port or unix:///path (a datagram socket, like /dev/log).
listen = "udp://127.0.0.1:5514"
## TCP framing (RFC 6587): "auto" (per message: a length prefix when it starts with a
## digit, else a newline), "octet-counting" or "newline".
# framing = "auto"
## Longest message kept; the rest of a longer one is discarded and the record flagged
## syslog.truncated.
# max_message_bytes = "64KiB"
## TCP connections at once (more are closed at once and counted), and how long one may
## stay idle ("0s": forever).
# max_connections = 256
# idle_timeout = "10m"
## UDP or unix socket receive buffer (SO_RCVBUF); default: the OS's.
# read_buffer_size = "4MiB"
## UDP: records held while the pipeline is full; beyond, they are dropped and counted.
# udp_pending_max = 10000
## TLS on tcp:// (RFC 5425); with tls_client_ca_file, clients need a certificate.
# tls_cert_file = "/etc/gleaner/syslog.pem"
# tls_key_file = "/etc/gleaner/syslog.key"
# tls_client_ca_file = "/etc/gleaner/clients-ca.pem"
## unix:// only: permissions of the socket file.
# socket_mode = "0666"
"#;

fn build(cfg: &PluginConfig, _cx: &BuildContext) -> Result<Box<dyn Input>, ConfigError> {
    Ok(Box::new(Syslog {
        settings: config::parse(cfg)?,
    }))
}

/// The built input.
#[derive(Debug)]
struct Syslog {
    settings: Settings,
}

#[async_trait]
impl Input for Syslog {
    async fn run(self: Box<Self>, cx: InputContext) -> Result<(), PluginError> {
        if cx.mode == RunMode::Once {
            // A server has nothing to gather once.
            return Ok(());
        }
        let bound = bind(&self.settings).await?;
        serve(bound, self.settings, cx).await;
        Ok(())
    }
}

/// A bound socket, ready to serve.
enum Bound {
    Udp(UdpSocket),
    Unix(UnixDatagram, PathBuf),
    Tcp(TcpListener, Option<TlsAcceptor>),
}

impl Bound {
    /// The bound address (TCP, UDP).
    #[cfg(test)]
    fn local_addr(&self) -> Option<std::net::SocketAddr> {
        match self {
            Bound::Udp(s) => s.local_addr().ok(),
            Bound::Tcp(l, _) => l.local_addr().ok(),
            Bound::Unix(..) => None,
        }
    }
}

/// Binds the socket (and reads the TLS files).
async fn bind(s: &Settings) -> Result<Bound, PluginError> {
    Ok(match &s.listen {
        Listen::Udp(addr) => {
            let sock = UdpSocket::bind(addr.as_str())
                .await
                .map_err(|e| PluginError::with_source(format!("cannot listen on udp {addr}"), e))?;
            Bound::Udp(sock)
        }
        Listen::Unix(path) => Bound::Unix(bind_unix(path, s.socket_mode)?, path.clone()),
        Listen::Tcp(addr) => {
            let acceptor = match &s.tls {
                None => None,
                Some(files) => Some(TlsAcceptor::from(
                    tls::server_config(files)
                        .map_err(|e| PluginError::with_source("cannot set up syslog TLS", e))?,
                )),
            };
            let listener = TcpListener::bind(addr.as_str())
                .await
                .map_err(|e| PluginError::with_source(format!("cannot listen on tcp {addr}"), e))?;
            Bound::Tcp(listener, acceptor)
        }
    })
}

/// Serves the socket until shutdown.
async fn serve(bound: Bound, s: Settings, cx: InputContext) {
    let stats = Arc::new(Stats::default());
    cx.metrics.set_plugin_stats(Arc::clone(&stats) as _);
    match bound {
        Bound::Udp(sock) => {
            set_recv_buffer(&sock, s.read_buffer_size, &cx);
            if let Ok(st) = rustix::fs::fstat(&sock) {
                stats.udp_inode.store(st.st_ino, Ordering::Relaxed);
            }
            let local = sock.local_addr().ok();
            tracing::info!(input = %cx.id, address = ?local, "syslog listening on udp");
            let input = dgram_input(&s, &cx, stats);
            datagram::run(DgramSocket::Udp(sock), input, cx.shutdown.clone()).await;
        }
        Bound::Unix(sock, path) => {
            set_recv_buffer(&sock, s.read_buffer_size, &cx);
            tracing::info!(input = %cx.id, path = %path.display(), "syslog listening on unix");
            let input = dgram_input(&s, &cx, stats);
            datagram::run(DgramSocket::Unix(sock), input, cx.shutdown.clone()).await;
            if let Err(e) = std::fs::remove_file(&path) {
                tracing::debug!(path = %path.display(), error = %e, "cannot remove the syslog socket");
            }
        }
        Bound::Tcp(listener, acceptor) => {
            let local = listener.local_addr().ok();
            tracing::info!(input = %cx.id, address = ?local, tls = acceptor.is_some(), "syslog listening on tcp");
            let input = Arc::new(StreamInput {
                out: cx.out.clone(),
                metrics: Arc::clone(&cx.metrics),
                stats,
                framing: s.framing,
                max: s.max_message_bytes,
                idle_timeout: s.idle_timeout,
                max_connections: s.max_connections,
            });
            stream::serve(listener, acceptor, input, cx.shutdown.clone()).await;
        }
    }
}

fn dgram_input(s: &Settings, cx: &InputContext, stats: Arc<Stats>) -> DgramInput {
    DgramInput {
        out: cx.out.clone(),
        metrics: Arc::clone(&cx.metrics),
        stats,
        max: s.max_message_bytes,
        pending_max: s.udp_pending_max,
    }
}

fn set_recv_buffer(sock: &impl std::os::fd::AsFd, size: Option<usize>, cx: &InputContext) {
    if let Some(size) = size
        && let Err(e) = rustix::net::sockopt::set_socket_recv_buffer_size(sock, size)
    {
        tracing::warn!(input = %cx.id, error = %e, "cannot set read_buffer_size");
    }
}

/// Binds a unix datagram socket at `path`, replacing a stale socket file (never another kind
/// of file), with `mode` when given.
fn bind_unix(path: &Path, mode: Option<u32>) -> Result<UnixDatagram, PluginError> {
    use std::os::unix::fs::{FileTypeExt, PermissionsExt};
    let shown = path.display();
    if let Ok(meta) = std::fs::symlink_metadata(path) {
        if !meta.file_type().is_socket() {
            return Err(PluginError::new(format!(
                "cannot listen on unix {shown}: a file that is not a socket is in the way"
            )));
        }
        std::fs::remove_file(path).map_err(|e| {
            PluginError::with_source(format!("cannot remove the stale socket {shown}"), e)
        })?;
    }
    let sock = UnixDatagram::bind(path)
        .map_err(|e| PluginError::with_source(format!("cannot listen on unix {shown}"), e))?;
    if let Some(mode) = mode {
        std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode)).map_err(|e| {
            PluginError::with_source(format!("cannot set socket_mode on {shown}"), e)
        })?;
    }
    Ok(sock)
}

/// This plugin's sample check (run for every registered plugin from `src/sample_checks.rs`):
/// each option the sample shows at its default is the real default.
#[cfg(test)]
pub(crate) fn check_sample() {
    gleaner_api::test_util::sample::assert_sample_debug::<config::SyslogConfig>(
        "inputs.syslog.0",
        SAMPLE,
        // Unset: the OS's buffer; no TLS; socket_mode is for unix:// only.
        &[
            "read_buffer_size",
            "tls_cert_file",
            "tls_key_file",
            "tls_client_ca_file",
            "socket_mode",
        ],
        &[],
    );
}
