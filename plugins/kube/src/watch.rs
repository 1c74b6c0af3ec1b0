//! The pod watch: what it does with each event of the shared watcher loop
//! (`watcher_loop.rs`: list from the watch cache, watch with bookmarks, re-list on 410 Gone,
//! back off on errors). Each re-list ends with a resync, so pods deleted while the watch was down
//! leave the cache and none is duplicated. Also expires retained pods.

use std::collections::HashSet;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Duration;

use gleaner_api::Shutdown;
use k8s_openapi::api::core::v1::Pod;
use kube::runtime::watcher::{self, Event};
use tracing::{debug, info, warn};

use crate::client::{ClientCell, ClientError};
use crate::meta::{AnnotationFilter, PodMeta};
use crate::store::PodCache;
use crate::watcher_loop::{self, Watch, WatchSink};

/// Which pods one watch covers.
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash)]
pub struct PodScope {
    /// Only pods on this node (`fieldSelector=spec.nodeName=<node>`, DaemonSet mode);
    /// `None` watches the whole cluster (standalone mode).
    pub node: Option<String>,
}

/// How often retained (deleted) pods are checked for expiry.
const EXPIRE_EVERY: Duration = Duration::from_secs(10);

/// Warnings about a failing watch are logged at most this often (debug in between).
const WARN_EVERY: Duration = Duration::from_secs(60);

pub(crate) async fn run_pod_watch(
    client: Arc<ClientCell>,
    scope: PodScope,
    cache: Arc<PodCache>,
    annotations: Arc<dyn AnnotationFilter>,
    shutdown: Shutdown,
) {
    let watch = Watch {
        field_selector: scope
            .node
            .as_ref()
            .map(|node| format!("spec.nodeName={node}")),
        every: Some(EXPIRE_EVERY),
    };
    let stats = Arc::clone(&cache.stats);
    let sink = PodSink {
        scope,
        cache,
        annotations,
        listing: HashSet::new(),
        last_warn: None,
    };
    watcher_loop::run::<Pod, _>(client, watch, &stats, sink, shutdown).await;
}

/// The pod cache, as the watch fills it.
struct PodSink {
    scope: PodScope,
    cache: Arc<PodCache>,
    annotations: Arc<dyn AnnotationFilter>,
    /// Uids of the pods of the list in progress.
    listing: HashSet<Arc<str>>,
    last_warn: Option<tokio::time::Instant>,
}

impl PodSink {
    /// Warns at most every [`WARN_EVERY`], debug in between.
    fn warn(&mut self, what: &str, e: &dyn std::fmt::Display) {
        let now = tokio::time::Instant::now();
        if self
            .last_warn
            .is_none_or(|t| now.duration_since(t) >= WARN_EVERY)
        {
            self.last_warn = Some(now);
            warn!(error = %e, "kubernetes: {what}; records pass without metadata until it recovers");
        } else {
            debug!(error = %e, "kubernetes: {what}");
        }
    }
}

impl WatchSink<Pod> for PodSink {
    fn client_failed(&mut self, e: &ClientError) {
        self.warn("cannot make the client", e);
    }

    fn tick(&mut self) {
        self.cache.expire();
    }

    fn event(&mut self, event: Result<Event<Pod>, watcher::Error>) {
        let cache = &self.cache;
        match event {
            Ok(Event::Init) => self.listing.clear(),
            Ok(Event::InitApply(pod)) => {
                if let Some(m) = PodMeta::from_pod(&pod, &*self.annotations) {
                    self.listing.insert(Arc::clone(&m.uid));
                    cache.apply(m);
                }
            }
            Ok(Event::InitDone) => {
                cache.resync(&self.listing);
                self.listing.clear();
                cache.set_connected(true);
                if !cache.is_ready() {
                    let (live, _) = cache.counts();
                    info!(pods = live, node = ?self.scope.node, "kubernetes: pod cache ready");
                }
                cache.set_ready();
            }
            Ok(Event::Apply(pod)) => {
                cache.set_connected(true);
                if let Some(m) = PodMeta::from_pod(&pod, &*self.annotations) {
                    cache.apply(m);
                }
            }
            Ok(Event::Delete(pod)) => {
                if let Some(uid) = pod.metadata.uid.as_deref() {
                    cache.delete(uid);
                }
            }
            Err(e) => {
                cache.set_connected(false);
                cache.stats.watch_errors.fetch_add(1, Ordering::Relaxed);
                self.warn("pod watch failed", &e);
            }
        }
    }
}
