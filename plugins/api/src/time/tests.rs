//! The calendar arithmetic both ways over four centuries, and parse ∘ write = identity.

use super::{civil_from_days, days_from_civil, parse_rfc3339, write_rfc3339};

#[test]
fn days_and_dates_round_trip() {
    assert_eq!(days_from_civil(1970, 1, 1), 0);
    assert_eq!(days_from_civil(1969, 12, 31), -1);
    assert_eq!(days_from_civil(2000, 3, 1), 11_017);
    for z in (-146_097..2 * 146_097).step_by(7) {
        let (y, m, d) = civil_from_days(z);
        assert_eq!(days_from_civil(y, m, d), z, "{y}-{m}-{d}");
    }
}

#[test]
fn written_timestamps_parse_back() {
    for ns in [
        0,
        -1,
        1_795_233_610_123_456_789,
        951_782_400_000_000_001, // 2000-02-29
        i64::MAX / 2,
        -9_000_000_000_000_000_000,
    ] {
        let mut buf = Vec::new();
        write_rfc3339(ns, &mut buf);
        assert_eq!(
            parse_rfc3339(&buf),
            Some(ns),
            "{}",
            String::from_utf8_lossy(&buf)
        );
    }
    let mut buf = Vec::new();
    write_rfc3339(1_795_233_610_123_456_789, &mut buf);
    assert_eq!(buf, b"2026-11-21T04:00:10.123456789Z");
}
