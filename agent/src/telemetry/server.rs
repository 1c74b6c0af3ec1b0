//! The `/metrics` and `/health` HTTP endpoint on `agent.http_listen` (and `/tap`, answered by
//! [`crate::tap::endpoint`]), behind the shared
//! listener protections ([`gleaner_api::listener`]): at most [`LIMITS`]`.max_connections`
//! connections at once (more wait in the kernel's backlog), each closed when it sends no
//! request for `header_timeout` or stops reading its response for `write_stall_timeout`, and
//! accept errors (out of descriptors) paused and logged at a bounded rate rather than spun.

use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use bytes::Bytes;
use gleaner_api::listener::http::{HttpLimits, serve_http1};
use gleaner_api::listener::{AcceptLoop, WhenFull};
use gleaner_api::{Shutdown, Telemetry};
use http_body_util::Full;
use hyper::body::Incoming;
use hyper::service::service_fn;
use hyper::{Method, Request, Response, StatusCode};
use tokio::net::TcpListener;

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

/// The limits of the endpoint's connections.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    /// Connections served at once; more wait until one closes.
    pub max_connections: usize,
    /// Header, idle and write-stall timeouts.
    pub http: HttpLimits,
}

/// What the agent serves with: scrapers and probes need a handful of connections, and a
/// request is a few headers.
pub const LIMITS: Limits = Limits {
    max_connections: 64,
    http: HttpLimits {
        header_timeout: Duration::from_secs(10),
        write_stall_timeout: Duration::from_secs(10),
        shutdown_grace: Some(Duration::from_secs(1)),
    },
};

/// Serves connections from `listener` until `shutdown` fires.
pub async fn serve(listener: TcpListener, state: ServerState, limits: Limits, shutdown: Shutdown) {
    let accept = AcceptLoop {
        name: "telemetry",
        max_connections: limits.max_connections,
        when_full: WhenFull::Wait,
        metrics: None,
    };
    let sd = shutdown.clone();
    accept
        .run(listener, shutdown, move |stream, peer| {
            let state = state.clone();
            let svc = service_fn(move |req: Request<Incoming>| {
                let state = state.clone();
                async move {
                    if req.uri().path() == "/tap" && req.method() == Method::GET {
                        return Ok::<_, Infallible>(
                            crate::tap::endpoint::serve(req.uri().query(), peer).await,
                        );
                    }
                    Ok::<_, Infallible>(handle(&req, &state))
                }
            });
            serve_http1("telemetry", stream, peer, svc, limits.http, sd.clone())
        })
        .await;
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

#[cfg(test)]
mod tests;
