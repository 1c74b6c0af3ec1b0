//! Event fixtures (`testdata/events/`, as `kubectl get events.events.k8s.io -o json` shows
//! them) read into [`EventMeta`].

use super::*;

fn fixture(name: &str) -> Option<EventMeta> {
    let path = format!("{}/testdata/events/{name}", env!("CARGO_MANIFEST_DIR"));
    let bytes = std::fs::read(&path).unwrap_or_else(|e| panic!("{path}: {e}"));
    EventMeta::from_json(&bytes).unwrap_or_else(|e| panic!("{path}: {e}"))
}

fn ns(rfc3339: &str) -> i64 {
    gleaner_api::time::parse_rfc3339(rfc3339.as_bytes()).expect("fixture time")
}

#[test]
fn an_event_series_gives_its_count_and_last_observation() {
    let e = fixture("series.json").expect("has a uid");
    assert_eq!(&*e.uid, "5b1e0c2a-3f4d-4e5f-8a9b-0c1d2e3f4a5b");
    assert_eq!((&*e.namespace, e.resource_version), ("shop", Some(48213)));
    assert_eq!(e.reason.as_deref(), Some("BackOff"));
    assert_eq!(e.event_type.as_deref(), Some("Warning"));
    assert_eq!(e.action.as_deref(), Some("Pulling"));
    assert_eq!(
        e.note.as_deref(),
        Some("Back-off pulling image \"registry/web:2\"")
    );
    assert_eq!(e.count, 7);
    assert_eq!(e.event_time, Some(ns("2026-12-06T10:00:00.123456Z")));
    assert_eq!(e.last_observed, Some(ns("2026-12-06T10:12:30.5Z")));
    assert_eq!(e.time(), e.last_observed);
    assert_eq!(e.reporting_controller.as_deref(), Some("kubelet"));
    assert_eq!(e.reporting_instance.as_deref(), Some("node-1"));
    assert_eq!(
        e.regarding,
        ObjectRef {
            kind: Some("Pod".into()),
            namespace: Some("shop".into()),
            name: Some("web-7d9f6c5b4-x2k8p".into()),
            uid: Some("0a1b2c3d-4e5f-6a7b-8c9d-0e1f2a3b4c5d".into()),
            field_path: Some("spec.containers{app}".into()),
        }
    );
}

#[test]
fn an_event_written_through_core_v1_reads_its_deprecated_fields() {
    let e = fixture("core_v1_shape.json").expect("has a uid");
    assert_eq!(e.count, 3, "deprecatedCount");
    assert_eq!(e.event_time, None);
    assert_eq!(e.last_observed, Some(ns("2026-12-06T10:01:00Z")));
    assert_eq!(e.first_seen, Some(ns("2026-12-06T09:58:00Z")));
    assert_eq!(
        e.reporting_controller.as_deref(),
        Some("replicaset-controller"),
        "an empty reportingController falls back to deprecatedSource.component"
    );
    assert_eq!(e.reporting_instance, None);
    assert_eq!(e.regarding.kind.as_deref(), Some("ReplicaSet"));
}

#[test]
fn a_single_event_counts_one_and_an_opaque_version_is_not_compared() {
    let e = fixture("node.json").expect("has a uid");
    assert_eq!(e.count, 1);
    assert_eq!(e.resource_version, None);
    assert_eq!(e.regarding.namespace, None, "a Node is cluster-scoped");
    assert_eq!(e.time(), Some(ns("2026-12-06T08:00:00.000001Z")));
}

#[test]
fn an_event_without_a_uid_is_skipped_and_garbage_is_an_error() {
    assert_eq!(fixture("no_uid.json"), None);
    assert!(EventMeta::from_json(b"{\"metadata\": 5}").is_err());
}
