//! The parsers against fixtures (`testdata/parse/failures.tsv`: every failure mode) and,
//! for JSON, against serde_json on generated documents.

use gleaner_api::FieldValue;
use proptest::prelude::*;
use regex::bytes::Regex;

use super::*;
use crate::testkit::fixture_lines;

fn parse(f: &Format, text: &[u8]) -> Result<Vec<(String, FieldValue)>, Failure> {
    let mut out = vec![(gleaner_api::Key::from_static("kept"), FieldValue::Int(0))];
    let r = f.parse_into(
        text,
        "log.",
        &Limits::DEFAULT,
        &mut MemberKeys::new(),
        &mut out,
    );
    match r {
        Ok(()) => Ok(out
            .split_off(1)
            .into_iter()
            .map(|(k, v)| (k.to_string_owned(), v))
            .collect()),
        Err(e) => {
            assert_eq!(out.len(), 1, "a failure leaves the list as it was");
            Err(e)
        }
    }
}

fn s(v: &str) -> FieldValue {
    FieldValue::String(v.into())
}

fn format(name: &str) -> Format {
    match name {
        "regex" => Format::Regex(Regex::new(r"status=(?P<status>\d+)").expect("regex")),
        other => Format::named(other).expect("known format"),
    }
}

#[test]
fn every_failure_mode_in_the_fixture_fails_with_its_reason() {
    let lines = fixture_lines("parse/failures.tsv");
    assert!(lines.len() > 30);
    let mut reasons = std::collections::BTreeSet::new();
    for line in lines {
        let mut cols = line.splitn(3, |&b| b == b'\t');
        let fmt = String::from_utf8(cols.next().expect("format").to_vec()).expect("utf8");
        let want = String::from_utf8(cols.next().expect("reason").to_vec()).expect("utf8");
        let text = cols.next().unwrap_or_default();
        let got = parse(&format(&fmt), text).expect_err(&String::from_utf8_lossy(text));
        assert_eq!(
            got.reason(),
            want,
            "{fmt}: {:?}",
            String::from_utf8_lossy(text)
        );
        reasons.insert(want);
    }
    let mut wide = String::from("{");
    for i in 0..=Limits::DEFAULT.max_keys {
        wide.push_str(&format!("\"k{i}\":{i},"));
    }
    wide.pop();
    wide.push('}');
    assert_eq!(
        parse(&Format::Json, wide.as_bytes()),
        Err(Failure::TooManyKeys)
    );
    let pairs: String = (0..=Limits::DEFAULT.max_keys)
        .map(|i| format!("k{i}=1 "))
        .collect();
    assert_eq!(
        parse(&Format::Logfmt, pairs.as_bytes()),
        Err(Failure::TooManyKeys)
    );
    reasons.insert("too_many_keys".to_owned());
    let all = [
        Failure::NotUtf8,
        Failure::NotJson,
        Failure::NotAnObject,
        Failure::InvalidJson,
        Failure::TooDeep,
        Failure::TooManyKeys,
        Failure::InvalidLogfmt,
        Failure::NoPairs,
        Failure::NoMatch,
    ];
    for f in all {
        assert!(
            reasons.contains(f.reason()),
            "no fixture for {}",
            f.reason()
        );
    }
}

