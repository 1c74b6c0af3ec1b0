//! Line parser tests: every type, signs, rates, multi-value lines, DogStatsD segments at
//! the end and in the middle, and the malformed cases.

use super::*;

fn parse(line: &str) -> Result<(String, Parsed), ParseError> {
    let mut p = Parser::default();
    let (text, parsed) = p.parse(line.as_bytes(), true)?;
    let text = text.to_owned();
    Ok((
        text,
        Parsed {
            name: parsed.name.clone(),
            bucket_tags: parsed.bucket_tags.clone(),
            dd_tags: parsed.dd_tags.clone(),
            container: parsed.container.clone(),
            samples: parsed.samples.clone(),
        },
    ))
}

fn values(line: &str) -> Vec<Sample> {
    parse(line).unwrap().1.samples
}

#[test]
fn every_type() {
    assert_eq!(
        values("a:45|c")[0],
        Sample {
            ty: Type::Counter,
            value: Value::Counter(45)
        }
    );
    assert_eq!(
        values("a:4.5|g")[0].value,
        Value::Gauge {
            value: 4.5,
            delta: false
        }
    );
    assert_eq!(values("a:45|ms")[0].ty, Type::Timing);
    assert_eq!(values("a:45|h")[0].ty, Type::Histogram);
    assert_eq!(values("a:45|d")[0].ty, Type::Distribution);
    let (text, p) = parse("a:alice|s").unwrap();
    let Value::Set(r) = &p.samples[0].value else {
        panic!()
    };
    assert_eq!(&text[r.clone()], "alice");
}

#[test]
fn signs_rates_and_scientific_notation() {
    assert_eq!(
        values("a:+30|g")[0].value,
        Value::Gauge {
            value: 30.0,
            delta: true
        }
    );
    assert_eq!(
        values("a:-10|g")[0].value,
        Value::Gauge {
            value: -10.0,
            delta: true
        }
    );
    assert_eq!(values("a:-5|c")[0].value, Value::Counter(-5));
    assert_eq!(values("a:1|c|@0.1")[0].value, Value::Counter(10));
    assert_eq!(values("a:4.696E+5|c")[0].value, Value::Counter(469_600));
    assert_eq!(values("a:2.9|c")[0].value, Value::Counter(2));
    assert_eq!(
        values("a:3|ms|@0.25")[0].value,
        Value::Timer {
            value: 3.0,
            weight: 4
        }
    );
    // Rates that do not parse or are outside (0, 1] are ignored.
    for r in ["@x", "@0", "@2", "@-1", "0.5"] {
        assert_eq!(
            values(&format!("a:1|c|{r}"))[0].value,
            Value::Counter(1),
            "{r}"
        );
    }
}

#[test]
fn several_values_per_line() {
    let v = values("a:1|c:2|g:3|ms");
    assert_eq!(v.len(), 3);
    assert_eq!(v[0].value, Value::Counter(1));
    assert_eq!(v[1].ty, Type::Gauge);
    assert_eq!(v[2].ty, Type::Timing);
}

#[test]
fn datadog_segments_at_the_end() {
    let (text, p) = parse("page.views:1|c|@0.5|#env:prod,flag|c:abc123").unwrap();
    assert_eq!(&text[p.name.clone()], "page.views");
    assert_eq!(p.dd_tags.len(), 1);
    assert_eq!(&text[p.dd_tags[0].clone()], "env:prod,flag");
    assert_eq!(&text[p.container.clone().unwrap()], "abc123");
    assert_eq!(p.samples[0].value, Value::Counter(2));
}

#[test]
fn a_tag_segment_in_the_middle_is_moved_to_the_end() {
    let (text, p) = parse("a:1|c|#x:1|@0.5|#y:2").unwrap();
    assert_eq!(text, "a:1|c|@0.5|#x:1,y:2");
    assert_eq!(p.samples[0].value, Value::Counter(2));
    assert_eq!(&text[p.dd_tags[0].clone()], "x:1,y:2");
}

#[test]
fn bucket_tags() {
    let (text, p) = parse("cpu.load,host=a,dc=b:1|g").unwrap();
    assert_eq!(&text[p.name.clone()], "cpu.load");
    assert_eq!(&text[p.bucket_tags.clone()], "host=a,dc=b");
}

#[test]
fn malformed_lines() {
    for (line, err) in [
        ("no_colon", ParseError::NoColon),
        (":1|c", ParseError::EmptyName),
        ("a:1", ParseError::NoType),
        ("a:1|c:2", ParseError::NoType),
        ("a:1|x", ParseError::UnknownType),
        ("a:abc|g", ParseError::BadNumber),
        ("a:abc|c", ParseError::BadNumber),
        ("a:NaN|ms", ParseError::BadNumber),
        ("a:inf|g", ParseError::BadNumber),
        ("a:+1|ms", ParseError::SignNotAllowed),
        ("a:-1|s", ParseError::SignNotAllowed),
    ] {
        assert_eq!(parse(line).err(), Some(err), "{line}");
    }
    let mut p = Parser::default();
    assert_eq!(p.parse(b"a:\xff|c", true).err(), Some(ParseError::NotUtf8));
}

#[test]
fn without_datadog_a_tag_segment_is_malformed() {
    let mut p = Parser::default();
    assert!(p.parse(b"a:1|c|#t:v", false).is_err());
    assert!(p.parse(b"a:1|c|@0.5", false).is_ok());
}
