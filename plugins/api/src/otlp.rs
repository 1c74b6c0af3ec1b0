//! OpenTelemetry (OTLP) shared by `inputs.otlp` and `outputs.otlp`: the protobuf messages
//! (`proto.rs`) and the one mapping between OTLP's resource, scope and record fields and
//! Gleaner's flat attributes and tags, written here once so that the input and the output
//! are each other's inverse (a record or metric sent by `outputs.otlp` and received by
//! `inputs.otlp` comes out as it went in).
//!
//! Attribute keys (a log record's attributes, a metric's tags) ↔ resource attributes:
//!
//! | Gleaner key | OTLP resource attribute |
//! |---|---|
//! | `host` | `host.name` |
//! | `k8s.namespace` | `k8s.namespace.name` |
//! | `k8s.pod` | `k8s.pod.name` |
//! | `k8s.pod_uid` | `k8s.pod.uid` |
//! | `k8s.container` | `k8s.container.name` |
//! | `k8s.node` | `k8s.node.name` |
//! | `k8s.restart_count` | `k8s.container.restart_count` |
//! | `k8s.labels.<k>` | `k8s.pod.label.<k>` |
//! | `k8s.annotations.<k>` | `k8s.pod.annotation.<k>` |
//! | `k8s.namespace_labels.<k>` | `k8s.namespace.label.<k>` |
//! | `k8s.workload_kind` = `Deployment` and `k8s.workload` = `x` | `k8s.deployment.name` = `x` (also StatefulSet, DaemonSet, ReplicaSet, Job, CronJob) |
//! | `resource.<k>` | `<k>` (any other resource attribute) |
//!
//! Scope: `scope.name`, `scope.version` and `scope.attributes.<k>` ↔ the instrumentation
//! scope's name, version and attributes. Every other key is a record attribute (logs) or a
//! data point attribute (metrics) under its own name.

pub mod proto;
pub mod wire;

use std::borrow::Cow;

/// Prefix of a resource attribute that has no Gleaner name of its own.
pub const RESOURCE_PREFIX: &str = "resource.";
/// The scope's name.
pub const SCOPE_NAME: &str = "scope.name";
/// The scope's version.
pub const SCOPE_VERSION: &str = "scope.version";
/// Prefix of the scope's attributes.
pub const SCOPE_ATTRIBUTES: &str = "scope.attributes.";
/// A workload's kind (set with [`WORKLOAD`] by `filters.kubernetes`).
pub const WORKLOAD_KIND: &str = "k8s.workload_kind";
/// A workload's name.
pub const WORKLOAD: &str = "k8s.workload";

/// Whole keys renamed one to one: (Gleaner, OTLP resource).
const RENAMED: &[(&str, &str)] = &[
    ("host", "host.name"),
    ("k8s.namespace", "k8s.namespace.name"),
    ("k8s.pod", "k8s.pod.name"),
    ("k8s.pod_uid", "k8s.pod.uid"),
    ("k8s.container", "k8s.container.name"),
    ("k8s.node", "k8s.node.name"),
    ("k8s.restart_count", "k8s.container.restart_count"),
];

/// Key prefixes renamed: (Gleaner, OTLP resource).
const PREFIXES: &[(&str, &str)] = &[
    ("k8s.labels.", "k8s.pod.label."),
    ("k8s.annotations.", "k8s.pod.annotation."),
    ("k8s.namespace_labels.", "k8s.namespace.label."),
];

/// Workload kinds with a semantic-conventions name attribute: (kind, OTLP resource key).
pub const WORKLOADS: &[(&str, &str)] = &[
    ("Deployment", "k8s.deployment.name"),
    ("StatefulSet", "k8s.statefulset.name"),
    ("DaemonSet", "k8s.daemonset.name"),
    ("ReplicaSet", "k8s.replicaset.name"),
    ("Job", "k8s.job.name"),
    ("CronJob", "k8s.cronjob.name"),
];

