//! `gleaner-kube`: the one Kubernetes client of an agent, shared by the plugins that need
//! cluster state (the `kubernetes` metadata filter, the prometheus input's discovery), so no
//! plugin depends on another and the agent runs at most one watch per resource kind.
//!
//! A [`Hub`] lives in the pipeline's [`gleaner_api::Shared`] services. Plugins register what
//! they need while they are built (annotations to keep, how long to keep deleted pods, that
//! namespace labels are wanted) and ask for caches when they start:
//! - [`Hub::pods`]: a [`PodCache`] filled by one pod watch per scope (the node's pods with
//!   `fieldSelector=spec.nodeName=<node>` in DaemonSet mode, every pod in standalone mode),
//!   listed from the API server's watch cache (`resourceVersion=0`), with bookmarks, re-list
//!   on 410 Gone and backoff on errors (kube's watcher), and one metadata GET per ReplicaSet
//!   or Job that owns a cached pod, to name its Deployment or CronJob;
//! - [`Hub::namespaces`]: namespace labels, from one metadata-only namespace watch;
//! - [`Hub::services`], [`Hub::endpoint_slices`]: for service and endpoints discovery;
//! - [`Hub::watch_events`]: Kubernetes Events for the `kubernetes_events` input, one watch
//!   per input and scope (not shared: each input consumes its own stream);
//! - [`Hub::running_pods`]: a pod cache another plugin started, if any (never starts one).
//!
//! Nothing here makes a request per record: lookups read the caches only.
//!
//! RBAC the watches need (ClusterRole): `get`, `list`, `watch` on `pods` and `namespaces`
//! (core group), `replicasets` (`apps`) and `jobs` (`batch`); nothing else (no
//! `nodes/proxy`); discovery of services and endpoints adds `services` and
//! `discovery.k8s.io` `endpointslices`; events add `list`, `watch` on `events`
//! (`events.k8s.io`).

mod client;
mod events;
mod meta;
mod namespaces;
mod objects;
mod owners;
mod store;
mod watch;
mod watcher_loop;

use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use gleaner_api::glob::Glob;
use gleaner_api::{Shared, Shutdown};
use tokio::sync::mpsc;

pub use client::{ClientError, ClientOptions};
pub use events::{EventChange, EventMeta, ObjectRef};
pub use meta::{
    AnnotationFilter, ContainerMeta, OwnerRef, PodMeta, PortMeta, Workload, label_name,
};
pub use namespaces::{Labels, NamespaceCache};
pub use objects::{EndpointMeta, EndpointSliceMeta, NamedPort, ObjectCache, ServiceMeta};
pub use store::{CacheStats, Found, PodCache, PodChange};
pub use watch::PodScope;

/// Annotations every cache keeps: the agent's own (`gleaner.io/*`) and the prometheus
/// scrape opt-ins (`prometheus.io/*`).
const ALWAYS_KEPT_ANNOTATIONS: &[&str] = &["gleaner.io/*", "prometheus.io/*"];

/// Deleted pods are kept at least this long unless a plugin asks for longer.
const DEFAULT_RETENTION: Duration = Duration::from_secs(300);

/// The agent's shared Kubernetes state. Get it with [`Hub::shared`].
pub struct Hub {
    shutdown: Shutdown,
    state: Mutex<HubState>,
}

#[derive(Default)]
struct HubState {
    keep_annotations: Vec<Glob>,
    retention: Option<Duration>,
    clients: HashMap<ClientOptions, Arc<client::ClientCell>>,
    pods: HashMap<(ClientOptions, PodScope), Arc<PodCache>>,
    namespaces: HashMap<ClientOptions, Arc<NamespaceCache>>,
    services: HashMap<ClientOptions, Arc<ObjectCache<ServiceMeta>>>,
    endpoint_slices: HashMap<ClientOptions, Arc<ObjectCache<EndpointSliceMeta>>>,
}

struct Globs(Vec<Glob>);

impl AnnotationFilter for Globs {
    fn keep(&self, key: &str) -> bool {
        self.0.iter().any(|g| g.matches(key))
    }
}

impl Hub {
    /// The pipeline's hub (made on first call); its tasks stop on `shutdown`.
    pub fn shared(shared: &Shared, shutdown: &Shutdown) -> Arc<Hub> {
        shared.get_or_insert_with(|| Hub {
            shutdown: shutdown.clone(),
            state: Mutex::new(HubState {
                keep_annotations: ALWAYS_KEPT_ANNOTATIONS
                    .iter()
                    .map(|g| Glob::new(*g))
                    .collect(),
                ..HubState::default()
            }),
        })
    }

    fn state(&self) -> std::sync::MutexGuard<'_, HubState> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Asks pod caches to keep annotations matching `globs` (call while building, before
    /// any cache starts; every other annotation is dropped on arrival).
    pub fn keep_annotations(&self, globs: impl IntoIterator<Item = Glob>) {
        self.state().keep_annotations.extend(globs);
    }

