//! The per-batch work of the filter: find each event's pod in the cache (no I/O), add its
//! metadata, apply the pod's exclude and parser annotations. Consecutive events of the same
//! pod and container (the usual shape of a tail batch) share one lookup.

use std::sync::Arc;
use std::sync::atomic::Ordering;

use gleaner_api::event::Attribute;
use gleaner_api::{
    Attributes, ComponentMetrics, FieldValue, Key, LogRecord, Metric, SharedAttributes,
};
use gleaner_kube::{Found, NamespaceCache, PodCache, label_name};

use super::config::Settings;
use crate::parsers::{Format, Limits, MemberKeys};

use super::config::PARSED_PREFIX;
use super::stats::FilterStats;

/// Log attributes the tail input sets from a kubelet log path, and this filter reads.
pub(crate) const ATTR_NAMESPACE: &str = "k8s.namespace";
pub(crate) const ATTR_POD: &str = "k8s.pod";
pub(crate) const ATTR_POD_UID: &str = "k8s.pod_uid";
pub(crate) const ATTR_CONTAINER: &str = "k8s.container";
/// Set to `"missing"` on a record whose pod is not (yet) known.
pub(crate) const ATTR_METADATA: &str = "k8s.metadata";

/// Tags a pod adds to its metrics.
type Tags = Vec<(String, String)>;

/// What one pod and container contribute to each of its records.
struct Prepared {
    key: String,
    attrs: Vec<Attribute>,
    found: bool,
    exclude: bool,
    parser: Option<Format>,
    /// The last file attribute list seen with this pod, and it with `attrs` added: records of
    /// one file share the enriched list instead of each copying the metadata.
    shared: Option<(SharedAttributes, SharedAttributes)>,
}

pub(crate) struct Enricher {
    settings: Settings,
    pods: Option<Arc<PodCache>>,
    namespaces: Option<Arc<NamespaceCache>>,
    stats: Arc<FilterStats>,
    metrics: Arc<ComponentMetrics>,
    /// Names of parsed members (`gleaner.io/parser`), made once.
    keys: MemberKeys,
}

/// Adds each of `add` whose name `attrs` lacks. A record with only a shared list gets a
/// shared result, built once per source list and remembered in `memo`.
fn add_attributes(
    attrs: &mut Attributes,
    add: &[Attribute],
    memo: &mut Option<(SharedAttributes, SharedAttributes)>,
) {
    if add.is_empty() {
        return;
    }
    if attrs.own_part().is_empty()
        && let Some(source) = attrs.shared_arc()
    {
        if let Some((seen, enriched)) = memo.as_ref()
            && Arc::ptr_eq(seen, source)
        {
            *attrs = Attributes::from_shared(Arc::clone(enriched));
            return;
        }
        let mut list = Vec::with_capacity(source.len() + add.len());
        list.extend(source.iter().cloned());
        for (k, v) in add {
            if !source.iter().any(|(n, _)| n == k) {
                list.push((k.clone(), v.clone()));
            }
        }
        let enriched: SharedAttributes = list.into();
        *memo = Some((Arc::clone(source), Arc::clone(&enriched)));
        *attrs = Attributes::from_shared(enriched);
        return;
    }
    attrs.reserve(add.len());
    for (k, v) in add {
        if attrs.get(k).is_none() {
            attrs.push(k.clone(), v.clone());
        }
    }
}

fn string_attr<'a>(r: &'a LogRecord, key: &str) -> Option<&'a str> {
    match r.attribute(key) {
        Some(FieldValue::String(s)) if !s.is_empty() => Some(s),
        _ => None,
    }
}

fn s(v: &str) -> FieldValue {
    FieldValue::String(v.into())
}

impl Enricher {
    pub(crate) fn new(
        settings: Settings,
        stats: Arc<FilterStats>,
        metrics: Arc<ComponentMetrics>,
    ) -> Enricher {
        Enricher {
            settings,
            pods: None,
            namespaces: None,
            stats,
            metrics,
            keys: MemberKeys::new(),
        }
    }