/// Where a Gleaner attribute key goes in OTLP.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Place<'a> {
    /// A resource attribute under this key.
    Resource(Cow<'a, str>),
    /// The scope's name.
    ScopeName,
    /// The scope's version.
    ScopeVersion,
    /// A scope attribute under this key.
    ScopeAttribute(&'a str),
    /// `k8s.workload_kind` or `k8s.workload`: a resource attribute once both are known.
    Workload,
    /// A record (or data point) attribute under its own key.
    Record,
}

/// Where the attribute (or tag) `key` goes.
pub fn place(key: &str) -> Place<'_> {
    if let Some(k) = key.strip_prefix(RESOURCE_PREFIX) {
        return Place::Resource(Cow::Borrowed(k));
    }
    if let Some(k) = key.strip_prefix("scope.") {
        return match k {
            "name" => Place::ScopeName,
            "version" => Place::ScopeVersion,
            _ => match key.strip_prefix(SCOPE_ATTRIBUTES) {
                Some(a) => Place::ScopeAttribute(a),
                None => Place::Record,
            },
        };
    }
    if key == "host" {
        return Place::Resource(Cow::Borrowed("host.name"));
    }
    if !key.starts_with("k8s.") {
        return Place::Record;
    }
    if key == WORKLOAD_KIND || key == WORKLOAD {
        return Place::Workload;
    }
    if let Some((_, r)) = RENAMED.iter().find(|(g, _)| *g == key) {
        return Place::Resource(Cow::Borrowed(r));
    }
    for (g, r) in PREFIXES {
        if let Some(rest) = key.strip_prefix(g) {
            return Place::Resource(Cow::Owned(format!("{r}{rest}")));
        }
    }
    Place::Record
}

/// True when the attribute (or tag) `key` stays a record attribute: [`place`] gives
/// [`Place::Record`] (this answers without allocating).
pub fn is_record_key(key: &str) -> bool {
    if key.starts_with(RESOURCE_PREFIX) || key == "host" {
        return false;
    }
    if let Some(k) = key.strip_prefix("scope.") {
        return !(k == "name" || k == "version" || key.starts_with(SCOPE_ATTRIBUTES));
    }
    if !key.starts_with("k8s.") {
        return true;
    }
    !(key == WORKLOAD_KIND
        || key == WORKLOAD
        || RENAMED.iter().any(|(g, _)| *g == key)
        || PREFIXES.iter().any(|(g, _)| key.starts_with(g)))
}

/// The resource key of a workload of `kind` (`None` for a kind without one).
pub fn workload_resource_key(kind: &str) -> Option<&'static str> {
    WORKLOADS.iter().find(|(k, _)| *k == kind).map(|(_, r)| *r)
}

/// What a received resource attribute becomes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FromResource<'a> {
    /// An attribute (tag) under this key.
    Key(Cow<'a, str>),
    /// `k8s.workload_kind` = this kind and `k8s.workload` = the value.
    Workload(&'static str),
}

/// The Gleaner key of the resource attribute `key` (the inverse of [`place`]).
pub fn from_resource(key: &str) -> FromResource<'_> {
    if let Some((g, _)) = RENAMED.iter().find(|(_, r)| *r == key) {
        return FromResource::Key(Cow::Borrowed(g));
    }
    for (g, r) in PREFIXES {
        if let Some(rest) = key.strip_prefix(r) {
            return FromResource::Key(Cow::Owned(format!("{g}{rest}")));
        }
    }
    if let Some((kind, _)) = WORKLOADS.iter().find(|(_, r)| *r == key) {
        return FromResource::Workload(kind);
    }
    FromResource::Key(Cow::Owned(format!("{RESOURCE_PREFIX}{key}")))
}

