//! Unit tests of `inputs.kubernetes_events`: options and sample, records from event fixtures
//! (`testdata/kubernetes_events/`), the occurrence memory, the release of commits in
//! acknowledgement order, and the state database across a reopen. The watch itself runs
//! end to end against the fake API server (`tests/e2e/kubernetes_events.rs`).
//! Over 400 lines: five small groups (options, records, occurrences, acknowledgements, the
//! database) sharing the fixtures and helpers.

use std::path::PathBuf;

use gleaner_api::{Ack, AckStatus, BuildContext, FieldValue, PluginConfig};
use gleaner_kube::{EventMeta, Workload};

use super::config::{self, KubernetesEventsConfig};
use super::pending::Pending;
use super::seen::{Commit, Remembered, Seen, Verdict};
use super::state::StateDb;
use super::{DESCRIPTOR, record};

fn fixture(name: &str) -> EventMeta {
    let path = format!(
        "{}/testdata/kubernetes_events/{name}",
        env!("CARGO_MANIFEST_DIR")
    );
    let bytes = std::fs::read(&path).unwrap_or_else(|e| panic!("{path}: {e}"));
    EventMeta::from_json(&bytes).unwrap().expect("uid")
}

fn bcx() -> BuildContext {
    let mut b = BuildContext::for_test("inputs.kubernetes_events.0");
    b.data_dir = Some(PathBuf::from("/var/lib/gleaner"));
    b
}

fn parse(toml: &str) -> Result<config::Settings, gleaner_api::ConfigError> {
    let cfg = PluginConfig::from_toml_str("inputs.kubernetes_events.0", toml).unwrap();
    config::parse(&cfg, &bcx())
}

// ---------------------------------------------------------------- config

#[test]
fn sample_shows_the_defaults_and_builds() {
    // Every commented option shows its default: `check_sample` (run for every plugin from
    // src/sample_checks.rs).
    // The shipped sample is the default but for its `db` line (kept active so the sample
    // builds without agent.data_dir).
    let shipped =
        gleaner_api::test_util::sample::uncomment(DESCRIPTOR.sample, |_| false, &|_| String::new());
    let cfg = PluginConfig::from_toml_str("inputs.kubernetes_events.0", &shipped).unwrap();
    assert_eq!(
        cfg.parse::<KubernetesEventsConfig>().unwrap(),
        KubernetesEventsConfig {
            db: Some(PathBuf::from(
                "/var/lib/gleaner/kubernetes_events/events.db"
            )),
            ..KubernetesEventsConfig::default()
        }
    );
    (DESCRIPTOR.build)(&cfg, &BuildContext::for_test("x")).unwrap();
    let cfg = PluginConfig::from_toml_str("inputs.kubernetes_events.0", "").unwrap();
    assert_eq!(
        cfg.parse::<KubernetesEventsConfig>().unwrap(),
        KubernetesEventsConfig::default()
    );
    let s = parse("").unwrap();
    assert_eq!(
        s.scopes,
        vec![None],
        "no namespaces: one cluster-wide watch"
    );
    assert_eq!(
        s.db,
        PathBuf::from("/var/lib/gleaner/kubernetes_events/inputs.kubernetes_events.0.db")
    );
    assert!(
        DESCRIPTOR
            .sample
            .starts_with("[[inputs.kubernetes_events]]\n")
    );
}

#[test]
fn namespaces_give_one_scope_each() {
    let s = parse("namespaces = [\"shop\", \"kube-system\"]").unwrap();
    let scopes: Vec<Option<&str>> = s.scopes.iter().map(|s| s.as_deref()).collect();
    assert_eq!(scopes, [Some("shop"), Some("kube-system")]);
}

#[test]
fn bad_options_name_their_key() {
    for (toml, key) in [
        ("namespaces = [\"Shop\"]", "namespaces"),
        ("namespaces = [\"\"]", "namespaces"),
        ("namespaces = [\"a\", \"a\"]", "namespaces"),
        ("remember = 10", "remember"),
        ("batch_size = 0", "batch_size"),
        ("shard = { index = 2, total = 2 }", "shard"),
        ("namespace = [\"a\"]", "namespace"),
    ] {
        let e = parse(toml).expect_err(toml).to_string();
        assert!(e.contains(key), "{toml}: {e}");
    }
    let cfg = PluginConfig::from_toml_str("inputs.kubernetes_events.0", "").unwrap();
    let e = config::parse(&cfg, &BuildContext::for_test("x"))
        .expect_err("no data_dir")
        .to_string();
    assert!(e.contains("db"), "{e}");
}

