//! The round trip of a scraped series: a [`Metric`] as `inputs.prometheus` makes it
//! (measurement `prometheus`, one field named as the series, tags = labels, kind from the
//! family) comes out of the encoder as exactly that series: name, labels, value (bits
//! included) and timestamp in milliseconds.

use gleaner_api::{FieldValue, Metric, MetricKind};

use super::super::encode::write_request;

/// (name, labels, value, timestamp ms) of a scraped series.
type Series = (&'static str, Vec<(&'static str, &'static str)>, f64, i64);

fn scraped() -> Vec<Series> {
    vec![
        (
            "up",
            vec![("instance", "127.0.0.1:9100"), ("job", "node")],
            1.0,
            1_700_000_000_123,
        ),
        (
            "node_cpu_seconds_total",
            vec![("cpu", "0"), ("mode", "idle"), ("Zone", "z")],
            12345.67,
            1_700_000_000_123,
        ),
        (
            "rpc:latency:rate5m",
            vec![("path", "/a \"b\"\n\\c é")],
            f64::INFINITY,
            1,
        ),
        (
            "http_request_duration_seconds_bucket",
            vec![("le", "+Inf")],
            3.0,
            2,
        ),
        (
            "go_gc_duration_seconds",
            vec![("quantile", "0.5")],
            f64::NAN,
            3,
        ),
        ("process_start_time_seconds", vec![], -0.0, 4),
        (
            "x",
            vec![("_private", "1"), ("a", "2")],
            f64::NEG_INFINITY,
            -5,
        ),
    ]
}

fn as_metric((name, labels, value, ms): &Series) -> Metric {
    let mut m = Metric::new("prometheus", ms * 1_000_000)
        .with_kind(MetricKind::Gauge)
        .with_field(*name, FieldValue::Float(*value));
    for (k, v) in labels {
        m.insert_tag((*k).to_owned(), (*v).to_owned());
    }
    m
}

#[test]
fn scraped_series_come_back_exactly() {
    let series = scraped();
    let metrics: Vec<Metric> = series.iter().map(as_metric).collect();
    let (req, stats) = write_request(&metrics, false);
    assert_eq!(stats.samples, series.len() as u64);
    assert_eq!(req.timeseries.len(), series.len());
    for (name, labels, value, ms) in &series {
        let mut want: Vec<(String, String)> = labels
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect();
        want.push(("__name__".to_owned(), (*name).to_owned()));
        want.sort();
        let ts = req
            .timeseries
            .iter()
            .find(|t| {
                t.labels
                    .iter()
                    .any(|l| l.name == "__name__" && l.value == *name)
            })
            .unwrap_or_else(|| panic!("{name} missing"));
        let got: Vec<(String, String)> = ts
            .labels
            .iter()
            .map(|l| (l.name.clone(), l.value.clone()))
            .collect();
        assert_eq!(got, want, "{name}: labels in byte order, nothing renamed");
        assert_eq!(ts.samples.len(), 1);
        assert_eq!(ts.samples[0].value.to_bits(), value.to_bits(), "{name}");
        assert_eq!(ts.samples[0].timestamp, *ms, "{name}");
    }
}
