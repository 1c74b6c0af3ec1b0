use gleaner_api::Tags;

use super::SeriesCache;
use crate::prometheus::parse::{self, Format};

fn target() -> Vec<(String, String)> {
    vec![
        ("instance".to_owned(), "host:9100".to_owned()),
        ("job".to_owned(), "node".to_owned()),
    ]
}

/// The tags of every sample of `page`, through `cache`, as one scrape.
fn scrape(cache: &mut SeriesCache, page: &str) -> Vec<Tags> {
    scrape_known(cache, page).0
}

/// [`scrape`], the parser asking the cache first; also which samples came `known`.
fn scrape_known(cache: &mut SeriesCache, page: &str) -> (Vec<Tags>, Vec<bool>) {
    cache.begin();
    let mut out = Vec::new();
    let mut known = Vec::new();
    let cache = std::cell::RefCell::new(cache);
    parse::parse_known(
        page.as_bytes(),
        Format::Text,
        &mut |series| cache.borrow_mut().known(series),
        &mut |s| {
            out.push(cache.borrow_mut().tags(s, false));
            known.push(s.known);
        },
    )
    .expect("parses");
    (out, known)
}

#[test]
fn a_known_series_gets_its_shared_set_again() {
    let mut cache = SeriesCache::new(&target());
    let page = "a{mode=\"idle\"} 1\na{mode=\"user\"} 2\nb {mode=\"idle\"} 3\nup 1\n";
    let (first, first_known) = scrape_known(&mut cache, page);
    let (second, second_known) = scrape_known(&mut cache, page);
    assert_eq!(first[0].get("mode"), Some("idle"));
    assert_eq!(first[0].get("job"), Some("node"));
    for (a, b) in first.iter().zip(&second) {
        assert!(Tags::ptr_eq(a, b), "{a:?} built again");
    }
    // One set per series text: `a` and `b` with the same labels have equal sets of their own.
    assert_eq!(first[0], first[2]);
    assert!(!Tags::ptr_eq(&first[0], &first[1]));
    // No labels: the target's own set.
    assert!(Tags::ptr_eq(&first[3], cache.target()));
    assert_eq!(cache.len(), 3);
    // The second scrape read no labels of a series with braces.
    assert_eq!(first_known, [false; 4]);
    assert_eq!(second_known, [true, true, true, false]);
}

#[test]
fn series_churn_does_not_grow_the_cache() {
    let mut cache = SeriesCache::new(&target());
    for scrape_no in 0..50 {
        let page: String = (0..100)
            .map(|i| format!("x{{pod=\"p{scrape_no}-{i}\"}} 1\n"))
            .collect();
        scrape(&mut cache, &page);
        assert!(
            cache.len() <= 300,
            "scrape {scrape_no}: {} series held",
            cache.len()
        );
    }
    // A series seen again within two scrapes keeps its set; one gone longer is forgotten.
    let mut cache = SeriesCache::new(&target());
    let kept = scrape(&mut cache, "x{a=\"1\"} 1\n");
    scrape(&mut cache, "y{b=\"1\"} 1\n");
    let again = scrape(&mut cache, "x{a=\"1\"} 1\n");
    assert!(Tags::ptr_eq(&kept[0], &again[0]));
    scrape(&mut cache, "y{b=\"1\"} 1\n");
    scrape(&mut cache, "y{b=\"1\"} 1\n");
    scrape(&mut cache, "y{b=\"1\"} 1\n");
    assert_eq!(cache.len(), 1, "x was forgotten");
}

#[test]
fn a_page_past_the_cap_holds_at_most_max_series_sets() {
    let mut cache = SeriesCache::new(&target());
    let page: String = (0..super::MAX_SERIES + 500)
        .map(|i| format!("x{{i=\"{i}\"}} 1\n"))
        .collect();
    let tags = scrape(&mut cache, &page);
    assert_eq!(cache.len(), super::MAX_SERIES);
    let last = tags.last().expect("tags");
    assert_eq!(
        last.get("i"),
        Some((super::MAX_SERIES + 499).to_string().as_str())
    );
}
