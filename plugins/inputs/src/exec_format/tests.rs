//! The data formats on their own: line protocol errors counted, JSON options, time formats,
//! documents refused whole, log lines.

use gleaner_api::{Batch, FieldValue, Metric, PluginConfig};

use super::FormatOptions;

const NOW: i64 = 1_800_000_000_000_000_000;

fn format(toml: &str) -> FormatOptions {
    let cfg = PluginConfig::from_toml_str("inputs.exec.0", toml).expect("toml");
    FormatOptions::parse(&cfg, "exec").expect("valid")
}

fn metrics(b: Batch) -> Vec<Metric> {
    match b {
        Batch::Metrics(m) => m,
        Batch::Logs(_) => panic!("logs"),
    }
}

#[test]
fn influx_counts_bad_lines_and_keeps_the_rest() {
    let p = format("").parse_output(b"a v=1i 5\nnope\nb v=2i\n", NOW);
    assert_eq!(p.errors, 1);
    assert!(p.first_error.unwrap().contains("nope"));
    let m = metrics(p.batch);
    assert_eq!((m[0].timestamp, m[1].timestamp), (5, NOW));
}

#[test]
fn json_names_tags_times_and_flattens() {
    let f = format(
        "data_format = \"json\"\njson_name_key = \"kind\"\ntag_keys = [\"host\", \"port\"]\njson_time_key = \"at\"\n",
    );
    let p = f.parse_output(
        br#"{"kind":"web","host":"a","port":8080,"at":1700000000.5,"up":true,"lat":{"p50":1,"p99":{"x":2}},"msg":"s","list":[1]}"#,
        NOW,
    );
    assert_eq!(p.errors, 0);
    assert_eq!(
        metrics(p.batch),
        vec![
            Metric::new("web", 1_700_000_000_500_000_000)
                .with_tag("host", "a")
                .with_tag("port", "8080")
                .with_field("lat_p50", FieldValue::Float(1.0))
                .with_field("lat_p99_x", FieldValue::Float(2.0))
                .with_field("up", FieldValue::Bool(true))
        ]
    );
    // Without the name key: the plugin's name; without a time key: when it was read.
    let m = metrics(
        format("data_format = \"json\"\n")
            .parse_output(b"{\"v\":1}", NOW)
            .batch,
    );
    assert_eq!(
        m,
        vec![Metric::new("exec", NOW).with_field("v", FieldValue::Float(1.0))]
    );
}

#[test]
fn json_time_formats() {
    for (fmt, value, want) in [
        ("unix", "1700000000", 1_700_000_000_000_000_000),
        ("unix_ms", "1700000000123", 1_700_000_000_123_000_000),
        ("unix_us", "\"1700000000123456\"", 1_700_000_000_123_456_000),
        ("unix_ns", "1700000000123456789", 1_700_000_000_123_456_789),
        (
            "rfc3339",
            "\"2023-11-14T22:13:20.5Z\"",
            1_700_000_000_500_000_000,
        ),
    ] {
        let f = format(&format!(
            "data_format = \"json\"\njson_time_key = \"t\"\njson_time_format = \"{fmt}\"\n"
        ));
        let doc = format!("{{\"t\":{value},\"v\":1}}");
        let m = metrics(f.parse_output(doc.as_bytes(), NOW).batch);
        assert_eq!(m[0].timestamp, want, "{fmt}");
    }
}

#[test]
fn bad_json_documents_are_refused_whole() {
    let f =
        format("data_format = \"json\"\njson_time_key = \"t\"\njson_time_format = \"rfc3339\"\n");
    for doc in [
        &b"{not json"[..],
        b"[1, 2]",
        b"42",
        b"[{\"v\":1},{\"t\":\"yesterday\",\"v\":2}]",
    ] {
        let p = f.parse_output(doc, NOW);
        assert_eq!(p.errors, 1, "{}", String::from_utf8_lossy(doc));
        assert!(p.batch.is_empty());
    }
    assert_eq!(
        f.parse_output(b"  \n", NOW).errors,
        0,
        "nothing printed is no error"
    );
}

#[test]
fn prometheus_pages_are_refused_whole() {
    let f = format("data_format = \"prometheus\"\n");
    let p = f.parse_output(b"up 1\nnot a sample {\n", NOW);
    assert_eq!((p.errors, p.batch.len()), (1, 0));
}

#[test]
fn lines_are_log_records_without_empty_ones() {
    let p = format("data_format = \"lines\"\n").parse_output(b"one\r\n\ntwo\n", NOW);
    let Batch::Logs(l) = p.batch else {
        panic!("metrics")
    };
    assert_eq!(l.len(), 2);
    assert_eq!(
        (l[0].body.as_slice(), l[1].body.as_slice()),
        (&b"one"[..], &b"two"[..])
    );
    assert_eq!(l[0].timestamp, NOW);
}
