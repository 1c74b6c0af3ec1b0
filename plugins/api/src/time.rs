//! Calendar time without a date crate: RFC 3339 timestamps parsed into and written from
//! nanoseconds since the Unix epoch, and the proleptic Gregorian day arithmetic under them
//! (Howard Hinnant's `days_from_civil` and `civil_from_days`). HTTP dates (`Retry-After`)
//! are the `httpdate` crate's, in `http_client`.
//!
//! The parser is on the tail's hot path (one call per CRI or docker line): it is
//! `#[inline]`, and works on bytes.

#[cfg(test)]
mod tests;

/// Nanoseconds per second.
const NANOS_PER_SEC: i64 = 1_000_000_000;
/// Seconds per day (UTC has no leap seconds in Unix time).
const SECS_PER_DAY: i64 = 86_400;

/// Parses an RFC 3339 date-time into nanoseconds since the epoch, leniently as container
/// runtimes and Go write them: any fraction length (digits past nanoseconds ignored), `Z`
/// or a numeric offset (`+01:00`), `T`/`t`/space between date and time, `z` in either case,
/// a leap second (60) landing on the next second as Go does. `None` when it is not one.
#[inline]
pub fn parse_rfc3339(s: &[u8]) -> Option<i64> {
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
    let secs = days * SECS_PER_DAY + hour * 3600 + minute * 60 + second - offset_secs;
    secs.checked_mul(NANOS_PER_SEC)?.checked_add(nanos)
}

/// Appends `ns` (nanoseconds since the Unix epoch) as RFC 3339 in UTC, always with nine
/// fractional digits so lines sort as text and stay fixed-width
/// (`2023-11-14T22:13:20.123456789Z`). Negative values (before 1970) are handled; every
/// `i64` fits in a four-digit year (1677 to 2262).
pub fn write_rfc3339(ns: i64, buf: &mut Vec<u8>) {
    let secs = ns.div_euclid(NANOS_PER_SEC);
    let nanos = ns.rem_euclid(NANOS_PER_SEC);
    let days = secs.div_euclid(SECS_PER_DAY);
    let sod = secs.rem_euclid(SECS_PER_DAY);
    let (year, month, day) = civil_from_days(days);
    push_padded(buf, year, 4);
    buf.push(b'-');
    push_padded(buf, month, 2);
    buf.push(b'-');
    push_padded(buf, day, 2);
    buf.push(b'T');
    push_padded(buf, sod / 3600, 2);
    buf.push(b':');
    push_padded(buf, sod / 60 % 60, 2);
    buf.push(b':');
    push_padded(buf, sod % 60, 2);
    buf.push(b'.');
    push_padded(buf, nanos, 9);
    buf.push(b'Z');
}

/// Days since 1970-01-01 of a proleptic Gregorian date (negative before it).
#[inline]
pub fn days_from_civil(y: i64, m: i64, d: i64) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y.rem_euclid(400); // [0, 399]
    let mp = (m + 9) % 12; // month from March, [0, 11]
    let doy = (153 * mp + 2) / 5 + d - 1; // [0, 365]
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy; // [0, 146096]
    era * 146_097 + doe - 719_468
}

/// (year, month 1..=12, day 1..=31) of `z` days since 1970-01-01.
pub fn civil_from_days(z: i64) -> (i64, i64, i64) {
    let z = z + 719_468; // days from 0000-03-01 to 1970-01-01
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097); // day of era, [0, 146096]
    let yoe = (doe - doe / 1_460 + doe / 36_524 - doe / 146_096) / 365; // [0, 399]
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100); // day of year from March 1, [0, 365]
    let mp = (5 * doy + 2) / 153; // month from March, [0, 11]
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    (year, month, day)
}

/// Appends a non-negative `v` in decimal, zero-padded to `width` digits.
fn push_padded(buf: &mut Vec<u8>, v: i64, width: usize) {
    let mut digits = [b'0'; 20];
    let mut n = v.unsigned_abs();
    let mut i = digits.len();
    while n > 0 {
        i -= 1;
        // `n % 10` is a single digit.
        digits[i] = b'0' + (n % 10) as u8;
        n /= 10;
    }
    let len = (digits.len() - i).max(width).min(digits.len());
    buf.extend_from_slice(&digits[digits.len() - len..]);
}
