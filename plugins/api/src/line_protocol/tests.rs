//! Line-protocol tests: golden lines for every escape and value type in both directions,
//! error reasons and line numbers; InfluxDB 1.x's own cases in `tests/influxdb.rs`, property
//! tests in `tests/properties.rs`.

use super::*;
use crate::event::{FieldValue, Metric};

mod influxdb;
mod properties;

fn enc(m: &Metric) -> (String, EncodeOutcome) {
    let mut out = Vec::new();
    let o = encode_metric(m, &mut out);
    (String::from_utf8(out).unwrap(), o)
}

fn parse_ok(body: &str) -> Vec<Metric> {
    let p = parse_lines(body.as_bytes(), Precision::Nanoseconds, 7);
    assert!(p.errors.is_empty(), "{body:?}: {:?}", p.errors);
    p.metrics
}

fn parse_one(body: &str) -> Metric {
    let mut v = parse_ok(body);
    assert_eq!(v.len(), 1, "{body:?}");
    v.remove(0)
}

fn parse_err(body: &str) -> String {
    let p = parse_lines(body.as_bytes(), Precision::Nanoseconds, 7);
    assert!(p.metrics.is_empty(), "{body:?} parsed: {:?}", p.metrics);
    assert_eq!(p.errors.len(), 1, "{body:?}");
    p.errors[0].message.clone()
}

// ---------------------------------------------------------------- encoder

#[test]
fn encodes_every_type() {
    let m = Metric::new("cpu", 1_000)
        .with_tag("region", "eu")
        .with_tag("host", "a")
        .with_field("f", FieldValue::Float(1.5))
        .with_field("i", FieldValue::Int(-2))
        .with_field("u", FieldValue::UInt(3))
        .with_field("t", FieldValue::Bool(true))
        .with_field("b", FieldValue::Bool(false))
        .with_field("s", FieldValue::String("hi".into()));
    let (line, o) = enc(&m);
    assert_eq!(
        line,
        "cpu,host=a,region=eu f=1.5,i=-2i,u=3u,t=true,b=false,s=\"hi\" 1000\n"
    );
    assert_eq!(
        o,
        EncodeOutcome {
            written: true,
            dropped_fields: 0,
            ..Default::default()
        }
    );
}

#[test]
fn encodes_integer_extremes_and_negative_time() {
    let m = Metric::new("m", -5)
        .with_field("a", FieldValue::Int(i64::MIN))
        .with_field("b", FieldValue::Int(i64::MAX))
        .with_field("c", FieldValue::UInt(u64::MAX))
        .with_field("d", FieldValue::UInt(0));
    let (line, _) = enc(&m);
    assert_eq!(
        line,
        "m a=-9223372036854775808i,b=9223372036854775807i,c=18446744073709551615u,d=0u -5\n"
    );
}

#[test]
fn encodes_floats_round_trip_and_valid() {
    let cases: &[(f64, &str)] = &[
        (42.0, "42"),
        (-0.5, "-0.5"),
        (0.1, "0.1"),
        (0.0, "0"),
        (-0.0, "-0"),
        (123.456, "123.456"),
        (1e15, "1000000000000000"),
        (1e16, "1e16"),
        (1e300, "1e300"),
        (1e-300, "1e-300"),
        (0.00001, "0.00001"),
        (1.5e-7, "1.5e-7"),
        (f64::MAX, "1.7976931348623157e308"),
        (f64::MIN_POSITIVE, "2.2250738585072014e-308"),
        (5e-324, "5e-324"),
    ];
    for &(v, text) in cases {
        let (line, _) = enc(&Metric::new("m", 0).with_field("v", FieldValue::Float(v)));
        assert_eq!(line, format!("m v={text} 0\n"));
        let back = parse_one(&line);
        match back.fields[0].1 {
            FieldValue::Float(f) => assert_eq!(f.to_bits(), v.to_bits(), "{text}"),
            ref other => panic!("{other:?}"),
        }
    }
}

