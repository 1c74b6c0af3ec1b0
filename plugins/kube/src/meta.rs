//! What the agent keeps of a pod: only the fields enrichment and discovery use, in compact
//! boxed strings, made from the API's `Pod` as it arrives (everything else — spec details,
//! status conditions, managed fields — is dropped at once). Also the owner and workload
//! types.

use std::sync::Arc;

use k8s_openapi::api::core::v1::Pod;

/// Which annotations a cache keeps; every other annotation is dropped on arrival.
pub trait AnnotationFilter: Send + Sync {
    /// Whether to keep annotation `key`.
    fn keep(&self, key: &str) -> bool;
}

/// One pod, as cached.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PodMeta {
    /// `metadata.uid`: the cache key (a recreated pod with the same name has another uid).
    pub uid: Arc<str>,
    /// `metadata.namespace`.
    pub namespace: Arc<str>,
    /// `metadata.name`.
    pub name: Arc<str>,
    /// `spec.nodeName` (empty while unscheduled).
    pub node: Box<str>,
    /// `status.podIP`, once assigned.
    pub ip: Option<Box<str>>,
    /// `status.phase` (`Pending`, `Running`, `Succeeded`, `Failed`, `Unknown`).
    pub phase: Box<str>,
    /// `metadata.labels`, sorted by key.
    pub labels: Vec<(Box<str>, Box<str>)>,
    /// The annotations the cache's [`AnnotationFilter`] keeps, sorted by key.
    pub annotations: Vec<(Box<str>, Box<str>)>,
    /// Containers (init containers included), in spec order.
    pub containers: Vec<ContainerMeta>,
    /// The controlling owner reference (`controller: true`), else the first one.
    pub owner: Option<OwnerRef>,
    /// `metadata.resourceVersion`, to skip unchanged re-lists.
    pub resource_version: Box<str>,
}

/// One container of a pod.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ContainerMeta {
    /// Container name.
    pub name: Box<str>,
    /// Image reference as in the spec.
    pub image: Box<str>,
    /// Declared ports.
    pub ports: Vec<PortMeta>,
}

/// A declared container port.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PortMeta {
    /// `name`, if any.
    pub name: Option<Box<str>>,
    /// `containerPort`.
    pub port: u16,
    /// `protocol` (`TCP` by default).
    pub protocol: Box<str>,
}

/// An owner reference.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct OwnerRef {
    /// `kind` (`ReplicaSet`, `Job`, `StatefulSet`, ...).
    pub kind: Box<str>,
    /// `name`.
    pub name: Box<str>,
    /// `uid`.
    pub uid: Arc<str>,
}

/// The top owner of a pod: a Deployment, CronJob, StatefulSet, DaemonSet, Job, ReplicaSet,
/// another controller kind, or the pod itself.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Workload {
    /// `Deployment`, `CronJob`, `StatefulSet`, `DaemonSet`, `Job`, `ReplicaSet`, `Pod`, ...
    pub kind: Box<str>,
    /// Its name.
    pub name: Box<str>,
}

