//! `filters.parse` on fixtures: a mixed JSON log against its golden rendering, the options,
//! failure flags and counts, and config errors.

use std::sync::Arc;

use gleaner_api::{Attributes, FieldValue, LogRecord, Metric, Stream};

use super::DESCRIPTOR;
use crate::testkit::{assert_golden, build, filter, fixture_lines, render, run_logs};

fn records(lines: Vec<Vec<u8>>) -> Vec<LogRecord> {
    lines
        .into_iter()
        .map(|l| LogRecord::new(1, l, Stream::Stdout))
        .collect()
}

fn s(v: &str) -> FieldValue {
    FieldValue::String(v.into())
}

#[test]
fn a_mixed_json_log_matches_its_golden_rendering() {
    let (mut f, metrics) = filter(
        &DESCRIPTOR,
        "format = \"json\"\ntime_key = \"ts\"\ntime_format = \"rfc3339\"\nlevel_key = \"level\"\n",
    );
    let out = run_logs(f.as_mut(), records(fixture_lines("parse/app.log")));
    assert_golden("parse/app.golden", &render(&out));
    let snap = metrics.snapshot();
    let errors: Vec<(&str, u64)> = snap.errors.clone();
    for (reason, n) in [
        ("not_json", 1),
        ("not_an_object", 1),
        ("too_deep", 1),
        ("not_utf8", 1),
        ("time_unparsed", 1),
    ] {
        assert!(errors.contains(&(reason, n)), "{reason} x{n} in {errors:?}");
    }
}

#[test]
fn failures_pass_unchanged_but_flagged_and_metrics_pass_untouched() {
    let (mut f, _) = filter(&DESCRIPTOR, "format = \"logfmt\"\n");
    let shared: Arc<[(gleaner_api::Key, FieldValue)]> =
        Arc::from(vec![("file".into(), s("/a.log"))]);
    let mut batch = Vec::new();
    for body in ["msg=\"open", "=x", "ok=1"] {
        let mut r = LogRecord::new(5, body, Stream::Stdout);
        r.attributes = Attributes::from_shared(Arc::clone(&shared));
        batch.push(r);
    }
    let out = run_logs(f.as_mut(), batch);
    assert_eq!(out[0].body, b"msg=\"open");
    assert_eq!(out[0].timestamp, 5);
    assert_eq!(
        out[0].attribute("parse_error"),
        Some(&FieldValue::Bool(true))
    );
    assert_eq!(out[0].attribute("file"), Some(&s("/a.log")));
    let flagged = out[0].attributes.shared_arc().expect("shared");
    assert!(
        Arc::ptr_eq(flagged, out[1].attributes.shared_arc().expect("shared")),
        "one flagged list for both failures"
    );
    assert!(out[0].attributes.own_part().is_empty() && out[1].attributes.own_part().is_empty());
    assert!(
        Arc::ptr_eq(out[2].attributes.shared_arc().expect("shared"), &shared),
        "a parsed record keeps the original list"
    );
    assert_eq!(out[2].attribute("parse_error"), None);
    let mut m = gleaner_api::Batch::Metrics(vec![Metric::new("cpu", 1)]);
    f.process(&mut m);
    assert_eq!(m.len(), 1);
}

#[test]
fn an_attribute_source_to_the_top_level_without_the_original() {
    let (mut f, metrics) = filter(
        &DESCRIPTOR,
        "format = \"kv\"\nsource = \"raw\"\ntarget = \"\"\nkeep_original = false\n\
         pair_separator = \";\"\nvalue_separator = \":\"\n",
    );
    let out = run_logs(
        f.as_mut(),
        vec![
            LogRecord::new(1, "body", Stream::Stdout)
                .with_attribute("user", s("old"))
                .with_attribute("raw", s("user:ann; code:7")),
            LogRecord::new(1, "no raw attribute", Stream::Stdout),
        ],
    );
    assert_eq!(
        out[0].attribute("user"),
        Some(&s("ann")),
        "replaced at the top level"
    );
    assert_eq!(out[0].attribute("code"), Some(&s("7")));
    assert_eq!(out[0].attribute("raw"), None, "the original is removed");
    assert_eq!(out[0].body, b"body");
    assert_eq!(
        out[1].attribute("parse_error"),
        None,
        "nothing to parse is not an error"
    );
    assert_eq!(metrics.snapshot().errors, vec![("source_missing", 1)]);
}

