use std::sync::Arc;
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

use super::{AcceptLoop, Backoff, WhenFull};
use crate::{ComponentKind, ComponentMetrics, shutdown_pair};

fn errors(m: &ComponentMetrics, reason: &str) -> u64 {
    m.snapshot()
        .errors
        .iter()
        .find(|(r, _)| *r == reason)
        .map_or(0, |(_, n)| *n)
}

/// A server that holds each connection until the client closes it, echoing one byte first.
async fn start(
    when_full: WhenFull,
    max: usize,
) -> (String, Arc<ComponentMetrics>, crate::ShutdownTrigger) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap().to_string();
    let metrics = Arc::new(ComponentMetrics::new("inputs.x", ComponentKind::Input, "x"));
    let (stop, sd) = shutdown_pair();
    let accept = AcceptLoop {
        name: "test",
        max_connections: max,
        when_full,
        metrics: Some(Arc::clone(&metrics)),
    };
    tokio::spawn(accept.run(listener, sd, |mut s: TcpStream, _| async move {
        let _w = s.write_all(b"!").await;
        let mut b = [0u8; 16];
        while matches!(s.read(&mut b).await, Ok(n) if n > 0) {}
    }));
    (addr, metrics, stop)
}

/// Connects and waits for the server's greeting; `None` when the server closed instead.
async fn greeted(addr: &str) -> (TcpStream, bool) {
    let mut s = TcpStream::connect(addr).await.unwrap();
    let mut b = [0u8; 1];
    let ok = matches!(s.read(&mut b).await, Ok(1));
    (s, ok)
}

#[tokio::test]
async fn refuse_closes_connections_past_the_cap_and_counts_them() {
    let (addr, metrics, _stop) = start(WhenFull::Refuse, 2).await;
    let (_a, ok_a) = greeted(&addr).await;
    let (_b, ok_b) = greeted(&addr).await;
    assert!(ok_a && ok_b);
    let (_c, ok_c) = greeted(&addr).await;
    assert!(!ok_c, "the third connection must be closed");
    assert_eq!(errors(&metrics, "too_many_connections"), 1);
    // A slot freed is a slot reused.
    drop(_a);
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    loop {
        let (_d, ok_d) = greeted(&addr).await;
        if ok_d {
            break;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "the freed slot never served again"
        );
        tokio::task::yield_now().await;
    }
}

#[tokio::test]
async fn wait_holds_connections_past_the_cap_until_a_slot_frees() {
    let (addr, metrics, _stop) = start(WhenFull::Wait, 1).await;
    let (a, ok_a) = greeted(&addr).await;
    assert!(ok_a);
    // Connected (the kernel's backlog), but not served while the only slot is taken.
    let mut b = TcpStream::connect(&addr).await.unwrap();
    let mut byte = [0u8; 1];
    let early = tokio::time::timeout(Duration::from_millis(200), b.read(&mut byte)).await;
    assert!(early.is_err(), "served past the cap: {early:?}");
    drop(a);
    assert_eq!(
        b.read(&mut byte).await.unwrap(),
        1,
        "served once the slot freed"
    );
    assert_eq!(errors(&metrics, "too_many_connections"), 0);
}

#[tokio::test]
async fn shutdown_stops_accepting() {
    let (addr, _metrics, stop) = start(WhenFull::Wait, 4).await;
    let (_a, ok) = greeted(&addr).await;
    assert!(ok);
    stop.trigger();
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    while TcpStream::connect(&addr).await.is_ok() {
        assert!(tokio::time::Instant::now() < deadline, "still accepting");
        tokio::task::yield_now().await;
    }
}

#[tokio::test(start_paused = true)]
async fn accept_failures_back_off_to_a_second_and_reset_on_success() {
    let mut b = Backoff::new("test");
    let e = std::io::Error::from_raw_os_error(24); // EMFILE
    let pauses: Vec<u128> = (0..10).map(|_| b.failed(&e).as_millis()).collect();
    assert_eq!(pauses, [10, 20, 40, 80, 160, 320, 640, 1000, 1000, 1000]);
    b.succeeded();
    assert_eq!(b.failed(&e).as_millis(), 10);
}

