//! `outputs.splunk_hec` against the fake HEC (`gleaner_e2e::fake_hec`, which follows
//! Splunk's documented protocol): events are indexed exactly as sent, gzip included; every
//! answer of the retry matrix maps to the right error kind; refused events are dropped one
//! by one while the others are indexed exactly once; the binary delivers tailed container
//! logs with their Kubernetes fields; and with `ack = true` events count as sent only once
//! acknowledged, an acknowledgement that never comes making the batch be sent again.

use std::time::Duration;

use bytes::Bytes;
use gleaner_api::{
    Batch, FieldValue, LogRecord, Metric, OutputErrorKind, Payload, SendReport, Stream,
};
use gleaner_e2e::fake_hec::{FakeHec, FakeHecConfig, Token};
use gleaner_e2e::{Agent, http};
use serde_json::{Value, json};

use super::{build_output, deliver, runtime, wait_for};

const T: i64 = 1_700_000_000_123_456_789;

fn config(hec: &FakeHec, extra: &str) -> String {
    format!(
        "endpoint = \"{}\"\ntoken = \"{}\"\n{extra}",
        hec.url(),
        FakeHec::TOKEN
    )
}

#[test]
fn hec_indexes_logs_and_metrics_exactly() {
    let hec = FakeHec::start();
    let rt = runtime();
    let (mut out, _) = build_output(
        "splunk_hec",
        &config(
            &hec,
            "index = \"main\"\nsourcetype = \"kube\"\nhost = \"node-1\"\n",
        ),
    );
    let logs = vec![
        LogRecord::new(T, "GET / 200 \"ok\" ✓", Stream::Stdout)
            .with_attribute("file", FieldValue::String("/var/log/pods/a/b/0.log".into()))
            .with_attribute("k8s.pod", FieldValue::String("web-1".into())),
        LogRecord::new(T + 1_000, "second\tline", Stream::Stderr),
    ];
    assert_eq!(
        deliver(&rt, out.as_mut(), &Batch::Logs(logs)),
        Ok(SendReport::ALL_ACCEPTED)
    );
    let metrics = vec![
        Metric::new("cpu", T)
            .with_tag("cpu", "cpu0")
            .with_field("usage_user", FieldValue::Float(1.5))
            .with_field("usage_system", FieldValue::Int(2)),
    ];
    assert_eq!(
        deliver(&rt, out.as_mut(), &Batch::Metrics(metrics)),
        Ok(SendReport::ALL_ACCEPTED)
    );
    let indexed = hec.indexed();
    assert!(
        indexed
            .iter()
            .all(|i| i.content_encoding.as_deref() == Some("gzip"))
    );
    let events: Vec<Value> = indexed.into_iter().map(|i| i.event).collect();
    assert_eq!(
        events,
        vec![
            json!({"time": 1_700_000_000.123_456, "host": "node-1",
                   "source": "/var/log/pods/a/b/0.log", "sourcetype": "kube", "index": "main",
                   "event": "GET / 200 \"ok\" ✓", "fields": {"k8s.pod": "web-1"}}),
            json!({"time": 1_700_000_000.123_457, "host": "node-1", "sourcetype": "kube",
                   "index": "main", "event": "second\tline"}),
            json!({"time": 1_700_000_000.123_456, "host": "node-1", "sourcetype": "kube",
                   "index": "main", "event": "metric",
                   "fields": {"cpu": "cpu0", "metric_name:cpu.usage_user": 1.5,
                              "metric_name:cpu.usage_system": 2}}),
        ]
    );
}

/// A payload of raw lines, as `send` gets it.
fn raw(lines: &[&str]) -> Payload {
    let mut body = String::new();
    for l in lines {
        body.push_str(l);
        body.push('\n');
    }
    Payload {
        bytes: Bytes::from(body),
        events: lines.len(),
    }
}

