//! The hand-written log encoder (`logs::wire::encode`) against the reference: prost's
//! encoding of the owned request (`logs::request`). Byte equality on the fixture and on
//! arbitrary records: shared lists (the same list, and equal lists in different `Arc`s) with
//! resource, scope, workload and record keys, own attributes that move a record to another
//! resource, record fields (severity, trace and span ids good and bad, flags, event name),
//! every value type, invalid UTF-8 bodies, zero and negative timestamps, every stream.

use std::sync::Arc;

use gleaner_api::{Attributes, FieldValue, LogRecord, SharedAttributes, Stream};
use proptest::prelude::*;
use prost::Message as _;

use super::super::logs::{request, wire::encode};

fn both(records: &[LogRecord]) -> (Vec<u8>, Vec<u8>) {
    let mut fast = Vec::new();
    encode(records, &mut fast);
    (fast, request(records).encode_to_vec())
}

#[test]
fn the_fixture_encodes_like_prost() {
    let (fast, reference) = both(&super::pod_records());
    assert!(!fast.is_empty());
    assert_eq!(fast, reference);
    let (fast, reference) = both(&[]);
    assert!(fast.is_empty());
    assert_eq!(fast, reference);
}

fn key() -> impl Strategy<Value = String> {
    prop_oneof![
        Just("host"),
        Just("k8s.pod"),
        Just("k8s.namespace"),
        Just("k8s.labels.app"),
        Just("k8s.workload_kind"),
        Just("k8s.workload"),
        Just("resource.service.name"),
        Just("scope.name"),
        Just("scope.version"),
        Just("scope.attributes.lib"),
        Just("scope.other"),
        Just("severity"),
        Just("severity_number"),
        Just("trace_id"),
        Just("span_id"),
        Just("trace_flags"),
        Just("event_name"),
        Just("log.iostream"),
        Just("msg"),
        Just("file"),
        Just(""),
    ]
    .prop_map(str::to_owned)
}

fn value() -> impl Strategy<Value = FieldValue> {
    let s = |v: &str| FieldValue::String(v.into());
    prop_oneof![
        Just(s("web")),
        Just(s("Deployment")),
        Just(s("StatefulSet")),
        Just(s("")),
        Just(s("error")),
        Just(s("0102030405060708090a0b0c0d0e0f10")),
        Just(s("0102030405060708")),
        Just(s("zz02030405060708")),
        Just(s("é102030405060708090a0b0c0d0e0f1")),
        (0_i64..30).prop_map(FieldValue::Int),
        any::<i64>().prop_map(FieldValue::Int),
        any::<u64>().prop_map(FieldValue::UInt),
        any::<f64>().prop_map(FieldValue::Float),
        any::<bool>().prop_map(FieldValue::Bool),
    ]
}

fn attrs() -> impl Strategy<Value = Vec<(String, FieldValue)>> {
    prop::collection::vec((key(), value()), 0..5)
}

/// A record: (shared list index, a fresh `Arc` of the same list, own attributes, body,
/// timestamp, stream).
type RecordSpec = (
    Option<usize>,
    bool,
    Vec<(String, FieldValue)>,
    Vec<u8>,
    i64,
    u8,
);

fn record() -> impl Strategy<Value = RecordSpec> {
    (
        prop::option::of(0_usize..4),
        any::<bool>(),
        attrs(),
        prop_oneof![
            Just(Vec::new()),
            Just(b"line".to_vec()),
            Just(vec![0xff, b'a']),
            prop::collection::vec(any::<u8>(), 0..200),
        ],
        prop_oneof![
            Just(0_i64),
            Just(-5),
            Just(1_700_000_000_000_000_000),
            any::<i64>()
        ],
        0_u8..3,
    )
}

fn build(lists: &[Vec<(String, FieldValue)>], specs: Vec<RecordSpec>) -> Vec<LogRecord> {
    let keyed = |l: &Vec<(String, FieldValue)>| -> SharedAttributes {
        l.iter()
            .map(|(k, v)| (gleaner_api::Key::from(k.as_str()), v.clone()))
            .collect::<Vec<_>>()
            .into()
    };
    let arcs: Vec<SharedAttributes> = lists.iter().map(keyed).collect();
    specs
        .into_iter()
        .map(|(list, fresh, own, body, timestamp, stream)| {
            let stream = [Stream::Stdout, Stream::Stderr, Stream::Unknown][usize::from(stream)];
            let mut r = LogRecord::new(timestamp, body, stream);
            if let Some(i) = list.filter(|i| *i < arcs.len()) {
                let shared = if fresh {
                    keyed(&lists[i])
                } else {
                    Arc::clone(&arcs[i])
                };
                r.attributes = Attributes::from_shared(shared);
            }
            for (k, v) in own {
                r.attributes.push(k, v);
            }
            r
        })
        .collect()
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn arbitrary_records_encode_like_prost(
        lists in prop::collection::vec(attrs(), 0..4),
        specs in prop::collection::vec(record(), 0..12),
    ) {
        let records = build(&lists, specs);
        let (fast, reference) = both(&records);
        prop_assert_eq!(fast, reference);
    }
}