    pub(crate) fn attach(&mut self, pods: Arc<PodCache>, namespaces: Option<Arc<NamespaceCache>>) {
        self.pods = Some(pods);
        self.namespaces = namespaces;
    }

    fn lookup(&self, uid: Option<&str>, ns: Option<&str>, pod: Option<&str>) -> Option<Found> {
        let cache = self.pods.as_ref()?;
        uid.and_then(|u| cache.by_uid(u))
            .or_else(|| cache.by_name(ns?, pod?))
    }

    fn prepare_log(&self, key: String, r: &LogRecord) -> Prepared {
        let uid = string_attr(r, ATTR_POD_UID);
        let ns = string_attr(r, ATTR_NAMESPACE);
        let pod = string_attr(r, ATTR_POD);
        let container = string_attr(r, ATTR_CONTAINER);
        let Some(found) = self.lookup(uid, ns, pod) else {
            return Prepared {
                key,
                attrs: vec![(Key::from_static(ATTR_METADATA), s("missing"))],
                found: false,
                exclude: false,
                parser: self.settings.default_parser.clone(),
                shared: None,
            };
        };
        let p = &found.pod;
        let mut attrs = vec![
            (Key::from_static(ATTR_NAMESPACE), s(&p.namespace)),
            (Key::from_static(ATTR_POD), s(&p.name)),
            (Key::from_static(ATTR_POD_UID), s(&p.uid)),
        ];
        if let Some(c) = container.and_then(|c| p.container(c)) {
            attrs.push((Key::from_static("k8s.container_image"), s(&c.image)));
        }
        if !p.node.is_empty() {
            attrs.push((Key::from_static("k8s.node"), s(&p.node)));
        }
        if let Some(w) = &found.workload {
            attrs.push((Key::from_static("k8s.workload_kind"), s(&w.kind)));
            attrs.push((Key::from_static("k8s.workload"), s(&w.name)));
        }
        for (k, v) in &p.labels {
            if self.settings.labels.iter().any(|g| g.matches(k)) {
                attrs.push((Key::from(format!("k8s.labels.{k}")), s(v)));
            }
        }
        for (k, v) in &p.annotations {
            if self.settings.annotations.iter().any(|g| g.matches(k)) {
                attrs.push((Key::from(format!("k8s.annotations.{k}")), s(v)));
            }
        }
        if let Some(nl) = self
            .namespaces
            .as_ref()
            .and_then(|n| n.labels(&p.namespace))
        {
            for (k, v) in nl.iter() {
                if self.settings.namespace_labels.iter().any(|g| g.matches(k)) {
                    attrs.push((Key::from(format!("k8s.namespace_labels.{k}")), s(v)));
                }
            }
        }
        let (mut exclude, mut annotated) = (false, None);
        if self.settings.use_pod_annotations {
            let per_container = |base: &str| {
                container
                    .and_then(|c| p.annotation(&format!("{base}-{c}")))
                    .or_else(|| p.annotation(base))
            };
            exclude = per_container("gleaner.io/exclude").is_some_and(|v| v.trim() == "true");
            annotated = per_container("gleaner.io/parser");
        }
        // The annotation wins (`none` turns parsing off for the pod); an unknown name parses
        // nothing; pods without it get `default_parser`.
        let parser = match annotated {
            Some(name) => Format::named(name),
            None => self.settings.default_parser.clone(),
        };
        Prepared {
            key,
            attrs,
            found: true,
            exclude,
            parser,
            shared: None,
        }
    }

