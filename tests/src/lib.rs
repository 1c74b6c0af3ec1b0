//! `gleaner-e2e`: helpers for end-to-end tests of the built `gleaner` binary: start it on a
//! config in a temp dir, wait for `/health`, speak plain HTTP/1.1 to it, signal it, and read
//! what it wrote. The binary is `$GLEANER_BIN`, else `target/debug/gleaner` (scripts/test.sh
//! builds it first; if it is missing, it is built here).

pub mod exposition;
pub mod fake_hec;
pub mod fake_http;
pub mod fake_influx;
pub mod fake_kube;
pub mod fake_kubelet;
pub mod fake_server;
pub mod logs;
pub mod peers;
pub mod workload;

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::time::{Duration, Instant};

/// The workspace root.
pub fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

/// Path of the agent binary, building it if needed.
///
/// # Panics
/// When the binary cannot be found or built.
pub fn gleaner_bin() -> PathBuf {
    if let Ok(p) = std::env::var("GLEANER_BIN") {
        return PathBuf::from(p);
    }
    let target = std::env::var("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|_| workspace_root().join("target"));
    let bin = target.join("debug").join("gleaner");
    if std::fs::metadata(&bin).is_err() {
        let status = Command::new(std::env::var("CARGO").unwrap_or_else(|_| "cargo".into()))
            .args(["build", "-p", "gleaner", "--bin", "gleaner"])
            .current_dir(workspace_root())
            .status()
            .expect("run cargo build");
        assert!(status.success(), "cargo build -p gleaner failed");
    }
    bin
}

/// A free TCP port on 127.0.0.1 (bound and released; good enough for tests).
pub fn free_port() -> u16 {
    let l = TcpListener::bind("127.0.0.1:0").expect("bind 127.0.0.1:0");
    l.local_addr().expect("local addr").port()
}

/// An HTTP response.
#[derive(Debug)]
pub struct HttpResponse {
    /// Status code.
    pub status: u16,
    /// Headers, names lowercased.
    pub headers: Vec<(String, String)>,
    /// Body.
    pub body: String,
}

impl HttpResponse {
    /// A header's value.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }
}

/// One HTTP/1.1 request with `Connection: close`.
pub fn http(
    addr: &str,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    body: &[u8],
) -> std::io::Result<HttpResponse> {
    let mut s = TcpStream::connect(addr)?;
    s.set_read_timeout(Some(Duration::from_secs(30)))?;
    let mut req = format!(
        "{method} {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\nContent-Length: {}\r\n",
        body.len()
    );
    for (k, v) in headers {
        req.push_str(&format!("{k}: {v}\r\n"));
    }
    req.push_str("\r\n");
    s.write_all(req.as_bytes())?;
    s.write_all(body)?;
    let mut raw = Vec::new();
    s.read_to_end(&mut raw)?;
    let text = String::from_utf8_lossy(&raw).into_owned();
    let (head, rest) = text.split_once("\r\n\r\n").unwrap_or((&text, ""));
    let mut lines = head.lines();
    let status = lines
        .next()
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|c| c.parse().ok())
        .ok_or_else(|| std::io::Error::other(format!("bad response: {text:?}")))?;
    let headers: Vec<(String, String)> = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(k, v)| (k.trim().to_ascii_lowercase(), v.trim().to_owned()))
        .collect();
    let chunked = headers
        .iter()
        .any(|(k, v)| k == "transfer-encoding" && v.contains("chunked"));
    let body = if chunked {
        dechunk(rest)
    } else {
        rest.to_owned()
    };
    Ok(HttpResponse {
        status,
        headers,
        body,
    })
}

fn dechunk(mut s: &str) -> String {
    let mut out = String::new();
    while let Some((size, rest)) = s.split_once("\r\n") {
        let Ok(n) = usize::from_str_radix(size.trim(), 16) else {
            break;
        };
        if n == 0 || rest.len() < n {
            break;
        }
        out.push_str(&rest[..n]);
        s = rest[n..].trim_start_matches("\r\n");
    }
    out
}

/// A running agent.
pub struct Agent {
    /// The child process.
    pub child: Child,
    /// Its temp dir (config, stdout, stderr, outputs).
    pub dir: tempfile::TempDir,
    /// `agent.http_listen`.
    pub telemetry_addr: String,
    /// The descriptor limit (`RLIMIT_NOFILE`) it runs under, if the test set one.
    pub nofile: Option<u32>,
}

impl Agent {
    /// Writes `config` (where `{dir}` stands for the temp dir and `{telemetry}` for a free
    /// address) to `gleaner.toml` and starts the agent; waits until `/health` says 200.
    ///
    /// # Panics
    /// When the agent does not become healthy in 30 s.
    pub fn start(config: &str) -> Agent {
        Self::start_with(config, None)
    }

    /// [`Agent::start`] with at most `nofile` open descriptors (`ulimit -n`), as a
    /// container with a low limit would run it.
    ///
    /// # Panics
    /// When the agent does not become healthy in 30 s.
    pub fn start_limited(config: &str, nofile: u32) -> Agent {
        Self::start_with(config, Some(nofile))
    }

    /// [`Agent::start`] with `agent.http_listen` on `telemetry_addr`, chosen by the test (a
    /// peer that scrapes the agent must know the address before the agent starts).
    ///
    /// # Panics
    /// When the agent does not become healthy in 30 s.
    pub fn start_at(config: &str, telemetry_addr: &str) -> Agent {
        Self::start_on(config, None, telemetry_addr.to_owned())
    }

