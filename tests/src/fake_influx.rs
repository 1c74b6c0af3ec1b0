//! A controllable InfluxDB 1.x write endpoint for buffer and delivery tests, following the
//! InfluxDB 1.x HTTP API (`POST /write` answering 204; `/query` for `CREATE DATABASE`;
//! `GET /ping` 204; error bodies `{"error":"..."}`; `Retry-After` on 429/503), as described
//! in docs/protocols.md ("InfluxDB line protocol").
//!
//! The test decides its behaviour at any moment: accept, answer a given status (with an
//! optional `Retry-After`), answer slowly, or be down (the port refuses connections). It
//! records every line it accepted, in arrival order. Plain HTTP/1.1 with keep-alive on std
//! threads; bodies must be `identity` (configure the output with `content_encoding =
//! "identity"`).

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// How the fake answers `POST /write`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Mode {
    /// 204, lines recorded.
    Accept,
    /// This status with this body; `Retry-After` when given. Nothing recorded.
    Fail {
        /// HTTP status.
        status: u16,
        /// `Retry-After` seconds.
        retry_after: Option<u32>,
        /// The `error` text.
        error: String,
    },
    /// Wait, then accept.
    Slow(Duration),
}

#[derive(Default)]
struct State {
    lines: Vec<String>,
    requests: usize,
    statuses: Vec<u16>,
}

/// The fake server.
pub struct FakeInflux {
    addr: SocketAddr,
    mode: Arc<Mutex<Mode>>,
    state: Arc<Mutex<State>>,
    up: Arc<AtomicBool>,
    stop: Arc<AtomicBool>,
}

impl FakeInflux {
    /// Starts on a free port of 127.0.0.1, accepting.
    ///
    /// # Panics
    /// When it cannot bind.
    pub fn start() -> FakeInflux {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
        let addr = listener.local_addr().expect("addr");
        let f = FakeInflux {
            addr,
            mode: Arc::new(Mutex::new(Mode::Accept)),
            state: Arc::new(Mutex::new(State::default())),
            up: Arc::new(AtomicBool::new(true)),
            stop: Arc::new(AtomicBool::new(false)),
        };
        f.spawn_acceptor(listener);
        f
    }

    /// `http://127.0.0.1:port`.
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// Changes how `/write` is answered.
    pub fn set_mode(&self, mode: Mode) {
        *self.mode.lock().expect("mode") = mode;
    }

    /// Closes the port: new connections are refused and open ones are cut.
    pub fn down(&self) {
        self.up.store(false, Ordering::SeqCst);
        // Wake the acceptor so it drops the listener.
        drop(TcpStream::connect_timeout(
            &self.addr,
            Duration::from_millis(200),
        ));
        let deadline = Instant::now() + Duration::from_secs(5);
        while TcpStream::connect_timeout(&self.addr, Duration::from_millis(200)).is_ok() {
            assert!(Instant::now() < deadline, "fake influx did not go down");
            std::thread::sleep(Duration::from_millis(10));
        }
    }

    /// Opens the port again.
    ///
    /// # Panics
    /// When the port cannot be bound again.
    pub fn up(&self) {
        let deadline = Instant::now() + Duration::from_secs(10);
        let listener = loop {
            match TcpListener::bind(self.addr) {
                Ok(l) => break l,
                Err(e) => {
                    assert!(
                        Instant::now() < deadline,
                        "cannot rebind {}: {e}",
                        self.addr
                    );
                    std::thread::sleep(Duration::from_millis(20));
                }
            }
        };
        self.up.store(true, Ordering::SeqCst);
        self.spawn_acceptor(listener);
    }

    /// Every accepted line so far, in arrival order.
    pub fn lines(&self) -> Vec<String> {
        self.state.lock().expect("state").lines.clone()
    }

    /// Number of accepted lines.
    pub fn line_count(&self) -> usize {
        self.state.lock().expect("state").lines.len()
    }

    /// Statuses answered to `/write`, in order.
    pub fn statuses(&self) -> Vec<u16> {
        self.state.lock().expect("state").statuses.clone()
    }

