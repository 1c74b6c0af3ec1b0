//! The builder's shared lists: reused while the values repeat, right whenever one changes,
//! bounded, and never standing in for values that are not UTF-8.

use std::sync::Arc;

use gleaner_api::{FieldValue, LogRecord};

use super::super::config::Binary;
use super::super::export::{Next, Parser};
use super::super::matches::Matches;
use super::{Builder, Built, CACHE};

/// One entry in export format; `None` leaves a field out.
fn entry(unit: Option<&str>, pid: &[u8], priority: &str, message: &str) -> Vec<u8> {
    let mut out = b"__CURSOR=s=1;i=1\n__REALTIME_TIMESTAMP=1765000000000001\n".to_vec();
    if let Some(u) = unit {
        out.extend_from_slice(format!("_SYSTEMD_UNIT={u}\n").as_bytes());
    }
    out.extend_from_slice(b"SYSLOG_IDENTIFIER=app\n_HOSTNAME=node-1\n_TRANSPORT=stdout\n");
    // _PID as a binary field: its bytes are whatever the test says.
    out.extend_from_slice(b"_PID\n");
    out.extend_from_slice(&(pid.len() as u64).to_le_bytes());
    out.extend_from_slice(pid);
    out.push(b'\n');
    out.extend_from_slice(format!("PRIORITY={priority}\nMESSAGE={message}\n\n").as_bytes());
    out
}

fn build(b: &mut Builder, stream: &[u8]) -> LogRecord {
    let mut p = Parser::new(1 << 20);
    p.feed(stream);
    match p.next() {
        Next::Entry(e) => match b.build(&e, 42) {
            Built::Record(r) => r,
            Built::Excluded => panic!("excluded"),
        },
        other => panic!("{other:?}"),
    }
}

fn s(v: &str) -> FieldValue {
    FieldValue::String(v.into())
}

fn builder() -> Builder {
    Builder::new(Binary::Base64, vec![], Matches::default())
}

#[test]
fn repeated_values_share_a_list_and_any_change_makes_the_right_one() {
    let mut b = builder();
    let first = build(&mut b, &entry(Some("a.service"), b"1", "6", "one"));
    let second = build(&mut b, &entry(Some("a.service"), b"1", "6", "two"));
    assert!(Arc::ptr_eq(
        first.attributes.shared_arc().expect("shared"),
        second.attributes.shared_arc().expect("shared"),
    ));
    assert_eq!(second.body, b"two");
    assert_eq!(second.timestamp, 1_765_000_000_000_001_000);
    let cases: [(Vec<u8>, &str, Option<FieldValue>); 5] = [
        (
            entry(Some("b.service"), b"1", "6", "m"),
            "_SYSTEMD_UNIT",
            Some(s("b.service")),
        ),
        (
            entry(Some("a.service"), b"12", "6", "m"),
            "_PID",
            Some(s("12")),
        ),
        (
            entry(Some("a.service"), b"1", "3", "m"),
            "severity",
            Some(s("err")),
        ),
        (entry(Some("a.service"), b"1", "x", "m"), "severity", None),
        (entry(None, b"1", "6", "m"), "_SYSTEMD_UNIT", None),
    ];
    for (stream, key, want) in cases {
        let r = build(&mut b, &stream);
        assert_eq!(r.attribute(key), want.as_ref(), "{key}");
        assert_ne!(r.attributes, first.attributes, "{key}");
        assert_eq!(r.attribute("_HOSTNAME"), Some(&s("node-1")));
    }
    // Back to the first values: the cached list (not the last one used).
    let again = build(&mut b, &entry(Some("a.service"), b"1", "6", "m"));
    assert!(Arc::ptr_eq(
        first.attributes.shared_arc().expect("shared"),
        again.attributes.shared_arc().expect("shared"),
    ));
    assert_eq!(b.cached_lists(), 6);
}

#[test]
fn the_cache_is_bounded_and_stays_right_past_it() {
    let mut b = builder();
    for _round in 0..2 {
        for pid in 0..CACHE + 10 {
            let pid = pid.to_string();
            let r = build(&mut b, &entry(Some("a.service"), pid.as_bytes(), "6", "m"));
            assert_eq!(r.attribute("_PID"), Some(&s(&pid)));
            assert!(b.cached_lists() <= CACHE);
        }
    }
    assert_eq!(b.cached_lists(), CACHE);
}

#[test]
fn values_that_are_not_utf8_are_never_served_from_the_cache() {
    let mut b = builder();
    for _ in 0..2 {
        let r = build(&mut b, &entry(Some("a.service"), b"\xff1", "6", "m"));
        assert!(r.attributes.shared_arc().is_none());
        assert_eq!(r.attribute("_PID"), Some(&s("/zE=")));
        assert_eq!(r.attribute("journald.base64"), Some(&s("_PID")));
        assert_eq!(r.attribute("severity"), Some(&s("info")));
    }
    assert_eq!(b.cached_lists(), 0);
    // Next to it, the same entry with a text pid is shared and unflagged.
    let r = build(&mut b, &entry(Some("a.service"), b"1", "6", "m"));
    assert!(r.attributes.shared_arc().is_some());
    assert_eq!(r.attribute("journald.base64"), None);
    let r = build(&mut b, &entry(Some("a.service"), b"\xff1", "6", "m"));
    assert_eq!(r.attribute("journald.base64"), Some(&s("_PID")));
}

#[test]
fn the_time_is_read_as_digits_only() {
    assert_eq!(
        super::parse_micros(b"1765000000000001"),
        Some(1_765_000_000_000_001)
    );
    assert_eq!(super::parse_micros(b""), None);
    assert_eq!(super::parse_micros(b"12x"), None);
    assert_eq!(super::parse_micros(b"-5"), None);
    assert_eq!(
        super::parse_micros(&[b'9'; 19]),
        None,
        "over i64 microseconds"
    );
}
