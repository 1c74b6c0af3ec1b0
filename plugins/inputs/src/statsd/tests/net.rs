//! The input over real sockets on 127.0.0.1: UDP datagrams and TCP streams are aggregated
//! and shipped (the last interval on shutdown), TCP framing survives split reads and
//! overlong lines, the connection limit holds, idle connections are closed, once mode does not listen, and a busy port
//! is an error.

use std::sync::Arc;
use std::time::Duration;

use gleaner_api::test_util::{input_context, run_input_once};
use gleaner_api::{
    Batch, BuildContext, ComponentMetrics, Envelope, PluginConfig, RunMode, ShutdownTrigger,
    StatKind,
};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream, UdpSocket};
use tokio::sync::mpsc;
use tokio::task::JoinHandle;

use super::super::config::{self, Settings};
use super::super::{DESCRIPTOR, Socket, serve};
use super::line_protocol;

struct Running {
    addr: std::net::SocketAddr,
    metrics: Arc<ComponentMetrics>,
    rx: mpsc::Receiver<Envelope>,
    trigger: ShutdownTrigger,
    task: JoinHandle<Result<(), gleaner_api::PluginError>>,
}

fn settings(toml: &str) -> Settings {
    config::parse(&PluginConfig::from_toml_str("inputs.statsd.0", toml).unwrap()).unwrap()
}

async fn start(toml: &str, tcp: bool) -> Running {
    let bcx = BuildContext::for_test("inputs.statsd.0");
    let (socket, addr) = if tcp {
        let l = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let a = l.local_addr().unwrap();
        (Socket::Tcp(l), a)
    } else {
        let s = UdpSocket::bind("127.0.0.1:0").await.unwrap();
        let a = s.local_addr().unwrap();
        (Socket::Udp(s), a)
    };
    let (cx, rx, trigger) = input_context(&bcx, RunMode::Continuous, 16);
    let task = tokio::spawn(serve(socket, settings(toml), cx));
    Running {
        addr,
        metrics: bcx.metrics,
        rx,
        trigger,
        task,
    }
}

