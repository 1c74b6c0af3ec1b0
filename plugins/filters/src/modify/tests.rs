//! `filters.modify` on `testdata/records.tsv` (golden), shared lists, metrics and Telegraf's
//! converter rules.

use std::sync::Arc;

use gleaner_api::{Batch, FieldValue, Metric};

use super::DESCRIPTOR;
use super::ops::{Type, convert};
use crate::testkit::{assert_golden, build, filter, k8s_records, render, run_logs};

#[test]
fn every_edit_on_the_fixture_matches_its_golden_rendering() {
    let (mut f, m) = filter(
        &DESCRIPTOR,
        r#"rename = { "log.level" = "level", "k8s.pod" = "pod" }
copy = { "k8s.namespace" = "ns" }
set = { team = "payments", origin = "{k8s.namespace}/{pod} {{literal}}" }
add = { "log.status" = "none" }
convert = { "log.status" = "float" }
uppercase = ["level"]
trim = ["ns"]
remove = ["k8s.namespace"]
"#,
    );
    let out = run_logs(f.as_mut(), k8s_records());
    assert_golden("modify/records.golden", &render(&out));
    assert_eq!(
        m.snapshot().errors,
        vec![("convert_failed", 5)],
        "each added \"none\" fails to convert and stays as it is"
    );
}

#[test]
fn a_shared_list_is_edited_once_per_list_and_never_copied_per_record() {
    let (mut f, _) = filter(
        &DESCRIPTOR,
        "rename = { \"k8s.pod\" = \"pod\" }\nset = { team = \"{k8s.namespace}\" }\n",
    );
    let recs: Vec<_> = k8s_records()
        .into_iter()
        .filter(|r| r.attribute("log.level").is_none())
        .collect();
    let out = run_logs(f.as_mut(), recs);
    // The two coredns records share one list before; they share one edited list after.
    let lists: Vec<_> = out
        .iter()
        .filter_map(|r| r.attributes.shared_arc())
        .collect();
    assert!(Arc::ptr_eq(lists[1], lists[2]));
    assert!(out.iter().all(|r| r.attributes.own_part().is_empty()));
    assert_eq!(
        out[1].attribute("team"),
        Some(&FieldValue::String("kube-system".into()))
    );
    assert_eq!(
        out[1].attribute("pod"),
        Some(&FieldValue::String("coredns-1".into()))
    );
    // Own attributes renamed, shared ones untouched: nothing is copied.
    let (mut f, _) = filter(&DESCRIPTOR, "rename = { \"log.level\" = \"level\" }\n");
    let before = k8s_records();
    let lists: Vec<_> = before
        .iter()
        .map(|r| r.attributes.shared_arc().cloned())
        .collect();
    let out = run_logs(f.as_mut(), before);
    for (r, l) in out.iter().zip(lists) {
        assert!(Arc::ptr_eq(
            r.attributes.shared_arc().expect("shared"),
            &l.expect("shared")
        ));
    }
    assert_eq!(
        out[0].attribute("level"),
        Some(&FieldValue::String("info".into()))
    );
}

#[test]
fn alternating_shared_lists_are_each_edited_once() {
    let (mut f, _) = filter(&DESCRIPTOR, "set = { team = \"t\" }\n");
    let recs = k8s_records();
    // web-1 and pay-1 records, interleaved.
    let mut batch = Vec::new();
    for _ in 0..2 {
        batch.push(recs[2].clone());
        batch.push(recs[4].clone());
    }
    let out = run_logs(f.as_mut(), batch);
    let list = |i: usize| out[i].attributes.shared_arc().expect("shared");
    assert!(Arc::ptr_eq(list(0), list(2)) && Arc::ptr_eq(list(1), list(3)));
    assert!(!Arc::ptr_eq(list(0), list(1)));
    assert_eq!(
        out[3].attribute("team"),
        Some(&FieldValue::String("t".into()))
    );
}

#[test]
fn metrics_tags_and_fields() {
    let (mut f, m) = filter(
        &DESCRIPTOR,
        r#"rename = { host = "node", used = "used_bytes" }
set = { cluster = "prod", where = "{name}@{node}", blank = "{missing}" }
convert = { code = "integer", ratio = "integer", bad = "integer" }
lowercase = ["env"]
remove = ["debug"]
"#,
    );
    let mut b = Batch::Metrics(vec![
        Metric::new("mem", 1)
            .with_tag("host", "h1")
            .with_tag("env", "PROD")
            .with_tag("code", "200")
            .with_field("used", FieldValue::Int(5))
            .with_field("ratio", FieldValue::Float(-2.7))
            .with_field("bad", FieldValue::String("n/a".into()))
            .with_field("debug", FieldValue::Bool(true)),
    ]);
    f.process(&mut b);
    let Batch::Metrics(ms) = b else {
        panic!("kind")
    };
    let x = &ms[0];
    assert_eq!(x.tag("node"), Some("h1"));
    assert_eq!(x.tag("host"), None);
    assert_eq!(x.tag("where"), Some("mem@h1"));
    assert_eq!(x.tag("blank"), None, "an empty tag value is not written");
    assert_eq!(x.tag("env"), Some("prod"));
    assert_eq!(x.tag("code"), None, "a converted tag becomes a field");
    assert_eq!(x.field("code"), Some(&FieldValue::Int(200)));
    assert_eq!(x.field("used_bytes"), Some(&FieldValue::Int(5)));
    assert_eq!(x.field("ratio"), Some(&FieldValue::Int(-2)));
    assert_eq!(x.field("bad"), Some(&FieldValue::String("n/a".into())));
    assert_eq!(x.field("debug"), None);
    let tags: Vec<&str> = x.tags.iter().map(|(k, _)| k).collect();
    let mut sorted = tags.clone();
    sorted.sort_unstable();
    assert_eq!(tags, sorted, "tags stay sorted");
    assert_eq!(m.snapshot().errors, vec![("convert_failed", 1)]);
}

#[test]
fn converter_rules() {
    let s = |v: &str| FieldValue::String(v.into());
    assert_eq!(
        convert(&s(" 42 "), Type::Integer),
        Some(FieldValue::Int(42))
    );
    assert_eq!(convert(&s("4.9"), Type::Integer), Some(FieldValue::Int(4)));
    assert_eq!(convert(&FieldValue::Float(1e300), Type::Integer), None);
    assert_eq!(convert(&FieldValue::Int(-1), Type::Unsigned), None);
    assert_eq!(
        convert(&s("T"), Type::Boolean),
        Some(FieldValue::Bool(true))
    );
    assert_eq!(convert(&s("yes"), Type::Boolean), None);
    assert_eq!(
        convert(&FieldValue::Float(0.0), Type::Boolean),
        Some(FieldValue::Bool(false))
    );
    assert_eq!(
        convert(&FieldValue::Bool(true), Type::Float),
        Some(FieldValue::Float(1.0))
    );
    assert_eq!(convert(&FieldValue::UInt(7), Type::String), Some(s("7")));
}

#[test]
fn config_errors() {
    for (toml, key) in [
        ("set = { a = \"{b\" }\n", "filters.modify.0.set.a"),
        ("rename = { \"\" = \"b\" }\n", "filters.modify.0.rename"),
        ("convert = { a = \"int\" }\n", "filters.modify.0.convert"),
        ("remvoe = [\"a\"]\n", "filters.modify.0.remvoe"),
    ] {
        let e = build(&DESCRIPTOR, toml)
            .err()
            .unwrap_or_else(|| panic!("{toml} builds"));
        assert_eq!(e.key.as_deref(), Some(key), "{toml}: {e}");
    }
}
