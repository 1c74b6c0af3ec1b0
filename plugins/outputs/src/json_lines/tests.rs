//! Golden tests of the shared encoders against `testdata/json_lines/`, and checks of the
//! RFC 3339 writer against a day-by-day calendar walk.

use gleaner_api::{Batch, ComponentMetrics, FieldValue, LogRecord, Metric, MetricKind, Stream};

use super::rfc3339::civil_from_days;
use super::{BatchStats, MetricFormat, encode_batch, encode_log, write_rfc3339};
use crate::test_server::assert_golden;

const T0: i64 = 1_700_000_000_000_000_000;

fn rfc(ns: i64) -> String {
    let mut buf = Vec::new();
    write_rfc3339(ns, &mut buf);
    String::from_utf8(buf).unwrap()
}

#[test]
fn rfc3339_known_instants() {
    assert_eq!(rfc(0), "1970-01-01T00:00:00.000000000Z");
    assert_eq!(
        rfc(1_700_000_000_123_456_789),
        "2023-11-14T22:13:20.123456789Z"
    );
    assert_eq!(rfc(-1), "1969-12-31T23:59:59.999999999Z");
    assert_eq!(
        rfc(1_709_164_800 * 1_000_000_000),
        "2024-02-29T00:00:00.000000000Z"
    );
    assert_eq!(
        rfc(951_868_799 * 1_000_000_000 + 1),
        "2000-02-29T23:59:59.000000001Z"
    );
    assert_eq!(rfc(i64::MAX), "2262-04-11T23:47:16.854775807Z");
    assert_eq!(rfc(i64::MIN), "1677-09-21T00:12:43.145224192Z");
}

