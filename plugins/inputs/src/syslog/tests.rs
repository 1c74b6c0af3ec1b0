//! `inputs.syslog` tests: both parsers against golden files of the RFCs' examples and what
//! real senders write (`testdata/syslog/`), every malformed case kept raw with its reason,
//! timestamps, and RFC 6587 framing fed whole and byte by byte; config validation
//! (`config.rs`); timestamps (`time.rs`); framing (`framing.rs`); the shared header lists
//! (`header_cache.rs`); the input over real sockets (`net.rs`).

mod config;
mod framing;
mod header_cache;
mod net;
mod time;

use gleaner_api::{FieldValue, LogRecord};

use super::header_cache::HeaderCache;
use super::message::{Outcome, ParseError, to_record};

const RFC5424: &[u8] = include_bytes!("../../testdata/syslog/rfc5424.txt");
const RFC5424_GOLDEN: &str = include_str!("../../testdata/syslog/rfc5424.golden");
const RFC3164: &[u8] = include_bytes!("../../testdata/syslog/rfc3164.txt");
const RFC3164_GOLDEN: &str = include_str!("../../testdata/syslog/rfc3164.golden");
const MALFORMED: &str = include_str!("../../testdata/syslog/malformed.txt");

/// 2026-12-06T13:20:03Z, the receive time of the golden files.
pub(super) const NOW: i64 = 1_796_563_203_000_000_000;

/// A record as one readable block: time, body, then attributes.
pub(super) fn render(r: &LogRecord) -> String {
    let mut out = format!("time={} body={:?}\n", r.timestamp, r.body_lossy());
    for (k, v) in &r.attributes {
        let v = match v {
            FieldValue::String(s) => format!("{s:?}"),
            other => other.to_string(),
        };
        out.push_str(&format!("  {k}={v}\n"));
    }
    out
}

/// Renders every message line of a fixture.
fn golden(fixture: &[u8]) -> String {
    let mut out = String::new();
    for line in fixture.split(|&b| b == b'\n') {
        if line.is_empty() || line.starts_with(b"#") {
            continue;
        }
        let (rec, outcome) = to_record(line, NOW, &mut HeaderCache::default(), None, false, None);
        assert_eq!(
            outcome,
            Outcome::Parsed,
            "{}",
            String::from_utf8_lossy(line)
        );
        out.push_str(&format!("> {}\n", String::from_utf8_lossy(line)));
        out.push_str(&render(&rec));
    }
    out
}

/// Compares with a golden file; `SYSLOG_BLESS=1` rewrites it.
fn check_golden(got: &str, want: &str, file: &str) {
    if std::env::var_os("SYSLOG_BLESS").is_some() {
        let path = format!("{}/testdata/syslog/{file}", env!("CARGO_MANIFEST_DIR"));
        std::fs::write(path, got).expect("bless golden file");
        return;
    }
    if got != want {
        for (i, (g, w)) in got.lines().zip(want.lines()).enumerate() {
            assert_eq!(g, w, "{file}: first difference at line {}", i + 1);
        }
        assert_eq!(
            got.lines().count(),
            want.lines().count(),
            "{file}: length differs"
        );
    }
}

#[test]
fn rfc5424_examples_match_the_golden_file() {
    check_golden(&golden(RFC5424), RFC5424_GOLDEN, "rfc5424.golden");
}

#[test]
fn rfc3164_examples_match_the_golden_file() {
    check_golden(&golden(RFC3164), RFC3164_GOLDEN, "rfc3164.golden");
}

#[test]
fn rfc5424_fields_become_attributes() {
    let line = br#"<165>1 2003-10-11T22:14:15.003Z mymachine.example.com evntslog 77 ID47 [exampleSDID@32473 iut="3" eventSource="Application"][examplePriority@32473 class="high"] hello"#;
    let (r, o) = to_record(line, NOW, &mut HeaderCache::default(), None, false, None);
    assert_eq!(o, Outcome::Parsed);
    assert_eq!(r.body, b"hello");
    assert_eq!(r.timestamp, 1_065_910_455_003_000_000);
    let s = |v: &str| Some(FieldValue::String(v.into()));
    assert_eq!(r.attribute("syslog.facility").cloned(), s("local4"));
    assert_eq!(r.attribute("syslog.severity").cloned(), s("notice"));
    assert_eq!(r.attribute("syslog.version"), Some(&FieldValue::Int(1)));
    assert_eq!(
        r.attribute("syslog.hostname").cloned(),
        s("mymachine.example.com")
    );
    assert_eq!(r.attribute("syslog.app_name").cloned(), s("evntslog"));
    assert_eq!(r.attribute("syslog.proc_id").cloned(), s("77"));
    assert_eq!(r.attribute("syslog.msg_id").cloned(), s("ID47"));
    assert_eq!(
        r.attribute("syslog.sd.exampleSDID@32473.iut").cloned(),
        s("3")
    );
    assert_eq!(
        r.attribute("syslog.sd.exampleSDID@32473.eventSource")
            .cloned(),
        s("Application")
    );
    assert_eq!(
        r.attribute("syslog.sd.examplePriority@32473.class")
            .cloned(),
        s("high")
    );
    assert!(r.attribute("syslog.parse_error").is_none());
}