#[test]
fn hec_refused_events_are_dropped_alone() {
    let hec = FakeHec::start();
    let rt = runtime();
    let (mut out, metrics) = build_output("splunk_hec", &config(&hec, ""));
    let payload = raw(&[
        r#"{"time":1.5,"event":"ok0"}"#,
        r#"{"time":1.5,"event":"bad json"#,
        r#"{"time":1.5,"event":"ok2"}"#,
        r#"{"time":1.5}"#,
        r#"{"time":1.5,"event":"ok4"}"#,
        r#"{"time":1.5,"event":"   "}"#,
        r#"{"time":1.5,"event":"ok6"}"#,
        r#"{"time":1.5,"event":"x","fields":{"nested":{"a":1}}}"#,
        r#"{"time":1.5,"event":"ok8"}"#,
    ]);
    assert_eq!(
        rt.block_on(out.send(payload)),
        Ok(SendReport { rejected: 4 })
    );
    assert_eq!(metrics.dropped_count("invalid_event"), 4);
    assert_eq!(
        hec.events(),
        vec![
            json!("ok0"),
            json!("ok2"),
            json!("ok4"),
            json!("ok6"),
            json!("ok8")
        ]
    );
    let codes: Vec<(u16, Option<i64>, Option<i64>)> = hec
        .answered()
        .iter()
        .map(|a| {
            (
                a.status,
                a.body["code"].as_i64(),
                a.body["invalid-event-number"].as_i64(),
            )
        })
        .collect();
    assert_eq!(
        codes,
        vec![
            (400, Some(6), Some(1)),
            (400, Some(12), Some(1)),
            (400, Some(13), Some(1)),
            (400, Some(15), Some(1)),
            (200, Some(0), None),
        ]
    );
}

#[test]
fn hec_answers_map_to_kinds() {
    let rt = runtime();
    let batch = Batch::Logs(vec![LogRecord::new(T, "hello", Stream::Stdout)]);
    let kind_of = |hec: &FakeHec, extra: &str| {
        let (mut out, _) = build_output("splunk_hec", &config(hec, extra));
        deliver(&rt, out.as_mut(), &batch)
            .map(|_| ())
            .map_err(|e| e.kind)
    };
    let hec = FakeHec::start();
    // Injected server states: nothing indexed.
    let injected = [
        (
            503,
            Some(9),
            Some(2),
            OutputErrorKind::RateLimited {
                retry_after: Some(Duration::from_secs(2)),
            },
        ),
        (
            503,
            Some(23),
            None,
            OutputErrorKind::RateLimited { retry_after: None },
        ),
        (
            503,
            Some(18),
            None,
            OutputErrorKind::RateLimited { retry_after: None },
        ),
        (
            429,
            Some(26),
            Some(1),
            OutputErrorKind::RateLimited {
                retry_after: Some(Duration::from_secs(1)),
            },
        ),
        (
            429,
            Some(27),
            None,
            OutputErrorKind::RateLimited { retry_after: None },
        ),
        (500, Some(8), None, OutputErrorKind::Retryable),
        (413, None, None, OutputErrorKind::TooLarge),
    ];
    for (status, code, retry_after, kind) in injected {
        hec.fail_next(status, code, retry_after);
        assert_eq!(kind_of(&hec, ""), Err(kind), "{status} {code:?}");
    }
    assert!(hec.events().is_empty());
    // Token problems hold the data.
    let (mut out, _) = build_output(
        "splunk_hec",
        &format!(
            "endpoint = \"{}\"\ntoken_file = \"/nonexistent\"\n",
            hec.url()
        ),
    );
    assert_eq!(
        deliver(&rt, out.as_mut(), &batch).map_err(|e| e.kind),
        Err(OutputErrorKind::Retryable),
        "token file missing"
    );
    let (mut out, _) = build_output(
        "splunk_hec",
        &format!("endpoint = \"{}\"\ntoken = \"wrong\"\n", hec.url()),
    );
    assert_eq!(
        deliver(&rt, out.as_mut(), &batch).map_err(|e| e.kind),
        Err(OutputErrorKind::Retryable)
    );
    hec.set_token_disabled(FakeHec::TOKEN, true);
    assert_eq!(kind_of(&hec, ""), Err(OutputErrorKind::Retryable));
    hec.set_token_disabled(FakeHec::TOKEN, false);
    // Busy server.
    hec.set_busy(true);
    assert_eq!(
        kind_of(&hec, ""),
        Err(OutputErrorKind::RateLimited { retry_after: None })
    );
    hec.set_busy(false);
    // Wrong endpoint path.
    let (mut out, _) = build_output(
        "splunk_hec",
        &format!(
            "endpoint = \"{}/wrong\"\ntoken = \"{}\"\n",
            hec.url(),
            FakeHec::TOKEN
        ),
    );
    assert_eq!(
        deliver(&rt, out.as_mut(), &batch).map_err(|e| e.kind),
        Err(OutputErrorKind::Retryable)
    );
    assert_eq!(kind_of(&hec, ""), Ok(()));
    assert_eq!(hec.events(), vec![json!("hello")]);

    // Index not allowed for the token (code 7), and a token that wants acknowledgement
    // (code 10): misconfigurations, retried.
    let mut ack = Token::new("ack-token");
    ack.ack = true;
    let mut limited = Token::new(FakeHec::TOKEN);
    limited.indexes = vec!["main".to_owned()];
    let hec = FakeHec::start_with(FakeHecConfig {
        tokens: vec![limited, ack],
        max_content_length: 200,
        keep_events: true,
    });
    assert_eq!(
        kind_of(&hec, "index = \"secret\"\n"),
        Err(OutputErrorKind::Retryable)
    );
    let (mut out, _) = build_output(
        "splunk_hec",
        &format!("endpoint = \"{}\"\ntoken = \"ack-token\"\n", hec.url()),
    );
    assert_eq!(
        deliver(&rt, out.as_mut(), &batch).map_err(|e| e.kind),
        Err(OutputErrorKind::Retryable)
    );
    // A body over max_content_length: 413, split.
    let big = Batch::Logs(vec![LogRecord::new(T, "x".repeat(300), Stream::Stdout)]);
    let (mut out, _) = build_output("splunk_hec", &config(&hec, "index = \"main\"\n"));
    assert_eq!(
        deliver(&rt, out.as_mut(), &big).map_err(|e| e.kind),
        Err(OutputErrorKind::TooLarge)
    );
    assert_eq!(kind_of(&hec, "index = \"main\"\n"), Ok(()));
}

