//! The writer against byte-at-a-time references and the float rule's examples.

use super::*;

/// The escaper one byte at a time: the reference for the word-at-a-time one.
fn reference(s: &str) -> Vec<u8> {
    let mut out = Vec::new();
    for c in s.chars() {
        match c {
            '"' => out.extend_from_slice(b"\\\""),
            '\\' => out.extend_from_slice(b"\\\\"),
            '\n' => out.extend_from_slice(b"\\n"),
            '\r' => out.extend_from_slice(b"\\r"),
            '\t' => out.extend_from_slice(b"\\t"),
            '\u{8}' => out.extend_from_slice(b"\\b"),
            '\u{c}' => out.extend_from_slice(b"\\f"),
            c if (c as u32) < 0x20 => {
                out.extend_from_slice(format!("\\u{:04x}", c as u32).as_bytes())
            }
            c => out.extend_from_slice(c.encode_utf8(&mut [0; 4]).as_bytes()),
        }
    }
    out
}

#[test]
fn word_at_a_time_escaping_matches_the_reference_for_every_ascii_byte_at_every_offset() {
    for b in 0u8..0x80 {
        for at in 0..36 {
            for len in [at + 1, 17, 24, 33, 40] {
                let mut s: Vec<u8> =
                    b"abcdefghijklmnopqrstuvwxyz0123456789ABCD"[..len.max(at + 1).min(40)].to_vec();
                s[at] = b;
                let s = String::from_utf8(s).unwrap();
                let mut got = Vec::new();
                write_escaped(&mut got, &s);
                assert_eq!(got, reference(&s), "byte {b:#x} at {at} in {s:?}");
            }
        }
    }
    for s in [
        "",
        "plain",
        "ünïcødé \u{7f} \u{1f}\u{0}",
        "a\"b\\c\nd",
        &"x".repeat(1000),
        r#"{"ts":"2026-11-21T04:00:00.849Z","level":"info","msg":"a \"quoted\" word"}"#,
        "\"\"\"\"\"\"\"\"\"\"\"\"\"\"\"\"\"\"\"\"",
        "\u{1}\u{2}\u{3}\u{4}\u{5}\u{6}\u{7}\u{8}\u{9}\u{a}\u{b}\u{c}\u{d}\u{e}\u{f}\u{10}\u{11}",
        "ab\"cdéfgh\\ijklmn€op\"q😀rstuvwxyz\"",
    ] {
        let mut got = Vec::new();
        write_escaped(&mut got, s);
        assert_eq!(got, reference(s), "{s:?}");
    }
}

/// `write_bytes_lossy` on `bytes` against `from_utf8_lossy` and the reference escaper, and
/// whether it says it replaced something.
fn assert_lossy_matches_the_reference(bytes: &[u8]) {
    let mut got = Vec::new();
    let replaced = write_bytes_lossy(&mut got, bytes);
    let mut want = b"\"".to_vec();
    want.extend(reference(&String::from_utf8_lossy(bytes)));
    want.push(b'"');
    assert_eq!(got, want, "{bytes:x?}");
    assert_eq!(replaced, std::str::from_utf8(bytes).is_err(), "{bytes:x?}");
}

/// The lossy writer in one pass against `from_utf8_lossy` and the byte-at-a-time escaper:
/// valid and invalid sequences (truncated, overlong, surrogates, stray continuation bytes,
/// bytes above F4) at every offset around the word boundaries, with escapes beside them.
#[test]
fn lossy_writing_matches_from_utf8_lossy_at_every_offset() {
    let pieces: [&[u8]; 12] = [
        "é".as_bytes(),
        "€".as_bytes(),
        "😀".as_bytes(),
        b"\xe2\x82",
        b"\xc0\xaf",
        b"\xed\xa0\x80",
        b"\x80",
        b"\xf5\x80\x80\x80",
        b"\xf0\x9f\x98",
        b"\"",
        b"\n",
        b"\xff",
    ];
    for piece in pieces {
        for at in 0..36 {
            for after in [&b""[..], b"tail text", b"\\", "ü".as_bytes()] {
                let mut bytes = b"abcdefghijklmnopqrstuvwxyz0123456789ABCD"[..at].to_vec();
                bytes.extend_from_slice(piece);
                bytes.extend_from_slice(after);
                assert_lossy_matches_the_reference(&bytes);
            }
        }
    }
}

fn text(write: impl FnOnce(&mut Vec<u8>)) -> String {
    let mut buf = Vec::new();
    write(&mut buf);
    String::from_utf8(buf).unwrap()
}

#[test]
fn floats_are_their_shortest_round_trip_form_in_plain_notation_from_1e_minus_5_to_1e16() {
    for (f, want) in [
        (0.0, "0.0"),
        (-0.0, "-0.0"),
        (3.0, "3.0"),
        (99.5, "99.5"),
        (0.1, "0.1"),
        (0.30000000000000004, "0.30000000000000004"),
        (1e-5, "0.00001"),
        (1e-7, "1e-7"),
        (-2.5e-12, "-2.5e-12"),
        (1e15, "1000000000000000.0"),
        (1e16, "1e+16"),
        (1.5e16, "1.5e+16"),
        (f64::MAX, "1.7976931348623157e+308"),
        (5e-324, "5e-324"),
    ] {
        let got = text(|b| write_f64(b, f));
        assert_eq!(got, want, "{f:e}");
        serde_json::from_str::<serde_json::Value>(&got).expect("valid JSON");
        // Rust's parser rounds correctly (serde_json's default one may be 1 ulp off).
        let back: f64 = got.parse().expect("a float");
        assert_eq!(back.to_bits(), f.to_bits(), "{got} does not round-trip");
    }
}

