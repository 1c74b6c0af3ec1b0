//! Time formats: RFC 3339, epochs, strftime-like patterns, and a missing year or date.

use gleaner_api::FieldValue;

use super::*;

fn s(v: &str) -> FieldValue {
    FieldValue::String(v.into())
}

fn read(fmt: &str, v: &FieldValue, reference: i64) -> Option<i64> {
    TimeFormat::parse(fmt).expect("format").read(v, reference)
}

const T0: i64 = 1_779_336_000_000_000_000; // 2026-05-21T04:00:00Z

#[test]
fn rfc3339_and_epochs() {
    assert_eq!(read("rfc3339", &s("2026-05-21T04:00:00Z"), 0), Some(T0));
    assert_eq!(
        read("rfc3339", &s("2026-05-21 06:00:00.5+02:00"), 0),
        Some(T0 + 500_000_000)
    );
    assert_eq!(read("rfc3339", &s("2026-05-21T04:00:00"), 0), None);
    assert_eq!(read("rfc3339", &s("2026-13-21T04:00:00Z"), 0), None);
    assert_eq!(read("rfc3339", &FieldValue::Int(1), 0), None);
    assert_eq!(read("unix", &FieldValue::Int(1_779_336_000), 0), Some(T0));
    assert_eq!(
        read("unix", &FieldValue::Float(1.5), 0),
        Some(1_500_000_000)
    );
    assert_eq!(read("unix", &s("1.25"), 0), Some(1_250_000_000));
    assert_eq!(read("unix_ms", &s("1779336000000"), 0), Some(T0));
    assert_eq!(read("unix_us", &FieldValue::UInt(2), 0), Some(2_000));
    assert_eq!(read("unix_ns", &FieldValue::Int(7), 0), Some(7));
    assert_eq!(read("unix_ns", &s("soon"), 0), None);
    assert_eq!(read("unix", &FieldValue::Int(i64::MAX), 0), None);
}

#[test]
fn patterns() {
    let f = "%d/%b/%Y:%H:%M:%S %z";
    assert_eq!(read(f, &s("21/May/2026:06:00:00 +0200"), 0), Some(T0));
    assert_eq!(
        read("%Y-%m-%d %H:%M:%S.%f", &s("2026-05-21 04:00:00.123456"), 0),
        Some(T0 + 123_456_000)
    );
    assert_eq!(
        read(
            "%a, %d %B %Y %I:%M %p %Z",
            &s("Thu, 21 may 2026 04:00 AM UTC"),
            0
        ),
        Some(T0)
    );
    assert_eq!(read("%s", &FieldValue::Int(1_779_336_000), 0), Some(T0));
    assert_eq!(read("%F %T", &s("2026-02-30 00:00:00"), 0), None);
    assert_eq!(read("%F %T", &s("2026-05-21 04:00:00 trailing"), 0), None);
}

#[test]
fn a_missing_year_or_date_comes_from_the_record() {
    let syslog = "%b %e %H:%M:%S";
    assert_eq!(read(syslog, &s("May 21 04:00:00"), T0 + 5), Some(T0));
    assert_eq!(
        read(syslog, &s("May  1 04:00:00"), T0).map(|t| t < T0),
        Some(true)
    );
    // Read on January 1st, a line of December 31st is last year's.
    let jan1 = days_from_civil(2027, 1, 1) * 86_400 * NS;
    let dec31 = read(syslog, &s("Dec 31 23:59:59"), jan1).expect("reads");
    assert_eq!(dec31, jan1 - NS);
    assert_eq!(read("%H:%M:%S", &s("04:00:00"), T0 + 3 * NS), Some(T0));
}

#[test]
fn bad_patterns_name_the_position() {
    assert_eq!(TimeFormat::parse("%Y-%q").expect_err("bad").1, 4);
    assert!(TimeFormat::parse("%Y%").is_err());
    assert!(TimeFormat::parse("iso8601").is_err());
}

#[test]
fn rfc3339_dates_read_directly_as_the_pattern_reads_them() {
    // The direct date reading against the pattern walker it stands in for, on valid and
    // invalid dates (month 0 and 13, day 0 and past the month's end, leap years).
    let items = [
        Item::Year4,
        Item::Lit('-'),
        Item::Month,
        Item::Lit('-'),
        Item::Day,
    ];
    for year in [1969, 1970, 1999, 2000, 2023, 2024, 2100, 9999] {
        for month in 0..=13 {
            for day in 0..=32 {
                let date = format!("{year:04}-{month:02}-{day:02}");
                let want = pattern(&items, &date, 0).map(|d| d + 3_723 * NS + 5);
                let text = format!("{date}T01:02:03.000000005Z");
                assert_eq!(rfc3339(text.as_bytes()), want, "{text}");
            }
        }
    }
    // Not all digits: the walker decides (a one-digit month is not RFC 3339's shape).
    assert_eq!(rfc3339(b"2026-1a-01T00:00:00Z"), None);
    assert_eq!(rfc3339(b"+026-01-01T00:00:00Z"), None);
}

/// RFC 3339 read with the last second remembered gives what a read in full gives, for texts
/// of the same second, of another, and broken ones after a good one.
#[test]
fn rfc3339_with_the_last_second_remembered_reads_as_in_full() {
    let texts = [
        "2026-11-21T04:00:00.123Z",
        "2026-11-21T04:00:00.9Z",
        "2026-11-21T04:00:00Z",
        "2026-11-21T04:00:00+02:00",
        "2026-11-21T04:00:00.5-0130",
        "2026-11-21T04:00:00.Z",
        "2026-11-21T04:00:00",
        "2026-11-21T04:00:00.123Zx",
        "2026-11-21T04:00:01.000000001Z",
        "2026-11-21 04:00:01Z",
        "2026-11-21t04:00:01z",
        "2026-02-30T04:00:01Z",
        "2026-11-21T24:00:01Z",
        "  2026-11-21T04:00:01.25Z ",
        "+2026-11-21T04:00:01Z",
        "2262-04-11T23:47:16.854775807Z",
        "2262-04-11T23:47:16.854775808Z",
        "2262-04-11T23:47:16.854775807-01:00",
        "1677-09-21T00:12:43.145224192Z",
        "1677-09-21T00:12:43.145224191Z",
    ];
    let format = TimeFormat::Rfc3339;
    let mut cache = SecondCache::default();
    for round in 0..2 {
        for t in texts {
            let v = s(t);
            assert_eq!(
                format.read_cached(&v, 0, &mut cache),
                format.read(&v, 0),
                "{t} (round {round})"
            );
        }
    }
}
