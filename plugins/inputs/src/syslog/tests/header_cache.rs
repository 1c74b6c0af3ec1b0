//! The shared header lists (`header_cache.rs`): reused while a header repeats, right when any
//! header field or the peer changes, bounded in count and key size.

use std::net::IpAddr;
use std::sync::Arc;

use gleaner_api::{FieldValue, LogRecord};

use super::super::header_cache::{CAPACITY, HeaderCache, MAX_KEY};
use super::super::message::{Outcome, to_record};
use super::NOW;

fn rec(cache: &mut HeaderCache, peer: Option<IpAddr>, line: &str) -> LogRecord {
    let (r, o) = to_record(line.as_bytes(), NOW, cache, peer, false, None);
    assert_eq!(o, Outcome::Parsed, "{line}");
    r
}

fn s(v: &str) -> FieldValue {
    FieldValue::String(v.into())
}

fn pairs(list: &[gleaner_api::event::Attribute]) -> Vec<(&str, String)> {
    list.iter()
        .map(|(k, v)| (k.as_str(), v.to_string()))
        .collect()
}

fn ip(text: &str) -> Option<IpAddr> {
    text.parse().ok()
}

#[test]
fn a_repeated_header_shares_one_list_and_keeps_its_own_part() {
    let mut cache = HeaderCache::default();
    let peer = ip("10.0.0.7");
    let a = rec(
        &mut cache,
        peer,
        "<134>1 2026-12-06T13:20:01Z node-1 api 1001 ACCESS [req@32473 status=\"200\"] one",
    );
    let b = rec(
        &mut cache,
        peer,
        "<134>1 2026-12-06T13:20:02Z node-1 api 1002 ACCESS [req@32473 status=\"404\"] two",
    );
    let (sa, sb) = (a.attributes.shared_arc(), b.attributes.shared_arc());
    assert!(Arc::ptr_eq(sa.expect("shared"), sb.expect("shared")));
    assert_eq!(
        pairs(a.attributes.shared_part()),
        [
            ("syslog.peer", "10.0.0.7".to_owned()),
            ("syslog.facility", "local0".to_owned()),
            ("syslog.severity", "info".to_owned()),
            ("syslog.version", "1".to_owned()),
            ("syslog.hostname", "node-1".to_owned()),
            ("syslog.app_name", "api".to_owned()),
            ("syslog.msg_id", "ACCESS".to_owned()),
        ]
    );
    // What varies per message is each record's own.
    assert_eq!(
        pairs(b.attributes.own_part()),
        [
            ("syslog.proc_id", "1002".to_owned()),
            ("syslog.sd.req@32473.status", "404".to_owned()),
        ]
    );
    assert_eq!(a.attribute("syslog.proc_id"), Some(&s("1001")));
    assert_eq!(cache.len(), 1);
    // The own part's names are made once per connection, not per message.
    let name = |r: &LogRecord, i: usize| r.attributes.own_part()[i].0.as_str().as_ptr();
    assert_eq!(name(&a, 1), name(&b, 1), "one structured-data name");
    assert_eq!(name(&a, 0), name(&b, 0), "a static proc_id name");
}

#[test]
fn every_header_field_and_the_peer_change_the_list() {
    let mut cache = HeaderCache::default();
    let base = "<134>1 2026-12-06T13:20:01Z node-1 api 7 ACCESS - m";
    let first = rec(&mut cache, ip("10.0.0.1"), base);
    let variants = [
        (
            ip("10.0.0.1"),
            "<142>1 2026-12-06T13:20:01Z node-1 api 7 ACCESS - m",
            "syslog.facility",
            s("local1"),
        ),
        (
            ip("10.0.0.1"),
            "<131>1 2026-12-06T13:20:01Z node-1 api 7 ACCESS - m",
            "syslog.severity",
            s("err"),
        ),
        (
            ip("10.0.0.1"),
            "<134>1 2026-12-06T13:20:01Z node-2 api 7 ACCESS - m",
            "syslog.hostname",
            s("node-2"),
        ),
        (
            ip("10.0.0.1"),
            "<134>1 2026-12-06T13:20:01Z node-1 apx 7 ACCESS - m",
            "syslog.app_name",
            s("apx"),
        ),
        (
            ip("10.0.0.1"),
            "<134>1 2026-12-06T13:20:01Z node-1 api 7 AUDIT - m",
            "syslog.msg_id",
            s("AUDIT"),
        ),
        (
            ip("10.0.0.1"),
            "<134>1 2026-12-06T13:20:01Z node-1 - 7 ACCESS - m",
            "syslog.hostname",
            s("node-1"),
        ),
        (ip("::1"), base, "syslog.peer", s("::1")),
        (ip("10.0.0.2"), base, "syslog.peer", s("10.0.0.2")),
        // Lengths are part of the key: "ab" + "c" is not "a" + "bc".
        (
            ip("10.0.0.1"),
            "<134>1 2026-12-06T13:20:01Z node-1a pi 7 ACCESS - m",
            "syslog.app_name",
            s("pi"),
        ),
    ];
    for (peer, line, key, want) in variants {
        let r = rec(&mut cache, peer, line);
        assert_eq!(r.attribute(key), Some(&want), "{line}");
        assert_ne!(r.attributes, first.attributes, "{line}");
    }
    // A nil APP-NAME leaves the attribute out.
    let nil = rec(
        &mut cache,
        ip("10.0.0.1"),
        "<134>1 2026-12-06T13:20:01Z node-1 - 7 ACCESS - m",
    );
    assert!(nil.attribute("syslog.app_name").is_none());
    // Back to the first header: its cached list, not a new one (not only the last one).
    let again = rec(&mut cache, ip("10.0.0.1"), base);
    assert!(Arc::ptr_eq(
        first.attributes.shared_arc().expect("shared"),
        again.attributes.shared_arc().expect("shared"),
    ));
    // RFC 3164 has no version: no attribute, and not the RFC 5424 list.
    let old = rec(
        &mut cache,
        ip("10.0.0.1"),
        "<134>Dec  6 13:20:03 node-1 api[7]: m",
    );
    assert!(old.attribute("syslog.version").is_none());
    assert_eq!(old.attribute("syslog.app_name"), Some(&s("api")));
}

