//! A fake kubelet for the `inputs.kubelet` tests: `GET /stats/summary` over TLS on
//! 127.0.0.1, as the kubelet's authenticated port (10250) serves it.
//!
//! What it follows: the kubelet Summary API, Go types `k8s.io/kubelet/pkg/apis/stats/v1alpha1`
//! (`Summary{node, pods}`, every numeric field optional, RFC 3339 `time` per block), served
//! as `application/json`; and the kubelet's authentication (`Authorization: Bearer <token>`,
//! 401 `Unauthorized` without it or with another token), as in
//! `kubernetes/kubernetes:pkg/kubelet/server/auth.go`. Other paths answer 404.
//!
//! The body is the fixture `plugins/inputs/testdata/kubelet/summary.json` (written from
//! those types: system containers, pods with several containers and volumes, a pod with
//! missing values) or a generated huge node ([`huge_summary`]). The certificate is
//! `tests/testdata/kubelet/server.pem`, signed by `ca.pem` (both made by `make-certs.sh` in
//! that directory, valid for 100 years), for `127.0.0.1` and `localhost`.
//!
//! Test controls: change the accepted token ([`FakeKubelet::set_token`]) or the body, make
//! requests hang without an answer ([`FakeKubelet::set_hang`]), and wait for a request that
//! matches ([`FakeKubelet::wait_for`]). A blocking thread per connection; `Connection:
//! close` on every answer. Stops when dropped.

use std::io::{BufRead, BufReader, Write};
use std::net::{TcpListener, TcpStream};
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Condvar, Mutex, PoisonError};
use std::time::{Duration, Instant};

use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};

/// One request the fake saw.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SeenRequest {
    /// `GET /stats/summary`.
    pub request_line: String,
    /// The bearer token sent, if any.
    pub token: Option<String>,
    /// The status answered (0: held, never answered).
    pub status: u16,
}

#[derive(Debug)]
struct State {
    token: String,
    body: Arc<Vec<u8>>,
    hang: bool,
    seen: Vec<SeenRequest>,
}

struct Shared {
    state: Mutex<State>,
    changed: Condvar,
    stop: AtomicBool,
}

impl Shared {
    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

/// A running fake kubelet.
pub struct FakeKubelet {
    /// `127.0.0.1:<port>`.
    pub addr: String,
    shared: Arc<Shared>,
}

/// `tests/testdata/kubelet/<name>`.
pub fn testdata(name: &str) -> PathBuf {
    crate::workspace_root()
        .join("tests/testdata/kubelet")
        .join(name)
}

/// The fixture summary (`plugins/inputs/testdata/kubelet/summary.json`).
pub fn fixture_summary() -> Vec<u8> {
    std::fs::read(crate::workspace_root().join("plugins/inputs/testdata/kubelet/summary.json"))
        .expect("kubelet fixture")
}

/// What `inputs.kubelet` must print for the fixture (`summary.lp` beside it).
pub fn fixture_lines() -> String {
    std::fs::read_to_string(
        crate::workspace_root().join("plugins/inputs/testdata/kubelet/summary.lp"),
    )
    .expect("kubelet golden")
}

/// A node with `pods` pods of two containers, one volume and network stats each (every
/// value present): `pods * 4 + 1` metrics.
pub fn huge_summary(pods: usize) -> Vec<u8> {
    let t = "2026-11-21T04:00:08Z";
    let mut s = format!(
        r#"{{"node":{{"nodeName":"big-node","cpu":{{"time":"{t}","usageNanoCores":1,"usageCoreNanoSeconds":2}}}},"pods":["#
    );
    for i in 0..pods {
        if i > 0 {
            s.push(',');
        }
        let c = |name: &str| {
            format!(
                r#"{{"name":"{name}","startTime":"{t}","cpu":{{"time":"{t}","usageNanoCores":{i},"usageCoreNanoSeconds":{}}},"memory":{{"time":"{t}","usageBytes":{},"workingSetBytes":{},"rssBytes":{},"pageFaults":{i},"majorPageFaults":0}},"rootfs":{{"time":"{t}","availableBytes":42949672960,"capacityBytes":107374182400,"usedBytes":{i}}},"logs":{{"time":"{t}","availableBytes":42949672960,"capacityBytes":107374182400,"usedBytes":{i}}}}}"#,
                i * 1000,
                i * 4096,
                i * 2048,
                i * 1024
            )
        };
        s.push_str(&format!(
            r#"{{"podRef":{{"name":"pod-{i:05}","namespace":"ns-{}","uid":"00000000-0000-4000-8000-{i:012}"}},"startTime":"{t}","containers":[{},{}],"network":{{"time":"{t}","name":"eth0","rxBytes":{i},"rxErrors":0,"txBytes":{i},"txErrors":0}},"volume":[{{"time":"{t}","name":"kube-api-access","availableBytes":8388608,"capacityBytes":8388608,"usedBytes":4096}}]}}"#,
            i % 50,
            c("app"),
            c("sidecar")
        ));
    }
    s.push_str("]}");
    s.into_bytes()
}

impl FakeKubelet {
    /// Starts a fake that accepts `token` and serves `body`.
    ///
    /// # Panics
    /// When the certificate fixtures cannot be read or the port bound.
    pub fn start(token: &str, body: Vec<u8>) -> FakeKubelet {
        let certs: Vec<CertificateDer<'static>> =
            CertificateDer::pem_file_iter(testdata("server.pem"))
                .expect("server.pem")
                .collect::<Result<_, _>>()
                .expect("server.pem certificates");
        let key = PrivateKeyDer::from_pem_file(testdata("server.key")).expect("server.key");
        let config = rustls::ServerConfig::builder_with_provider(Arc::new(
            rustls::crypto::ring::default_provider(),
        ))
        .with_safe_default_protocol_versions()
        .expect("protocol versions")
        .with_no_client_auth()
        .with_single_cert(certs, key)
        .expect("server certificate");
        let config = Arc::new(config);
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
        let addr = listener.local_addr().expect("addr").to_string();
        let shared = Arc::new(Shared {
            state: Mutex::new(State {
                token: token.to_owned(),
                body: Arc::new(body),
                hang: false,
                seen: Vec::new(),
            }),
            changed: Condvar::new(),
            stop: AtomicBool::new(false),
        });
        let accept_shared = Arc::clone(&shared);
        std::thread::spawn(move || {
            for conn in listener.incoming() {
                if accept_shared.stop.load(Ordering::SeqCst) {
                    return;
                }
                let Ok(conn) = conn else { continue };
                let shared = Arc::clone(&accept_shared);
                let config = Arc::clone(&config);
                std::thread::spawn(move || serve(conn, config, &shared));
            }
        });
        FakeKubelet { addr, shared }
    }

