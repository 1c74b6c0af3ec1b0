//! Parser tests: the OpenMetrics conformance suite (every case), text-format leniency,
//! values, timestamps, escapes and types; fuzzing lives in `tests/fuzz.rs`.

mod fuzz;

use std::path::Path;

use super::*;

/// One sample, owned, for comparisons.
#[derive(Debug, Clone, PartialEq)]
pub(super) struct Owned {
    pub(super) name: String,
    pub(super) labels: Vec<(String, String)>,
    pub(super) value: f64,
    pub(super) ts: Option<i64>,
    pub(super) typ: FamilyType,
    pub(super) exemplar: bool,
}

pub(super) fn collect(page: &str, format: Format) -> Result<Vec<Owned>, ParseError> {
    let mut out = Vec::new();
    let n = parse(page.as_bytes(), format, &mut |s| {
        out.push(Owned {
            name: s.name.to_owned(),
            labels: s
                .labels
                .iter()
                .map(|l| (l.name.to_owned(), l.value().into_owned()))
                .collect(),
            value: s.value,
            ts: s.timestamp_ns,
            typ: s.family_type,
            exemplar: s.exemplar.is_some(),
        });
    })?;
    assert_eq!(n, out.len());
    Ok(out)
}

fn om(page: &str) -> Result<Vec<Owned>, ParseError> {
    collect(page, Format::OpenMetrics)
}

fn text(page: &str) -> Result<Vec<Owned>, ParseError> {
    collect(page, Format::Text)
}

#[test]
fn openmetrics_conformance_suite() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("testdata/prometheus/openmetrics-parsers");
    let mut cases = 0;
    let mut failures = Vec::new();
    let mut entries: Vec<_> = std::fs::read_dir(&dir)
        .expect("conformance folder")
        .map(|e| e.expect("entry").path())
        .filter(|p| p.is_dir())
        .collect();
    entries.sort();
    for case in entries {
        let meta = std::fs::read_to_string(case.join("test.json")).expect("test.json");
        let meta: serde_json::Value = serde_json::from_str(&meta).expect("json");
        assert_eq!(meta["type"], "text", "{}", case.display());
        let file = meta["file"].as_str().expect("file");
        let should = meta["shouldParse"].as_bool().expect("shouldParse");
        let page = std::fs::read(case.join(file)).expect("metrics");
        let lines = page.iter().filter(|&&b| b == b'\n').count();
        let mut samples = 0;
        let got = parse(&page, Format::OpenMetrics, &mut |_| samples += 1);
        cases += 1;
        match (should, got) {
            (true, Ok(n)) => assert_eq!(n, samples),
            (false, Err(_)) => {}
            (true, Err(e)) => failures.push(format!("{}: rejected: {e}", case.display())),
            (false, Ok(_)) => failures.push(format!(
                "{}: accepted ({lines} lines), must be rejected",
                case.display()
            )),
        }
    }
    assert!(
        cases >= 200,
        "only {cases} cases found in {}",
        dir.display()
    );
    assert!(
        failures.is_empty(),
        "{} of {cases} cases failed:\n{}",
        failures.len(),
        failures.join("\n")
    );
}

#[test]
fn openmetrics_samples_carry_names_labels_values_timestamps_types() {
    let page = "# TYPE a counter\n# HELP a help\na_total{x=\"1\",y=\"q\\\"\\n\\\\\"} 3 1.5 # {t=\"x\"} 1 2\n\
                a_created{x=\"1\",y=\"z\"} 17\n# TYPE g gauge\ng NaN\ng2 -Inf\n# EOF\n";
    let got = om(page).expect("valid");
    assert_eq!(got.len(), 4);
    assert_eq!(got[0].name, "a_total");
    assert_eq!(
        got[0].labels,
        vec![("x".into(), "1".into()), ("y".into(), "q\"\n\\".into())]
    );
    assert_eq!(got[0].value, 3.0);
    assert_eq!(got[0].ts, Some(1_500_000_000));
    assert_eq!(got[0].typ, FamilyType::Counter);
    assert!(got[0].exemplar);
    assert_eq!(got[1].typ, FamilyType::Counter);
    assert!(got[2].value.is_nan());
    assert_eq!(got[2].typ, FamilyType::Gauge);
    assert_eq!(got[3].value, f64::NEG_INFINITY);
    assert_eq!(got[3].typ, FamilyType::Unknown);
}

#[test]
fn openmetrics_needs_eof_and_nothing_after() {
    assert_eq!(om("a 1\n").unwrap_err().reason, Reason::NoEof);
    assert!(om("a 1\n# EOF").is_ok());
    assert_eq!(om("a 1\n# EOF\n\n").unwrap_err().reason, Reason::AfterEof);
    assert_eq!(om("a 1\n\n# EOF\n").unwrap_err().reason, Reason::BlankLine);
}

#[test]
fn text_format_is_lenient_like_promparse() {
    let page = "# HELP x Some help\n# TYPE x counter\n\n  x{a=\"1\" , b = \"2\",} 10 1700000000123\n\
                # a comment\nx 2\t \ny{} +Inf\n";
    let got = text(page).expect("valid");
    assert_eq!(got.len(), 3);
    assert_eq!(got[0].labels.len(), 2);
    assert_eq!(got[0].ts, Some(1_700_000_000_123_000_000));
    assert_eq!(got[0].typ, FamilyType::Counter);
    assert_eq!(got[1].ts, None);
    assert_eq!(got[2].value, f64::INFINITY);
    assert_eq!(got[2].typ, FamilyType::Unknown);
}

