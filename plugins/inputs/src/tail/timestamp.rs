//! RFC 3339 timestamps as container runtimes write them, parsed leniently into nanoseconds
//! since the Unix epoch: any fraction length (Go trims trailing zeros), `Z` (containerd,
//! docker) or a numeric offset such as `+00:00` (CRI-O), `t`/`z` in either case.
//!
//! A file's lines come many to a second, so [`SecondCache`] keeps the last whole second of
//! the `Z` form: a line of the same second parses only its fraction.

/// Parses `2016-10-06T00:17:09.669794202Z` or `2024-01-02T03:04:05.5+01:00`; `None` when it
/// is not such a timestamp (the one parser in `gleaner_api::time`).
pub(crate) use gleaner_api::time::parse_rfc3339;

/// Length of `YYYY-MM-DDTHH:MM:SS`.
const SECOND_LEN: usize = 19;

/// The last `Z`-form timestamp's whole second: its text and its value.
#[derive(Debug, Clone, Default)]
pub(crate) struct SecondCache {
    /// `YYYY-MM-DDTHH:MM:SS` of the last timestamp (all zero bytes: none yet).
    second: [u8; SECOND_LEN],
    /// Its value in nanoseconds since the epoch.
    base_ns: i64,
}

impl SecondCache {
    /// [`parse_rfc3339`], answered from the cache when `ts` is in the same second as the
    /// last `Z`-form timestamp and in that form too.
    pub(crate) fn parse(&mut self, ts: &[u8]) -> Option<i64> {
        if let Some((second, rest)) = ts.split_at_checked(SECOND_LEN)
            && second == self.second
            && let Some(frac) = zulu_fraction(rest)
        {
            return self.base_ns.checked_add(frac);
        }
        let v = parse_rfc3339(ts)?;
        if let Some((second, rest)) = ts.split_at_checked(SECOND_LEN)
            && let Some(frac) = zulu_fraction(rest)
        {
            self.second.copy_from_slice(second);
            self.base_ns = v - frac;
        }
        Some(v)
    }
}

/// The nanoseconds of `Z`, `.5Z`, `.669794202Z` (digits past the ninth count for nothing, as
/// in [`parse_rfc3339`]); `None` for any other form (an offset, a bad byte).
fn zulu_fraction(s: &[u8]) -> Option<i64> {
    let (last, body) = s.split_last()?;
    if !matches!(last, b'Z' | b'z') {
        return None;
    }
    if body.is_empty() {
        return Some(0);
    }
    let digits = body.strip_prefix(b".")?;
    if digits.is_empty() {
        return None;
    }
    // Digits past the ninth (below a nanosecond) are checked, not counted.
    let mut nanos = 0;
    for (n, &c) in digits.iter().enumerate() {
        if !c.is_ascii_digit() {
            return None;
        }
        if n < 9 {
            nanos = nanos * 10 + i64::from(c - b'0');
        }
    }
    const SCALE: [i64; 10] = [
        1_000_000_000,
        100_000_000,
        10_000_000,
        1_000_000,
        100_000,
        10_000,
        1_000,
        100,
        10,
        1,
    ];
    Some(nanos * SCALE[digits.len().min(9)])
}

#[cfg(test)]
mod tests {
    use super::{SecondCache, parse_rfc3339};

    /// The cache answers what the parser does, line after line: same second, next second,
    /// other forms between, bad input, a fraction of any length.
    #[test]
    fn the_second_cache_answers_what_the_parser_does() {
        let mut cache = SecondCache::default();
        for ts in [
            "2016-10-06T00:17:09.669794202Z",
            "2016-10-06T00:17:09.669794203Z",
            "2016-10-06T00:17:09.5Z",
            "2016-10-06T00:17:09Z",
            "2016-10-06T00:17:09.1234567891234Z",
            "2016-10-06T00:17:09.z",
            "2016-10-06T00:17:09.12a4Z",
            "2016-10-06T00:17:09.669794202+02:00",
            "2016-10-06T00:17:09.669794202z",
            "2016-10-06T00:17:10.000000001Z",
            "2016-10-06T00:17:10",
            "2016-10-06T00:17:10.Z",
            "0000-00-00T00:00:00.1Z",
            "\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0.1Z",
            "2016-10-06T00:17:09.000000000Z",
        ] {
            assert_eq!(
                cache.parse(ts.as_bytes()),
                parse_rfc3339(ts.as_bytes()),
                "{ts}"
            );
        }
    }

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