// ---------------------------------------------------------------- records

fn attr<'a>(r: &'a gleaner_api::LogRecord, key: &str) -> Option<&'a FieldValue> {
    r.attribute(key)
}

fn text<'a>(r: &'a gleaner_api::LogRecord, key: &str) -> Option<&'a str> {
    match attr(r, key) {
        Some(FieldValue::String(s)) => Some(s),
        _ => None,
    }
}

#[test]
fn a_pod_event_becomes_a_record_with_its_pod_and_workload() {
    let e = fixture("pod_backoff_series.json");
    let w = Workload {
        kind: "Deployment".into(),
        name: "web".into(),
    };
    let r = record::to_record(&e, 1, Some(&w));
    assert_eq!(r.body_lossy(), "Back-off pulling image \"registry/web:2\"");
    assert_eq!(
        r.timestamp,
        gleaner_api::time::parse_rfc3339(b"2026-12-06T10:12:30.5Z").unwrap(),
        "the series' last observation"
    );
    for (k, v) in [
        ("k8s.event.reason", "BackOff"),
        ("k8s.event.type", "Warning"),
        ("k8s.event.action", "Pulling"),
        ("k8s.event.regarding.kind", "Pod"),
        ("k8s.event.regarding.name", "web-7d9f6c5b4-x2k8p"),
        ("k8s.event.regarding.field_path", "spec.containers{app}"),
        ("k8s.event.reporting_controller", "kubelet"),
        ("k8s.event.reporting_instance", "node-1"),
        ("k8s.event.time", "2026-12-06T10:00:00.123456000Z"),
        ("k8s.event.last_observed", "2026-12-06T10:12:30.500000000Z"),
        ("k8s.event.uid", "5b1e0c2a-3f4d-4e5f-8a9b-0c1d2e3f4a5b"),
        ("k8s.namespace", "shop"),
        ("k8s.pod", "web-7d9f6c5b4-x2k8p"),
        ("k8s.pod_uid", "0a1b2c3d-4e5f-6a7b-8c9d-0e1f2a3b4c5d"),
        ("k8s.workload_kind", "Deployment"),
        ("k8s.workload", "web"),
    ] {
        assert_eq!(text(&r, k), Some(v), "{k}");
    }
    assert_eq!(attr(&r, "k8s.event.count"), Some(&FieldValue::Int(7)));
}

#[test]
fn an_event_about_another_kind_names_no_pod() {
    let e = fixture("replicaset_core_v1.json");
    let w = Workload {
        kind: "Deployment".into(),
        name: "web".into(),
    };
    let r = record::to_record(&e, 1, Some(&w));
    assert_eq!(text(&r, "k8s.event.regarding.kind"), Some("ReplicaSet"));
    assert_eq!(
        text(&r, "k8s.event.reporting_controller"),
        Some("replicaset-controller")
    );
    assert_eq!(attr(&r, "k8s.event.count"), Some(&FieldValue::Int(3)));
    assert_eq!(text(&r, "k8s.event.time"), None, "no eventTime");
    for k in ["k8s.pod", "k8s.namespace", "k8s.workload"] {
        assert_eq!(attr(&r, k), None, "{k}");
    }
}

#[test]
fn the_workload_comes_from_a_running_pod_cache() {
    use gleaner_kube::{OwnerRef, PodCache, PodMeta};
    let cache = PodCache::detached(std::time::Duration::from_secs(60));
    let e = fixture("pod_backoff_series.json");
    assert_eq!(record::workload_of(&cache, &e), None, "pod not cached");
    cache.insert(PodMeta {
        uid: "0a1b2c3d-4e5f-6a7b-8c9d-0e1f2a3b4c5d".into(),
        namespace: "shop".into(),
        name: "web-7d9f6c5b4-x2k8p".into(),
        node: "node-1".into(),
        ip: None,
        phase: "Running".into(),
        labels: Vec::new(),
        annotations: Vec::new(),
        containers: Vec::new(),
        owner: Some(OwnerRef {
            kind: "ReplicaSet".into(),
            name: "web-7d9f6c5b4".into(),
            uid: "rs-uid".into(),
        }),
        resource_version: "1".into(),
    });
    assert_eq!(
        record::workload_of(&cache, &e),
        None,
        "owner not resolved yet"
    );
    cache.set_workload(
        "rs-uid",
        Workload {
            kind: "Deployment".into(),
            name: "web".into(),
        },
    );
    let w = record::workload_of(&cache, &e).expect("resolved");
    assert_eq!((&*w.kind, &*w.name), ("Deployment", "web"));
    // By name when the event carries no pod uid.
    let mut by_name = e.clone();
    by_name.regarding.uid = None;
    assert!(record::workload_of(&cache, &by_name).is_some());
    let rs = fixture("replicaset_core_v1.json");
    assert_eq!(record::workload_of(&cache, &rs), None, "not about a pod");
}

