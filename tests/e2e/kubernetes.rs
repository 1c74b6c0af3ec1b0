//! The `kubernetes` filter and the shared client against the fake API server
//! (tests/src/fake_kube.rs), in-process: the filter is built from TOML through its registry
//! descriptor and started as the agent starts it; the test awaits the shared pod cache's
//! change feed instead of sleeping.

mod agent;
mod churn;
mod discovery;
mod enrich;
mod outages;

use std::sync::Arc;
use std::time::Duration;

use gleaner_api::{BuildContext, FieldValue, Filter, LogRecord, PluginConfig, RunMode, Stream};
use gleaner_e2e::fake_kube::FakeKube;
use gleaner_kube::{ClientOptions, Hub, PodCache, PodScope};

pub(crate) const NODE: &str = "node-1";

/// A started filter, with the pod cache it reads.
pub(crate) struct Started {
    pub(crate) filter: Box<dyn Filter>,
    pub(crate) cache: Arc<PodCache>,
    pub(crate) bcx: BuildContext,
    _dir: tempfile::TempDir,
}

/// Builds `filters.kubernetes` with a kubeconfig for `kube` and `extra` options, starts it.
pub(crate) async fn start_filter(kube: &FakeKube, extra: &str) -> Started {
    let dir = tempfile::tempdir().expect("tempdir");
    let kubeconfig = kube.write_kubeconfig(dir.path());
    let toml = format!(
        "kubeconfig = {:?}\nnode_name = \"{NODE}\"\n{extra}\n",
        kubeconfig.display().to_string()
    );
    let bcx = BuildContext::for_test("filters.kubernetes.0");
    let cfg = PluginConfig::from_toml_str("filters.kubernetes.0", &toml).expect("toml");
    let mut filter =
        (gleaner_filters::kubernetes::DESCRIPTOR.build)(&cfg, &bcx).expect("filter builds");
    filter.start(RunMode::Continuous).await;
    let hub = Hub::shared(&bcx.shared, &bcx.shutdown);
    let cache = hub.pods(
        &ClientOptions {
            kubeconfig: Some(kubeconfig),
        },
        &PodScope {
            node: Some(NODE.to_owned()),
        },
    );
    Started {
        filter,
        cache,
        bcx,
        _dir: dir,
    }
}

/// Waits (on the cache's change feed, at most 30 s) until `pred` holds.
pub(crate) async fn until(cache: &PodCache, what: &str, pred: impl Fn(&PodCache) -> bool) {
    let mut rx = cache.subscribe();
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    while !pred(cache) {
        let left = deadline.saturating_duration_since(tokio::time::Instant::now());
        assert!(
            !left.is_zero(),
            "timed out waiting for: {what}; cache {cache:?}, connected {}, stats {:?}",
            cache.is_connected(),
            cache.stats()
        );
        // A change, a lagged feed, or a 200 ms tick (readiness has no change event).
        let _changed_or_tick =
            tokio::time::timeout(left.min(Duration::from_millis(200)), rx.recv()).await;
    }
}

/// A log record as the tail input makes it from a kubelet path.
pub(crate) fn cri_record(ns: &str, pod: &str, uid: &str, container: &str, body: &str) -> LogRecord {
    LogRecord::new(1, body, Stream::Stdout)
        .with_attribute(
            "file",
            FieldValue::String(format!("/var/log/pods/{ns}_{pod}_{uid}/{container}/0.log").into()),
        )
        .with_attribute("k8s.namespace", FieldValue::String(ns.into()))
        .with_attribute("k8s.pod", FieldValue::String(pod.into()))
        .with_attribute("k8s.pod_uid", FieldValue::String(uid.into()))
        .with_attribute("k8s.container", FieldValue::String(container.into()))
}

/// The string attribute `k` of `r`.
pub(crate) fn attr<'a>(r: &'a LogRecord, k: &str) -> Option<&'a str> {
    match r.attribute(k) {
        Some(FieldValue::String(s)) => Some(s),
        _ => None,
    }
}

/// Runs `records` through the filter.
pub(crate) fn process(f: &mut Started, records: Vec<LogRecord>) -> Vec<LogRecord> {
    let mut batch = gleaner_api::Batch::Logs(records);
    f.filter.process(&mut batch);
    match batch {
        gleaner_api::Batch::Logs(l) => l,
        gleaner_api::Batch::Metrics(_) => Vec::new(),
    }
}

/// The filter's own figure `name` (`gleaner_kubernetes_<name>` on /metrics).
pub(crate) fn stat(f: &Started, name: &str) -> f64 {
    f.bcx
        .metrics
        .snapshot()
        .plugin_stats
        .iter()
        .find(|s| s.name == name)
        .map_or(f64::NAN, |s| s.value)
}
