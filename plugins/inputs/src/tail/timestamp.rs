//! RFC 3339 timestamps as container runtimes write them, parsed leniently into nanoseconds
//! since the Unix epoch: any fraction length (Go trims trailing zeros), `Z` (containerd,
//! docker) or a numeric offset such as `+00:00` (CRI-O), `t`/`z` in either case.

/// Parses `2016-10-06T00:17:09.669794202Z` or `2024-01-02T03:04:05.5+01:00`; `None` when it
/// is not such a timestamp.
pub(crate) fn parse_rfc3339(s: &[u8]) -> Option<i64> {
    if s.len() < 20 {
        return None;
    }
    let num = |range: std::ops::Range<usize>| -> Option<i64> {
        let mut v: i64 = 0;
        for &c in s.get(range)? {
            if !c.is_ascii_digit() {
                return None;
            }
            v = v * 10 + i64::from(c - b'0');
        }
        Some(v)
    };
    let year = num(0..4)?;
    let month = num(5..7)?;
    let day = num(8..10)?;
    let hour = num(11..13)?;
    let minute = num(14..16)?;
    let second = num(17..19)?;
    if s[4] != b'-' || s[7] != b'-' || !matches!(s[10], b'T' | b't' | b' ') {
        return None;
    }
    if s[13] != b':' || s[16] != b':' {
        return None;
    }
    if !(1..=12).contains(&month) || !(1..=31).contains(&day) || hour > 23 || minute > 59 {
        return None;
    }
    // Leap seconds (60) are accepted and land on the next second, as Go does.
    if second > 60 {
        return None;
    }
    let mut i = 19;
    let mut nanos: i64 = 0;
    if s.get(i) == Some(&b'.') {
        i += 1;
        let start = i;
        let mut scale: i64 = 100_000_000;
        while let Some(&c) = s.get(i) {
            if !c.is_ascii_digit() {
                break;
            }
            nanos += i64::from(c - b'0') * scale;
            scale /= 10;
            i += 1;
        }
        if i == start {
            return None;
        }
    }
    let offset_secs = match s.get(i)? {
        b'Z' | b'z' => {
            i += 1;
            0
        }
        sign @ (b'+' | b'-') => {
            let h = num(i + 1..i + 3)?;
            if s.get(i + 3) != Some(&b':') {
                return None;
            }
            let m = num(i + 4..i + 6)?;
            i += 6;
            let off = h * 3600 + m * 60;
            if *sign == b'-' { -off } else { off }
        }
        _ => return None,
    };
    if i != s.len() {
        return None;
    }
    let days = days_from_civil(year, month, day);
    let secs = days * 86_400 + hour * 3600 + minute * 60 + second - offset_secs;
    secs.checked_mul(1_000_000_000)?.checked_add(nanos)
}

/// Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's algorithm).
fn days_from_civil(y: i64, m: i64, d: i64) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

#[cfg(test)]
mod tests {
    use super::parse_rfc3339;

    #[test]
    fn containerd_cri_o_and_docker_forms() {
        let z = parse_rfc3339(b"2016-10-06T00:17:09.669794202Z");
        assert_eq!(z, Some(1_475_713_029_669_794_202));
        assert_eq!(
            parse_rfc3339(b"2016-10-06T00:17:09.669794202+00:00"),
            z,
            "CRI-O writes a numeric offset"
        );
        assert_eq!(
            parse_rfc3339(b"2016-10-06T02:17:09.669794202+02:00"),
            z,
            "offsets are applied"
        );
        assert_eq!(
            parse_rfc3339(b"2016-10-06T00:17:09.5Z"),
            Some(1_475_713_029_500_000_000)
        );
        assert_eq!(
            parse_rfc3339(b"2016-10-06T00:17:09Z"),
            Some(1_475_713_029_000_000_000)
        );
        assert_eq!(parse_rfc3339(b"1970-01-01T00:00:00Z"), Some(0));
    }

    #[test]
    fn rejects_garbage() {
        for bad in [
            &b""[..],
            b"2016-10-06",
            b"2016-10-06T00:17:09",
            b"2016-13-06T00:17:09Z",
            b"2016-10-06T00:17:09.Z",
            b"2016-10-06T00:17:09Zjunk",
            b"2016-10-06T00:17:09+0000",
            b"x016-10-06T00:17:09Z",
        ] {
            assert_eq!(
                parse_rfc3339(bad),
                None,
                "{:?}",
                String::from_utf8_lossy(bad)
            );
        }
    }
}