// ---------------------------------------------------------------- occurrences

fn ev(uid: &str, count: u32, rv: u64) -> EventMeta {
    EventMeta {
        uid: uid.into(),
        namespace: "shop".into(),
        name: uid.into(),
        resource_version: Some(rv),
        count,
        ..EventMeta::default()
    }
}

#[test]
fn a_new_uid_or_a_higher_count_is_an_occurrence_and_a_relist_is_not() {
    let mut s = Seen::new(Vec::new(), Vec::new(), 1000);
    let mut c = Vec::new();
    s.begin_list("");
    assert_eq!(s.observe("", &ev("a", 1, 10), &mut c), Verdict::Send);
    assert_eq!(s.observe("", &ev("b", 2, 12), &mut c), Verdict::Send);
    s.end_list("", &mut c);
    assert_eq!(
        s.watermark(""),
        Some(12),
        "a complete list moves the watermark"
    );
    assert_eq!(
        s.observe("", &ev("b", 3, 13), &mut c),
        Verdict::Send,
        "series grew"
    );
    assert_eq!(
        s.observe("", &ev("b", 3, 14), &mut c),
        Verdict::Known,
        "metadata only"
    );
    // A re-list (410 Gone) of the same events sends nothing.
    s.begin_list("");
    assert_eq!(s.observe("", &ev("a", 1, 10), &mut c), Verdict::Known);
    assert_eq!(s.observe("", &ev("b", 3, 14), &mut c), Verdict::Known);
    assert_eq!(s.observe("", &ev("c", 1, 15), &mut c), Verdict::Send);
    s.end_list("", &mut c);
    let sent: Vec<(&str, u32)> = c
        .iter()
        .filter_map(|c| match c {
            Commit::Seen { uid, count, .. } => Some((&**uid, *count)),
            _ => None,
        })
        .collect();
    assert_eq!(sent, [("a", 1), ("b", 2), ("b", 3), ("c", 1)]);
}

#[test]
fn a_list_moves_the_watermark_only_when_complete_and_forgets_the_gone() {
    let mut s = Seen::new(Vec::new(), Vec::new(), 1000);
    let mut c = Vec::new();
    s.observe("", &ev("old", 1, 5), &mut c);
    assert_eq!(s.watermark(""), Some(5), "a watched change moves it");
    c.clear();
    s.begin_list("");
    s.observe("", &ev("x", 1, 40), &mut c);
    assert_eq!(s.watermark(""), Some(5), "not before the list is complete");
    s.observe("", &ev("y", 1, 20), &mut c);
    s.end_list("", &mut c);
    assert_eq!(s.watermark(""), Some(40));
    assert!(c.contains(&Commit::Forget { uid: "old".into() }), "{c:?}");
    assert!(c.contains(&Commit::Watermark {
        scope: "".into(),
        rv: 40
    }));
    assert_eq!(s.len(), 2);
}

#[test]
fn after_a_restart_remembered_uids_and_the_watermark_stop_resends() {
    let remembered = vec![Remembered {
        uid: "b".into(),
        namespace: "shop".into(),
        count: 2,
        rv: Some(30),
        seq: 7,
    }];
    let mut s = Seen::new(remembered, vec![("".into(), 30)], 1000);
    let mut c = Vec::new();
    s.begin_list("");
    // Forgotten past `remember`, but below the watermark: sent before.
    assert_eq!(
        s.observe("", &ev("a", 1, 20), &mut c),
        Verdict::BelowWatermark
    );
    assert_eq!(s.observe("", &ev("b", 2, 30), &mut c), Verdict::Known);
    assert_eq!(s.observe("", &ev("b", 4, 35), &mut c), Verdict::Send);
    assert_eq!(s.observe("", &ev("n", 1, 36), &mut c), Verdict::Send);
    // A version that is not a number is never compared.
    let mut opaque = ev("o", 1, 0);
    opaque.resource_version = None;
    assert_eq!(s.observe("", &opaque, &mut c), Verdict::Send);
}

