//! Property tests: arbitrary bytes and mutated valid pages never panic, and parsing time
//! stays linear (a page of many labels or many families takes time in proportion).

use proptest::prelude::*;

use std::collections::HashMap;

use super::super::{Format, parse, parse_known};

const VALID_OM: &str = "# TYPE a histogram\n# HELP a help\na_bucket{le=\"1.0\",x=\"y\"} 0 # {t=\"1\"} 0.5\n\
    a_bucket{le=\"+Inf\",x=\"y\"} 3\na_count{x=\"y\"} 3\na_sum{x=\"y\"} 2\n# TYPE b counter\n\
    b_total{q=\"a\\\\b\\\"c\"} 1 123.5\n# TYPE s stateset\ns{s=\"on\"} 1\n# TYPE i info\ni_info{v=\"1\"} 1\n\
    # TYPE g gaugehistogram\ng_bucket{le=\"+Inf\"} 1\ng_gcount 1\ng_gsum 1\n# EOF\n";

const VALID_TEXT: &str = "# HELP x help\n# TYPE x summary\nx{quantile=\"0.5\", a=\"b\",} 1 1000\n\
    x_sum 2\nx_count 3\n\ny NaN\n# comment\nz{a=\"\\n\"} -Inf\n";

fn run(page: &[u8]) {
    for format in [Format::Text, Format::OpenMetrics] {
        let mut n = 0usize;
        if let Ok(count) = parse(page, format, &mut |s| {
            n += 1;
            for l in s.labels {
                assert!(l.value().len() <= l.raw.len());
            }
        }) {
            assert_eq!(count, n);
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2000))]

    #[test]
    fn arbitrary_bytes_never_panic(page in proptest::collection::vec(any::<u8>(), 0..512)) {
        run(&page);
    }

    #[test]
    fn exposition_like_text_never_panics(page in "[a-z_{}=\",# .\\-+0-9\\\\\n\tEOFTYPEHELPUNIT]{0,300}") {
        run(page.as_bytes());
    }

    #[test]
    fn mutated_valid_pages_never_panic(
        which in 0usize..2,
        edits in proptest::collection::vec((any::<prop::sample::Index>(), any::<u8>(), 0u8..3), 1..8),
    ) {
        let mut page = [VALID_OM, VALID_TEXT][which].as_bytes().to_vec();
        for (at, byte, op) in edits {
            if page.is_empty() {
                break;
            }
            let i = at.index(page.len());
            match op {
                0 => page[i] = byte,
                1 => page.insert(i, byte),
                _ => {
                    page.remove(i);
                }
            }
        }
        run(&page);
    }
}

/// A sample as a comparison sees it: name, series, labels (unescaped), value bits,
/// timestamp, type.
type Seen = (
    String,
    String,
    Vec<(String, String)>,
    u64,
    Option<i64>,
    String,
);

/// Series text → name length and labels, as a scrape cache keeps them.
type Known = HashMap<String, (usize, Vec<(String, String)>)>;

/// The samples of a text page or its error; with `known`, series the map holds are
/// answered from it (their labels taken from the map, as a scrape cache keeps them).
fn text_samples(page: &[u8], known: Option<&Known>) -> Result<Vec<Seen>, super::super::ParseError> {
    let mut out = Vec::new();
    let mut ask = |series: &str| known.and_then(|k| k.get(series)).map(|(n, _)| *n);
    parse_known(page, Format::Text, &mut ask, &mut |s| {
        let labels = if s.known {
            known.expect("asked")[s.series].1.clone()
        } else {
            s.labels
                .iter()
                .map(|l| (l.name.to_owned(), l.value().into_owned()))
                .collect()
        };
        out.push((
            s.name.to_owned(),
            s.series.to_owned(),
            labels,
            s.value.to_bits(),
            s.timestamp_ns,
            format!("{:?}", s.family_type),
        ));
    })
    .map(|_| out)
}

