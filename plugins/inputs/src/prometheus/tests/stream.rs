//! Pages past 64 KiB: checked first, then streamed in batches. The batches carry exactly the
//! page's series; a big page over `sample_limit` or `label_limit`, or one that turns out
//! malformed at its end, still fails whole; `model::tag_count` agrees with `model::tags`.

use super::server::{Reply, Server};
use super::{TEXT, assert_failed, context, errors, once, value};
use crate::prometheus::build_input;
use crate::prometheus::model;
use crate::prometheus::parse::{self, Format};
use gleaner_api::test_util::input_context;
use gleaner_api::{Batch, RunMode, Tags, TagsBuilder};

/// 6,000 series of 3 labels (about 400 KiB), one clashing with the target's `job`.
fn big_page() -> String {
    (0..6_000)
        .map(|i| {
            format!(
                "big_{} {{pod=\"p-{i}\",ns=\"n\",job=\"page\"}} {i}\n",
                i % 10
            )
        })
        .collect()
}

async fn serve(body: String) -> Server {
    Server::start(Reply::Page {
        content_type: TEXT,
        body: body.into_bytes(),
        gzip: false,
    })
    .await
}

#[tokio::test]
async fn a_big_page_is_streamed_in_batches_with_every_series() {
    let server = serve(big_page()).await;
    let bcx = context(60_000);
    let toml = format!("urls = [\"{}\"]", server.url);
    let input = build_input(&super::config(&toml), &bcx).unwrap_or_else(|e| panic!("build: {e}"));
    let (cx, mut rx, _trigger) = input_context(&bcx, RunMode::Once, 64);
    let run = tokio::spawn(gleaner_api::Input::run(Box::new(input), cx));
    let (mut sizes, mut all) = (Vec::new(), Vec::new());
    while let Some(env) = rx.recv().await {
        if let Batch::Metrics(m) = env.batch {
            sizes.push(m.len());
            all.extend(m);
        }
    }
    run.await.expect("task").expect("run");
    assert_eq!(sizes, [1000, 1000, 1000, 1000, 1000, 1000, 4]);
    assert_eq!(value(&all, "up"), Some(1.0));
    assert_eq!(value(&all, "scrape_samples_scraped"), Some(6000.0));
    assert_eq!(
        value(&all, "scrape_samples_post_metric_relabeling"),
        Some(6000.0)
    );
    // In page order, each with its labels and the target's (the page's `job` renamed).
    for (i, m) in all[..6_000].iter().enumerate() {
        assert_eq!(m.fields[0].0, format!("big_{}", i % 10));
        let tags: Vec<(&str, &str)> = m.tags.iter().collect();
        let pod = format!("p-{i}");
        assert_eq!(tags[0], ("exported_job", "page"));
        assert!(tags.contains(&("pod", pod.as_str())), "{tags:?}");
        assert!(tags.contains(&("job", "prometheus")), "{tags:?}");
        assert_eq!(tags.len(), 5);
    }
}

#[tokio::test]
async fn a_big_page_over_a_limit_or_malformed_at_its_end_fails_whole() {
    let server = serve(big_page()).await;
    let (ms, c) = once(
        &format!("urls = [\"{}\"]\nsample_limit = 5999", server.url),
        60_000,
    )
    .await;
    assert_failed(&ms);
    assert_eq!(value(&ms, "scrape_samples_scraped"), Some(6000.0));
    assert_eq!(errors(&c, "sample_limit"), 1);
    // 3 labels + job + instance + exported_job + __name__ = 6.
    let (ms, c) = once(
        &format!("urls = [\"{}\"]\nlabel_limit = 5", server.url),
        60_000,
    )
    .await;
    assert_failed(&ms);
    assert_eq!(errors(&c, "label_limit"), 1);
    let (ms, _) = once(
        &format!("urls = [\"{}\"]\nlabel_limit = 6", server.url),
        60_000,
    )
    .await;
    assert_eq!(value(&ms, "up"), Some(1.0));

    let mut bad = big_page();
    bad.push_str("this is { not a sample\n");
    let server = serve(bad).await;
    let (ms, c) = once(&format!("urls = [\"{}\"]", server.url), 60_000).await;
    assert_failed(&ms);
    assert_eq!(errors(&c, "scrape_parse"), 1);
}

#[test]
fn tag_count_agrees_with_tags() {
    let page =
        "a 1\nb{job=\"x\"} 1\nc{job=\"\",pod=\"p\"} 1\nd{instance=\"i\",job=\"j\",z=\"1\"} 1\n";
    let targets: [&[(String, String)]; 3] = [
        &[],
        &[("job".into(), "t".into())],
        &[
            ("instance".into(), "h:1".into()),
            ("job".into(), "t".into()),
        ],
    ];
    let mut checked = 0;
    for target in targets {
        for honor in [false, true] {
            parse::parse(page.as_bytes(), Format::Text, &mut |s| {
                assert_eq!(
                    model::tag_count(s, target, honor),
                    model::tags(
                        s,
                        &Tags::from_sorted(target.to_vec()),
                        honor,
                        &mut TagsBuilder::new()
                    )
                    .len(),
                    "{} with {target:?}, honor_labels = {honor}",
                    s.name
                );
                checked += 1;
            })
            .expect("parses");
        }
    }
    assert_eq!(checked, 24);
}