#[test]
fn civil_from_days_matches_a_calendar_walk() {
    let leap = |y: i64| (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
    let month_len = |y: i64, m: i64| match m {
        2 if leap(y) => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    };
    // Forward from 1970 to 2300 and backward to 1600.
    let (mut y, mut m, mut d) = (1970, 1, 1);
    for z in 0..120_000 {
        assert_eq!(civil_from_days(z), (y, m, d), "day {z}");
        d += 1;
        if d > month_len(y, m) {
            d = 1;
            m += 1;
            if m > 12 {
                m = 1;
                y += 1;
            }
        }
    }
    let (mut y, mut m, mut d) = (1969, 12, 31);
    for z in (-135_000..0).rev() {
        assert_eq!(civil_from_days(z), (y, m, d), "day {z}");
        d -= 1;
        if d == 0 {
            m -= 1;
            if m == 0 {
                m = 12;
                y -= 1;
            }
            d = month_len(y, m);
        }
    }
}

fn sample_logs() -> Vec<LogRecord> {
    vec![
        LogRecord::new(T0 + 123_456_789, "hello world", Stream::Stdout)
            .with_attribute("file", FieldValue::String("/var/log/pods/a.log".into()))
            .with_attribute("line", FieldValue::Int(-42))
            .with_attribute("ok", FieldValue::Bool(true))
            .with_attribute("ratio", FieldValue::Float(0.5))
            .with_attribute("whole", FieldValue::Float(3.0))
            .with_attribute("tiny", FieldValue::Float(1e-7))
            .with_attribute("big", FieldValue::UInt(u64::MAX)),
        LogRecord::new(0, "say \"hi\"\\ \n\t\u{1}é ✓", Stream::Stderr)
            .with_attribute("message", FieldValue::String("dup".into()))
            .with_attribute("timestamp", FieldValue::Int(1))
            .with_attribute("stream", FieldValue::String("x".into()))
            .with_attribute("nan", FieldValue::Float(f64::NAN))
            .with_attribute("inf", FieldValue::Float(f64::NEG_INFINITY))
            .with_attribute("k\"ey\n", FieldValue::String("v\r".into())),
        LogRecord::new(-1, &b"ab\xffcd\xe2\x82"[..], Stream::Unknown)
            .with_attribute("message_invalid_utf8", FieldValue::Bool(false)),
        LogRecord::new(T0, "", Stream::Stdout),
    ]
}

fn sample_metrics() -> Vec<Metric> {
    vec![
        Metric::new("cpu", T0)
            .with_kind(MetricKind::Gauge)
            .with_tag("host", "a")
            .with_tag("cpu", "cpu0")
            .with_field("usage_idle", FieldValue::Float(99.5))
            .with_field("n", FieldValue::Int(3)),
        Metric::new("mem", T0)
            .with_kind(MetricKind::Gauge)
            .with_tag("host", "a")
            .with_field("free", FieldValue::UInt(5))
            .with_field("bad", FieldValue::Float(f64::NAN)),
        Metric::new("app", T0 + 1)
            .with_kind(MetricKind::Counter)
            .with_tag("path", "/var/lib data,x=y")
            .with_field("ok", FieldValue::Bool(true))
            .with_field("msg", FieldValue::String("say \"hi\" \\o/".into())),
        Metric::new("empty", T0).with_field("x", FieldValue::Float(f64::INFINITY)),
        Metric::new("none", T0),
    ]
}

#[test]
fn logs_match_golden() {
    let mut buf = Vec::new();
    let stats = encode_batch(&Batch::Logs(sample_logs()), MetricFormat::Influx, &mut buf);
    assert_eq!(
        stats,
        BatchStats {
            written: 4,
            nan_or_inf_fields: 0,
            no_fields: 0,
            ..BatchStats::default()
        }
    );
    assert_golden("json_lines/logs.jsonl", &buf);
}

#[test]
fn log_lines_are_valid_json_with_lossy_body() {
    let logs = sample_logs();
    for r in &logs {
        let mut buf = Vec::new();
        encode_log(r, &mut buf);
        assert_eq!(buf.last(), Some(&b'\n'));
        assert_eq!(
            buf.iter().filter(|b| **b == b'\n').count(),
            1,
            "one line per record"
        );
        let v: serde_json::Value = serde_json::from_slice(&buf).unwrap();
        assert_eq!(
            v["message"],
            serde_json::Value::from(r.body_lossy().as_ref())
        );
        let invalid = std::str::from_utf8(&r.body).is_err();
        assert_eq!(v.get("message_invalid_utf8").is_some(), invalid);
    }
}

#[test]
fn metrics_as_json_match_golden() {
    let mut buf = Vec::new();
    let stats = encode_batch(
        &Batch::Metrics(sample_metrics()),
        MetricFormat::Json,
        &mut buf,
    );
    assert_eq!(
        stats,
        BatchStats {
            written: 3,
            nan_or_inf_fields: 2,
            no_fields: 2,
            ..BatchStats::default()
        }
    );
    assert_golden("json_lines/metrics.jsonl", &buf);
    for line in buf.split(|b| *b == b'\n').filter(|l| !l.is_empty()) {
        serde_json::from_slice::<serde_json::Value>(line).unwrap();
    }
}

/// Depends on `gleaner_api::line_protocol::encode_metric` following the Telegraf rules.
#[test]
fn metrics_as_line_protocol_match_golden() {
    let mut buf = Vec::new();
    let stats = encode_batch(
        &Batch::Metrics(sample_metrics()),
        MetricFormat::Influx,
        &mut buf,
    );
    assert_golden("json_lines/metrics.lp", &buf);
    assert_eq!(
        stats,
        BatchStats {
            written: 3,
            nan_or_inf_fields: 2,
            no_fields: 2,
            ..BatchStats::default()
        }
    );
}

#[test]
fn stats_are_counted_under_their_reasons() {
    let m = ComponentMetrics::detached("stdout");
    BatchStats {
        written: 3,
        nan_or_inf_fields: 2,
        no_fields: 1,
        ..BatchStats::default()
    }
    .record(&m);
    BatchStats {
        written: 1,
        nan_or_inf_fields: 0,
        no_fields: 1,
        ..BatchStats::default()
    }
    .record(&m);
    assert_eq!(m.dropped_count("nan_or_inf_field"), 2);
    assert_eq!(m.dropped_count("no_fields"), 2);
    assert_eq!(m.snapshot().dropped.len(), 2);
}

#[test]
fn trailing_backslashes_are_counted_under_their_own_reasons() {
    let m = ComponentMetrics::detached("stdout");
    let metrics = vec![
        // A Prometheus label value `C:\dir\`: written as `C:\dir`, counted as altered.
        Metric::new("up", 1)
            .with_tag("dir", "C:\\dir\\")
            .with_field("value", FieldValue::Float(1.0)),
        // A tag and a field key made only of backslashes: dropped, each under its reason,
        // not as NaN/±Inf.
        Metric::new("m", 1)
            .with_tag("gone", "\\")
            .with_field("\\\\", FieldValue::Int(1))
            .with_field("ok", FieldValue::Int(2)),
        // A measurement made only of backslashes: the metric is dropped.
        Metric::new("\\", 1).with_field("v", FieldValue::Int(1)),
    ];
    let mut buf = Vec::new();
    let stats = encode_batch(&Batch::Metrics(metrics), MetricFormat::Influx, &mut buf);
    assert_eq!(
        String::from_utf8(buf).unwrap(),
        "up,dir=C:\\dir value=1 1\nm ok=2i 1\n"
    );
    assert_eq!(stats.record(&m), 1, "one whole metric left out");
    assert_eq!(m.dropped_count("trailing_backslash"), 1);
    assert_eq!(m.dropped_count("empty_tag"), 1);
    assert_eq!(m.dropped_count("empty_field_key"), 1);
    assert_eq!(m.dropped_count("empty_measurement"), 1);
    assert_eq!(m.dropped_count("nan_or_inf_field"), 0);
    assert_eq!(m.dropped_count("no_fields"), 0);
}

/// Each record as `encode_log` writes it alone.
fn one_by_one(logs: &[LogRecord]) -> Vec<u8> {
    let mut buf = Vec::new();
    for r in logs {
        encode_log(r, &mut buf);
    }
    buf
}

#[test]
fn a_batch_writes_shared_lists_and_minutes_once_and_the_same_bytes() {
    use gleaner_api::{Attributes, SharedAttributes};
    use std::sync::Arc;
    let list = |host: &str| -> SharedAttributes {
        Arc::from(vec![
            ("host".into(), FieldValue::String(host.into())),
            // A reserved name in a shared list keeps its prefix.
            ("message".into(), FieldValue::String("q\"uote".into())),
            ("n".into(), FieldValue::Float(f64::NAN)),
        ])
    };
    let (a, b) = (list("a"), list("b\n"));
    let record = |l: &SharedAttributes, ts: i64, own: bool| {
        let mut attributes = Attributes::from_shared(Arc::clone(l));
        if own {
            attributes.push("pid", FieldValue::String(ts.to_string().into()));
        }
        LogRecord {
            attributes,
            ..LogRecord::new(ts, "GET /", Stream::Stdout)
        }
    };
    // Runs of one list, the lists interleaved, an equal list that is another `Arc`, records
    // without a shared list; timestamps in one minute, across minutes and days, before 1970
    // and at both ends of the range.
    let mut logs = vec![
        record(&a, T0, true),
        record(&a, T0 + 59_999_999_999, false),
        record(&b, T0 + 60_000_000_000, true),
        record(&a, T0 - 1, true),
        record(&list("a"), T0 + 86_400_000_000_000, false),
        record(&b, -1, true),
        record(&b, -60_000_000_001, true),
        record(&a, i64::MIN, true),
        record(&a, i64::MAX, false),
        record(&a, i64::MAX - 1, false),
    ];
    logs.extend(sample_logs());
    logs.push(record(&b, T0 + 1, true));
    let mut buf = Vec::new();
    let stats = encode_batch(&Batch::Logs(logs.clone()), MetricFormat::Influx, &mut buf);
    assert_eq!(stats.written, logs.len() as u64);
    assert_eq!(
        String::from_utf8_lossy(&buf),
        String::from_utf8_lossy(&one_by_one(&logs))
    );
}

proptest::proptest! {
    #[test]
    fn a_batch_writes_every_timestamp_as_write_rfc3339_does(
        starts in proptest::collection::vec(proptest::prelude::any::<i64>(), 1..4),
        steps in proptest::collection::vec(0i64..200_000_000_000, 0..20),
    ) {
        let mut logs = Vec::new();
        for start in starts {
            let mut ts = start;
            for step in &steps {
                logs.push(LogRecord::new(ts, "x", Stream::Unknown));
                ts = ts.saturating_add(*step);
            }
        }
        let mut buf = Vec::new();
        encode_batch(&Batch::Logs(logs.clone()), MetricFormat::Influx, &mut buf);
        proptest::prop_assert_eq!(buf, one_by_one(&logs));
    }
}