impl PodMeta {
    /// The compact form of `pod`, or `None` when it has no uid, namespace or name.
    pub fn from_pod(pod: &Pod, annotations: &dyn AnnotationFilter) -> Option<PodMeta> {
        let m = &pod.metadata;
        let uid = m.uid.as_deref()?;
        let namespace = m.namespace.as_deref()?;
        let name = m.name.as_deref()?;
        let mut labels: Vec<(Box<str>, Box<str>)> = m
            .labels
            .iter()
            .flatten()
            .map(|(k, v)| (Box::from(k.as_str()), Box::from(v.as_str())))
            .collect();
        labels.sort();
        let mut kept: Vec<(Box<str>, Box<str>)> = m
            .annotations
            .iter()
            .flatten()
            .filter(|(k, _)| annotations.keep(k))
            .map(|(k, v)| (Box::from(k.as_str()), Box::from(v.as_str())))
            .collect();
        kept.sort();
        let owners = m.owner_references.as_deref().unwrap_or_default();
        let owner = owners
            .iter()
            .find(|o| o.controller == Some(true))
            .or_else(|| owners.first())
            .map(|o| OwnerRef {
                kind: o.kind.as_str().into(),
                name: o.name.as_str().into(),
                uid: o.uid.as_str().into(),
            });
        let spec = pod.spec.as_ref();
        let containers = spec
            .into_iter()
            .flat_map(|s| s.init_containers.iter().flatten().chain(&s.containers))
            .map(|c| ContainerMeta {
                name: c.name.as_str().into(),
                image: c.image.as_deref().unwrap_or_default().into(),
                ports: c
                    .ports
                    .iter()
                    .flatten()
                    .filter_map(|p| {
                        Some(PortMeta {
                            name: p.name.as_deref().map(Box::from),
                            port: u16::try_from(p.container_port).ok()?,
                            protocol: p.protocol.as_deref().unwrap_or("TCP").into(),
                        })
                    })
                    .collect(),
            })
            .collect();
        let status = pod.status.as_ref();
        Some(PodMeta {
            uid: uid.into(),
            namespace: namespace.into(),
            name: name.into(),
            node: spec
                .and_then(|s| s.node_name.as_deref())
                .unwrap_or_default()
                .into(),
            ip: status.and_then(|s| s.pod_ip.as_deref()).map(Box::from),
            phase: status
                .and_then(|s| s.phase.as_deref())
                .unwrap_or("Unknown")
                .into(),
            labels,
            annotations: kept,
            containers,
            owner,
            resource_version: m.resource_version.as_deref().unwrap_or_default().into(),
        })
    }

    /// The value of label `key`.
    pub fn label(&self, key: &str) -> Option<&str> {
        lookup(&self.labels, key)
    }

    /// The value of a kept annotation `key`.
    pub fn annotation(&self, key: &str) -> Option<&str> {
        lookup(&self.annotations, key)
    }

    /// The container named `name`.
    pub fn container(&self, name: &str) -> Option<&ContainerMeta> {
        self.containers.iter().find(|c| &*c.name == name)
    }

    /// Approximate heap bytes held by this entry (for the cache-size gauge).
    pub fn heap_bytes(&self) -> usize {
        let pairs = |v: &[(Box<str>, Box<str>)]| -> usize {
            v.iter().map(|(k, v)| k.len() + v.len() + 32).sum()
        };
        self.uid.len()
            + self.namespace.len()
            + self.name.len()
            + self.node.len()
            + self.ip.as_ref().map_or(0, |s| s.len())
            + self.phase.len()
            + pairs(&self.labels)
            + pairs(&self.annotations)
            + self
                .containers
                .iter()
                .map(|c| {
                    c.name.len()
                        + c.image.len()
                        + 48
                        + c.ports
                            .iter()
                            .map(|p| 40 + p.name.as_ref().map_or(0, |n| n.len()))
                            .sum::<usize>()
                })
                .sum::<usize>()
            + self
                .owner
                .as_ref()
                .map_or(0, |o| o.kind.len() + o.name.len() + o.uid.len())
            + self.resource_version.len()
            + std::mem::size_of::<PodMeta>()
    }
}

fn lookup<'a>(pairs: &'a [(Box<str>, Box<str>)], key: &str) -> Option<&'a str> {
    pairs
        .binary_search_by(|(k, _)| (**k).cmp(key))
        .ok()
        .map(|i| &*pairs[i].1)
}

/// A Kubernetes label or annotation key as a Prometheus label (and metric tag) name:
/// every character outside `[A-Za-z0-9_]` becomes `_` (`app.kubernetes.io/name` →
/// `app_kubernetes_io_name`), as Prometheus's Kubernetes discovery names its labels.
pub fn label_name(key: &str) -> String {
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
