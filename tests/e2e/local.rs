//! The local pipeline end to end: line protocol POSTed to `inputs.http_listener` comes out of
//! `outputs.file` byte-exact; everything answered 204 before SIGTERM is written; a bad config
//! on SIGHUP is rejected while the agent keeps running, and a good one is applied.

use std::time::Duration;

use gleaner_e2e::{Agent, free_port, http};

fn config(listen: &str, out: &str) -> String {
    format!(
        r#"[agent]
omit_hostname = true
http_listen = "{{telemetry}}"
flush_interval = "100ms"
shutdown_timeout = "20s"

[[inputs.http_listener]]
listen = "{listen}"

[[outputs.file]]
path = "{{dir}}/{out}"
"#
    )
}

fn post(addr: &str, body: &str) -> gleaner_e2e::HttpResponse {
    http(
        addr,
        "POST",
        "/write?db=test",
        &[("Content-Type", "text/plain")],
        body.as_bytes(),
    )
    .expect("POST /write")
}

/// Reads `path` until it has `n` lines (the file output flushes every 100 ms).
fn wait_lines(agent: &Agent, name: &str, n: usize) -> String {
    let deadline = std::time::Instant::now() + Duration::from_secs(30);
    loop {
        let text = std::fs::read_to_string(agent.path(name)).unwrap_or_default();
        if text.lines().count() >= n {
            return text;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "{name} has {} of {n} lines:\n{}",
            text.lines().count(),
            agent.stderr()
        );
        std::thread::sleep(Duration::from_millis(20));
    }
}

#[test]
fn line_protocol_round_trip_is_byte_exact() {
    let listen = format!("127.0.0.1:{}", free_port());
    let mut agent = Agent::start(&config(&listen, "out.lp"));
    // Escapes in measurement, tag keys and values, field keys; every field type; string
    // escapes; explicit timestamps. Tags already sorted, numbers in canonical form.
    let body = concat!(
        "weather\\ report,location=us\\,midwest,station\\=id=a\\ b temperature=82.5,humidity=71i,count=3u,ok=true,off=false,note=\"say \\\"hi\\\" \\\\ bye\" 1700000000000000000\n",
        "cpu,cpu=cpu-total,host=n1 usage_idle=99.25,usage_user=0.5 1700000000000000001\n",
        "m\\,x f\\=k\\ y=-1.5e-7,big=18446744073709551615u,neg=-9223372036854775808i 1700000000000000002\n",
        "unicode,tag=ünï\\ cødé f=\"多言語 ✓\" 1700000000000000003\n",
    );
    let r = post(&listen, body);
    assert_eq!(r.status, 204, "{}", r.body);
    let text = wait_lines(&agent, "out.lp", 4);
    assert_eq!(text, body);
    agent.signal("TERM");
    assert!(agent.wait_exit(Duration::from_secs(30)).success());
}

#[test]
fn partial_write_answers_400_and_keeps_good_lines() {
    let listen = format!("127.0.0.1:{}", free_port());
    let mut agent = Agent::start(&config(&listen, "out.lp"));
    let body = "good a=1 1\nbad line without fields\ngood a=2 2\n";
    let r = post(&listen, body);
    assert_eq!(r.status, 400);
    assert!(
        r.body.contains("line 2") || r.body.contains("bad line without fields"),
        "{}",
        r.body
    );
    let text = wait_lines(&agent, "out.lp", 2);
    assert_eq!(text, "good a=1 1\ngood a=2 2\n");
    agent.signal("TERM");
    assert!(agent.wait_exit(Duration::from_secs(30)).success());
}

#[test]
fn everything_accepted_before_sigterm_is_written() {
    let listen = format!("127.0.0.1:{}", free_port());
    let mut agent = Agent::start(&config(&listen, "out.lp"));
    let (requests, per) = (100, 100);
    for r in 0..requests {
        let body: String = (0..per)
            .map(|i| format!("seq n={}i {}\n", r * per + i, r * per + i))
            .collect();
        let resp = post(&listen, &body);
        assert_eq!(resp.status, 204, "request {r}: {}", resp.body);
    }
    agent.signal("TERM");
    let status = agent.wait_exit(Duration::from_secs(30));
    assert!(status.success(), "exit {status}:\n{}", agent.stderr());
    let text = std::fs::read_to_string(agent.path("out.lp")).unwrap();
    let mut seen = vec![false; requests * per];
    for line in text.lines() {
        let n: usize = line
            .split("n=")
            .nth(1)
            .and_then(|s| s.split('i').next())
            .and_then(|s| s.parse().ok())
            .unwrap_or_else(|| panic!("bad line {line:?}"));
        assert!(!seen[n], "line {n} written twice");
        seen[n] = true;
    }
    let missing = seen.iter().filter(|s| !**s).count();
    assert_eq!(missing, 0, "{missing} accepted lines lost on shutdown");
}

