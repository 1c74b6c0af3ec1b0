//! The hand-written wire encoder (`encode`) against the reference: prost's encoding of the
//! owned request (`write_request`). Byte equality, on the mapping fixtures and on arbitrary
//! metrics: invalid, unsorted, duplicate and empty tag names, empty values, repeated series,
//! zero, negative and NaN values and timestamps, with and without metadata.

use gleaner_api::{FieldValue, Metric, MetricKind};
use proptest::prelude::*;
use prost::Message as _;

use super::super::encode::{encode, write_request};
use super::sample_metrics;

fn both(metrics: &[Metric], with_metadata: bool) -> (Vec<u8>, Vec<u8>) {
    let mut fast = Vec::new();
    let fast_stats = encode(metrics, with_metadata, &mut fast);
    let (req, ref_stats) = write_request(metrics, with_metadata);
    assert_eq!(fast_stats, ref_stats);
    (fast, req.encode_to_vec())
}

#[test]
fn the_mapping_fixtures_encode_like_prost() {
    for with_metadata in [false, true] {
        let (fast, reference) = both(&sample_metrics(), with_metadata);
        assert_eq!(fast, reference, "metadata = {with_metadata}");
    }
    let (fast, reference) = both(&[], true);
    assert!(fast.is_empty());
    assert_eq!(fast, reference);
}

fn label_name() -> impl Strategy<Value = String> {
    prop_oneof![
        Just("job".to_owned()),
        Just("le".to_owned()),
        Just("__name__".to_owned()),
        Just(String::new()),
        Just("Zone".to_owned()),
        "[a-z_.9-][a-z0-9:.-]{0,6}",
    ]
}

fn value() -> impl Strategy<Value = FieldValue> {
    prop_oneof![
        Just(FieldValue::Float(0.0)),
        Just(FieldValue::Float(-0.0)),
        Just(FieldValue::Float(f64::NAN)),
        any::<f64>().prop_map(FieldValue::Float),
        any::<i64>().prop_map(FieldValue::Int),
        any::<u64>().prop_map(FieldValue::UInt),
        any::<bool>().prop_map(FieldValue::Bool),
        Just(FieldValue::String("s".into())),
    ]
}

fn metric() -> impl Strategy<Value = Metric> {
    (
        prop_oneof![Just("prometheus"), Just("cpu"), Just(""), Just("a-b")],
        prop::collection::vec(
            (
                label_name(),
                // A long value: a label entry of 128 bytes or more (two-byte lengths).
                prop_oneof![
                    Just(String::new()),
                    Just("x".to_owned()),
                    Just("y".to_owned()),
                    "[a-z]{118,130}",
                ],
            ),
            0..4,
        ),
        prop::collection::vec(
            (
                prop_oneof![Just("up"), Just("a:b"), Just("9x"), Just("")],
                value(),
            ),
            0..3,
        ),
        prop_oneof![Just(0_i64), Just(-1_500_000), Just(1_000_000), any::<i64>()],
        0_u8..5,
        any::<bool>(),
    )
        .prop_map(|(measurement, tags, fields, timestamp, kind, sorted)| {
            let mut m = Metric::new(measurement, timestamp).with_kind(match kind {
                0 => MetricKind::Counter,
                1 => MetricKind::Gauge,
                2 => MetricKind::Histogram,
                3 => MetricKind::Summary,
                _ => MetricKind::Untyped,
            });
            for (k, v) in tags {
                if sorted {
                    m.insert_tag(k, v.to_owned());
                } else {
                    // Built by hand, in any order (the set sorts it).
                    m.tags.edit(|t| t.push((k, v.to_owned())));
                }
            }
            for (k, v) in fields {
                m.fields.push((k.to_owned(), v));
            }
            m
        })
}

proptest! {
    #[test]
    fn arbitrary_metrics_encode_like_prost(
        metrics in prop::collection::vec(metric(), 0..12),
        repeat in 0_usize..3,
        with_metadata in any::<bool>(),
    ) {
        // Repeated metrics make series with several samples and same-millisecond duplicates.
        let mut all = metrics.clone();
        for _ in 0..repeat {
            all.extend(metrics.iter().cloned());
        }
        let (fast, reference) = both(&all, with_metadata);
        prop_assert_eq!(fast, reference);
    }
}
