//! The parser against InfluxDB 1.x's own cases: `testdata/line_protocol/influxdb_1x.json`
//! holds the cases of influxdata/influxdb `models/points_test.go` and cases found against
//! `influxd` 1.6, each with InfluxDB's verdict (its error reason, or the stored point). The
//! e2e suite posts the same lines to a real `influxd` to keep the file true.

use std::collections::BTreeMap;

use serde_json::Value;

use crate::event::FieldValue;
use crate::line_protocol::{Precision, parse_lines};

fn cases() -> Vec<Value> {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/testdata/line_protocol/influxdb_1x.json"
    );
    let text = std::fs::read_to_string(path).expect("fixture file");
    let v: Value = serde_json::from_str(&text).expect("fixture json");
    v["cases"].as_array().expect("cases").clone()
}

fn typed(v: &Value) -> FieldValue {
    let (kind, x) = v
        .as_object()
        .and_then(|o| o.iter().next())
        .expect("typed value");
    match kind.as_str() {
        "float" => FieldValue::Float(x.as_f64().expect("float")),
        "int" => FieldValue::Int(x.as_i64().expect("int")),
        "string" => FieldValue::String(x.as_str().expect("string").into()),
        "bool" => FieldValue::Bool(x.as_bool().expect("bool")),
        other => panic!("unknown type {other}"),
    }
}

#[test]
fn every_influxdb_case_gets_influxdbs_verdict_and_point() {
    let cases = cases();
    assert!(cases.len() > 100, "{}", cases.len());
    for c in cases {
        let line = c["line"].as_str().expect("line");
        let precision =
            Precision::from_v1_param(c["precision"].as_str().unwrap_or("n")).expect("precision");
        let out = parse_lines(line.as_bytes(), precision, 0);
        if let Some(reason) = c["error"].as_str() {
            assert!(
                out.metrics.is_empty(),
                "{line:?} accepted: {:?}",
                out.metrics
            );
            assert_eq!(out.errors.len(), 1, "{line:?}");
            let message = &out.errors[0].message;
            assert!(
                message.ends_with(&format!(": {reason}")),
                "{line:?}: {message:?}, want {reason:?}"
            );
            continue;
        }
        assert!(out.errors.is_empty(), "{line:?}: {:?}", out.errors);
        assert_eq!(out.metrics.len(), 1, "{line:?}");
        let m = &out.metrics[0];
        let p = &c["point"];
        assert_eq!(
            m.measurement,
            p["measurement"].as_str().expect("name"),
            "{line:?}"
        );
        let tags: BTreeMap<&str, &str> = p["tags"]
            .as_object()
            .expect("tags")
            .iter()
            .map(|(k, v)| (k.as_str(), v.as_str().expect("tag value")))
            .collect();
        let got: BTreeMap<&str, &str> = m.tags.iter().collect();
        assert_eq!(got, tags, "{line:?}");
        assert!(m.tags.keys().is_sorted_by(|a, b| a < b), "{line:?}: sorted");
        let fields: BTreeMap<&str, FieldValue> = p["fields"]
            .as_object()
            .expect("fields")
            .iter()
            .map(|(k, v)| (k.as_str(), typed(v)))
            .collect();
        let got: BTreeMap<&str, FieldValue> = m
            .fields
            .iter()
            .map(|(k, v)| (k.as_str(), v.clone()))
            .collect();
        assert_eq!(got, fields, "{line:?}");
        assert_eq!(m.timestamp, p["time"].as_i64().expect("time"), "{line:?}");
    }
}
