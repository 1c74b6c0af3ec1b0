use std::sync::Arc;
use std::sync::atomic::AtomicU64;
use std::time::Duration;

use gleaner_api::listener::http::HttpLimits;
use gleaner_api::{Telemetry, shutdown_pair};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use super::{Limits, ServerState, bind, serve};
use crate::telemetry::health::{Health, Phase};

const SHORT: Limits = Limits {
    max_connections: 4,
    http: HttpLimits {
        header_timeout: Duration::from_millis(300),
        write_stall_timeout: Duration::from_millis(300),
        shutdown_grace: Some(Duration::from_secs(1)),
    },
};

async fn start() -> (String, gleaner_api::ShutdownTrigger) {
    let listener = bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap().to_string();
    let health = Health::default();
    health.set(Phase::Running);
    let state = ServerState {
        telemetry: Telemetry::new(),
        health,
        started: tokio::time::Instant::now(),
        reloads_ok: Arc::new(AtomicU64::new(0)),
        reloads_failed: Arc::new(AtomicU64::new(0)),
    };
    let (stop, sd) = shutdown_pair();
    tokio::spawn(serve(listener, state, SHORT, sd));
    (addr, stop)
}

/// Reads until the server closes the connection (panics after 10 s).
async fn until_closed(s: &mut TcpStream) -> String {
    let mut out = Vec::new();
    tokio::time::timeout(Duration::from_secs(10), s.read_to_end(&mut out))
        .await
        .expect("the server kept the idle connection open")
        .expect("read");
    String::from_utf8_lossy(&out).into_owned()
}

#[tokio::test]
async fn idle_connections_are_closed_and_the_endpoint_serves_again() {
    let (addr, _stop) = start().await;
    // Twice the connection cap, idle: the first four take every slot, the rest wait; each is
    // closed by the timeout in turn (a closed one frees its slot for a waiting one).
    let mut idle = Vec::new();
    for _ in 0..2 * SHORT.max_connections {
        idle.push(TcpStream::connect(&addr).await.unwrap());
    }
    for s in &mut idle {
        until_closed(s).await;
    }
    // A kept-alive connection after its answer is idle too.
    let mut s = TcpStream::connect(&addr).await.unwrap();
    s.write_all(b"GET /metrics HTTP/1.1\r\nhost: x\r\n\r\n")
        .await
        .unwrap();
    let answer = until_closed(&mut s).await;
    assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
    assert!(answer.contains("gleaner_uptime_seconds"), "{answer}");
}
