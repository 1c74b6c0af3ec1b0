//! Real peers for the tests: InfluxDB 1.x (`influxd`, Debian package `influxdb`), Prometheus
//! 2.x (`prometheus`, Debian package `prometheus`) with its remote-write receiver, and
//! node_exporter (`prometheus-node-exporter`, Debian package of the same name).
//!
//! Each [`Peer`] runs on free 127.0.0.1 ports with its data and config in a temp dir, is
//! awaited until its readiness endpoint answers, and is stopped by PID (SIGTERM, then SIGKILL)
//! when dropped. Nothing is skipped: a missing binary fails the test with a message pointing
//! at `scripts/test.sh`, which installs both packages on a fresh Debian machine.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use crate::{HttpResponse, free_port, http};

/// A running peer process.
pub struct Peer {
    /// `127.0.0.1:<port>` of its HTTP API.
    pub addr: String,
    child: Child,
    dir: tempfile::TempDir,
    name: &'static str,
}

/// Finds `bin` on `PATH` (and in `/usr/bin`, `/usr/sbin`).
///
/// # Panics
/// When it is not installed, naming the Debian package and `scripts/test.sh`.
fn find_binary(bin: &str, package: &str) -> PathBuf {
    let path = std::env::var("PATH").unwrap_or_default();
    path.split(':')
        .chain(["/usr/bin", "/usr/sbin", "/usr/local/bin"])
        .map(|d| Path::new(d).join(bin))
        .find(|p| std::fs::metadata(p).is_ok_and(|m| m.is_file()))
        .unwrap_or_else(|| {
            panic!(
                "`{bin}` not found: these tests need the Debian package `{package}`; \
                 scripts/test.sh installs it (or run `apt-get install -y {package}`)"
            )
        })
}

impl Peer {
    /// Starts InfluxDB 1.x with every service but HTTP off; waits for `/ping`.
    ///
    /// # Panics
    /// When `influxd` is missing or not ready within 60 s.
    pub fn influxdb() -> Peer {
        let bin = find_binary("influxd", "influxdb");
        let dir = tempfile::tempdir().expect("tempdir");
        let d = dir.path().display();
        let (http_port, rpc_port) = (free_port(), free_port());
        let config = format!(
            r#"reporting-disabled = true
bind-address = "127.0.0.1:{rpc_port}"
[meta]
  dir = "{d}/meta"
  logging-enabled = false
[data]
  dir = "{d}/data"
  wal-dir = "{d}/wal"
  query-log-enabled = false
[monitor]
  store-enabled = false
[subscriber]
  enabled = false
[continuous_queries]
  enabled = false
[http]
  bind-address = "127.0.0.1:{http_port}"
  log-enabled = false
  pprof-enabled = false
[logging]
  level = "warn"
  suppress-logo = true
"#
        );
        let conf = dir.path().join("influxdb.conf");
        std::fs::write(&conf, config).expect("write influxdb.conf");
        let mut cmd = Command::new(bin);
        cmd.arg("run").arg("-config").arg(&conf);
        let peer = Peer::spawn("influxd", cmd, dir, format!("127.0.0.1:{http_port}"));
        peer.wait_ready("/ping", 204);
        peer
    }

    /// Starts Prometheus 2.x with `--web.enable-remote-write-receiver`, no scrape jobs;
    /// waits for `/-/ready`.
    ///
    /// # Panics
    /// When `prometheus` is missing or not ready within 60 s.
    pub fn prometheus() -> Peer {
        Peer::prometheus_with_config("global:\n  scrape_interval: 1h\n")
    }

    /// Starts Prometheus 2.x as [`Peer::prometheus`] does, scraping each `(job, host:port)`
    /// target's `/metrics` every `interval` (a Prometheus duration, `1s`).
    ///
    /// # Panics
    /// When `prometheus` is missing or not ready within 60 s.
    pub fn prometheus_scraping(targets: &[(&str, &str)], interval: &str) -> Peer {
        let mut yml = format!("global:\n  scrape_interval: {interval}\nscrape_configs:\n");
        for (job, addr) in targets {
            yml.push_str(&format!(
                "  - job_name: {job}\n    static_configs:\n      - targets: [\"{addr}\"]\n"
            ));
        }
        Peer::prometheus_with_config(&yml)
    }

