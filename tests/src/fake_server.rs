//! The shell every hyper-based fake in this crate runs in: a listener on a free port of
//! 127.0.0.1, its own thread with a current-thread runtime (so plain `#[test]`s can use the
//! fake), one HTTP/1.1 connection task per client, each request answered by the fake's
//! handler with its shared state. It stops when dropped: the accept loop ends, the runtime
//! (and every connection with it) is dropped, and the thread is joined.
//!
//! The protocol each fake follows is in its own module doc; this module has none of its own.

use std::convert::Infallible;
use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;

use hyper::body::{Body, Incoming};
use hyper::service::service_fn;
use hyper::{Request, Response};
use hyper_util::rt::TokioIo;

/// A running fake server; see the module doc.
#[derive(Debug)]
pub struct ServerThread {
    addr: SocketAddr,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl ServerThread {
    /// Binds 127.0.0.1:0 and serves every request with `handle(state, request)`.
    ///
    /// # Panics
    /// When it cannot bind or build its runtime (`name` says which fake).
    pub fn spawn<S, F, B>(
        name: &str,
        state: Arc<S>,
        handle: fn(Arc<S>, Request<Incoming>) -> F,
    ) -> ServerThread
    where
        S: Send + Sync + 'static,
        F: Future<Output = Result<Response<B>, Infallible>> + Send + 'static,
        B: Body + Send + 'static,
        B::Data: Send,
        B::Error: Into<Box<dyn std::error::Error + Send + Sync>>,
    {
        let listener = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap_or_else(|e| panic!("bind {name}: {e}"));
        listener
            .set_nonblocking(true)
            .unwrap_or_else(|e| panic!("{name} nonblocking: {e}"));
        let addr = listener
            .local_addr()
            .unwrap_or_else(|e| panic!("{name} address: {e}"));
        let (stop, mut stopped) = tokio::sync::oneshot::channel::<()>();
        let name = name.to_owned();
        let thread = std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .unwrap_or_else(|e| panic!("{name} runtime: {e}"));
            rt.block_on(async move {
                let listener = tokio::net::TcpListener::from_std(listener)
                    .unwrap_or_else(|e| panic!("{name} listener: {e}"));
                loop {
                    tokio::select! {
                        _ = &mut stopped => break,
                        accepted = listener.accept() => {
                            let Ok((stream, _)) = accepted else { continue };
                            let state = Arc::clone(&state);
                            tokio::spawn(async move {
                                let svc = service_fn(move |req| handle(Arc::clone(&state), req));
                                // A client that goes away mid-request is no failure of the fake.
                                let _closed = hyper::server::conn::http1::Builder::new()
                                    .serve_connection(TokioIo::new(stream), svc)
                                    .await;
                            });
                        }
                    }
                }
            });
        });
        ServerThread {
            addr,
            stop: Some(stop),
            thread: Some(thread),
        }
    }

    /// The bound address.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// `http://127.0.0.1:<port>`.
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// Ends the accept loop without waiting for the thread (drop joins it); for fakes that
    /// must release something between the two, as the Kubernetes fake's open watches.
    pub fn signal_stop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _stopped = stop.send(());
        }
    }
}

impl Drop for ServerThread {
    fn drop(&mut self) {
        self.signal_stop();
        if let Some(t) = self.thread.take() {
            let _joined = t.join();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use bytes::Bytes;
    use http_body_util::Full;
    use std::io::{Read as _, Write as _};
    use std::sync::atomic::{AtomicUsize, Ordering};

    async fn count(
        seen: Arc<AtomicUsize>,
        _req: Request<Incoming>,
    ) -> Result<Response<Full<Bytes>>, Infallible> {
        let n = seen.fetch_add(1, Ordering::SeqCst) + 1;
        Ok(Response::new(Full::new(Bytes::from(n.to_string()))))
    }

    #[test]
    fn serves_each_request_with_the_shared_state_and_stops_on_drop() {
        let seen = Arc::new(AtomicUsize::new(0));
        let server = ServerThread::spawn("counter", Arc::clone(&seen), count);
        let addr = server.addr();
        for expected in ["1", "2"] {
            let mut conn = std::net::TcpStream::connect(addr).expect("connect");
            conn.write_all(b"GET / HTTP/1.1\r\nhost: x\r\nconnection: close\r\n\r\n")
                .expect("write");
            let mut answer = String::new();
            conn.read_to_string(&mut answer).expect("read");
            assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
            assert!(answer.ends_with(expected), "{answer}");
        }
        drop(server);
        assert_eq!(seen.load(Ordering::SeqCst), 2);
        assert!(
            std::net::TcpStream::connect(addr).is_err(),
            "the listener is closed once dropped"
        );
    }
}
