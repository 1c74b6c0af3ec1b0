//! The direct protobuf reader of logs requests (`decode::wire::logs`) against the reference:
//! prost's decoding followed by `decode::logs`. The same records on arbitrary requests
//! (every value kind, nested values, missing resources and scopes, `log.iostream`, severity
//! numbers the text does and does not imply, ids, flags, big timestamps), and the same verdict
//! on corrupted ones (bytes flipped, cut short, or a field repeated, which protobuf merges).

use std::sync::Arc;

use gleaner_api::LogRecord;
use gleaner_api::otlp::proto::{
    AnyValue, ArrayValue, ExportLogsServiceRequest, InstrumentationScope, KeyValue, KeyValueList,
    LogRecord as OtlpRecord, Resource, ResourceLogs, ScopeLogs, any_value::Value,
};
use proptest::prelude::*;
use prost::Message as _;

use super::super::decode;

const NOW: i64 = 1_700_000_000_000_000_000;

/// Both readers' records (as text: doubles may be NaN), or that both refused.
fn both(raw: &[u8]) -> (Option<String>, Option<String>) {
    let show = |events: &[LogRecord]| format!("{events:?}");
    let reference = ExportLogsServiceRequest::decode(raw)
        .ok()
        .map(|req| show(&decode::logs(req, NOW).events));
    let fast = decode::wire::logs(raw, NOW).ok().map(|d| show(&d.events));
    (fast, reference)
}

#[test]
fn records_of_one_scope_share_one_list() {
    let d = decode::wire::logs(&super::proto_logs(3), NOW).expect("decodes");
    assert_eq!(d.events.len(), 3);
    let first = d.events[0].attributes.shared_arc().expect("shared");
    for r in &d.events[1..] {
        assert!(Arc::ptr_eq(
            first,
            r.attributes.shared_arc().expect("shared")
        ));
    }
    let (fast, reference) = both(&super::proto_logs(3));
    assert!(fast.is_some());
    assert_eq!(fast, reference);
}

/// `bytes` as length-delimited field `field`.
fn wrap(field: u8, bytes: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    gleaner_api::otlp::wire::put_bytes(&mut out, field << 3 | 2, bytes);
    out
}

#[test]
fn repeated_message_fields_merge_as_protobuf_says() {
    let array = |xs: &[i64]| AnyValue {
        value: Some(Value::ArrayValue(ArrayValue {
            values: xs
                .iter()
                .map(|x| AnyValue {
                    value: Some(Value::IntValue(*x)),
                })
                .collect(),
        })),
    };
    let text = |s: &str| AnyValue {
        value: Some(Value::StringValue(s.to_owned())),
    };
    let kv = |k: &str, v: AnyValue| KeyValue {
        key: k.to_owned(),
        value: Some(v),
    };
    let with = |body: AnyValue, attributes: Vec<KeyValue>| {
        OtlpRecord {
            body: Some(body),
            attributes,
            ..OtlpRecord::default()
        }
        .encode_to_vec()
    };
    // Two bodies and two values of one attribute: arrays append, strings replace.
    let mut record = with(array(&[1, 2]), vec![kv("a", array(&[1]))]);
    record.extend(with(array(&[3]), vec![]));
    let mut iostream = with(text("first"), vec![]);
    iostream.extend(wrap(6, &{
        let mut b = kv("log.iostream", text("x")).encode_to_vec();
        b.extend(wrap(2, &text("stderr").encode_to_vec()));
        b
    }));
    iostream.extend(with(text("second"), vec![]));
    let mut scope_logs = wrap(2, &record);
    scope_logs.extend(wrap(2, &iostream));
    // Two resources: their attributes together.
    let resource = |k: &str, v: &str| {
        wrap(
            1,
            &Resource {
                attributes: vec![kv(k, text(v))],
                dropped_attributes_count: 0,
            }
            .encode_to_vec(),
        )
    };
    let mut resource_logs = resource("k8s.pod.name", "web");
    resource_logs.extend(wrap(2, &scope_logs));
    resource_logs.extend(resource("service.name", "shop"));
    let raw = wrap(1, &resource_logs);
    let (fast, reference) = both(&raw);
    let fast = fast.expect("the fast reader takes it");
    assert_eq!(Some(&fast), reference.as_ref());
    // Bodies show as bytes: `[1,2,3]` and `second`.
    for part in [
        "[91, 49, 44, 50, 44, 51, 93]",
        "k8s.pod",
        "resource.service.name",
        "[115, 101, 99, 111, 110, 100]",
        "Stderr",
    ] {
        assert!(fast.contains(part), "{part} missing from {fast}");
    }
}

fn simple_value() -> impl Strategy<Value = Value> {
    prop_oneof![
        prop_oneof![
            Just("stdout"),
            Just("stderr"),
            Just(""),
            Just("web"),
            Just("é")
        ]
        .prop_map(|s| Value::StringValue(s.to_owned())),
        any::<bool>().prop_map(Value::BoolValue),
        any::<i64>().prop_map(Value::IntValue),
        any::<f64>().prop_map(Value::DoubleValue),
        prop::collection::vec(any::<u8>(), 0..4).prop_map(Value::BytesValue),
    ]
}

