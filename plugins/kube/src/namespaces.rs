//! Namespace labels, for the filter's `namespace_labels` allow-list: one metadata-only watch
//! of namespaces (cluster-wide; namespaces are few), started only when a plugin asks for
//! namespace labels.

use std::collections::HashMap;
use std::sync::atomic::Ordering;
use std::sync::{Arc, PoisonError, RwLock};

use gleaner_api::Shutdown;
use k8s_openapi::api::core::v1::Namespace;
use kube::core::PartialObjectMeta;
use kube::runtime::watcher::{self, Event};
use tracing::debug;

use crate::client::{ClientCell, ClientError};
use crate::store::CacheStats;
use crate::watcher_loop::{self, Watch, WatchSink};

/// One namespace's labels, sorted by key.
pub type Labels = Arc<[(Box<str>, Box<str>)]>;

/// Labels of every namespace, by name.
#[derive(Default)]
pub struct NamespaceCache {
    labels: RwLock<HashMap<Box<str>, Labels>>,
    pub(crate) stats: CacheStats,
}

impl NamespaceCache {
    /// The labels of namespace `name`, sorted by key.
    pub fn labels(&self, name: &str) -> Option<Labels> {
        self.labels
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .get(name)
            .cloned()
    }

    fn set(&self, name: &str, labels: Option<&std::collections::BTreeMap<String, String>>) {
        let mut v: Vec<(Box<str>, Box<str>)> = labels
            .into_iter()
            .flatten()
            .map(|(k, v)| (Box::from(k.as_str()), Box::from(v.as_str())))
            .collect();
        v.sort();
        self.labels
            .write()
            .unwrap_or_else(PoisonError::into_inner)
            .insert(name.into(), v.into());
    }

    fn remove(&self, name: &str) {
        self.labels
            .write()
            .unwrap_or_else(PoisonError::into_inner)
            .remove(name);
    }
}

pub(crate) async fn run_namespace_watch(
    client: Arc<ClientCell>,
    cache: Arc<NamespaceCache>,
    shutdown: Shutdown,
) {
    let sink = NamespaceSink {
        cache: Arc::clone(&cache),
        listing: Vec::new(),
    };
    watcher_loop::run::<PartialObjectMeta<Namespace>, _>(
        client,
        Watch::default(),
        &cache.stats,
        sink,
        shutdown,
    )
    .await;
}

/// The namespace cache, as the watch fills it.
struct NamespaceSink {
    cache: Arc<NamespaceCache>,
    /// Names of the namespaces of the list in progress.
    listing: Vec<Box<str>>,
}

impl WatchSink<PartialObjectMeta<Namespace>> for NamespaceSink {
    fn client_failed(&mut self, e: &ClientError) {
        debug!(error = %e, "kubernetes: no client for a watch");
    }

    fn event(&mut self, event: Result<Event<PartialObjectMeta<Namespace>>, watcher::Error>) {
        let cache = &self.cache;
        cache.stats.events.fetch_add(1, Ordering::Relaxed);
        match event {
            Ok(Event::Init) => self.listing.clear(),
            Ok(Event::InitApply(ns) | Event::Apply(ns)) => {
                if let Some(name) = ns.metadata.name.as_deref() {
                    self.listing.push(name.into());
                    cache.set(name, ns.metadata.labels.as_ref());
                }
            }
            Ok(Event::InitDone) => {
                cache.stats.relists.fetch_add(1, Ordering::Relaxed);
                let keep: std::collections::HashSet<&str> =
                    self.listing.iter().map(|s| &**s).collect();
                cache
                    .labels
                    .write()
                    .unwrap_or_else(PoisonError::into_inner)
                    .retain(|k, _| keep.contains(&**k));
                self.listing.clear();
            }
            Ok(Event::Delete(ns)) => {
                if let Some(name) = ns.metadata.name.as_deref() {
                    cache.remove(name);
                }
            }
            Err(e) => {
                cache.stats.watch_errors.fetch_add(1, Ordering::Relaxed);
                debug!(error = %e, "kubernetes: namespace watch failed");
            }
        }
    }
}
