//! The export parser on streams real `journalctl -o export` wrote (`testdata/journald/`,
//! made from journal files `systemd-journal-remote` built), fed whole and byte by byte,
//! and on damaged ones: a binary field cut by the end of the stream, a binary length that
//! lies, an oversized value, and arbitrary bytes (proptest: never a panic).

use proptest::prelude::*;

use super::*;

const ENTRIES: &[u8] = include_bytes!("../../../testdata/journald/entries.export");
const TRUNCATED: &[u8] = include_bytes!("../../../testdata/journald/truncated_binary.export");
const BAD_LENGTH: &[u8] = include_bytes!("../../../testdata/journald/bad_binary_length.export");

/// What a stream parsed to: each entry's fields (owned), the errors, and `finish`.
#[derive(Debug, Default, PartialEq)]
struct Parsed {
    entries: Vec<Vec<(Vec<u8>, Vec<u8>)>>,
    truncated: Vec<bool>,
    errors: Vec<ExportError>,
    cut_at_end: bool,
}

fn drain(p: &mut Parser, out: &mut Parsed) {
    loop {
        match p.next() {
            Next::Entry(e) => {
                out.entries
                    .push(e.fields().map(|(n, v)| (n.to_vec(), v.to_vec())).collect());
                out.truncated.push(e.truncated);
            }
            Next::Malformed(e) => out.errors.push(e),
            Next::NeedMore => break,
        }
    }
}

fn parse_in_pieces(stream: &[u8], piece: usize, max_entry: usize) -> Parsed {
    let mut p = Parser::new(max_entry);
    let mut out = Parsed::default();
    for chunk in stream.chunks(piece.max(1)) {
        p.feed(chunk);
        drain(&mut p, &mut out);
    }
    out.cut_at_end = p.finish();
    out
}

fn field<'a>(entry: &'a [(Vec<u8>, Vec<u8>)], name: &str) -> Option<&'a [u8]> {
    entry
        .iter()
        .find(|(n, _)| n == name.as_bytes())
        .map(|(_, v)| v.as_slice())
}

#[test]
fn parses_text_and_binary_fields_of_real_journalctl_output() {
    let out = parse_in_pieces(ENTRIES, usize::MAX, 1 << 20);
    assert_eq!(out.entries.len(), 5);
    assert!(out.errors.is_empty() && !out.cut_at_end);
    assert_eq!(out.truncated, vec![false; 5]);
    let e = &out.entries;
    assert_eq!(field(&e[0], "MESSAGE"), Some(&b"Started kubelet"[..]));
    assert!(
        field(&e[0], "__CURSOR")
            .is_some_and(|c| c.starts_with(b"s=810bbf1e698c4ee9b2d276a69f68941f;i=1;"))
    );
    assert_eq!(
        field(&e[2], "MESSAGE"),
        Some(&b"panic: boom\ngoroutine 1 [running]:\nmain.main()"[..]),
        "a binary field (a value with newlines)"
    );
    assert_eq!(
        field(&e[3], "MESSAGE"),
        Some(&b"bad bytes \xff\xfe here"[..])
    );
    assert_eq!(field(&e[3], "BLOB"), Some(&b"\x00\x01\x02\xff"[..]));
    assert_eq!(field(&e[4], "_SYSTEMD_UNIT"), None);
    assert_eq!(field(&e[4], "_TRANSPORT"), Some(&b"kernel"[..]));
}

#[test]
fn any_split_of_the_stream_gives_the_same_entries() {
    let whole = parse_in_pieces(ENTRIES, usize::MAX, 1 << 20);
    for piece in [1, 2, 3, 7, 8, 9, 64, 500] {
        assert_eq!(
            parse_in_pieces(ENTRIES, piece, 1 << 20),
            whole,
            "pieces of {piece}"
        );
    }
}

#[test]
fn a_binary_field_cut_by_the_end_of_the_stream_is_reported_and_the_rest_kept() {
    for piece in [1, 5, usize::MAX] {
        let out = parse_in_pieces(TRUNCATED, piece, 1 << 20);
        assert_eq!(out.entries.len(), 3, "the three entries before the cut one");
        assert!(out.errors.is_empty());
        assert!(out.cut_at_end, "the cut entry is reported at the end");
    }
    // The parser is reset by finish: a new stream parses from scratch.
    let mut p = Parser::new(1 << 20);
    p.feed(TRUNCATED);
    drain(&mut p, &mut Parsed::default());
    assert!(p.finish());
    p.feed(ENTRIES);
    let mut out = Parsed::default();
    drain(&mut p, &mut out);
    assert_eq!(out.entries.len(), 5);
    assert!(!p.finish());
}

