//! The API server down at start-up and mid-run, slow, and watches that restart (a dropped
//! connection resumes from the last version; a compacted history answers 410 Gone and forces
//! a re-list): ingestion never blocks, records pass flagged and counted, metadata comes back,
//! and the cache neither duplicates nor loses pods.

use std::time::{Duration, Instant};

use gleaner_e2e::fake_kube::{FakeKube, FakePod, Verb};

use super::{NODE, attr, cri_record, process, start_filter, stat, until};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn api_down_at_start_records_pass_flagged_then_backfill() {
    let kube = FakeKube::start();
    kube.apply_pod(FakePod::new("shop", "web-1", "uid-1", NODE));
    kube.set_down(true);
    let t0 = Instant::now();
    let mut f = start_filter(&kube, "startup_wait = \"300ms\"").await;
    let waited = t0.elapsed();
    assert!(waited < Duration::from_secs(5), "start waited {waited:?}");
    assert!(!f.cache.is_ready());

    let out = process(
        &mut f,
        vec![cri_record("shop", "web-1", "uid-1", "app", "early")],
    );
    assert_eq!(out.len(), 1, "nothing is held back");
    assert_eq!(attr(&out[0], "k8s.metadata"), Some("missing"));
    assert_eq!(stat(&f, "records_missing_total"), 1.0);

    kube.set_down(false);
    until(&f.cache, "first list after the outage", |c| c.is_ready()).await;
    let out = process(
        &mut f,
        vec![cri_record("shop", "web-1", "uid-1", "app", "later")],
    );
    assert_eq!(attr(&out[0], "k8s.metadata"), None);
    assert_eq!(
        attr(&out[0], "k8s.container_image"),
        Some("registry/web-1:1")
    );
    assert!(stat(&f, "watch_errors_total") >= 1.0);
    assert_eq!(stat(&f, "records_enriched_total"), 1.0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn api_down_mid_run_keeps_the_cache_and_catches_up() {
    let kube = FakeKube::start();
    kube.apply_pod(FakePod::new("shop", "web-1", "uid-1", NODE));
    let mut f = start_filter(&kube, "").await;
    assert!(f.cache.is_ready());
    kube.set_down(true);
    until(&f.cache, "watch loss noticed", |c| !c.is_connected()).await;
    // Known pods are still enriched from the cache; a pod born during the outage is not yet.
    kube.apply_pod(FakePod::new("shop", "web-2", "uid-2", NODE));
    let out = process(
        &mut f,
        vec![
            cri_record("shop", "web-1", "uid-1", "app", "a"),
            cri_record("shop", "web-2", "uid-2", "app", "b"),
        ],
    );
    assert_eq!(
        attr(&out[0], "k8s.container_image"),
        Some("registry/web-1:1")
    );
    assert_eq!(attr(&out[1], "k8s.metadata"), Some("missing"));
    kube.set_down(false);
    until(&f.cache, "pod born during the outage", |c| {
        c.by_uid("uid-2").is_some()
    })
    .await;
    let out = process(
        &mut f,
        vec![cri_record("shop", "web-2", "uid-2", "app", "c")],
    );
    assert_eq!(
        attr(&out[0], "k8s.container_image"),
        Some("registry/web-2:1")
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn slow_api_does_not_block_ingestion() {
    let kube = FakeKube::start();
    kube.apply_pod(FakePod::new("shop", "web-1", "uid-1", NODE));
    kube.set_delay(Duration::from_secs(3));
    let mut f = start_filter(&kube, "startup_wait = \"200ms\"").await;
    let t0 = Instant::now();
    let out = process(
        &mut f,
        vec![cri_record("shop", "web-1", "uid-1", "app", "x"); 1000],
    );
    // The API answers after 3 s: a filter that waited for it could not finish sooner.
    assert!(t0.elapsed() < Duration::from_secs(3), "{:?}", t0.elapsed());
    assert!(
        out.iter()
            .all(|r| attr(r, "k8s.metadata") == Some("missing"))
    );
    kube.set_delay(Duration::ZERO);
    until(&f.cache, "slow list arrives", |c| c.is_ready()).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn restarted_watch_neither_duplicates_nor_loses() {
    let kube = FakeKube::start();
    for i in 0..5 {
        kube.apply_pod(FakePod::new(
            "shop",
            &format!("p{i}"),
            &format!("uid-{i}"),
            NODE,
        ));
    }
    let f = start_filter(&kube, "").await;
    assert_eq!(f.cache.counts(), (5, 0));
    let relists = stat(&f, "watch_relists_total");

    // A dropped connection: the watch resumes from its last version and replays the gap,
    // with no new list.
    kube.drop_watches();
    kube.delete_pod("uid-0");
    kube.apply_pod(FakePod::new("shop", "p5", "uid-5", NODE));
    until(&f.cache, "gap replayed", |c| {
        c.by_uid("uid-5").is_some() && c.by_uid("uid-0").is_some_and(|p| p.deleted)
    })
    .await;
    assert_eq!(f.cache.counts(), (5, 1));
    assert_eq!(
        stat(&f, "watch_relists_total"),
        relists,
        "resumed, not re-listed"
    );

    // Changes while the watch is down and the history compacted: the next watch gets 410
    // Gone, kube re-lists, and the re-list's result replaces the cache's live set exactly.
    kube.set_down(true);
    kube.delete_pod("uid-1");
    kube.apply_pod(FakePod::new("shop", "p6", "uid-6", NODE).with_containers(&[("app", "v2")]));
    kube.apply_pod(FakePod::new("shop", "p2", "uid-2", NODE).with_containers(&[("app", "p2:v2")]));
    kube.compact();
    kube.set_down(false);
    until(&f.cache, "re-list after 410", |c| {
        c.by_uid("uid-6").is_some()
    })
    .await;
    until(&f.cache, "deleted in the gap", |c| {
        c.by_uid("uid-1").is_some_and(|p| p.deleted)
    })
    .await;
    assert_eq!(
        f.cache.counts(),
        (5, 2),
        "live: 2, 3, 4, 5, 6; retained: 0, 1"
    );
    let live: Vec<String> = {
        let mut v: Vec<String> = f
            .cache
            .live_pods()
            .iter()
            .map(|p| p.uid.to_string())
            .collect();
        v.sort();
        v
    };
    assert_eq!(live, ["uid-2", "uid-3", "uid-4", "uid-5", "uid-6"]);
    let p2 = f.cache.by_uid("uid-2").expect("p2").pod;
    assert_eq!(&*p2.containers[0].image, "p2:v2");
    assert!(stat(&f, "watch_relists_total") > relists);
    assert!(kube.count(Verb::List, "/api/v1/pods") >= 2);
}
