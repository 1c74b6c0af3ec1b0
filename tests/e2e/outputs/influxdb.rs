//! `outputs.influxdb` against a real InfluxDB 1.x: every escape comes back exactly, a field
//! type conflict drops only the conflicting point, the missing database is created, the
//! precision is honoured, and the binary delivers what `inputs.http_listener` took.

use std::collections::BTreeMap;

use gleaner_api::{Batch, FieldValue, Metric, SendReport};
use gleaner_e2e::peers::{Peer, encode_query_value};
use gleaner_e2e::{Agent, free_port, http};
use serde_json::{Value, json};

use super::{build_output, deliver, runtime, wait_for};

/// Rows of `SELECT * FROM /.*/` by measurement: each row a map column → value.
type Rows = BTreeMap<String, Vec<BTreeMap<String, Value>>>;

fn query(influx: &Peer, db: &str, q: &str) -> Rows {
    let path = format!(
        "/query?db={}&epoch=ns&q={}",
        encode_query_value(db),
        encode_query_value(q)
    );
    let r = influx.get(&path);
    assert_eq!(r.status, 200, "{}", r.body);
    let v: Value = serde_json::from_str(&r.body).expect("query json");
    let mut out = Rows::new();
    let result = &v["results"][0];
    assert!(result.get("error").is_none(), "query error: {}", r.body);
    for series in result["series"].as_array().into_iter().flatten() {
        let name = series["name"].as_str().expect("name").to_owned();
        let cols: Vec<String> = series["columns"]
            .as_array()
            .expect("columns")
            .iter()
            .map(|c| c.as_str().expect("column").to_owned())
            .collect();
        for row in series["values"].as_array().expect("values") {
            let row: BTreeMap<String, Value> = cols
                .iter()
                .cloned()
                .zip(row.as_array().expect("row").iter().cloned())
                .filter(|(_, v)| !v.is_null())
                .collect();
            out.entry(name.clone()).or_default().push(row);
        }
    }
    out
}

fn row(pairs: &[(&str, Value)]) -> BTreeMap<String, Value> {
    pairs
        .iter()
        .map(|(k, v)| ((*k).to_owned(), v.clone()))
        .collect()
}

const T: i64 = 1_700_000_000_123_456_789;

#[test]
fn influxdb_stores_every_escape_exactly() {
    let influx = Peer::influxdb();
    let rt = runtime();
    // The database does not exist yet: the output creates it on the 404.
    let (mut out, metrics) = build_output(
        "influxdb",
        &format!("url = \"{}\"\ndatabase = \"esc db\"\n", influx.url()),
    );
    let tricky = Metric::new("wea ther,re=port", T)
        .with_tag("loc ation", "us,mid=west")
        .with_tag("quote\"key", "it's \"q\"")
        .with_tag("back\\slash", "c:\\temp\\dir")
        .with_tag("uni", "ünï cødé ✓")
        .with_tag("empty", "")
        .with_tag("new line", "a\nb")
        .with_field("temp erature", FieldValue::Float(82.5))
        .with_field("hum,idity", FieldValue::Int(71))
        .with_field("ok=1", FieldValue::Bool(true))
        .with_field("note", FieldValue::String("say \"hi\" \\ bye, a=b".into()))
        .with_field("multi", FieldValue::String("line1\nline2".into()))
        .with_field("count", FieldValue::UInt(u64::MAX))
        .with_field("nan", FieldValue::Float(f64::NAN));
    let plain = Metric::new("cpu", T + 1)
        .with_tag("host", "n1")
        .with_field("usage", FieldValue::Float(-1.5e-7));
    let r = deliver(&rt, out.as_mut(), &Batch::Metrics(vec![tricky, plain]));
    assert_eq!(r, Ok(SendReport::ALL_ACCEPTED), "{}", influx.log());
    assert_eq!(metrics.dropped_count("nan_or_inf_field"), 1);

    let rows = query(&influx, "esc db", "SELECT * FROM /.*/");
    let expected: Rows = [
        (
            "wea ther,re=port".to_owned(),
            vec![row(&[
                ("time", json!(T)),
                ("loc ation", json!("us,mid=west")),
                ("quote\"key", json!("it's \"q\"")),
                ("back\\slash", json!("c:\\temp\\dir")),
                ("uni", json!("ünï cødé ✓")),
                // A newline cannot be carried in a tag: it is written as the two characters
                // `\n`, as Telegraf does, and stored so.
                ("new line", json!("a\\nb")),
                ("temp erature", json!(82.5)),
                ("hum,idity", json!(71)),
                ("ok=1", json!(true)),
                ("note", json!("say \"hi\" \\ bye, a=b")),
                // A newline inside a string field is kept (it is inside the quotes).
                ("multi", json!("line1\nline2")),
                // No `u` type in InfluxDB 1.x: clamped to the largest integer.
                ("count", json!(i64::MAX)),
            ])],
        ),
        (
            "cpu".to_owned(),
            vec![row(&[
                ("time", json!(T + 1)),
                ("host", json!("n1")),
                ("usage", json!(-1.5e-7)),
            ])],
        ),
    ]
    .into_iter()
    .collect();
    assert_eq!(rows, expected);
}

