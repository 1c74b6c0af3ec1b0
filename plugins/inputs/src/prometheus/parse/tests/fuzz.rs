//! Property tests: arbitrary bytes and mutated valid pages never panic, and parsing time
//! stays linear (a page of many labels or many families takes time in proportion).

use proptest::prelude::*;

use super::super::{Format, parse};

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
