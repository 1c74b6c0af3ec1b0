//! `inputs.http_listener` against a real InfluxDB 1.x (`influxd`): every line of
//! `plugins/api/testdata/line_protocol/influxdb_1x.json` (InfluxDB's own parser cases and the
//! escapes of issue 15) is posted to `influxd` and to the agent, whose `outputs.influxdb`
//! writes to the same `influxd`. Both must give the same verdict (204 or 400, with the same
//! reason) and store the same point; the file's expected verdicts are checked too, so it stays
//! true to `influxd`. A line without timestamp must get the receive time truncated to the
//! request's precision on both sides.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use gleaner_e2e::peers::{Peer, encode_query_value};
use gleaner_e2e::{Agent, free_port, http, workspace_root};
use serde_json::Value;

/// Lines whose parsed point the encoder cannot write back as it is (a field key with a
/// backslash right before an escaped delimiter, a limit listed in the encoder's module doc):
/// only `influxd`'s verdict is checked here (the parser's is in the unit tests).
const ENCODER_CANNOT_CARRY: &[&str] = &[r"m a\\=1,b=2 1"];

fn cases() -> Vec<Value> {
    let path = workspace_root().join("plugins/api/testdata/line_protocol/influxdb_1x.json");
    let text = std::fs::read_to_string(&path).expect("fixture file");
    let v: Value = serde_json::from_str(&text).expect("fixture json");
    v["cases"].as_array().expect("cases").clone()
}

fn statement(influx: &Peer, q: &str) {
    let r = influx.post_form("/query", &format!("q={}", encode_query_value(q)));
    assert_eq!(r.status, 200, "{q}: {}", r.body);
}

/// `(measurement, row)` of every stored point, rows as column → value without nulls, plus
/// `SHOW FIELD KEYS` (name → type).
type Stored = (
    Vec<(String, BTreeMap<String, Value>)>,
    BTreeMap<String, Value>,
);

fn stored(influx: &Peer, db: &str) -> Stored {
    let get = |q: &str| -> Value {
        let r = influx.get(&format!(
            "/query?db={}&epoch=ns&q={}",
            encode_query_value(db),
            encode_query_value(q)
        ));
        assert_eq!(r.status, 200, "{}", r.body);
        serde_json::from_str(&r.body).expect("query json")
    };
    let mut points = Vec::new();
    let v = get("SELECT * FROM /.*/");
    for s in v["results"][0]["series"].as_array().into_iter().flatten() {
        let cols: Vec<String> = s["columns"]
            .as_array()
            .expect("columns")
            .iter()
            .map(|c| c.as_str().expect("column").to_owned())
            .collect();
        for row in s["values"].as_array().expect("values") {
            let row = cols
                .iter()
                .cloned()
                .zip(row.as_array().expect("row").iter().cloned())
                .filter(|(_, v)| !v.is_null())
                .collect();
            points.push((s["name"].as_str().expect("name").to_owned(), row));
        }
    }
    let mut types = BTreeMap::new();
    let v = get("SHOW FIELD KEYS");
    for s in v["results"][0]["series"].as_array().into_iter().flatten() {
        for row in s["values"].as_array().expect("values") {
            types.insert(row[0].as_str().expect("key").to_owned(), row[1].clone());
        }
    }
    (points, types)
}

/// Polls `f` until it returns `Some`, for up to 30 s.
fn wait_for<T>(what: &str, mut f: impl FnMut() -> Option<T>) -> T {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        if let Some(v) = f() {
            return v;
        }
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(20));
    }
}

fn start_agent(influx: &Peer, listen: &str) -> Agent {
    Agent::start(&format!(
        r#"[agent]
omit_hostname = true
http_listen = "{{telemetry}}"
flush_interval = "50ms"

[[inputs.http_listener]]
listen = "{listen}"

[[outputs.influxdb]]
url = "{}"
database = "via_gleaner"
"#,
        influx.url()
    ))
}

