//! `inputs.syslog` tests: both parsers against golden files of the RFCs' examples and what
//! real senders write (`testdata/syslog/`), every malformed case kept raw with its reason,
//! timestamps, and RFC 6587 framing fed whole and byte by byte; config validation
//! (`config.rs`); the input over real sockets (`net.rs`).

mod config;
mod net;

use gleaner_api::{FieldValue, LogRecord};

use super::framing::{Decoder, Framing, Step};
use super::message::{Outcome, ParseError, to_record};
use super::time::{days_from_civil, parse_bsd, parse_rfc3339, year_of_day};

const RFC5424: &[u8] = include_bytes!("../../testdata/syslog/rfc5424.txt");
const RFC5424_GOLDEN: &str = include_str!("../../testdata/syslog/rfc5424.golden");
const RFC3164: &[u8] = include_bytes!("../../testdata/syslog/rfc3164.txt");
const RFC3164_GOLDEN: &str = include_str!("../../testdata/syslog/rfc3164.golden");
const MALFORMED: &str = include_str!("../../testdata/syslog/malformed.txt");

/// 2026-12-06T13:20:03Z, the receive time of the golden files.
const NOW: i64 = 1_796_563_203_000_000_000;

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
        let (rec, outcome) = to_record(line, NOW, None, false, None);
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
    let (r, o) = to_record(line, NOW, None, false, None);
    assert_eq!(o, Outcome::Parsed);
    assert_eq!(r.body, b"hello");
    assert_eq!(r.timestamp, 1_065_910_455_003_000_000);
    let s = |v: &str| Some(FieldValue::String(v.to_owned()));
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
        let (r, o) = to_record(msg.as_bytes(), NOW, None, false, None);
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
            Some(&FieldValue::String(reason.to_owned())),
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
        let (r, o) = to_record(raw, NOW, None, false, None);
        assert_eq!(o, Outcome::Malformed(reason), "{raw:?}");
        assert_eq!(r.body, super::message::trim_end(raw));
    }
}