#[test]
fn drops_non_finite_floats() {
    let m = Metric::new("m", 1)
        .with_field("nan", FieldValue::Float(f64::NAN))
        .with_field("ok", FieldValue::Int(1))
        .with_field("inf", FieldValue::Float(f64::INFINITY))
        .with_field("ninf", FieldValue::Float(f64::NEG_INFINITY));
    let (line, o) = enc(&m);
    assert_eq!(line, "m ok=1i 1\n");
    assert_eq!(
        o,
        EncodeOutcome {
            written: true,
            dropped_fields: 3,
            ..Default::default()
        }
    );

    let mut out = b"keep\n".to_vec();
    let only_nan = Metric::new("m", 1).with_field("x", FieldValue::Float(f64::NAN));
    let o = encode_metric(&only_nan, &mut out);
    assert_eq!(
        o,
        EncodeOutcome {
            written: false,
            dropped_fields: 1,
            ..Default::default()
        }
    );
    assert_eq!(out, b"keep\n");
}

#[test]
fn writes_nothing_without_measurement_or_fields() {
    let mut out = Vec::new();
    let no_name = Metric::new("", 1).with_field("x", FieldValue::Int(1));
    assert!(!encode_metric(&no_name, &mut out).written);
    let only_backslash = Metric::new("\\\\", 1).with_field("x", FieldValue::Int(1));
    assert!(!encode_metric(&only_backslash, &mut out).written);
    assert!(!encode_metric(&Metric::new("m", 1).with_tag("t", "v"), &mut out).written);
    assert!(out.is_empty());
}

#[test]
fn escapes_measurement() {
    let m = Metric::new("my cpu,x=y", 0).with_field("v", FieldValue::Int(1));
    assert_eq!(enc(&m).0, "my\\ cpu\\,x=y v=1i 0\n");
}

#[test]
fn escapes_tags_and_field_keys() {
    let m = Metric::new("m", 0)
        .with_tag("a b,c=d", "e f,g=h")
        .with_field("k ,=", FieldValue::Int(1));
    assert_eq!(enc(&m).0, "m,a\\ b\\,c\\=d=e\\ f\\,g\\=h k\\ \\,\\==1i 0\n");
}

#[test]
fn replaces_control_characters() {
    let m = Metric::new("a\tb", 0)
        .with_tag("k\n", "v\x0c\r")
        .with_field("f\r", FieldValue::String("raw\nline\t\r".into()));
    assert_eq!(enc(&m).0, "a\\tb,k\\n=v\\f\\r f\\r=\"raw\nline\t\r\" 0\n");
}

#[test]
fn keeps_backslashes_and_trims_trailing_ones() {
    let m = Metric::new("m\\", 0)
        .with_tag("path", "C:\\dir\\")
        .with_tag("gone", "\\\\")
        .with_tag("", "x")
        .with_tag("empty", "")
        .with_field("a\\b\\", FieldValue::Int(1))
        .with_field("\\", FieldValue::Int(2));
    let (line, o) = enc(&m);
    assert_eq!(line, "m,path=C:\\dir a\\b=1i 0\n");
    assert_eq!(
        o,
        EncodeOutcome {
            written: true,
            // Not NaN/±Inf: the key made only of a backslash has its own count.
            dropped_fields: 0,
            empty_field_keys: 1,
            // `gone` and the empty key; `empty` has no value to lose.
            empty_tags: 2,
            empty_measurement: false,
            // The measurement, `C:\dir\` and `a\b\`.
            trimmed: 3,
        }
    );
    assert!(o.altered());
    assert_eq!(
        trimmed_parts(&m),
        [
            "measurement \"m\\\\\"",
            "tag value \"\\\\\\\\\" of \"gone\"",
            "tag value \"C:\\\\dir\\\\\" of \"path\"",
            "field key \"a\\\\b\\\\\"",
            "field key \"\\\\\"",
        ]
    );

    // A Prometheus label value `C:\dir\` is altered, and said so.
    let label = Metric::new("up", 0)
        .with_tag("dir", "C:\\dir\\")
        .with_field("value", FieldValue::Float(1.0));
    let (line, o) = enc(&label);
    assert_eq!(line, "up,dir=C:\\dir value=1 0\n");
    assert_eq!((o.trimmed, o.altered()), (1, true));
    let plain = Metric::new("up", 0).with_field("value", FieldValue::Float(1.0));
    assert!(!enc(&plain).1.altered());

    // Nothing written: the measurement made only of backslashes is counted, no trim is.
    let (line, o) = enc(&Metric::new("\\\\", 0).with_field("v", FieldValue::Int(1)));
    assert_eq!(
        (line.as_str(), o.empty_measurement, o.trimmed),
        ("", true, 0)
    );
    let o = enc(&Metric::new("m\\", 0).with_field("\\", FieldValue::Int(1))).1;
    assert_eq!((o.written, o.empty_field_keys, o.trimmed), (false, 1, 0));
}

