//! The filter's own figures on `/metrics` (`gleaner_kubernetes_*`): records enriched,
//! missing metadata, excluded, parse failures, and the shared pod cache's size and watch
//! health.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, OnceLock};

use gleaner_api::{PluginStat, PluginStats, StatKind};
use gleaner_kube::PodCache;

/// Counters of one filter instance.
#[derive(Debug, Default)]
pub(crate) struct FilterStats {
    pub(crate) enriched: AtomicU64,
    pub(crate) missing: AtomicU64,
    pub(crate) excluded: AtomicU64,
    pub(crate) parse_failed: AtomicU64,
    pods: OnceLock<Arc<PodCache>>,
}

impl FilterStats {
    pub(crate) fn attach(&self, pods: Arc<PodCache>) {
        let _already = self.pods.set(pods);
    }
}

fn counter(name: &'static str, help: &'static str, v: u64) -> PluginStat {
    PluginStat {
        name,
        kind: StatKind::Counter,
        help,
        value: v as f64,
    }
}

fn gauge(name: &'static str, help: &'static str, v: f64) -> PluginStat {
    PluginStat {
        name,
        kind: StatKind::Gauge,
        help,
        value: v,
    }
}

impl PluginStats for FilterStats {
    fn stats(&self) -> Vec<PluginStat> {
        let mut out = vec![
            counter(
                "records_enriched_total",
                "Events given Kubernetes metadata.",
                self.enriched.load(Ordering::Relaxed),
            ),
            counter(
                "records_missing_total",
                "Events passed without metadata (pod not in the cache, or the API unreachable).",
                self.missing.load(Ordering::Relaxed),
            ),
            counter(
                "records_excluded_total",
                "Log records dropped by a gleaner.io/exclude annotation.",
                self.excluded.load(Ordering::Relaxed),
            ),
            counter(
                "parse_failures_total",
                "Messages a gleaner.io/parser annotation could not parse (passed unparsed).",
                self.parse_failed.load(Ordering::Relaxed),
            ),
        ];
        if let Some(p) = self.pods.get() {
            let (live, retained) = p.counts();
            let s = p.stats();
            out.extend([
                gauge("pods_cached", "Live pods in the cache.", live as f64),
                gauge(
                    "pods_retained",
                    "Deleted pods kept for their last records.",
                    retained as f64,
                ),
                gauge(
                    "cache_bytes",
                    "Approximate heap bytes of the cached pods.",
                    p.heap_bytes() as f64,
                ),
                gauge(
                    "watch_connected",
                    "1 while the pod watch is connected and current.",
                    f64::from(u8::from(p.is_connected())),
                ),
                counter(
                    "watch_events_total",
                    "Pod watch events applied.",
                    s.events.load(Ordering::Relaxed),
                ),
                counter(
                    "watch_relists_total",
                    "Pod lists (the first, and each re-list after 410 Gone or a failure).",
                    s.relists.load(Ordering::Relaxed),
                ),
                counter(
                    "watch_errors_total",
                    "Pod watch failures (each is retried with backoff).",
                    s.watch_errors.load(Ordering::Relaxed),
                ),
                counter(
                    "owner_requests_total",
                    "GETs of ReplicaSets and Jobs to name a pod's workload.",
                    s.owner_gets.load(Ordering::Relaxed),
                ),
                counter(
                    "owner_request_errors_total",
                    "Owner GETs that failed (retried with backoff).",
                    s.owner_get_errors.load(Ordering::Relaxed),
                ),
            ]);
        }
        out
    }
}
