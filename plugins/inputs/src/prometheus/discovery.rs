//! Kubernetes service discovery for `inputs.prometheus`: `kubernetes = { role, scope, ... }`
//! turns the shared client's caches (`gleaner-kube`, one watch per kind per agent) into
//! target sets, re-derived from the watch whenever it moves — never by polling.
//!
//! Opt-in is by annotation, as Prometheus's example configs and most charts do it:
//! `prometheus.io/scrape: "true"` with `prometheus.io/port`, `/path` (default `/metrics`)
//! and `/scheme` (default `http`); the `gleaner.io/` equivalents win when both are present.
//! - `role = "pod"`: each running pod with an IP that opts in; the port is the annotation's,
//!   else the first declared container port named `metrics` or `http-metrics`. Target
//!   labels: `namespace`, `pod`, `container` (when a declared port matches), `node`, and the
//!   pod labels of the `pod_labels` allow-list (globs; none by default), named as Prometheus
//!   label names (`app.kubernetes.io/name` → `app_kubernetes_io_name`).
//! - `role = "service"`: each annotated Service, scraped through its DNS name
//!   (`<name>.<namespace>.svc:<port>`); labels `namespace`, `service`.
//! - `role = "endpoints"`: each ready endpoint of an annotated Service (from its
//!   EndpointSlices); labels `namespace`, `service`, `pod`, `node`.
//!
//! `scope = "node"` (the DaemonSet default) keeps only targets on `NODE_NAME` (pods are then
//! watched with a node field selector), so N agents never scrape the same pod twice;
//! `scope = "cluster"` keeps every target (the standalone poller, usually with `shard`).
//! `namespaces` (empty: all) and `label_selector` (`k=v`, `k!=v`, `k`, `!k`, comma-separated,
//! on pod or service labels) narrow the set.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use gleaner_api::glob::Glob;
use gleaner_kube::{
    ClientOptions, EndpointSliceMeta, Hub, ObjectCache, PodCache, PodScope, ServiceMeta,
};
use serde::Deserialize;

use super::target::{Target, TargetSource};

mod rules;
#[cfg(test)]
mod tests;

/// How long the first target set waits for the first list.
const STARTUP_WAIT: Duration = Duration::from_secs(10);
/// Changes closer together than this make one new set.
const SETTLE: Duration = Duration::from_millis(250);

/// `kubernetes = { ... }` of `[[inputs.prometheus]]`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct KubernetesSd {
    /// `pod`, `service` or `endpoints`.
    role: Role,
    /// `node` (default) or `cluster`.
    #[serde(default)]
    scope: Scope,
    /// Namespaces to keep (empty: all).
    #[serde(default)]
    namespaces: Vec<String>,
    /// Equality-based label selector.
    #[serde(default)]
    label_selector: String,
    /// Pod labels copied to target labels (globs).
    #[serde(default)]
    pod_labels: Vec<String>,
    /// This node (scope `node`); default env `NODE_NAME`.
    node_name: Option<String>,
    /// A kubeconfig; default KUBECONFIG, ~/.kube/config, else in-cluster.
    kubeconfig: Option<PathBuf>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
enum Role {
    Pod,
    Service,
    Endpoints,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize)]
#[serde(rename_all = "lowercase")]
enum Scope {
    #[default]
    Node,
    Cluster,
}

/// One `k=v` / `k!=v` / `k` / `!k` term.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Term {
    Eq(String, String),
    Ne(String, String),
    Exists(String),
    Absent(String),
}

/// Validated discovery settings.
#[derive(Debug, Clone)]
pub(super) struct Discovery {
    role: Role,
    node: Option<String>,
    namespaces: Vec<String>,
    selector: Vec<Term>,
    pod_labels: Vec<Glob>,
    client: ClientOptions,
    job: String,
    extra: Vec<(String, String)>,
}

fn parse_selector(s: &str) -> Result<Vec<Term>, String> {
    let mut out = Vec::new();
    for term in s.split(',').map(str::trim).filter(|t| !t.is_empty()) {
        let t = if let Some((k, v)) = term.split_once("!=") {
            Term::Ne(k.trim().to_owned(), v.trim().to_owned())
        } else if let Some((k, v)) = term.split_once("==").or_else(|| term.split_once('=')) {
            Term::Eq(k.trim().to_owned(), v.trim().to_owned())
        } else if let Some(k) = term.strip_prefix('!') {
            Term::Absent(k.trim().to_owned())
        } else if term.contains(char::is_whitespace) {
            return Err(format!(
                "unsupported selector term {term:?} (only k=v, k!=v, k, !k)"
            ));
        } else {
            Term::Exists(term.to_owned())
        };
        out.push(t);
    }
    Ok(out)
}