#[test]
fn non_finite_floats_are_null_as_values_and_their_name_as_text() {
    for f in [f64::NAN, f64::INFINITY, f64::NEG_INFINITY] {
        assert_eq!(text(|b| write_f64(b, f)), "null");
        assert_eq!(text(|b| write_value(b, &FieldValue::Float(f))), "null");
    }
    let t = |f| text(|b| write_value_text(b, &FieldValue::Float(f)));
    assert_eq!(
        [t(f64::NAN), t(f64::INFINITY), t(f64::NEG_INFINITY)],
        ["\"NaN\"", "\"inf\"", "\"-inf\""]
    );
}

#[test]
fn typed_values_and_their_text() {
    let cases = [
        (FieldValue::Int(-42), "-42", "\"-42\""),
        (
            FieldValue::Int(i64::MIN),
            "-9223372036854775808",
            "\"-9223372036854775808\"",
        ),
        (
            FieldValue::UInt(u64::MAX),
            "18446744073709551615",
            "\"18446744073709551615\"",
        ),
        (FieldValue::Float(3.0), "3.0", "\"3.0\""),
        (FieldValue::Bool(true), "true", "\"true\""),
        (FieldValue::Bool(false), "false", "\"false\""),
        (
            FieldValue::String("a\"b".into()),
            "\"a\\\"b\"",
            "\"a\\\"b\"",
        ),
    ];
    for (v, value, value_text) in cases {
        assert_eq!(text(|b| write_value(b, &v)), value, "{v:?}");
        assert_eq!(text(|b| write_value_text(b, &v)), value_text, "{v:?}");
    }
}

proptest::proptest! {
    /// Every float is valid JSON that reads back to itself (or `null` when not finite).
    #[test]
    fn every_float_round_trips(bits in proptest::num::u64::ANY) {
        let f = f64::from_bits(bits);
        let got = text(|b| write_f64(b, f));
        serde_json::from_str::<serde_json::Value>(&got).expect("valid JSON");
        if f.is_finite() {
            let back: f64 = got.parse().expect("a float");
            proptest::prop_assert_eq!(back.to_bits(), f.to_bits());
        } else {
            proptest::prop_assert_eq!(got, "null");
        }
    }

    /// Any bytes are written as what `from_utf8_lossy` makes of them, escaped.
    #[test]
    fn any_bytes_are_written_as_their_lossy_text(bytes in proptest::collection::vec(proptest::prelude::any::<u8>(), 0..64)) {
        let mut got = Vec::new();
        let replaced = write_bytes_lossy(&mut got, &bytes);
        let back: String = serde_json::from_slice(&got).expect("valid JSON");
        proptest::prop_assert_eq!(back, String::from_utf8_lossy(&bytes));
        proptest::prop_assert_eq!(replaced, std::str::from_utf8(&bytes).is_err());
    }

    /// Any string is written as JSON that reads back to itself.
    #[test]
    fn every_string_round_trips(s in proptest::prelude::any::<String>()) {
        let got = text(|b| write_str(b, &s));
        let back: String = serde_json::from_str(&got).expect("valid JSON");
        proptest::prop_assert_eq!(back, s);
    }
}

/// A byte after one to escape (which a borrow of the word's mask may mark too) is written
/// as the reference writes it, for every ASCII byte after every kind of escape, at every
/// place in a word.
#[test]
fn bytes_after_an_escape_match_the_reference() {
    for first in [b'"', b'\\', b'\n', 0x00, 0x01, 0x1f] {
        for b in 0u8..0x80 {
            for at in 0..10 {
                let mut s = b"abcdefghijklmnopqr".to_vec();
                s[at] = first;
                s[at + 1] = b;
                let s = String::from_utf8(s).unwrap();
                let mut got = Vec::new();
                write_escaped(&mut got, &s);
                assert_eq!(got, reference(&s), "{s:?}");
            }
        }
    }
}

/// Clean blocks (four words copied at once) and the words of the block that stops one: every
/// kind of byte to escape or check, alone or with a second one further on, at every offset
/// of a text three blocks long, escaped and lossy, against the references.
#[test]
fn clean_blocks_then_a_byte_to_escape_at_every_offset_match_the_references() {
    let clean =
        b"the quick brown fox jumps over the lazy dog 0123456789 ABCDEFGHIJKLMNOPQRSTUVWXYZ-";
    let pieces: [&[u8]; 8] = [
        b"\"",
        b"\\",
        b"\n",
        b"\x1f",
        b"\x7f",
        "é".as_bytes(),
        "😀".as_bytes(),
        b"\xff",
    ];
    for piece in pieces {
        for at in 0..clean.len() - 4 {
            for second in [None, Some(at + 9), Some(at + 33)] {
                let mut bytes = clean[..at].to_vec();
                bytes.extend_from_slice(piece);
                bytes.extend_from_slice(&clean[at..]);
                if let Some(j) = second.filter(|&j| j < bytes.len()) {
                    bytes.insert(j, b'"');
                }
                assert_lossy_matches_the_reference(&bytes);
                if let Ok(s) = std::str::from_utf8(&bytes) {
                    let mut got = Vec::new();
                    write_escaped(&mut got, s);
                    assert_eq!(got, reference(s), "{s:?}");
                }
            }
        }
    }
}
