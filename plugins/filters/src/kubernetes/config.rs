//! `[[filters.kubernetes]]` options, their defaults and validation.

use std::path::PathBuf;
use std::time::Duration;

use gleaner_api::glob::Glob;
use gleaner_api::{ConfigError, PluginConfig};
use serde::Deserialize;

use crate::parsers::Format;

/// Attribute prefix of parsed members; outputs treat `log.*` as the parsed message (the
/// Splunk HEC output sends them as the event object).
pub(crate) const PARSED_PREFIX: &str = "log.";

pub(crate) const SAMPLE: &str = r#"[[filters.kubernetes]]
## Which pods to watch: "node" (the pods of NODE_NAME, for a DaemonSet) or "cluster" (standalone).
# scope = "node"
## This node's name (scope = "node"). Default: env NODE_NAME (downward API spec.nodeName),
## else the host name (the kubelet's default node name; set NODE_NAME where they differ).
# node_name = "${NODE_NAME}"
## A kubeconfig for runs outside a cluster. Default: KUBECONFIG or ~/.kube/config, else in-cluster.
# kubeconfig = ""
## Pod labels to add (globs), as k8s.labels.<key> on logs and as tags on metrics.
# labels = ["app.kubernetes.io/*", "app"]
## Pod annotations to add (globs), as k8s.annotations.<key> on logs.
# annotations = []
## Namespace labels to add (globs), as k8s.namespace_labels.<key> (starts a namespace watch).
# namespace_labels = []
## Keep a deleted pod's metadata while its records still arrive, and at least this long.
# deleted_pod_ttl = "5m"
## At start, wait at most this long for the first pod list before records pass without metadata.
# startup_wait = "2s"
## Honour pod annotations gleaner.io/exclude[-<container>] and gleaner.io/parser[-<container>]
## (json, logfmt, kv or none; parsed members become log.<key> attributes).
# use_pod_annotations = true
## The parser of pods without a gleaner.io/parser annotation: "json", "logfmt", "kv", or "" (none).
# default_parser = ""
"#;

/// The filter's options.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct KubernetesConfig {
    /// `node` or `cluster`.
    pub scope: String,
    /// The node (scope `node`); default env `NODE_NAME`.
    pub node_name: Option<String>,
    /// A kubeconfig file.
    pub kubeconfig: Option<PathBuf>,
    /// Pod label globs to add.
    pub labels: Vec<String>,
    /// Pod annotation globs to add.
    pub annotations: Vec<String>,
    /// Namespace label globs to add.
    pub namespace_labels: Vec<String>,
    /// Retention of deleted pods.
    pub deleted_pod_ttl: gleaner_api::Duration,
    /// Longest wait for the first list.
    pub startup_wait: gleaner_api::Duration,
    /// Honour `gleaner.io/*` pod annotations.
    pub use_pod_annotations: bool,
    /// The parser of pods without a `gleaner.io/parser` annotation (`""`: none).
    pub default_parser: String,
}

impl Default for KubernetesConfig {
    fn default() -> Self {
        KubernetesConfig {
            scope: "node".to_owned(),
            node_name: None,
            kubeconfig: None,
            labels: vec!["app.kubernetes.io/*".to_owned(), "app".to_owned()],
            annotations: Vec::new(),
            namespace_labels: Vec::new(),
            deleted_pod_ttl: gleaner_api::Duration::from_secs(300),
            startup_wait: gleaner_api::Duration::from_secs(2),
            use_pod_annotations: true,
            default_parser: String::new(),
        }
    }
}

/// Validated settings.
#[derive(Debug, Clone)]
pub(crate) struct Settings {
    pub(crate) node: Option<String>,
    pub(crate) kubeconfig: Option<PathBuf>,
    pub(crate) labels: Vec<Glob>,
    pub(crate) annotations: Vec<Glob>,
    pub(crate) namespace_labels: Vec<Glob>,
    pub(crate) deleted_pod_ttl: Duration,
    pub(crate) startup_wait: Duration,
    pub(crate) use_pod_annotations: bool,
    pub(crate) default_parser: Option<Format>,
}

fn globs(v: &[String]) -> Vec<Glob> {
    v.iter().map(|g| Glob::new(g.as_str())).collect()
}

impl KubernetesConfig {
    /// Checks the options and resolves the node name (`node_name`, else env `NODE_NAME`,
    /// else `hostname`: the kubelet's default node name).
    pub(crate) fn validate(
        &self,
        cfg: &PluginConfig,
        hostname: &str,
    ) -> Result<Settings, ConfigError> {
        let node = match self.scope.as_str() {
            "cluster" => None,
            "node" => Some(
                self.node_name
                    .clone()
                    .or_else(|| std::env::var("NODE_NAME").ok())
                    .filter(|n| !n.trim().is_empty())
                    .unwrap_or_else(|| hostname.to_owned()),
            ),
            other => {
                return Err(cfg
                    .error_at("scope", format!("unknown scope {other:?}"))
                    .with_hint("use \"node\" (DaemonSet) or \"cluster\" (standalone)"));
            }
        };
        if self.startup_wait.get() > Duration::from_secs(60) {
            return Err(cfg
                .error_at("startup_wait", "startup_wait holds ingestion; at most 60s")
                .with_hint("records pass flagged k8s.metadata=missing after it; 2s is usual"));
        }
        let default_parser = match self.default_parser.trim() {
            "" | "none" => None,
            name => Some(Format::named(name).ok_or_else(|| {
                cfg.error_at("default_parser", format!("unknown parser {name:?}"))
                    .with_hint(
                        "use \"json\", \"logfmt\", \"kv\" or \"\" (none); filters.parse does regex",
                    )
            })?),
        };
        Ok(Settings {
            node,
            kubeconfig: self
                .kubeconfig
                .clone()
                .filter(|p| !p.as_os_str().is_empty()),
            labels: globs(&self.labels),
            annotations: globs(&self.annotations),
            namespace_labels: globs(&self.namespace_labels),
            deleted_pod_ttl: self.deleted_pod_ttl.get(),
            startup_wait: self.startup_wait.get(),
            use_pod_annotations: self.use_pod_annotations,
            default_parser,
        })
    }
}