#[test]
fn json_members_keep_their_types_and_nested_values_their_compact_text() {
    let got = parse(
        &Format::Json,
        br#" {"level":"info","status":200,"ms":1.5,"ok":true,"n":null,"ctx":{ "a" : [1, "x y"] },"u":18446744073709551615} "#,
    )
    .expect("parses");
    assert_eq!(
        got,
        vec![
            ("log.level".into(), s("info")),
            ("log.status".into(), FieldValue::Int(200)),
            ("log.ms".into(), FieldValue::Float(1.5)),
            ("log.ok".into(), FieldValue::Bool(true)),
            ("log.ctx".into(), s(r#"{"a":[1,"x y"]}"#)),
            ("log.u".into(), FieldValue::UInt(u64::MAX)),
        ]
    );
    let got = parse(
        &Format::Json,
        br#"{"e":"a\"b\\c\/d\n\u00e9\ud83d\ude00\udc00"}"#,
    )
    .expect("parses");
    assert_eq!(got[0].1, s("a\"b\\c/d\né😀\u{FFFD}"));
}

#[test]
fn logfmt_kv_and_regex() {
    let got = parse(
        &Format::Logfmt,
        br#"level=warn msg="disk \"sda\" full" path=/var dry_run"#,
    )
    .expect("parses");
    assert_eq!(
        got,
        vec![
            ("log.level".into(), s("warn")),
            ("log.msg".into(), s("disk \"sda\" full")),
            ("log.path".into(), s("/var")),
            ("log.dry_run".into(), FieldValue::Bool(true)),
        ]
    );
    let kv = Format::Kv(KvOptions {
        pair_separator: ",".into(),
        value_separator: ":".into(),
    });
    let got = parse(&kv, r#"user: ann , note:"a, b: c",junk, :x,é:1"#.as_bytes()).expect("parses");
    assert_eq!(
        got,
        vec![
            ("log.user".into(), s("ann")),
            ("log.note".into(), s("a, b: c")),
            ("log.é".into(), s("1")),
        ]
    );
    let got = parse(&format("kv"), b"a=1   b=\"two words\" c").expect("parses");
    assert_eq!(
        got,
        vec![("log.a".into(), s("1")), ("log.b".into(), s("two words"))]
    );
    let re = Format::Regex(
        Regex::new(r"^(?P<ip>\S+) (?:(?P<user>u\S+) )?(?P<status>\d+)").expect("regex"),
    );
    let got = parse(&re, b"10.0.0.1 404 \xff").expect("parses");
    assert_eq!(
        got,
        vec![
            ("log.ip".into(), s("10.0.0.1")),
            ("log.status".into(), s("404"))
        ]
    );
}

/// What serde_json makes of a top-level member, in our terms.
fn expected(v: &serde_json::Value) -> Option<FieldValue> {
    use serde_json::Value;
    Some(match v {
        Value::Null => return None,
        Value::Bool(b) => FieldValue::Bool(*b),
        Value::Number(n) => match (n.as_i64(), n.as_u64()) {
            (Some(i), _) => FieldValue::Int(i),
            (None, Some(u)) => FieldValue::UInt(u),
            _ => FieldValue::Float(n.as_f64()?),
        },
        Value::String(s) => FieldValue::String(s.as_str().into()),
        nested => FieldValue::String(nested.to_string().into()),
    })
}

fn json_value() -> impl Strategy<Value = serde_json::Value> {
    use serde_json::Value;
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(Value::from),
        any::<u64>().prop_map(Value::from),
        (-1e6..1e6_f64).prop_map(Value::from),
        "\\PC{0,12}".prop_map(Value::String),
    ];
    leaf.prop_recursive(4, 24, 4, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..4).prop_map(Value::Array),
            prop::collection::btree_map("[a-z\"\\\\]{0,4}", inner, 0..4)
                .prop_map(|m| Value::Object(m.into_iter().collect())),
        ]
    })
}

proptest! {
    #[test]
    fn json_agrees_with_serde_json(
        members in prop::collection::btree_map("\\PC{0,8}", json_value(), 0..8),
        pretty in any::<bool>(),
    ) {
        let doc = serde_json::Value::Object(members.clone().into_iter().collect());
        let text = if pretty {
            serde_json::to_string_pretty(&doc)
        } else {
            serde_json::to_string(&doc)
        }
        .expect("serialize");
        let got = parse(&Format::Json, text.as_bytes()).expect("parses");
        let want: Vec<(String, FieldValue)> = members
            .iter()
            .filter_map(|(k, v)| Some((format!("log.{k}"), expected(v)?)))
            .collect();
        prop_assert_eq!(got, want);
    }
}

/// The names of `text`'s members parsed with `keys` (kept across calls), under `prefix`.
fn names_with(keys: &mut MemberKeys, prefix: &str, text: &str) -> Vec<String> {
    let mut out = Vec::new();
    Format::Json
        .parse_into(text.as_bytes(), prefix, &Limits::DEFAULT, keys, &mut out)
        .expect("parses");
    out.into_iter().map(|(k, _)| k.to_string_owned()).collect()
}

