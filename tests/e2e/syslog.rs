//! `inputs.syslog` end to end through the real binary into `outputs.file` (JSON lines), with
//! real senders: util-linux `logger` (RFC 3164 and RFC 5424 over UDP, TCP with newline and
//! octet-counting framing, and a unix socket) and rsyslog (`rsyslogd -n` with a temporary
//! config, reading its own unix socket and forwarding with `omfwd` over TCP twice: RFC 5424
//! octet-counted and the traditional format newline-framed). Every message arrives exactly
//! once per path with its fields. Bad input through the binary: a 10 MiB line, invalid UTF-8,
//! a client gone mid-frame and a UDP flood are each counted, and the agent serves on.

use std::collections::HashMap;
use std::io::Write;
use std::net::{TcpStream, UdpSocket};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use gleaner_e2e::logs::wait_output;
use gleaner_e2e::{Agent, free_port};
use serde_json::Value;

/// A UDP port that was free a moment ago.
fn free_udp_port() -> u16 {
    let s = UdpSocket::bind("127.0.0.1:0").expect("bind udp");
    s.local_addr().expect("local addr").port()
}

/// The host name as `logger` and rsyslog write it (the first label).
fn short_hostname() -> String {
    let out = Command::new("hostname").output().expect("run hostname");
    let name = String::from_utf8_lossy(&out.stdout).trim().to_owned();
    name.split('.').next().unwrap_or_default().to_owned()
}

