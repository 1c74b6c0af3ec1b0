//! `inputs.syslog` end to end through the real binary into `outputs.file` (JSON lines), with
//! real senders: util-linux `logger` (RFC 3164 and RFC 5424 over UDP, TCP with newline and
//! octet-counting framing, and a unix socket) and rsyslog (`rsyslogd -n` with a temporary
//! config, reading its own unix socket and forwarding with `omfwd` over TCP twice: RFC 5424
//! octet-counted and the traditional format newline-framed). Every message arrives exactly
//! once per path with its fields (`syslog/rsyslog.rs`). Bad input through the binary: a
//! 10 MiB line, invalid UTF-8, a client gone mid-frame and a UDP flood are each counted, and
//! the agent serves on (`syslog/bad_input.rs`).

mod bad_input;
mod rsyslog;

use std::collections::HashMap;
use std::net::UdpSocket;
use std::process::Command;
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