/// The reason in an InfluxDB-style error body (`{"error":"..."}`).
fn error_text(body: &str) -> String {
    let v: Value = serde_json::from_str(body).unwrap_or(Value::Null);
    v["error"].as_str().unwrap_or(body).to_owned()
}

#[test]
fn listener_gives_influxds_verdict_and_stores_influxds_point() {
    let influx = Peer::influxdb();
    let listen = format!("127.0.0.1:{}", free_port());
    let mut agent = start_agent(&influx, &listen);
    statement(&influx, "CREATE DATABASE via_gleaner");
    for (n, case) in cases().iter().enumerate() {
        let line = case["line"].as_str().expect("line");
        let precision = case["precision"].as_str().unwrap_or("n");
        let db = format!("direct{n}");
        statement(&influx, &format!("CREATE DATABASE {db}"));
        let path = format!("/write?db={db}&precision={precision}");
        let direct = http(&influx.addr, "POST", &path, &[], line.as_bytes()).expect("influxd");
        if ENCODER_CANNOT_CARRY.contains(&line) {
            assert_eq!(direct.status, 204, "{line:?}: {}", direct.body);
            continue;
        }
        let path = format!("/write?db=x&precision={precision}");
        let ours = http(&listen, "POST", &path, &[], line.as_bytes()).expect("listener");
        assert_eq!(
            (ours.status, direct.status),
            (
                direct.status,
                if case["error"].is_null() { 204 } else { 400 }
            ),
            "{line:?}: listener {} / influxd {}",
            ours.body,
            direct.body
        );
        if let Some(reason) = case["error"].as_str() {
            for (who, body) in [("influxd", &direct.body), ("listener", &ours.body)] {
                assert!(
                    error_text(body).contains(reason),
                    "{line:?}: {who} said {body}, want {reason:?}"
                );
            }
            continue;
        }
        let want = stored(&influx, &db);
        assert_eq!(want.0.len(), 1, "{line:?}: {want:?}");
        let got = wait_for(&format!("{line:?} in via_gleaner"), || {
            let got = stored(&influx, "via_gleaner");
            (!got.0.is_empty()).then_some(got)
        });
        assert_eq!(got, want, "{line:?}: stored via the listener / directly");
        statement(&influx, "DROP DATABASE via_gleaner");
        statement(&influx, "CREATE DATABASE via_gleaner");
    }
    agent.signal("TERM");
    assert!(agent.wait_exit(Duration::from_secs(30)).success());
}

#[test]
fn receive_time_is_truncated_to_the_precision_as_influxd_does() {
    let influx = Peer::influxdb();
    let listen = format!("127.0.0.1:{}", free_port());
    let mut agent = start_agent(&influx, &listen);
    statement(&influx, "CREATE DATABASE direct");
    for (precision, unit) in [("s", 1_000_000_000i64), ("ms", 1_000_000), ("u", 1_000)] {
        let line = format!("untimed_{precision} v=1");
        let path = format!("/write?db=direct&precision={precision}");
        let r = http(&influx.addr, "POST", &path, &[], line.as_bytes()).expect("influxd");
        assert_eq!(r.status, 204, "{}", r.body);
        let path = format!("/write?db=x&precision={precision}");
        let r = http(&listen, "POST", &path, &[], line.as_bytes()).expect("listener");
        assert_eq!(r.status, 204, "{}", r.body);
        for db in ["direct", "via_gleaner"] {
            let q = format!("SELECT * FROM untimed_{precision}");
            let time = wait_for(&format!("{line} in {db}"), || {
                let r = influx.get(&format!(
                    "/query?db={db}&epoch=ns&q={}",
                    encode_query_value(&q)
                ));
                let v: Value = serde_json::from_str(&r.body).ok()?;
                v["results"][0]["series"][0]["values"][0][0].as_i64()
            });
            assert_eq!(time % unit, 0, "{db}: {time} is not whole {precision}");
        }
    }
    agent.signal("TERM");
    assert!(agent.wait_exit(Duration::from_secs(30)).success());
}
