//! Unit tests of the enrichment rules against a hand-filled pod cache (the watch itself is
//! tested against the fake API server in tests/e2e/kubernetes.rs).

use std::sync::Arc;
use std::time::Duration;

use gleaner_api::glob::Glob;
use gleaner_api::{ComponentMetrics, FieldValue, LogRecord, Metric, Stream};
use gleaner_kube::{ContainerMeta, OwnerRef, PodCache, PodMeta, Workload};

use super::config::Settings;
use super::enrich::Enricher;
use super::stats::FilterStats;
use gleaner_kube::label_name as tag_name;

fn settings() -> Settings {
    Settings {
        node: Some("node-1".into()),
        kubeconfig: None,
        labels: vec![Glob::new("app.kubernetes.io/*"), Glob::new("app")],
        annotations: vec![Glob::new("team")],
        namespace_labels: Vec::new(),
        deleted_pod_ttl: Duration::from_secs(300),
        startup_wait: Duration::from_secs(2),
        use_pod_annotations: true,
        default_parser: None,
    }
}

fn pod(uid: &str, name: &str, annotations: &[(&str, &str)]) -> PodMeta {
    let pairs = |v: &[(&str, &str)]| {
        let mut v: Vec<(Box<str>, Box<str>)> = v
            .iter()
            .map(|(k, v)| (Box::from(*k), Box::from(*v)))
            .collect();
        v.sort();
        v
    };
    PodMeta {
        uid: uid.into(),
        namespace: "shop".into(),
        name: name.into(),
        node: "node-1".into(),
        ip: Some("10.0.0.7".into()),
        phase: "Running".into(),
        labels: pairs(&[
            ("app.kubernetes.io/name", "web"),
            ("pod-template-hash", "7d9f"),
            ("namespace", "evil"),
        ]),
        annotations: pairs(annotations),
        containers: vec![
            ContainerMeta {
                name: "app".into(),
                image: "registry/web:1.4".into(),
                ports: Vec::new(),
            },
            ContainerMeta {
                name: "proxy".into(),
                image: "envoy:1.30".into(),
                ports: Vec::new(),
            },
        ],
        owner: Some(OwnerRef {
            kind: "ReplicaSet".into(),
            name: "web-7d9f".into(),
            uid: "rs-1".into(),
        }),
        resource_version: "1".into(),
    }
}

fn record(uid: Option<&str>, pod: &str, container: &str, body: &str) -> LogRecord {
    let mut r = LogRecord::new(1, body, Stream::Stdout)
        .with_attribute("k8s.namespace", FieldValue::String("shop".into()))
        .with_attribute("k8s.pod", FieldValue::String(pod.into()))
        .with_attribute("k8s.container", FieldValue::String(container.into()));
    if let Some(u) = uid {
        r = r.with_attribute("k8s.pod_uid", FieldValue::String(u.into()));
    }
    r
}

fn enricher(cache: &Arc<PodCache>) -> (Enricher, Arc<FilterStats>, Arc<ComponentMetrics>) {
    let stats = Arc::new(FilterStats::default());
    let metrics = ComponentMetrics::detached("kubernetes");
    let mut e = Enricher::new(settings(), Arc::clone(&stats), Arc::clone(&metrics));
    e.attach(Arc::clone(cache), None);
    (e, stats, metrics)
}

fn attr<'a>(r: &'a LogRecord, k: &str) -> Option<&'a str> {
    match r.attribute(k) {
        Some(FieldValue::String(s)) => Some(s),
        _ => None,
    }
}

fn cache() -> Arc<PodCache> {
    let c = Arc::new(PodCache::detached(Duration::from_secs(300)));
    c.mark_ready();
    c
}

#[test]
fn log_record_gets_full_metadata_by_uid() {
    let c = cache();
    c.insert(pod(
        "uid-1",
        "web-7d9f-abcde",
        &[("team", "payments"), ("other", "x")],
    ));
    c.set_workload(
        "rs-1",
        Workload {
            kind: "Deployment".into(),
            name: "web".into(),
        },
    );
    let (mut e, stats, _) = enricher(&c);
    let mut logs = vec![record(Some("uid-1"), "web-7d9f-abcde", "app", "hello")];
    e.logs(&mut logs);
    let r = &logs[0];
    assert_eq!(attr(r, "k8s.container_image"), Some("registry/web:1.4"));
    assert_eq!(attr(r, "k8s.node"), Some("node-1"));
    assert_eq!(attr(r, "k8s.workload_kind"), Some("Deployment"));
    assert_eq!(attr(r, "k8s.workload"), Some("web"));
    assert_eq!(attr(r, "k8s.labels.app.kubernetes.io/name"), Some("web"));
    assert_eq!(
        attr(r, "k8s.labels.pod-template-hash"),
        None,
        "not allow-listed"
    );
    assert_eq!(attr(r, "k8s.annotations.team"), Some("payments"));
    assert_eq!(attr(r, "k8s.annotations.other"), None);
    assert_eq!(attr(r, "k8s.metadata"), None);
    // The path's attributes are not duplicated.
    assert_eq!(
        r.attributes
            .iter()
            .filter(|(k, _)| k == "k8s.pod_uid")
            .count(),
        1
    );
    assert_eq!(stats.enriched.load(std::sync::atomic::Ordering::Relaxed), 1);
}

