//! The sockets: a UDP receive loop (one datagram = one packet of lines), or a TCP accept loop
//! (the shared [`gleaner_api::listener`] one: accept errors paused and logged at a bounded
//! rate) with at most `max_tcp_connections` connections, each framed by newlines and closed
//! after `tcp_idle_timeout` without data. Both parse each
//! packet as it arrives, straight into the shared aggregate (a short lock per packet, no
//! queue and no copy), so the only buffer in front of parsing is the socket's own
//! (`read_buffer_size`).
//!
//! A TCP line longer than [`MAX_LINE`] is discarded up to its newline and counted
//! `malformed`; a connection over the limit is closed at once and counted as the error
//! `too_many_connections`; an idle one is closed and counted as the error `idle_timeout`.
//! Everything stops on the shutdown signal.

use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use gleaner_api::listener::{AcceptLoop, WhenFull};
use gleaner_api::{ComponentMetrics, PluginStat, PluginStats, Shutdown, StatKind};
use tokio::io::AsyncReadExt;
use tokio::net::{TcpListener, TcpStream, UdpSocket};

use super::aggregate::Aggregator;

/// Largest UDP datagram, and largest TCP line.
pub(crate) const MAX_LINE: usize = 64 * 1024;

/// Pause after a failed receive, so a persistent error does not spin.
const ERROR_BACKOFF: Duration = Duration::from_millis(50);

/// What the socket tasks and the flush loop share.
#[derive(Debug)]
pub(crate) struct Shared {
    /// The aggregate.
    pub(crate) agg: Mutex<Aggregator>,
    /// The input's counters.
    pub(crate) metrics: Arc<ComponentMetrics>,
    /// The input's own figures.
    pub(crate) stats: Arc<Stats>,
}

impl Shared {
    /// Folds one packet in and counts what happened.
    pub(crate) fn ingest(&self, packet: &[u8]) {
        let o = self
            .agg
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .ingest(packet);
        self.stats.packets.fetch_add(1, Ordering::Relaxed);
        self.metrics.received(o.lines, packet.len() as u64);
        self.metrics.dropped("malformed", o.malformed);
        self.metrics.dropped("max_series", o.over_limit);
        self.metrics.dropped("unsupported", o.unsupported);
    }
}

/// `gleaner_statsd_*` on `/metrics`.
#[derive(Debug, Default)]
pub(crate) struct Stats {
    packets: AtomicU64,
    connections: AtomicU64,
    connections_total: AtomicU64,
    /// Series held after the last flush.
    pub(crate) series: AtomicU64,
}

impl PluginStats for Stats {
    fn stats(&self) -> Vec<PluginStat> {
        let get = |a: &AtomicU64| a.load(Ordering::Relaxed) as f64;
        vec![
            PluginStat {
                name: "packets_received_total",
                kind: StatKind::Counter,
                help: "UDP datagrams, or runs of TCP lines, parsed.",
                value: get(&self.packets),
            },
            PluginStat {
                name: "tcp_connections",
                kind: StatKind::Gauge,
                help: "TCP connections open now.",
                value: get(&self.connections),
            },
            PluginStat {
                name: "tcp_connections_total",
                kind: StatKind::Counter,
                help: "TCP connections accepted.",
                value: get(&self.connections_total),
            },
            PluginStat {
                name: "series",
                kind: StatKind::Gauge,
                help: "Series kept across the last flush (delete_* = false).",
                value: get(&self.series),
            },
        ]
    }
}

/// Receives datagrams until shutdown.
pub(crate) async fn udp(socket: UdpSocket, shared: Arc<Shared>, shutdown: Shutdown) {
    let mut buf = vec![0u8; MAX_LINE];
    loop {
        let received = tokio::select! {
            biased;
            () = shutdown.wait() => return,
            r = socket.recv_from(&mut buf) => r,
        };
        match received {
            Ok((n, _)) => shared.ingest(&buf[..n]),
            Err(e) => {
                shared.metrics.error("receive");
                tracing::warn!(error = %e, "statsd cannot receive a datagram");
                tokio::time::sleep(ERROR_BACKOFF).await;
            }
        }
    }
}

