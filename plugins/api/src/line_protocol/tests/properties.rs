//! Property tests: encode then parse is the identity on what the encoder keeps (names and
//! values with every escape, the limits of `encode.rs` aside), and parsing arbitrary bytes
//! never panics and keeps its invariants.

use proptest::prelude::*;

use crate::event::{FieldValue, Metric};
use crate::line_protocol::{Precision, encode_metric, parse_lines};

/// Characters that exercise every escape, mixed with arbitrary ones.
fn text() -> impl Strategy<Value = String> {
    let special = prop::sample::select(vec![
        ' ', ',', '=', '\\', '"', '#', '\t', '\n', '\r', '\x0c', '\0', 'i', 'u', 't', '1', '.',
        'é', '€',
    ]);
    prop::collection::vec(prop_oneof![3 => any::<char>(), 2 => special], 0..8)
        .prop_map(|v| v.into_iter().collect())
}

/// Where a name goes: what must not follow a backslash in it and what it must not start with
/// (the limits listed in `encode.rs`).
struct Element {
    not_after_backslash: &'static [char],
    not_first: &'static [char],
}

const MEASUREMENT: Element = Element {
    not_after_backslash: &['=', '"', ' '],
    not_first: &['#', '\0'],
};
const TAG: Element = Element {
    not_after_backslash: &[' '],
    not_first: &[],
};
const FIELD_KEY: Element = Element {
    not_after_backslash: &[',', ' ', '=', '"'],
    not_first: &['\0'],
};

/// True when the encoder writes `s` so that the parser reads back exactly `s` (the limits
/// listed in `encode.rs`).
fn lossless(s: &str, e: &Element) -> bool {
    let chars: Vec<char> = s.chars().collect();
    !s.is_empty()
        && s != "time"
        && !s.contains(['\t', '\n', '\x0c', '\r'])
        && !s.ends_with('\\')
        && !s.starts_with(e.not_first)
        && !chars
            .windows(2)
            .any(|w| w[0] == '\\' && e.not_after_backslash.contains(&w[1]))
}

/// Makes `s` lossless (see [`lossless`]) by removing what line protocol cannot carry; cheaper
/// than filtering, which rejects most generated strings.
fn repair(s: String, e: &Element) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        if matches!(c, '\t' | '\n' | '\x0c' | '\r') {
            continue;
        }
        if e.not_after_backslash.contains(&c) {
            while out.ends_with('\\') {
                out.pop();
            }
        }
        out.push(c);
    }
    while out.ends_with('\\') {
        out.pop();
    }
    if out.is_empty() || out.starts_with(e.not_first) || out == "time" {
        out.insert(0, '_');
    }
    assert!(lossless(&out, e), "{out:?}");
    out
}

fn measurement() -> impl Strategy<Value = String> {
    text().prop_map(|s| repair(s, &MEASUREMENT))
}

fn tag() -> impl Strategy<Value = String> {
    text().prop_map(|s| repair(s, &TAG))
}

fn field_key() -> impl Strategy<Value = String> {
    text().prop_map(|s| repair(s, &FIELD_KEY))
}

fn value() -> impl Strategy<Value = FieldValue> {
    prop_oneof![
        any::<f64>()
            .prop_filter("finite", |f| f.is_finite())
            .prop_map(FieldValue::Float),
        prop_oneof![Just(0.0), Just(-0.0), Just(42.0), Just(1e300), Just(5e-324)]
            .prop_map(FieldValue::Float),
        any::<i64>().prop_map(FieldValue::Int),
        any::<u64>().prop_map(FieldValue::UInt),
        any::<bool>().prop_map(FieldValue::Bool),
        text().prop_map(FieldValue::string),
        any::<String>().prop_map(FieldValue::string),
    ]
}

fn metric() -> impl Strategy<Value = Metric> {
    (
        measurement(),
        prop::collection::vec((tag(), tag()), 0..4),
        prop::collection::vec((field_key(), value()), 1..5),
        any::<i64>(),
    )
        .prop_map(|(name, tags, fields, ts)| {
            let mut m = Metric::new(name, ts);
            for (k, v) in tags {
                m.insert_tag(k, v);
            }
            for (k, v) in fields {
                if m.field(&k).is_none() {
                    m.fields.push((k, v));
                }
            }
            m
        })
}

proptest! {
    #[test]
    fn encode_then_parse_is_identity(ms in prop::collection::vec(metric(), 1..4)) {
        let mut buf = Vec::new();
        for m in &ms {
            prop_assert!(encode_metric(m, &mut buf).written);
        }
        let p = parse_lines(&buf, Precision::Nanoseconds, 0);
        prop_assert!(p.errors.is_empty(), "{:?} from {:?}", p.errors, String::from_utf8_lossy(&buf));
        prop_assert_eq!(&p.metrics, &ms, "{:?}", String::from_utf8_lossy(&buf));
        for (got, want) in p.metrics.iter().zip(&ms) {
            for ((_, a), (_, b)) in got.fields.iter().zip(&want.fields) {
                if let (FieldValue::Float(a), FieldValue::Float(b)) = (a, b) {
                    prop_assert_eq!(a.to_bits(), b.to_bits());
                }
            }
        }
    }

    #[test]
    fn parse_never_panics_on_bytes(body in prop::collection::vec(any::<u8>(), 0..512)) {
        check_invariants(&body);
    }

    #[test]
    fn parse_never_panics_on_near_valid(
        body in prop::collection::vec(
            prop::sample::select(b"m,= \"\\\n\r\t#1iu.eE-+tfx\xc3\xa9\xff".to_vec()), 0..256)
    ) {
        check_invariants(&body);
    }
}

fn check_invariants(body: &[u8]) {
    let p = parse_lines(body, Precision::Seconds, 0);
    let lines = body.iter().filter(|&&b| b == b'\n').count() + 1;
    let mut last = 0;
    for e in &p.errors {
        assert!(e.line > last && e.line <= lines, "{e:?}");
        assert!(e.message.starts_with("unable to parse '"));
        last = e.line;
    }
    for m in &p.metrics {
        assert!(!m.measurement.is_empty() && !m.fields.is_empty());
        assert!(m.tags.keys().is_sorted_by(|a, b| a < b));
    }
}