    /// [`Peer::prometheus`] with `yml` as its `prometheus.yml` (scrape jobs, `remote_write`).
    ///
    /// # Panics
    /// When `prometheus` is missing or not ready within 60 s.
    pub fn prometheus_with_config(yml: &str) -> Peer {
        let bin = find_binary("prometheus", "prometheus");
        let dir = tempfile::tempdir().expect("tempdir");
        let conf = dir.path().join("prometheus.yml");
        std::fs::write(&conf, yml).expect("write prometheus.yml");
        let port = free_port();
        let addr = format!("127.0.0.1:{port}");
        let mut cmd = Command::new(bin);
        cmd.arg(format!("--config.file={}", conf.display()))
            .arg(format!(
                "--storage.tsdb.path={}",
                dir.path().join("data").display()
            ))
            .arg(format!("--web.listen-address={addr}"))
            .arg("--web.enable-remote-write-receiver")
            .arg("--log.level=warn");
        let peer = Peer::spawn("prometheus", cmd, dir, addr);
        peer.wait_ready("/-/ready", 200);
        peer
    }

    /// Starts node_exporter on a free 127.0.0.1 port with its default collectors (the
    /// systemd and textfile collectors off: no D-Bus, no collector directory here); waits
    /// for `/metrics`.
    ///
    /// # Panics
    /// When `prometheus-node-exporter` is missing or not ready within 60 s.
    pub fn node_exporter() -> Peer {
        let bin = find_binary("prometheus-node-exporter", "prometheus-node-exporter");
        let dir = tempfile::tempdir().expect("tempdir");
        let addr = format!("127.0.0.1:{}", free_port());
        let mut cmd = Command::new(bin);
        cmd.arg(format!("--web.listen-address={addr}"))
            .arg("--no-collector.systemd")
            .arg("--no-collector.textfile")
            .arg("--log.level=warn");
        let peer = Peer::spawn("node_exporter", cmd, dir, addr);
        peer.wait_ready("/metrics", 200);
        peer
    }

    fn spawn(name: &'static str, mut cmd: Command, dir: tempfile::TempDir, addr: String) -> Peer {
        let log = std::fs::File::create(dir.path().join("peer.log")).expect("peer log");
        let child = cmd
            .current_dir(dir.path())
            .stdin(Stdio::null())
            .stdout(log.try_clone().expect("log fd"))
            .stderr(log)
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start {name}: {e}"));
        Peer {
            addr,
            child,
            dir,
            name,
        }
    }

    /// The peer's own log so far.
    pub fn log(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("peer.log")).unwrap_or_default()
    }

    /// `http://127.0.0.1:<port>`.
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    fn wait_ready(&self, path: &str, status: u16) {
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            if let Ok(r) = http(&self.addr, "GET", path, &[], b"")
                && r.status == status
            {
                return;
            }
            assert!(
                Instant::now() < deadline,
                "{} not ready on {} after 60s:\n{}",
                self.name,
                self.addr,
                self.log()
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// `GET path` (query string already encoded).
    ///
    /// # Panics
    /// When the peer does not answer.
    pub fn get(&self, path_and_query: &str) -> HttpResponse {
        http(&self.addr, "GET", path_and_query, &[], b"")
            .unwrap_or_else(|e| panic!("{} GET {path_and_query}: {e}\n{}", self.name, self.log()))
    }

    /// `POST path` with a form body (InfluxQL statements, for instance).
    ///
    /// # Panics
    /// When the peer does not answer.
    pub fn post_form(&self, path: &str, form: &str) -> HttpResponse {
        http(
            &self.addr,
            "POST",
            path,
            &[("Content-Type", "application/x-www-form-urlencoded")],
            form.as_bytes(),
        )
        .unwrap_or_else(|e| panic!("{} POST {path}: {e}\n{}", self.name, self.log()))
    }
}

impl Drop for Peer {
    fn drop(&mut self) {
        if let Ok(None) = self.child.try_wait() {
            // SIGTERM first, so the peer can shut down cleanly; SIGKILL after 10 s.
            let term = Command::new("kill")
                .arg("-TERM")
                .arg(self.child.id().to_string())
                .status();
            let deadline = Instant::now() + Duration::from_secs(10);
            while term.as_ref().is_ok_and(|s| s.success()) && Instant::now() < deadline {
                if let Ok(Some(_)) = self.child.try_wait() {
                    return;
                }
                std::thread::sleep(Duration::from_millis(20));
            }
            let _kill = self.child.kill();
            let _wait = self.child.wait();
        }
    }
}

/// Percent-encodes a query parameter value.
pub fn encode_query_value(s: &str) -> String {
    let mut out = String::new();
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'~') {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}