/// The TCP listener's options.
#[derive(Debug, Clone, Copy)]
pub(crate) struct TcpOptions {
    /// Connections at once; more are closed at once.
    pub(crate) max: usize,
    /// Keep-alive: `None` off, `Some(None)` on with the OS period.
    pub(crate) keep_alive: Option<Option<Duration>>,
    /// Close a connection idle this long.
    pub(crate) idle_timeout: Option<Duration>,
}

/// Accepts connections until shutdown, then waits for them to close.
pub(crate) async fn tcp(
    listener: TcpListener,
    opts: TcpOptions,
    shared: Arc<Shared>,
    shutdown: Shutdown,
) {
    let accept = AcceptLoop {
        name: "statsd",
        max_connections: opts.max,
        when_full: WhenFull::Refuse,
        metrics: Some(Arc::clone(&shared.metrics)),
    };
    let sd = shutdown.clone();
    accept
        .run(listener, shutdown, move |stream, peer| {
            if let Some(period) = opts.keep_alive
                && let Err(e) = set_keep_alive(&stream, period)
            {
                tracing::debug!(%peer, error = %e, "cannot set TCP keep-alive");
            }
            let shared = Arc::clone(&shared);
            let shutdown = sd.clone();
            async move {
                shared.stats.connections.fetch_add(1, Ordering::Relaxed);
                shared
                    .stats
                    .connections_total
                    .fetch_add(1, Ordering::Relaxed);
                connection(stream, peer, opts.idle_timeout, &shared, &shutdown).await;
                shared.stats.connections.fetch_sub(1, Ordering::Relaxed);
            }
        })
        .await;
}

fn set_keep_alive(stream: &TcpStream, period: Option<Duration>) -> std::io::Result<()> {
    rustix::net::sockopt::set_socket_keepalive(stream, true)?;
    if let Some(p) = period {
        rustix::net::sockopt::set_tcp_keepidle(stream, p)?;
    }
    Ok(())
}

/// Reads newline-framed lines until EOF, an error, `idle` without data, or shutdown; each
/// read's complete lines are one packet.
async fn connection(
    mut stream: TcpStream,
    peer: SocketAddr,
    idle: Option<Duration>,
    shared: &Shared,
    shutdown: &Shutdown,
) {
    let mut buf = vec![0u8; MAX_LINE];
    let mut len = 0;
    let mut discarding = false;
    loop {
        if len == buf.len() {
            // A line longer than the buffer: drop it up to its newline.
            if !discarding {
                shared.metrics.dropped("malformed", 1);
                tracing::debug!(%peer, "statsd line over 64KiB discarded");
            }
            discarding = true;
            len = 0;
        }
        let read = tokio::select! {
            biased;
            () = shutdown.wait() => return,
            () = idle_for(idle) => {
                shared.metrics.error("idle_timeout");
                tracing::debug!(%peer, "statsd connection closed: idle");
                return;
            }
            r = stream.read(&mut buf[len..]) => r,
        };
        let n = match read {
            Ok(0) => {
                if !discarding && len > 0 {
                    shared.ingest(&buf[..len]);
                }
                return;
            }
            Ok(n) => n,
            Err(e) => {
                tracing::debug!(%peer, error = %e, "statsd connection ended with an error");
                return;
            }
        };
        let old = len;
        len += n;
        let Some(last) = memchr::memrchr(b'\n', &buf[old..len]).map(|i| old + i) else {
            continue;
        };
        let mut from = 0;
        if discarding {
            // Only the data after the overlong line's newline counts.
            from = memchr::memchr(b'\n', &buf[..=last]).map_or(0, |i| i + 1);
            discarding = false;
        }
        if from <= last {
            shared.ingest(&buf[from..=last]);
        }
        buf.copy_within(last + 1..len, 0);
        len -= last + 1;
    }
}

/// Sleeps `idle`, or forever.
async fn idle_for(idle: Option<Duration>) {
    match idle {
        Some(d) => tokio::time::sleep(d).await,
        None => std::future::pending().await,
    }
}

/// Sets SO_RCVBUF.
pub(crate) fn set_recv_buffer(socket: &UdpSocket, size: usize) -> std::io::Result<()> {
    rustix::net::sockopt::set_socket_recv_buffer_size(socket, size).map_err(Into::into)
}
