//! The HTTP/1.1 server, on the shared listener helper ([`gleaner_api::listener`]): at most
//! [`MAX_CONNECTIONS`] connections (more wait in the kernel's backlog), accept errors paused
//! and logged at a bounded rate, `read_timeout` for a request's headers (and so for an idle
//! kept-alive connection) and for a stalled response write. On shutdown it stops accepting
//! and lets every connection finish its in-flight request before returning.

use std::convert::Infallible;
use std::sync::Arc;

use gleaner_api::Shutdown;
use gleaner_api::listener::http::{HttpLimits, serve_http1};
use gleaner_api::listener::{AcceptLoop, WhenFull};
use hyper::service::service_fn;
use tokio::net::TcpListener;

use super::handler::{self, Shared};

/// Connections served at once.
pub(crate) const MAX_CONNECTIONS: usize = 1024;

/// Serves `listener` until `shutdown` fires and every connection has finished.
pub(crate) async fn serve(listener: TcpListener, shared: Arc<Shared>, shutdown: Shutdown) {
    let limits = HttpLimits {
        header_timeout: shared.settings.read_timeout,
        write_stall_timeout: shared.settings.read_timeout,
        shutdown_grace: None,
    };
    let accept = AcceptLoop {
        name: "http_listener",
        max_connections: MAX_CONNECTIONS,
        when_full: WhenFull::Wait,
        metrics: Some(Arc::clone(&shared.metrics)),
    };
    let sd = shutdown.clone();
    accept
        .run(listener, shutdown, move |stream, peer| {
            let shared = Arc::clone(&shared);
            let service = service_fn(move |req| {
                let shared = Arc::clone(&shared);
                async move { Ok::<_, Infallible>(handler::handle(&shared, req).await) }
            });
            serve_http1("http_listener", stream, peer, service, limits, sd.clone())
        })
        .await;
}