#[test]
fn uid_wins_over_a_recreated_pod_with_the_same_name() {
    let c = cache();
    let mut old = pod("uid-old", "db-0", &[]);
    old.containers[0].image = "postgres:15".into();
    c.insert(old);
    c.remove("uid-old");
    let mut new = pod("uid-new", "db-0", &[]);
    new.containers[0].image = "postgres:16".into();
    c.insert(new);
    let (mut e, _, _) = enricher(&c);
    let mut logs = vec![
        record(Some("uid-old"), "db-0", "app", "last words"),
        record(Some("uid-new"), "db-0", "app", "first words"),
        record(None, "db-0", "app", "by name"),
    ];
    e.logs(&mut logs);
    assert_eq!(attr(&logs[0], "k8s.container_image"), Some("postgres:15"));
    assert_eq!(attr(&logs[1], "k8s.container_image"), Some("postgres:16"));
    assert_eq!(attr(&logs[2], "k8s.container_image"), Some("postgres:16"));
    assert_eq!(attr(&logs[2], "k8s.pod_uid"), Some("uid-new"));
}

#[test]
fn unknown_pod_passes_flagged_and_counted() {
    let c = cache();
    let (mut e, stats, _) = enricher(&c);
    let mut logs = vec![
        record(Some("nope"), "ghost", "app", "a"),
        record(Some("nope"), "ghost", "app", "b"),
        LogRecord::new(1, "not a container log", Stream::Stdout),
    ];
    e.logs(&mut logs);
    assert_eq!(logs.len(), 3);
    assert_eq!(attr(&logs[0], "k8s.metadata"), Some("missing"));
    assert_eq!(attr(&logs[1], "k8s.metadata"), Some("missing"));
    assert_eq!(attr(&logs[2], "k8s.metadata"), None);
    assert_eq!(stats.missing.load(std::sync::atomic::Ordering::Relaxed), 2);
}

#[test]
fn exclude_annotations_drop_a_pod_or_one_container() {
    let c = cache();
    c.insert(pod("uid-a", "noisy", &[("gleaner.io/exclude", "true")]));
    c.insert(pod(
        "uid-b",
        "half",
        &[("gleaner.io/exclude-proxy", "true")],
    ));
    let (mut e, stats, metrics) = enricher(&c);
    let mut logs = vec![
        record(Some("uid-a"), "noisy", "app", "dropped"),
        record(Some("uid-b"), "half", "proxy", "dropped"),
        record(Some("uid-b"), "half", "app", "kept"),
    ];
    e.logs(&mut logs);
    assert_eq!(logs.len(), 1);
    assert_eq!(logs[0].body, b"kept");
    assert_eq!(stats.excluded.load(std::sync::atomic::Ordering::Relaxed), 2);
    assert_eq!(metrics.dropped_count("excluded"), 2);
}

#[test]
fn parser_annotation_parses_the_message_into_attributes() {
    let c = cache();
    c.insert(pod("uid-j", "api", &[("gleaner.io/parser", "json")]));
    c.insert(pod(
        "uid-l",
        "worker",
        &[("gleaner.io/parser-app", "logfmt")],
    ));
    let (mut e, stats, _) = enricher(&c);
    let mut logs = vec![
        record(
            Some("uid-j"),
            "api",
            "app",
            r#"{"level":"error","code":503}"#,
        ),
        record(Some("uid-j"), "api", "app", "not json"),
        record(
            Some("uid-l"),
            "worker",
            "app",
            "level=info msg=\"job done\"",
        ),
        record(Some("uid-l"), "worker", "proxy", "level=info"),
    ];
    e.logs(&mut logs);
    assert_eq!(logs[0].attribute("log.code"), Some(&FieldValue::Int(503)));
    assert_eq!(attr(&logs[0], "log.level"), Some("error"));
    assert_eq!(
        logs[0].body, br#"{"level":"error","code":503}"#,
        "body kept"
    );
    assert_eq!(attr(&logs[1], "log.level"), None);
    assert_eq!(logs[1].body, b"not json");
    assert_eq!(attr(&logs[2], "log.msg"), Some("job done"));
    assert_eq!(
        attr(&logs[3], "log.level"),
        None,
        "parser-app is for app only"
    );
    assert_eq!(
        stats
            .parse_failed
            .load(std::sync::atomic::Ordering::Relaxed),
        1
    );
}

