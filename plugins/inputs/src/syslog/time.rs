//! Syslog timestamps to nanoseconds since the epoch: RFC 5424's RFC 3339 profile
//! (`2003-10-11T22:14:15.003Z`, `...-07:00`) and RFC 3164's `Mmm dd hh:mm:ss`, which has
//! neither year nor zone: it is read as UTC, in the latest year that puts it no more than a
//! week after the receive time (a December message read on January 1st belongs to the year
//! before; a January 1st message read on December 31st to the next).

/// Nanoseconds per second.
const NS: i64 = 1_000_000_000;

/// Days from 1970-01-01 to a civil date (`gleaner_api::time`).
pub(crate) fn days_from_civil(y: i64, m: u32, d: u32) -> i64 {
    gleaner_api::time::days_from_civil(y, i64::from(m), i64::from(d))
}

/// The civil year of a day count since 1970-01-01.
pub(crate) fn year_of_day(days: i64) -> i64 {
    gleaner_api::time::civil_from_days(days).0
}

fn is_leap(y: i64) -> bool {
    (y % 4 == 0 && y % 100 != 0) || y % 400 == 0
}

fn days_in_month(y: i64, m: u32) -> u32 {
    match m {
        2 if is_leap(y) => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

/// Fixed-width decimal digits.
fn digits(b: &[u8]) -> Option<u32> {
    if b.is_empty() {
        return None;
    }
    b.iter().try_fold(0u32, |acc, &c| {
        c.is_ascii_digit().then(|| acc * 10 + u32::from(c - b'0'))
    })
}

/// Seconds since the epoch of a valid civil time, or `None` when a field is out of range.
fn civil_secs(y: i64, mo: u32, d: u32, h: u32, mi: u32, s: u32) -> Option<i64> {
    if !(1..=12).contains(&mo) || d == 0 || d > days_in_month(y, mo) || h > 23 || mi > 59 {
        return None;
    }
    // RFC 5424 forbids leap seconds; a 60 is taken as the last second of the minute.
    if s > 60 {
        return None;
    }
    let s = s.min(59);
    Some(
        days_from_civil(y, mo, d) * 86_400
            + i64::from(h) * 3600
            + i64::from(mi) * 60
            + i64::from(s),
    )
}

/// An RFC 3339 timestamp (`YYYY-MM-DDTHH:MM:SS[.frac](Z|±hh:mm)`), as RFC 5424 profiles
/// it (a `t` or `z` in lowercase is accepted too; up to 9 fraction digits are kept).
pub(crate) fn parse_rfc3339(b: &[u8]) -> Option<i64> {
    if b.len() < 20 || b[4] != b'-' || b[7] != b'-' || !matches!(b[10], b'T' | b't') {
        return None;
    }
    if b[13] != b':' || b[16] != b':' {
        return None;
    }
    let y = i64::from(digits(&b[0..4])?);
    let secs = civil_secs(
        y,
        digits(&b[5..7])?,
        digits(&b[8..10])?,
        digits(&b[11..13])?,
        digits(&b[14..16])?,
        digits(&b[17..19])?,
    )?;
    let mut rest = &b[19..];
    let mut frac_ns = 0i64;
    if let Some(f) = rest.strip_prefix(b".") {
        let n = f.iter().take_while(|c| c.is_ascii_digit()).count();
        if n == 0 {
            return None;
        }
        let mut v = 0i64;
        for (i, &c) in f[..n].iter().enumerate() {
            if i < 9 {
                v = v * 10 + i64::from(c - b'0');
            }
        }
        for _ in n..9 {
            v *= 10;
        }
        frac_ns = v;
        rest = &f[n..];
    }
    let offset = match rest {
        [b'Z' | b'z'] => 0,
        [sign @ (b'+' | b'-'), h1, h2, b':', m1, m2] => {
            let h = digits(&[*h1, *h2])?;
            let m = digits(&[*m1, *m2])?;
            if h > 23 || m > 59 {
                return None;
            }
            let off = i64::from(h * 3600 + m * 60);
            if *sign == b'+' { off } else { -off }
        }
        _ => return None,
    };
    (secs - offset).checked_mul(NS)?.checked_add(frac_ns)
}

const MONTHS: [&[u8; 3]; 12] = [
    b"Jan", b"Feb", b"Mar", b"Apr", b"May", b"Jun", b"Jul", b"Aug", b"Sep", b"Oct", b"Nov", b"Dec",
];

/// RFC 3164's `Mmm dd hh:mm:ss` (exactly 15 bytes; the day padded with a space or a zero),
/// read as UTC in the year closest to `now_ns`.
pub(crate) fn parse_bsd(b: &[u8], now_ns: i64) -> Option<i64> {
    if b.len() != 15 || b[3] != b' ' || b[6] != b' ' || b[9] != b':' || b[12] != b':' {
        return None;
    }
    let month = MONTHS.iter().position(|m| m[..] == b[..3])? as u32 + 1;
    let day = match b[4] {
        b' ' => digits(&b[5..6])?,
        _ => digits(&b[4..6])?,
    };
    let (h, mi, s) = (digits(&b[7..9])?, digits(&b[10..12])?, digits(&b[13..15])?);
    let now_s = now_ns.div_euclid(NS);
    let year = year_of_day(now_s.div_euclid(86_400));
    // The latest year that does not put the message more than a week ahead of the receive
    // time (a Feb 29 exists in one of the candidates at most).
    let latest = now_s + 7 * 86_400;
    let mut best: Option<i64> = None;
    for y in [year + 1, year, year - 1] {
        if let Some(t) = civil_secs(y, month, day, h, mi, s)
            && t <= latest
        {
            best = Some(t);
            break;
        }
    }
    best?.checked_mul(NS)
}
