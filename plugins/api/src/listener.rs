//! Accepting TCP connections without letting clients or the OS push the agent over: the one
//! accept loop of every listener (the agent's `/metrics`, `inputs.http_listener`, statsd and
//! syslog over TCP).
//!
//! - **A connection cap.** At most `max_connections` are served at once. Past it the loop
//!   either stops accepting until one closes ([`WhenFull::Wait`]: newcomers wait in the
//!   kernel's backlog) or accepts and closes at once ([`WhenFull::Refuse`], counted
//!   `too_many_connections`).
//! - **Backoff on accept errors.** Out of descriptors (`EMFILE`, `ENFILE`), buffers or
//!   memory, `accept` fails at once for as long as the condition lasts, so a loop that just
//!   retries spins a core and floods the log. The loop pauses 10 ms, doubling to 1 s while
//!   the failures last, and logs the first failure and then at most one line per 10 s saying
//!   how many it kept quiet (each is still counted `accept`). Errors that concern only the
//!   connection being accepted (aborted or reset by the peer) are retried at once.
//! - **Shutdown.** On the signal the loop stops accepting, closes the socket and waits for
//!   its connections, which watch the same signal.
//!
//! Idle and header timeouts belong to the protocol: `http` (feature `http-server`) serves
//! HTTP/1.1 connections with them, and bounds request bodies (`http::body`); raw-TCP
//! listeners put a timeout on each read. `acks` routes acknowledgements to the requests
//! that wait for them.

pub mod acks;
#[cfg(feature = "http-server")]
pub mod http;

use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use tokio::net::{TcpListener, TcpStream};
use tokio::sync::Semaphore;
use tokio::task::JoinSet;
use tokio::time::Instant;

use crate::{ComponentMetrics, Shutdown};

/// What to do with a connection past `max_connections`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WhenFull {
    /// Stop accepting until a connection closes (the kernel's backlog holds newcomers).
    Wait,
    /// Accept and close it at once, counted `too_many_connections`.
    Refuse,
}

/// How one listener accepts.
#[derive(Debug, Clone)]
pub struct AcceptLoop {
    /// Names the listener in logs (`"telemetry"`, `"http_listener"`, `"statsd"`).
    pub name: &'static str,
    /// Connections served at once, at most (at least 1).
    pub max_connections: usize,
    /// Past `max_connections`.
    pub when_full: WhenFull,
    /// Where accept errors and refusals are counted, if anywhere.
    pub metrics: Option<Arc<ComponentMetrics>>,
}

/// First pause after a failed accept.
const BACKOFF_MIN: Duration = Duration::from_millis(10);
/// Longest pause between accept attempts while they keep failing.
const BACKOFF_MAX: Duration = Duration::from_secs(1);
/// At most one accept-error log line per this period.
const LOG_EVERY: Duration = Duration::from_secs(10);

impl AcceptLoop {
    /// Accepts from `listener` until `shutdown`, running `serve(stream, peer)` on a task per
    /// connection; then closes the socket and waits for every connection task to finish.
    pub async fn run<F, Fut>(self, listener: TcpListener, shutdown: Shutdown, mut serve: F)
    where
        F: FnMut(TcpStream, SocketAddr) -> Fut,
        Fut: Future<Output = ()> + Send + 'static,
    {
        let slots = Arc::new(Semaphore::new(self.max_connections.max(1)));
        let mut conns = JoinSet::new();
        let mut backoff = Backoff::new(self.name);
        loop {
            let permit = match self.when_full {
                WhenFull::Wait => tokio::select! {
                    biased;
                    () = shutdown.wait() => break,
                    Some(done) = conns.join_next(), if !conns.is_empty() => {
                        self.reap(done);
                        continue;
                    }
                    p = Arc::clone(&slots).acquire_owned() => match p {
                        Ok(p) => Some(p),
                        Err(_) => break,
                    },
                },
                WhenFull::Refuse => None,
            };
            let accepted = tokio::select! {
                biased;
                () = shutdown.wait() => break,
                Some(done) = conns.join_next(), if !conns.is_empty() => {
                    self.reap(done);
                    continue;
                }
                a = listener.accept() => a,
            };
            let (stream, peer) = match accepted {
                Ok(a) => a,
                Err(e) if per_connection(&e) => {
                    tracing::debug!(listener = self.name, error = %e, "a connection was gone before it was accepted");
                    continue;
                }
                Err(e) => {
                    self.count("accept");
                    let pause = backoff.failed(&e);
                    tokio::select! {
                        () = shutdown.wait() => break,
                        () = tokio::time::sleep(pause) => continue,
                    }
                }
            };
            backoff.succeeded();
            let permit = match permit {
                Some(p) => p,
                None => match Arc::clone(&slots).try_acquire_owned() {
                    Ok(p) => p,
                    Err(_) => {
                        self.count("too_many_connections");
                        tracing::warn!(listener = self.name, %peer, max = self.max_connections, "connection refused: too many connections");
                        drop(stream);
                        continue;
                    }
                },
            };
            let task = serve(stream, peer);
            conns.spawn(async move {
                task.await;
                drop(permit);
            });
        }
        drop(listener);
        while let Some(done) = conns.join_next().await {
            self.reap(done);
        }
    }

    fn count(&self, reason: &'static str) {
        if let Some(m) = &self.metrics {
            m.error(reason);
        }
    }

    fn reap(&self, done: Result<(), tokio::task::JoinError>) {
        if let Err(e) = done {
            tracing::error!(listener = self.name, error = %e, "connection task failed");
        }
    }
}

/// Accept errors about the one connection being accepted, not the listener.
fn per_connection(e: &std::io::Error) -> bool {
    use std::io::ErrorKind as K;
    matches!(
        e.kind(),
        K::ConnectionAborted | K::ConnectionReset | K::Interrupted | K::WouldBlock
    )
}

/// The pause after each failed accept, and the rate-limited log of them.
#[derive(Debug)]
pub(crate) struct Backoff {
    name: &'static str,
    delay: Duration,
    last_log: Option<Instant>,
    quiet: u64,
}

impl Backoff {
    pub(crate) fn new(name: &'static str) -> Self {
        Backoff {
            name,
            delay: Duration::ZERO,
            last_log: None,
            quiet: 0,
        }
    }

    /// Records a failure; returns how long to pause before the next attempt.
    pub(crate) fn failed(&mut self, e: &std::io::Error) -> Duration {
        self.delay = (self.delay * 2).clamp(BACKOFF_MIN, BACKOFF_MAX);
        let now = Instant::now();
        if self
            .last_log
            .is_none_or(|t| now.duration_since(t) >= LOG_EVERY)
        {
            tracing::warn!(
                listener = self.name,
                error = %e,
                retry_in_ms = self.delay.as_millis() as u64,
                failures_not_logged = self.quiet,
                "cannot accept a connection; pausing before the next attempt"
            );
            self.last_log = Some(now);
            self.quiet = 0;
        } else {
            self.quiet += 1;
        }
        self.delay
    }

    /// An accept worked: the next failure starts again from the shortest pause.
    pub(crate) fn succeeded(&mut self) {
        self.delay = Duration::ZERO;
    }
}

#[cfg(test)]
mod tests;
