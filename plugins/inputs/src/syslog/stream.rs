//! Stream sockets: the TCP accept loop (optionally TLS) and the per-connection reader.
//!
//! - Connections are accepted by the shared `gleaner_api::listener::AcceptLoop`: at most
//!   `max_connections` at once, one more accepted and closed at once (counted as the error
//!   `too_many_connections`), and a failing accept (out of file descriptors) backs off from
//!   10 ms to 1 s instead of spinning.
//! - A connection is read into a buffer that grows up to what one message of
//!   `max_message_bytes` needs, split by the [`Decoder`], and the complete messages of each
//!   read go down the pipeline as one batch. While the pipeline is full, the send waits and
//!   the connection is not read: the kernel's buffers fill and TCP pushes back on the sender.
//!   Nothing read is dropped.
//! - A connection with nothing to read for `idle_timeout` is closed (counted); a TLS
//!   handshake must finish within `HANDSHAKE_TIMEOUT`.
//! - When the client closes mid-message, what arrived is passed on (a counted frame cut short
//!   is flagged `incomplete_frame`).

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use gleaner_api::listener::{AcceptLoop, WhenFull};
use gleaner_api::{Batch, ComponentMetrics, EventSender, Shutdown, now_ns};
use tokio::io::{AsyncRead, AsyncReadExt};
use tokio::net::TcpListener;
use tokio_rustls::TlsAcceptor;

use super::framing::{Decoder, Framing, Step};
use super::header_cache::HeaderCache;
use super::message::{Outcome, ParseError, to_record};
use super::stats::Stats;

/// A connection's first buffer; it grows as a message needs.
const INITIAL_BUFFER: usize = 16 * 1024;

/// Largest read buffer used for throughput (a message may need more).
const READ_BUFFER: usize = 64 * 1024;

/// Time allowed for a TLS handshake.
const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);

/// What every connection of a listener shares.
#[derive(Debug)]
pub(crate) struct StreamInput {
    /// Where records go.
    pub(crate) out: EventSender,
    /// Standard counters.
    pub(crate) metrics: Arc<ComponentMetrics>,
    /// Own figures.
    pub(crate) stats: Arc<Stats>,
    /// Framing.
    pub(crate) framing: Framing,
    /// Longest message kept.
    pub(crate) max: usize,
    /// Idle connections are closed after this.
    pub(crate) idle_timeout: Option<Duration>,
    /// Connection cap.
    pub(crate) max_connections: usize,
}

/// Accepts connections until shutdown (the shared accept loop: cap, backoff), then waits for
/// them to close.
pub(crate) async fn serve(
    listener: TcpListener,
    tls: Option<TlsAcceptor>,
    input: Arc<StreamInput>,
    shutdown: Shutdown,
) {
    let accept = AcceptLoop {
        name: "syslog",
        max_connections: input.max_connections,
        when_full: WhenFull::Refuse,
        metrics: Some(Arc::clone(&input.metrics)),
    };
    let sd = shutdown.clone();
    accept
        .run(listener, shutdown, move |stream, peer| {
            let input = Arc::clone(&input);
            let shutdown = sd.clone();
            let tls = tls.clone();
            async move {
                Stats::bump(&input.stats.connections);
                Stats::bump(&input.stats.connections_total);
                match tls {
                    None => connection(stream, peer, &input, &shutdown).await,
                    Some(acceptor) => {
                        match tokio::time::timeout(HANDSHAKE_TIMEOUT, acceptor.accept(stream)).await
                        {
                            Ok(Ok(tls_stream)) => {
                                connection(tls_stream, peer, &input, &shutdown).await;
                            }
                            Ok(Err(e)) => {
                                input.metrics.error("tls_handshake");
                                tracing::warn!(%peer, error = %e, "syslog TLS handshake failed");
                            }
                            Err(_) => {
                                input.metrics.error("tls_handshake");
                                tracing::warn!(%peer, "syslog TLS handshake timed out");
                            }
                        }
                    }
                }
                input
                    .stats
                    .connections
                    .fetch_sub(1, std::sync::atomic::Ordering::Relaxed);
            }
        })
        .await;
}