/// Waits until the agent logged `n` syslog listeners.
fn wait_listening(agent: &Agent, n: usize) {
    let deadline = Instant::now() + Duration::from_secs(30);
    while agent.stderr().matches("syslog listening").count() < n {
        assert!(
            Instant::now() < deadline,
            "syslog not listening:\n{}",
            agent.stderr()
        );
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// The output's records (JSON objects), by their unique `marker` word.
fn records_by_marker(text: &str) -> HashMap<String, Vec<Value>> {
    let mut out: HashMap<String, Vec<Value>> = HashMap::new();
    for line in text.lines() {
        let v: Value = serde_json::from_str(line).expect("a JSON line");
        let msg = v["message"].as_str().unwrap_or_default();
        if let Some(marker) = msg.split_whitespace().find(|w| w.starts_with("mk-")) {
            out.entry(marker.to_owned()).or_default().push(v);
        }
    }
    out
}

fn logger(args: &[&str]) {
    let out = Command::new("logger")
        .args(args)
        .output()
        .expect("run logger");
    assert!(
        out.status.success() && out.stderr.is_empty(),
        "logger {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// The value of `name` on `/metrics` for component `id` (with `extra` in its labels).
fn metric(body: &str, name: &str, id: &str, extra: &str) -> Option<f64> {
    body.lines()
        .filter(|l| l.starts_with(&format!("{name}{{")))
        .filter(|l| l.contains(&format!("component_id=\"{id}\"")) && l.contains(extra))
        .find_map(|l| l.rsplit(' ').next()?.parse().ok())
}

#[test]
fn logger_messages_arrive_once_with_their_fields() {
    let (udp, tcp) = (free_udp_port(), free_port());
    let mut agent = Agent::start(&format!(
        r#"[agent]
http_listen = "{{telemetry}}"
flush_interval = "100ms"

[[inputs.syslog]]
alias = "sys_udp"
listen = "udp://127.0.0.1:{udp}"

[[inputs.syslog]]
alias = "sys_tcp"
listen = "tcp://127.0.0.1:{tcp}"

[[inputs.syslog]]
alias = "sys_unix"
listen = "unix://{{dir}}/log.sock"

[[outputs.file]]
path = "{{dir}}/out.json"
"#
    ));
    wait_listening(&agent, 3);
    let sock = agent.path("log.sock");
    let sock = sock.to_str().expect("utf-8 path");
    let (udp_s, tcp_s) = (udp.to_string(), tcp.to_string());
    let net = |proto: &str, port: &str| -> Vec<String> {
        ["-n", "127.0.0.1", "-P", port, proto]
            .map(String::from)
            .to_vec()
    };
    // (marker, logger arguments after the transport).
    let cases: Vec<(&str, Vec<String>)> = vec![
        (
            "mk-udp-5424",
            [net("--udp", &udp_s), vec!["--rfc5424".into()]].concat(),
        ),
        (
            "mk-udp-3164",
            [net("--udp", &udp_s), vec!["--rfc3164".into()]].concat(),
        ),
        (
            "mk-tcp-5424",
            [net("--tcp", &tcp_s), vec!["--rfc5424".into()]].concat(),
        ),
        (
            "mk-tcp-3164",
            [net("--tcp", &tcp_s), vec!["--rfc3164".into()]].concat(),
        ),
        (
            "mk-tcp-octet",
            [
                net("--tcp", &tcp_s),
                vec!["--rfc5424".into(), "--octet-count".into()],
            ]
            .concat(),
        ),
        ("mk-unix-local", vec!["--socket".into(), sock.into()]),
        (
            "mk-unix-5424",
            vec!["--socket".into(), sock.into(), "--rfc5424".into()],
        ),
    ];
    for (marker, transport) in &cases {
        let mut args: Vec<&str> = transport.iter().map(String::as_str).collect();
        args.extend([
            "-t",
            "e2eapp",
            "--id=4242",
            "-p",
            "local3.warning",
            "--msgid",
            "MID7",
            "--sd-id",
            "meta@32473",
            "--sd-param",
            "case=\"x\"",
        ]);
        let msg = format!("hello {marker} from logger");
        args.push(&msg);
        if !args.contains(&"--rfc5424") {
            // --msgid and --sd-* are RFC 5424 only.
            args.retain(|a| {
                !matches!(
                    *a,
                    "--msgid" | "MID7" | "--sd-id" | "meta@32473" | "--sd-param" | "case=\"x\""
                )
            });
        }
        logger(&args);
    }
    let text = wait_output(
        &agent.path("out.json"),
        Duration::from_secs(30),
        "every logger message",
        |lines| lines.len() >= cases.len(),
    );
    let got = records_by_marker(&text);
    let host = short_hostname();
    for (marker, transport) in &cases {
        let recs = got
            .get(*marker)
            .unwrap_or_else(|| panic!("{marker} missing:\n{text}"));
        assert_eq!(recs.len(), 1, "{marker} must arrive exactly once:\n{text}");
        let r = &recs[0];
        assert_eq!(r["message"], format!("hello {marker} from logger"), "{r}");
        assert_eq!(r["syslog.facility"], "local3", "{r}");
        assert_eq!(r["syslog.severity"], "warning", "{r}");
        assert_eq!(r["syslog.app_name"], "e2eapp", "{r}");
        assert_eq!(r["syslog.proc_id"], "4242", "{r}");
        assert!(r.get("syslog.parse_error").is_none(), "{r}");
        let unix = transport.iter().any(|a| a == "--socket");
        if transport.iter().any(|a| a == "--rfc5424") {
            assert_eq!(r["syslog.version"], 1, "{r}");
            assert_eq!(r["syslog.msg_id"], "MID7", "{r}");
            assert_eq!(r["syslog.sd.meta@32473.case"], "x", "{r}");
            // logger's own time-quality element.
            assert_eq!(r["syslog.sd.timeQuality.tzKnown"], "1", "{r}");
        } else {
            assert!(r.get("syslog.version").is_none(), "{r}");
        }
        if unix && !transport.iter().any(|a| a == "--rfc5424") {
            // The local format has no hostname, and a unix socket no peer address.
            assert!(r.get("syslog.hostname").is_none(), "{r}");
        } else {
            assert_eq!(r["syslog.hostname"], host.as_str(), "{r}");
        }
        if unix {
            assert!(r.get("syslog.peer").is_none(), "{r}");
        } else {
            assert_eq!(r["syslog.peer"], "127.0.0.1", "{r}");
        }
        // The record's time is the message's (logger sends the current time).
        let ts = r["timestamp"].as_str().expect("timestamp");
        assert!(ts.starts_with(&year_now()), "{ts}");
    }
    agent.signal("TERM");
    assert!(agent.wait_exit(Duration::from_secs(30)).success());
    assert!(
        std::fs::symlink_metadata(agent.path("log.sock")).is_err(),
        "socket file removed on exit"
    );
}

/// The current UTC year, as the output's RFC 3339 timestamps start.
fn year_now() -> String {
    let out = Command::new("date")
        .args(["-u", "+%Y-"])
        .output()
        .expect("run date");
    String::from_utf8_lossy(&out.stdout).trim().to_owned()
}

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

#[test]
fn bad_input_is_counted_and_the_agent_serves_on() {
    let (udp, tcp) = (free_udp_port(), free_port());
    let mut agent = Agent::start(&format!(
        r#"[agent]
http_listen = "{{telemetry}}"
flush_interval = "100ms"

[[inputs.syslog]]
alias = "bad_udp"
listen = "udp://127.0.0.1:{udp}"
read_buffer_size = "64KiB"
udp_pending_max = 100

[[inputs.syslog]]
alias = "bad_tcp"
listen = "tcp://127.0.0.1:{tcp}"

[[outputs.file]]
path = "{{dir}}/out.json"
"#
    ));
    wait_listening(&agent, 2);
    // A 10 MiB line, then a good message on the same connection.
    let mut c = TcpStream::connect(("127.0.0.1", tcp)).expect("connect");
    let mut big = b"<13>Dec  6 13:20:03 host app: mk-big ".to_vec();
    big.resize(10 * 1024 * 1024, b'x');
    big.extend_from_slice(b"\n<13>Dec  6 13:20:03 host app: mk-after-big\n");
    c.write_all(&big).expect("write 10 MiB");
    drop(c);
    // A client gone mid-frame.
    let mut c = TcpStream::connect(("127.0.0.1", tcp)).expect("connect");
    c.write_all(b"500 <13>Dec  6 13:20:03 host app: mk-cut only part")
        .expect("write");
    drop(c);
    // Invalid UTF-8, in the message and where the header should be.
    let u = UdpSocket::bind("127.0.0.1:0").expect("client");
    u.send_to(
        b"<13>Dec  6 13:20:03 host app: mk-utf8 \xff\xfe",
        ("127.0.0.1", udp),
    )
    .expect("send");
    u.send_to(b"\xff\xfe mk-nopri", ("127.0.0.1", udp))
        .expect("send");
    let text = wait_output(
        &agent.path("out.json"),
        Duration::from_secs(30),
        "the bad input",
        |l| l.len() >= 5,
    );
    let got = records_by_marker(&text);
    let one = |m: &str| -> &Value {
        let recs = got.get(m).unwrap_or_else(|| panic!("{m} missing:\n{text}"));
        assert_eq!(recs.len(), 1, "{m}");
        &recs[0]
    };
    assert_eq!(one("mk-big")["syslog.truncated"], true);
    assert_eq!(
        one("mk-big")["message"].as_str().map(str::len),
        Some(65_536 - 30)
    );
    assert_eq!(one("mk-after-big")["message"], "mk-after-big");
    assert_eq!(one("mk-cut")["syslog.parse_error"], "incomplete_frame");
    assert_eq!(one("mk-utf8")["message_invalid_utf8"], true);
    assert_eq!(one("mk-nopri")["syslog.parse_error"], "invalid_pri");

    // A flood of datagrams into a 64 KiB socket buffer: every one is received or counted.
    const FLOOD: u64 = 100_000;
    let mut sent = 0u64;
    for i in 0..FLOOD {
        if u.send_to(
            format!("<13>Dec  6 13:20:03 h app: flood {i}").as_bytes(),
            ("127.0.0.1", udp),
        )
        .is_ok()
        {
            sent += 1;
        }
    }
    let m = agent.wait_metrics("every datagram received or counted", |m| {
        let received =
            metric(m, "gleaner_component_received_events_total", "bad_udp", "").unwrap_or(0.0);
        let kernel =
            metric(m, "gleaner_syslog_udp_socket_drops_total", "bad_udp", "").unwrap_or(0.0);
        received + kernel == (sent + 2) as f64
    });
    let kernel = metric(&m, "gleaner_syslog_udp_socket_drops_total", "bad_udp", "").unwrap_or(0.0);
    eprintln!("flood: {sent} sent, {kernel} dropped by the kernel");
    assert_eq!(
        metric(&m, "gleaner_syslog_truncated_total", "bad_tcp", ""),
        Some(1.0)
    );
    assert_eq!(
        metric(&m, "gleaner_syslog_parse_errors_total", "bad_tcp", ""),
        Some(1.0)
    );
    assert_eq!(
        metric(&m, "gleaner_syslog_parse_errors_total", "bad_udp", ""),
        Some(1.0)
    );
    // Survived: a message after all that arrives.
    u.send_to(
        b"<13>Dec  6 13:20:03 host app: mk-still-here",
        ("127.0.0.1", udp),
    )
    .expect("send");
    wait_output(
        &agent.path("out.json"),
        Duration::from_secs(30),
        "a message after the flood",
        |l| l.iter().any(|l| l.contains("mk-still-here")),
    );
    agent.signal("TERM");
    assert!(agent.wait_exit(Duration::from_secs(30)).success());
}