#[tokio::test(start_paused = true)]
async fn accept_failures_are_logged_at_most_once_per_ten_seconds() {
    let mut b = Backoff::new("test");
    let e = std::io::Error::from_raw_os_error(24);
    b.failed(&e);
    assert_eq!(b.quiet, 0, "the first failure is logged");
    for _ in 0..1000 {
        b.failed(&e);
    }
    assert_eq!(b.quiet, 1000, "the next ones within 10 s are only counted");
    tokio::time::advance(Duration::from_secs(10)).await;
    b.failed(&e);
    assert_eq!(b.quiet, 0, "a line (with the count) after 10 s");
}

#[cfg(feature = "http-server")]
mod http {
    use std::convert::Infallible;
    use std::time::Duration;

    use bytes::Bytes;
    use http_body_util::Full;
    use hyper::Response;
    use hyper::service::service_fn;
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    use tokio::net::{TcpListener, TcpStream};

    use crate::listener::http::{HttpLimits, serve_http1};
    use crate::listener::{AcceptLoop, WhenFull};
    use crate::shutdown_pair;

    const BIG: usize = 32 << 20;

    async fn start(limits: HttpLimits) -> (String, crate::ShutdownTrigger) {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap().to_string();
        let (stop, sd) = shutdown_pair();
        let accept = AcceptLoop {
            name: "test",
            max_connections: 8,
            when_full: WhenFull::Wait,
            metrics: None,
        };
        let sd2 = sd.clone();
        tokio::spawn(accept.run(listener, sd, move |s, peer| {
            let svc = service_fn(|req: hyper::Request<hyper::body::Incoming>| async move {
                let n = if req.uri().path() == "/big" { BIG } else { 2 };
                Ok::<_, Infallible>(Response::new(Full::new(Bytes::from(vec![b'x'; n]))))
            });
            serve_http1("test", s, peer, svc, limits, sd2.clone())
        }));
        (addr, stop)
    }

    fn limits() -> HttpLimits {
        HttpLimits {
            header_timeout: Duration::from_millis(300),
            write_stall_timeout: Duration::from_millis(300),
            shutdown_grace: Some(Duration::from_secs(1)),
        }
    }

    /// Reads until the server closes; the bytes read.
    async fn read_to_close(s: &mut TcpStream) -> Vec<u8> {
        let mut out = Vec::new();
        let r = tokio::time::timeout(Duration::from_secs(10), s.read_to_end(&mut out)).await;
        assert!(r.is_ok(), "the server never closed the connection");
        out
    }

    #[tokio::test]
    async fn a_silent_connection_is_closed_by_the_header_timeout() {
        let (addr, _stop) = start(limits()).await;
        let mut s = TcpStream::connect(&addr).await.unwrap();
        let got = read_to_close(&mut s).await;
        // hyper answers 408 or just closes: either way nothing was served.
        assert!(!got.starts_with(b"HTTP/1.1 200"), "{got:?}");
    }

    #[tokio::test]
    async fn an_idle_kept_alive_connection_is_closed_after_its_response() {
        let (addr, _stop) = start(limits()).await;
        let mut s = TcpStream::connect(&addr).await.unwrap();
        s.write_all(b"GET / HTTP/1.1\r\nhost: x\r\n\r\n")
            .await
            .unwrap();
        let got = read_to_close(&mut s).await;
        assert!(got.starts_with(b"HTTP/1.1 200"), "{got:?}");
    }

    #[tokio::test]
    async fn a_client_that_stops_reading_is_dropped() {
        let (addr, _stop) = start(limits()).await;
        let mut s = TcpStream::connect(&addr).await.unwrap();
        s.write_all(b"GET /big HTTP/1.1\r\nhost: x\r\n\r\n")
            .await
            .unwrap();
        // Read nothing for longer than the stall timeout, then drain: the response stops
        // short of its 8 MiB because the server gave up on the connection.
        tokio::time::sleep(Duration::from_secs(1)).await;
        let got = read_to_close(&mut s).await;
        assert!(
            got.len() < BIG,
            "the whole response was written: {}",
            got.len()
        );
    }
}
