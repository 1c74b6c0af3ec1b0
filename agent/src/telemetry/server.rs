//! The `/metrics` and `/health` HTTP endpoint on `agent.http_listen`.

use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use bytes::Bytes;
use gleaner_api::{Shutdown, Telemetry};
use http_body_util::Full;
use hyper::body::Incoming;
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper::{Method, Request, Response, StatusCode};
use hyper_util::rt::TokioIo;
use tokio::net::TcpListener;
use tracing::{debug, warn};

use super::health::{Health, Phase};
use super::prometheus::{AgentStats, CONTENT_TYPE, render};

/// What the endpoint reads.
#[derive(Debug, Clone)]
pub struct ServerState {
    /// Component counters.
    pub telemetry: Telemetry,
    /// Lifecycle phase.
    pub health: Health,
    /// Start time.
    pub started: tokio::time::Instant,
    /// Successful reloads.
    pub reloads_ok: Arc<AtomicU64>,
    /// Rejected reloads.
    pub reloads_failed: Arc<AtomicU64>,
}

/// Binds `addr` (fails at once if it cannot) and serves until `shutdown`.
pub async fn bind(addr: &str) -> std::io::Result<TcpListener> {
    let addr: SocketAddr = addr.parse().map_err(|e| {
        std::io::Error::new(
            std::io::ErrorKind::InvalidInput,
            format!("agent.http_listen {addr:?}: {e}"),
        )
    })?;
    TcpListener::bind(addr).await
}

/// Serves connections from `listener` until `shutdown` fires.
pub async fn serve(listener: TcpListener, state: ServerState, shutdown: Shutdown) {
    loop {
        let (stream, peer) = tokio::select! {
            () = shutdown.wait() => return,
            r = listener.accept() => match r {
                Ok(x) => x,
                Err(e) => {
                    warn!(error = %e, "telemetry listener accept failed");
                    continue;
                }
            },
        };
        let state = state.clone();
        tokio::spawn(async move {
            let svc = service_fn(move |req| {
                let state = state.clone();
                async move { Ok::<_, Infallible>(handle(&req, &state)) }
            });
            if let Err(e) = http1::Builder::new()
                .serve_connection(TokioIo::new(stream), svc)
                .await
            {
                debug!(%peer, error = %e, "telemetry connection ended");
            }
        });
    }
}

fn text(status: StatusCode, content_type: &str, body: String) -> Response<Full<Bytes>> {
    let mut resp = Response::new(Full::new(Bytes::from(body)));
    *resp.status_mut() = status;
    if let Ok(v) = hyper::header::HeaderValue::from_str(content_type) {
        resp.headers_mut().insert(hyper::header::CONTENT_TYPE, v);
    }
    resp
}

fn handle(req: &Request<Incoming>, state: &ServerState) -> Response<Full<Bytes>> {
    if req.method() != Method::GET && req.method() != Method::HEAD {
        return text(
            StatusCode::METHOD_NOT_ALLOWED,
            "text/plain",
            "method not allowed\n".into(),
        );
    }
    match req.uri().path() {
        "/metrics" => {
            let stats = AgentStats {
                uptime_seconds: state.started.elapsed().as_secs_f64(),
                reloads_ok: state.reloads_ok.load(Ordering::Relaxed),
                reloads_failed: state.reloads_failed.load(Ordering::Relaxed),
            };
            text(
                StatusCode::OK,
                CONTENT_TYPE,
                render(&state.telemetry.snapshot(), &stats),
            )
        }
        "/health" => match state.health.get() {
            Phase::Running => text(
                StatusCode::OK,
                "application/json",
                "{\"status\":\"ok\"}\n".into(),
            ),
            Phase::Starting => text(
                StatusCode::SERVICE_UNAVAILABLE,
                "application/json",
                "{\"status\":\"starting\"}\n".into(),
            ),
            Phase::Stopping => text(
                StatusCode::SERVICE_UNAVAILABLE,
                "application/json",
                "{\"status\":\"stopping\"}\n".into(),
            ),
        },
        _ => text(
            StatusCode::NOT_FOUND,
            "text/plain",
            "not found: try /metrics or /health\n".into(),
        ),
    }
}
