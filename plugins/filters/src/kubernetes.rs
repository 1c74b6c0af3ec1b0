//! `filters.kubernetes`: adds each log record's and pod metric's Kubernetes metadata — pod,
//! namespace, uid, container image, node, workload (the top owner: Deployment, CronJob,
//! StatefulSet, DaemonSet, Job, bare pod) and allow-listed labels and annotations — from the
//! agent's shared pod cache (`gleaner-kube`), and applies the pods' `gleaner.io/exclude` and
//! `gleaner.io/parser` annotations to their logs.
//!
//! Lookups read the cache only: the API server being slow or down never blocks ingestion.
//! Records then pass with `k8s.metadata = "missing"` (counted), and records are enriched
//! again as soon as the watch is back. At start the pipeline waits at most `startup_wait`
//! for the first list.
//!
//! Log records are matched by the `k8s.pod_uid` the tail input parsed from the path (uid
//! first: a pod recreated with the same name is another pod), else by `k8s.namespace` and
//! `k8s.pod`. Metrics are matched by their `namespace` and `pod` (or `pod_name`) tags; their
//! added tags never overwrite an existing tag: a colliding name gets the prefix `k8s_`.

mod config;
mod enrich;
mod stats;
#[cfg(test)]
mod tests;

use std::sync::Arc;

use async_trait::async_trait;
use gleaner_api::{
    Batch, BuildContext, ConfigError, Filter, FilterDescriptor, PluginConfig, RunMode,
};
use gleaner_kube::{ClientOptions, Hub, NamespaceCache, PodCache, PodScope};
use tracing::info;

pub use self::config::KubernetesConfig;
use self::enrich::Enricher;
use self::stats::FilterStats;

/// Registry entry.
pub const DESCRIPTOR: FilterDescriptor = FilterDescriptor {
    name: "kubernetes",
    summary: "Adds pod, namespace, workload, image, node and chosen labels to logs and pod \
              metrics, from one node-scoped pod watch; honours gleaner.io/exclude and parser",
    sample: config::SAMPLE,
    build,
};

fn build(cfg: &PluginConfig, cx: &BuildContext) -> Result<Box<dyn Filter>, ConfigError> {
    let config: KubernetesConfig = cfg.parse()?;
    let settings = config.validate(cfg, &cx.hostname)?;
    let hub = Hub::shared(&cx.shared, &cx.shutdown);
    hub.keep_annotations(settings.annotations.iter().cloned());
    hub.retain_deleted(settings.deleted_pod_ttl);
    let stats = Arc::new(FilterStats::default());
    cx.metrics.set_plugin_stats(Arc::clone(&stats) as _);
    Ok(Box::new(Kubernetes {
        hub,
        client: ClientOptions {
            kubeconfig: settings.kubeconfig.clone(),
        },
        scope: PodScope {
            node: settings.node.clone(),
        },
        startup_wait: settings.startup_wait,
        want_namespace_labels: !settings.namespace_labels.is_empty(),
        enricher: Enricher::new(settings, Arc::clone(&stats), Arc::clone(&cx.metrics)),
        stats,
    }))
}

/// The filter.
struct Kubernetes {
    hub: Arc<Hub>,
    client: ClientOptions,
    scope: PodScope,
    startup_wait: std::time::Duration,
    want_namespace_labels: bool,
    enricher: Enricher,
    stats: Arc<FilterStats>,
}

#[async_trait]
impl Filter for Kubernetes {
    async fn start(&mut self, _mode: RunMode) {
        let pods: Arc<PodCache> = self.hub.pods(&self.client, &self.scope);
        let namespaces: Option<Arc<NamespaceCache>> = self
            .want_namespace_labels
            .then(|| self.hub.namespaces(&self.client));
        self.stats.attach(Arc::clone(&pods));
        self.enricher.attach(Arc::clone(&pods), namespaces);
        if !pods.wait_ready(self.startup_wait).await {
            info!(
                wait = ?self.startup_wait,
                "kubernetes: no pod list yet; records pass flagged k8s.metadata=missing until it comes"
            );
        }
    }

    fn process(&mut self, batch: &mut Batch) {
        match batch {
            Batch::Logs(records) => self.enricher.logs(records),
            Batch::Metrics(metrics) => self.enricher.metrics(metrics),
        }
    }
}

/// This plugin's sample check (run for every registered plugin from `src/sample_checks.rs`):
/// each option the sample shows at its default is the real default.
#[cfg(test)]
pub(crate) fn check_sample() {
    gleaner_api::test_util::sample::assert_sample_debug::<config::KubernetesConfig>(
        "filters.kubernetes.0",
        config::SAMPLE,
        // Shown as what they default to (env NODE_NAME; "" for none), which the raw struct
        // reads as set; validation treats them as unset.
        &["node_name", "kubeconfig"],
        &[],
    );
}
