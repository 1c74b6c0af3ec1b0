//! RFC 3339 timestamps of the Summary API (Go's `metav1.Time`, e.g.
//! `2026-11-21T04:00:10Z` or `2026-11-21T04:00:10.123456789+02:00`) to nanoseconds since the
//! Unix epoch. Hand-written: the one format we read does not justify a date crate.

/// Nanoseconds since the epoch of an RFC 3339 date-time; `None` when it is not one.
pub(crate) fn rfc3339_ns(s: &str) -> Option<i64> {
    let b = s.as_bytes();
    if b.len() < 20 || b[4] != b'-' || b[7] != b'-' || !matches!(b[10], b'T' | b't' | b' ') {
        return None;
    }
    if b[13] != b':' || b[16] != b':' {
        return None;
    }
    let year = digits(&b[0..4])?;
    let month = digits(&b[5..7])?;
    let day = digits(&b[8..10])?;
    let (h, m, sec) = (
        digits(&b[11..13])?,
        digits(&b[14..16])?,
        digits(&b[17..19])?,
    );
    if !(1..=12).contains(&month) || !(1..=31).contains(&day) || h > 23 || m > 59 || sec > 60 {
        return None;
    }
    let mut rest = &b[19..];
    let mut nanos = 0i64;
    if rest.first() == Some(&b'.') {
        let n = rest[1..].iter().take_while(|c| c.is_ascii_digit()).count();
        if n == 0 {
            return None;
        }
        for (i, c) in rest[1..=n].iter().enumerate() {
            if i < 9 {
                nanos += i64::from(c - b'0') * 10i64.pow(8 - i as u32);
            }
        }
        rest = &rest[n + 1..];
    }
    let offset = match rest {
        [b'Z' | b'z'] => 0,
        [sign @ (b'+' | b'-'), oh1, oh2, b':', om1, om2] => {
            let mins = digits(&[*oh1, *oh2])? * 60 + digits(&[*om1, *om2])?;
            if *sign == b'+' { mins * 60 } else { -mins * 60 }
        }
        _ => return None,
    };
    let days = days_from_civil(year, month, day);
    let secs = days * 86_400 + h * 3600 + m * 60 + sec - offset;
    secs.checked_mul(1_000_000_000)?.checked_add(nanos)
}

fn digits(b: &[u8]) -> Option<i64> {
    b.iter().try_fold(0i64, |acc, c| {
        c.is_ascii_digit().then(|| acc * 10 + i64::from(c - b'0'))
    })
}

/// Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant's algorithm).
fn days_from_civil(y: i64, m: i64, d: i64) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y.rem_euclid(400);
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

#[cfg(test)]
mod tests {
    use super::rfc3339_ns;

    #[test]
    fn parses_go_time_formats() {
        assert_eq!(rfc3339_ns("1970-01-01T00:00:00Z"), Some(0));
        assert_eq!(
            rfc3339_ns("2026-11-21T04:00:10Z"),
            Some(1_795_233_610_000_000_000)
        );
        assert_eq!(
            rfc3339_ns("2026-11-21T04:00:10.5Z"),
            Some(1_795_233_610_500_000_000)
        );
        assert_eq!(
            rfc3339_ns("2026-11-21T06:00:10.123456789+02:00"),
            Some(1_795_233_610_123_456_789)
        );
        assert_eq!(
            rfc3339_ns("2026-11-21T03:30:10-00:30"),
            Some(1_795_233_610_000_000_000)
        );
        // Leap day, and digits past nanoseconds ignored.
        assert_eq!(
            rfc3339_ns("2028-02-29T12:00:01.0000000019Z"),
            Some(1_835_438_401_000_000_001)
        );
        for bad in [
            "",
            "2026-11-21",
            "2026-11-21T04:00:10",
            "2026-13-21T04:00:10Z",
            "2026-11-21T04:00:10.Z",
            "2026-11-21T04:00:10+0200",
            "2026-11-21T24:00:10Z",
            "two thousand",
        ] {
            assert_eq!(rfc3339_ns(bad), None, "{bad:?}");
        }
    }
}
