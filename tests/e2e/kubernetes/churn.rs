//! Load on the API server and memory: 100 pods churning (each replaced by a new pod of the
//! same ReplicaSet), counting every request the agent makes; and the cache's bytes per pod.
//! The figures are printed for the notes; the assertions are bounds that per-event calls
//! would break.

use gleaner_e2e::fake_kube::{FakeKube, FakeOwner, FakePod, Verb};

use super::{NODE, cri_record, process, start_filter, until};

fn pod(i: usize, generation: usize) -> FakePod {
    let rs = format!("app{}-5d8f7c", i % 10);
    FakePod::new(
        "shop",
        &format!("{rs}-{i}-{generation}"),
        &format!("uid-{i}-{generation}"),
        NODE,
    )
    .with_label("app.kubernetes.io/name", &format!("app{}", i % 10))
    .with_label("app.kubernetes.io/instance", "prod")
    .with_label("pod-template-hash", "5d8f7c")
    .with_annotation("prometheus.io/scrape", "true")
    .with_annotation(
        "kubectl.kubernetes.io/last-applied-configuration",
        &"{}".repeat(500),
    )
    .with_containers(&[
        ("app", "registry.example.com/team/app:1.2.3"),
        ("proxy", "envoyproxy/envoy:v1.30.1"),
    ])
    .owned_by("ReplicaSet", &rs, &format!("rs-{}", i % 10))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hundred_pods_churning_cost_no_request_per_event() {
    let kube = FakeKube::start();
    for r in 0..10 {
        kube.add_owner(FakeOwner {
            kind: "ReplicaSet".into(),
            namespace: "shop".into(),
            name: format!("app{r}-5d8f7c"),
            uid: format!("rs-{r}"),
            owner: Some(("Deployment".into(), format!("app{r}"))),
        });
    }
    for i in 0..100 {
        kube.apply_pod(pod(i, 0));
    }
    let mut f = start_filter(&kube, "").await;
    assert_eq!(f.cache.counts().0, 100);
    let per_pod = f.cache.heap_bytes() / 100;
    println!(
        "cache: {} bytes for 100 pods ({per_pod} per pod)",
        f.cache.heap_bytes()
    );
    assert!(per_pod < 2048, "{per_pod} bytes per cached pod");

    // 300 replacements: every pod replaced three times, records flowing meanwhile.
    for generation in 1..=3 {
        for i in 0..100 {
            kube.delete_pod(&format!("uid-{i}-{}", generation - 1));
            kube.apply_pod(pod(i, generation));
        }
        let last = format!("uid-99-{generation}");
        until(&f.cache, "generation applied", |c| {
            c.by_uid(&last).is_some()
        })
        .await;
        let records: Vec<_> = (0..100)
            .map(|i| {
                let p = pod(i, generation);
                cri_record("shop", &p.name, &p.uid, "app", "line")
            })
            .collect();
        let out = process(&mut f, records);
        assert_eq!(out.len(), 100);
    }
    let reqs = kube.requests();
    let lists = kube.count(Verb::List, "");
    let watches = kube.count(Verb::Watch, "");
    let gets = kube.count(Verb::Get, "");
    println!(
        "600 pod events: {} requests ({lists} lists, {watches} watches, {gets} owner GETs)",
        reqs.len()
    );
    assert_eq!(lists, 1, "one list");
    assert_eq!(watches, 1, "one watch stream carried every event");
    assert_eq!(gets, 10, "one GET per ReplicaSet, never per pod or record");
}
