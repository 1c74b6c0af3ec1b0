//! `outputs.splunk_hec`: golden encodings (`testdata/splunk_hec/`), config validation, the
//! per-event rejection and resume logic, and the answer table against a scripted server.
//! The full protocol (auth, codes, gzip) is exercised against the fake HEC in `tests/`.

use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use gleaner_api::{
    Batch, ComponentMetrics, FieldValue, LogRecord, Metric, Output, OutputErrorKind, Payload,
    PluginConfig, SendReport, Stream,
};

use super::DESCRIPTOR;
use super::encode::write_time;
use crate::test_server::{Reply, TestServer, assert_golden};

const T0: i64 = 1_700_000_000_123_456_789;

fn build(toml: &str) -> (Box<dyn Output>, Arc<ComponentMetrics>) {
    captured_logs();
    crate::test_server::build(&DESCRIPTOR, toml)
}

fn build_err(toml: &str) -> gleaner_api::ConfigError {
    crate::test_server::build_err(&DESCRIPTOR, toml)
}

fn encode(out: &dyn Output, batch: &Batch) -> Vec<u8> {
    let mut buf = Vec::new();
    out.encode(batch, &mut buf).expect("encode");
    buf
}

fn logs() -> Vec<LogRecord> {
    vec![
        LogRecord::new(T0, "GET /index.html 200 \"ok\"", Stream::Stdout)
            .with_attribute(
                "file",
                FieldValue::String("/var/log/pods/shop_web_1/app/0.log".into()),
            )
            .with_attribute("k8s.namespace", FieldValue::String("shop".into()))
            .with_attribute("k8s.pod", FieldValue::String("web".into()))
            .with_attribute("k8s.restart_count", FieldValue::Int(2))
            .with_attribute("partial", FieldValue::Bool(true)),
        // Parsed: extra attributes make the event an object.
        LogRecord::new(T0 + 1_000, "{\"level\":\"warn\"}", Stream::Stderr)
            .with_attribute("level", FieldValue::String("warn".into()))
            .with_attribute("latency", FieldValue::Float(0.25))
            .with_attribute("bad", FieldValue::Float(f64::NAN))
            .with_attribute("message", FieldValue::String("shadowed".into())),
        LogRecord::new(-1_000, b"tab\there \xff\nnewline".to_vec(), Stream::Unknown),
        LogRecord::new(T0, "   ", Stream::Stdout),
    ]
}

fn metrics() -> Vec<Metric> {
    vec![
        Metric::new("cpu", T0)
            .with_tag("cpu", "cpu-total")
            .with_tag("host", "n1")
            .with_field("usage_user", FieldValue::Float(1.5))
            .with_field("usage_idle", FieldValue::Float(f64::NAN))
            .with_field("procs", FieldValue::Int(-3))
            .with_field("big", FieldValue::UInt(u64::MAX))
            .with_field("ok", FieldValue::Bool(true))
            .with_field("note", FieldValue::String("skipped".into())),
        Metric::new("prometheus", T0)
            .with_tag("job", "node")
            .with_field("node_load1", FieldValue::Float(0.5)),
        Metric::new("strings", T0).with_field("s", FieldValue::String("x".into())),
    ]
}

#[test]
fn logs_golden() {
    let (out, m) = build(
        "token = \"t\"\nindex = \"k8s\"\nsourcetype = \"kube:container\"\nfields = [\"k8s.*\", \"stream\"]\n",
    );
    let buf = encode(out.as_ref(), &Batch::Logs(logs()));
    assert_golden("splunk_hec/logs.jsonl", &buf);
    assert_eq!(m.dropped_count("empty_message"), 1);
    for line in buf.split(|&b| b == b'\n').filter(|l| !l.is_empty()) {
        serde_json::from_slice::<serde_json::Value>(line).expect("each line is one JSON object");
    }
}

