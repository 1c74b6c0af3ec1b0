//! `outputs.http` through the binary against the fake receiver (`gleaner_e2e::fake_http`):
//! what `inputs.http_listener` took arrives at three receivers, one per `format`, as NDJSON,
//! one JSON array and line protocol; 503 and 429 answers are retried (after `Retry-After`)
//! until the batch is taken, once; a 400 drops the batch and counts it, and what follows is
//! delivered.

use std::time::Duration;

use gleaner_e2e::fake_http::{FakeHttp, Received};
use gleaner_e2e::{Agent, free_port, http};
use serde_json::{Value, json};

const T: i64 = 1_700_000_000_123_456_789;
const WAIT: Duration = Duration::from_secs(30);

fn write(listen: &str, body: &str) {
    let r = http(listen, "POST", "/write", &[], body.as_bytes()).expect("POST /write");
    assert_eq!(r.status, 204, "{}", r.body);
}

fn accepted(reqs: &[Received]) -> Vec<&Received> {
    reqs.iter().filter(|r| r.status == 200).collect()
}

fn text(r: &Received) -> &str {
    std::str::from_utf8(&r.body).expect("utf-8 body")
}

#[test]
fn each_format_reaches_its_receiver() {
    let (nd, arr, lp) = (FakeHttp::start(), FakeHttp::start(), FakeHttp::start());
    let listen = format!("127.0.0.1:{}", free_port());
    let _agent = Agent::start(&format!(
        r#"[agent]
omit_hostname = true
http_listen = "{{telemetry}}"
flush_interval = "100ms"

[[inputs.http_listener]]
listen = "{listen}"

[[outputs.http]]
alias = "nd"
url = "{}/ingest"

[[outputs.http]]
alias = "arr"
url = "{}/ingest"
format = "json_array"
content_encoding = "gzip"

[[outputs.http]]
alias = "lp"
url = "{}/write"
format = "influx"
bearer_token = "s3cret"
headers = {{ "X-Tenant" = "a" }}
"#,
        nd.url(),
        arr.url(),
        lp.url()
    ));
    let lines = format!(
        "cpu,cpu=cpu0,host=n1 usage_idle=99.5,count=3i {T}\nlog,app=web msg=\"say \\\"hi\\\"\",ok=true {}\n",
        T + 1
    );
    write(&listen, &lines);

    let want = json!([
        {"timestamp": "2023-11-14T22:13:20.123456789Z", "name": "cpu", "kind": "untyped",
         "tags": {"cpu": "cpu0", "host": "n1"}, "fields": {"usage_idle": 99.5, "count": 3}},
        {"timestamp": "2023-11-14T22:13:20.123456790Z", "name": "log", "kind": "untyped",
         "tags": {"app": "web"}, "fields": {"msg": "say \"hi\"", "ok": true}},
    ]);
    let reqs = nd.wait_for(WAIT, "the ndjson batch", |r| !accepted(r).is_empty());
    let r = accepted(&reqs)[0];
    assert_eq!(r.path, "/ingest");
    assert_eq!(r.header("content-type"), Some("application/x-ndjson"));
    let got: Vec<Value> = text(r)
        .lines()
        .map(|l| serde_json::from_str(l).expect("a JSON object per line"))
        .collect();
    assert_eq!(Value::Array(got), want);

    let reqs = arr.wait_for(WAIT, "the json array batch", |r| !accepted(r).is_empty());
    let r = accepted(&reqs)[0];
    assert_eq!(r.header("content-type"), Some("application/json"));
    assert_eq!(r.header("content-encoding"), Some("gzip"));
    let got: Value = serde_json::from_slice(&r.body).expect("one JSON array");
    assert_eq!(got, want);

    let reqs = lp.wait_for(WAIT, "the line protocol batch", |r| !accepted(r).is_empty());
    let r = accepted(&reqs)[0];
    assert_eq!(r.path, "/write");
    assert_eq!(r.header("content-type"), Some("text/plain; charset=utf-8"));
    assert_eq!(r.header("authorization"), Some("Bearer s3cret"));
    assert_eq!(r.header("x-tenant"), Some("a"));
    assert_eq!(text(r), lines, "line protocol comes out as it went in");
}

#[test]
fn retries_busy_answers_and_drops_refused_batches() {
    let fake = FakeHttp::start();
    let listen = format!("127.0.0.1:{}", free_port());
    let agent = Agent::start(&format!(
        r#"[agent]
omit_hostname = true
http_listen = "{{telemetry}}"
flush_interval = "100ms"

[[inputs.http_listener]]
listen = "{listen}"

[[outputs.http]]
alias = "sink"
url = "{}/"
format = "influx"
"#,
        fake.url()
    ));
    let (a, b, c) = (
        format!("m id=1i {T}\n"),
        format!("m id=2i {}\n", T + 1),
        format!("m id=3i {}\n", T + 2),
    );

    // Busy twice (503 with Retry-After, then 429): retried until taken, and taken once.
    fake.fail_next(1, 503, Some(1));
    fake.fail_next(1, 429, None);
    write(&listen, &a);
    let reqs = fake.wait_for(WAIT, "a taken after two refusals", |r| {
        !accepted(r).is_empty()
    });
    assert_eq!(
        reqs.iter().map(|r| r.status).collect::<Vec<_>>(),
        vec![503, 429, 200]
    );
    assert!(
        reqs.iter().all(|r| text(r) == a),
        "the same batch each time"
    );

    // Refused for good: dropped and counted, and the next batch goes through.
    fake.fail_next(1, 400, None);
    write(&listen, &b);
    fake.wait_for(WAIT, "b refused", |r| r.len() == 4);
    agent.wait_metrics("the dropped batch counted", |m| {
        m.lines().any(|l| {
            l.starts_with("gleaner_component_discarded_events_total{component_id=\"sink\"")
                && l.contains("reason=\"permanent_error\"")
                && l.ends_with(" 1")
        })
    });
    write(&listen, &c);
    let reqs = fake.wait_for(WAIT, "c taken", |r| accepted(r).len() == 2);
    let taken: Vec<&str> = accepted(&reqs).into_iter().map(text).collect();
    assert_eq!(taken, vec![a.as_str(), c.as_str()]);
    assert_eq!(reqs.len(), 5, "b was sent once and not again");
}
