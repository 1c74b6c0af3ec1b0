use gleaner_api::Stream;

use super::{DockerParseError, parse};

#[test]
fn whole_line_with_escapes() {
    let l = parse(
        br#"{"log":"say \"hi\"\ttab \u00e9\n","stream":"stderr","time":"2016-10-20T18:39:20.57606443Z"}"#,
    )
    .unwrap();
    assert_eq!(l.content, "say \"hi\"\ttab \u{e9}");
    assert_eq!(l.stream, Stream::Stderr);
    assert!(!l.partial);
    assert_eq!(l.timestamp, 1_476_988_760_576_064_430);
}

#[test]
fn chunk_without_newline_is_partial() {
    let l = parse(br#"{"log":"part","stream":"stdout","time":"2016-10-20T18:39:20Z"}"#).unwrap();
    assert!(l.partial);
    assert_eq!(l.content, "part");
}

#[test]
fn extra_keys_are_ignored() {
    let l = parse(
        br#"{"log":"x\n","stream":"stdout","attrs":{"a":"b"},"time":"2016-10-20T18:39:20Z"}"#,
    )
    .unwrap();
    assert_eq!(l.content, "x");
}

#[test]
fn malformed() {
    assert!(matches!(parse(b"not json"), Err(DockerParseError::Json(_))));
    assert!(matches!(
        parse(br#"{"log":"x\n","stream":"stdout"}"#),
        Err(DockerParseError::Json(_))
    ));
    assert!(matches!(
        parse(br#"{"log":"x\n","stream":"stdout","time":"yesterday"}"#),
        Err(DockerParseError::Timestamp)
    ));
    assert!(matches!(
        parse(br#"{"log":"x\n","stream":"stdin","time":"2016-10-20T18:39:20Z"}"#),
        Err(DockerParseError::Stream)
    ));
    assert!(matches!(
        parse(b"{\"log\":\"\xff\"}"),
        Err(DockerParseError::Json(_))
    ));
}