#[test]
fn every_malformed_case_is_kept_raw_with_its_reason() {
    let mut n = 0;
    for line in MALFORMED.lines().filter(|l| !l.starts_with('#')) {
        let (reason, msg) = line.split_once('\t').expect("reason<TAB>message");
        let (r, o) = to_record(
            msg.as_bytes(),
            NOW,
            &mut HeaderCache::default(),
            None,
            false,
            None,
        );
        assert!(
            matches!(o, Outcome::Malformed(e) if e.as_str() == reason),
            "{line}: {o:?}"
        );
        assert_eq!(
            r.body,
            msg.as_bytes(),
            "{line}: body must be the raw message"
        );
        assert_eq!(r.timestamp, NOW, "{line}");
        assert_eq!(
            r.attribute("syslog.parse_error"),
            Some(&FieldValue::String(reason.into())),
            "{line}"
        );
        n += 1;
    }
    assert_eq!(n, 24);
    // Byte-level cases a text fixture cannot hold.
    for (raw, reason) in [
        (&b""[..], ParseError::Empty),
        (&b"\n\r\0"[..], ParseError::Empty),
        (
            &b"<34>1 2026-12-06T13:20:03Z h a p m [id k=\"\xff\"] msg"[..],
            ParseError::InvalidStructuredData,
        ),
        (
            &b"<34>1 2026-12-06T13:20:03Z h\xff a p m - msg"[..],
            ParseError::InvalidHeader,
        ),
    ] {
        let (r, o) = to_record(raw, NOW, &mut HeaderCache::default(), None, false, None);
        assert_eq!(o, Outcome::Malformed(reason), "{raw:?}");
        assert_eq!(r.body, super::message::trim_end(raw));
    }
}

#[test]
fn invalid_utf8_in_msg_is_kept_byte_for_byte() {
    let raw = b"<13>1 2026-12-06T13:20:03Z h a p m - bad \xff\xfe bytes\n";
    let (r, o) = to_record(raw, NOW, &mut HeaderCache::default(), None, false, None);
    assert_eq!(o, Outcome::Parsed);
    assert_eq!(r.body, b"bad \xff\xfe bytes");
    let raw = b"<13>Dec  6 13:20:03 host app: \xc3\x28 in 3164";
    let (r, o) = to_record(raw, NOW, &mut HeaderCache::default(), None, false, None);
    assert_eq!(o, Outcome::Parsed);
    assert_eq!(r.body, b"\xc3\x28 in 3164");
    // A hostname that is not text is left out, not a crash.
    let (r, _) = to_record(
        b"<13>Dec  6 13:20:03 h\xffst app: x",
        NOW,
        &mut HeaderCache::default(),
        None,
        false,
        None,
    );
    assert!(r.attribute("syslog.hostname").is_none());
    assert_eq!(
        r.attribute("syslog.app_name"),
        Some(&FieldValue::String("app".into()))
    );
}

#[test]
fn truncated_and_forced_errors_are_flagged() {
    let (r, o) = to_record(
        b"<13>Dec  6 13:20:03 host app: cut",
        NOW,
        &mut HeaderCache::default(),
        None,
        true,
        None,
    );
    assert_eq!(o, Outcome::Parsed);
    assert_eq!(
        r.attribute("syslog.truncated"),
        Some(&FieldValue::Bool(true))
    );
    let (r, o) = to_record(
        b"<13>Dec  6 13:2",
        NOW,
        &mut HeaderCache::default(),
        None,
        false,
        Some(ParseError::IncompleteFrame),
    );
    assert_eq!(o, Outcome::Malformed(ParseError::IncompleteFrame));
    assert_eq!(r.body, b"<13>Dec  6 13:2");
}
