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

/// Time for `page`, best of three.
fn time(page: &[u8], format: Format) -> std::time::Duration {
    (0..3)
        .map(|_| {
            let t = std::time::Instant::now();
            let mut n = 0usize;
            if parse(page, format, &mut |_| n += 1).is_ok() {
                assert!(n > 0);
            }
            t.elapsed()
        })
        .min()
        .unwrap_or_default()
}

#[test]
fn parsing_time_is_linear_in_adversarial_pages() {
    // Many labels on one line (duplicate check), many families (clash set), long escapes.
    let labels = |n: usize| {
        let mut s = String::from("a{");
        for i in 0..n {
            s.push_str(&format!("l{i}=\"\\\\\\\"v\","));
        }
        s.push_str("z=\"\"} 1\n# EOF\n");
        s
    };
    let families = |n: usize| {
        let mut s = String::new();
        for i in 0..n {
            s.push_str(&format!("# TYPE f{i} counter\nf{i}_total 1\n"));
        }
        s.push_str("# EOF\n");
        s
    };
    for (make, format) in [
        (&labels as &dyn Fn(usize) -> String, Format::Text),
        (&labels, Format::OpenMetrics),
        (&families, Format::OpenMetrics),
    ] {
        let small = make(5_000);
        let big = make(50_000);
        let (ts, tb) = (time(small.as_bytes(), format), time(big.as_bytes(), format));
        // Ten times the input: linear is ~10x, quadratic ~100x. Allow generous noise.
        assert!(
            tb < ts * 40 + std::time::Duration::from_millis(20),
            "{format:?}: 5k took {ts:?}, 50k took {tb:?}"
        );
    }
}