#[test]
fn reload_keeps_running_on_bad_config_and_applies_good_one() {
    let listen = format!("127.0.0.1:{}", free_port());
    let mut agent = Agent::start(&config(&listen, "first.lp"));
    let cfg_path = agent.path("gleaner.toml");
    let good = std::fs::read_to_string(&cfg_path).unwrap();

    std::fs::write(
        &cfg_path,
        good.replace("[[outputs.file]]", "[[outputs.fiel]]"),
    )
    .unwrap();
    agent.signal("HUP");
    agent.wait_metrics("a rejected reload", |m| {
        m.contains("gleaner_config_reloads_total{result=\"failed\"} 1")
    });
    assert!(
        agent.stderr().contains("unknown output plugin `fiel`"),
        "{}",
        agent.stderr()
    );
    assert_eq!(post(&listen, "still a=1i 1\n").status, 204);
    assert_eq!(wait_lines(&agent, "first.lp", 1), "still a=1i 1\n");

    std::fs::write(&cfg_path, good.replace("first.lp", "second.lp")).unwrap();
    agent.signal("HUP");
    agent.wait_metrics("an applied reload", |m| {
        m.contains("gleaner_config_reloads_total{result=\"ok\"} 1")
    });
    agent.wait_healthy();
    // The listener is rebound by the new pipeline; retry the connection until it is up.
    let deadline = std::time::Instant::now() + Duration::from_secs(30);
    let status = loop {
        match http(&listen, "POST", "/write", &[], b"after a=2i 2\n") {
            Ok(r) => break r.status,
            Err(_) if std::time::Instant::now() < deadline => {
                std::thread::sleep(Duration::from_millis(20))
            }
            Err(e) => panic!("listener not back after reload: {e}"),
        }
    };
    assert_eq!(status, 204);
    assert_eq!(wait_lines(&agent, "second.lp", 1), "after a=2i 2\n");
    agent.signal("TERM");
    assert!(agent.wait_exit(Duration::from_secs(30)).success());
}

#[test]
fn telemetry_endpoint_serves_versioned_prometheus_text() {
    let listen = format!("127.0.0.1:{}", free_port());
    let mut agent = Agent::start(&config(&listen, "out.lp"));
    assert_eq!(post(&listen, "x a=1i 1\nx a=2i 2\n").status, 204);
    let body = agent.wait_metrics("sent events", |m| {
        m.contains("gleaner_component_sent_events_total{component_id=\"outputs.file.0\",component_kind=\"output\",plugin=\"file\"} 2")
    });
    assert!(
        body.contains(
            "gleaner_component_received_events_total{component_id=\"inputs.http_listener.0\""
        ),
        "{body}"
    );
    let r = http(&agent.telemetry_addr, "GET", "/metrics", &[], b"").unwrap();
    assert_eq!(
        r.header("content-type"),
        Some("text/plain; version=0.0.4; charset=utf-8")
    );
    agent.signal("TERM");
    assert!(agent.wait_exit(Duration::from_secs(30)).success());
}

/// The README's first command runs configs/local.toml: with no server anywhere it prints the
/// host's metrics (cpu from the second gather on) and the agent's counters to stdout, and says
/// at most once what it cannot read (here, in a container, the journal).
#[test]
fn the_shipped_local_config_prints_host_metrics_and_counters() {
    let text = std::fs::read_to_string(gleaner_e2e::workspace_root().join("configs/local.toml"))
        .expect("configs/local.toml");
    let listen = format!("127.0.0.1:{}", free_port());
    let config = text
        .replace("127.0.0.1:8686", "{telemetry}")
        .replace("127.0.0.1:8186", &listen)
        .replace("${XDG_STATE_HOME:-/tmp}", "{dir}");
    assert_ne!(config, text, "the test no longer adapts configs/local.toml");
    let agent = Agent::start(&config);
    let deadline = std::time::Instant::now() + Duration::from_secs(60);
    let has = |out: &str, prefix: &str| out.lines().any(|l| l.starts_with(prefix));
    let mut out = String::new();
    while std::time::Instant::now() < deadline {
        out = std::fs::read_to_string(agent.path("stdout")).unwrap_or_default();
        if has(&out, "cpu,") {
            break;
        }
        std::thread::sleep(Duration::from_millis(200));
    }
    for prefix in [
        "cpu,",
        "mem,",
        "disk,",
        "system,",
        "internal_agent,",
        "internal_component,",
    ] {
        assert!(
            has(&out, prefix),
            "no {prefix} line on stdout:\n{out}\nstderr:\n{}",
            agent.stderr()
        );
    }
    let err = agent.stderr();
    assert!(err.matches("no journal files here").count() <= 1, "{err}");
    assert!(!err.contains(" ERROR "), "{err}");
}
