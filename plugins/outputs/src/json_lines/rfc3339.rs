//! RFC 3339 timestamps in UTC with nanoseconds (`2023-11-14T22:13:20.123456789Z`), written
//! straight into a byte buffer. The date comes from Howard Hinnant's `civil_from_days`
//! algorithm (proleptic Gregorian calendar), so no date library is needed.

/// Nanoseconds per second.
const NANOS_PER_SEC: i64 = 1_000_000_000;
/// Seconds per day (UTC has no leap seconds in Unix time).
const SECS_PER_DAY: i64 = 86_400;

/// Appends `ns` (nanoseconds since the Unix epoch) as RFC 3339 in UTC, always with nine
/// fractional digits so lines sort as text and stay fixed-width. Negative values (before
/// 1970) are handled; every `i64` fits in a four-digit year (1677 to 2262).
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

/// (year, month 1..=12, day 1..=31) of `z` days since 1970-01-01.
pub(super) fn civil_from_days(z: i64) -> (i64, i64, i64) {
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
