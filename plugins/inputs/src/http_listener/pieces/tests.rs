//! A body parsed in pieces gives what it gives parsed whole (metrics, bad lines and their
//! numbers), plain or gzip, however small the pieces; no piece has more lines than asked.

use std::io::Write;

use gleaner_api::line_protocol::{ParseOutput, Precision, parse_lines};

use super::*;
use crate::http_listener::cut::Cutter;

/// Lines that stress the cut: strings spanning lines, escaped newlines in and out of quotes,
/// comments with quotes, blank lines, CRLF, bad lines, a last line without a newline.
const TRICKY: &str = "cpu,host=a v=1i 1\n\
    # a \"comment\n\
    \n\
    str s=\"two\nlines\" 2\n\
    esc s=\"back\\\nslash\",t=1 3\n\
    key\\\nbroken v=1\n\
    m\\ x,t=a\\ b v=2 4\r\n\
    bad line here\n\
       lead v=3i 5\n\
    q,t=\"x v=4 6\n\
    uq v=a\"b 7\n\
    s v=\"unterminated\n\
    more\n\
    last v=5i 8";

fn whole(body: &[u8]) -> ParseOutput {
    parse_lines(body, Precision::Nanoseconds, 42)
}

fn in_pieces(mut p: Pieces, max_lines: usize) -> ParseOutput {
    let mut out = ParseOutput::default();
    while let Some(piece) = p.next_piece() {
        let piece = piece.expect("piece");
        assert!(
            piece.metrics.len() + piece.errors.len() <= max_lines,
            "a piece has more than {max_lines} lines"
        );
        out.metrics.extend(piece.metrics);
        out.errors.extend(piece.errors);
    }
    out
}

fn gzip(body: &[u8]) -> Vec<u8> {
    let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    e.write_all(body).expect("gzip");
    e.finish().expect("gzip")
}

#[test]
fn pieces_parse_as_the_whole_body() {
    let expected = whole(TRICKY.as_bytes());
    assert!(!expected.errors.is_empty() && expected.metrics.len() > 5);
    for max in [1, 2, 3, 5, 100] {
        let plain = Pieces::plain(TRICKY.into(), max, Precision::Nanoseconds, 42);
        assert_eq!(
            in_pieces(plain, max),
            expected,
            "plain, {max} lines a piece"
        );
        let gz = Pieces::gzip(gzip(TRICKY.as_bytes()), max, Precision::Nanoseconds, 42);
        assert_eq!(in_pieces(gz, max), expected, "gzip, {max} lines a piece");
    }
}

#[test]
fn the_cutter_finds_the_parsers_line_ends_byte_by_byte() {
    // Fed one byte at a time, the cutter sees the same line ends as fed all at once.
    let body = TRICKY.as_bytes();
    let mut all = Cutter::new();
    let mut at_once = Vec::new();
    let mut pos = 0;
    loop {
        let s = all.scan(&body[pos..], 1, usize::MAX);
        pos += s.consumed;
        if !s.at_line_end {
            break;
        }
        at_once.push(pos);
    }
    let mut one = Cutter::new();
    let mut by_byte = Vec::new();
    for (i, b) in body.iter().enumerate() {
        if one.scan(std::slice::from_ref(b), 1, usize::MAX).at_line_end {
            by_byte.push(i + 1);
        }
    }
    assert_eq!(by_byte, at_once);
    assert_eq!(one.newlines(), body.iter().filter(|&&b| b == b'\n').count());
}

#[test]
fn a_large_body_goes_in_pieces_of_the_asked_size() {
    let body: String = (0..10_000).map(|i| format!("m v={i}i\n")).collect();
    let mut p = Pieces::plain(body.into(), 1_000, Precision::Nanoseconds, 0);
    let mut sizes = Vec::new();
    while let Some(piece) = p.next_piece() {
        sizes.push(piece.expect("piece").metrics.len());
    }
    assert_eq!(sizes, vec![1_000; 10]);
}

#[test]
fn long_lines_end_a_piece_past_its_byte_size() {
    let line = format!("m s=\"{}\"\n", "x".repeat(100_000));
    let body = line.repeat(30);
    let mut p = Pieces::gzip(gzip(body.as_bytes()), 1_000, Precision::Nanoseconds, 0);
    let mut sizes = Vec::new();
    while let Some(piece) = p.next_piece() {
        sizes.push(piece.expect("piece").metrics.len());
    }
    // 11 lines make the first line end past 1 MiB.
    assert_eq!(sizes, vec![11, 11, 8]);
}

#[test]
fn gzip_is_checked_whole_before_anything_is_parsed() {
    let body = "m v=1i\n".repeat(1_000);
    let gz = gzip(body.as_bytes());
    assert_eq!(check_gzip(&gz, 10_000).ok(), Some(7_000));
    assert!(matches!(
        check_gzip(&gz, 6_999),
        Err(GunzipError::TooLarge { limit: 6_999 })
    ));
    let mut cut = gz.clone();
    cut.truncate(gz.len() / 2);
    assert!(matches!(
        check_gzip(&cut, 10_000),
        Err(GunzipError::Invalid(_))
    ));
}