    /// Asks pod caches to keep deleted pods at least `retention` (the longest ask wins).
    pub fn retain_deleted(&self, retention: Duration) {
        let mut st = self.state();
        st.retention = Some(st.retention.map_or(retention, |r| r.max(retention)));
    }

    fn client(st: &mut HubState, options: &ClientOptions) -> Arc<client::ClientCell> {
        Arc::clone(
            st.clients
                .entry(options.clone())
                .or_insert_with(|| Arc::new(client::ClientCell::new(options.clone()))),
        )
    }

    /// The pod cache of `scope`, starting its watch (and owner lookups) on first call. Must
    /// be called on the agent's runtime.
    pub fn pods(&self, options: &ClientOptions, scope: &PodScope) -> Arc<PodCache> {
        let mut st = self.state();
        if let Some(c) = st.pods.get(&(options.clone(), scope.clone())) {
            return Arc::clone(c);
        }
        let client = Hub::client(&mut st, options);
        let (tx, rx) = mpsc::unbounded_channel();
        let cache = Arc::new(PodCache::new(st.retention.unwrap_or(DEFAULT_RETENTION), tx));
        let annotations: Arc<dyn AnnotationFilter> = Arc::new(Globs(st.keep_annotations.clone()));
        st.pods
            .insert((options.clone(), scope.clone()), Arc::clone(&cache));
        drop(st);
        tokio::spawn(watch::run_pod_watch(
            Arc::clone(&client),
            scope.clone(),
            Arc::clone(&cache),
            annotations,
            self.shutdown.clone(),
        ));
        tokio::spawn(owners::run_owner_resolver(
            client,
            Arc::clone(&cache),
            rx,
            self.shutdown.clone(),
        ));
        cache
    }

    /// The namespace-label cache, starting its watch on first call. Must be called on the
    /// agent's runtime.
    pub fn namespaces(&self, options: &ClientOptions) -> Arc<NamespaceCache> {
        let mut st = self.state();
        if let Some(c) = st.namespaces.get(options) {
            return Arc::clone(c);
        }
        let client = Hub::client(&mut st, options);
        let cache = Arc::new(NamespaceCache::default());
        st.namespaces.insert(options.clone(), Arc::clone(&cache));
        drop(st);
        tokio::spawn(namespaces::run_namespace_watch(
            client,
            Arc::clone(&cache),
            self.shutdown.clone(),
        ));
        cache
    }

    /// Every Service (cluster-wide; for `service` and `endpoints` discovery), starting its
    /// watch on first call. Must be called on the agent's runtime.
    pub fn services(&self, options: &ClientOptions) -> Arc<ObjectCache<ServiceMeta>> {
        let mut st = self.state();
        if let Some(c) = st.services.get(options) {
            return Arc::clone(c);
        }
        let client = Hub::client(&mut st, options);
        let cache = Arc::new(ObjectCache::default());
        st.services.insert(options.clone(), Arc::clone(&cache));
        drop(st);
        tokio::spawn(objects::run_object_watch::<
            k8s_openapi::api::core::v1::Service,
        >(client, Arc::clone(&cache), self.shutdown.clone()));
        cache
    }

    /// Every EndpointSlice (cluster-wide; for `endpoints` discovery), starting its watch on
    /// first call. Must be called on the agent's runtime.
    pub fn endpoint_slices(&self, options: &ClientOptions) -> Arc<ObjectCache<EndpointSliceMeta>> {
        let mut st = self.state();
        if let Some(c) = st.endpoint_slices.get(options) {
            return Arc::clone(c);
        }
        let client = Hub::client(&mut st, options);
        let cache = Arc::new(ObjectCache::default());
        st.endpoint_slices
            .insert(options.clone(), Arc::clone(&cache));
        drop(st);
        tokio::spawn(objects::run_object_watch::<
            k8s_openapi::api::discovery::v1::EndpointSlice,
        >(client, Arc::clone(&cache), self.shutdown.clone()));
        cache
    }

    /// The pod cache of `scope` if a plugin has started it; never starts one (and so needs no
    /// RBAC of its own).
    pub fn running_pods(&self, options: &ClientOptions, scope: &PodScope) -> Option<Arc<PodCache>> {
        self.state()
            .pods
            .get(&(options.clone(), scope.clone()))
            .cloned()
    }

    /// Watches every Kubernetes Event of each scope (a namespace; `None`: the whole cluster)
    /// into one channel of `capacity` changes; the watches hold back while it is full and stop
    /// on shutdown. Must be called on the agent's runtime.
    pub fn watch_events(
        &self,
        options: &ClientOptions,
        scopes: &[Option<Arc<str>>],
        capacity: usize,
    ) -> (mpsc::Receiver<EventChange>, Arc<CacheStats>) {
        let client = Hub::client(&mut self.state(), options);
        let (tx, rx) = mpsc::channel(capacity.max(1));
        let stats = Arc::new(CacheStats::default());
        for scope in scopes {
            events::spawn_event_watch(
                Arc::clone(&client),
                scope.clone(),
                tx.clone(),
                Arc::clone(&stats),
                self.shutdown.clone(),
            );
        }
        (rx, stats)
    }
}