#[test]
fn member_names_by_position_follow_each_line() {
    // One `MemberKeys` over lines whose members move, grow, shrink and share prefixes and
    // suffixes: every line gets its own names, as a fresh cache gives them.
    let lines = [
        r#"{"a":1,"ab":2,"b":3}"#,
        r#"{"ab":1,"a":2,"b":3}"#,
        r#"{"b":1,"ab":2}"#,
        r#"{"ba":1,"bab":2,"b":3,"c":4}"#,
        r#"{"a":1,"ab":2,"b":3}"#,
        r#"{"log.a":1,"":2,"a":3}"#,
        r#"{"msg":"x","msg":"y"}"#,
    ];
    let mut kept = MemberKeys::new();
    for prefix in ["log.", "", "l"] {
        for line in lines {
            assert_eq!(
                names_with(&mut kept, prefix, line),
                names_with(&mut MemberKeys::new(), prefix, line),
                "{prefix:?} {line}"
            );
        }
    }
}

proptest! {
    #[test]
    fn member_names_kept_across_lines_are_the_lines_own(
        docs in prop::collection::vec(
            prop::collection::vec(("[ab.]{0,3}", 0_i64..3), 0..6), 1..8),
    ) {
        let mut kept = MemberKeys::new();
        for members in docs {
            let body: Vec<String> = members
                .iter()
                .map(|(k, v)| format!("{}:{v}", serde_json::to_string(k).expect("key")))
                .collect();
            let text = format!("{{{}}}", body.join(","));
            let want: Vec<String> = members.iter().map(|(k, _)| format!("log.{k}")).collect();
            prop_assert_eq!(names_with(&mut kept, "log.", &text), want);
        }
    }

    #[test]
    fn quote_or_backslash_agrees_with_memchr2(text in prop::collection::vec(
        prop_oneof![
            1 => Just(b'"'),
            1 => Just(b'\\'),
            30 => Just(b'a'),
            2 => Just(0xa2_u8),
            2 => Just(0_u8),
        ],
        0..80,
    )) {
        prop_assert_eq!(
            json::quote_or_backslash(&text),
            memchr::memchr2(b'"', b'\\', &text)
        );
    }
}

/// A number read by the short path is the one the standard parsers give (`i64`, else `u64`,
/// else `f64`), at the lengths where it hands over to them.
#[test]
fn numbers_read_as_the_standard_parsers_read_them() {
    let std_value = |t: &str| -> FieldValue {
        let float = t.contains(['.', 'e', 'E']);
        if !float {
            if let Ok(v) = t.parse::<i64>() {
                return FieldValue::Int(v);
            }
            if let Ok(v) = t.parse::<u64>() {
                return FieldValue::UInt(v);
            }
        }
        FieldValue::Float(t.parse::<f64>().expect("a JSON number"))
    };
    let mut texts: Vec<String> = [
        "0",
        "-0",
        "0.0",
        "-0.0",
        "1",
        "-1",
        "12.3",
        "0.1",
        "0.3",
        "-2.5",
        "1e3",
        "1.5E-2",
        "9007199254740993",
        "123456789012345",
        "123456789012345678",
        "1234567890123456789",
        "9223372036854775807",
        "9223372036854775808",
        "-9223372036854775808",
        "18446744073709551616",
        "1.23456789012345",
        "12345678901234.5",
        "1.234567890123456",
        "0.000000000000001",
        "0.0000000000000001",
        "99999999999999.9",
        "999999999999999.9",
    ]
    .iter()
    .map(|s| (*s).to_owned())
    .collect();
    let mut x: u64 = 0x9e37_79b9_7f4a_7c15;
    for _ in 0..2000 {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        let digits = x.to_string();
        let cut = (x % 20) as usize % digits.len();
        let sign = if x.is_multiple_of(3) { "-" } else { "" };
        let int = digits[..=cut].trim_start_matches('0');
        let int = if int.is_empty() { "0" } else { int };
        texts.push(format!("{sign}{int}"));
        if cut + 1 < digits.len() {
            texts.push(format!("{sign}{int}.{}", &digits[cut + 1..]));
        }
    }
    for t in &texts {
        let got = parse(&format("json"), format!(r#"{{"n":{t}}}"#).as_bytes())
            .unwrap_or_else(|e| panic!("{t}: {e:?}"));
        let want = std_value(t);
        match (&got[0].1, &want) {
            (FieldValue::Float(a), FieldValue::Float(b)) => {
                assert_eq!(a.to_bits(), b.to_bits(), "{t}");
            }
            (a, b) => assert_eq!(a, b, "{t}"),
        }
    }
}