/// The same records with their attributes in a shared list (as the tail and the buffer's
/// decoder make them) or each their own encode byte for byte the same, for every config.
#[test]
fn shared_attribute_lists_encode_like_own_ones() {
    for toml in [
        "token = \"t\"\nindex = \"k8s\"\nfields = [\"k8s.*\", \"stream\"]\n",
        "token = \"t\"\n",
        "token = \"t\"\nfields = [\"file\"]\nsource = \"s\"\n",
    ] {
        let (out, _) = build(toml);
        let own = logs();
        let shared: Vec<LogRecord> = own
            .iter()
            .map(|r| {
                let list: gleaner_api::SharedAttributes =
                    r.attributes.iter().cloned().collect::<Vec<_>>().into();
                LogRecord {
                    attributes: gleaner_api::Attributes::from_shared(list),
                    ..r.clone()
                }
            })
            .collect();
        assert!(shared[0].attributes.own_part().is_empty());
        assert_eq!(
            String::from_utf8_lossy(&encode(out.as_ref(), &Batch::Logs(shared))),
            String::from_utf8_lossy(&encode(out.as_ref(), &Batch::Logs(own))),
            "{toml}"
        );
    }
}

/// Records whose attributes are split between a shared list and their own (as a filter
/// that adds attributes leaves them: parsed members, a flag), in batches whose records
/// alternate between more lists than the encoder keeps plans for, encode byte for byte as
/// with all their attributes their own, at every split and for every config.
#[test]
fn split_attribute_lists_encode_like_own_ones() {
    let mut own = logs();
    own.push(
        LogRecord::new(T0, r#"{"level":"warn"}"#, Stream::Stdout)
            .with_attribute("k8s.pod", FieldValue::String("api".into()))
            .with_attribute("log.level", FieldValue::String("warn".into()))
            .with_attribute("file", FieldValue::String("/var/log/own.log".into()))
            .with_attribute("parse_error", FieldValue::Bool(true))
            .with_attribute("log.code", FieldValue::Int(503)),
    );
    own.push(
        LogRecord::new(T0, "two files", Stream::Stderr)
            .with_attribute("file", FieldValue::Int(7))
            .with_attribute("k8s.pod", FieldValue::String("api".into()))
            .with_attribute("file", FieldValue::String("/var/log/second.log".into())),
    );
    let twice: Vec<LogRecord> = own.iter().chain(own.iter()).cloned().collect();
    let longest = own.iter().map(|r| r.attributes.len()).max().unwrap_or(0);
    for toml in [
        "token = \"t\"\nindex = \"k8s\"\nfields = [\"k8s.*\", \"stream\"]\n",
        "token = \"t\"\n",
        "token = \"t\"\nfields = [\"file\"]\nsource = \"s\"\n",
        "token = \"t\"\nfields = [\"log.*\"]\n",
    ] {
        let (out, _) = build(toml);
        let want = encode(out.as_ref(), &Batch::Logs(twice.clone()));
        for split in 0..=longest {
            let mixed: Vec<LogRecord> = twice
                .iter()
                .map(|r| {
                    let all: Vec<_> = r.attributes.iter().cloned().collect();
                    let at = split.min(all.len());
                    let mut attributes =
                        gleaner_api::Attributes::from_shared(all[..at].to_vec().into());
                    for (k, v) in &all[at..] {
                        attributes.push(k.clone(), v.clone());
                    }
                    LogRecord {
                        attributes,
                        ..r.clone()
                    }
                })
                .collect();
            assert_eq!(
                String::from_utf8_lossy(&encode(out.as_ref(), &Batch::Logs(mixed))),
                String::from_utf8_lossy(&want),
                "{toml} split at {split}"
            );
        }
    }
}

#[test]
fn a_parsed_message_is_sent_as_its_object() {
    let (out, _) = build("token = \"t\"\n");
    let record = LogRecord::new(T0, r#"{"level":"warn","code":503}"#, Stream::Stdout)
        .with_attribute("k8s.pod", FieldValue::String("api".into()))
        .with_attribute("log.level", FieldValue::String("warn".into()))
        .with_attribute("log.code", FieldValue::Int(503))
        .with_attribute("log.message", FieldValue::String("upstream down".into()));
    let buf = encode(out.as_ref(), &Batch::Logs(vec![record]));
    let v: serde_json::Value = serde_json::from_slice(&buf).expect("one JSON object");
    assert_eq!(
        v["event"],
        serde_json::json!({"level": "warn", "code": 503, "message": "upstream down"})
    );
    assert_eq!(v["fields"], serde_json::json!({"k8s.pod": "api"}));
}

#[test]
fn metrics_golden() {
    let (out, m) = build("token = \"t\"\nindex = \"metrics\"\nhost = \"\"\n");
    let buf = encode(out.as_ref(), &Batch::Metrics(metrics()));
    assert_golden("splunk_hec/metrics.jsonl", &buf);
    assert_eq!(m.dropped_count("string_field"), 2);
    assert_eq!(m.dropped_count("nan_or_inf_field"), 1);
    assert_eq!(m.dropped_count("no_fields"), 1);
}

/// Numbers follow the one rule of `crate::json`, as in the JSON lines of stdout and file:
/// shortest round-trip floats in plain notation from 1e-5 up to 1e16 (`3.0`, `0.00001`,
/// `1e+16`), and an indexed field holds the same text as a string.
#[test]
fn numbers_are_written_as_every_json_output_writes_them() {
    let (out, _) = build("token = \"t\"\nfields = [\"ratio\"]\n");
    let r = LogRecord::new(T0, "m", Stream::Stdout)
        .with_attribute("ratio", FieldValue::Float(3.0))
        .with_attribute("tiny", FieldValue::Float(1e-5))
        .with_attribute("huge", FieldValue::Float(1e16));
    let hec = String::from_utf8(encode(out.as_ref(), &Batch::Logs(vec![r.clone()]))).unwrap();
    assert!(
        hec.contains(r#""event":{"message":"m","tiny":0.00001,"huge":1e+16}"#),
        "{hec}"
    );
    assert!(hec.contains(r#""fields":{"ratio":"3.0"}"#), "{hec}");
    let mut lines = Vec::new();
    crate::json_lines::encode_log(&r, &mut lines);
    let lines = String::from_utf8(lines).unwrap();
    assert!(
        lines.contains(r#""ratio":3.0,"tiny":0.00001,"huge":1e+16}"#),
        "{lines}"
    );
    let m = Metric::new("m", T0).with_field("huge", FieldValue::Float(1e16));
    let hec = String::from_utf8(encode(out.as_ref(), &Batch::Metrics(vec![m]))).unwrap();
    assert!(hec.contains(r#""metric_name:m.huge":1e+16"#), "{hec}");
}

#[test]
fn time_is_seconds_with_a_fraction() {
    let t = |ns| {
        let mut b = Vec::new();
        write_time(&mut b, ns);
        String::from_utf8(b).expect("utf8")
    };
    assert_eq!(t(T0), "1700000000.123456");
    assert_eq!(t(1_700_000_000_000_000_000), "1700000000.000000");
    assert_eq!(t(0), "0.000000");
    assert_eq!(t(-1_000), "-0.000001");
    assert_eq!(t(-1_500_000_000), "-1.500000");
}

/// One `Seconds` kept across events writes each time as `write_time` does alone, and both
/// as `format!` would, whether the second changes or not (sign, digits' count, extremes).
#[test]
fn seconds_kept_across_events_write_what_write_time_does() {
    let mut seconds = super::encode::Seconds::default();
    for ns in [
        T0,
        T0 + 1_000,
        T0 + 999_999_999,
        T0 + 1_000_000_000,
        0,
        999,
        -1,
        -1_000,
        -1_000_001,
        -1_500_000_000,
        9_000_000_000,
        10_000_000_000,
        i64::MAX,
        i64::MIN,
        T0,
        T0 - 123_000,
    ] {
        let mut kept = Vec::new();
        seconds.write(&mut kept, ns);
        let mut alone = Vec::new();
        write_time(&mut alone, ns);
        let micros = ns.div_euclid(1_000);
        let abs = micros.unsigned_abs();
        let sign = if micros < 0 { "-" } else { "" };
        let want = format!("{sign}{}.{:06}", abs / 1_000_000, abs % 1_000_000);
        assert_eq!(String::from_utf8(kept).expect("utf8"), want, "{ns}");
        assert_eq!(String::from_utf8(alone).expect("utf8"), want, "{ns}");
    }
}

#[test]
fn config_errors_name_the_key() {
    let cases = [
        ("", "outputs.splunk_hec.0.token"),
        ("token = \"\"\n", "outputs.splunk_hec.0.token"),
        (
            "token = \"a\"\ntoken_file = \"/t\"\n",
            "outputs.splunk_hec.0.token_file",
        ),
        (
            "token = \"a\"\nendpoint = \"splunk:8088\"\n",
            "outputs.splunk_hec.0.endpoint",
        ),
        (
            "token = \"a\"\nindex = \"\"\n",
            "outputs.splunk_hec.0.index",
        ),
        (
            "token = \"a\"\nbatch_max_bytes = 10\n",
            "outputs.splunk_hec.0.batch_max_bytes",
        ),
        (
            "token = \"a\"\nheaders = { Authorization = \"x\" }\n",
            "outputs.splunk_hec.0.headers",
        ),
        (
            "token = \"a\"\nack = true\nack_timeout = \"0s\"\n",
            "outputs.splunk_hec.0.ack_timeout",
        ),
        (
            "token = \"a\"\nack_timeout = \"1s\"\nack_poll_interval = \"2s\"\n",
            "outputs.splunk_hec.0.ack_poll_interval",
        ),
        (
            "token = \"a\"\nchannel = \"not-a-guid\"\n",
            "outputs.splunk_hec.0.channel",
        ),
        (
            "token = \"a\"\nheaders = { X-Splunk-Request-Channel = \"x\" }\n",
            "outputs.splunk_hec.0.headers",
        ),
    ];
    for (toml, key) in cases {
        let e = build_err(toml);
        assert_eq!(e.key.as_deref(), Some(key), "{toml}: {e}");
    }
}

#[test]
fn the_token_never_shows_in_debug() {
    let cfg =
        PluginConfig::from_toml_str("outputs.splunk_hec.0", "token = \"s3cr3t\"\n").expect("toml");
    let raw: super::config::HecConfig = cfg.parse().expect("parse");
    assert!(!format!("{raw:?}").contains("s3cr3t"));
    let settings = raw.validate(&cfg, "h").expect("valid");
    assert!(!format!("{settings:?}").contains("s3cr3t"));
}

fn lines(n: usize) -> Payload {
    let body: String = (0..n)
        .map(|i| format!("{{\"time\":1.000000,\"event\":\"e{i}\"}}\n"))
        .collect();
    Payload {
        bytes: Bytes::from(body),
        events: n,
    }
}

fn events_of(body: &[u8]) -> Vec<String> {
    body.split(|&b| b == b'\n')
        .filter(|l| !l.is_empty())
        .map(|l| {
            let v: serde_json::Value = serde_json::from_slice(l).expect("json");
            v["event"].as_str().expect("event").to_owned()
        })
        .collect()
}

#[tokio::test]
async fn request_shape() {
    let server = TestServer::start(vec![Reply::new(200, r#"{"text":"Success","code":0}"#)]).await;
    let (mut out, _) = build(&format!(
        "endpoint = \"{}/prefix\"\ntoken = \"abc\"\n",
        server.url()
    ));
    assert_eq!(out.send(lines(2)).await, Ok(SendReport::ALL_ACCEPTED));
    let q = &server.requests()[0];
    assert_eq!(q.path_and_query, "/prefix/services/collector/event");
    assert_eq!(q.header("authorization"), Some("Splunk abc"));
    assert_eq!(q.header("content-encoding"), Some("gzip"));
    assert_eq!(q.header("content-type"), Some("application/json"));
    assert_eq!(q.header("x-splunk-request-channel"), None);
    assert_eq!(events_of(&q.body), ["e0", "e1"]);
}

#[tokio::test]
async fn an_invalid_event_is_dropped_and_the_rest_resent() {
    let server = TestServer::start(vec![
        Reply::new(
            400,
            r#"{"text":"Invalid data format","code":6,"invalid-event-number":1}"#,
        ),
        Reply::new(
            400,
            r#"{"text":"Event field cannot be blank","code":13,"invalid-event-number":2}"#,
        ),
        Reply::new(200, r#"{"text":"Success","code":0}"#),
    ])
    .await;
    let (mut out, m) = build(&format!(
        "endpoint = \"{}\"\ntoken = \"abc\"\n",
        server.url()
    ));
    assert_eq!(out.send(lines(6)).await, Ok(SendReport { rejected: 2 }));
    assert_eq!(m.dropped_count("invalid_event"), 2);
    let sent: Vec<Vec<String>> = server
        .requests()
        .iter()
        .map(|r| events_of(&r.body))
        .collect();
    assert_eq!(
        sent,
        vec![
            vec!["e0", "e1", "e2", "e3", "e4", "e5"],
            vec!["e2", "e3", "e4", "e5"],
            vec!["e5"],
        ]
    );
}

/// Every log line of this test process, from a global subscriber installed by the first
/// [`build`]: a scoped one (`set_default`) misses events whose callsite another test thread
/// registers at the same moment (tracing caches a callsite's interest globally), a global one
/// installed before any HEC output exists cannot.
fn captured_logs() -> &'static std::sync::Mutex<Vec<u8>> {
    static LOGS: std::sync::OnceLock<&'static std::sync::Mutex<Vec<u8>>> =
        std::sync::OnceLock::new();
    LOGS.get_or_init(|| {
        let buf: &'static std::sync::Mutex<Vec<u8>> =
            Box::leak(Box::new(std::sync::Mutex::new(Vec::new())));
        struct Sink(&'static std::sync::Mutex<Vec<u8>>);
        impl std::io::Write for Sink {
            fn write(&mut self, b: &[u8]) -> std::io::Result<usize> {
                self.0
                    .lock()
                    .unwrap_or_else(std::sync::PoisonError::into_inner)
                    .extend_from_slice(b);
                Ok(b.len())
            }
            fn flush(&mut self) -> std::io::Result<()> {
                Ok(())
            }
        }
        let subscriber = tracing_subscriber::fmt()
            .with_env_filter("gleaner_outputs=debug")
            .with_ansi(false)
            .with_writer(move || Sink(buf))
            .finish();
        tracing::subscriber::set_global_default(subscriber)
            .expect("no other global subscriber in the plugin tests");
        buf
    })
}

/// The captured log lines that contain `marker`.
fn log_lines(marker: &str) -> Vec<String> {
    let all = captured_logs()
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    String::from_utf8_lossy(&all)
        .lines()
        .filter(|l| l.contains(marker))
        .map(str::to_owned)
        .collect()
}

#[tokio::test]
async fn a_refused_event_is_logged_by_index_and_size_and_its_content_only_at_debug() {
    let server = TestServer::start(vec![
        Reply::new(
            400,
            r#"{"text":"Invalid data format","code":6,"invalid-event-number":0}"#,
        ),
        Reply::new(
            400,
            r#"{"text":"Invalid data format","code":6,"invalid-event-number":1}"#,
        ),
        Reply::new(200, r#"{"text":"Success","code":0}"#),
    ])
    .await;
    let (mut out, _m) = build(&format!(
        "endpoint = \"{}\"\ntoken = \"abc\"\n",
        server.url()
    ));
    let personal = "jane.doe@example.com card 4111-1111-1111-1111 and more text after it";
    let body = format!(
        "{{\"event\":\"e0\"}}\n{{\"event\":\"e1\"}}\n{{\"event\":\"{personal}\"}}\n{{\"event\":\"e3\"}}\n"
    );
    let event_bytes = personal.len() + 13;
    let payload = Payload {
        bytes: Bytes::from(body),
        events: 4,
    };
    assert_eq!(out.send(payload).await, Ok(SendReport { rejected: 2 }));
    // The test server's URL is in every line this send logged, and in no other test's.
    let lines = log_lines(&server.url());
    let warns: Vec<&String> = lines.iter().filter(|l| l.contains(" WARN ")).collect();
    assert_eq!(warns.len(), 2, "{lines:#?}");
    // e0 (index 0) refused, then event 1 of the rest: index 2 of the payload.
    assert!(warns[0].contains("event_index=0 bytes=15"), "{}", warns[0]);
    assert!(
        warns[1].contains(&format!("event_index=2 bytes={event_bytes}")),
        "{}",
        warns[1]
    );
    for w in &warns {
        assert!(
            !w.contains("jane") && !w.contains("e0"),
            "content at warn: {w}"
        );
    }
    let debug = lines
        .iter()
        .find(|l| l.contains(" DEBUG ") && l.contains("event_index=2"))
        .unwrap_or_else(|| panic!("no debug line:\n{lines:#?}"));
    assert!(debug.contains("jane.doe@example.com"), "{debug}");
    assert!(
        !debug.contains("more text after it"),
        "only the first bytes: {debug}"
    );
}

#[tokio::test]
async fn the_last_event_invalid_ends_the_send() {
    let server = TestServer::start(vec![Reply::new(
        400,
        r#"{"text":"Invalid data format","code":6,"invalid-event-number":2}"#,
    )])
    .await;
    let (mut out, _) = build(&format!(
        "endpoint = \"{}\"\ntoken = \"abc\"\n",
        server.url()
    ));
    assert_eq!(out.send(lines(3)).await, Ok(SendReport { rejected: 1 }));
    assert_eq!(server.requests().len(), 1);
}

#[tokio::test]
async fn a_retry_resumes_after_what_was_indexed() {
    let server = TestServer::start(vec![
        Reply::new(
            400,
            r#"{"text":"Invalid data format","code":6,"invalid-event-number":0}"#,
        ),
        Reply::new(503, r#"{"text":"Server is busy","code":9}"#).header("Retry-After", "1"),
        Reply::new(200, r#"{"text":"Success","code":0}"#),
    ])
    .await;
    let (mut out, _) = build(&format!(
        "endpoint = \"{}\"\ntoken = \"abc\"\n",
        server.url()
    ));
    // As the worker does: compressed once, every try sends those bytes.
    let p = out.prepare(&lines(3)).await.expect("gzipped");
    let err = out.send_prepared(p.clone()).await.expect_err("busy");
    assert_eq!(
        err.kind,
        OutputErrorKind::RateLimited {
            retry_after: Some(Duration::from_secs(1))
        }
    );
    // The worker retries the same payload: only the events not yet indexed go out, and the
    // report still counts the event rejected before the 503.
    assert_eq!(out.send_prepared(p).await, Ok(SendReport { rejected: 1 }));
    let sent: Vec<Vec<String>> = server
        .requests()
        .iter()
        .map(|r| events_of(&r.body))
        .collect();
    assert_eq!(
        sent,
        vec![vec!["e0", "e1", "e2"], vec!["e1", "e2"], vec!["e1", "e2"]]
    );
    // A different payload starts from its beginning.
    assert_eq!(out.send(lines(1)).await, Ok(SendReport::ALL_ACCEPTED));
    assert_eq!(events_of(&server.requests()[3].body), ["e0"]);
}

#[tokio::test]
async fn answers_map_to_kinds() {
    let busy = |code: u16| format!(r#"{{"text":"busy","code":{code}}}"#);
    let cases: Vec<(Reply, OutputErrorKind)> = vec![
        (
            Reply::new(400, r#"{"text":"No data","code":5}"#),
            OutputErrorKind::Permanent,
        ),
        (
            Reply::new(400, r#"{"text":"Invalid data format","code":6}"#),
            OutputErrorKind::Permanent,
        ),
        (
            Reply::new(
                400,
                r#"{"text":"Incorrect index","code":7,"invalid-event-number":0}"#,
            ),
            OutputErrorKind::Retryable,
        ),
        (
            Reply::new(400, r#"{"text":"Data channel is missing","code":10}"#),
            OutputErrorKind::Retryable,
        ),
        (
            Reply::new(401, r#"{"text":"Token is required","code":2}"#),
            OutputErrorKind::Retryable,
        ),
        (
            Reply::new(401, r#"{"text":"Invalid authorization","code":3}"#),
            OutputErrorKind::Retryable,
        ),
        (
            Reply::new(403, r#"{"text":"Token disabled","code":1}"#),
            OutputErrorKind::Retryable,
        ),
        (
            Reply::new(403, r#"{"text":"Invalid token","code":4}"#),
            OutputErrorKind::Retryable,
        ),
        (Reply::new(404, "not found"), OutputErrorKind::Retryable),
        (Reply::new(413, "too large"), OutputErrorKind::TooLarge),
        (
            Reply::new(429, &busy(26)).header("Retry-After", "4"),
            OutputErrorKind::RateLimited {
                retry_after: Some(Duration::from_secs(4)),
            },
        ),
        (
            Reply::new(503, &busy(9)),
            OutputErrorKind::RateLimited { retry_after: None },
        ),
        (
            Reply::new(503, &busy(23)),
            OutputErrorKind::RateLimited { retry_after: None },
        ),
        (
            Reply::new(500, r#"{"text":"Internal server error","code":8}"#),
            OutputErrorKind::Retryable,
        ),
        (Reply::new(415, "unsupported"), OutputErrorKind::Permanent),
    ];
    for (reply, kind) in cases {
        let status = reply.status;
        let body = reply.body.clone();
        let server = TestServer::start(vec![reply]).await;
        let (mut out, _) = build(&format!(
            "endpoint = \"{}\"\ntoken = \"abc\"\n",
            server.url()
        ));
        let err = out.send(lines(2)).await.expect_err("error answer");
        assert_eq!(err.kind, kind, "{status} {body}: {err}");
        assert!(!err.message.contains("abc"), "{err}");
    }
    let server =
        TestServer::start(vec![Reply::new(200, r#"{"text":"approaching","code":24}"#)]).await;
    let (mut out, _) = build(&format!(
        "endpoint = \"{}\"\ntoken = \"abc\"\n",
        server.url()
    ));
    assert_eq!(out.send(lines(1)).await, Ok(SendReport::ALL_ACCEPTED));
}

#[tokio::test]
async fn a_permanent_refusal_after_partial_indexing_rejects_only_the_rest() {
    let server = TestServer::start(vec![
        Reply::new(
            400,
            r#"{"text":"Invalid data format","code":6,"invalid-event-number":1}"#,
        ),
        Reply::new(400, r#"{"text":"No data","code":5}"#),
    ])
    .await;
    let (mut out, m) = build(&format!(
        "endpoint = \"{}\"\ntoken = \"abc\"\n",
        server.url()
    ));
    // e0 indexed, e1 refused, then e2..e4 refused for good: 4 rejected, e0 delivered.
    assert_eq!(out.send(lines(5)).await, Ok(SendReport { rejected: 4 }));
    assert_eq!(m.dropped_count("invalid_event"), 1);
    assert_eq!(m.dropped_count("permanent_error"), 3);
}

const ACK: &str = "ack = true\nack_poll_interval = \"10ms\"\n";

fn paths(server: &TestServer) -> Vec<String> {
    server
        .requests()
        .iter()
        .map(|r| r.path_and_query.clone())
        .collect()
}

#[tokio::test]
async fn with_ack_a_send_ends_when_its_ack_id_is_acknowledged() {
    let server = TestServer::start(vec![
        Reply::new(200, r#"{"text":"Success","code":0,"ackId":7}"#),
        Reply::new(200, r#"{"acks":{"7":false}}"#),
        Reply::new(503, r#"{"text":"Server is busy","code":9}"#),
        Reply::new(200, r#"{"acks":{"7":true}}"#),
    ])
    .await;
    let (mut out, _) = build(&format!(
        "endpoint = \"{}\"\ntoken = \"abc\"\n{ACK}",
        server.url()
    ));
    assert_eq!(out.send(lines(2)).await, Ok(SendReport::ALL_ACCEPTED));
    let reqs = server.requests();
    assert_eq!(
        paths(&server),
        [
            "/services/collector/event",
            "/services/collector/ack",
            "/services/collector/ack",
            "/services/collector/ack",
        ]
    );
    let channel = reqs[0]
        .header("x-splunk-request-channel")
        .expect("channel")
        .to_owned();
    assert!(super::ack::is_guid(&channel), "{channel}");
    for poll in &reqs[1..] {
        assert_eq!(poll.method, "POST");
        assert_eq!(poll.header("x-splunk-request-channel"), Some(&*channel));
        assert_eq!(poll.header("authorization"), Some("Splunk abc"));
        assert_eq!(poll.body, br#"{"acks":[7]}"#);
    }
    // The channel is stable across sends.
    drop(server);
    let server = TestServer::start(vec![
        Reply::new(200, r#"{"text":"Success","code":0,"ackId":8}"#),
        Reply::new(200, r#"{"acks":{"8":true}}"#),
    ])
    .await;
    let (mut out, _) = build(&format!(
        "endpoint = \"{}\"\ntoken = \"abc\"\nchannel = \"0F8C2E4A-1b2c-4d5e-8f90-a1b2c3d4e5f6\"\n{ACK}",
        server.url()
    ));
    assert_eq!(out.send(lines(1)).await, Ok(SendReport::ALL_ACCEPTED));
    assert_eq!(out.send(lines(1)).await, Ok(SendReport::ALL_ACCEPTED));
    for r in server.requests() {
        assert_eq!(
            r.header("x-splunk-request-channel"),
            Some("0F8C2E4A-1b2c-4d5e-8f90-a1b2c3d4e5f6")
        );
    }
}

#[tokio::test]
async fn an_ack_that_never_comes_fails_retryable_and_the_retry_resends() {
    // e0 is refused (dropped), e1 and e2 are accepted with ackId 2 that never reads true.
    let server = TestServer::start(vec![
        Reply::new(
            400,
            r#"{"text":"Invalid data format","code":6,"invalid-event-number":0}"#,
        ),
        Reply::new(200, r#"{"text":"Success","code":0,"ackId":2}"#),
        Reply::new(200, r#"{"acks":{"2":false}}"#),
    ])
    .await;
    let (mut out, m) = build(&format!(
        "endpoint = \"{}\"\ntoken = \"abc\"\nack = true\nack_timeout = \"150ms\"\nack_poll_interval = \"20ms\"\n",
        server.url()
    ));
    let p = out.prepare(&lines(3)).await.expect("gzipped");
    let started = std::time::Instant::now();
    let err = out
        .send_prepared(p.clone())
        .await
        .expect_err("not acknowledged");
    assert!(started.elapsed() >= Duration::from_millis(150));
    assert_eq!(err.kind, OutputErrorKind::Retryable);
    assert!(
        err.message
            .contains("not acknowledged within ack_timeout (0.15s); re-sending"),
        "{err}"
    );
    assert!(!err.message.contains("abc"), "{err}");
    let polls = paths(&server)
        .iter()
        .filter(|p| p.ends_with("/ack"))
        .count();
    assert!((3..=9).contains(&polls), "{polls} polls");
    // The worker's retry sends the unacknowledged events again (not the dropped one). The
    // scripted server now answers 200 without an ackId: taken as delivered (logged once).
    assert_eq!(out.send_prepared(p).await, Ok(SendReport { rejected: 1 }));
    assert_eq!(m.dropped_count("invalid_event"), 1);
    let events: Vec<Vec<String>> = server
        .requests()
        .iter()
        .filter(|r| r.path_and_query.ends_with("/event"))
        .map(|r| events_of(&r.body))
        .collect();
    assert_eq!(
        events,
        vec![vec!["e0", "e1", "e2"], vec!["e1", "e2"], vec!["e1", "e2"]]
    );
}

#[tokio::test]
async fn each_resent_remainder_waits_for_its_own_ack() {
    let server = TestServer::start(vec![
        Reply::new(
            400,
            r#"{"text":"Invalid data format","code":6,"invalid-event-number":1}"#,
        ),
        Reply::new(200, r#"{"text":"Success","code":0,"ackId":5}"#),
        Reply::new(200, r#"{"acks":{"5":true}}"#),
    ])
    .await;
    let (mut out, _) = build(&format!(
        "endpoint = \"{}\"\ntoken = \"abc\"\n{ACK}",
        server.url()
    ));
    assert_eq!(out.send(lines(3)).await, Ok(SendReport { rejected: 1 }));
    let reqs = server.requests();
    assert_eq!(events_of(&reqs[0].body), ["e0", "e1", "e2"]);
    assert_eq!(events_of(&reqs[1].body), ["e2"]);
    assert_eq!(reqs[2].body, br#"{"acks":[5]}"#);
    assert_eq!(reqs.len(), 3);
}

#[tokio::test]
async fn ack_endpoint_refusals_are_retryable() {
    for (status, body, words) in [
        (
            400,
            r#"{"text":"ACK is disabled","code":14}"#,
            "ack is disabled",
        ),
        (
            400,
            r#"{"text":"Invalid data channel","code":11}"#,
            "data channel refused",
        ),
        (403, r#"{"text":"Invalid token","code":4}"#, "token refused"),
    ] {
        let server = TestServer::start(vec![
            Reply::new(200, r#"{"text":"Success","code":0,"ackId":3}"#),
            Reply::new(status, body),
        ])
        .await;
        let (mut out, _) = build(&format!(
            "endpoint = \"{}\"\ntoken = \"abc\"\n{ACK}",
            server.url()
        ));
        let err = out.send(lines(1)).await.expect_err("refused");
        assert_eq!(err.kind, OutputErrorKind::Retryable, "{err}");
        assert!(err.message.contains(words), "{err}");
        assert_eq!(server.requests().len(), 2, "no more polls after a refusal");
    }
}

#[tokio::test]
async fn without_an_ack_id_the_send_is_delivered_when_accepted() {
    let server = TestServer::start(vec![Reply::new(200, r#"{"text":"Success","code":0}"#)]).await;
    let (mut out, _) = build(&format!(
        "endpoint = \"{}\"\ntoken = \"abc\"\n{ACK}",
        server.url()
    ));
    assert_eq!(out.send(lines(1)).await, Ok(SendReport::ALL_ACCEPTED));
    assert_eq!(out.send(lines(1)).await, Ok(SendReport::ALL_ACCEPTED));
    assert_eq!(
        paths(&server),
        ["/services/collector/event", "/services/collector/event"]
    );
}
