//! Services and EndpointSlices, for the prometheus input's `service` and `endpoints`
//! discovery: one cluster-wide watch each (started only when a plugin asks), kept as the
//! few fields discovery uses, with readiness and a change feed. Same list and watch rules
//! as the pod watch (watch cache, bookmarks, re-list on 410, backoff).

use std::collections::{HashMap, HashSet};
use std::sync::atomic::Ordering;
use std::sync::{Arc, PoisonError, RwLock};
use std::time::Duration;

use gleaner_api::Shutdown;
use k8s_openapi::api::core::v1::Service;
use k8s_openapi::api::discovery::v1::EndpointSlice;
use kube::runtime::watcher::{self, Event};
use tokio::sync::{broadcast, watch};
use tracing::debug;

use crate::client::{ClientCell, ClientError};
use crate::store::CacheStats;
use crate::watcher_loop::{self, Watch, WatchSink};

/// A service port.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NamedPort {
    /// Port name, if any.
    pub name: Option<Box<str>>,
    /// Port number.
    pub port: u16,
}

/// A Service, as discovery needs it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServiceMeta {
    /// Namespace.
    pub namespace: Box<str>,
    /// Name.
    pub name: Box<str>,
    /// Annotations under `prometheus.io/` and `gleaner.io/`, sorted.
    pub annotations: Vec<(Box<str>, Box<str>)>,
    /// Labels, sorted.
    pub labels: Vec<(Box<str>, Box<str>)>,
    /// Declared ports.
    pub ports: Vec<NamedPort>,
}

/// One endpoint of a slice.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EndpointMeta {
    /// Its first address.
    pub address: Box<str>,
    /// `conditions.ready` (unset counts as ready).
    pub ready: bool,
    /// `nodeName`.
    pub node: Option<Box<str>>,
    /// The pod behind it (`targetRef` of kind Pod).
    pub pod: Option<Box<str>>,
}

/// An EndpointSlice, as discovery needs it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EndpointSliceMeta {
    /// Namespace.
    pub namespace: Box<str>,
    /// The service it belongs to (label `kubernetes.io/service-name`).
    pub service: Box<str>,
    /// Ports.
    pub ports: Vec<NamedPort>,
    /// Endpoints.
    pub endpoints: Vec<EndpointMeta>,
}

fn sorted(
    map: Option<&std::collections::BTreeMap<String, String>>,
    keep: impl Fn(&str) -> bool,
) -> Vec<(Box<str>, Box<str>)> {
    let mut v: Vec<(Box<str>, Box<str>)> = map
        .into_iter()
        .flatten()
        .filter(|(k, _)| keep(k))
        .map(|(k, v)| (Box::from(k.as_str()), Box::from(v.as_str())))
        .collect();
    v.sort();
    v
}

fn kept_annotation(k: &str) -> bool {
    k.starts_with("prometheus.io/") || k.starts_with("gleaner.io/")
}

impl ServiceMeta {
    fn from(s: &Service) -> Option<(Box<str>, ServiceMeta)> {
        let m = &s.metadata;
        let ports = s
            .spec
            .iter()
            .flat_map(|sp| sp.ports.iter().flatten())
            .filter_map(|p| {
                Some(NamedPort {
                    name: p.name.as_deref().map(Box::from),
                    port: u16::try_from(p.port).ok()?,
                })
            })
            .collect();
        Some((
            m.uid.as_deref()?.into(),
            ServiceMeta {
                namespace: m.namespace.as_deref()?.into(),
                name: m.name.as_deref()?.into(),
                annotations: sorted(m.annotations.as_ref(), kept_annotation),
                labels: sorted(m.labels.as_ref(), |_| true),
                ports,
            },
        ))
    }

    /// The value of a kept annotation.
    pub fn annotation(&self, key: &str) -> Option<&str> {
        self.annotations
            .iter()
            .find(|(k, _)| &**k == key)
            .map(|(_, v)| &**v)
    }
}

impl EndpointSliceMeta {
    fn from(e: &EndpointSlice) -> Option<(Box<str>, EndpointSliceMeta)> {
        let m = &e.metadata;
        let service = m.labels.as_ref()?.get("kubernetes.io/service-name")?;
        let ports = e
            .ports
            .iter()
            .flatten()
            .filter_map(|p| {
                Some(NamedPort {
                    name: p.name.as_deref().map(Box::from),
                    port: u16::try_from(p.port?).ok()?,
                })
            })
            .collect();
        let endpoints = e
            .endpoints
            .iter()
            .filter_map(|ep| {
                Some(EndpointMeta {
                    address: ep.addresses.first()?.as_str().into(),
                    ready: ep.conditions.as_ref().and_then(|c| c.ready).unwrap_or(true),
                    node: ep.node_name.as_deref().map(Box::from),
                    pod: ep
                        .target_ref
                        .as_ref()
                        .filter(|r| r.kind.as_deref() == Some("Pod"))
                        .and_then(|r| r.name.as_deref())
                        .map(Box::from),
                })
            })
            .collect();
        Some((
            m.uid.as_deref()?.into(),
            EndpointSliceMeta {
                namespace: m.namespace.as_deref()?.into(),
                service: service.as_str().into(),
                ports,
                endpoints,
            },
        ))
    }
}