    fn start_with(config: &str, nofile: Option<u32>) -> Agent {
        Self::start_on(config, nofile, format!("127.0.0.1:{}", free_port()))
    }

    fn start_on(config: &str, nofile: Option<u32>, telemetry_addr: String) -> Agent {
        let dir = tempfile::tempdir().expect("tempdir");
        let config = config
            .replace("{dir}", &dir.path().display().to_string())
            .replace("{telemetry}", &telemetry_addr);
        std::fs::write(dir.path().join("gleaner.toml"), config).expect("write config");
        let child = spawn_agent(dir.path(), nofile);
        let mut agent = Agent {
            child,
            dir,
            telemetry_addr,
            nofile,
        };
        agent.wait_healthy();
        agent
    }

    /// Kills the agent with SIGKILL (no chance to flush anything) and reaps it.
    ///
    /// # Panics
    /// When it cannot be killed.
    pub fn kill9(&mut self) {
        self.child.kill().expect("kill -9");
        self.child.wait().expect("reap");
    }

    /// Starts the agent again on the same config and directory (after `kill9` or an exit);
    /// waits until `/health` says 200.
    pub fn restart(&mut self) {
        self.child = spawn_agent(self.dir.path(), self.nofile);
        self.wait_healthy();
    }

    /// Path inside the temp dir.
    pub fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    /// The agent's stderr so far.
    pub fn stderr(&self) -> String {
        std::fs::read_to_string(self.path("stderr")).unwrap_or_default()
    }

    /// Polls `/health` until 200.
    ///
    /// # Panics
    /// When the agent exits or stays unhealthy for 30 s.
    pub fn wait_healthy(&mut self) {
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            if let Ok(Some(status)) = self.child.try_wait() {
                panic!(
                    "gleaner exited with {status} before becoming healthy:\n{}",
                    self.stderr()
                );
            }
            if let Ok(r) = http(&self.telemetry_addr, "GET", "/health", &[], b"")
                && r.status == 200
            {
                return;
            }
            assert!(
                Instant::now() < deadline,
                "gleaner not healthy after 30s:\n{}",
                self.stderr()
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// Polls `/metrics` until `pred` holds for its body.
    ///
    /// # Panics
    /// After 30 s.
    pub fn wait_metrics(&self, what: &str, pred: impl Fn(&str) -> bool) -> String {
        self.wait_metrics_for(Duration::from_secs(30), what, pred)
    }

    /// Polls `/metrics` until `pred` holds for its body, for at most `limit`.
    ///
    /// # Panics
    /// After `limit`.
    pub fn wait_metrics_for(
        &self,
        limit: Duration,
        what: &str,
        pred: impl Fn(&str) -> bool,
    ) -> String {
        let deadline = Instant::now() + limit;
        loop {
            if let Ok(r) = http(&self.telemetry_addr, "GET", "/metrics", &[], b"")
                && pred(&r.body)
            {
                return r.body;
            }
            assert!(
                Instant::now() < deadline,
                "timed out waiting for {what}:\n{}",
                self.stderr()
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// Sends a signal by name (`TERM`, `HUP`, `INT`).
    ///
    /// # Panics
    /// When `kill` cannot be run.
    pub fn signal(&self, sig: &str) {
        let ok = Command::new("kill")
            .arg(format!("-{sig}"))
            .arg(self.child.id().to_string())
            .status()
            .expect("run kill")
            .success();
        assert!(ok, "kill -{sig} failed");
    }

    /// Waits for the agent to exit.
    ///
    /// # Panics
    /// After `timeout`.
    pub fn wait_exit(&mut self, timeout: Duration) -> ExitStatus {
        let deadline = Instant::now() + timeout;
        loop {
            if let Some(s) = self.child.try_wait().expect("try_wait") {
                return s;
            }
            assert!(
                Instant::now() < deadline,
                "gleaner did not exit in {timeout:?}:\n{}",
                self.stderr()
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

impl Drop for Agent {
    fn drop(&mut self) {
        if let Ok(None) = self.child.try_wait() {
            let _kill = self.child.kill();
            let _wait = self.child.wait();
        }
    }
}

/// Starts the binary (under `ulimit -n nofile` when given: a shell sets it and `exec`s, so
/// the child's pid is the agent's).
fn spawn_agent(dir: &Path, nofile: Option<u32>) -> Child {
    let append = |name: &str| {
        std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(dir.join(name))
            .expect("log file")
    };
    let mut cmd = match nofile {
        None => Command::new(gleaner_bin()),
        Some(n) => {
            let mut c = Command::new("sh");
            c.arg("-c")
                .arg(format!("ulimit -n {n} && exec \"$0\" \"$@\""))
                .arg(gleaner_bin());
            c
        }
    };
    cmd.arg("--config")
        .arg(dir.join("gleaner.toml"))
        .arg("--log-level")
        .arg("debug")
        .stdout(append("stdout"))
        .stderr(append("stderr"))
        .stdin(Stdio::null())
        .spawn()
        .expect("spawn gleaner")
}

/// Runs the binary with `args` to completion; returns (exit code, stdout, stderr).
///
/// # Panics
/// When the binary cannot be run.
pub fn run_cli(args: &[&str]) -> (i32, String, String) {
    let out = Command::new(gleaner_bin())
        .args(args)
        .output()
        .expect("run gleaner");
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}
