//! Enrichment through a real watch: path coordinates → full metadata, Deployment and CronJob
//! owner resolution (one GET per owner), node scoping, label and namespace-label
//! allow-lists, deleted-pod retention and same-name recreation, exclusion and parsers.

use gleaner_api::{Batch, FieldValue, Metric};
use gleaner_e2e::fake_kube::{FakeKube, FakeOwner, FakePod, Verb};

use super::{NODE, attr, cri_record, process, start_filter, until};

fn owner(kind: &str, name: &str, uid: &str, top: Option<(&str, &str)>) -> FakeOwner {
    FakeOwner {
        kind: kind.into(),
        namespace: "shop".into(),
        name: name.into(),
        uid: uid.into(),
        owner: top.map(|(k, n)| (k.into(), n.into())),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cri_records_get_pod_workload_image_and_labels() {
    let kube = FakeKube::start();
    kube.apply_namespace("shop", &[("team", "payments"), ("tier", "gold")]);
    kube.add_owner(owner(
        "ReplicaSet",
        "web-7d9f8c",
        "rs-1",
        Some(("Deployment", "web")),
    ));
    kube.add_owner(owner("ReplicaSet", "bare-rs", "rs-2", None));
    kube.add_owner(owner(
        "Job",
        "backup-29123",
        "job-1",
        Some(("CronJob", "backup")),
    ));
    kube.apply_pod(
        FakePod::new("shop", "web-7d9f8c-x2x9z", "uid-web", NODE)
            .with_label("app.kubernetes.io/name", "web")
            .with_label("pod-template-hash", "7d9f8c")
            .with_label("team", "core")
            .with_annotation("team", "payments")
            .with_containers(&[("app", "registry/web:1.4"), ("envoy", "envoy:1.30")])
            .owned_by("ReplicaSet", "web-7d9f8c", "rs-1"),
    );
    kube.apply_pod(
        FakePod::new("shop", "web-7d9f8c-aaaaa", "uid-web2", NODE).owned_by(
            "ReplicaSet",
            "web-7d9f8c",
            "rs-1",
        ),
    );
    kube.apply_pod(
        FakePod::new("shop", "bare-rs-q", "uid-bare", NODE).owned_by(
            "ReplicaSet",
            "bare-rs",
            "rs-2",
        ),
    );
    kube.apply_pod(
        FakePod::new("shop", "backup-29123-k", "uid-job", NODE).owned_by(
            "Job",
            "backup-29123",
            "job-1",
        ),
    );
    kube.apply_pod(FakePod::new("shop", "db-0", "uid-db", NODE).owned_by(
        "StatefulSet",
        "db",
        "sts-1",
    ));
    kube.apply_pod(FakePod::new("shop", "debug", "uid-debug", NODE));
    kube.apply_pod(FakePod::new("shop", "elsewhere", "uid-far", "node-2"));

    let mut f = start_filter(
        &kube,
        "labels = [\"app.kubernetes.io/*\", \"team\"]\nannotations = [\"team\"]\nnamespace_labels = [\"team\"]",
    )
    .await;
    assert!(f.cache.is_ready(), "start waited for the first list");
    // Owner GETs happen in the background; wait for the two ReplicaSets and the Job.
    until(&f.cache, "workloads resolved", |c| {
        ["uid-web", "uid-bare", "uid-job"]
            .iter()
            .all(|u| c.by_uid(u).is_some_and(|p| p.workload.is_some()))
    })
    .await;
    assert_eq!(f.cache.counts(), (6, 0), "only this node's pods");

    let out = process(
        &mut f,
        vec![
            cri_record("shop", "web-7d9f8c-x2x9z", "uid-web", "envoy", "GET / 200"),
            cri_record("shop", "bare-rs-q", "uid-bare", "app", "x"),
            cri_record("shop", "backup-29123-k", "uid-job", "app", "x"),
            cri_record("shop", "db-0", "uid-db", "app", "x"),
            cri_record("shop", "debug", "uid-debug", "app", "x"),
            cri_record("shop", "elsewhere", "uid-far", "app", "x"),
        ],
    );
    let web = &out[0];
    assert_eq!(attr(web, "k8s.workload_kind"), Some("Deployment"));
    assert_eq!(attr(web, "k8s.workload"), Some("web"));
    assert_eq!(attr(web, "k8s.container_image"), Some("envoy:1.30"));
    assert_eq!(attr(web, "k8s.node"), Some(NODE));
    assert_eq!(attr(web, "k8s.labels.app.kubernetes.io/name"), Some("web"));
    assert_eq!(attr(web, "k8s.labels.team"), Some("core"));
    assert_eq!(attr(web, "k8s.labels.pod-template-hash"), None);
    assert_eq!(attr(web, "k8s.annotations.team"), Some("payments"));
    assert_eq!(attr(web, "k8s.namespace_labels.team"), Some("payments"));
    assert_eq!(attr(web, "k8s.namespace_labels.tier"), None);
    let workload = |i: usize| {
        (
            attr(&out[i], "k8s.workload_kind"),
            attr(&out[i], "k8s.workload"),
        )
    };
    assert_eq!(
        workload(1),
        (Some("ReplicaSet"), Some("bare-rs")),
        "a bare ReplicaSet is its own workload"
    );
    assert_eq!(workload(2), (Some("CronJob"), Some("backup")));
    assert_eq!(workload(3), (Some("StatefulSet"), Some("db")));
    assert_eq!(workload(4), (Some("Pod"), Some("debug")));
    assert_eq!(
        attr(&out[5], "k8s.metadata"),
        Some("missing"),
        "another node's pod is not watched"
    );

    // One GET per owner, whatever the number of pods and records; the list came from the
    // watch cache, scoped to the node, and the watch asked for bookmarks.
    assert_eq!(kube.count(Verb::Get, "/replicasets/web-7d9f8c"), 1);
    assert_eq!(kube.count(Verb::Get, "/jobs/backup-29123"), 1);
    assert_eq!(kube.count(Verb::Get, ""), 3);
    let reqs = kube.requests();
    let list = reqs
        .iter()
        .find(|r| r.verb == Verb::List && r.path == "/api/v1/pods")
        .expect("pod list");
    assert!(list.query.contains("resourceVersion=0"), "{}", list.query);
    assert!(
        list.query.contains("fieldSelector=spec.nodeName%3Dnode-1"),
        "{}",
        list.query
    );
    let watch = reqs
        .iter()
        .find(|r| r.verb == Verb::Watch && r.path == "/api/v1/pods")
        .expect("pod watch");
    assert!(
        watch.query.contains("allowWatchBookmarks=true"),
        "{}",
        watch.query
    );
    assert!(
        watch.query.contains("fieldSelector=spec.nodeName%3Dnode-1"),
        "{}",
        watch.query
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn deleted_pod_keeps_metadata_and_a_recreated_name_gets_its_own() {
    let kube = FakeKube::start();
    kube.apply_pod(
        FakePod::new("shop", "db-0", "uid-old", NODE).with_containers(&[("app", "postgres:15")]),
    );
    let mut f = start_filter(&kube, "").await;
    kube.delete_pod("uid-old");
    until(&f.cache, "delete seen", |c| {
        c.by_uid("uid-old").is_some_and(|p| p.deleted)
    })
    .await;
    kube.apply_pod(
        FakePod::new("shop", "db-0", "uid-new", NODE).with_containers(&[("app", "postgres:16")]),
    );
    until(&f.cache, "recreation seen", |c| {
        c.by_uid("uid-new").is_some()
    })
    .await;

    let out = process(
        &mut f,
        vec![
            cri_record("shop", "db-0", "uid-old", "app", "last line of the old pod"),
            cri_record(
                "shop",
                "db-0",
                "uid-new",
                "app",
                "first line of the new pod",
            ),
        ],
    );
    assert_eq!(attr(&out[0], "k8s.container_image"), Some("postgres:15"));
    assert_eq!(attr(&out[1], "k8s.container_image"), Some("postgres:16"));
    assert_eq!(f.cache.counts(), (1, 1));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn annotations_exclude_and_parse_through_the_watch() {
    let kube = FakeKube::start();
    kube.apply_pod(
        FakePod::new("shop", "chatty", "uid-c", NODE).with_annotation("gleaner.io/exclude", "true"),
    );
    kube.apply_pod(
        FakePod::new("shop", "api", "uid-a", NODE)
            .with_containers(&[("app", "api:1"), ("sidecar", "sc:1")])
            .with_annotation("gleaner.io/parser-app", "json")
            .with_annotation("gleaner.io/exclude-sidecar", "true")
            .with_annotation("unrelated/big", &"x".repeat(10_000)),
    );
    let mut f = start_filter(&kube, "").await;
    let out = process(
        &mut f,
        vec![
            cri_record("shop", "chatty", "uid-c", "app", "noise"),
            cri_record("shop", "api", "uid-a", "sidecar", "noise"),
            cri_record(
                "shop",
                "api",
                "uid-a",
                "app",
                r#"{"level":"warn","latency_ms":12}"#,
            ),
        ],
    );
    assert_eq!(out.len(), 1);
    assert_eq!(attr(&out[0], "log.level"), Some("warn"));
    assert_eq!(
        out[0].attribute("log.latency_ms"),
        Some(&FieldValue::Int(12))
    );
    assert_eq!(f.bcx.metrics.dropped_count("excluded"), 2);
    // Annotations nobody asked for are not kept.
    let pod = f.cache.by_uid("uid-a").expect("cached").pod;
    assert!(pod.annotation("unrelated/big").is_none());
    assert!(pod.heap_bytes() < 2048, "{}", pod.heap_bytes());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pod_metrics_get_workload_tags_without_overwriting() {
    let kube = FakeKube::start();
    kube.apply_pod(
        FakePod::new("shop", "db-0", "uid-db", NODE)
            .with_label("app", "db")
            .with_label("namespace", "not-this")
            .owned_by("StatefulSet", "db", "sts-1"),
    );
    let mut f = start_filter(&kube, "labels = [\"app\", \"namespace\"]").await;
    let mut batch = Batch::Metrics(vec![
        Metric::new("kubernetes_pod_container", 1)
            .with_tag("namespace", "shop")
            .with_tag("pod_name", "db-0")
            .with_tag("container_name", "app")
            .with_field("memory_working_set_bytes", FieldValue::UInt(1 << 20)),
    ]);
    f.filter.process(&mut batch);
    let Batch::Metrics(ms) = batch else {
        panic!("kind changed")
    };
    assert_eq!(
        ms[0].tag("namespace"),
        Some("shop"),
        "a label never overwrites namespace"
    );
    assert_eq!(
        ms[0].tag("k8s_namespace"),
        Some("not-this"),
        "the collision is prefixed"
    );
    assert_eq!(ms[0].tag("app"), Some("db"));
    assert_eq!(ms[0].tag("workload_kind"), Some("StatefulSet"));
    assert_eq!(ms[0].tag("workload"), Some("db"));
}