/// The series of a valid page, as a scrape cache would keep them.
fn series_of(page: &[u8]) -> Known {
    let mut known = HashMap::new();
    for (name, series, labels, ..) in text_samples(page, None).expect("valid") {
        if series.ends_with('}') {
            known.insert(series, (name.len(), labels));
        }
    }
    known
}

const KNOWN_TEXT: &str = "# TYPE x counter\nx{a=\"1\",b=\"}\"} 1 1000\nx {a=\"2\" , } 2.5\n\
    y{q=\"a\\\\b\\\"c\"} 3 5\nz 4\nw{} 5\n";

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2000))]

    /// A page read with the series of an earlier page known gives what it gives read
    /// whole: the same samples, or the same error on the same line.
    #[test]
    fn known_series_read_as_unknown_ones(
        edits in proptest::collection::vec((any::<prop::sample::Index>(), any::<u8>(), 0u8..3), 0..6),
    ) {
        let known = series_of(KNOWN_TEXT.as_bytes());
        let mut page = KNOWN_TEXT.as_bytes().to_vec();
        for (at, byte, op) in edits {
            if page.is_empty() {
                break;
            }
            let i = at.index(page.len());
            const BYTES: &[u8] = b"{}\" =,1 \n";
            let byte = BYTES[usize::from(byte) % BYTES.len()];
            match op {
                0 => page[i] = byte,
                1 => page.insert(i, byte),
                _ => {
                    page.remove(i);
                }
            }
        }
        prop_assert_eq!(text_samples(&page, Some(&known)), text_samples(&page, None));
    }
}

#[test]
fn known_series_skip_their_labels() {
    let known = series_of(KNOWN_TEXT.as_bytes());
    assert_eq!(known.len(), 4);
    let mut labels_read = 0;
    let n = parse_known(
        KNOWN_TEXT.as_bytes(),
        Format::Text,
        &mut |series| known.get(series).map(|(n, _)| *n),
        &mut |s| labels_read += s.labels.len() + usize::from(!s.known),
    );
    // Only `z` (no braces) is read: no labels, not known.
    assert_eq!((n, labels_read), (Ok(5), 1));
    assert_eq!(
        text_samples(KNOWN_TEXT.as_bytes(), Some(&known)),
        text_samples(KNOWN_TEXT.as_bytes(), None)
    );
}

#[test]
fn the_valid_pages_are_valid() {
    assert_eq!(
        parse(VALID_OM.as_bytes(), Format::OpenMetrics, &mut |_| {}),
        Ok(10)
    );
    assert_eq!(
        parse(VALID_TEXT.as_bytes(), Format::Text, &mut |_| {}),
        Ok(5)
    );
}

/// Pages built to trip a quadratic parser: one line of many escaped labels (the duplicate
/// label check) and many families (the name-clash set). How their time grows with size is
/// measured by the `adversarial_*` groups of benches/prometheus_parse.rs; here, that they
/// parse completely and right.
#[test]
fn adversarial_pages_parse_completely() {
    let n = 20_000;
    let mut labels = String::from("a{");
    for i in 0..n {
        labels.push_str(&format!("l{i}=\"\\\\\\\"v\","));
    }
    labels.push_str("z=\"\"} 1\n# EOF\n");
    for format in [Format::Text, Format::OpenMetrics] {
        let mut seen = Vec::new();
        let count = parse(labels.as_bytes(), format, &mut |s| {
            seen.push((s.labels.len(), s.labels[0].value().into_owned()));
        });
        assert_eq!(count, Ok(1), "{format:?}");
        assert_eq!(seen, vec![(n + 1, "\\\"v".to_owned())], "{format:?}");
    }

    let mut families = String::new();
    for i in 0..n {
        families.push_str(&format!("# TYPE f{i} counter\nf{i}_total 1\n"));
    }
    families.push_str("# EOF\n");
    let mut names = 0usize;
    let count = parse(families.as_bytes(), Format::OpenMetrics, &mut |_| {
        names += 1
    });
    assert_eq!((count, names), (Ok(n), n));
}