#[test]
fn text_types_cover_histogram_and_summary_series() {
    let page = "# TYPE h histogram\nh_bucket{le=\"1\"} 1\nh_bucket{le=\"+Inf\"} 2\nh_sum 3\nh_count 2\n\
                # TYPE s summary\ns{quantile=\"0.5\"} 1\ns_sum 1\ns_count 1\nother 1\n";
    let types: Vec<FamilyType> = text(page).expect("valid").iter().map(|s| s.typ).collect();
    use FamilyType::*;
    assert_eq!(
        types,
        vec![
            Histogram, Histogram, Histogram, Histogram, Summary, Summary, Summary, Unknown
        ]
    );
}

#[test]
fn text_rejects_what_promparse_rejects() {
    for bad in [
        "x\n",
        "x 1 2 3\n",
        "x{a=1} 1\n",
        "x{a=\"1\" 1\n",
        "x{a=\"1\",a=\"2\"} 1\n",
        "0x 1\n",
        "x 1 1.5\n",
        "x abc\n",
        "# TYPE x bogus\n",
        "x{1a=\"\"} 1\n",
    ] {
        assert!(text(bad).is_err(), "{bad:?} must be rejected");
    }
}

#[test]
fn errors_name_the_line() {
    let e = text("a 1\nb 2\nc{ 3\n").unwrap_err();
    assert_eq!(e.line, 3);
    let e = om("a 1\nb x\n# EOF\n").unwrap_err();
    assert_eq!((e.line, e.reason), (2, Reason::Value));
}

#[test]
fn invalid_utf8_is_rejected() {
    let e = parse(b"a 1\nb{x=\"\xff\"} 1\n", Format::Text, &mut |_| {}).unwrap_err();
    assert_eq!((e.line, e.reason), (2, Reason::Utf8));
}

#[test]
fn unknown_escapes_are_kept_as_written() {
    let got = text("a{x=\"a\\zb\\\\c\"} 1\n").expect("valid");
    assert_eq!(got[0].labels[0].1, "a\\zb\\c");
}

#[test]
fn many_labels_are_checked_for_duplicates_by_sorting() {
    let mut line = String::from("a{");
    for i in 0..40 {
        line.push_str(&format!("l{i}=\"v\","));
    }
    assert!(text(&format!("{line}}} 1\n")).is_ok());
    line.push_str("l7=\"again\"");
    assert_eq!(
        text(&format!("{line}}} 1\n")).unwrap_err().reason,
        Reason::DuplicateLabel
    );
}

#[test]
fn content_type_picks_the_parser() {
    let om = Some("application/openmetrics-text; version=1.0.0; charset=utf-8");
    assert_eq!(
        Format::from_content_type(om, Format::Text),
        Format::OpenMetrics
    );
    let t = Some("text/plain; version=0.0.4; charset=utf-8");
    assert_eq!(
        Format::from_content_type(t, Format::OpenMetrics),
        Format::Text
    );
    assert_eq!(Format::from_content_type(None, Format::Text), Format::Text);
    assert_eq!(
        Format::from_content_type(Some("application/json"), Format::OpenMetrics),
        Format::OpenMetrics
    );
}

#[test]
fn node_exporter_fixture_parses_whole() {
    let page = std::fs::read(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("testdata/prometheus/node_exporter.txt"),
    )
    .expect("fixture");
    let mut n = 0;
    let mut with_labels = 0;
    parse(&page, Format::Text, &mut |s| {
        n += 1;
        with_labels += usize::from(!s.labels.is_empty());
    })
    .expect("valid page");
    assert!(n > 400, "only {n} samples");
    assert!(with_labels > 100);
}

#[test]
fn short_decimals_read_as_the_full_parser_reads_them() {
    for v in [
        "0",
        "1",
        "42",
        "123.4",
        "0.1",
        "0.3",
        "9.999",
        "123456789012345",
        "12345678901234.5",
        "0.000000000000001",
        "1234567890123456",
        "1.",
        ".5",
        "1e3",
        "-1.5",
        "+1",
        "NaN",
        "07.50",
    ] {
        let fast = lexer::value(v).map(f64::to_bits);
        let full = v
            .parse::<f64>()
            .map(f64::to_bits)
            .map_err(|_| Reason::Value);
        assert_eq!(fast, full, "{v}");
    }
    for t in [
        "0",
        "1700000000123",
        "999999999999999999",
        "9999999999999999999",
        "+5",
        "-5",
    ] {
        let fast = lexer::text_timestamp(t);
        let full = t
            .parse::<i64>()
            .map(|ms| ms.saturating_mul(1_000_000))
            .map_err(|_| Reason::Timestamp);
        assert_eq!(fast, full, "{t}");
    }
}

proptest::proptest! {
    /// Any run of digits with or without one point reads bit for bit as `str::parse`.
    #[test]
    fn decimal_values_match_the_full_parser(int in "[0-9]{1,17}", frac in proptest::option::of("[0-9]{0,17}")) {
        let v = match &frac {
            Some(f) => format!("{int}.{f}"),
            None => int.clone(),
        };
        let full = v.parse::<f64>().expect("a decimal");
        proptest::prop_assert_eq!(lexer::value(&v).map(f64::to_bits), Ok(full.to_bits()), "{}", v);
    }
}
