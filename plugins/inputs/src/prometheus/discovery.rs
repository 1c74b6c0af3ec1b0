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
    ClientOptions, EndpointSliceMeta, Hub, ObjectCache, PodCache, PodMeta, PodScope, ServiceMeta,
};
use serde::Deserialize;

use super::target::{Target, TargetSource};

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

fn selected(selector: &[Term], labels: &[(Box<str>, Box<str>)]) -> bool {
    let get = |k: &str| labels.iter().find(|(n, _)| &**n == k).map(|(_, v)| &**v);
    selector.iter().all(|t| match t {
        Term::Eq(k, v) => get(k) == Some(v.as_str()),
        Term::Ne(k, v) => get(k) != Some(v.as_str()),
        Term::Exists(k) => get(k).is_some(),
        Term::Absent(k) => get(k).is_none(),
    })
}

/// A label key as a Prometheus label name.
fn label_name(key: &str) -> String {
    key.chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '_' {
                c
            } else {
                '_'
            }
        })
        .collect()
}

/// The opt-in annotations of an object: `gleaner.io/<k>` first, then `prometheus.io/<k>`.
fn opt_in<'a>(get: impl Fn(&str) -> Option<&'a str>, k: &str) -> Option<&'a str> {
    get(&format!("gleaner.io/{k}")).or_else(|| get(&format!("prometheus.io/{k}")))
}

fn url(scheme: &str, host: &str, port: u16, path: &str) -> Option<http::Uri> {
    let path = if path.starts_with('/') {
        path.to_owned()
    } else {
        format!("/{path}")
    };
    let host = if host.contains(':') {
        format!("[{host}]")
    } else {
        host.to_owned()
    };
    format!("{scheme}://{host}:{port}{path}").parse().ok()
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
    fn namespace_ok(&self, ns: &str) -> bool {
        self.namespaces.is_empty() || self.namespaces.iter().any(|n| n == ns)
    }

    fn labels(&self, instance: String, mut more: Vec<(String, String)>) -> Vec<(String, String)> {
        more.push(("job".to_owned(), self.job.clone()));
        more.push(("instance".to_owned(), instance));
        more.extend(self.extra.iter().cloned());
        more
    }

    /// The target of one pod, if it opts in.
    pub(super) fn pod_target(&self, p: &PodMeta) -> Option<Target> {
        let ann = |k: &str| p.annotation(k);
        if opt_in(ann, "scrape") != Some("true")
            || &*p.phase != "Running"
            || !self.namespace_ok(&p.namespace)
            || !selected(&self.selector, &p.labels)
            || self.node.as_deref().is_some_and(|n| n != &*p.node)
        {
            return None;
        }
        let ip = p.ip.as_deref()?;
        let declared = |pred: &dyn Fn(&gleaner_kube::PortMeta) -> bool| {
            p.containers.iter().find_map(|c| {
                c.ports
                    .iter()
                    .find(|port| pred(port))
                    .map(|port| (c.name.clone(), port.port))
            })
        };
        let (container, port) = match opt_in(ann, "port").and_then(|s| s.trim().parse::<u16>().ok())
        {
            Some(port) => (declared(&|d| d.port == port).map(|(c, _)| c), port),
            None => {
                let (c, port) =
                    declared(&|d| matches!(d.name.as_deref(), Some("metrics" | "http-metrics")))?;
                (Some(c), port)
            }
        };
        let u = url(
            opt_in(ann, "scheme").unwrap_or("http"),
            ip,
            port,
            opt_in(ann, "path").unwrap_or("/metrics"),
        )?;
        let mut more = vec![
            ("namespace".to_owned(), p.namespace.to_string()),
            ("pod".to_owned(), p.name.to_string()),
            ("node".to_owned(), p.node.to_string()),
        ];
        if let Some(c) = container {
            more.push(("container".to_owned(), c.to_string()));
        }
        for (k, v) in &p.labels {
            if self.pod_labels.iter().any(|g| g.matches(k)) {
                more.push((label_name(k), v.to_string()));
            }
        }
        let instance = super::target::instance_of(&u);
        Some(Target::new(u, self.labels(instance, more)))
    }

    fn service_opts_in(&self, s: &ServiceMeta) -> bool {
        opt_in(|k| s.annotation(k), "scrape") == Some("true")
            && self.namespace_ok(&s.namespace)
            && selected(&self.selector, &s.labels)
    }

    fn service_port(s: &ServiceMeta, declared: &[gleaner_kube::NamedPort]) -> Option<u16> {
        match opt_in(|k| s.annotation(k), "port").and_then(|p| p.trim().parse().ok()) {
            Some(p) => Some(p),
            None => declared.first().map(|p| p.port),
        }
    }

    /// The target of one Service, if it opts in (`role = "service"`).
    pub(super) fn service_target(&self, s: &ServiceMeta) -> Option<Target> {
        if !self.service_opts_in(s) {
            return None;
        }
        let port = Self::service_port(s, &s.ports)?;
        let host = format!("{}.{}.svc", s.name, s.namespace);
        let ann = |k: &str| s.annotation(k);
        let u = url(
            opt_in(ann, "scheme").unwrap_or("http"),
            &host,
            port,
            opt_in(ann, "path").unwrap_or("/metrics"),
        )?;
        let more = vec![
            ("namespace".to_owned(), s.namespace.to_string()),
            ("service".to_owned(), s.name.to_string()),
        ];
        Some(Target::new(
            u.clone(),
            self.labels(super::target::instance_of(&u), more),
        ))
    }

    /// The targets of one Service's slice (`role = "endpoints"`).
    pub(super) fn endpoint_targets(
        &self,
        s: &ServiceMeta,
        e: &EndpointSliceMeta,
        out: &mut Vec<Target>,
    ) {
        if !self.service_opts_in(s) || e.namespace != s.namespace || e.service != s.name {
            return;
        }
        let Some(port) = Self::service_port(s, &e.ports) else {
            return;
        };
        let ann = |k: &str| s.annotation(k);
        for ep in e.endpoints.iter().filter(|ep| ep.ready) {
            if let Some(n) = &self.node
                && ep.node.as_deref() != Some(n.as_str())
            {
                continue;
            }
            let Some(u) = url(
                opt_in(ann, "scheme").unwrap_or("http"),
                &ep.address,
                port,
                opt_in(ann, "path").unwrap_or("/metrics"),
            ) else {
                continue;
            };
            let mut more = vec![
                ("namespace".to_owned(), s.namespace.to_string()),
                ("service".to_owned(), s.name.to_string()),
            ];
            if let Some(p) = &ep.pod {
                more.push(("pod".to_owned(), p.to_string()));
            }
            if let Some(n) = &ep.node {
                more.push(("node".to_owned(), n.to_string()));
            }
            out.push(Target::new(
                u.clone(),
                self.labels(super::target::instance_of(&u), more),
            ));
        }
    }

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
