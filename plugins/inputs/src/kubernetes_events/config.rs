//! `[[inputs.kubernetes_events]]` options, their defaults, the sample, and validation into
//! [`Settings`] (no I/O).

use std::path::PathBuf;
use std::sync::Arc;

use gleaner_api::{BuildContext, ConfigError, PluginConfig};
use gleaner_kube::ClientOptions;
use serde::Deserialize;

use crate::prometheus::shard::Shard;

pub(super) const SAMPLE: &str = r#"[[inputs.kubernetes_events]]
## Namespaces to watch (one watch each; RBAC list and watch on events in each). Empty: every
## namespace, through one cluster-wide watch.
# namespaces = []
## A kubeconfig for runs outside a cluster. Default: KUBECONFIG or ~/.kube/config, else in-cluster.
# kubeconfig = "/home/me/.kube/config"
## What was sent (resource versions, and recent event uids with their counts), so that a
## restart or a re-list sends nothing twice (SQLite). Default:
## <agent.data_dir>/kubernetes_events/<input id>.db; one of the two must be set.
db = "/var/lib/gleaner/kubernetes_events/events.db"
## Event uids remembered with their counts (the most recently changed are kept).
# remember = 10000
## Most events per batch.
# batch_size = 500
## Several replicas of a standalone StatefulSet: this one sends the events whose uid falls to
## its ordinal (jump consistent hashing), so each event is sent by exactly one replica.
# shard = { index = "${SHARD_INDEX}", pod_name = "${POD_NAME}", total = "${SHARD_TOTAL}" }
"#;

/// Fewest uids `remember` may keep.
const MIN_REMEMBER: usize = 100;

/// The input's options, as written.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub(crate) struct KubernetesEventsConfig {
    /// Namespaces to watch; empty: the whole cluster.
    pub(crate) namespaces: Vec<String>,
    /// A kubeconfig file.
    pub(crate) kubeconfig: Option<PathBuf>,
    /// The state database.
    pub(crate) db: Option<PathBuf>,
    /// Uids remembered with their counts.
    pub(crate) remember: usize,
    /// Most events per batch.
    pub(crate) batch_size: usize,
    /// This replica's share.
    pub(crate) shard: Option<Shard>,
}

impl Default for KubernetesEventsConfig {
    fn default() -> Self {
        KubernetesEventsConfig {
            namespaces: Vec::new(),
            kubeconfig: None,
            db: None,
            remember: 10_000,
            batch_size: 500,
            shard: None,
        }
    }
}

/// The validated options.
#[derive(Debug, Clone)]
pub(crate) struct Settings {
    /// One watch per scope: a namespace, or `None` for the cluster.
    pub(crate) scopes: Vec<Option<Arc<str>>>,
    /// Where the client's config comes from.
    pub(crate) client: ClientOptions,
    /// The state database.
    pub(crate) db: PathBuf,
    /// Uids remembered.
    pub(crate) remember: usize,
    /// Most events per batch.
    pub(crate) batch_size: usize,
    /// This replica's share.
    pub(crate) shard: Option<Shard>,
}

/// `id` with every character but `[A-Za-z0-9._-]` replaced, for a file name.
fn file_safe(id: &str) -> String {
    id.chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-') {
                c
            } else {
                '_'
            }
        })
        .collect()
}

/// Parses and validates the table.
pub(crate) fn parse(cfg: &PluginConfig, bcx: &BuildContext) -> Result<Settings, ConfigError> {
    let raw: KubernetesEventsConfig = cfg.parse()?;
    let mut scopes: Vec<Option<Arc<str>>> = Vec::with_capacity(raw.namespaces.len().max(1));
    for ns in &raw.namespaces {
        if ns.is_empty()
            || ns.len() > 63
            || !ns
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
        {
            return Err(cfg
                .error_at("namespaces", format!("{ns:?} is not a namespace name"))
                .with_hint("namespace names are lowercase letters, digits and '-'; [] watches every namespace"));
        }
        if scopes.iter().any(|s| s.as_deref() == Some(ns.as_str())) {
            return Err(cfg.error_at("namespaces", format!("namespace {ns:?} is listed twice")));
        }
        scopes.push(Some(Arc::from(ns.as_str())));
    }
    if scopes.is_empty() {
        scopes.push(None);
    }
    let db = match (raw.db, &bcx.data_dir) {
        (Some(db), _) => db,
        (None, Some(dir)) => dir
            .join("kubernetes_events")
            .join(format!("{}.db", file_safe(&bcx.id))),
        (None, None) => {
            return Err(cfg
                .error_at("db", "no place for the state database")
                .with_hint("set agent.data_dir or db"));
        }
    };
    if raw.remember < MIN_REMEMBER {
        return Err(cfg
            .error_at(
                "remember",
                format!("remember must be at least {MIN_REMEMBER}"),
            )
            .with_hint("the default is 10000"));
    }
    if raw.batch_size == 0 {
        return Err(cfg.error_at("batch_size", "batch_size must be at least 1"));
    }
    if let Some(s) = &raw.shard {
        s.validate().map_err(|m| cfg.error_at("shard", m))?;
    }
    Ok(Settings {
        scopes,
        client: ClientOptions {
            kubeconfig: raw.kubeconfig,
        },
        db,
        remember: raw.remember,
        batch_size: raw.batch_size,
        shard: raw.shard,
    })
}
