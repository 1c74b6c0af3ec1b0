//! Reading text with a parsed `time_format`: the strftime-like pattern walker and RFC 3339
//! (built on the same cursor), into nanoseconds since the epoch.

use super::{DAYS, Item, MONTHS, NS, civil_from_days, days_from_civil, is_leap, month_days};

/// A cursor over the text being read.
struct Cur<'a> {
    b: &'a [u8],
    i: usize,
}

impl Cur<'_> {
    /// `min..=max` digits.
    fn num(&mut self, min: usize, max: usize) -> Option<i64> {
        let start = self.i;
        let mut v: i64 = 0;
        while self.i - start < max {
            match self.b.get(self.i) {
                Some(c @ b'0'..=b'9') => {
                    v = v * 10 + i64::from(c - b'0');
                    self.i += 1;
                }
                _ => break,
            }
        }
        (self.i - start >= min).then_some(v)
    }

    /// One of `names` (or its first three letters), any case; its index.
    fn name(&mut self, names: &[&str]) -> Option<i64> {
        let rest = &self.b[self.i..];
        for (n, full) in names.iter().enumerate() {
            for len in [full.len(), 3] {
                if rest.len() >= len && rest[..len].eq_ignore_ascii_case(&full.as_bytes()[..len]) {
                    self.i += len;
                    return Some(n as i64);
                }
            }
        }
        None
    }

    /// `Z`, `±hh`, `±hhmm`, `±hh:mm`, in seconds.
    fn offset(&mut self) -> Option<i64> {
        match self.b.get(self.i)? {
            b'Z' | b'z' => {
                self.i += 1;
                Some(0)
            }
            sign @ (b'+' | b'-') => {
                let neg = *sign == b'-';
                self.i += 1;
                let h = self.num(2, 2)?;
                if self.b.get(self.i) == Some(&b':') {
                    self.i += 1;
                }
                let m = self.num(2, 2).unwrap_or(0);
                let s = h * 3600 + m * 60;
                Some(if neg { -s } else { s })
            }
            _ => None,
        }
    }
}