#[test]
fn namespaces_keep_their_own_watermarks() {
    let mut s = Seen::new(Vec::new(), vec![("a".into(), 50)], 1000);
    let mut c = Vec::new();
    assert_eq!(s.observe("b", &ev("x", 1, 40), &mut c), Verdict::Send);
    assert_eq!(
        s.observe("a", &ev("y", 1, 40), &mut c),
        Verdict::BelowWatermark
    );
}

#[test]
fn memory_is_bounded_by_remember_keeping_the_recent() {
    let mut s = Seen::new(Vec::new(), Vec::new(), 100);
    let mut c = Vec::new();
    for i in 0..1000 {
        s.observe("ns", &ev(&format!("u{i}"), 1, i), &mut c);
    }
    assert!(s.len() <= 125, "{}", s.len());
    assert_eq!(s.observe("ns", &ev("u999", 1, 999), &mut c), Verdict::Known);
}

// ---------------------------------------------------------------- acknowledgements

fn ack(id: u64, ok: bool) -> Ack {
    Ack {
        id,
        status: if ok {
            AckStatus::Delivered
        } else {
            AckStatus::Failed
        },
    }
}

fn wm(rv: u64) -> Commit {
    Commit::Watermark {
        scope: "".into(),
        rv,
    }
}

#[test]
fn commits_wait_for_every_batch_before_them() {
    let mut p = Pending::default();
    let a = p.register(vec![wm(1)]);
    let b = p.register(vec![wm(2)]);
    p.register_settled(vec![wm(3)]);
    p.settle(ack(b, true));
    assert!(p.take_ready().is_empty(), "batch a is in flight");
    assert!(!p.settled());
    p.settle(ack(a, true));
    assert_eq!(p.take_ready(), vec![wm(1), wm(2), wm(3)]);
    assert!(p.settled());
}

#[test]
fn a_failed_batch_stops_every_later_commit() {
    let mut p = Pending::default();
    let a = p.register(vec![wm(1)]);
    let b = p.register(vec![wm(2)]);
    let d = p.register(vec![wm(3)]);
    p.settle(ack(a, true));
    p.settle(ack(b, false));
    p.settle(ack(d, true));
    assert_eq!(p.take_ready(), vec![wm(1)]);
    p.register_settled(vec![wm(4)]);
    assert!(p.take_ready().is_empty());
    assert!(p.settled());
}

// ---------------------------------------------------------------- state database

fn seen_row(uid: &str, count: u32, seq: u64) -> Commit {
    Commit::Seen {
        uid: uid.into(),
        namespace: "shop".into(),
        count,
        rv: Some(seq * 10),
        seq,
    }
}

#[test]
fn the_database_keeps_what_was_committed_across_a_reopen() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("sub/events.db");
    let mut db = StateDb::open(&path, 100).unwrap();
    db.commit(&[seen_row("a", 1, 1), seen_row("b", 1, 2), wm(20)])
        .unwrap();
    db.commit(&[
        seen_row("b", 3, 3),
        Commit::Forget { uid: "a".into() },
        wm(30),
        wm(25),
    ])
    .unwrap();
    drop(db);
    let db = StateDb::open(&path, 100).unwrap();
    let loaded = db.load().unwrap();
    assert_eq!(
        loaded.uids,
        vec![Remembered {
            uid: "b".into(),
            namespace: "shop".into(),
            count: 3,
            rv: Some(30),
            seq: 3
        }]
    );
    assert_eq!(loaded.watermarks, vec![("".into(), 30)], "never moves back");
}

#[test]
fn the_database_keeps_the_most_recent_uids() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("events.db");
    let mut db = StateDb::open(&path, 100).unwrap();
    let rows: Vec<Commit> = (1..=250)
        .map(|i| seen_row(&format!("u{i}"), 1, i))
        .collect();
    db.commit(&rows).unwrap();
    let mut loaded = db.load().unwrap().uids;
    loaded.sort_by_key(|r| r.seq);
    assert_eq!(loaded.len(), 100);
    assert_eq!(loaded[0].seq, 151);
}

#[test]
fn a_damaged_database_is_moved_aside_and_rebuilt() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("events.db");
    std::fs::write(&path, b"this is not a database, it is a poem about one").unwrap();
    let mut db = StateDb::open(&path, 100).unwrap();
    db.commit(&[seen_row("a", 1, 1)]).unwrap();
    assert_eq!(db.load().unwrap().uids.len(), 1);
    let aside = std::fs::read_dir(dir.path())
        .unwrap()
        .filter_map(Result::ok)
        .filter(|e| e.file_name().to_string_lossy().contains(".corrupt-"))
        .count();
    assert!(aside >= 1, "the damaged file was kept aside");
}
