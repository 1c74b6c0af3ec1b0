//! Conditions: globs and regexes on the body, attributes, metric names, tags and fields;
//! `any`/`all`; config errors located in the file and the pattern.

use gleaner_api::{FieldValue, LogRecord, Metric, PluginConfig, Stream};
use serde::Deserialize;

use super::*;

#[derive(Deserialize)]
struct T {
    when: RawConditions,
    #[serde(default)]
    combine: Combine,
}

fn compile(text: &str) -> Result<Option<Conditions>, ConfigError> {
    let cfg = PluginConfig::from_toml_str("filters.select.0", text)?;
    let t: T = cfg.parse()?;
    Conditions::compile(&cfg, "when", &t.when, t.combine)
}

fn cond(text: &str) -> Conditions {
    compile(text).expect("compiles").expect("not empty")
}

fn rec(body: &str) -> LogRecord {
    LogRecord::new(0, body, Stream::Stdout)
        .with_attribute("log.level", FieldValue::String("debug".into()))
        .with_attribute("log.status", FieldValue::Int(503))
}

#[test]
fn globs_match_whole_values_and_regexes_anywhere() {
    let mut c = cond("when = { \"log.level\" = [\"de*\", \"trace\"] }\n");
    assert!(c.log(&rec("x")));
    let mut c = cond("when = { body = \"/time(out|d out)/\" }\n");
    assert!(c.log(&rec("read: timeout after 5s")));
    assert!(!c.log(&rec("read: ok")));
    let mut c = cond("when = { body = \"timeout\" }\n");
    assert!(!c.log(&rec("read: timeout")), "a glob is the whole value");
    let mut c = cond("when = { \"log.status\" = \"5??\" }\n");
    assert!(c.log(&rec("x")), "numbers match as their text");
    let mut c = cond("when = { \"no.such\" = \"*\" }\n");
    assert!(!c.log(&rec("x")), "an absent name matches nothing");
    let mut c = cond("when = { body = \"/^caf/\" }\n");
    assert!(c.log(&LogRecord::new(0, b"caf\xff".to_vec(), Stream::Stdout)));
}

#[test]
fn any_and_all() {
    let any = "when = { \"log.level\" = \"info\", body = \"x\" }\n";
    assert!(cond(any).log(&rec("x")));
    let all = format!("{any}combine = \"all\"\n");
    assert!(!cond(&all).log(&rec("x")));
    let all = "when = { \"log.level\" = \"debug\", body = \"x\" }\ncombine = \"all\"\n";
    assert!(cond(all).log(&rec("x")));
    assert!(compile("when = {}\n").expect("ok").is_none());
}

#[test]
fn metrics_by_name_tag_then_field() {
    let m = Metric::new("cpu_usage", 0)
        .with_tag("host", "web-1")
        .with_field("host", FieldValue::String("shadowed".into()))
        .with_field("value", FieldValue::Float(0.5));
    assert!(cond("when = { name = \"cpu_*\" }\n").metric(&m));
    assert!(
        cond("when = { host = \"web-*\" }\n").metric(&m),
        "the tag first"
    );
    assert!(cond("when = { value = \"/^0\\\\.5$/\" }\n").metric(&m));
    assert!(!cond("when = { missing = \"*\" }\n").metric(&m));
}

#[test]
fn a_bad_regex_is_located_in_the_file_and_the_pattern() {
    let text = "when = { \"log.level\" = [\"debug\", \"/de(bug/\"] }\n";
    let e = compile(text).expect_err("unclosed group");
    assert_eq!(e.key.as_deref(), Some("filters.select.0.when.log.level.1"));
    assert!(
        e.message.contains("at character 3 of the pattern"),
        "{}",
        e.message
    );
    let span = e.span.expect("span");
    assert_eq!(&text[span.start..span.start + 1], "(");
    let e = compile("when = { body = \"//\" }\n").expect_err("empty regex");
    assert_eq!(e.key.as_deref(), Some("filters.select.0.when.body"));
    let e = compile("when = { body = [] }\n").expect_err("no pattern");
    assert!(e.message.contains("no pattern"), "{e}");
    let e = compile("when = { \"\" = \"x\" }\n").expect_err("empty name");
    assert!(e.message.contains("empty name"), "{e}");
}