/// Reads `s` with a pattern.
pub(super) fn pattern(items: &[Item], s: &str, reference: i64) -> Option<i64> {
    let mut c = Cur {
        b: s.trim().as_bytes(),
        i: 0,
    };
    let (mut year, mut month, mut day) = (None, None, None);
    let (mut hour, mut minute, mut second, mut nanos) = (0, 0, 0, 0_i64);
    let (mut pm, mut h12, mut offset, mut yday, mut epoch) = (None, false, 0, None, None);
    for item in items {
        match item {
            Item::Lit(ch) => {
                let mut buf = [0; 4];
                let lit = ch.encode_utf8(&mut buf).as_bytes();
                if *ch == ' ' {
                    // A space matches any run of spaces (padding of `%e`, aligned columns).
                    let start = c.i;
                    while c.b.get(c.i) == Some(&b' ') {
                        c.i += 1;
                    }
                    if c.i == start {
                        return None;
                    }
                } else if c.b[c.i..].starts_with(lit) {
                    c.i += lit.len();
                } else {
                    return None;
                }
            }
            Item::Year4 => {
                let neg = c.b.get(c.i) == Some(&b'-');
                if neg {
                    c.i += 1;
                }
                let y = c.num(4, 4)?;
                year = Some(if neg { -y } else { y });
            }
            Item::Year2 => {
                let y = c.num(2, 2)?;
                year = Some(if y < 69 { 2000 + y } else { 1900 + y });
            }
            Item::Month => month = Some(c.num(1, 2)?),
            Item::Day => day = Some(c.num(1, 2)?),
            Item::DaySpace => {
                if c.b.get(c.i) == Some(&b' ') {
                    c.i += 1;
                }
                day = Some(c.num(1, 2)?);
            }
            Item::Hour24 => hour = c.num(1, 2)?,
            Item::Hour12 => {
                hour = c.num(1, 2)?;
                h12 = true;
            }
            Item::AmPm => {
                let r = c.b.get(c.i..c.i + 2)?;
                pm = Some(if r.eq_ignore_ascii_case(b"pm") {
                    true
                } else if r.eq_ignore_ascii_case(b"am") {
                    false
                } else {
                    return None;
                });
                c.i += 2;
            }
            Item::Minute => minute = c.num(1, 2)?,
            Item::Second => second = c.num(1, 2)?,
            Item::Fraction => {
                let start = c.i;
                let mut scale = 100_000_000_i64;
                while let Some(d @ b'0'..=b'9') = c.b.get(c.i) {
                    nanos += i64::from(d - b'0') * scale;
                    scale /= 10;
                    c.i += 1;
                }
                if c.i == start {
                    return None;
                }
            }
            Item::Offset => offset = c.offset()?,
            Item::ZoneName => {
                let rest = &c.b[c.i..];
                let len = if rest.starts_with(b"UTC") || rest.starts_with(b"GMT") {
                    3
                } else if rest.starts_with(b"Z") {
                    1
                } else {
                    return None;
                };
                c.i += len;
            }
            Item::MonthName => month = Some(c.name(&MONTHS)? + 1),
            Item::DayName => {
                c.name(&DAYS)?;
            }
            Item::DayOfYear => yday = Some(c.num(1, 3)?),
            Item::Epoch => {
                let neg = c.b.get(c.i) == Some(&b'-');
                if neg {
                    c.i += 1;
                }
                let v = c.num(1, 19)?;
                epoch = Some(if neg { -v } else { v });
            }
        }
    }
    if c.i != c.b.len() {
        return None;
    }
    if let Some(e) = epoch {
        return e.checked_mul(NS)?.checked_add(nanos);
    }
    if h12 {
        if !(1..=12).contains(&hour) {
            return None;
        }
        hour %= 12;
    }
    if pm == Some(true) {
        hour += 12;
    }
    if hour > 23 || minute > 59 || second > 60 {
        return None;
    }
    let (ref_y, ref_m, ref_d) = civil_from_days(reference.div_euclid(NS * 86_400));
    let secs_of_day = hour * 3600 + minute * 60 + second;
    let days = |y: i64| -> Option<i64> {
        if let Some(yd) = yday {
            let max = if is_leap(y) { 366 } else { 365 };
            return (1..=max)
                .contains(&yd)
                .then(|| days_from_civil(y, 1, 1) + yd - 1);
        }
        let (m, d) = match (month, day) {
            (None, None) if year.is_none() => (ref_m, ref_d),
            (m, d) => (m.unwrap_or(1), d.unwrap_or(1)),
        };
        ((1..=12).contains(&m) && (1..=month_days(y, m)).contains(&d))
            .then(|| days_from_civil(y, m, d))
    };
    let at = |y: i64| -> Option<i64> {
        let secs = days(y)? * 86_400 + secs_of_day - offset;
        secs.checked_mul(NS)?.checked_add(nanos)
    };
    match year {
        Some(y) => at(y),
        None => {
            let t = at(ref_y)?;
            if t > reference.saturating_add(NS * 86_400) {
                at(ref_y - 1)
            } else {
                Some(t)
            }
        }
    }
}

/// `YYYY-MM-DD` at the start of `b` (dashes already checked) read directly, as the pattern
/// walker reads it: `None` when a field is not all digits (the walker decides then),
/// `Some(None)` for a month or day out of range, else the date's midnight in nanoseconds.
fn date10(b: &[u8]) -> Option<Option<i64>> {
    let num = |r: std::ops::Range<usize>| -> Option<i64> {
        b.get(r)?.iter().try_fold(0_i64, |v, &c| {
            c.is_ascii_digit().then(|| v * 10 + i64::from(c - b'0'))
        })
    };
    let (y, m, d) = (num(0..4)?, num(5..7)?, num(8..10)?);
    Some(
        ((1..=12).contains(&m) && (1..=month_days(y, m)).contains(&d))
            .then(|| (days_from_civil(y, m, d) * 86_400).checked_mul(NS))
            .flatten(),
    )
}