#[test]
fn a_regex_with_a_strftime_time_and_the_message_member_as_body() {
    let (mut f, _) = filter(
        &DESCRIPTOR,
        r#"format = "regex"
pattern = '^(?P<ip>\S+) \[(?P<time>[^\]]+)\] (?P<lvl>\w+) (?P<message>.*)$'
time_key = "time"
time_format = "%d/%b/%Y:%H:%M:%S %z"
level_key = "lvl"
keep_original = false
"#,
    );
    let out = run_logs(
        f.as_mut(),
        vec![LogRecord::new(
            1,
            "10.1.2.3 [21/May/2026:06:00:00 +0200] E disk full",
            Stream::Stdout,
        )],
    );
    assert_eq!(out[0].timestamp, 1_779_336_000_000_000_000);
    assert_eq!(out[0].body, b"disk full");
    assert!(
        out[0].body.capacity() < 32,
        "the body holds the message's bytes, not the line's allocation"
    );
    assert_eq!(out[0].attribute("log.ip"), Some(&s("10.1.2.3")));
    assert_eq!(out[0].attribute("log.message"), None, "it became the body");
    assert_eq!(out[0].attribute("severity"), Some(&s("error")));
}

#[test]
fn config_errors_name_the_key_and_the_position() {
    let text = "format = \"regex\"\npattern = \"(?P<a>x))\"\n";
    let e = build(&DESCRIPTOR, text).err().expect("unbalanced");
    assert_eq!(e.key.as_deref(), Some("filters.parse.0.pattern"));
    assert!(
        e.message.contains("at character 9 of the pattern"),
        "{}",
        e.message
    );
    assert_eq!(&text[e.span.clone().expect("span")][..1], ")");
    let cases = [
        ("format = \"yaml\"\n", "filters.parse.0.format"),
        ("format = \"regex\"\n", "filters.parse.0.format"),
        ("pattern = \"x\"\n", "filters.parse.0.pattern"),
        (
            "format = \"regex\"\npattern = \"x\"\n",
            "filters.parse.0.pattern",
        ),
        (
            "time_key = \"t\"\ntime_format = \"%Y-%Q\"\n",
            "filters.parse.0.time_format",
        ),
        (
            "time_key = \"t\"\ntime_format = \"iso\"\n",
            "filters.parse.0.time_format",
        ),
        ("max_depth = 0\n", "filters.parse.0.max_depth"),
        ("source = \"\"\n", "filters.parse.0.source"),
        ("time_kye = \"t\"\n", "filters.parse.0.time_kye"),
    ];
    for (toml, key) in cases {
        let e = build(&DESCRIPTOR, toml)
            .err()
            .unwrap_or_else(|| panic!("{toml} builds"));
        assert_eq!(e.key.as_deref(), Some(key), "{toml}: {e}");
        assert!(e.span.is_some(), "{toml}: no span");
    }
    let e = build(&DESCRIPTOR, "time_key = \"t\"\ntime_format = \"%Y-%Q\"\n")
        .err()
        .expect("bad");
    assert!(e.message.contains("at character 4"), "{}", e.message);
    let e = build(&DESCRIPTOR, "time_kye = \"t\"\n")
        .err()
        .expect("unknown");
    assert_eq!(e.hint.as_deref(), Some("did you mean `time_key`?"));
}

#[test]
fn members_replace_shared_attributes_under_the_prefix_list_by_list() {
    let (mut f, _) = filter(&DESCRIPTOR, "format = \"logfmt\"\n");
    let with_prefix: Arc<[(gleaner_api::Key, FieldValue)]> = Arc::from(vec![
        ("file".into(), s("/a.log")),
        ("log.level".into(), s("shared")),
    ]);
    let without: Arc<[(gleaner_api::Key, FieldValue)]> =
        Arc::from(vec![("file".into(), s("/b.log"))]);
    let mut batch = Vec::new();
    for list in [&with_prefix, &without, &with_prefix, &without] {
        let mut r = LogRecord::new(5, "level=warn n=1", Stream::Stdout);
        r.attributes = Attributes::from_shared(Arc::clone(list));
        batch.push(r);
    }
    let out = run_logs(f.as_mut(), batch);
    for (i, r) in out.iter().enumerate() {
        let keys: Vec<&str> = r.attributes.iter().map(|(k, _)| k.as_str()).collect();
        assert_eq!(keys, ["file", "log.level", "log.n"], "record {i}");
        assert_eq!(r.attribute("log.level"), Some(&s("warn")), "record {i}");
    }
    // The list without the prefix stays shared; the other was copied into its records.
    assert!(Arc::ptr_eq(
        out[1].attributes.shared_arc().expect("shared"),
        &without
    ));
    assert!(out[0].attributes.shared_arc().is_none());
}