#[test]
fn default_parser_covers_pods_without_the_annotation_and_none_opts_out() {
    let c = cache();
    c.insert(pod("uid-p", "plain", &[]));
    c.insert(pod("uid-n", "raw", &[("gleaner.io/parser", "none")]));
    c.insert(pod("uid-l", "lf", &[("gleaner.io/parser", "logfmt")]));
    let mut s = settings();
    s.default_parser = crate::parsers::Format::named("json");
    let stats = Arc::new(FilterStats::default());
    let metrics = ComponentMetrics::detached("kubernetes");
    let mut e = Enricher::new(s, Arc::clone(&stats), metrics);
    e.attach(Arc::clone(&c), None);
    let mut logs = vec![
        record(Some("uid-p"), "plain", "app", r#"{"level":"warn"}"#),
        record(Some("uid-n"), "raw", "app", r#"{"level":"warn"}"#),
        record(Some("uid-l"), "lf", "app", "level=debug"),
        record(Some("uid-gone"), "gone", "app", r#"{"level":"info"}"#),
    ];
    e.logs(&mut logs);
    assert_eq!(attr(&logs[0], "log.level"), Some("warn"), "default applies");
    assert_eq!(attr(&logs[1], "log.level"), None, "none opts out");
    assert_eq!(
        attr(&logs[2], "log.level"),
        Some("debug"),
        "annotation wins"
    );
    assert_eq!(
        attr(&logs[3], "log.level"),
        Some("info"),
        "a pod not (yet) in the cache has no annotation"
    );
}

#[test]
fn metrics_get_tags_without_overwriting() {
    let c = cache();
    c.insert(pod("uid-1", "web-1", &[]));
    c.set_workload(
        "rs-1",
        Workload {
            kind: "Deployment".into(),
            name: "web".into(),
        },
    );
    let (mut e, _, _) = enricher(&c);
    let mut ms = vec![
        Metric::new("kubernetes_pod_container", 1)
            .with_tag("namespace", "shop")
            .with_tag("pod_name", "web-1")
            .with_tag("workload", "already")
            .with_field("cpu_usage_nanocores", FieldValue::UInt(5)),
        Metric::new("cpu", 1).with_field("usage_idle", FieldValue::Float(1.0)),
    ];
    e.metrics(&mut ms);
    let m = &ms[0];
    assert_eq!(
        m.tag("namespace"),
        Some("shop"),
        "a label named namespace never overwrites"
    );
    assert_eq!(m.tag("workload"), Some("already"));
    assert_eq!(m.tag("k8s_workload"), Some("web"));
    assert_eq!(m.tag("workload_kind"), Some("Deployment"));
    assert_eq!(m.tag("app_kubernetes_io_name"), Some("web"));
    assert_eq!(
        m.tag("k8s_namespace"),
        None,
        "the label `namespace` is not allow-listed"
    );
    assert_eq!(ms[1].tags.len(), 0);
}

#[test]
fn label_collisions_with_existing_tags_are_prefixed() {
    let c = cache();
    let mut p = pod("uid-1", "web-1", &[]);
    p.labels = vec![("app".into(), "web".into())];
    c.insert(p);
    let (mut e, _, _) = enricher(&c);
    let mut ms = vec![
        Metric::new("http_requests_total", 1)
            .with_tag("namespace", "shop")
            .with_tag("pod", "web-1")
            .with_tag("app", "from-target")
            .with_field("value", FieldValue::Float(1.0)),
    ];
    e.metrics(&mut ms);
    assert_eq!(ms[0].tag("app"), Some("from-target"));
    assert_eq!(ms[0].tag("k8s_app"), Some("web"));
}

#[test]
fn tag_names_are_prometheus_safe() {
    assert_eq!(tag_name("app.kubernetes.io/name"), "app_kubernetes_io_name");
    assert_eq!(tag_name("team"), "team");
}

#[tokio::test(start_paused = true)]
async fn deleted_pod_is_kept_while_its_records_come_then_expires() {
    let c = Arc::new(PodCache::detached(Duration::from_secs(300)));
    c.mark_ready();
    c.insert(pod("uid-1", "job-1", &[]));
    c.remove("uid-1");
    let (mut e, _, _) = enricher(&c);
    tokio::time::advance(Duration::from_secs(200)).await;
    let mut logs = vec![record(Some("uid-1"), "job-1", "app", "late line")];
    e.logs(&mut logs);
    assert_eq!(
        attr(&logs[0], "k8s.container_image"),
        Some("registry/web:1.4")
    );
    // The lookup at 200 s refreshed it: still there at 450 s.
    tokio::time::advance(Duration::from_secs(250)).await;
    c.expire();
    assert!(c.by_uid("uid-1").is_some_and(|f| f.deleted));
    // 300 s with no records: gone.
    tokio::time::advance(Duration::from_secs(301)).await;
    c.expire();
    assert!(c.by_uid("uid-1").is_none());
    assert!(c.by_name("shop", "job-1").is_none());
    assert_eq!(c.counts(), (0, 0));
    assert_eq!(
        c.owners_cached(),
        0,
        "the owner entry goes with its last pod"
    );
}