    /// Waits until `pred(lines)` holds.
    ///
    /// # Panics
    /// After `timeout`.
    pub fn wait_for(&self, timeout: Duration, what: &str, pred: impl Fn(&[String]) -> bool) {
        let deadline = Instant::now() + timeout;
        loop {
            {
                let s = self.state.lock().expect("state");
                if pred(&s.lines) {
                    return;
                }
                assert!(
                    Instant::now() < deadline,
                    "timed out waiting for {what}: {} lines, {} requests",
                    s.lines.len(),
                    s.requests
                );
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    fn spawn_acceptor(&self, listener: TcpListener) {
        let (mode, state, up, stop) = (
            Arc::clone(&self.mode),
            Arc::clone(&self.state),
            Arc::clone(&self.up),
            Arc::clone(&self.stop),
        );
        std::thread::spawn(move || {
            for conn in listener.incoming() {
                if !up.load(Ordering::SeqCst) || stop.load(Ordering::SeqCst) {
                    return;
                }
                let Ok(conn) = conn else { continue };
                let (mode, state, up) = (Arc::clone(&mode), Arc::clone(&state), Arc::clone(&up));
                std::thread::spawn(move || serve(conn, &mode, &state, &up));
            }
        });
    }
}

impl Drop for FakeInflux {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        drop(TcpStream::connect_timeout(
            &self.addr,
            Duration::from_millis(200),
        ));
    }
}

fn serve(conn: TcpStream, mode: &Mutex<Mode>, state: &Mutex<State>, up: &AtomicBool) {
    if conn
        .set_read_timeout(Some(Duration::from_millis(200)))
        .is_err()
    {
        return;
    }
    let Ok(mut writer) = conn.try_clone() else {
        return;
    };
    let mut reader = BufReader::new(conn);
    loop {
        // Read the request head, checking every 200 ms whether we went down.
        let mut head = Vec::new();
        loop {
            if !up.load(Ordering::SeqCst) {
                return;
            }
            let mut line = String::new();
            match reader.read_line(&mut line) {
                Ok(0) => return,
                Ok(_) => {
                    let end = line == "\r\n";
                    head.push(line);
                    if end {
                        break;
                    }
                }
                Err(e)
                    if matches!(
                        e.kind(),
                        std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
                    ) => {}
                Err(_) => return,
            }
        }
        let request_line = head.first().cloned().unwrap_or_default();
        let length: usize = head
            .iter()
            .find_map(|h| {
                let (k, v) = h.split_once(':')?;
                k.eq_ignore_ascii_case("content-length")
                    .then(|| v.trim().parse().ok())
                    .flatten()
            })
            .unwrap_or(0);
        let mut body = vec![0u8; length];
        let mut got = 0;
        while got < length {
            match reader.read(&mut body[got..]) {
                Ok(0) => return,
                Ok(n) => got += n,
                Err(e)
                    if matches!(
                        e.kind(),
                        std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
                    ) =>
                {
                    if !up.load(Ordering::SeqCst) {
                        return;
                    }
                }
                Err(_) => return,
            }
        }
        let path = request_line.split_whitespace().nth(1).unwrap_or("");
        let response = if path.starts_with("/write") {
            let mode = mode.lock().expect("mode").clone();
            let (status, extra, text) = match mode {
                Mode::Accept => (204, String::new(), String::new()),
                Mode::Slow(d) => {
                    std::thread::sleep(d);
                    (204, String::new(), String::new())
                }
                Mode::Fail {
                    status,
                    retry_after,
                    error,
                } => (
                    status,
                    retry_after
                        .map(|s| format!("Retry-After: {s}\r\n"))
                        .unwrap_or_default(),
                    format!("{{\"error\":{}}}", json_string(&error)),
                ),
            };
            if !up.load(Ordering::SeqCst) {
                return;
            }
            let mut s = state.lock().expect("state");
            s.requests += 1;
            s.statuses.push(status);
            if status == 204 {
                let text = String::from_utf8_lossy(&body);
                s.lines
                    .extend(text.lines().filter(|l| !l.is_empty()).map(str::to_owned));
            }
            drop(s);
            format!(
                "HTTP/1.1 {status} X\r\nContent-Type: application/json\r\nX-Influxdb-Version: 1.8.10\r\n{extra}Content-Length: {}\r\n\r\n{text}",
                text.len()
            )
        } else if path.starts_with("/query") {
            let text = "{\"results\":[{\"statement_id\":0}]}";
            format!(
                "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n{text}",
                text.len()
            )
        } else {
            "HTTP/1.1 204 No Content\r\nX-Influxdb-Version: 1.8.10\r\nContent-Length: 0\r\n\r\n"
                .to_owned()
        };
        if writer.write_all(response.as_bytes()).is_err() {
            return;
        }
    }
}

fn json_string(s: &str) -> String {
    let mut out = String::from("\"");
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}