#[test]
fn a_repeated_member_or_an_own_attribute_under_the_prefix_is_replaced_in_place() {
    let (mut f, _) = filter(&DESCRIPTOR, "format = \"json\"\n");
    let mut seen = LogRecord::new(1, r#"{"a":1,"b":2}"#, Stream::Stdout);
    seen.attributes.push("log.b", s("before"));
    seen.attributes.push("other", s("kept"));
    let out = run_logs(
        f.as_mut(),
        vec![
            LogRecord::new(1, r#"{"a":1,"b":2,"a":3}"#, Stream::Stdout),
            seen,
        ],
    );
    let pairs = |r: &LogRecord| -> Vec<(String, FieldValue)> {
        r.attributes
            .iter()
            .map(|(k, v)| (k.to_string_owned(), v.clone()))
            .collect()
    };
    assert_eq!(
        pairs(&out[0]),
        [
            ("log.a".to_owned(), FieldValue::Int(3)),
            ("log.b".to_owned(), FieldValue::Int(2))
        ]
    );
    assert_eq!(
        pairs(&out[1]),
        [
            ("log.b".to_owned(), FieldValue::Int(2)),
            ("other".to_owned(), s("kept")),
            ("log.a".to_owned(), FieldValue::Int(1))
        ]
    );
}

#[test]
fn member_names_are_made_once_for_every_record() {
    let (mut f, _) = filter(&DESCRIPTOR, "format = \"json\"\n");
    let out = run_logs(
        f.as_mut(),
        records(vec![br#"{"msg":"a"}"#.to_vec(), br#"{"msg":"b"}"#.to_vec()]),
    );
    let name = |r: &LogRecord| r.attributes.own_part()[0].0.as_str().as_ptr();
    assert_eq!(out[0].attributes.own_part()[0].0, "log.msg");
    assert_eq!(name(&out[0]), name(&out[1]), "one shared name");
}

#[test]
fn text_that_does_not_start_like_json_is_not_json_whatever_its_bytes() {
    let (mut f, metrics) = filter(&DESCRIPTOR, "format = \"json\"\n");
    let out = run_logs(
        f.as_mut(),
        records(vec![
            b"plain \xff text".to_vec(),
            b"{\"a\":\"\xff\"}".to_vec(),
        ]),
    );
    assert!(out.iter().all(|r| r.attribute("parse_error").is_some()));
    let errors = metrics.snapshot().errors;
    assert!(errors.contains(&("not_json", 1)), "{errors:?}");
    assert!(errors.contains(&("not_utf8", 1)), "{errors:?}");
}

/// A line repeating a member after lines of the same names without one is still caught.
#[test]
fn a_repeated_member_after_distinct_lines_of_its_shape_is_replaced_in_place() {
    let (mut f, _) = filter(&DESCRIPTOR, "format = \"json\"\n");
    let out = run_logs(
        f.as_mut(),
        vec![
            LogRecord::new(1, r#"{"a":1,"b":2}"#, Stream::Stdout),
            LogRecord::new(1, r#"{"a":1,"b":2}"#, Stream::Stdout),
            LogRecord::new(1, r#"{"a":1,"a":3}"#, Stream::Stdout),
            LogRecord::new(1, r#"{"a":1,"b":2,"a":4}"#, Stream::Stdout),
            LogRecord::new(1, r#"{"a":1,"b":2}"#, Stream::Stdout),
        ],
    );
    let names: Vec<Vec<(String, FieldValue)>> = out
        .iter()
        .map(|r| {
            r.attributes
                .iter()
                .map(|(k, v)| (k.to_string_owned(), v.clone()))
                .collect()
        })
        .collect();
    let pair = |k: &str, v: i64| (k.to_owned(), FieldValue::Int(v));
    assert_eq!(names[1], [pair("log.a", 1), pair("log.b", 2)]);
    assert_eq!(names[2], [pair("log.a", 3)]);
    assert_eq!(names[3], [pair("log.a", 4), pair("log.b", 2)]);
    assert_eq!(names[4], [pair("log.a", 1), pair("log.b", 2)]);
}
