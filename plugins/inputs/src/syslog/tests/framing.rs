//! RFC 6587 framing fed whole and in pieces down to one byte: octet counting, newlines,
//! auto, over-long messages, framing errors and the end of a stream.

use super::super::framing::{Decoder, Framing, Step};
use super::super::message::ParseError;

/// Frames of `input` fed in pieces of `chunk` bytes, as (text, truncated, error).
fn frames(
    framing: Framing,
    max: usize,
    input: &[u8],
    chunk: usize,
) -> Vec<(String, bool, Option<ParseError>)> {
    let mut d = Decoder::new(framing, max);
    let mut buf: Vec<u8> = Vec::new();
    let mut out = Vec::new();
    for piece in input.chunks(chunk.max(1)) {
        buf.extend_from_slice(piece);
        loop {
            match d.next(&buf) {
                Step::Frame {
                    start,
                    end,
                    consumed,
                    truncated,
                    error,
                } => {
                    out.push((
                        String::from_utf8_lossy(&buf[start..end]).into_owned(),
                        truncated,
                        error,
                    ));
                    buf.drain(..consumed);
                }
                Step::Skip(n) => {
                    buf.drain(..n);
                }
                Step::NeedMore => break,
            }
        }
        assert!(
            buf.len() <= d.buffer_needed(),
            "the decoder must not need more than it says"
        );
    }
    if let Some((s, e, err)) = d.finish(&buf) {
        out.push((String::from_utf8_lossy(&buf[s..e]).into_owned(), false, err));
    }
    out
}

#[test]
fn framing_octet_counting_newline_and_auto() {
    let counted = b"11 <13>1 - - a5 <13>b\n\n25 <13>with\nan embedded LF";
    let newline = b"<13>one\r\n\n<13>two\n<13>three";
    for chunk in [1, 2, 3, 7, 1000] {
        let f = frames(Framing::OctetCounting, 1024, counted, chunk);
        let texts: Vec<&str> = f.iter().map(|x| x.0.as_str()).collect();
        assert_eq!(
            texts,
            ["<13>1 - - a", "<13>b", "<13>with\nan embedded LF"],
            "chunk {chunk}"
        );
        let f = frames(Framing::Newline, 1024, newline, chunk);
        let texts: Vec<&str> = f.iter().map(|x| x.0.as_str()).collect();
        assert_eq!(
            texts,
            ["<13>one\r", "<13>two", "<13>three"],
            "chunk {chunk}"
        );
        // auto: both kinds in one stream, decided per message.
        let mixed = b"5 <13>a<13>line\n12 <13>counted\n<13>last\n";
        let f = frames(Framing::Auto, 1024, mixed, chunk);
        let texts: Vec<&str> = f.iter().map(|x| x.0.as_str()).collect();
        assert_eq!(
            texts,
            ["<13>a", "<13>line", "<13>counted\n", "<13>last"],
            "chunk {chunk}"
        );
        assert!(f.iter().all(|x| !x.1 && x.2.is_none()));
    }
}

#[test]
fn framing_cuts_over_long_messages_and_skips_their_rest() {
    let mut long_line = vec![b'x'; 5000];
    long_line.extend_from_slice(b"\n<13>after\n");
    let mut long_count = b"5000 ".to_vec();
    long_count.extend(std::iter::repeat_n(b'y', 5000));
    long_count.extend_from_slice(b"9 <13>after");
    for chunk in [1, 100, 4096, 100_000] {
        for (framing, input, cut) in [
            (Framing::Newline, &long_line, "x"),
            (Framing::Auto, &long_line, "x"),
            (Framing::Auto, &long_count, "y"),
            (Framing::OctetCounting, &long_count, "y"),
        ] {
            let f = frames(framing, 1000, input, chunk);
            assert_eq!(f.len(), 2, "{framing:?} chunk {chunk}: {f:?}");
            assert_eq!(f[0], (cut.repeat(1000), true, None));
            assert_eq!(f[1], ("<13>after".to_owned(), false, None));
        }
    }
}

#[test]
fn framing_errors_and_the_end_of_a_stream() {
    // A counted frame cut short by the end of the connection.
    let f = frames(Framing::Auto, 1024, b"5 <13>a20 <13>only part", 3);
    assert_eq!(
        f[1],
        (
            "<13>only part".to_owned(),
            false,
            Some(ParseError::IncompleteFrame)
        )
    );
    // Only a length arrived.
    let f = frames(Framing::OctetCounting, 1024, b"123", 1);
    assert_eq!(
        f,
        [("123".to_owned(), false, Some(ParseError::IncompleteFrame))]
    );
    // Strict octet counting: a frame without a length is flagged, up to its LF.
    let f = frames(Framing::OctetCounting, 1024, b"<13>no length\n5 <13>a", 4);
    assert_eq!(
        f[0],
        (
            "<13>no length".to_owned(),
            false,
            Some(ParseError::InvalidOctetCount)
        )
    );
    assert_eq!(f[1], ("<13>a".to_owned(), false, None));
    // Auto: digits without a space are a line.
    let f = frames(Framing::Auto, 1024, b"123abc\n", 1);
    assert_eq!(f, [("123abc".to_owned(), false, None)]);
    // An absurd length (11 digits) is not a length.
    let f = frames(Framing::Auto, 1024, b"99999999999 x\n", 1);
    assert_eq!(f, [("99999999999 x".to_owned(), false, None)]);
    // Nothing but blank lines: nothing.
    assert!(frames(Framing::Auto, 1024, b"\n\r\n\0", 1).is_empty());
}