    /// Enriches, excludes and parses log records in place.
    pub(crate) fn logs(&mut self, records: &mut Vec<LogRecord>) {
        let mut memo: Option<Prepared> = None;
        let (mut enriched, mut missing, mut excluded, mut failed) = (0_u64, 0_u64, 0_u64, 0_u64);
        records.retain_mut(|r| {
            let uid = string_attr(r, ATTR_POD_UID);
            let ns = string_attr(r, ATTR_NAMESPACE);
            let pod = string_attr(r, ATTR_POD);
            if uid.is_none() && (ns.is_none() || pod.is_none()) {
                return true; // not a container log
            }
            let container = string_attr(r, ATTR_CONTAINER).unwrap_or_default();
            let mut key = String::with_capacity(64);
            match uid {
                Some(u) => key.push_str(u),
                None => {
                    key.push_str(ns.unwrap_or_default());
                    key.push('/');
                    key.push_str(pod.unwrap_or_default());
                }
            }
            key.push('|');
            key.push_str(container);
            if memo.as_ref().is_none_or(|m| m.key != key) {
                memo = Some(self.prepare_log(key, r));
            }
            let Some(m) = memo.as_mut() else { return true };
            if m.exclude {
                excluded += 1;
                return false;
            }
            if m.found {
                enriched += 1;
            } else {
                missing += 1;
            }
            add_attributes(&mut r.attributes, &m.attrs, &mut m.shared);
            if let Some(p) = &m.parser {
                let own = r.attributes.own_mut();
                if p.parse_into(
                    &r.body,
                    PARSED_PREFIX,
                    &Limits::DEFAULT,
                    &mut self.keys,
                    own,
                )
                .is_err()
                {
                    failed += 1;
                }
            }
            true
        });
        self.count(enriched, missing);
        if excluded > 0 {
            self.stats.excluded.fetch_add(excluded, Ordering::Relaxed);
            self.metrics.dropped("excluded", excluded);
        }
        if failed > 0 {
            self.stats.parse_failed.fetch_add(failed, Ordering::Relaxed);
        }
    }

    fn count(&self, enriched: u64, missing: u64) {
        if enriched > 0 {
            self.stats.enriched.fetch_add(enriched, Ordering::Relaxed);
        }
        if missing > 0 {
            self.stats.missing.fetch_add(missing, Ordering::Relaxed);
        }
    }

    /// The tags a pod adds to its metrics.
    fn metric_tags(&self, found: &Found) -> Tags {
        let mut tags = Vec::new();
        if let Some(w) = &found.workload {
            tags.push(("workload_kind".to_owned(), w.kind.to_string()));
            tags.push(("workload".to_owned(), w.name.to_string()));
        }
        for (k, v) in &found.pod.labels {
            if self.settings.labels.iter().any(|g| g.matches(k)) {
                tags.push((label_name(k), v.to_string()));
            }
        }
        tags
    }

    /// Adds pod tags to metrics that carry `namespace` and `pod` (or `pod_name`) tags;
    /// never overwrites a tag (a collision gets the prefix `k8s_`, a second one is skipped).
    pub(crate) fn metrics(&mut self, metrics: &mut [Metric]) {
        // The last `namespace/pod` looked up and the tags it gives (`None`: not found).
        let mut memo: Option<(String, Option<Tags>)> = None;
        let (mut enriched, mut missing) = (0_u64, 0_u64);
        for m in metrics.iter_mut() {
            let (Some(ns), Some(pod)) = (m.tag("namespace"), m.tag("pod").or(m.tag("pod_name")))
            else {
                continue;
            };
            let key = format!("{ns}/{pod}");
            if memo.as_ref().is_none_or(|(k, _)| *k != key) {
                let tags = self
                    .lookup(None, Some(ns), Some(pod))
                    .map(|f| self.metric_tags(&f));
                memo = Some((key, tags));
            }
            let Some((_, tags)) = &memo else { continue };
            let Some(tags) = tags else {
                missing += 1;
                continue;
            };
            enriched += 1;
            for (k, v) in tags {
                if m.tag(k).is_none() {
                    m.insert_tag(k.clone(), v.clone());
                } else {
                    let prefixed = format!("k8s_{k}");
                    if m.tag(&prefixed).is_none() {
                        m.insert_tag(prefixed, v.clone());
                    }
                }
            }
        }
        self.count(enriched, missing);
    }
}
