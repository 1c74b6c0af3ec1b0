//! RFC 3339 timestamps as container runtimes write them, parsed leniently into nanoseconds
//! since the Unix epoch: any fraction length (Go trims trailing zeros), `Z` (containerd,
//! docker) or a numeric offset such as `+00:00` (CRI-O), `t`/`z` in either case.

/// Parses `2016-10-06T00:17:09.669794202Z` or `2024-01-02T03:04:05.5+01:00`; `None` when it
/// is not such a timestamp (the one parser in `gleaner_api::time`).
pub(crate) use gleaner_api::time::parse_rfc3339;

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