#[test]
fn escapes_string_values() {
    let m = Metric::new("m", 0).with_field("s", FieldValue::String("say \"hi\" \\ \\\"".into()));
    let (line, _) = enc(&m);
    assert_eq!(line, "m s=\"say \\\"hi\\\" \\\\ \\\\\\\"\" 0\n");
    assert_eq!(parse_one(&line), m);
}

#[test]
fn write_timestamp_uses_precision() {
    let mut out = Vec::new();
    write_timestamp(&mut out, 1_500_000_000, Precision::Seconds);
    out.push(b' ');
    write_timestamp(&mut out, -1, Precision::Milliseconds);
    assert_eq!(out, b"1 -1");
}

// ---------------------------------------------------------------- parser

#[test]
fn parses_every_type() {
    let m = parse_one("cpu,host=a f=1.5,i=-2i,u=3u,t=true,b=F,s=\"hi\" 1000");
    let want = Metric::new("cpu", 1000)
        .with_tag("host", "a")
        .with_field("f", FieldValue::Float(1.5))
        .with_field("i", FieldValue::Int(-2))
        .with_field("u", FieldValue::UInt(3))
        .with_field("t", FieldValue::Bool(true))
        .with_field("b", FieldValue::Bool(false))
        .with_field("s", FieldValue::String("hi".into()));
    assert_eq!(m, want);
}

#[test]
fn parses_bool_spellings() {
    for (text, v) in [
        ("t", true),
        ("T", true),
        ("true", true),
        ("True", true),
        ("TRUE", true),
        ("f", false),
        ("F", false),
        ("false", false),
        ("False", false),
        ("FALSE", false),
    ] {
        assert_eq!(
            parse_one(&format!("m b={text}")).fields[0].1,
            FieldValue::Bool(v),
            "{text}"
        );
    }
    assert!(parse_err("m b=tRue").ends_with("invalid boolean"));
}

#[test]
fn parses_float_forms() {
    for (text, v) in [
        ("1", 1.0),
        ("-1.5", -1.5),
        ("1e3", 1000.0),
        ("1.E+78", 1e78),
        ("-1.234456e+78", -1.234456e78),
        ("1E-2", 0.01),
        (".5", 0.5),
        ("1.", 1.0),
        ("-0", -0.0),
    ] {
        assert_eq!(
            parse_one(&format!("m v={text}")).fields[0].1,
            FieldValue::Float(v),
            "{text}"
        );
    }
}

#[test]
fn parses_integer_limits() {
    let m = parse_one("m a=-9223372036854775808i,b=9223372036854775807i,c=18446744073709551615u");
    assert_eq!(m.field("a"), Some(&FieldValue::Int(i64::MIN)));
    assert_eq!(m.field("b"), Some(&FieldValue::Int(i64::MAX)));
    assert_eq!(m.field("c"), Some(&FieldValue::UInt(u64::MAX)));
}

#[test]
fn unescapes_names() {
    let m = parse_one("my\\ cpu\\,x=y,ta\\ g\\=k=v\\,1\\=2 f\\ \\,\\=k=1i 0");
    assert_eq!(m.measurement, "my cpu,x=y");
    assert_eq!(m.tags, vec![("ta g=k".to_owned(), "v,1=2".to_owned())]);
    assert_eq!(m.fields, vec![("f ,=k".to_owned(), FieldValue::Int(1))]);
}

#[test]
fn keeps_other_backslashes_literal() {
    // `\=` in a measurement loses one backslash (InfluxDB unescapes `\=` and `\"` there).
    let m = parse_one("a\\\\=b\\x,path=C:\\dir\\\\x k\\x=\"\\d\" 0");
    assert_eq!(m.measurement, "a\\=b\\x");
    assert_eq!(m.tag("path"), Some("C:\\dir\\\\x"));
    assert_eq!(
        m.fields,
        vec![("k\\x".to_owned(), FieldValue::String("\\d".into()))]
    );
}

