//! Datagram sockets: UDP (RFC 5426) and a unix datagram socket (like `/dev/log`), one
//! message per datagram.
//!
//! After each datagram the socket is drained of what is already queued (up to a batch), so a
//! burst goes down the pipeline in a few batches. The two differ when the pipeline is full:
//! - UDP cannot push back on its senders. Rather than stop reading (the kernel would then
//!   drop datagrams uncounted), the input keeps reading and holds up to `udp_pending_max`
//!   records, retrying every few milliseconds; beyond that, records are dropped and counted
//!   (`reason="queue_full"`). What the kernel itself drops when the socket buffer overflows
//!   is read from `/proc` (see `stats.rs`).
//! - A unix datagram sender blocks when the socket's queue is full, so the input simply waits
//!   for the pipeline (back-pressure, nothing lost), as it does for TCP.

use std::io;
use std::net::IpAddr;
use std::sync::Arc;
use std::time::Duration;

use gleaner_api::{
    Batch, ComponentMetrics, EventSender, LogRecord, Shutdown, TrySendError, now_ns,
};
use tokio::net::{UdpSocket, UnixDatagram};

use super::header_cache::HeaderCache;
use super::message::{Outcome, to_record};
use super::stats::Stats;

/// Records per batch at most.
const BATCH: usize = 1000;

/// Retry interval of a held UDP batch while the pipeline is full.
const RETRY: Duration = Duration::from_millis(10);

/// Pause after a failed receive, so a persistent error does not spin.
const ERROR_BACKOFF: Duration = Duration::from_millis(50);

/// A bound datagram socket.
#[derive(Debug)]
pub(crate) enum DgramSocket {
    /// UDP: lossy when the pipeline is full.
    Udp(UdpSocket),
    /// Unix datagram: back-pressure.
    Unix(UnixDatagram),
}

impl DgramSocket {
    async fn recv(&self, buf: &mut [u8]) -> io::Result<(usize, Option<IpAddr>)> {
        match self {
            DgramSocket::Udp(s) => s.recv_from(buf).await.map(|(n, a)| (n, Some(a.ip()))),
            DgramSocket::Unix(s) => s.recv_from(buf).await.map(|(n, _)| (n, None)),
        }
    }

    fn try_recv(&self, buf: &mut [u8]) -> io::Result<(usize, Option<IpAddr>)> {
        match self {
            DgramSocket::Udp(s) => s.try_recv_from(buf).map(|(n, a)| (n, Some(a.ip()))),
            DgramSocket::Unix(s) => s.try_recv_from(buf).map(|(n, _)| (n, None)),
        }
    }
}

/// What the receive loop needs.
#[derive(Debug)]
pub(crate) struct DgramInput {
    /// Where records go.
    pub(crate) out: EventSender,
    /// Standard counters.
    pub(crate) metrics: Arc<ComponentMetrics>,
    /// Own figures.
    pub(crate) stats: Arc<Stats>,
    /// Longest message kept.
    pub(crate) max: usize,
    /// UDP records held while the pipeline is full.
    pub(crate) pending_max: usize,
}

/// Receives until shutdown (or until the pipeline is gone).
pub(crate) async fn run(socket: DgramSocket, input: DgramInput, shutdown: Shutdown) {
    let lossy = matches!(socket, DgramSocket::Udp(_));
    // One byte more than kept tells a too-long datagram (the kernel cuts it at the buffer).
    let mut buf = vec![0u8; input.max.min(65_535) + 1];
    let mut headers = HeaderCache::default();
    let mut pending: Vec<LogRecord> = Vec::new();
    loop {
        let received = tokio::select! {
            biased;
            () = shutdown.wait() => break,
            r = socket.recv(&mut buf) => Some(r),
            () = tokio::time::sleep(RETRY), if !pending.is_empty() => None,
        };
        let mut batch = Vec::new();
        if let Some(received) = received {
            match received {
                Ok((n, peer)) => {
                    let now = now_ns();
                    batch.push(record(&buf[..n], now, &mut headers, peer, &input));
                    while batch.len() < BATCH {
                        match socket.try_recv(&mut buf) {
                            Ok((n, peer)) => {
                                batch.push(record(&buf[..n], now, &mut headers, peer, &input));
                            }
                            Err(e) if e.kind() == io::ErrorKind::WouldBlock => break,
                            Err(e) => {
                                input.metrics.error("receive");
                                tracing::warn!(error = %e, "syslog cannot receive a datagram");
                                break;
                            }
                        }
                    }
                }
                Err(e) => {
                    input.metrics.error("receive");
                    tracing::warn!(error = %e, "syslog cannot receive a datagram");
                    tokio::time::sleep(ERROR_BACKOFF).await;
                    continue;
                }
            }
        }
        if !lossy {
            if input.out.send(Batch::Logs(batch)).await.is_err() {
                return;
            }
            continue;
        }
        let room = input.pending_max.saturating_sub(pending.len());
        if batch.len() > room {
            input
                .metrics
                .dropped("queue_full", (batch.len() - room) as u64);
            batch.truncate(room);
        }
        if pending.is_empty() {
            pending = batch;
        } else {
            pending.append(&mut batch);
        }
        if pending.is_empty() {
            continue;
        }
        match input
            .out
            .try_send_with_ack(Batch::Logs(std::mem::take(&mut pending)), None)
        {
            Ok(()) => {}
            Err(TrySendError::Full(Batch::Logs(back), _)) => pending = back,
            Err(TrySendError::Full(Batch::Metrics(_), _)) => {}
            Err(TrySendError::Closed) => return,
        }
    }
    if !pending.is_empty() {
        // Shutdown: the pipeline still drains, so wait for it.
        let n = pending.len() as u64;
        if input.out.send(Batch::Logs(pending)).await.is_err() {
            input.metrics.dropped("shutdown", n);
        }
    }
}

/// One datagram as a record.
fn record(
    data: &[u8],
    now: i64,
    headers: &mut HeaderCache,
    peer: Option<IpAddr>,
    input: &DgramInput,
) -> LogRecord {
    input.metrics.received(1, data.len() as u64);
    let truncated = data.len() > input.max;
    let data = &data[..data.len().min(input.max)];
    let (rec, outcome) = to_record(data, now, headers, peer, truncated, None);
    if truncated {
        Stats::bump(&input.stats.truncated);
    }
    if let Outcome::Malformed(e) = outcome {
        Stats::bump(&input.stats.parse_errors);
        tracing::debug!(reason = e.as_str(), "syslog message kept raw");
    }
    rec
}
