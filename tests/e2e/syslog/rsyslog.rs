//! rsyslog as a real sender: `rsyslogd -n` on a temporary config (its own unix socket in,
//! `omfwd` over TCP out, twice: RFC 5424 octet-counted and the traditional format
//! newline-framed), started and stopped by PID; every message arrives once per path.

use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use gleaner_e2e::logs::wait_output;
use gleaner_e2e::{Agent, free_port};

use super::{logger, metric, records_by_marker, short_hostname, wait_listening};

/// `rsyslogd -n` on a temporary config, stopped by PID when dropped.
struct Rsyslog {
    child: Child,
}

impl Rsyslog {
    fn start(dir: &Path, config: &str) -> Rsyslog {
        let conf = dir.join("rsyslog.conf");
        std::fs::write(&conf, config).expect("write rsyslog.conf");
        std::fs::create_dir_all(dir.join("rsyslog-work")).expect("work dir");
        let child = Command::new("rsyslogd")
            .arg("-n")
            .arg("-f")
            .arg(&conf)
            .arg("-i")
            .arg(dir.join("rsyslogd.pid"))
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(std::fs::File::create(dir.join("rsyslogd.stderr")).expect("stderr file"))
            .spawn()
            .expect("run rsyslogd (Debian package rsyslog)");
        Rsyslog { child }
    }

    fn stop(&mut self) {
        if let Ok(None) = self.child.try_wait() {
            let _term = Command::new("kill")
                .arg("-TERM")
                .arg(self.child.id().to_string())
                .status();
            let deadline = Instant::now() + Duration::from_secs(10);
            while let Ok(None) = self.child.try_wait() {
                if Instant::now() > deadline {
                    let _kill = self.child.kill();
                    break;
                }
                std::thread::sleep(Duration::from_millis(20));
            }
            let _reap = self.child.wait();
        }
    }
}

impl Drop for Rsyslog {
    fn drop(&mut self) {
        self.stop();
    }
}

#[test]
fn rsyslog_forwarding_over_tcp_arrives_exactly_once() {
    const N: usize = 200;
    let (counted, lines) = (free_port(), free_port());
    let mut agent = Agent::start(&format!(
        r#"[agent]
http_listen = "{{telemetry}}"
flush_interval = "100ms"

[[inputs.syslog]]
alias = "from_rsyslog_5424"
listen = "tcp://127.0.0.1:{counted}"
framing = "octet-counting"

[[inputs.syslog]]
alias = "from_rsyslog_3164"
listen = "tcp://127.0.0.1:{lines}"
framing = "newline"

[[outputs.file]]
path = "{{dir}}/out.json"
"#
    ));
    wait_listening(&agent, 2);
    let dir = tempfile::tempdir().expect("tempdir");
    let input = dir.path().join("in.sock");
    let mut rsyslog = Rsyslog::start(
        dir.path(),
        &format!(
            r#"global(workDirectory="{work}")
module(load="imuxsock" SysSock.Use="off")
input(type="imuxsock" Socket="{input}")
action(type="omfwd" target="127.0.0.1" port="{counted}" protocol="tcp"
       TCP_Framing="octet-counted" template="RSYSLOG_SyslogProtocol23Format"
       action.resumeRetryCount="-1" queue.type="LinkedList")
action(type="omfwd" target="127.0.0.1" port="{lines}" protocol="tcp"
       template="RSYSLOG_TraditionalForwardFormat"
       action.resumeRetryCount="-1" queue.type="LinkedList")
"#,
            work = dir.path().join("rsyslog-work").display(),
            input = input.display(),
        ),
    );
    let deadline = Instant::now() + Duration::from_secs(30);
    while std::fs::symlink_metadata(&input).is_err() {
        assert!(
            Instant::now() < deadline,
            "rsyslogd did not open its socket: {}",
            std::fs::read_to_string(dir.path().join("rsyslogd.stderr")).unwrap_or_default()
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    let input_s = input.to_str().expect("utf-8 path");
    for i in 0..N {
        logger(&[
            "--socket",
            input_s,
            "-t",
            "rsysapp",
            "--id=77",
            "-p",
            "daemon.err",
            &format!("forwarded mk-{i:04} done"),
        ]);
    }
    let text = wait_output(
        &agent.path("out.json"),
        Duration::from_secs(60),
        "both forwarded copies",
        |l| l.len() >= 2 * N,
    );
    rsyslog.stop();
    let got = records_by_marker(&text);
    let host = short_hostname();
    assert_eq!(got.len(), N, "{text}");
    for i in 0..N {
        let marker = format!("mk-{i:04}");
        let recs = got
            .get(&marker)
            .unwrap_or_else(|| panic!("{marker} missing"));
        // Exactly once per path: one RFC 5424 copy (octet-counted), one traditional (LF).
        let versions: Vec<bool> = recs
            .iter()
            .map(|r| r.get("syslog.version").is_some())
            .collect();
        assert_eq!(recs.len(), 2, "{marker}: {recs:?}");
        assert!(
            versions.contains(&true) && versions.contains(&false),
            "{marker}: {recs:?}"
        );
        for r in recs {
            // rsyslog's msg property keeps the space after the tag's colon, and its RFC 5424
            // template sends it as the first byte of MSG; the traditional one collapses it.
            let msg = r["message"].as_str().unwrap_or_default();
            assert_eq!(msg.trim_start(), format!("forwarded {marker} done"), "{r}");
            assert_eq!(r["syslog.app_name"], "rsysapp", "{r}");
            assert_eq!(r["syslog.proc_id"], "77", "{r}");
            assert_eq!(r["syslog.facility"], "daemon", "{r}");
            assert_eq!(r["syslog.severity"], "err", "{r}");
            assert_eq!(r["syslog.hostname"], host.as_str(), "{r}");
            assert!(r.get("syslog.parse_error").is_none(), "{r}");
        }
    }
    // Nothing more arrives once rsyslog is gone.
    let m = agent.wait_metrics("syslog counters", |m| {
        metric(
            m,
            "gleaner_component_received_events_total",
            "from_rsyslog_5424",
            "",
        ) == Some(N as f64)
    });
    assert_eq!(
        metric(
            &m,
            "gleaner_component_received_events_total",
            "from_rsyslog_3164",
            ""
        ),
        Some(N as f64)
    );
    agent.signal("TERM");
    assert!(agent.wait_exit(Duration::from_secs(30)).success());
}