/// RFC 3339 (`T`, `t` or a space between date and time; any fraction; `Z` or `±hh:mm`).
pub(super) fn rfc3339(b: &[u8]) -> Option<i64> {
    let (date, hms, _) = rfc3339_head(b)?;
    rfc3339_tail(b, date, hms)
}

/// The date and time to the second of the last text [`rfc3339_cached`] read in full.
#[derive(Debug, Default)]
pub(crate) struct SecondCache {
    /// The text's first 19 bytes (`YYYY-MM-DDTHH:MM:SS`), the date (ns) and the seconds
    /// of the day they read as.
    last: Option<([u8; HEAD], i64, i64)>,
}

/// The bytes of an RFC 3339 time up to its seconds.
const HEAD: usize = 19;

/// [`rfc3339`], with the date and time to the second taken from `cache` when the text
/// starts as the last one did (a log's lines mostly share their second): only the
/// fraction and the offset are read. The result is [`rfc3339`]'s.
pub(super) fn rfc3339_cached(b: &[u8], cache: &mut SecondCache) -> Option<i64> {
    if let Some((head, date, hms)) = &cache.last
        && b.len() > HEAD
        && b.get(..HEAD) == Some(head.as_slice())
    {
        return rfc3339_tail(b, *date, *hms);
    }
    let (date, hms, by_digits) = rfc3339_head(b)?;
    if by_digits && let Some(head) = b.get(..HEAD).and_then(|h| <[u8; HEAD]>::try_from(h).ok()) {
        cache.last = Some((head, date, hms));
    }
    rfc3339_tail(b, date, hms)
}

/// The date (ns) and the seconds of the day of an RFC 3339 time, read from its first
/// [`HEAD`] bytes (the text is at least one longer), and whether the date was read by
/// [`date10`] (from those bytes alone).
fn rfc3339_head(b: &[u8]) -> Option<(i64, i64, bool)> {
    if b.len() <= HEAD || b[4] != b'-' || b[7] != b'-' || b[13] != b':' || b[16] != b':' {
        return None;
    }
    if !matches!(b[10], b'T' | b't' | b' ') {
        return None;
    }
    let (date, by_digits) = match date10(b) {
        Some(date) => (date?, true),
        None => {
            let s = std::str::from_utf8(b).ok()?;
            let items = [
                Item::Year4,
                Item::Lit('-'),
                Item::Month,
                Item::Lit('-'),
                Item::Day,
            ];
            (pattern(&items, &s[..10], 0)?, false)
        }
    };
    let mut c = Cur { b, i: 11 };
    let h = c.num(2, 2)?;
    c.i += 1;
    let mi = c.num(2, 2)?;
    c.i += 1;
    let sec = c.num(2, 2)?;
    if h > 23 || mi > 59 || sec > 60 {
        return None;
    }
    Some((date, h * 3600 + mi * 60 + sec, by_digits))
}

/// The rest of an RFC 3339 time after its seconds (a fraction, the offset), and the time.
fn rfc3339_tail(b: &[u8], date: i64, hms: i64) -> Option<i64> {
    let mut c = Cur { b, i: HEAD };
    let mut nanos = 0_i64;
    if c.b.get(c.i) == Some(&b'.') {
        c.i += 1;
        let start = c.i;
        let mut scale = 100_000_000_i64;
        while let Some(d @ b'0'..=b'9') = c.b.get(c.i) {
            nanos += i64::from(d - b'0') * scale;
            scale /= 10;
            c.i += 1;
        }
        if c.i == start {
            return None;
        }
    }
    let off = c.offset()?;
    if c.i != b.len() {
        return None;
    }
    let secs = hms - off;
    date.checked_add(secs.checked_mul(NS)?)?.checked_add(nanos)
}