/// Every object of one kind, by uid, as one watch keeps it.
pub struct ObjectCache<T> {
    items: RwLock<HashMap<Box<str>, Arc<T>>>,
    ready: watch::Sender<bool>,
    changes: broadcast::Sender<()>,
    /// Watch counters.
    pub stats: CacheStats,
}

impl<T> Default for ObjectCache<T> {
    fn default() -> Self {
        ObjectCache {
            items: RwLock::new(HashMap::new()),
            ready: watch::channel(false).0,
            changes: broadcast::channel(64).0,
            stats: CacheStats::default(),
        }
    }
}

impl<T> ObjectCache<T> {
    /// Every object now.
    pub fn all(&self) -> Vec<Arc<T>> {
        self.items
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .values()
            .cloned()
            .collect()
    }

    /// A message after each change (subscribe, then read [`ObjectCache::all`]).
    pub fn subscribe(&self) -> broadcast::Receiver<()> {
        self.changes.subscribe()
    }

    /// Waits until the first list completes, at most `timeout`.
    pub async fn wait_ready(&self, timeout: Duration) -> bool {
        let mut rx = self.ready.subscribe();
        tokio::time::timeout(timeout, rx.wait_for(|r| *r))
            .await
            .is_ok_and(|r| r.is_ok())
    }

    fn set(&self, uid: Box<str>, t: T) {
        self.items
            .write()
            .unwrap_or_else(PoisonError::into_inner)
            .insert(uid, Arc::new(t));
    }

    fn remove(&self, uid: &str) {
        self.items
            .write()
            .unwrap_or_else(PoisonError::into_inner)
            .remove(uid);
    }

    fn retain(&self, keep: &HashSet<Box<str>>) {
        self.items
            .write()
            .unwrap_or_else(PoisonError::into_inner)
            .retain(|k, _| keep.contains(k));
    }
}

/// What the watch needs to know about a kind.
pub(crate) trait Watched:
    kube::Resource<DynamicType = ()>
    + Clone
    + serde::de::DeserializeOwned
    + std::fmt::Debug
    + Send
    + 'static
{
    type Meta: Send + Sync + 'static;
    fn discovered(&self) -> Option<(Box<str>, Self::Meta)>;
    fn uid(&self) -> Option<&str>;
}

impl Watched for Service {
    type Meta = ServiceMeta;
    fn discovered(&self) -> Option<(Box<str>, ServiceMeta)> {
        ServiceMeta::from(self)
    }
    fn uid(&self) -> Option<&str> {
        self.metadata.uid.as_deref()
    }
}

impl Watched for EndpointSlice {
    type Meta = EndpointSliceMeta;
    fn discovered(&self) -> Option<(Box<str>, EndpointSliceMeta)> {
        EndpointSliceMeta::from(self)
    }
    fn uid(&self) -> Option<&str> {
        self.metadata.uid.as_deref()
    }
}

pub(crate) async fn run_object_watch<K: Watched>(
    client: Arc<ClientCell>,
    cache: Arc<ObjectCache<K::Meta>>,
    shutdown: Shutdown,
) {
    let sink = ObjectSink::<K> {
        cache: Arc::clone(&cache),
        listing: HashSet::new(),
    };
    watcher_loop::run::<K, _>(client, Watch::default(), &cache.stats, sink, shutdown).await;
}

/// An object cache, as the watch fills it.
struct ObjectSink<K: Watched> {
    cache: Arc<ObjectCache<K::Meta>>,
    /// Uids of the objects of the list in progress.
    listing: HashSet<Box<str>>,
}

impl<K: Watched> WatchSink<K> for ObjectSink<K> {
    fn client_failed(&mut self, e: &ClientError) {
        debug!(error = %e, "kubernetes: no client for a watch");
    }

    fn event(&mut self, event: Result<Event<K>, watcher::Error>) {
        let cache = &self.cache;
        cache.stats.events.fetch_add(1, Ordering::Relaxed);
        let changed = match event {
            Ok(Event::Init) => {
                self.listing.clear();
                false
            }
            Ok(Event::InitApply(o)) => {
                if let Some((uid, m)) = o.discovered() {
                    self.listing.insert(uid.clone());
                    cache.set(uid, m);
                }
                false
            }
            Ok(Event::InitDone) => {
                cache.retain(&self.listing);
                self.listing.clear();
                cache.stats.relists.fetch_add(1, Ordering::Relaxed);
                cache.ready.send_replace(true);
                true
            }
            Ok(Event::Apply(o)) => {
                if let Some((uid, m)) = o.discovered() {
                    cache.set(uid, m);
                }
                true
            }
            Ok(Event::Delete(o)) => {
                if let Some(uid) = o.uid() {
                    cache.remove(uid);
                }
                true
            }
            Err(e) => {
                cache.stats.watch_errors.fetch_add(1, Ordering::Relaxed);
                debug!(error = %e, "kubernetes: discovery watch failed");
                false
            }
        };
        if changed {
            let _no_subscribers = cache.changes.send(());
        }
    }
}
