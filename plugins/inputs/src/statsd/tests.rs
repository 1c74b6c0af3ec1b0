//! `inputs.statsd` tests: the aggregate against a golden file (Telegraf's own test values,
//! DogStatsD tags, malformed lines), the delete/ttl/series-cap rules, and the input itself
//! over real UDP and TCP sockets on 127.0.0.1 (`net.rs`); config validation (`config.rs`).

mod config;
mod net;

use gleaner_api::line_protocol::encode_metric;
use gleaner_api::{FieldValue, Metric, MetricKind};
use tokio::time::{Duration, Instant};

use super::{Aggregator, Outcome, aggregator_from_toml};

const TELEGRAF: &str = include_str!("../../testdata/statsd/telegraf.txt");
const TELEGRAF_LP: &str = include_str!("../../testdata/statsd/telegraf.lp");

fn agg(toml: &str) -> Aggregator {
    aggregator_from_toml(toml).expect("valid config")
}

pub(super) fn line_protocol(metrics: &[Metric]) -> String {
    let mut out = Vec::new();
    for m in metrics {
        encode_metric(m, &mut out);
    }
    String::from_utf8(out).expect("utf-8")
}

fn value(m: &[Metric], name: &str) -> FieldValue {
    m.iter()
        .find(|m| m.measurement == name)
        .and_then(|m| m.field("value").cloned())
        .unwrap_or_else(|| panic!("no {name}"))
}

#[test]
fn golden_aggregate_of_telegrafs_test_lines() {
    let mut a = agg("percentiles = [50.0, 90.0, 99.9]\ndatadog_keep_container_tag = true");
    // Whole file as one packet, and again line by line: the same aggregate either way.
    let o = a.ingest(TELEGRAF.as_bytes());
    assert_eq!(
        o,
        Outcome {
            lines: 50,
            malformed: 6,
            over_limit: 0,
            unsupported: 1
        }
    );
    let once = line_protocol(&a.flush(1_000, Instant::now()));
    assert_eq!(once, TELEGRAF_LP, "golden mismatch:\n{once}");
    for line in TELEGRAF.lines() {
        a.ingest(line.as_bytes());
    }
    assert_eq!(line_protocol(&a.flush(1_000, Instant::now())), TELEGRAF_LP);
    assert_eq!(a.series(), 0, "every kind is deleted by default");
}

#[test]
fn kinds_and_telegraf_values() {
    let mut a = agg("");
    a.ingest(TELEGRAF.as_bytes());
    let m = a.flush(0, Instant::now());
    assert_eq!(value(&m, "plus_minus"), FieldValue::Float(120.0));
    assert_eq!(value(&m, "plus_plus"), FieldValue::Float(300.0));
    assert_eq!(value(&m, "unique_user_ids"), FieldValue::Int(4));
    assert_eq!(value(&m, "big_inc"), FieldValue::Int(1_100_101));
    assert_eq!(value(&m, "sample_rate"), FieldValue::Int(11));
    let kind = |n: &str| m.iter().find(|m| m.measurement == n).map(|m| m.kind);
    assert_eq!(kind("big_inc"), Some(MetricKind::Counter));
    assert_eq!(kind("overwrite"), Some(MetricKind::Gauge));
    assert_eq!(kind("string_sets"), Some(MetricKind::Untyped));
}

#[test]
fn kept_series_carry_over_until_their_ttl() {
    let mut a = agg(concat!(
        "delete_counters = false\ndelete_gauges = false\ndelete_timings = false\n",
        "max_ttl = \"30s\""
    ));
    let t0 = Instant::now();
    a.ingest(b"c:2|c\ng:5|g\nt:1|ms\ns:x|s");
    assert_eq!(a.flush(0, t0).len(), 4);
    assert_eq!(a.series(), 3, "sets are still deleted");
    a.ingest(b"c:3|c\ng:+1|g\nt:3|ms");
    let m = a.flush(0, t0 + Duration::from_secs(10));
    assert_eq!(value(&m, "c"), FieldValue::Int(5), "counters keep counting");
    assert_eq!(
        value(&m, "g"),
        FieldValue::Float(6.0),
        "a delta applies to the kept value"
    );
    let t = m.iter().find(|m| m.measurement == "t").expect("timing");
    assert_eq!(t.field("count"), Some(&FieldValue::Int(2)));
    a.ingest(b"g:7|g");
    // 30 s after c and t were last updated: reported a last time, then forgotten.
    let m = a.flush(0, t0 + Duration::from_secs(40));
    assert_eq!(m.len(), 3);
    assert_eq!(a.series(), 1);
    assert_eq!(
        value(&a.flush(0, t0 + Duration::from_secs(50)), "g"),
        FieldValue::Float(7.0)
    );
}

#[test]
fn series_over_the_cap_are_dropped_and_counted() {
    let mut a = agg("max_series = 2");
    let o = a.ingest(b"a:1|c\nb:1|c\nc:1|c\na:1|c\nd:1|g");
    assert_eq!(o.over_limit, 2);
    assert_eq!(o.malformed, 0);
    let m = a.flush(0, Instant::now());
    assert_eq!(
        line_protocol(&m),
        "a,metric_type=counter value=2i 0\nb,metric_type=counter value=1i 0\n"
    );
    // The cap is per interval when series are deleted.
    assert_eq!(a.ingest(b"c:1|c").over_limit, 0);
}

#[test]
fn naming_options() {
    let mut a = agg("metric_separator = \".\"\nconvert_names = true");
    a.ingest(b"my.app-name.x:1|c");
    assert_eq!(a.flush(0, Instant::now())[0].measurement, "my_app__name_x");
    let mut a = agg("sanitize_name_method = \"upstream\"");
    a.ingest(b"my app/\xc3\xa9x!y:1|c\n \t:1|c");
    let m = a.flush(0, Instant::now());
    assert_eq!(m.len(), 1);
    assert_eq!(m[0].measurement, "my_app-xy");
    let mut a = agg("float_counters = true\nmetric_separator = \"__\"");
    a.ingest(b"a.b:3|c");
    let m = a.flush(0, Instant::now());
    assert_eq!(line_protocol(&m), "a__b,metric_type=counter value=3 0\n");
}

#[test]
fn without_datadog_extensions_tagged_lines_are_malformed() {
    let mut a = agg("datadog_extensions = false");
    let o = a.ingest(b"a:1|c|#env:prod\nb:1|c\n_e{1,1}:a|b");
    assert_eq!((o.lines, o.malformed, o.unsupported), (3, 2, 0));
}