#[test]
fn a_binary_length_that_lies_skips_that_entry_only() {
    for piece in [1, 3, usize::MAX] {
        let out = parse_in_pieces(BAD_LENGTH, piece, 1 << 20);
        assert_eq!(
            out.errors,
            vec![ExportError::BadBinaryFraming],
            "pieces of {piece}"
        );
        let ids: Vec<&[u8]> = out
            .entries
            .iter()
            .filter_map(|e| field(e, "__MONOTONIC_TIMESTAMP"))
            .collect();
        assert_eq!(ids, vec![&b"1000"[..], b"1001", b"1003", b"1004"]);
        assert!(!out.cut_at_end);
    }
}

#[test]
fn oversized_values_are_cut_at_the_limit_and_the_stream_goes_on() {
    let big_text = vec![b'a'; 10_000];
    let big_bin: Vec<u8> = (0..20_000u32).map(|i| (i % 251) as u8).collect();
    let mut s = Vec::new();
    s.extend_from_slice(b"__CURSOR=c1\nMESSAGE=");
    s.extend_from_slice(&big_text);
    s.extend_from_slice(b"\nAFTER=x\n\n__CURSOR=c2\nBLOB\n");
    s.extend_from_slice(&(big_bin.len() as u64).to_le_bytes());
    s.extend_from_slice(&big_bin);
    s.extend_from_slice(b"\nMESSAGE=after blob\n\n__CURSOR=c3\nMESSAGE=small\n\n");
    for piece in [1, 100, 4096, usize::MAX] {
        let out = parse_in_pieces(&s, piece, 1000);
        assert!(out.errors.is_empty(), "pieces of {piece}: {:?}", out.errors);
        assert_eq!(out.entries.len(), 3, "pieces of {piece}");
        assert_eq!(out.truncated, vec![true, true, false]);
        let e = &out.entries;
        let msg = field(&e[0], "MESSAGE").unwrap();
        assert!(
            msg.len() < 1000 && msg.iter().all(|&b| b == b'a'),
            "{}",
            msg.len()
        );
        assert_eq!(
            msg.len(),
            1000 - "__CURSOR=c1\nMESSAGE=".len(),
            "cut at the limit"
        );
        assert_eq!(field(&e[0], "AFTER"), Some(&b""[..]), "emptied, name kept");
        let blob = field(&e[1], "BLOB").unwrap();
        assert_eq!(blob.len(), 1000 - "__CURSOR=c2\nBLOB\n".len() - 8);
        assert!(big_bin.starts_with(blob));
        assert_eq!(field(&e[1], "MESSAGE"), Some(&b""[..]));
        assert_eq!(field(&e[2], "MESSAGE"), Some(&b"small"[..]));
        assert!(!out.cut_at_end);
    }
}

#[test]
fn a_huge_binary_length_is_never_allocated() {
    let mut s = b"__CURSOR=c1\nBLOB\n".to_vec();
    s.extend_from_slice(&u64::MAX.to_le_bytes());
    s.extend_from_slice(&[7u8; 5000]);
    let mut p = Parser::new(1000);
    p.feed(&s);
    let mut out = Parsed::default();
    drain(&mut p, &mut out);
    assert!(p.buf.len() < 2000, "buffer held {} bytes", p.buf.len());
    assert!(p.finish(), "the stream ended inside the value");
}

#[test]
fn a_field_name_without_end_is_malformed() {
    let mut s = b"__CURSOR=c1\n".to_vec();
    s.extend_from_slice(&[b'X'; 400]);
    s.extend_from_slice(b"\n\n__CURSOR=c2\nMESSAGE=ok\n\n");
    let out = parse_in_pieces(&s, 50, 1 << 20);
    assert_eq!(out.errors, vec![ExportError::BadFieldName]);
    assert_eq!(out.entries.len(), 1);
    assert_eq!(field(&out.entries[0], "MESSAGE"), Some(&b"ok"[..]));
}

#[test]
fn too_many_fields_are_dropped_and_flagged() {
    let mut s = Vec::new();
    for i in 0..MAX_FIELDS + 10 {
        s.extend_from_slice(format!("F{i}=v\n").as_bytes());
    }
    s.push(b'\n');
    let out = parse_in_pieces(&s, usize::MAX, 1 << 20);
    assert_eq!(out.entries[0].len(), MAX_FIELDS);
    assert_eq!(out.truncated, vec![true]);
}

proptest! {
    #[test]
    fn arbitrary_bytes_never_panic(data in proptest::collection::vec(any::<u8>(), 0..2000), piece in 1usize..64) {
        let mut s = ENTRIES.to_vec();
        s.extend_from_slice(&data);
        s.extend_from_slice(ENTRIES);
        let out = parse_in_pieces(&s, piece, 300);
        prop_assert!(out.entries.len() >= 5);
    }
}
