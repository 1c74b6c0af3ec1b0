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

fn collect(pieces: impl Iterator<Item = RawPiece>, max_lines: usize) -> ParseOutput {
    let mut out = ParseOutput::default();
    for raw in pieces {
        let piece = raw.parse(Precision::Nanoseconds, 42);
        assert!(
            piece.metrics.len() + piece.errors.len() <= max_lines,
            "a piece has more than {max_lines} lines"
        );
        out.metrics.extend(piece.metrics);
        out.errors.extend(piece.errors);
    }
    out
}

/// A plain body fed to a splitter in frames of `frame` bytes.
fn plain_pieces(body: &[u8], frame: usize, max_lines: usize) -> Vec<RawPiece> {
    let mut s = Splitter::new(max_lines);
    let mut out = Vec::new();
    for chunk in body.chunks(frame) {
        s.push(chunk);
        while let Some(p) = s.next(false) {
            out.push(p);
        }
    }
    while let Some(p) = s.next(true) {
        out.push(p);
    }
    out
}

fn gzip_pieces(body: &[u8], max_lines: usize) -> Vec<RawPiece> {
    let mut g = GzipPieces::new(gzip(body), max_lines);
    std::iter::from_fn(|| g.next_piece().map(|r| r.expect("piece"))).collect()
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
        for frame in [1, 2, 7, 64, 1 << 20] {
            let plain = plain_pieces(TRICKY.as_bytes(), frame, max);
            let got = collect(plain.into_iter(), max);
            assert_eq!(
                got, expected,
                "plain, {max} lines a piece, frames of {frame}"
            );
        }
        let gz = gzip_pieces(TRICKY.as_bytes(), max);
        assert_eq!(
            collect(gz.into_iter(), max),
            expected,
            "gzip, {max} lines a piece"
        );
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
    let sizes: Vec<usize> = plain_pieces(body.as_bytes(), 16 * 1024, 1_000)
        .iter()
        .map(|p| p.parse(Precision::Nanoseconds, 0).metrics.len())
        .collect();
    assert_eq!(sizes, vec![1_000; 10]);
}

#[test]
fn long_lines_end_a_piece_past_its_byte_size() {
    let line = format!("m s=\"{}\"\n", "x".repeat(100_000));
    let body = line.repeat(30);
    let sizes: Vec<usize> = gzip_pieces(body.as_bytes(), 1_000)
        .iter()
        .map(|p| p.parse(Precision::Nanoseconds, 0).metrics.len())
        .collect();
    // 11 lines make the first line end past 1 MiB.
    assert_eq!(sizes, vec![11, 11, 8]);
}

#[test]
fn the_splitter_keeps_only_what_it_has_not_handed_out() {
    let body = "m v=1i\n".repeat(100_000);
    let mut s = Splitter::new(1_000);
    let mut biggest = 0;
    for chunk in body.as_bytes().chunks(64 * 1024) {
        s.push(chunk);
        biggest = biggest.max(s.buf.capacity());
        while s.next(false).is_some() {}
    }
    assert!(
        biggest <= 4 * 64 * 1024,
        "{biggest} bytes held for frames of 64 KiB"
    );
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
