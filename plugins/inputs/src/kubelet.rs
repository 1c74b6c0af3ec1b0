//! `inputs.kubelet`: node, pod, container, volume and pod network stats from the kubelet's
//! Summary API (`GET https://<node>:10250/stats/summary`), with the measurement, tag and
//! field names of Telegraf's `inputs.kubernetes` (see `kubelet/convert.rs` for the few
//! deliberate differences: missing values omitted, sample timestamps, typed kinds).
//!
//! - `url` defaults to `https://${NODE_IP}:10250`, `NODE_IP` read when the input is built
//!   (inject it from the downward API's `status.hostIP`); neither set is a config error.
//! - Auth: `Authorization: Bearer` with the token of `bearer_token_file` (default: the pod's
//!   service-account token), re-read when the file changes, since it rotates. The
//!   ServiceAccount needs `get` on `nodes/stats`.
//! - TLS: kubelet serving certificates are often self-signed: `ca_file`, or an explicit
//!   `insecure_skip_verify`.
//! - Each gather is one request bounded by `timeout` (shorter than the interval) and
//!   `max_body_size`; a failure (timeout, 401, bad JSON, ...) is counted under its reason on
//!   the input's error counters (`gleaner_component_errors_total{reason="kubelet_..."}`),
//!   logged, and the next tick tries again. The JSON is parsed on the blocking pool.

mod convert;
mod fetch;
mod summary;
#[cfg(test)]
mod tests;
mod time;

use std::path::PathBuf;

use async_trait::async_trait;
use gleaner_api::http_client::{self, ClientSettings, LazyClient, SecretSource, TlsSettings};
use gleaner_api::{
    Batch, BuildContext, ByteSize, ConfigError, Duration, Input, InputContext, InputDescriptor,
    Metric, PluginConfig, PluginError, now_ns,
};
use serde::Deserialize;
use tracing::warn;

use self::fetch::{GatherError, Target};

/// Registry entry.
pub const DESCRIPTOR: InputDescriptor = InputDescriptor {
    name: "kubelet",
    summary: "Node, pod, container and volume stats from the kubelet's /stats/summary, with \
              Telegraf's inputs.kubernetes names (kubernetes_node, kubernetes_pod_container, ...)",
    sample: SAMPLE,
    build,
};

const SAMPLE: &str = r#"[[inputs.kubelet]]
## The kubelet's base URL; /stats/summary is appended. Unset: https://${NODE_IP}:10250, with
## NODE_IP from the downward API (status.hostIP); neither set is a config error.
url = "https://${NODE_IP:-127.0.0.1}:10250"
## Bearer token file, re-read when it changes (service-account tokens rotate); "" sends none.
## The ServiceAccount needs `get` on `nodes/stats`.
# bearer_token_file = "/var/run/secrets/kubernetes.io/serviceaccount/token"
## CA of the kubelet's serving certificate, trusted besides the system's and the public roots.
# ca_file = "/var/run/secrets/kubernetes.io/serviceaccount/ca.crt"
## Kubelet serving certificates are often self-signed: accept any (the data is still encrypted).
# insecure_skip_verify = false
## Whole-request timeout, at most the interval (unset: 5s, or the interval when shorter).
# timeout = "5s"
## Largest /stats/summary accepted (a node with 110 pods answers a few MiB).
# max_body_size = "64MiB"
"#;

/// `timeout` when unset (clamped to the interval).
const DEFAULT_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(5);

/// Default `bearer_token_file`.
const SERVICE_ACCOUNT_TOKEN: &str = "/var/run/secrets/kubernetes.io/serviceaccount/token";

/// The `[[inputs.kubelet]]` table.
#[derive(Debug, PartialEq, Deserialize)]
#[serde(deny_unknown_fields, default)]
struct KubeletConfig {
    /// Base URL; default `https://${NODE_IP}:10250`.
    url: Option<String>,
    /// Bearer token file; empty: no token.
    bearer_token_file: String,
    /// Extra trusted CA (PEM).
    ca_file: Option<PathBuf>,
    /// Accept any server certificate.
    insecure_skip_verify: bool,
    /// Whole-request timeout; unset: [`DEFAULT_TIMEOUT`] clamped to the interval.
    timeout: Option<Duration>,
    /// Largest body accepted.
    max_body_size: ByteSize,
}

impl Default for KubeletConfig {
    fn default() -> Self {
        KubeletConfig {
            url: None,
            bearer_token_file: SERVICE_ACCOUNT_TOKEN.to_owned(),
            ca_file: None,
            insecure_skip_verify: false,
            timeout: None,
            max_body_size: ByteSize::mib(64),
        }
    }
}

