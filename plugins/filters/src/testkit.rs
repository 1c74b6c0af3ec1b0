//! Test helpers: building a filter from TOML text, rendering records for golden files, and
//! comparing with `testdata/` (`GOLDEN_UPDATE=1` rewrites the golden file instead).

use std::fmt::Write as _;
use std::sync::Arc;

use gleaner_api::{
    Batch, BuildContext, ComponentMetrics, ConfigError, Filter, FilterDescriptor, LogRecord,
    PluginConfig,
};

/// A filter built from `toml`, with its counters.
pub(crate) fn build(
    d: &FilterDescriptor,
    toml: &str,
) -> Result<(Box<dyn Filter>, Arc<ComponentMetrics>), ConfigError> {
    let id = format!("filters.{}.0", d.name);
    let cfg = PluginConfig::from_toml_str(&id, toml)?;
    let cx = BuildContext::for_test(&id);
    let metrics = Arc::clone(&cx.metrics);
    Ok(((d.build)(&cfg, &cx)?, metrics))
}

/// Like [`build`], panicking on a config error.
pub(crate) fn filter(d: &FilterDescriptor, toml: &str) -> (Box<dyn Filter>, Arc<ComponentMetrics>) {
    build(d, toml).unwrap_or_else(|e| panic!("{toml}: {e}"))
}

/// Runs a filter over log records.
pub(crate) fn run_logs(f: &mut dyn Filter, records: Vec<LogRecord>) -> Vec<LogRecord> {
    let mut b = Batch::Logs(records);
    f.process(&mut b);
    match b {
        Batch::Logs(l) => l,
        Batch::Metrics(_) => panic!("a log batch came back as metrics"),
    }
}

/// One line per record: time, body, then attributes with their types.
pub(crate) fn render(records: &[LogRecord]) -> String {
    let mut out = String::new();
    for r in records {
        write!(out, "{} {:?}", r.timestamp, r.body_lossy()).expect("write to a String");
        for (k, v) in r.attributes.iter() {
            write!(out, " {k}={v:?}").expect("write to a String");
        }
        out.push('\n');
    }
    out
}

/// The lines of a fixture (`#` comments and blank lines skipped), with `\xNN` escapes
/// decoded into bytes.
pub(crate) fn fixture_lines(name: &str) -> Vec<Vec<u8>> {
    let text = std::fs::read_to_string(path(name)).unwrap_or_else(|e| panic!("{name}: {e}"));
    text.lines()
        .filter(|l| !l.trim().is_empty() && !l.starts_with('#'))
        .map(unescape)
        .collect()
}

fn unescape(l: &str) -> Vec<u8> {
    let mut out = Vec::with_capacity(l.len());
    let b = l.as_bytes();
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'\\'
            && b.get(i + 1) == Some(&b'x')
            && let Some(h) = l.get(i + 2..i + 4)
            && let Ok(v) = u8::from_str_radix(h, 16)
        {
            out.push(v);
            i += 4;
            continue;
        }
        out.push(b[i]);
        i += 1;
    }
    out
}

fn path(name: &str) -> std::path::PathBuf {
    gleaner_api::test_util::golden::testdata(env!("CARGO_MANIFEST_DIR"), name)
}

/// Compares `actual` with `testdata/<name>` (`gleaner_api::test_util::golden`).
pub(crate) fn assert_golden(name: &str, actual: &str) {
    gleaner_api::test_util::golden::assert_golden(
        env!("CARGO_MANIFEST_DIR"),
        name,
        actual.as_bytes(),
    );
}

/// `testdata/records.tsv` as records: `k8s.namespace` and `k8s.pod` in a list shared by
/// the records of one pod (as the tail shares a file's), `log.level` (Int status) own.
pub(crate) fn k8s_records() -> Vec<LogRecord> {
    let mut shared: Vec<(String, gleaner_api::SharedAttributes)> = Vec::new();
    let mut out = Vec::new();
    for (i, line) in fixture_lines("records.tsv").into_iter().enumerate() {
        let line = String::from_utf8(line).expect("utf8 fixture");
        let cols: Vec<&str> = line.splitn(5, '\t').collect();
        let [ns, pod, level, status, body] = cols[..] else {
            panic!("records.tsv: 5 columns in {line:?}")
        };
        let list = match shared.iter().find(|(p, _)| p == pod) {
            Some((_, l)) => Arc::clone(l),
            None => {
                let l: gleaner_api::SharedAttributes = Arc::from(vec![
                    (
                        "k8s.namespace".into(),
                        gleaner_api::FieldValue::String(ns.into()),
                    ),
                    (
                        "k8s.pod".into(),
                        gleaner_api::FieldValue::String(pod.into()),
                    ),
                ]);
                shared.push((pod.to_owned(), Arc::clone(&l)));
                l
            }
        };
        let mut r = LogRecord::new(i as i64, body, gleaner_api::Stream::Stdout);
        r.attributes = gleaner_api::Attributes::from_shared(list);
        if level != "-" {
            r.attributes
                .push("log.level", gleaner_api::FieldValue::String(level.into()));
        }
        if status != "-" {
            let s = status.parse().expect("status");
            r.attributes
                .push("log.status", gleaner_api::FieldValue::Int(s));
        }
        out.push(r);
    }
    out
}

/// The bodies of `records`, for short assertions.
pub(crate) fn bodies(records: &[LogRecord]) -> Vec<String> {
    records
        .iter()
        .map(|r| r.body_lossy().into_owned())
        .collect()
}
