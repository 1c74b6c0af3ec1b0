//! The input over real sockets on 127.0.0.1: TCP (framing across reads, back-pressure while
//! the pipeline is full, a client gone mid-frame, a 10 MiB line, idle timeout, the
//! connection cap, TLS), UDP (records with the sender's address; a flood beyond
//! `udp_pending_max` counted, nothing uncounted), a unix datagram socket, and once mode.

use std::sync::Arc;
use std::time::Duration;

use gleaner_api::test_util::{input_context, run_input_once};
use gleaner_api::{
    Batch, BuildContext, ComponentMetrics, Envelope, FieldValue, LogRecord, PluginConfig, RunMode,
    ShutdownTrigger,
};
use rustls::pki_types::pem::PemObject;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpStream, UdpSocket, UnixDatagram};
use tokio::sync::mpsc;
use tokio::task::JoinHandle;

use super::super::config::{self, Settings};
use super::super::{Bound, DESCRIPTOR, bind, serve};

const TESTDATA: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/testdata/syslog");

struct Running {
    addr: Option<std::net::SocketAddr>,
    metrics: Arc<ComponentMetrics>,
    rx: mpsc::Receiver<Envelope>,
    trigger: ShutdownTrigger,
    task: JoinHandle<()>,
}

fn settings(toml: &str) -> Settings {
    let cfg = PluginConfig::from_toml_str("inputs.syslog.0", toml).expect("toml");
    config::parse(&cfg).expect("valid config")
}

/// Binds and serves `toml` with a pipeline of `cap` batches.
async fn start(toml: &str, cap: usize) -> Running {
    let s = settings(toml);
    let bound: Bound = bind(&s).await.expect("bind");
    let addr = bound.local_addr();
    let bcx = BuildContext::for_test("inputs.syslog.0");
    let (cx, rx, trigger) = input_context(&bcx, RunMode::Continuous, cap);
    let task = tokio::spawn(serve(bound, s, cx));
    Running {
        addr,
        metrics: bcx.metrics,
        rx,
        trigger,
        task,
    }
}

impl Running {
    /// Receives records until `n` arrived (10 s at most).
    async fn records(&mut self, n: usize) -> Vec<LogRecord> {
        let mut out = Vec::new();
        while out.len() < n {
            let env = tokio::time::timeout(Duration::from_secs(10), self.rx.recv())
                .await
                .unwrap_or_else(|_| panic!("only {} of {n} records arrived", out.len()))
                .expect("pipeline open");
            let Batch::Logs(logs) = env.batch else {
                panic!("metrics from syslog")
            };
            out.extend(logs);
        }
        out
    }

    async fn stop(self) {
        self.trigger.trigger();
        tokio::time::timeout(Duration::from_secs(10), self.task)
            .await
            .expect("the input stops on shutdown")
            .expect("input task");
    }

    fn stat(&self, name: &str) -> f64 {
        self.metrics
            .snapshot()
            .plugin_stats
            .iter()
            .find(|s| s.name == name)
            .map_or(-1.0, |s| s.value)
    }
}

fn attr<'a>(r: &'a LogRecord, key: &str) -> Option<&'a str> {
    match r.attribute(key) {
        Some(FieldValue::String(s)) => Some(s),
        _ => None,
    }
}

async fn connect(r: &Running) -> TcpStream {
    TcpStream::connect(r.addr.expect("tcp address"))
        .await
        .expect("connect")
}