/// The base URL: `url`, else `https://<node_ip>:10250` (IPv6 in brackets).
fn base_url(url: Option<&str>, node_ip: Option<&str>) -> Result<String, &'static str> {
    match (url, node_ip.map(str::trim).filter(|ip| !ip.is_empty())) {
        (Some(u), _) => Ok(u.to_owned()),
        (None, Some(ip)) if ip.contains(':') && !ip.starts_with('[') => {
            Ok(format!("https://[{ip}]:10250"))
        }
        (None, Some(ip)) => Ok(format!("https://{ip}:10250")),
        (None, None) => Err("no url, and NODE_IP is not set"),
    }
}

fn build(cfg: &PluginConfig, cx: &BuildContext) -> Result<Box<dyn Input>, ConfigError> {
    let c: KubeletConfig = cfg.parse()?;
    let node_ip = std::env::var("NODE_IP").ok();
    let base = base_url(c.url.as_deref(), node_ip.as_deref()).map_err(|m| {
        cfg.error_at("url", m).with_hint(
            "set url = \"https://<node address>:10250\", or NODE_IP from the downward API \
             (env: - name: NODE_IP, valueFrom: {fieldRef: {fieldPath: status.hostIP}})",
        )
    })?;
    let base = http_client::parse_url(&base).map_err(|e| e.at(cfg, "url"))?;
    let path = http_client::join_path(&base, "/stats/summary");
    let uri = http_client::with_path(&base, &path, "");
    let timeout = cfg.gather_timeout("timeout", c.timeout, DEFAULT_TIMEOUT, cx.interval.get())?;
    let max_body = usize::try_from(c.max_body_size.get()).unwrap_or(usize::MAX);
    if max_body == 0 {
        return Err(cfg.error_at("max_body_size", "max_body_size must be greater than zero"));
    }
    let token = (!c.bearer_token_file.is_empty()).then(|| SecretSource::file(&c.bearer_token_file));
    let settings = ClientSettings {
        timeout,
        tls: TlsSettings {
            ca_file: c.ca_file,
            insecure_skip_verify: c.insecure_skip_verify,
            ..TlsSettings::default()
        },
        idle_per_host: gleaner_api::http_client::DEFAULT_IDLE_PER_HOST,
    };
    Ok(Box::new(Kubelet {
        target: Target {
            client: LazyClient::new(settings),
            uri,
            token,
            max_body,
        },
    }))
}

/// The input.
struct Kubelet {
    target: Target,
}

impl Kubelet {
    /// One gather: fetch, then parse and convert on the blocking pool.
    async fn gather(&mut self) -> Result<Vec<Metric>, GatherError> {
        let body = self.target.fetch().await?;
        let url = self.target.url();
        let now = now_ns();
        let parse = move || parse(&body, now).map_err(|source| GatherError::Parse { url, source });
        match tokio::task::spawn_blocking(parse).await {
            Ok(result) => result,
            // The blocking pool is gone: the runtime is shutting down.
            Err(_) => Ok(Vec::new()),
        }
    }
}

/// Parses a `/stats/summary` body into metrics (`now` stamps blocks without a time).
fn parse(body: &[u8], now: i64) -> Result<Vec<Metric>, serde_json::Error> {
    let summary: summary::Summary = serde_json::from_slice(body)?;
    let pods = summary.pods.as_ref().map_or(0, Vec::len);
    let mut out = Vec::with_capacity(2 + pods * 4);
    convert::metrics(&summary, now, &mut out);
    Ok(out)
}

#[async_trait]
impl Input for Kubelet {
    async fn run(mut self: Box<Self>, mut cx: InputContext) -> Result<(), PluginError> {
        while cx.ticker.tick().await {
            let metrics = match self.gather().await {
                Ok(m) => m,
                Err(e) => {
                    cx.metrics.error(e.reason());
                    warn!(input = %cx.id, url = %self.target.url(), error = %e, "kubelet gather failed");
                    continue;
                }
            };
            if !metrics.is_empty() && cx.out.send(Batch::Metrics(metrics)).await.is_err() {
                // The pipeline is closed: the agent is stopping.
                return Ok(());
            }
        }
        Ok(())
    }
}

/// This plugin's sample check (run for every registered plugin from `src/sample_checks.rs`):
/// each option the sample shows at its default is the real default.
#[cfg(test)]
pub(crate) fn check_sample() {
    gleaner_api::test_util::sample::assert_sample::<KubeletConfig>(
        "inputs.kubelet.0",
        DESCRIPTOR.sample,
        // Unset, timeout is 5s clamped to the interval: written, it is checked against it.
        &["ca_file", "timeout"],
        &[],
    );
}
