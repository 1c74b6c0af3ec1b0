//! `time_format`: how `filters.parse` reads a record's time from a parsed member, into
//! nanoseconds since the Unix epoch.
//!
//! - `rfc3339`: `2026-11-21T04:00:00.123Z`, any fraction length, `Z` or `±hh:mm`, `T` or a
//!   space between date and time.
//! - `unix`, `unix_ms`, `unix_us`, `unix_ns`: a number (or a string holding one) of seconds,
//!   milliseconds, microseconds or nanoseconds; `unix` takes a fraction.
//! - a strftime-like pattern (it contains `%`): `%Y %y %m %d %e %H %I %p %M %S %f %z %Z %b
//!   %h %B %a %A %j %s %T %F %D %R %%`; `%f` takes 1 to 9 fraction digits (more are cut), `%z`
//!   `Z`, `±hh`, `±hhmm` or `±hh:mm`, `%Z` only `UTC`, `GMT` or `Z`, month and day names in
//!   English, any case. Without `%z` the time is UTC. Without a year (syslog's `%b %e
//!   %H:%M:%S`) the year is the record's own (its read time), one less when that would put
//!   the time more than a day ahead of it; without a date, the record's date.
//!
//! Patterns are checked at load: an unknown directive is a config error naming its position.

mod read;

pub(crate) use self::read::SecondCache;
use self::read::{pattern, rfc3339, rfc3339_cached};

const MONTHS: [&str; 12] = [
    "january",
    "february",
    "march",
    "april",
    "may",
    "june",
    "july",
    "august",
    "september",
    "october",
    "november",
    "december",
];
const DAYS: [&str; 7] = [
    "monday",
    "tuesday",
    "wednesday",
    "thursday",
    "friday",
    "saturday",
    "sunday",
];
const NS: i64 = 1_000_000_000;

/// One step of a pattern.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Item {
    Lit(char),
    Year4,
    Year2,
    Month,
    Day,
    DaySpace,
    Hour24,
    Hour12,
    AmPm,
    Minute,
    Second,
    Fraction,
    Offset,
    ZoneName,
    MonthName,
    DayName,
    DayOfYear,
    Epoch,
}

/// A parsed `time_format`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum TimeFormat {
    /// RFC 3339.
    Rfc3339,
    /// Epoch number; nanoseconds per unit.
    Unix(i64),
    /// A strftime-like pattern.
    Pattern(Vec<Item>),
}

impl TimeFormat {
    /// Parses a `time_format` value; the error is (message, character position of the
    /// problem in the pattern, 1-based).
    pub(crate) fn parse(s: &str) -> Result<TimeFormat, (String, usize)> {
        match s {
            "rfc3339" => return Ok(TimeFormat::Rfc3339),
            "unix" => return Ok(TimeFormat::Unix(NS)),
            "unix_ms" => return Ok(TimeFormat::Unix(1_000_000)),
            "unix_us" => return Ok(TimeFormat::Unix(1_000)),
            "unix_ns" => return Ok(TimeFormat::Unix(1)),
            _ if !s.contains('%') => {
                return Err((format!("unknown time_format {s:?}"), 1));
            }
            _ => {}
        }
        let mut items = Vec::new();
        let mut chars = s.chars().enumerate();
        while let Some((pos, c)) = chars.next() {
            if c != '%' {
                items.push(Item::Lit(c));
                continue;
            }
            let Some((_, d)) = chars.next() else {
                return Err(("the pattern ends with a lone `%`".to_owned(), pos + 1));
            };
            let expand: &[Item] = match d {
                'Y' => &[Item::Year4],
                'y' => &[Item::Year2],
                'm' => &[Item::Month],
                'd' => &[Item::Day],
                'e' => &[Item::DaySpace],
                'H' => &[Item::Hour24],
                'I' => &[Item::Hour12],
                'p' => &[Item::AmPm],
                'M' => &[Item::Minute],
                'S' => &[Item::Second],
                'f' => &[Item::Fraction],
                'z' => &[Item::Offset],
                'Z' => &[Item::ZoneName],
                'b' | 'h' | 'B' => &[Item::MonthName],
                'a' | 'A' => &[Item::DayName],
                'j' => &[Item::DayOfYear],
                's' => &[Item::Epoch],
                'T' => &[
                    Item::Hour24,
                    Item::Lit(':'),
                    Item::Minute,
                    Item::Lit(':'),
                    Item::Second,
                ],
                'R' => &[Item::Hour24, Item::Lit(':'), Item::Minute],
                'F' => &[
                    Item::Year4,
                    Item::Lit('-'),
                    Item::Month,
                    Item::Lit('-'),
                    Item::Day,
                ],
                'D' => &[
                    Item::Month,
                    Item::Lit('/'),
                    Item::Day,
                    Item::Lit('/'),
                    Item::Year2,
                ],
                '%' => &[Item::Lit('%')],
                other => {
                    return Err((format!("unknown directive `%{other}`"), pos + 1));
                }
            };
            items.extend_from_slice(expand);
        }
        Ok(TimeFormat::Pattern(items))
    }

    /// Reads `text` (or a number); `reference` (the record's timestamp) fills a missing
    /// year or date.
    pub(crate) fn read(&self, value: &gleaner_api::FieldValue, reference: i64) -> Option<i64> {
        use gleaner_api::FieldValue as V;
        match (self, value) {
            (TimeFormat::Unix(unit), V::Int(i)) => i.checked_mul(*unit),
            (TimeFormat::Unix(unit), V::UInt(u)) => i64::try_from(*u).ok()?.checked_mul(*unit),
            (TimeFormat::Unix(unit), V::Float(f)) => float_time(*f, *unit),
            (TimeFormat::Unix(unit), V::String(s)) => {
                let s = s.trim();
                match s.parse::<i64>() {
                    Ok(i) => i.checked_mul(*unit),
                    Err(_) => float_time(s.parse::<f64>().ok()?, *unit),
                }
            }
            (TimeFormat::Rfc3339, V::String(s)) => rfc3339(s.trim().as_bytes()),
            (TimeFormat::Pattern(items), V::String(s)) => pattern(items, s, reference),
            (TimeFormat::Pattern(items), V::Int(_) | V::UInt(_)) => {
                pattern(items, &value.to_string(), reference)
            }
            _ => None,
        }
    }
}

impl TimeFormat {
    /// [`TimeFormat::read`], with RFC 3339's date and time to the second remembered in
    /// `cache` for the next text of the same second.
    pub(crate) fn read_cached(
        &self,
        value: &gleaner_api::FieldValue,
        reference: i64,
        cache: &mut SecondCache,
    ) -> Option<i64> {
        match (self, value) {
            (TimeFormat::Rfc3339, gleaner_api::FieldValue::String(s)) => {
                rfc3339_cached(s.trim().as_bytes(), cache)
            }
            _ => self.read(value, reference),
        }
    }
}

fn float_time(f: f64, unit: i64) -> Option<i64> {
    let ns = f * unit as f64;
    (ns.is_finite() && ns.abs() < 9.2e18).then(|| ns.round() as i64)
}

pub(super) use gleaner_api::time::civil_from_days;
/// Days since 1970-01-01 of a civil date, and back (`gleaner_api::time`).
pub(crate) use gleaner_api::time::days_from_civil;

fn is_leap(y: i64) -> bool {
    (y % 4 == 0 && y % 100 != 0) || y % 400 == 0
}

fn month_days(y: i64, m: i64) -> i64 {
    match m {
        2 if is_leap(y) => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

#[cfg(test)]
mod tests;