#[tokio::test]
async fn tcp_frames_split_across_writes_arrive_in_order_with_the_peer() {
    let mut r = start("listen = \"tcp://127.0.0.1:0\"", 16).await;
    let mut c = connect(&r).await;
    let stream = b"59 <165>1 2003-10-11T22:14:15.003Z host app 1 ID [a b=\"c\"] one\
<13>Dec  6 13:20:03 host tag[9]: two\n";
    for piece in stream.chunks(5) {
        c.write_all(piece).await.expect("write");
        c.flush().await.expect("flush");
    }
    let recs = r.records(2).await;
    assert_eq!(recs[0].body, b"one");
    assert_eq!(attr(&recs[0], "syslog.sd.a.b"), Some("c"));
    assert_eq!(attr(&recs[0], "syslog.peer"), Some("127.0.0.1"));
    assert_eq!(recs[1].body, b"two");
    assert_eq!(attr(&recs[1], "syslog.app_name"), Some("tag"));
    assert_eq!(attr(&recs[1], "syslog.proc_id"), Some("9"));
    drop(c);
    r.stop().await;
}

#[tokio::test]
async fn a_full_pipeline_stops_tcp_reads_and_loses_nothing() {
    // One batch in flight at most, and nobody draining it yet.
    let mut r = start("listen = \"tcp://127.0.0.1:0\"\nframing = \"newline\"", 1).await;
    let c = connect(&r).await;
    const N: usize = 200_000;
    let writer = tokio::spawn(async move {
        let mut c = c;
        let mut buf = Vec::new();
        for i in 0..N {
            buf.extend_from_slice(
                format!("<13>Dec  6 13:20:03 h app: message {i:06}\n").as_bytes(),
            );
        }
        c.write_all(&buf).await.expect("write");
        c.shutdown().await.expect("shutdown");
    });
    // The input fills the one slot, then waits with its next batch: reading stops.
    let m = Arc::clone(&r.metrics);
    let stalled = async {
        let mut last = u64::MAX;
        loop {
            tokio::time::sleep(Duration::from_millis(100)).await;
            let now = m.snapshot().events_received;
            if now == last {
                return now;
            }
            last = now;
        }
    };
    let held = tokio::time::timeout(Duration::from_secs(10), stalled)
        .await
        .expect("reading stalls");
    assert!(held < N as u64, "the input kept reading: {held}");
    assert!(!writer.is_finished(), "the sender must be pushed back");
    // Drain: everything arrives, once, in order.
    let recs = r.records(N).await;
    writer.await.expect("writer");
    for (i, rec) in recs.iter().enumerate() {
        assert_eq!(rec.body, format!("message {i:06}").as_bytes());
    }
    assert_eq!(r.metrics.snapshot().dropped, vec![]);
    r.stop().await;
}

#[tokio::test]
async fn a_client_gone_mid_frame_leaves_a_flagged_record_and_the_input_serves_on() {
    let mut r = start("listen = \"tcp://127.0.0.1:0\"", 16).await;
    let mut c = connect(&r).await;
    c.write_all(b"9 <13>whole100 <13>only a part")
        .await
        .expect("write");
    drop(c);
    let recs = r.records(2).await;
    assert_eq!(recs[0].body, b"whole");
    assert_eq!(recs[1].body, b"<13>only a part");
    assert_eq!(
        attr(&recs[1], "syslog.parse_error"),
        Some("incomplete_frame")
    );
    assert_eq!(r.stat("parse_errors_total"), 1.0);
    let mut c = connect(&r).await;
    c.write_all(b"<13>next\n").await.expect("write");
    assert_eq!(r.records(1).await[0].body, b"next");
    r.stop().await;
}

#[tokio::test]
async fn a_10_mib_line_is_cut_and_flagged_and_the_next_message_is_whole() {
    let mut r = start(
        "listen = \"tcp://127.0.0.1:0\"\nmax_message_bytes = \"64KiB\"",
        16,
    )
    .await;
    let mut c = connect(&r).await;
    let mut big = b"<13>Dec  6 13:20:03 host app: ".to_vec();
    big.resize(10 * 1024 * 1024, b'x');
    big.extend_from_slice(b"\n<13>Dec  6 13:20:03 host app: after\n");
    c.write_all(&big).await.expect("write");
    let recs = r.records(2).await;
    assert_eq!(
        recs[0].body.len(),
        64 * 1024 - b"<13>Dec  6 13:20:03 host app: ".len()
    );
    assert_eq!(
        recs[0].attribute("syslog.truncated"),
        Some(&FieldValue::Bool(true))
    );
    assert_eq!(recs[1].body, b"after");
    assert_eq!(r.stat("truncated_total"), 1.0);
    r.stop().await;
}

