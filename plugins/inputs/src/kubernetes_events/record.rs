//! One Kubernetes Event occurrence as a log record (pure): the note is the body, the last
//! observation the time, and the rest attributes.
//!
//! | attribute | from |
//! |---|---|
//! | `k8s.event.reason`, `k8s.event.type`, `k8s.event.action` | `reason`, `type`, `action` |
//! | `k8s.event.count` (int) | `series.count`, else `deprecatedCount`, else 1 |
//! | `k8s.event.time` | `eventTime` (first observed), RFC 3339 |
//! | `k8s.event.last_observed` | `series.lastObservedTime`, else `deprecatedLastTimestamp` |
//! | `k8s.event.name`, `k8s.event.namespace`, `k8s.event.uid` | the Event object |
//! | `k8s.event.regarding.{kind,namespace,name,uid,field_path}` | `regarding` |
//! | `k8s.event.reporting_controller`, `k8s.event.reporting_instance` | `reportingController`/`reportingInstance`, else `deprecatedSource` |
//! | `k8s.namespace`, `k8s.pod`, `k8s.pod_uid` | `regarding`, when it is a Pod (the keys `filters.kubernetes` reads) |
//! | `k8s.workload_kind`, `k8s.workload` | the pod's top owner, from a running pod cache |

use gleaner_api::{FieldValue, LogRecord, Stream};
use gleaner_kube::{EventMeta, PodCache, Workload};

fn s(v: &str) -> FieldValue {
    FieldValue::String(v.into())
}

fn time(ns: i64) -> FieldValue {
    let mut buf = Vec::with_capacity(32);
    gleaner_api::time::write_rfc3339(ns, &mut buf);
    FieldValue::String(String::from_utf8_lossy(&buf).into())
}

/// The record of `e`; `now` stands in for an event with no time at all; `workload` is the
/// regarding pod's top owner, when known.
pub(crate) fn to_record(e: &EventMeta, now: i64, workload: Option<&Workload>) -> LogRecord {
    let body = e.note.as_deref().unwrap_or_default();
    let mut r = LogRecord::new(e.time().unwrap_or(now), body, Stream::Unknown);
    let a = &mut r.attributes;
    a.reserve(16);
    let mut opt = |key: &str, v: Option<&str>| {
        if let Some(v) = v {
            a.push(key, s(v));
        }
    };
    opt("k8s.event.reason", e.reason.as_deref());
    opt("k8s.event.type", e.event_type.as_deref());
    opt("k8s.event.action", e.action.as_deref());
    let g = &e.regarding;
    opt("k8s.event.regarding.kind", g.kind.as_deref());
    opt("k8s.event.regarding.namespace", g.namespace.as_deref());
    opt("k8s.event.regarding.name", g.name.as_deref());
    opt("k8s.event.regarding.uid", g.uid.as_deref());
    opt("k8s.event.regarding.field_path", g.field_path.as_deref());
    opt(
        "k8s.event.reporting_controller",
        e.reporting_controller.as_deref(),
    );
    opt(
        "k8s.event.reporting_instance",
        e.reporting_instance.as_deref(),
    );
    a.push("k8s.event.count", FieldValue::Int(i64::from(e.count)));
    if let Some(t) = e.event_time {
        a.push("k8s.event.time", time(t));
    }
    if let Some(t) = e.last_observed {
        a.push("k8s.event.last_observed", time(t));
    }
    a.push("k8s.event.namespace", s(&e.namespace));
    a.push("k8s.event.name", s(&e.name));
    a.push("k8s.event.uid", s(&e.uid));
    if g.kind.as_deref() == Some("Pod")
        && let (Some(ns), Some(name)) = (g.namespace.as_deref(), g.name.as_deref())
    {
        a.push("k8s.namespace", s(ns));
        a.push("k8s.pod", s(name));
        if let Some(uid) = g.uid.as_deref() {
            a.push("k8s.pod_uid", s(uid));
        }
        if let Some(w) = workload {
            a.push("k8s.workload_kind", s(&w.kind));
            a.push("k8s.workload", s(&w.name));
        }
    }
    r
}

/// The top owner of the pod `e` is about, from `pods` (no request): by uid, else by
/// namespace and name; `None` for other kinds, unknown pods and owners not yet resolved.
pub(crate) fn workload_of(pods: &PodCache, e: &EventMeta) -> Option<Workload> {
    let g = &e.regarding;
    if g.kind.as_deref() != Some("Pod") {
        return None;
    }
    g.uid
        .as_deref()
        .and_then(|u| pods.by_uid(u))
        .or_else(|| pods.by_name(g.namespace.as_deref()?, g.name.as_deref()?))
        .and_then(|f| f.workload)
}