#[test]
fn invalid_utf8_in_msg_is_kept_byte_for_byte() {
    let raw = b"<13>1 2026-12-06T13:20:03Z h a p m - bad \xff\xfe bytes\n";
    let (r, o) = to_record(raw, NOW, None, false, None);
    assert_eq!(o, Outcome::Parsed);
    assert_eq!(r.body, b"bad \xff\xfe bytes");
    let raw = b"<13>Dec  6 13:20:03 host app: \xc3\x28 in 3164";
    let (r, o) = to_record(raw, NOW, None, false, None);
    assert_eq!(o, Outcome::Parsed);
    assert_eq!(r.body, b"\xc3\x28 in 3164");
    // A hostname that is not text is left out, not a crash.
    let (r, _) = to_record(
        b"<13>Dec  6 13:20:03 h\xffst app: x",
        NOW,
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
    let (r, o) = to_record(b"<13>Dec  6 13:20:03 host app: cut", NOW, None, true, None);
    assert_eq!(o, Outcome::Parsed);
    assert_eq!(
        r.attribute("syslog.truncated"),
        Some(&FieldValue::Bool(true))
    );
    let (r, o) = to_record(
        b"<13>Dec  6 13:2",
        NOW,
        None,
        false,
        Some(ParseError::IncompleteFrame),
    );
    assert_eq!(o, Outcome::Malformed(ParseError::IncompleteFrame));
    assert_eq!(r.body, b"<13>Dec  6 13:2");
}

#[test]
fn rfc3339_timestamps() {
    let t = |s: &str| parse_rfc3339(s.as_bytes());
    assert_eq!(t("1970-01-01T00:00:00Z"), Some(0));
    assert_eq!(
        t("2003-10-11T22:14:15.003Z"),
        Some(1_065_910_455_003_000_000)
    );
    assert_eq!(
        t("2003-08-24T05:14:15.000003-07:00"),
        Some(1_061_727_255_000_003_000)
    );
    assert_eq!(
        t("2026-12-06T14:20:03.123456789+01:00"),
        Some(NOW + 123_456_789)
    );
    assert_eq!(
        t("2026-12-06T13:20:03.1234567891Z"),
        Some(NOW + 123_456_789)
    );
    assert_eq!(
        t("2024-02-29T00:00:00Z"),
        Some(days_from_civil(2024, 2, 29) * 86_400 * 1_000_000_000)
    );
    for bad in [
        "2023-02-29T00:00:00Z",
        "2026-12-06T13:20:03",
        "2026-12-06T13:20:03.Z",
        "2026-12-06 13:20:03Z",
        "2026-12-06T13:20:61Z",
        "2026-12-06T13:20:03+1:00",
        "2026-12-06T13:20:03+24:00",
        "2026-00-06T13:20:03Z",
    ] {
        assert_eq!(t(bad), None, "{bad}");
    }
}

#[test]
fn bsd_timestamps_take_the_latest_year_not_ahead_of_now() {
    let at = |y: i64, m: u32, d: u32, h: i64| {
        (days_from_civil(y, m, d) * 86_400 + h * 3600) * 1_000_000_000
    };
    assert_eq!(
        parse_bsd(b"Dec  6 13:00:00", NOW),
        Some(at(2026, 12, 6, 13))
    );
    assert_eq!(
        parse_bsd(b"Dec 06 13:00:00", NOW),
        Some(at(2026, 12, 6, 13))
    );
    // Read on New Year's Day: last December.
    let jan1 = at(2027, 1, 1, 0) + 60_000_000_000;
    assert_eq!(
        parse_bsd(b"Dec 31 23:59:00", jan1),
        Some(at(2026, 12, 31, 23) + 59 * 60_000_000_000)
    );
    // A clock slightly ahead on New Year's Eve: next January.
    assert_eq!(
        parse_bsd(b"Jan  1 00:00:10", at(2026, 12, 31, 23)),
        Some(at(2027, 1, 1, 0) + 10_000_000_000)
    );
    // Two months ahead is last year's.
    assert_eq!(parse_bsd(b"Feb  5 00:00:00", NOW), Some(at(2026, 2, 5, 0)));
    // Feb 29 exists only in a leap year nearby.
    assert_eq!(
        parse_bsd(b"Feb 29 00:00:00", at(2025, 1, 1, 0)),
        Some(at(2024, 2, 29, 0))
    );
    for bad in [
        "Foo  6 13:00:00",
        "Dec 32 13:00:00",
        "Dec  6 13:00",
        "Dec  6 24:00:00",
    ] {
        assert_eq!(parse_bsd(bad.as_bytes(), NOW), None, "{bad}");
    }
    assert_eq!(year_of_day(days_from_civil(2026, 12, 6)), 2026);
    assert_eq!(year_of_day(days_from_civil(2000, 2, 29)), 2000);
    assert_eq!(year_of_day(-1), 1969);
}

/// Frames of `input` fed in pieces of `chunk` bytes, as (text, truncated, error).
fn frames(
    framing: Framing,
    max: usize,
    input: &[u8],
    chunk: usize,
) -> Vec<(String, bool, Option<ParseError>)> {
    let mut d = Decoder::new(framing, max);
    let mut buf: Vec<u8> = Vec::new();
    let mut out = Vec::new();
    for piece in input.chunks(chunk.max(1)) {
        buf.extend_from_slice(piece);
        loop {
            match d.next(&buf) {
                Step::Frame {
                    start,
                    end,
                    consumed,
                    truncated,
                    error,
                } => {
                    out.push((
                        String::from_utf8_lossy(&buf[start..end]).into_owned(),
                        truncated,
                        error,
                    ));
                    buf.drain(..consumed);
                }
                Step::Skip(n) => {
                    buf.drain(..n);
                }
                Step::NeedMore => break,
            }
        }
        assert!(
            buf.len() <= d.buffer_needed(),
            "the decoder must not need more than it says"
        );
    }
    if let Some((s, e, err)) = d.finish(&buf) {
        out.push((String::from_utf8_lossy(&buf[s..e]).into_owned(), false, err));
    }
    out
}

#[test]
fn framing_octet_counting_newline_and_auto() {
    let counted = b"11 <13>1 - - a5 <13>b\n\n25 <13>with\nan embedded LF";
    let newline = b"<13>one\r\n\n<13>two\n<13>three";
    for chunk in [1, 2, 3, 7, 1000] {
        let f = frames(Framing::OctetCounting, 1024, counted, chunk);
        let texts: Vec<&str> = f.iter().map(|x| x.0.as_str()).collect();
        assert_eq!(
            texts,
            ["<13>1 - - a", "<13>b", "<13>with\nan embedded LF"],
            "chunk {chunk}"
        );
        let f = frames(Framing::Newline, 1024, newline, chunk);
        let texts: Vec<&str> = f.iter().map(|x| x.0.as_str()).collect();
        assert_eq!(
            texts,
            ["<13>one\r", "<13>two", "<13>three"],
            "chunk {chunk}"
        );
        // auto: both kinds in one stream, decided per message.
        let mixed = b"5 <13>a<13>line\n12 <13>counted\n<13>last\n";
        let f = frames(Framing::Auto, 1024, mixed, chunk);
        let texts: Vec<&str> = f.iter().map(|x| x.0.as_str()).collect();
        assert_eq!(
            texts,
            ["<13>a", "<13>line", "<13>counted\n", "<13>last"],
            "chunk {chunk}"
        );
        assert!(f.iter().all(|x| !x.1 && x.2.is_none()));
    }
}

#[test]
fn framing_cuts_over_long_messages_and_skips_their_rest() {
    let mut long_line = vec![b'x'; 5000];
    long_line.extend_from_slice(b"\n<13>after\n");
    let mut long_count = b"5000 ".to_vec();
    long_count.extend(std::iter::repeat_n(b'y', 5000));
    long_count.extend_from_slice(b"9 <13>after");
    for chunk in [1, 100, 4096, 100_000] {
        for (framing, input, cut) in [
            (Framing::Newline, &long_line, "x"),
            (Framing::Auto, &long_line, "x"),
            (Framing::Auto, &long_count, "y"),
            (Framing::OctetCounting, &long_count, "y"),
        ] {
            let f = frames(framing, 1000, input, chunk);
            assert_eq!(f.len(), 2, "{framing:?} chunk {chunk}: {f:?}");
            assert_eq!(f[0], (cut.repeat(1000), true, None));
            assert_eq!(f[1], ("<13>after".to_owned(), false, None));
        }
    }
}

#[test]
fn framing_errors_and_the_end_of_a_stream() {
    // A counted frame cut short by the end of the connection.
    let f = frames(Framing::Auto, 1024, b"5 <13>a20 <13>only part", 3);
    assert_eq!(
        f[1],
        (
            "<13>only part".to_owned(),
            false,
            Some(ParseError::IncompleteFrame)
        )
    );
    // Only a length arrived.
    let f = frames(Framing::OctetCounting, 1024, b"123", 1);
    assert_eq!(
        f,
        [("123".to_owned(), false, Some(ParseError::IncompleteFrame))]
    );
    // Strict octet counting: a frame without a length is flagged, up to its LF.
    let f = frames(Framing::OctetCounting, 1024, b"<13>no length\n5 <13>a", 4);
    assert_eq!(
        f[0],
        (
            "<13>no length".to_owned(),
            false,
            Some(ParseError::InvalidOctetCount)
        )
    );
    assert_eq!(f[1], ("<13>a".to_owned(), false, None));
    // Auto: digits without a space are a line.
    let f = frames(Framing::Auto, 1024, b"123abc\n", 1);
    assert_eq!(f, [("123abc".to_owned(), false, None)]);
    // An absurd length (11 digits) is not a length.
    let f = frames(Framing::Auto, 1024, b"99999999999 x\n", 1);
    assert_eq!(f, [("99999999999 x".to_owned(), false, None)]);
    // Nothing but blank lines: nothing.
    assert!(frames(Framing::Auto, 1024, b"\n\r\n\0", 1).is_empty());
}