fn any_value() -> impl Strategy<Value = Option<AnyValue>> {
    let nested = prop_oneof![
        4 => simple_value(),
        1 => prop::collection::vec(simple_value(), 0..3).prop_map(|v| Value::ArrayValue(ArrayValue {
            values: v.into_iter().map(|x| AnyValue { value: Some(x) }).collect(),
        })),
        1 => prop::collection::vec(("[a-c]", simple_value()), 0..3).prop_map(|v| {
            Value::KvlistValue(KeyValueList {
                values: v
                    .into_iter()
                    .map(|(k, x)| KeyValue { key: k, value: Some(AnyValue { value: Some(x) }) })
                    .collect(),
            })
        }),
    ];
    prop::option::of(prop::option::of(nested).prop_map(|value| AnyValue { value }))
}

fn key_values() -> impl Strategy<Value = Vec<KeyValue>> {
    prop::collection::vec(
        (
            prop_oneof![
                Just("log.iostream"),
                Just("k8s.pod.name"),
                Just("k8s.deployment.name"),
                Just("k8s.pod.label.app"),
                Just("service.name"),
                Just("x"),
                Just(""),
            ],
            any_value(),
        )
            .prop_map(|(k, value)| KeyValue {
                key: k.to_owned(),
                value,
            }),
        0..4,
    )
}

fn record() -> impl Strategy<Value = OtlpRecord> {
    (
        prop_oneof![Just(0_u64), Just(5), any::<u64>()],
        prop_oneof![Just(0_u64), Just(7)],
        prop_oneof![Just(0_i32), Just(9), Just(-1), 0_i32..25, any::<i32>()],
        prop_oneof![Just(""), Just("INFO"), Just("error"), Just("custom")],
        any_value(),
        key_values(),
        prop_oneof![Just(0_u32), any::<u32>()],
        prop_oneof![
            Just(Vec::new()),
            prop::collection::vec(any::<u8>(), 16..=16),
            Just(vec![1, 2, 3])
        ],
        prop_oneof![Just(Vec::new()), prop::collection::vec(any::<u8>(), 8..=8)],
        prop_oneof![Just(""), Just("login")],
    )
        .prop_map(
            |(
                time,
                observed,
                severity_number,
                text,
                body,
                attributes,
                flags,
                trace_id,
                span_id,
                event,
            )| {
                OtlpRecord {
                    time_unix_nano: time,
                    observed_time_unix_nano: observed,
                    severity_number,
                    severity_text: text.to_owned(),
                    body,
                    attributes,
                    dropped_attributes_count: 0,
                    flags,
                    trace_id,
                    span_id,
                    event_name: event.to_owned(),
                }
            },
        )
}

fn request() -> impl Strategy<Value = ExportLogsServiceRequest> {
    let scope = prop::option::of(
        (
            prop_oneof![Just(""), Just("lib")],
            prop_oneof![Just(""), Just("1.0")],
            key_values(),
        )
            .prop_map(|(name, version, attributes)| InstrumentationScope {
                name: name.to_owned(),
                version: version.to_owned(),
                attributes,
                dropped_attributes_count: 0,
            }),
    );
    let scope_logs =
        (scope, prop::collection::vec(record(), 0..4)).prop_map(|(scope, log_records)| ScopeLogs {
            scope,
            log_records,
            schema_url: String::new(),
        });
    let resource = prop::option::of(key_values().prop_map(|attributes| Resource {
        attributes,
        dropped_attributes_count: 0,
    }));
    prop::collection::vec(
        (resource, prop::collection::vec(scope_logs, 0..3)).prop_map(|(resource, scope_logs)| {
            ResourceLogs {
                resource,
                scope_logs,
                schema_url: String::new(),
            }
        }),
        0..3,
    )
    .prop_map(|resource_logs| ExportLogsServiceRequest { resource_logs })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn arbitrary_requests_read_like_prost(req in request()) {
        let raw = req.encode_to_vec();
        let (fast, reference) = both(&raw);
        prop_assert!(reference.is_some());
        prop_assert_eq!(fast, reference);
    }

    #[test]
    fn corrupted_requests_get_the_same_verdict(
        req in request(),
        at in any::<prop::sample::Index>(),
        byte in any::<u8>(),
        how in 0_u8..3,
    ) {
        let mut raw = req.encode_to_vec();
        if raw.is_empty() {
            return Ok(());
        }
        let i = at.index(raw.len());
        match how {
            0 => raw[i] ^= byte | 1,
            1 => raw.truncate(i),
            _ => {
                // Repeat a tail of the message: its fields occur twice (merged).
                let tail = raw[i..].to_vec();
                raw.extend_from_slice(&tail);
            }
        }
        let (fast, reference) = both(&raw);
        prop_assert_eq!(fast, reference);
    }
}