impl KubernetesSd {
    /// Checks the table; `job` and `extra` are the input's target labels.
    pub(super) fn validate(
        self,
        job: &str,
        extra: &[(String, String)],
        hostname: &str,
    ) -> Result<Discovery, String> {
        let node = match self.scope {
            Scope::Cluster => None,
            Scope::Node => Some(
                self.node_name
                    .or_else(|| std::env::var("NODE_NAME").ok())
                    .filter(|n| !n.trim().is_empty())
                    .unwrap_or_else(|| hostname.to_owned()),
            ),
        };
        Ok(Discovery {
            role: self.role,
            node,
            namespaces: self.namespaces,
            selector: parse_selector(&self.label_selector)?,
            pod_labels: self.pod_labels.into_iter().map(Glob::new).collect(),
            client: ClientOptions {
                kubeconfig: self.kubeconfig,
            },
            job: job.to_owned(),
            extra: extra.to_vec(),
        })
    }
}

impl Discovery {
    /// The source for the input (caches are asked for on its first `next`).
    pub(super) fn source(self, hub: Arc<Hub>) -> KubernetesTargets {
        KubernetesTargets {
            sd: self,
            hub,
            caches: None,
            last: None,
        }
    }
}

enum Caches {
    Pods(
        Arc<PodCache>,
        tokio::sync::broadcast::Receiver<gleaner_kube::PodChange>,
    ),
    Services(
        Arc<ObjectCache<ServiceMeta>>,
        tokio::sync::broadcast::Receiver<()>,
    ),
    Endpoints {
        services: Arc<ObjectCache<ServiceMeta>>,
        slices: Arc<ObjectCache<EndpointSliceMeta>>,
        rx_s: tokio::sync::broadcast::Receiver<()>,
        rx_e: tokio::sync::broadcast::Receiver<()>,
    },
}

/// A [`TargetSource`] over the shared Kubernetes caches.
pub(super) struct KubernetesTargets {
    sd: Discovery,
    hub: Arc<Hub>,
    caches: Option<Caches>,
    last: Option<Vec<Target>>,
}

impl KubernetesTargets {
    async fn open(&mut self) -> Caches {
        match self.sd.role {
            Role::Pod => {
                let c = self.hub.pods(
                    &self.sd.client,
                    &PodScope {
                        node: self.sd.node.clone(),
                    },
                );
                let rx = c.subscribe();
                c.wait_ready(STARTUP_WAIT).await;
                Caches::Pods(c, rx)
            }
            Role::Service => {
                let c = self.hub.services(&self.sd.client);
                let rx = c.subscribe();
                c.wait_ready(STARTUP_WAIT).await;
                Caches::Services(c, rx)
            }
            Role::Endpoints => {
                let services = self.hub.services(&self.sd.client);
                let slices = self.hub.endpoint_slices(&self.sd.client);
                let (rx_s, rx_e) = (services.subscribe(), slices.subscribe());
                services.wait_ready(STARTUP_WAIT).await;
                slices.wait_ready(STARTUP_WAIT).await;
                Caches::Endpoints {
                    services,
                    slices,
                    rx_s,
                    rx_e,
                }
            }
        }
    }

    fn derive(&self, caches: &Caches) -> Vec<Target> {
        let mut out = Vec::new();
        match caches {
            Caches::Pods(c, _) => {
                out.extend(c.live_pods().iter().filter_map(|p| self.sd.pod_target(p)))
            }
            Caches::Services(c, _) => {
                out.extend(c.all().iter().filter_map(|s| self.sd.service_target(s)))
            }
            Caches::Endpoints {
                services, slices, ..
            } => {
                let services = services.all();
                for e in slices.all() {
                    if let Some(s) = services
                        .iter()
                        .find(|s| s.namespace == e.namespace && s.name == e.service)
                    {
                        self.sd.endpoint_targets(s, &e, &mut out);
                    }
                }
            }
        }
        out.sort_by(|a, b| a.identity().cmp(b.identity()));
        out.dedup_by(|a, b| a.identity() == b.identity());
        out
    }
}

/// Waits for a message on `rx` (a lagged feed counts as a change); false when closed.
async fn changed<T: Clone>(rx: &mut tokio::sync::broadcast::Receiver<T>) -> bool {
    !matches!(
        rx.recv().await,
        Err(tokio::sync::broadcast::error::RecvError::Closed)
    )
}

#[async_trait]
impl TargetSource for KubernetesTargets {
    async fn next(&mut self) -> Option<Vec<Target>> {
        let mut caches = match self.caches.take() {
            Some(c) => c,
            None => {
                let c = self.open().await;
                let set = self.derive(&c);
                self.caches = Some(c);
                self.last = Some(set.clone());
                return Some(set);
            }
        };
        loop {
            let open = match &mut caches {
                Caches::Pods(_, rx) => changed(rx).await,
                Caches::Services(_, rx) => changed(rx).await,
                Caches::Endpoints { rx_s, rx_e, .. } => tokio::select! {
                    o = changed(rx_s) => o,
                    o = changed(rx_e) => o,
                },
            };
            if !open {
                self.caches = Some(caches);
                return None;
            }
            // Let a burst of changes (a rollout) settle into one new set.
            tokio::time::sleep(SETTLE).await;
            let set = self.derive(&caches);
            if self.last.as_ref() != Some(&set) {
                self.last = Some(set.clone());
                self.caches = Some(caches);
                return Some(set);
            }
        }
    }
}