#[tokio::test]
async fn idle_connections_are_closed_and_the_cap_holds() {
    let r = start(
        "listen = \"tcp://127.0.0.1:0\"\nidle_timeout = \"200ms\"\nmax_connections = 1",
        16,
    )
    .await;
    let mut first = connect(&r).await;
    // Wait until the first connection is being served before the second.
    while r.stat("connections") < 1.0 {
        tokio::task::yield_now().await;
    }
    let mut second = connect(&r).await;
    let mut buf = [0u8; 1];
    let n = tokio::time::timeout(Duration::from_secs(5), second.read(&mut buf))
        .await
        .expect("the second connection is closed at once");
    assert!(matches!(n, Ok(0) | Err(_)));
    assert_eq!(
        r.metrics.snapshot().errors,
        vec![("too_many_connections", 1)]
    );
    // The first, silent, is closed after idle_timeout.
    let n = tokio::time::timeout(Duration::from_secs(5), first.read(&mut buf))
        .await
        .expect("the idle connection is closed");
    assert!(matches!(n, Ok(0) | Err(_)));
    assert_eq!(r.stat("idle_closed_total"), 1.0);
    r.stop().await;
}

#[tokio::test]
async fn tls_connections_are_served() {
    let toml = format!(
        "listen = \"tcp://127.0.0.1:0\"\ntls_cert_file = \"{TESTDATA}/tls/server.pem\"\n\
         tls_key_file = \"{TESTDATA}/tls/server.key\""
    );
    let mut r = start(&toml, 16).await;
    let mut roots = rustls::RootCertStore::empty();
    for cert in rustls::pki_types::CertificateDer::pem_file_iter(format!("{TESTDATA}/tls/ca.pem"))
        .expect("ca.pem")
    {
        roots.add(cert.expect("cert")).expect("add ca");
    }
    let client = rustls::ClientConfig::builder_with_provider(Arc::new(
        rustls::crypto::ring::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .expect("versions")
    .with_root_certificates(roots)
    .with_no_client_auth();
    let connector = tokio_rustls::TlsConnector::from(Arc::new(client));
    let tcp = connect(&r).await;
    let name = rustls::pki_types::ServerName::try_from("localhost").expect("name");
    let mut tls = connector.connect(name, tcp).await.expect("handshake");
    tls.write_all(b"15 <13>over TLS ok").await.expect("write");
    tls.flush().await.expect("flush");
    let recs = r.records(1).await;
    assert_eq!(recs[0].body, b"over TLS ok");
    // A plain-text client fails the handshake; it is counted, the listener serves on.
    let mut plain = connect(&r).await;
    plain.write_all(b"<13>not tls\n").await.expect("write");
    let mut buf = [0u8; 64];
    let _closed = tokio::time::timeout(Duration::from_secs(5), plain.read(&mut buf)).await;
    let deadline = tokio::time::Instant::now() + Duration::from_secs(5);
    while r.metrics.snapshot().errors.is_empty() && tokio::time::Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    assert_eq!(r.metrics.snapshot().errors, vec![("tls_handshake", 1)]);
    r.stop().await;
}

#[tokio::test]
async fn udp_datagrams_become_records() {
    let mut r = start("listen = \"udp://127.0.0.1:0\"", 16).await;
    let c = UdpSocket::bind("127.0.0.1:0").await.expect("client");
    let to = r.addr.expect("udp address");
    c.send_to(b"<34>1 2026-12-06T13:20:03Z h su - ID47 - hello\n", to)
        .await
        .expect("send");
    c.send_to(b"not syslog", to).await.expect("send");
    let recs = r.records(2).await;
    assert_eq!(recs[0].body, b"hello");
    assert_eq!(attr(&recs[0], "syslog.severity"), Some("crit"));
    assert_eq!(attr(&recs[0], "syslog.facility"), Some("auth"));
    assert_eq!(attr(&recs[0], "syslog.peer"), Some("127.0.0.1"));
    assert_eq!(recs[1].body, b"not syslog");
    assert_eq!(attr(&recs[1], "syslog.parse_error"), Some("invalid_pri"));
    assert!(
        r.stat("udp_socket_drops_total") >= 0.0,
        "the kernel's drops are exported"
    );
    r.stop().await;
}

#[tokio::test]
async fn a_udp_flood_beyond_what_is_held_is_counted_to_the_last_datagram() {
    let mut r = start(
        "listen = \"udp://127.0.0.1:0\"\nudp_pending_max = 100\nread_buffer_size = \"4MiB\"",
        1,
    )
    .await;
    let c = UdpSocket::bind("127.0.0.1:0").await.expect("client");
    let to = r.addr.expect("udp address");
    const N: u64 = 20_000;
    for i in 0..N {
        c.send_to(format!("<13>Dec  6 13:20:03 h app: {i}").as_bytes(), to)
            .await
            .expect("send");
    }
    // Everything sent is either received by the input or dropped by the kernel; what the
    // input received is either held, sent on, or dropped as queue_full.
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    loop {
        let received = r.metrics.snapshot().events_received;
        let kernel = r.stat("udp_socket_drops_total") as u64;
        if received + kernel == N {
            break;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "{received} + {kernel} != {N}"
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    let dropped = r.metrics.dropped_count("queue_full");
    assert!(
        dropped > 0,
        "the pipeline held one batch: the rest must be dropped"
    );
    // Drain: what was not dropped arrives (the one batch sent plus at most 100 held).
    let received = r.metrics.snapshot().events_received;
    let kept = (received - dropped) as usize;
    assert!(kept <= 1000 + 100, "{kept}");
    let recs = r.records(kept).await;
    assert_eq!(recs.len(), kept);
    r.stop().await;
}

#[tokio::test]
async fn a_unix_datagram_socket_serves_and_is_removed_on_shutdown() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("log.sock");
    // A stale socket file from an earlier run is replaced.
    drop(std::os::unix::net::UnixDatagram::bind(&path).expect("stale socket"));
    let mut r = start(
        &format!(
            "listen = \"unix://{}\"\nsocket_mode = \"0666\"",
            path.display()
        ),
        16,
    )
    .await;
    let c = UnixDatagram::unbound().expect("client");
    c.send_to(b"<14>Dec  6 13:20:03 app[7]: local message", &path)
        .await
        .expect("send");
    let recs = r.records(1).await;
    assert_eq!(recs[0].body, b"local message");
    assert_eq!(attr(&recs[0], "syslog.app_name"), Some("app"));
    assert_eq!(attr(&recs[0], "syslog.hostname"), None);
    assert_eq!(attr(&recs[0], "syslog.peer"), None);
    use std::os::unix::fs::PermissionsExt;
    let mode = std::fs::metadata(&path)
        .expect("socket")
        .permissions()
        .mode()
        & 0o777;
    assert_eq!(mode, 0o666);
    r.stop().await;
    assert!(
        std::fs::symlink_metadata(&path).is_err(),
        "socket file removed"
    );
}

#[tokio::test]
async fn a_file_in_the_way_of_the_unix_socket_is_an_error() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("log.sock");
    std::fs::write(&path, b"not a socket").expect("file");
    let s = settings(&format!("listen = \"unix://{}\"", path.display()));
    let Err(err) = bind(&s).await else {
        panic!("a regular file is never removed")
    };
    assert!(err.to_string().contains("not a socket"), "{err}");
    assert_eq!(std::fs::read(&path).expect("kept"), b"not a socket");
}

#[tokio::test]
async fn once_mode_does_not_listen() {
    let batches = run_input_once(&DESCRIPTOR, "listen = \"tcp://127.0.0.1:0\"").await;
    assert!(batches.is_empty());
}
