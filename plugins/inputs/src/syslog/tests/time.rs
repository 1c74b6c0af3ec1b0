//! Timestamps: RFC 3339 as RFC 5424 profiles it, and RFC 3164's year-less one.

use super::super::time::{days_from_civil, parse_bsd, parse_rfc3339, year_of_day};
use super::NOW;

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
