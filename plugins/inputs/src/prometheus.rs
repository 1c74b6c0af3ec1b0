//! `inputs.prometheus`: scrapes Prometheus metrics pages (text 0.0.4 and OpenMetrics 1.0,
//! chosen by the response `Content-Type`, as Prometheus negotiates them) and ships every
//! sample as a metric, per target, like a Prometheus scrape job.
//!
//! Modules: `parse` (our parser, zero-copy, the OpenMetrics conformance suite as a test),
//! `model` (sample → metric, target labels, `honor_labels`), `scrape` (one HTTP scrape:
//! auth, gzip, body limit, synthetic series), `samples` (page → metrics: keep/drop,
//! `sample_limit`, `label_limit`, big pages checked then streamed in batches),
//! `schedule` (target tasks, phases, concurrency bound), `target` (targets and the
//! [`target::TargetSource`] seam), `shard` (stable hash, jump consistent hashing), `config`.
//!
//! Mapping (Telegraf's `metric_version = 2`): measurement `prometheus`, one float field
//! named as the series, tags = labels + target labels, timestamp = the page's (with
//! `honor_timestamps`) or the scrape's start in whole milliseconds. `outputs.remote_write`
//! sends it back as exactly the scraped series; `outputs.influxdb` writes
//! `prometheus,instance=…,job=…,<labels> <series>=<value> <ns>`.
//!
//! Per target and scrape, Prometheus's synthetic series: `up` (1/0),
//! `scrape_duration_seconds`, `scrape_samples_scraped`,
//! `scrape_samples_post_metric_relabeling`. A failed scrape (transport, timeout, status,
//! body over `body_size_limit`, bad gzip, a page the parser rejects, over `sample_limit`
//! or `label_limit`) ships only those, with `up` 0, and counts an error under its reason.
//!
//! Targets come from [`target::TargetSource`]s, each yielding its complete current set (a
//! URL and its target labels, identified by both) when it changes; the scheduler unions
//! them, keeps this replica's shard, and starts or stops per-target tasks by identity. The
//! static `urls` are [`target::StaticTargets`]; `kubernetes = { role, scope, ... }` adds the
//! source of `discovery` (pods, services or endpoints from `gleaner-kube`'s shared watches).

mod config;
mod discovery;
pub mod model;
pub mod parse;
mod samples;
mod schedule;
mod scrape;
mod series;
pub mod shard;
pub mod target;

#[cfg(test)]
mod tests;

use std::sync::Arc;

use async_trait::async_trait;
use gleaner_api::{
    BuildContext, ConfigError, Input, InputContext, InputDescriptor, PluginConfig, PluginError,
};

use self::config::{PrometheusConfig, Settings};
use self::target::{StaticTargets, TargetSource};

/// Registry entry.
pub const DESCRIPTOR: InputDescriptor = InputDescriptor {
    name: "prometheus",
    summary: "Scrape Prometheus/OpenMetrics pages like a Prometheus job: up and scrape_* \
              series, honor_labels, limits, sharding across replicas",
    sample: SAMPLE,
    build,
};

const SAMPLE: &str = r#"[[inputs.prometheus]]
## Metrics pages to scrape (static targets).
urls = ["http://127.0.0.1:9100/metrics"]
interval = "15s"
## The `job` label; `instance` is the URL's host:port.
# job = "prometheus"
## Extra target labels for these targets.
# labels = {}
## Per-scrape timeout, at most the interval (unset: 10s, or the interval when shorter).
# timeout = "10s"
## On a clash with a target label: false renames the page's label exported_<name>.
# honor_labels = false
## Use timestamps written in the page (else the scrape time).
# honor_timestamps = true
## Metric name globs to keep (empty: all) and to drop.
# keep = []
# drop = []
## Fail the scrape (up = 0, nothing shipped) past this many samples / labels per series; 0: none.
# sample_limit = 0
# label_limit = 0
## Largest page, compressed or not. A scrape holds its page (plus 1,000 metrics at a time:
## a page past 64KiB is checked, then parsed again and sent in batches as it goes), so the
## memory of scrapes is about body_size_limit (twice with gzip) per scrape in flight.
# body_size_limit = "64MiB"
## Parser for pages without a known Content-Type: "text" (0.0.4) or "openmetrics".
# fallback_format = "text"
## Targets scraped at once.
# max_concurrent_scrapes = 64
## Kubernetes discovery (annotations prometheus.io/scrape, /port, /path, /scheme):
## role "pod" | "service" | "endpoints"; scope "node" (this NODE_NAME's targets) | "cluster".
# kubernetes = { role = "pod", scope = "node", namespaces = [], label_selector = "", pod_labels = [] }
## Standalone poller: this replica's share of the targets (jump consistent hashing). index is
## the StatefulSet ordinal (label apps.kubernetes.io/pod-index); when it is empty, the `-N`
## suffix of pod_name (metadata.name) is used; neither is an error.
# shard = { index = "${SHARD_INDEX}", pod_name = "${POD_NAME}", total = "${SHARD_TOTAL}" }
## Auth: a bearer token file (re-read when it changes), or basic auth.
# bearer_token_file = "/var/run/secrets/kubernetes.io/serviceaccount/token"
# username = ""
# password = ""
## TLS.
# ca_file = ""
# cert_file = ""
# key_file = ""
# insecure_skip_verify = false
"#;

fn build(cfg: &PluginConfig, cx: &BuildContext) -> Result<Box<dyn Input>, ConfigError> {
    Ok(Box::new(build_input(cfg, cx)?))
}

/// Validates the table and assembles the target sources (no I/O).
pub(crate) fn build_input(
    cfg: &PluginConfig,
    cx: &BuildContext,
) -> Result<Prometheus, ConfigError> {
    let config: PrometheusConfig = cfg.parse()?;
    let mut settings = config.validate(cfg, cx.interval.get())?;
    let mut sources: Vec<Box<dyn TargetSource>> =
        vec![Box::new(StaticTargets::new(settings.targets.clone()))];
    if let Some(sd) = settings.kubernetes.take() {
        let discovery = sd
            .validate(&settings.job, &settings.extra, &cx.hostname)
            .map_err(|m| cfg.error_at("kubernetes", m))?;
        let hub = gleaner_kube::Hub::shared(&cx.shared, &cx.shutdown);
        sources.push(Box::new(discovery.source(hub)));
    }
    Ok(Prometheus {
        settings: Arc::new(settings),
        sources,
    })
}

/// The input.
pub(crate) struct Prometheus {
    settings: Arc<Settings>,
    sources: Vec<Box<dyn TargetSource>>,
}

#[async_trait]
impl Input for Prometheus {
    async fn run(self: Box<Self>, cx: InputContext) -> Result<(), PluginError> {
        schedule::run(self.settings, self.sources, cx).await;
        Ok(())
    }
}

/// This plugin's sample check (run for every registered plugin from `src/sample_checks.rs`):
/// each option the sample shows at its default is the real default.
#[cfg(test)]
pub(crate) fn check_sample() {
    gleaner_api::test_util::sample::assert_sample_debug::<config::PrometheusConfig>(
        "inputs.prometheus.0",
        SAMPLE,
        // Unset: 10s or the interval when shorter; no discovery, no sharding, no auth; the
        // empty strings read as unset once validated.
        &[
            "timeout",
            "kubernetes",
            "shard",
            "bearer_token_file",
            "username",
            "password",
            "ca_file",
            "cert_file",
            "key_file",
        ],
        &[
            ("SHARD_INDEX", "0"),
            ("SHARD_TOTAL", "1"),
            ("POD_NAME", "gleaner-0"),
        ],
    );
}
