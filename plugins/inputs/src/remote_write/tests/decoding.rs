//! The decoder on its own: the mapping from series to metrics, pieces, metadata, and the
//! requests refused whole.

use gleaner_api::prompb::{MetricMetadata, MetricType, WriteRequest};
use gleaner_api::{FieldValue, Metric, MetricKind};
use prost::Message as _;

use super::super::decode::{self, DecodeError};
use super::{STALE_NAN, decoded_metrics, request, series, snappy};

#[test]
fn a_series_becomes_one_metric_per_sample_named_by_its_field() {
    let req = request(vec![
        series(
            &[
                ("job", "node"),
                ("__name__", "node_cpu_seconds_total"),
                ("Zone", "z"),
                ("cpu", "0"),
                ("empty", ""),
            ],
            &[
                (1.5, 1_700_000_000_123),
                (f64::from_bits(STALE_NAN), 1_700_000_001_123),
            ],
        ),
        series(&[("__name__", "up")], &[(1.0, -5)]),
    ]);
    let pieces = decoded_metrics(req, 1000);
    assert_eq!(pieces.len(), 1);
    let got = &pieces[0];
    let tags = vec![
        ("Zone".to_owned(), "z".to_owned()),
        ("cpu".to_owned(), "0".to_owned()),
        ("job".to_owned(), "node".to_owned()),
    ];
    let want0 = Metric {
        measurement: "prometheus".to_owned(),
        tags: tags.clone().into(),
        fields: vec![("node_cpu_seconds_total".to_owned(), FieldValue::Float(1.5))],
        timestamp: 1_700_000_000_123_000_000,
        kind: MetricKind::Untyped,
    };
    assert_eq!(got[0], want0);
    assert_eq!(got[1].tags, tags);
    assert_eq!(got[1].timestamp, 1_700_000_001_123_000_000);
    let FieldValue::Float(stale) = got[1].fields[0].1 else {
        panic!("not a float")
    };
    assert_eq!(
        stale.to_bits(),
        STALE_NAN,
        "the stale marker passes bit for bit"
    );
    assert_eq!(
        got[2],
        Metric::new("prometheus", -5_000_000).with_field("up", FieldValue::Float(1.0))
    );
}

#[test]
fn pieces_hold_at_most_the_limit_and_keep_request_order() {
    let samples: Vec<(f64, i64)> = (0..5).map(|i| (f64::from(i), i64::from(i))).collect();
    let req = request(vec![
        series(&[("__name__", "a")], &samples),
        series(&[("__name__", "b")], &samples),
    ]);
    let pieces = decoded_metrics(req, 3);
    assert_eq!(
        pieces.iter().map(Vec::len).collect::<Vec<_>>(),
        vec![3, 3, 3, 1]
    );
    let order: Vec<(String, i64)> = pieces
        .iter()
        .flatten()
        .map(|m| (m.fields[0].0.clone(), m.timestamp / 1_000_000))
        .collect();
    let want: Vec<(String, i64)> = ["a", "b"]
        .iter()
        .flat_map(|n| (0..5).map(move |t| ((*n).to_owned(), t)))
        .collect();
    assert_eq!(order, want);
}

#[test]
fn metadata_in_the_request_gives_the_kind() {
    let mut req = request(vec![
        series(&[("__name__", "http_requests_total")], &[(1.0, 1)]),
        series(
            &[("__name__", "latency_bucket"), ("le", "+Inf")],
            &[(1.0, 1)],
        ),
        series(&[("__name__", "latency_count")], &[(1.0, 1)]),
        series(&[("__name__", "temperature")], &[(1.0, 1)]),
        series(&[("__name__", "other")], &[(1.0, 1)]),
    ]);
    let meta = |name: &str, t: MetricType| MetricMetadata {
        r#type: t as i32,
        metric_family_name: name.to_owned(),
        help: String::new(),
        unit: String::new(),
    };
    req.metadata = vec![
        meta("http_requests_total", MetricType::Counter),
        meta("latency", MetricType::Histogram),
        meta("temperature", MetricType::Gauge),
    ];
    let kinds: Vec<MetricKind> = decoded_metrics(req, 100)[0]
        .iter()
        .map(|m| m.kind)
        .collect();
    use MetricKind::*;
    assert_eq!(kinds, vec![Counter, Histogram, Histogram, Gauge, Untyped]);
}

#[test]
fn malformed_requests_are_refused_whole() {
    let err = |req: WriteRequest| decode::check(req).unwrap_err();
    let good = series(&[("__name__", "up")], &[(1.0, 1)]);
    assert_eq!(
        err(request(vec![
            good.clone(),
            series(&[("job", "x")], &[(1.0, 1)])
        ])),
        DecodeError::Series {
            index: 1,
            reason: "no __name__ label (or an empty one)"
        }
    );
    assert!(matches!(
        err(request(vec![series(&[("__name__", "")], &[(1.0, 1)])])),
        DecodeError::Series { index: 0, .. }
    ));
    assert!(matches!(
        err(request(vec![series(
            &[("__name__", "up"), ("a", "1"), ("a", "2")],
            &[(1.0, 1)]
        )])),
        DecodeError::Series {
            reason: "a label name is given twice",
            ..
        }
    ));
    assert!(matches!(
        err(request(vec![series(
            &[("__name__", "up")],
            &[(1.0, i64::MAX)]
        )])),
        DecodeError::Series {
            reason: "a sample's timestamp is out of range",
            ..
        }
    ));
    assert!(matches!(
        decode::decompress(b"\xff\xff\xff\xff\xff\xff", 1 << 20),
        Err(DecodeError::Snappy(_))
    ));
    assert!(matches!(
        decode::decode(b"\x0a\x05\x0a"),
        Err(DecodeError::Protobuf(_))
    ));
    let big = snappy(&request(vec![good; 100]));
    assert!(decode::decompress(&big, 64).unwrap_err().is_too_large());
}

#[test]
fn exemplars_and_native_histograms_are_counted_not_taken() {
    let mut s = series(&[("__name__", "x")], &[(1.0, 1)]);
    s.exemplars = vec![vec![0x10, 0x01], vec![]];
    s.histograms = vec![vec![0x08, 0x01]];
    let bytes = request(vec![s]).encode_to_vec();
    let d = decode::decode(&bytes).unwrap();
    assert_eq!((d.samples, d.exemplars, d.histograms), (1, 2, 1));
}
