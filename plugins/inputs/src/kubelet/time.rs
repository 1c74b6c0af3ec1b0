//! RFC 3339 timestamps of the Summary API (Go's `metav1.Time`, e.g.
//! `2026-11-21T04:00:10Z` or `2026-11-21T04:00:10.123456789+02:00`) to nanoseconds since the
//! Unix epoch. The parser is `gleaner_api::time`'s.

/// Nanoseconds since the epoch of an RFC 3339 date-time; `None` when it is not one (the one
/// parser in `gleaner_api::time`).
pub(crate) fn rfc3339_ns(s: &str) -> Option<i64> {
    gleaner_api::time::parse_rfc3339(s.as_bytes())
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
