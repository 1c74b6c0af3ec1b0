//! Serving one HTTP/1.1 connection with bounded patience, for every HTTP listener of the
//! agent (with [`super::AcceptLoop`] in front):
//!
//! - **Header timeout, which is also the idle timeout.** hyper's `header_read_timeout` (with
//!   a timer set) starts whenever the connection waits for a request: on a new connection,
//!   and again after each response on a kept-alive one. A client that sends nothing, sends
//!   its headers a byte at a time, or keeps an idle connection open is cut when it runs out.
//! - **Write-stall timeout.** A response write that makes no progress for this long (the
//!   client stopped reading) fails the connection, so a reader cannot pin a connection slot.
//! - **Shutdown.** On the signal an idle connection closes at once and a busy one finishes
//!   its request (hyper's graceful shutdown), within `shutdown_grace` if set.
//!
//! Bodies are the service's business: it bounds their size and the time they may take, with
//! [`body`]'s helpers.

pub mod body;

use std::future::Future;
use std::io;
use std::net::SocketAddr;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

use hyper::body::{Body, Incoming};
use hyper::server::conn::http1;
use hyper::service::HttpService;
use hyper_util::rt::{TokioIo, TokioTimer};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::TcpStream;
use tokio::time::Sleep;

use crate::Shutdown;

/// The timeouts of an HTTP listener's connections.
#[derive(Debug, Clone, Copy)]
pub struct HttpLimits {
    /// Time for a request's headers to arrive, counted from when the connection starts
    /// waiting for them (so also the idle timeout of a kept-alive connection).
    pub header_timeout: Duration,
    /// Time a response write may make no progress before the connection is dropped.
    pub write_stall_timeout: Duration,
    /// After shutdown, how long a request in flight may still take (`None`: as long as the
    /// service's own timeouts allow).
    pub shutdown_grace: Option<Duration>,
}

/// Serves HTTP/1.1 on `stream` until the client closes, a limit is hit, or `shutdown`.
pub async fn serve_http1<S, B>(
    name: &'static str,
    stream: TcpStream,
    peer: SocketAddr,
    service: S,
    limits: HttpLimits,
    shutdown: Shutdown,
) where
    S: HttpService<Incoming, ResBody = B>,
    S::Error: Into<Box<dyn std::error::Error + Send + Sync>>,
    B: Body + 'static,
    B::Error: Into<Box<dyn std::error::Error + Send + Sync>>,
{
    if let Err(e) = stream.set_nodelay(true) {
        tracing::debug!(listener = name, %peer, error = %e, "cannot set TCP_NODELAY");
    }
    let io = TokioIo::new(StallGuard::new(stream, limits.write_stall_timeout));
    let mut builder = http1::Builder::new();
    builder
        .timer(TokioTimer::new())
        .header_read_timeout(limits.header_timeout);
    let conn = builder.serve_connection(io, service);
    tokio::pin!(conn);
    let result = tokio::select! {
        r = conn.as_mut() => r,
        () = shutdown.wait() => {
            conn.as_mut().graceful_shutdown();
            match limits.shutdown_grace {
                None => conn.await,
                Some(grace) => match tokio::time::timeout(grace, conn).await {
                    Ok(r) => r,
                    Err(_) => {
                        tracing::debug!(listener = name, %peer, "connection dropped at shutdown: its request took too long");
                        return;
                    }
                },
            }
        }
    };
    if let Err(e) = result {
        tracing::debug!(listener = name, %peer, error = %e, "connection ended with an error");
    }
}

/// Serves HTTP/1.1 on `listener` until `shutdown`: `accept`'s connection limit in front, each
/// connection through [`serve_http1`] with `limits`, each request answered by `handle`. The
/// shell of the push inputs (`remote_write`, `otlp`), whose handlers answer every request.
pub async fn serve_requests<H, Fut, B>(
    accept: super::AcceptLoop,
    listener: tokio::net::TcpListener,
    limits: HttpLimits,
    shutdown: Shutdown,
    handle: H,
) where
    H: Fn(hyper::Request<Incoming>) -> Fut + Clone + Send + Sync + 'static,
    Fut: Future<Output = hyper::Response<B>> + Send + 'static,
    B: Body + Send + 'static,
    B::Data: Send,
    B::Error: Into<Box<dyn std::error::Error + Send + Sync>>,
{
    let name = accept.name;
    let connections = shutdown.clone();
    accept
        .run(listener, shutdown, move |stream, peer| {
            let handle = handle.clone();
            let service = hyper::service::service_fn(move |req| {
                let answer = handle(req);
                async move { Ok::<_, std::convert::Infallible>(answer.await) }
            });
            serve_http1(name, stream, peer, service, limits, connections.clone())
        })
        .await;
}

/// A stream whose writes fail with `TimedOut` once one has been pending for `limit`.
#[derive(Debug)]
pub struct StallGuard<T> {
    io: T,
    limit: Duration,
    stalled: Option<Pin<Box<Sleep>>>,
}

impl<T> StallGuard<T> {
    /// Wraps `io`.
    pub fn new(io: T, limit: Duration) -> Self {
        StallGuard {
            io,
            limit,
            stalled: None,
        }
    }

    /// After the inner write returned `Pending`: `Pending` until the stall lasts `limit`.
    fn pending<R>(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<R>> {
        let limit = self.limit;
        let timer = self
            .stalled
            .get_or_insert_with(|| Box::pin(tokio::time::sleep(limit)));
        match timer.as_mut().poll(cx) {
            Poll::Ready(()) => Poll::Ready(Err(io::Error::new(
                io::ErrorKind::TimedOut,
                "the peer stopped reading",
            ))),
            Poll::Pending => Poll::Pending,
        }
    }

    fn progress<R>(&mut self, r: Poll<io::Result<R>>, cx: &mut Context<'_>) -> Poll<io::Result<R>> {
        match r {
            Poll::Pending => self.pending(cx),
            ready => {
                self.stalled = None;
                ready
            }
        }
    }
}

impl<T: AsyncRead + Unpin> AsyncRead for StallGuard<T> {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().io).poll_read(cx, buf)
    }
}

impl<T: AsyncWrite + Unpin> AsyncWrite for StallGuard<T> {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        let this = self.get_mut();
        let r = Pin::new(&mut this.io).poll_write(cx, buf);
        this.progress(r, cx)
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        let this = self.get_mut();
        let r = Pin::new(&mut this.io).poll_write_vectored(cx, bufs);
        this.progress(r, cx)
    }

    fn is_write_vectored(&self) -> bool {
        self.io.is_write_vectored()
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        let r = Pin::new(&mut this.io).poll_flush(cx);
        this.progress(r, cx)
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        let r = Pin::new(&mut this.io).poll_shutdown(cx);
        this.progress(r, cx)
    }
}