/// Waits (with a deadline) until `n` lines were received.
async fn wait_lines(m: &ComponentMetrics, n: u64) {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    while m.snapshot().events_received < n {
        assert!(tokio::time::Instant::now() < deadline, "{:?}", m.snapshot());
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
}

fn stat(m: &ComponentMetrics, name: &str) -> f64 {
    let s = m.snapshot();
    let st = s.plugin_stats.iter().find(|s| s.name == name).unwrap();
    assert!(matches!(st.kind, StatKind::Counter | StatKind::Gauge));
    st.value
}

/// Stops the input and returns what it shipped, timestamps zeroed, as line protocol.
async fn stop(mut r: Running) -> (String, Arc<ComponentMetrics>) {
    r.trigger.trigger();
    let mut metrics = Vec::new();
    while let Some(env) = r.rx.recv().await {
        let Batch::Metrics(m) = env.batch else {
            panic!("logs from statsd")
        };
        metrics.extend(m);
    }
    r.task.await.unwrap().unwrap();
    for m in &mut metrics {
        m.timestamp = 0;
    }
    (line_protocol(&metrics), r.metrics)
}

#[tokio::test]
async fn udp_datagrams_are_aggregated_and_shipped_on_shutdown() {
    let r = start("", false).await;
    let client = UdpSocket::bind("127.0.0.1:0").await.unwrap();
    for p in [
        "req:1|c|#env:prod\nreq:2|c|#env:prod",
        "temp:20|g\ntemp:+1.5|g",
        "garbage line\n",
        "lat:10|ms\nlat:30|ms",
        "who:a|s\nwho:b|s\nwho:a|s",
    ] {
        client.send_to(p.as_bytes(), r.addr).await.unwrap();
    }
    wait_lines(&r.metrics, 10).await;
    assert_eq!(stat(&r.metrics, "packets_received_total"), 5.0);
    let (lp, m) = stop(r).await;
    assert_eq!(
        lp,
        "req,env=prod,metric_type=counter value=3i 0\n\
         temp,metric_type=gauge value=21.5 0\n\
         lat,metric_type=timing mean=20,median=20,stddev=10,sum=40,upper=30,lower=10,count=2i,90_percentile=30 0\n\
         who,metric_type=set value=2i 0\n"
    );
    assert_eq!(m.dropped_count("malformed"), 1);
}

#[tokio::test]
async fn tcp_framing_survives_split_reads_and_drops_overlong_lines() {
    let r = start("protocol = \"tcp\"", true).await;
    let mut c = TcpStream::connect(r.addr).await.unwrap();
    c.write_all(b"hits:1|c\nhits:").await.unwrap();
    c.flush().await.unwrap();
    wait_lines(&r.metrics, 1).await;
    c.write_all(b"2|c\n").await.unwrap();
    let long = vec![b'x'; 70 * 1024];
    c.write_all(&long).await.unwrap();
    c.write_all(b":1|c\nhits:4|c\nlast:1|g").await.unwrap();
    c.shutdown().await.unwrap();
    drop(c);
    wait_lines(&r.metrics, 4).await;
    let (lp, m) = stop(r).await;
    assert_eq!(
        lp,
        "hits,metric_type=counter value=7i 0\nlast,metric_type=gauge value=1 0\n"
    );
    assert_eq!(m.dropped_count("malformed"), 1);
}

#[tokio::test]
async fn tcp_connections_over_the_limit_are_closed() {
    let r = start("protocol = \"tcp\"\nmax_tcp_connections = 1", true).await;
    let mut a = TcpStream::connect(r.addr).await.unwrap();
    a.write_all(b"n:1|c\n").await.unwrap();
    wait_lines(&r.metrics, 1).await;
    let mut b = TcpStream::connect(r.addr).await.unwrap();
    let mut buf = [0u8; 8];
    let n = tokio::time::timeout(Duration::from_secs(10), b.read(&mut buf))
        .await
        .expect("the refused connection is closed")
        .unwrap_or(0);
    assert_eq!(n, 0);
    let errors = r.metrics.snapshot().errors;
    assert_eq!(errors, vec![("too_many_connections", 1)]);
    drop(a);
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    while stat(&r.metrics, "tcp_connections") > 0.0 {
        assert!(tokio::time::Instant::now() < deadline);
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    let mut c = TcpStream::connect(r.addr).await.unwrap();
    c.write_all(b"n:1|c\n").await.unwrap();
    wait_lines(&r.metrics, 2).await;
    assert_eq!(stat(&r.metrics, "tcp_connections_total"), 2.0);
    drop(c);
    let (lp, _) = stop(r).await;
    assert_eq!(lp, "n,metric_type=counter value=2i 0\n");
}

#[tokio::test]
async fn idle_tcp_connections_are_closed_and_free_their_slots() {
    let r = start(
        "protocol = \"tcp\"\nmax_tcp_connections = 2\ntcp_idle_timeout = \"300ms\"",
        true,
    )
    .await;
    // Two clients take every slot and go quiet (one after a line, one at once).
    let mut a = TcpStream::connect(r.addr).await.unwrap();
    a.write_all(b"n:1|c\n").await.unwrap();
    wait_lines(&r.metrics, 1).await;
    let mut b = TcpStream::connect(r.addr).await.unwrap();
    let mut buf = [0u8; 8];
    for idle in [&mut a, &mut b] {
        let n = tokio::time::timeout(Duration::from_secs(10), idle.read(&mut buf))
            .await
            .expect("the idle connection is closed")
            .unwrap_or(0);
        assert_eq!(n, 0);
    }
    let errors = r.metrics.snapshot().errors;
    assert_eq!(errors, vec![("idle_timeout", 2)]);
    // Their slots serve new clients.
    let mut c = TcpStream::connect(r.addr).await.unwrap();
    let mut d = TcpStream::connect(r.addr).await.unwrap();
    c.write_all(b"n:1|c\n").await.unwrap();
    d.write_all(b"n:1|c\n").await.unwrap();
    wait_lines(&r.metrics, 3).await;
    drop((c, d));
    let (lp, m) = stop(r).await;
    assert_eq!(lp, "n,metric_type=counter value=3i 0\n");
    assert!(
        !m.snapshot()
            .errors
            .iter()
            .any(|(r, _)| *r == "too_many_connections")
    );
}

#[tokio::test]
async fn once_mode_does_not_listen() {
    // 192.0.2.1 (TEST-NET-1) is not a local address: binding it would fail the run.
    let batches = run_input_once(&DESCRIPTOR, "service_address = \"192.0.2.1:8125\"").await;
    assert!(batches.is_empty());
}

#[tokio::test]
async fn a_busy_port_is_an_error() {
    let busy = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let toml = format!(
        "protocol = \"tcp\"\nservice_address = \"{}\"",
        busy.local_addr().unwrap()
    );
    let bcx = BuildContext::for_test("inputs.statsd.0");
    let cfg = PluginConfig::from_toml_str("inputs.statsd.0", &toml).unwrap();
    let input = (DESCRIPTOR.build)(&cfg, &bcx).unwrap();
    let (cx, _rx, _trigger) = input_context(&bcx, RunMode::Continuous, 1);
    let err = input.run(cx).await.unwrap_err();
    assert!(err.to_string().contains("cannot listen"), "{err}");
}
