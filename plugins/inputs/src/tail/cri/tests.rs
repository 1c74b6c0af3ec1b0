use gleaner_api::Stream;

use super::{CriLine, CriParseError, SecondCache};

/// One line parsed with a fresh timestamp cache.
fn parse(line: &[u8]) -> Result<CriLine<'_>, CriParseError> {
    super::parse(line, &mut SecondCache::default())
}

#[test]
fn full_and_partial_lines() {
    let l = parse(b"2016-10-06T00:17:09.669794202Z stdout F hello  world ").unwrap();
    assert_eq!(l.timestamp, 1_475_713_029_669_794_202);
    assert_eq!(l.stream, Stream::Stdout);
    assert!(!l.partial);
    assert_eq!(l.content, b"hello  world ", "content is byte-exact");

    let p = parse(b"2016-10-06T00:17:09.669794202Z stderr P part one").unwrap();
    assert_eq!(p.stream, Stream::Stderr);
    assert!(p.partial);
    assert_eq!(p.content, b"part one");
}

#[test]
fn empty_content_and_future_tags() {
    let l = parse(b"2016-10-06T00:17:09Z stdout F ").unwrap();
    assert_eq!(l.content, b"");
    let l = parse(b"2016-10-06T00:17:09Z stdout F").unwrap();
    assert_eq!(l.content, b"");
    let l = parse(b"2016-10-06T00:17:09Z stdout F:x:y msg").unwrap();
    assert!(!l.partial);
    assert_eq!(l.content, b"msg");
}

#[test]
fn cri_o_offsets() {
    let l = parse(b"2024-03-01T10:00:00.123456789+00:00 stdout F crio").unwrap();
    assert_eq!(l.timestamp, 1_709_287_200_123_456_789);
}

#[test]
fn malformed() {
    assert_eq!(parse(b"hello"), Err(CriParseError::MissingFields));
    assert_eq!(parse(b"a b c d"), Err(CriParseError::Timestamp));
    assert_eq!(
        parse(b"2016-10-06T00:17:09Z stdin F x"),
        Err(CriParseError::Stream)
    );
    assert_eq!(
        parse(b"2016-10-06T00:17:09Z stdout X x"),
        Err(CriParseError::Tag)
    );
    assert_eq!(parse(b""), Err(CriParseError::MissingFields));
    assert_eq!(parse(b"\xff\xfe \xff \xff"), Err(CriParseError::Timestamp));
}

/// What the fixed-place reading accepts, the field-by-field one reads the same way; what it
/// leaves, the field-by-field one reads (a space between date and time, other tags, short
/// or odd timestamps, a missing space).
#[test]
fn the_common_form_reads_as_the_fields_do() {
    for line in [
        &b"2016-10-06T00:17:09.669794202Z stdout F hello"[..],
        b"2016-10-06T00:17:09.669794202Z stderr P part",
        b"2016-10-06T00:17:09.669794202Z stdout F ",
        b"2016-10-06T00:17:09.669794202Z stdout F",
        b"2016-10-06T00:17:09.669794202Z stdout F:x msg",
        b"2016-10-06T00:17:09.669794202Z stdout X msg",
        b"2016-10-06 00:17:09.669794202Z stdout F msg",
        b"2016-10-06T00:17:09.6697942020 stdout F msg",
        b"2016-10-06T00:17:09.66979420aZ stdout F msg",
        b"2016-10-06T00:17:09.669794202z stdout F msg",
        b"2016-10-06T00:17:09.669794202Zstdout F msg",
        b"2016-10-06T00:17:09.669794202Z  stdout F msg",
        b"2016-10-06T00:17:09.669794202Z stdin  F msg",
        b"2016-10-06T00:17:09.66979+02:00 stdout F msg",
        b"2016-10-06T00:17:09.6697942+0200 stdout F msg",
    ] {
        let fields = super::parse_fields(line, &mut SecondCache::default());
        if let Some(common) = super::parse_common(line, &mut SecondCache::default()) {
            assert_eq!(Ok(common), fields, "{:?}", String::from_utf8_lossy(line));
        }
        assert_eq!(parse(line), fields, "{:?}", String::from_utf8_lossy(line));
    }
}