/// The attribute holding a log record's severity text (OTLP `severity_text`).
pub const SEVERITY: &str = "severity";
/// The attribute holding a severity number that the text does not imply.
pub const SEVERITY_NUMBER: &str = "severity_number";
/// Trace id (32 lowercase hex digits).
pub const TRACE_ID: &str = "trace_id";
/// Span id (16 lowercase hex digits).
pub const SPAN_ID: &str = "span_id";
/// The record's trace flags, when not 0.
pub const TRACE_FLAGS: &str = "trace_flags";
/// The record's event name.
pub const EVENT_NAME: &str = "event_name";
/// The stream (`stdout`, `stderr`) of a log record (semantic conventions' `log.iostream`).
pub const IOSTREAM: &str = "log.iostream";
/// `Metric.metadata` key naming the measurement of a metric that is not `prometheus`.
pub const MEASUREMENT_METADATA: &str = "gleaner.measurement";
/// `Metric.metadata` key of the Prometheus type where the OTLP type does not say it
/// (the OpenTelemetry Collector's Prometheus receiver uses the same key).
pub const TYPE_METADATA: &str = "prometheus.type";
/// The measurement of metrics received without [`MEASUREMENT_METADATA`] (Telegraf's
/// `prometheus-v2` schema, as `inputs.prometheus` makes them).
pub const DEFAULT_MEASUREMENT: &str = "prometheus";

/// The severity number the text implies (the log data model's ranges: trace 1, debug 5,
/// info 9, warn 13, error 17, fatal 21; 0 for text it does not know).
pub fn severity_number(text: &str) -> i32 {
    let t = text.trim();
    if t.is_empty() {
        return 0;
    }
    let is = |names: &[&str]| names.iter().any(|n| t.eq_ignore_ascii_case(n));
    if is(&["trace", "trc"]) {
        1
    } else if is(&["debug", "dbg", "d"]) {
        5
    } else if is(&["info", "information", "informational", "notice", "i"]) {
        9
    } else if is(&["warn", "warning", "wrn", "w"]) {
        13
    } else if is(&["error", "err", "e"]) {
        17
    } else if is(&[
        "fatal",
        "critical",
        "crit",
        "alert",
        "emerg",
        "emergency",
        "panic",
        "f",
    ]) {
        21
    } else {
        0
    }
}

/// `bytes` as lowercase hex.
pub fn hex(bytes: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut s = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        s.push(char::from(DIGITS[usize::from(b >> 4)]));
        s.push(char::from(DIGITS[usize::from(b & 0xf)]));
    }
    s
}

/// Hex text as bytes (`None` when it is not an even number of hex digits).
pub fn unhex(text: &str) -> Option<Vec<u8>> {
    let t = text.as_bytes();
    if !t.len().is_multiple_of(2) {
        return None;
    }
    let digit = |c: u8| char::from(c).to_digit(16).map(|d| d as u8);
    t.chunks_exact(2)
        .map(|p| Some(digit(p[0])? << 4 | digit(p[1])?))
        .collect()
}

/// A bucket bound or quantile as a label value: `+Inf`, `-Inf`, `NaN`, an integral value
/// with `.0` (`1.0`, as OpenMetrics and Prometheus 3 write it), else the shortest decimal
/// that reads back to the same double.
pub fn format_bound(v: f64) -> String {
    if v.is_nan() {
        "NaN".to_owned()
    } else if v == f64::INFINITY {
        "+Inf".to_owned()
    } else if v == f64::NEG_INFINITY {
        "-Inf".to_owned()
    } else if v.fract() == 0.0 && v.abs() < 1e15 {
        format!("{v:.1}")
    } else {
        format!("{v}")
    }
}

/// A bound label value as a double (`+Inf`, `Inf`, `-Inf`, `NaN` and decimals).
pub fn parse_bound(s: &str) -> Option<f64> {
    match s {
        "+Inf" | "Inf" | "+inf" | "inf" => Some(f64::INFINITY),
        "-Inf" | "-inf" => Some(f64::NEG_INFINITY),
        "NaN" | "nan" => Some(f64::NAN),
        _ => s.parse().ok(),
    }
}

#[cfg(test)]
mod tests;