    /// `https://127.0.0.1:<port>`.
    pub fn url(&self) -> String {
        format!("https://{}", self.addr)
    }

    /// Accepts only `token` from now on.
    pub fn set_token(&self, token: &str) {
        self.shared.lock().token = token.to_owned();
    }

    /// Serves `body` from now on.
    pub fn set_body(&self, body: Vec<u8>) {
        self.shared.lock().body = Arc::new(body);
    }

    /// Holds requests without answering (until set back to false or dropped).
    pub fn set_hang(&self, hang: bool) {
        self.shared.lock().hang = hang;
        self.shared.changed.notify_all();
    }

    /// Every request so far.
    pub fn seen(&self) -> Vec<SeenRequest> {
        self.shared.lock().seen.clone()
    }

    /// Waits until `pred` holds for the requests seen so far; returns them.
    ///
    /// # Panics
    /// After `timeout`, listing what was seen.
    pub fn wait_for(
        &self,
        what: &str,
        timeout: Duration,
        pred: impl Fn(&[SeenRequest]) -> bool,
    ) -> Vec<SeenRequest> {
        let deadline = Instant::now() + timeout;
        let mut state = self.shared.lock();
        loop {
            if pred(&state.seen) {
                return state.seen.clone();
            }
            let left = deadline.saturating_duration_since(Instant::now());
            assert!(
                !left.is_zero(),
                "fake kubelet: timed out waiting for {what}: {:?}",
                state.seen
            );
            state = self
                .shared
                .changed
                .wait_timeout(state, left)
                .unwrap_or_else(PoisonError::into_inner)
                .0;
        }
    }
}

impl Drop for FakeKubelet {
    fn drop(&mut self) {
        self.shared.stop.store(true, Ordering::SeqCst);
        self.shared.changed.notify_all();
        // Wake the accept loop.
        drop(TcpStream::connect(&self.addr));
    }
}

/// One connection: TLS, one request, one answer (or none while hanging).
fn serve(conn: TcpStream, config: Arc<rustls::ServerConfig>, shared: &Shared) {
    let Ok(tls) = rustls::ServerConnection::new(config) else {
        return;
    };
    let mut stream = rustls::StreamOwned::new(tls, conn);
    let mut reader = BufReader::new(&mut stream);
    let mut request_line = String::new();
    let mut token = None;
    let mut line = String::new();
    loop {
        line.clear();
        match reader.read_line(&mut line) {
            Ok(0) | Err(_) => return, // a handshake refused by the client, or a hang-up
            Ok(_) => {}
        }
        let l = line.trim_end();
        if l.is_empty() {
            break;
        }
        if request_line.is_empty() {
            request_line = l.to_owned();
        } else if let Some((k, v)) = l.split_once(':')
            && k.eq_ignore_ascii_case("authorization")
        {
            token = v.trim().strip_prefix("Bearer ").map(str::to_owned);
        }
    }
    drop(reader);
    let mut state = shared.lock();
    if state.hang {
        state.seen.push(SeenRequest {
            request_line,
            token,
            status: 0,
        });
        shared.changed.notify_all();
        while state.hang && !shared.stop.load(Ordering::SeqCst) {
            state = shared
                .changed
                .wait(state)
                .unwrap_or_else(PoisonError::into_inner);
        }
        return; // hang up without an answer
    }
    let (status, reason, body): (u16, &str, Arc<Vec<u8>>) =
        if !request_line.starts_with("GET /stats/summary ") {
            (404, "Not Found", Arc::new(b"404 page not found\n".to_vec()))
        } else if token.as_deref() != Some(state.token.as_str()) {
            (401, "Unauthorized", Arc::new(b"Unauthorized".to_vec()))
        } else {
            (200, "OK", Arc::clone(&state.body))
        };
    state.seen.push(SeenRequest {
        request_line,
        token,
        status,
    });
    shared.changed.notify_all();
    drop(state);
    let kind = if status == 200 {
        "application/json"
    } else {
        "text/plain; charset=utf-8"
    };
    let head = format!(
        "HTTP/1.1 {status} {reason}\r\nContent-Type: {kind}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
        body.len()
    );
    if stream.write_all(head.as_bytes()).is_ok() && stream.write_all(&body).is_ok() {
        stream.conn.send_close_notify();
        drop(stream.flush());
    }
}