#[test]
fn fake_hec_follows_the_documented_protocol() {
    let mut ack = Token::new("aaaa");
    ack.ack = true;
    let hec = FakeHec::start_with(FakeHecConfig {
        tokens: vec![Token::new(FakeHec::TOKEN), ack],
        ..FakeHecConfig::default()
    });
    let addr = hec.url().trim_start_matches("http://").to_owned();
    let post = |path: &str, headers: &[(&str, &str)], body: &str| {
        let r = http(&addr, "POST", path, headers, body.as_bytes()).expect("request");
        let v: Value = serde_json::from_str(&r.body).unwrap_or(Value::Null);
        (r.status, v["code"].as_i64(), v)
    };
    let auth = format!("Splunk {}", FakeHec::TOKEN);
    let ev = "/services/collector/event";
    assert_eq!(post(ev, &[], "{}").0, 401);
    assert_eq!(post(ev, &[], "{}").1, Some(2));
    assert_eq!(post(ev, &[("Authorization", "Bearer x")], "{}").1, Some(3));
    assert_eq!(
        post(ev, &[("Authorization", "Splunk nope")], "{}").1,
        Some(4)
    );
    assert_eq!(post(&format!("{ev}?token=x"), &[], "{}").1, Some(16));
    let a = [("Authorization", auth.as_str())];
    assert_eq!(post(ev, &a, "  \n").1, Some(5));
    let (status, code, body) = post(
        ev,
        &a,
        r#"{"event":"a"}{"event":"b"} {"time":"x","event":"c"}"#,
    );
    assert_eq!((status, code), (400, Some(6)));
    assert_eq!(body["invalid-event-number"], json!(2));
    assert_eq!(hec.events(), vec![json!("a"), json!("b")]);
    // Basic auth with the token as password.
    let basic = "Basic eDoxMTExMTExMS0yMjIyLTMzMzMtNDQ0NC01NTU1NTU1NTU1NTU=";
    assert_eq!(
        post(
            "/services/collector",
            &[("Authorization", basic)],
            r#"{"event":"d"}"#
        )
        .1,
        Some(0)
    );
    assert_eq!(
        post(
            ev,
            &[
                ("Authorization", auth.as_str()),
                ("Content-Encoding", "deflate")
            ],
            "x"
        )
        .0,
        415
    );
    // Acknowledgement: a channel is required; ackIds are read once.
    let ack_auth = [("Authorization", "Splunk aaaa")];
    assert_eq!(post(ev, &ack_auth, r#"{"event":"e"}"#).1, Some(10));
    let chan = "0f8c2e4a-1b2c-4d5e-8f90-a1b2c3d4e5f6";
    let with_chan = [
        ("Authorization", "Splunk aaaa"),
        ("X-Splunk-Request-Channel", chan),
    ];
    assert_eq!(
        post(
            ev,
            &[
                ("Authorization", "Splunk aaaa"),
                ("X-Splunk-Request-Channel", "nope")
            ],
            r#"{"event":"e"}"#
        )
        .1,
        Some(11)
    );
    let (_, _, body) = post(ev, &with_chan, r#"{"event":"e"}"#);
    let id = body["ackId"].as_u64().expect("ackId");
    let acks = format!(r#"{{"acks":[{id}]}}"#);
    let path = format!("/services/collector/ack?channel={chan}");
    assert_eq!(
        post(&path, &ack_auth, &acks).2["acks"][id.to_string()],
        json!(true)
    );
    assert_eq!(
        post(&path, &ack_auth, &acks).2["acks"][id.to_string()],
        json!(false)
    );
    assert_eq!(post(&path, &a, &acks).1, Some(14));
    // Health.
    let health = || {
        let r = http(&addr, "GET", "/services/collector/health", &[], b"").expect("health");
        (
            r.status,
            serde_json::from_str::<Value>(&r.body).expect("json")["code"].as_i64(),
        )
    };
    assert_eq!(health(), (200, Some(17)));
    hec.set_busy(true);
    assert_eq!(health(), (503, Some(18)));
    assert_eq!(post(ev, &a, r#"{"event":"f"}"#).1, Some(9));
}

#[test]
fn agent_delivers_tailed_container_logs_to_hec() {
    let hec = FakeHec::start();
    let logs = tempfile::tempdir().expect("tempdir");
    let dir = logs
        .path()
        .join("shop_web-7d9f_0b7e6a52-1c1e-4b7a-9a51-3f2f0c6d9e11/app");
    std::fs::create_dir_all(&dir).expect("mkdir");
    std::fs::write(
        dir.join("0.log"),
        "2026-11-21T04:00:00.123456789Z stdout F first line\n\
         2026-11-21T04:00:01.5Z stderr P part one \n\
         2026-11-21T04:00:01.6Z stderr F and two\n",
    )
    .expect("write log");
    let mut agent = Agent::start(&format!(
        r#"[agent]
http_listen = "{{telemetry}}"
flush_interval = "100ms"
data_dir = "{{dir}}"
hostname = "node-a"

[[inputs.tail]]
paths = ["{}/*/*/*.log"]
format = "cri"
read_from_head = true

[[outputs.splunk_hec]]
endpoint = "{}"
token = "{}"
sourcetype = "kube:container"
"#,
        logs.path().display(),
        hec.url(),
        FakeHec::TOKEN
    ));
    let events = wait_for("two events at the fake HEC", || {
        let i = hec.indexed();
        (i.len() >= 2).then_some(i)
    });
    let file = dir.join("0.log").display().to_string();
    let got: Vec<Value> = events.into_iter().map(|i| i.event).collect();
    let fields = json!({
        "k8s.namespace": "shop",
        "k8s.pod": "web-7d9f",
        "k8s.pod_uid": "0b7e6a52-1c1e-4b7a-9a51-3f2f0c6d9e11",
        "k8s.container": "app",
        "k8s.restart_count": "0",
    });
    assert_eq!(
        got,
        vec![
            json!({"time": 1_795_233_600.123_456, "host": "node-a", "source": file,
                   "sourcetype": "kube:container", "event": "first line", "fields": fields}),
            json!({"time": 1_795_233_601.5, "host": "node-a", "source": file,
                   "sourcetype": "kube:container", "event": "part one and two", "fields": fields}),
        ]
    );
    agent.signal("TERM");
    assert!(agent.wait_exit(Duration::from_secs(30)).success());
}

/// The value of `gleaner_component_sent_events_total` for the HEC output (0 when absent).
fn hec_sent(metrics: &str) -> u64 {
    metrics
        .lines()
        .find(|l| {
            l.starts_with("gleaner_component_sent_events_total{")
                && l.contains("component_id=\"outputs.splunk_hec.0\"")
        })
        .and_then(|l| l.rsplit(' ').next())
        .and_then(|v| v.parse().ok())
        .unwrap_or(0)
}

#[test]
fn hec_ack_counts_events_sent_only_when_acknowledged_and_resends_on_timeout() {
    let mut token = Token::new(FakeHec::TOKEN);
    token.ack = true;
    let hec = FakeHec::start_with(FakeHecConfig {
        tokens: vec![token],
        ..FakeHecConfig::default()
    });
    hec.set_withhold_acks(true);
    let logs = tempfile::tempdir().expect("tempdir");
    let dir = logs
        .path()
        .join("shop_web-1_0b7e6a52-1c1e-4b7a-9a51-3f2f0c6d9e11/app");
    std::fs::create_dir_all(&dir).expect("mkdir");
    std::fs::write(
        dir.join("0.log"),
        "2026-11-21T04:00:00.1Z stdout F one\n2026-11-21T04:00:00.2Z stdout F two\n",
    )
    .expect("write log");
    let mut agent = Agent::start(&format!(
        r#"[agent]
http_listen = "{{telemetry}}"
flush_interval = "100ms"
data_dir = "{{dir}}"
hostname = "node-a"

[[inputs.tail]]
paths = ["{}/*/*/*.log"]
format = "cri"
read_from_head = true

[[outputs.splunk_hec]]
endpoint = "{}"
token = "{}"
ack = true
ack_timeout = "400ms"
ack_poll_interval = "50ms"
"#,
        logs.path().display(),
        hec.url(),
        FakeHec::TOKEN
    ));
    // Acks withheld: the batch is indexed, times out unacknowledged and is sent again.
    // Each send waits for its own ackId: two distinct ids polled means a re-send.
    let ack_ids = |polls: &[gleaner_e2e::fake_hec::AckPoll]| {
        polls
            .iter()
            .flat_map(|p| p.acks.iter().map(|a| a.0))
            .collect::<std::collections::BTreeSet<u64>>()
    };
    let polls = wait_for("the batch sent again after ack_timeout", || {
        let polls = hec.ack_polls();
        (ack_ids(&polls).len() >= 2).then_some(polls)
    });
    assert!(hec.indexed_count() >= 4);
    assert!(polls.iter().all(|p| p.acks.iter().all(|&(_, ok)| !ok)));
    let channels: std::collections::BTreeSet<&str> =
        polls.iter().map(|p| p.channel.as_str()).collect();
    assert_eq!(channels.len(), 1, "one stable channel: {channels:?}");
    let m = http(&agent.telemetry_addr, "GET", "/metrics", &[], b"").expect("metrics");
    assert_eq!(
        hec_sent(&m.body),
        0,
        "counted sent before any ack:\n{}",
        m.body
    );
    assert!(
        agent
            .stderr()
            .contains("not acknowledged within ack_timeout")
    );
    assert!(
        !agent.stderr().contains(FakeHec::TOKEN),
        "the token is never logged"
    );
    // Acks released: the next attempt is acknowledged and only then counted.
    hec.set_withhold_acks(false);
    agent.wait_metrics("2 events sent", |m| hec_sent(m) == 2);
    assert!(
        hec.ack_polls()
            .iter()
            .any(|p| p.acks.iter().any(|&(_, ok)| ok))
    );
    // Re-sends duplicate (documented): every indexed event is one of the two lines.
    let events = hec.events();
    assert!(events.len() >= 4, "{events:?}");
    assert!(events.contains(&json!("one")) && events.contains(&json!("two")));
    assert!(
        events
            .iter()
            .all(|e| *e == json!("one") || *e == json!("two"))
    );
    agent.signal("TERM");
    assert!(agent.wait_exit(Duration::from_secs(30)).success());
}

/// The issue's end-to-end figure: 1,000,000 CRI log lines through tail → disk buffer →
/// splunk_hec → the fake HEC; prints events/s, the agent's CPU seconds and peak RSS.
/// Ignored by default (minutes in a debug build); run with
/// `GLEANER_BIN=target/release/gleaner cargo test -p gleaner-e2e --test e2e -- --ignored --nocapture hec_million`.
#[test]
#[ignore = "benchmark: run by hand with a release binary"]
fn hec_million_lines_benchmark() {
    use std::io::Write as _;
    const LINES: usize = 1_000_000;
    let hec = FakeHec::start_with(FakeHecConfig {
        keep_events: false,
        ..FakeHecConfig::default()
    });
    let logs = tempfile::tempdir().expect("tempdir");
    let dir = logs
        .path()
        .join("shop_web-7d9f_0b7e6a52-1c1e-4b7a-9a51-3f2f0c6d9e11/app");
    std::fs::create_dir_all(&dir).expect("mkdir");
    let mut f = std::io::BufWriter::new(std::fs::File::create(dir.join("0.log")).expect("log"));
    for i in 0..LINES {
        writeln!(
            f,
            "2026-11-21T04:00:{:02}.{:09}Z stdout F INFO [http-nio-8080-exec-{}] c.e.shop.OrderController - order {} placed by customer 4711 total=129.90 EUR items=3",
            (i / 1_000_000) % 60,
            i % 1_000_000_000,
            i % 32,
            100_000 + i
        )
        .expect("write");
    }
    f.flush().expect("flush");
    drop(f);
    let start = std::time::Instant::now();
    let mut agent = Agent::start(&format!(
        r#"[agent]
http_listen = "{{telemetry}}"
flush_interval = "200ms"
data_dir = "{{dir}}"
hostname = "node-a"
shutdown_timeout = "60s"

[[inputs.tail]]
paths = ["{}/*/*/*.log"]
format = "cri"
read_from_head = true

[[outputs.splunk_hec]]
endpoint = "{}"
token = "{}"
"#,
        logs.path().display(),
        hec.url(),
        FakeHec::TOKEN
    ));
    let deadline = std::time::Instant::now() + Duration::from_secs(1200);
    while hec.indexed_count() < LINES {
        assert!(
            std::time::Instant::now() < deadline,
            "only {} of {LINES} events after 20 minutes",
            hec.indexed_count()
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    let elapsed = start.elapsed();
    let pid = agent.child.id();
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).expect("stat");
    let fields: Vec<&str> = stat.rsplit_once(") ").expect("stat").1.split(' ').collect();
    let ticks: f64 =
        fields[11].parse::<f64>().expect("utime") + fields[12].parse::<f64>().expect("stime");
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).expect("status");
    let hwm = status
        .lines()
        .find(|l| l.starts_with("VmHWM:"))
        .unwrap_or("VmHWM: ?")
        .to_owned();
    println!(
        "hec_million: {LINES} events in {:.1}s = {:.0} events/s; agent CPU {:.1}s (user+sys, at 100 ticks/s); peak RSS {}",
        elapsed.as_secs_f64(),
        LINES as f64 / elapsed.as_secs_f64(),
        ticks / 100.0,
        hwm.trim_start_matches("VmHWM:").trim()
    );
    assert_eq!(hec.indexed_count(), LINES, "duplicates");
    agent.signal("TERM");
    assert!(agent.wait_exit(Duration::from_secs(60)).success());
}
