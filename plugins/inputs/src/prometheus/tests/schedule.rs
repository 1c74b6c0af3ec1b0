//! The schedule: phases spread targets over the interval and are stable per target; the
//! shard filter; and a running input following a changing target set (targets added start,
//! removed ones stop) until shutdown.

use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use gleaner_api::test_util::input_context;
use gleaner_api::{Batch, RunMode};
use tokio::sync::mpsc;

use super::server::{Reply, Server};
use super::{TEXT, config, context};
use crate::prometheus::schedule::first_delay;
use crate::prometheus::shard::Shard;
use crate::prometheus::target::{Target, TargetSource};
use crate::prometheus::{Prometheus, build_input};

#[test]
fn phases_spread_a_thousand_targets_over_the_interval() {
    let interval = Duration::from_secs(10);
    let now = 1_700_000_000_123_456_789;
    let mut slots = [0usize; 10];
    for i in 0..1000 {
        let t = Target::from_url(
            format!("http://10.1.{}.{}:9100/metrics", i / 200, i % 200)
                .parse()
                .expect("uri"),
            "node",
            &[],
        );
        let d = first_delay(t.hash(), interval, now);
        assert!(d < interval);
        // The same target fires at the same phase whenever it is asked.
        let later = first_delay(t.hash(), interval, now + 3_000_000_000);
        assert_eq!(
            (d.as_nanos() + 10_000_000_000 - 3_000_000_000) % 10_000_000_000,
            later.as_nanos()
        );
        slots[(d.as_secs()) as usize] += 1;
    }
    assert!(
        slots.iter().all(|&n| (60..=140).contains(&n)),
        "uneven: {slots:?}"
    );
}

#[test]
fn a_target_is_its_url_and_labels() {
    let u: http::Uri = "http://h/metrics".parse().expect("uri");
    let a = Target::from_url(u.clone(), "j", &[]);
    assert_eq!(
        a.labels(),
        [
            ("instance".to_owned(), "h:80".to_owned()),
            ("job".to_owned(), "j".to_owned())
        ]
    );
    let b = Target::from_url(u.clone(), "k", &[]);
    assert_ne!(a.identity(), b.identity());
    assert_ne!(a.hash(), b.hash());
    assert_eq!(a.hash(), Target::from_url(u, "j", &[]).hash(), "stable");
}

#[tokio::test]
async fn shards_split_the_static_targets() {
    let urls: Vec<String> = (0..40)
        .map(|i| format!("\"http://10.0.0.{i}:9100/metrics\""))
        .collect();
    let mut total = 0;
    for index in 0..3 {
        let toml = format!(
            "urls = [{}]\nshard = {{ index = {index}, total = 3 }}",
            urls.join(",")
        );
        let input = build_input(&config(&toml), &context(60_000)).expect("build");
        let s = Shard { index, total: 3 };
        let mine = input
            .settings
            .targets
            .iter()
            .filter(|t| s.owns(t.hash()))
            .count();
        assert!(mine > 0 && mine < 40);
        total += mine;
    }
    assert_eq!(total, 40);
}

/// Target sets pushed by the test.
struct Pushed(mpsc::Receiver<Vec<Target>>);

#[async_trait]
impl TargetSource for Pushed {
    async fn next(&mut self) -> Option<Vec<Target>> {
        self.0.recv().await
    }
}

fn instance(url: &str) -> String {
    url.trim_start_matches("http://")
        .trim_end_matches("/metrics")
        .to_owned()
}

/// The next batch with a metric of `instance`.
async fn next_from(
    out: &mut mpsc::Receiver<gleaner_api::Envelope>,
    instance: String,
) -> Vec<gleaner_api::Metric> {
    loop {
        let env = out.recv().await.expect("batch");
        let Batch::Metrics(ms) = env.batch else {
            continue;
        };
        if ms
            .iter()
            .any(|m| m.tag("instance") == Some(instance.as_str()))
        {
            return ms;
        }
    }
}

#[tokio::test]
async fn the_running_input_follows_the_target_set() {
    let a = Server::start(Reply::Page {
        content_type: TEXT,
        body: "a 1\n".into(),
        gzip: false,
    })
    .await;
    let b = Server::start(Reply::Page {
        content_type: TEXT,
        body: "b 1\n".into(),
        gzip: false,
    })
    .await;
    let bcx = context(200);
    let mut input: Prometheus = build_input(&config("timeout = \"100ms\""), &bcx).expect("build");
    let (tx, rx) = mpsc::channel(4);
    input.sources = vec![Box::new(Pushed(rx))];
    let (cx, mut out, trigger) = input_context(&bcx, RunMode::Continuous, 64);
    let run = tokio::spawn(gleaner_api::Input::run(Box::new(input), cx));
    let target = |u: &str| Target::from_url(u.parse().expect("uri"), "j", &[]);
    tx.send(vec![target(&a.url)]).await.expect("send");
    let ms = tokio::time::timeout(
        Duration::from_secs(5),
        next_from(&mut out, instance(&a.url)),
    )
    .await
    .expect("a scraped");
    assert!(ms.iter().any(|m| m.field("a").is_some()));
    tx.send(vec![target(&b.url)]).await.expect("send");
    tokio::time::timeout(
        Duration::from_secs(5),
        next_from(&mut out, instance(&b.url)),
    )
    .await
    .expect("b scraped");
    let a_seen = a.requests().len();
    let b_seen = b.requests().len();
    // Three more intervals: b keeps going, a is gone.
    let deadline = tokio::time::Instant::now() + Duration::from_millis(700);
    while tokio::time::timeout_at(deadline, out.recv()).await.is_ok() {}
    assert_eq!(
        a.requests().len(),
        a_seen,
        "a removed target is not scraped"
    );
    assert!(
        b.requests().len() >= b_seen + 2,
        "b is scraped every interval"
    );
    drop(trigger);
    let stopped = tokio::time::timeout(Duration::from_secs(5), run).await;
    assert!(stopped.is_ok_and(|r| r.is_ok()), "run ends on shutdown");
    let _keep = Arc::new(tx);
}