#[test]
fn influxdb_partial_write_drops_only_the_conflicting_point() {
    let influx = Peer::influxdb();
    let rt = runtime();
    let (mut out, metrics) = build_output(
        "influxdb",
        &format!("url = \"{}\"\ndatabase = \"partial\"\n", influx.url()),
    );
    let first = Metric::new("conflict", T).with_field("value", FieldValue::Float(1.5));
    assert_eq!(
        deliver(&rt, out.as_mut(), &Batch::Metrics(vec![first])),
        Ok(SendReport::ALL_ACCEPTED)
    );
    let batch = vec![
        Metric::new("conflict", T + 1).with_field("value", FieldValue::Int(2)),
        Metric::new("conflict", T + 2).with_field("value", FieldValue::Float(3.5)),
        Metric::new("other", T + 3).with_field("x", FieldValue::Int(1)),
    ];
    let r = deliver(&rt, out.as_mut(), &Batch::Metrics(batch));
    assert_eq!(r, Ok(SendReport { rejected: 1 }), "{}", influx.log());
    assert_eq!(metrics.dropped_count("partial_write"), 1);
    let rows = query(&influx, "partial", "SELECT * FROM /.*/");
    let expected: Rows = [
        (
            "conflict".to_owned(),
            vec![
                row(&[("time", json!(T)), ("value", json!(1.5))]),
                row(&[("time", json!(T + 2)), ("value", json!(3.5))]),
            ],
        ),
        (
            "other".to_owned(),
            vec![row(&[("time", json!(T + 3)), ("x", json!(1))])],
        ),
    ]
    .into_iter()
    .collect();
    assert_eq!(rows, expected);
}

#[test]
fn influxdb_writes_in_the_configured_precision() {
    let influx = Peer::influxdb();
    let rt = runtime();
    let (mut out, _) = build_output(
        "influxdb",
        &format!(
            "url = \"{}\"\ndatabase = \"prec\"\nprecision = \"ms\"\ncontent_encoding = \"identity\"\n",
            influx.url()
        ),
    );
    let m = Metric::new("p", T).with_field("v", FieldValue::Int(1));
    assert_eq!(
        deliver(&rt, out.as_mut(), &Batch::Metrics(vec![m])),
        Ok(SendReport::ALL_ACCEPTED)
    );
    let rows = query(&influx, "prec", "SELECT * FROM p");
    assert_eq!(
        rows["p"],
        vec![row(&[
            ("time", json!(1_700_000_000_123_000_000i64)),
            ("v", json!(1))
        ])]
    );
}

#[test]
fn agent_delivers_listener_writes_to_influxdb() {
    let influx = Peer::influxdb();
    let listen = format!("127.0.0.1:{}", free_port());
    let mut agent = Agent::start(&format!(
        r#"[agent]
omit_hostname = true
http_listen = "{{telemetry}}"
flush_interval = "100ms"

[[inputs.http_listener]]
listen = "{listen}"

[[outputs.influxdb]]
url = "{}"
database = "e2e"
"#,
        influx.url()
    ));
    let body = "disk,path=/var\\ log,dev=sda\\,1 free=1024i,used_pct=12.5,label=\"a \\\"b\\\"\" 1700000000000000000\n\
                disk,path=/,dev=sda2 free=2048i,used_pct=50,label=\"root\" 1700000000000000001\n";
    let r = http(
        &listen,
        "POST",
        "/write?db=any",
        &[("Content-Type", "text/plain")],
        body.as_bytes(),
    )
    .expect("POST /write");
    assert_eq!(r.status, 204, "{}", r.body);
    let rows = wait_for("points in influxdb", || {
        let resp = influx.get(&format!(
            "/query?db=e2e&epoch=ns&q={}",
            encode_query_value("SELECT count(free) FROM disk")
        ));
        (resp.status == 200 && resp.body.contains("[0,2]"))
            .then(|| query(&influx, "e2e", "SELECT * FROM disk"))
    });
    assert_eq!(
        rows["disk"],
        vec![
            row(&[
                ("time", json!(1_700_000_000_000_000_000i64)),
                ("dev", json!("sda,1")),
                ("path", json!("/var log")),
                ("free", json!(1024)),
                ("used_pct", json!(12.5)),
                ("label", json!("a \"b\"")),
            ]),
            row(&[
                ("time", json!(1_700_000_000_000_000_001i64)),
                ("dev", json!("sda2")),
                ("path", json!("/")),
                ("free", json!(2048)),
                ("used_pct", json!(50)),
                ("label", json!("root")),
            ]),
        ]
    );
    agent.signal("TERM");
    assert!(
        agent
            .wait_exit(std::time::Duration::from_secs(30))
            .success()
    );
}