#[test]
fn a_backslash_escapes_the_next_delimiter_whatever_escaped_it() {
    // InfluxDB's rule: a delimiter right after a backslash is escaped, even when that
    // backslash is itself escaped; unescaping then removes only the backslash before it.
    let m = parse_one("cpu,regions=\\\\ east value=1.0 1");
    assert_eq!(m.tag("regions"), Some("\\ east"));
    let m = parse_one("u,s=t\\\\  e=1 1");
    assert_eq!(m.tag("s"), Some("t\\ "));
    assert_eq!(m.field("e"), Some(&FieldValue::Float(1.0)));
    let m = parse_one("cpu,reg\\\\=ion=east value=1");
    assert_eq!(m.tag("reg\\=ion"), Some("east"));
    assert!(parse_err("a3,t=v\\\\ x=1 3").ends_with("invalid tag format"));
    // In the fields a backslash steps over the next byte, so a key cannot end in one.
    assert!(parse_err("m a\\\\=1 1").ends_with("invalid value: field-key=a\\\\=1"));
}

#[test]
fn unescapes_strings_and_spans_lines() {
    let body = "m s=\"a \\\"q\\\" \\\\ b\nsecond\" 1\nm s=\"x,y z=1\" 2\n";
    let got = parse_ok(body);
    assert_eq!(got.len(), 2);
    assert_eq!(
        got[0].fields[0].1,
        FieldValue::String("a \"q\" \\ b\nsecond".into())
    );
    assert_eq!(got[0].timestamp, 1);
    assert_eq!(got[1].fields[0].1, FieldValue::String("x,y z=1".into()));
}

#[test]
fn quotes_in_names_are_ordinary() {
    let got = parse_ok("m\",t=\"v f\"=1 0\nn x=2");
    assert_eq!(got.len(), 2);
    let m = &got[0];
    assert_eq!(m.measurement, "m\"");
    assert_eq!(m.tag("t"), Some("\"v"));
    assert_eq!(m.fields[0].0, "f\"");
}

#[test]
fn skips_comments_and_blanks_but_not_carriage_returns() {
    let body = "# a comment with \"quote\nm v=1 5\n\n   \n  \t# another\n \0 m v=2\n";
    let got = parse_ok(body);
    assert_eq!(got.len(), 2);
    assert_eq!(got[0].timestamp, 5);
    assert_eq!(got[1].timestamp, 7, "default time");
    // InfluxDB 1.x keeps the `\r` of a CRLF line and refuses it.
    let p = parse_lines(b"m v=1 5\r\nm v=2\r\n", Precision::Nanoseconds, 0);
    let reasons: Vec<&str> = p
        .errors
        .iter()
        .map(|e| e.message.rsplit(": ").next().unwrap())
        .collect();
    assert_eq!(reasons, ["bad timestamp", "invalid number"]);
}

#[test]
fn sorts_tags_refuses_duplicate_tags_and_keeps_last_duplicate_field() {
    assert!(parse_err("m,z=1,a=2,z=3 f=1").ends_with("duplicate tags"));
    assert!(parse_err("cpu,host=a,host=b v=1").ends_with("duplicate tags"));
    assert!(parse_err("m f=1,f=2i").ends_with("field type conflict"));
    let m = parse_one("m,z=1,a=2 f=1,g=2,f=3");
    assert_eq!(
        m.tags,
        vec![
            ("a".to_owned(), "2".to_owned()),
            ("z".to_owned(), "1".to_owned())
        ]
    );
    assert_eq!(
        m.fields,
        vec![
            ("f".to_owned(), FieldValue::Float(3.0)),
            ("g".to_owned(), FieldValue::Float(2.0))
        ]
    );
}

#[test]
fn converts_precision() {
    let p = |body: &str, precision| {
        let out = parse_lines(body.as_bytes(), precision, 0);
        (out.metrics.first().map(|m| m.timestamp), out.errors.len())
    };
    assert_eq!(p("m v=1 3", Precision::Seconds), (Some(3_000_000_000), 0));
    assert_eq!(p("m v=1 3", Precision::Milliseconds), (Some(3_000_000), 0));
    assert_eq!(p("m v=1 3", Precision::Microseconds), (Some(3_000), 0));
    assert_eq!(
        p("m v=1 -2", Precision::Minutes),
        (Some(-120_000_000_000), 0)
    );
    assert_eq!(p("m v=1 1", Precision::Hours), (Some(3_600_000_000_000), 0));
    assert_eq!(
        p("m v=1 9223372036854775806", Precision::Nanoseconds),
        (Some(i64::MAX - 1), 0)
    );
    assert_eq!(
        p("m v=1 9223372036854775807", Precision::Nanoseconds),
        (None, 1),
        "InfluxDB's largest time is i64::MAX - 1"
    );
    assert_eq!(
        p("m v=1 9223372036854775807", Precision::Seconds),
        (None, 1)
    );
    assert_eq!(p("m v=1 9223372037", Precision::Seconds), (None, 1));
    assert_eq!(p("m v=1", Precision::Seconds), (Some(0), 0));
}