/// How a read ended.
enum Read {
    Data(usize),
    Eof,
    Stop,
}

/// Reads one connection until EOF, an error, idle timeout or shutdown.
pub(crate) async fn connection<S: AsyncRead + Unpin>(
    mut stream: S,
    peer: SocketAddr,
    input: &StreamInput,
    shutdown: &Shutdown,
) {
    let mut headers = HeaderCache::default();
    let mut decoder = Decoder::new(input.framing, input.max);
    let limit = decoder.buffer_needed().max(READ_BUFFER);
    let mut buf = vec![0u8; INITIAL_BUFFER.min(limit)];
    let (mut lo, mut hi) = (0usize, 0usize);
    // Records in the last batch: the next one is made that size at once (a batch grown by
    // doubling copied its records and reallocated six or seven times per read).
    let mut last_len = 0;
    loop {
        let mut batch = Vec::with_capacity(last_len);
        let now = now_ns();
        loop {
            match decoder.next(&buf[lo..hi]) {
                Step::Frame {
                    start,
                    end,
                    consumed,
                    truncated,
                    error,
                } => {
                    let frame = &buf[lo + start..lo + end];
                    batch.push(record(
                        frame,
                        now,
                        &mut headers,
                        peer,
                        truncated,
                        error,
                        input,
                    ));
                    lo += consumed;
                }
                Step::Skip(n) => lo += n,
                Step::NeedMore => break,
            }
        }
        if !batch.is_empty() {
            last_len = batch.len();
            input.metrics.received(batch.len() as u64, 0);
            // Waits while the pipeline is full: this is the back-pressure.
            if input.out.send(Batch::Logs(batch)).await.is_err() {
                return;
            }
        }
        if lo > 0 {
            buf.copy_within(lo..hi, 0);
            hi -= lo;
            lo = 0;
        }
        if hi == buf.len() {
            let grown = (buf.len() * 2).min(limit).max(buf.len());
            buf.resize(grown, 0);
        }
        match read(&mut stream, &mut buf[hi..], input, shutdown).await {
            Read::Data(n) => {
                input.metrics.received(0, n as u64);
                hi += n;
            }
            Read::Eof => break,
            Read::Stop => return,
        }
    }
    if let Some((start, end, error)) = decoder.finish(&buf[lo..hi]) {
        let frame = &buf[lo + start..lo + end];
        let rec = record(frame, now_ns(), &mut headers, peer, false, error, input);
        input.metrics.received(1, 0);
        if input.out.send(Batch::Logs(vec![rec])).await.is_err() {
            tracing::debug!(%peer, "syslog pipeline closed");
        }
    }
}

async fn read<S: AsyncRead + Unpin>(
    stream: &mut S,
    buf: &mut [u8],
    input: &StreamInput,
    shutdown: &Shutdown,
) -> Read {
    let reading = async {
        match input.idle_timeout {
            Some(t) => tokio::time::timeout(t, stream.read(buf)).await.ok(),
            None => Some(stream.read(buf).await),
        }
    };
    let r = tokio::select! {
        biased;
        () = shutdown.wait() => return Read::Stop,
        r = reading => r,
    };
    match r {
        None => {
            Stats::bump(&input.stats.idle_closed);
            tracing::debug!("syslog connection closed: idle");
            Read::Stop
        }
        Some(Ok(0)) => Read::Eof,
        Some(Ok(n)) => Read::Data(n),
        Some(Err(e)) => {
            tracing::debug!(error = %e, "syslog connection ended with an error");
            Read::Eof
        }
    }
}

fn record(
    frame: &[u8],
    now: i64,
    headers: &mut HeaderCache,
    peer: SocketAddr,
    truncated: bool,
    error: Option<ParseError>,
    input: &StreamInput,
) -> gleaner_api::LogRecord {
    let (rec, outcome) = to_record(frame, now, headers, Some(peer.ip()), truncated, error);
    if truncated {
        Stats::bump(&input.stats.truncated);
    }
    if let Outcome::Malformed(e) = outcome {
        Stats::bump(&input.stats.parse_errors);
        tracing::debug!(reason = e.as_str(), "syslog message kept raw");
    }
    rec
}