#[test]
fn the_cache_is_bounded_and_stays_correct_past_its_capacity() {
    let mut cache = HeaderCache::default();
    let peer = ip("10.0.0.1");
    for round in 0..2 {
        for i in 0..CAPACITY + 50 {
            let line = format!("<134>1 2026-12-06T13:20:01Z host-{i} api 7 - - m{round}");
            let r = rec(&mut cache, peer, &line);
            assert_eq!(
                r.attribute("syslog.hostname"),
                Some(&s(&format!("host-{i}")))
            );
            assert!(cache.len() <= CAPACITY);
        }
    }
    assert_eq!(cache.len(), CAPACITY);
    // A header longer than MAX_KEY is built, correct, and not kept.
    let long = "h".repeat(MAX_KEY);
    let mut small = HeaderCache::default();
    let r = rec(
        &mut small,
        peer,
        &format!("<134>1 2026-12-06T13:20:01Z {long} api 7 - - m"),
    );
    assert_eq!(r.attribute("syslog.hostname"), Some(&s(&long)));
    assert_eq!(small.len(), 0);
    // ... and a repeat of it still comes out right (the previous list is reused).
    let r2 = rec(
        &mut small,
        peer,
        &format!("<134>1 2026-12-06T13:20:01Z {long} api 8 - - m"),
    );
    assert_eq!(r2.attribute("syslog.hostname"), Some(&s(&long)));
    assert_eq!(r2.attribute("syslog.proc_id"), Some(&s("8")));
}

#[test]
fn a_malformed_message_carries_the_peer_alone() {
    let mut cache = HeaderCache::default();
    let peer = ip("192.0.2.9");
    let good = rec(
        &mut cache,
        peer,
        "<134>1 2026-12-06T13:20:01Z node-1 api 7 - - m",
    );
    let (bad, o) = to_record(b"no pri here", NOW, &mut cache, peer, false, None);
    assert!(matches!(o, Outcome::Malformed(_)));
    assert_eq!(
        pairs(bad.attributes.shared_part()),
        [("syslog.peer", "192.0.2.9".to_owned())]
    );
    assert_eq!(bad.attribute("syslog.parse_error"), Some(&s("invalid_pri")));
    // The next good message gets its header list back.
    let again = rec(
        &mut cache,
        peer,
        "<134>1 2026-12-06T13:20:01Z node-1 api 7 - - m",
    );
    assert_eq!(again.attributes, good.attributes);
    // Without a peer (a unix socket) there is no shared list at all.
    let (bad, _) = to_record(b"no pri here", NOW, &mut cache, None, false, None);
    assert!(bad.attributes.shared_arc().is_none());
    assert_eq!(bad.attributes.len(), 1);
}

#[test]
fn structured_data_names_stay_right_when_a_sender_changes_its_shape() {
    let mut cache = HeaderCache::default();
    let own = |cache: &mut HeaderCache, sd: &str| {
        let line = format!("<134>1 2026-12-06T13:20:01Z node-1 api - ACCESS {sd} m");
        pairs(rec(cache, None, &line).attributes.own_part())
            .into_iter()
            .map(|(k, v)| format!("{k}={v}"))
            .collect::<Vec<_>>()
    };
    let many: String = (0..20).map(|i| format!(" p{i}=\"{i}\"")).collect();
    let many = format!("[many@1{many}]");
    // Each shape after each other one: names by position are taken over, never reused
    // wrongly.
    let shapes: [(&str, Vec<String>); 5] = [
        (
            "[req@1 a=\"1\" b=\"2\"]",
            vec!["syslog.sd.req@1.a=1".into(), "syslog.sd.req@1.b=2".into()],
        ),
        (
            "[req@1 b=\"2\" a=\"1\"]",
            vec!["syslog.sd.req@1.b=2".into(), "syslog.sd.req@1.a=1".into()],
        ),
        (
            "[req@2 a=\"x\\\"y\"][flag@1]",
            vec![
                "syslog.sd.req@2.a=x\"y".into(),
                "syslog.sd.flag@1=true".into(),
            ],
        ),
        (
            "[flag@1][req@1 a=\"1\"]",
            vec!["syslog.sd.flag@1=true".into(), "syslog.sd.req@1.a=1".into()],
        ),
        (
            &many,
            (0..20)
                .map(|i| format!("syslog.sd.many@1.p{i}={i}"))
                .collect(),
        ),
    ];
    for (a, want_a) in &shapes {
        for (b, want_b) in &shapes {
            assert_eq!(&own(&mut cache, a), want_a, "{a}");
            assert_eq!(&own(&mut cache, b), want_b, "{b} after {a}");
        }
    }
}