#[test]
fn receive_time_is_truncated_to_the_precision() {
    let now = 1_700_000_123_456_789_123;
    let p = |precision| parse_lines(b"m v=1\nm v=2 5", precision, now).metrics;
    for (precision, want) in [
        (Precision::Nanoseconds, now),
        (Precision::Microseconds, 1_700_000_123_456_789_000),
        (Precision::Milliseconds, 1_700_000_123_456_000_000),
        (Precision::Seconds, 1_700_000_123_000_000_000),
        (Precision::Minutes, 1_700_000_100_000_000_000),
        (Precision::Hours, 1_699_999_200_000_000_000),
    ] {
        let ms = p(precision);
        assert_eq!(ms[0].timestamp, want, "{precision:?}");
        assert_eq!(
            ms[1].timestamp,
            precision.to_ns(5).unwrap(),
            "{precision:?}"
        );
    }
    assert_eq!(Precision::Seconds.truncate(-1), -1_000_000_000);
}

#[test]
fn precision_params() {
    for (s, p) in [
        ("", Precision::Nanoseconds),
        ("n", Precision::Nanoseconds),
        ("u", Precision::Microseconds),
        ("us", Precision::Microseconds),
        ("ms", Precision::Milliseconds),
        ("s", Precision::Seconds),
        ("m", Precision::Minutes),
        ("h", Precision::Hours),
    ] {
        assert_eq!(Precision::from_v1_param(s), Ok(p), "{s}");
    }
    for (s, p) in [
        ("ns", Precision::Nanoseconds),
        ("us", Precision::Microseconds),
        ("ms", Precision::Milliseconds),
        ("s", Precision::Seconds),
    ] {
        assert_eq!(Precision::from_v2_param(s), Ok(p), "{s}");
    }
    assert!(Precision::from_v2_param("m").is_err());
    assert!(Precision::from_v2_param("n").is_err());
    let e = Precision::from_v1_param("sec").unwrap_err();
    assert_eq!(
        e.to_string(),
        "invalid precision \"sec\": expected one of n, ns, u, us, ms, s, m, h"
    );
}

#[test]
fn rejects_bad_lines_with_reasons() {
    let cases = [
        ("m", "missing fields"),
        ("m ", "invalid field format"),
        ("m,t=v", "missing fields"),
        (",t=v f=1", "missing measurement"),
        ("m,t f=1", "missing tag value"),
        ("m,t= f=1", "missing tag value"),
        ("m,=v f=1", "missing tag key"),
        ("m,t=a=b f=1", "invalid tag format"),
        ("m f=", "missing field value"),
        ("m f=,g=1", "missing field value"),
        ("m f", "invalid field format"),
        ("m =1", "missing field key"),
        ("m f=1,", "invalid field format"),
        ("m f=1x", "invalid number"),
        ("m f=1 1\t", "bad timestamp"),
        ("m f=NaN", "invalid number"),
        ("m f=nan", "invalid number"),
        ("m f=inf", "invalid boolean"),
        ("m f=-Infinity", "invalid number"),
        ("m f=+1", "invalid boolean"),
        ("m f=1.2.3", "invalid number"),
        ("m f=1e400", "invalid float"),
        (
            "m f=9223372036854775808i",
            "unable to parse integer 9223372036854775808: strconv.ParseInt: parsing \"9223372036854775808\": value out of range",
        ),
        ("m f=+1i", "invalid boolean"),
        ("m f=-1u", "invalid number"),
        ("m f=1.5i", "invalid number"),
        ("m f=\"abc", "unbalanced quotes"),
        ("m f=1 12a", "bad timestamp"),
        ("m f=1 1.5", "bad timestamp"),
        ("m f=1 1 2", "point is invalid"),
    ];
    for (line, reason) in cases {
        let msg = parse_err(line);
        assert_eq!(
            msg,
            format!("unable to parse '{line}': {reason}"),
            "{line:?}"
        );
    }
    let p = parse_lines(b"m f=\"\xff\"", Precision::Nanoseconds, 0);
    assert!(
        p.errors[0].message.ends_with(": invalid utf-8"),
        "{:?}",
        p.errors
    );
}

#[test]
fn error_quotes_at_most_100_chars() {
    let line = format!("m{} f=x", "é".repeat(300));
    let msg = parse_err(&line);
    let quoted = msg.strip_prefix("unable to parse '").unwrap();
    let (text, reason) = quoted.split_once("': ").unwrap();
    assert_eq!(reason, "invalid boolean");
    assert_eq!(text, format!("m{}...", "é".repeat(99)));
}

#[test]
fn bad_line_among_good_ones() {
    let body = "m v=1 1\n# comment\nm s=\"two\nlines\" 2\nm v=oops 3\nm v=4 4\n";
    let p = parse_lines(body.as_bytes(), Precision::Nanoseconds, 0);
    let ts: Vec<i64> = p.metrics.iter().map(|m| m.timestamp).collect();
    assert_eq!(ts, vec![1, 2, 4]);
    assert_eq!(
        p.errors,
        vec![LineError {
            line: 5,
            message: "unable to parse 'm v=oops 3': invalid boolean".into()
        }]
    );
}

#[test]
fn unterminated_string_ends_the_body() {
    let body = "m v=1 1\nm s=\"open 2\nm v=3 3\n";
    let p = parse_lines(body.as_bytes(), Precision::Nanoseconds, 0);
    assert_eq!(p.metrics.len(), 1);
    assert_eq!(p.errors.len(), 1);
    assert_eq!(p.errors[0].line, 2);
    assert!(p.errors[0].message.ends_with("unbalanced quotes"));
}

#[test]
fn backslash_before_a_newline_joins_lines_as_influxdb_does() {
    let p = parse_lines(
        b"m\\\nm v=1 1\nm,t=a\\\nb v=2 2\nm v=3 3",
        Precision::Nanoseconds,
        0,
    );
    assert!(p.errors.is_empty(), "{:?}", p.errors);
    assert_eq!(p.metrics.len(), 3);
    assert_eq!(p.metrics[0].measurement, "m\\\nm");
    assert_eq!(p.metrics[1].tag("t"), Some("a\\\nb"));
    assert_eq!(p.metrics[2].timestamp, 3);
    // A quote after the timestamp opens a string, which runs to the end of the body.
    let p = parse_lines(b"m v=1 1 \"\nm v=2 2", Precision::Nanoseconds, 0);
    assert_eq!((p.metrics.len(), p.errors.len()), (0, 1));
    // Line numbers count the joined newlines.
    let p = parse_lines(b"m\\\nm v=1 1\nm v=x 2", Precision::Nanoseconds, 0);
    assert_eq!(p.errors[0].line, 3);
}

#[test]
fn large_inputs_stay_linear() {
    let mut line = String::from("m ");
    for i in 0..20_000 {
        line.push_str(&format!("f{}={i},", i % 10_000));
    }
    line.push_str("last=1 1\n");
    let m = parse_one(&line);
    assert_eq!(m.fields.len(), 10_001);
    assert_eq!(m.field("f3"), Some(&FieldValue::Float(10_003.0)));

    // 5,000 tags in reverse order stay under InfluxDB's 65,535-byte series key.
    let mut tags = String::from("m");
    for i in (0..5_000).rev() {
        tags.push_str(&format!(",t{i}=v"));
    }
    tags.push_str(" v=1");
    assert_eq!(parse_one(&tags).tags.len(), 5_000);
    tags.insert_str(1, ",t0=v");
    assert!(parse_err(&tags).ends_with("duplicate tags"));
    let long = format!("m,t={} v=1", "x".repeat(65_535));
    assert!(parse_err(&long).ends_with("max key length exceeded: 65539 > 65535"));

    let slashes = "\\".repeat(200_001);
    let p = parse_lines(slashes.as_bytes(), Precision::Nanoseconds, 0);
    assert_eq!(p.errors.len(), 1);
}
