//! The pod watch task: list (from the API server's watch cache, `resourceVersion=0`) then
//! watch with bookmarks, through kube's watcher, which re-lists on 410 Gone and resumes from
//! the last bookmark otherwise; errors back off (kube's default: 0.8 s doubling to 30 s,
//! jittered). Each re-list ends with a resync, so pods deleted while the watch was down
//! leave the cache and none is duplicated. Also expires retained pods.

use std::collections::HashSet;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Duration;

use futures_util::StreamExt as _;
use gleaner_api::Shutdown;
use k8s_openapi::api::core::v1::Pod;
use kube::Api;
use kube::runtime::WatchStreamExt as _;
use kube::runtime::watcher::{self, Event};
use tracing::{debug, info, warn};

use crate::client::ClientCell;
use crate::meta::{AnnotationFilter, PodMeta};
use crate::store::PodCache;

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
    let mut last_warn: Option<tokio::time::Instant> = None;
    let mut warn = |what: &str, e: &dyn std::fmt::Display| {
        let now = tokio::time::Instant::now();
        if last_warn.is_none_or(|t| now.duration_since(t) >= WARN_EVERY) {
            last_warn = Some(now);
            warn!(error = %e, "kubernetes: {what}; records pass without metadata until it recovers");
        } else {
            debug!(error = %e, "kubernetes: {what}");
        }
    };
    let Some(client) = client
        .wait(&shutdown, &cache.stats.watch_errors, |e| {
            warn("cannot make the client", e);
        })
        .await
    else {
        return;
    };
    let api: Api<Pod> = Api::all(client);
    let mut config = watcher::Config::default().any_semantic();
    // kube sends `resourceVersion=0` (a list served from the API server's watch cache, not a
    // quorum read from etcd) only for unpaged lists; the watch cache answers in one page.
    config.page_size = None;
    if let Some(node) = &scope.node {
        config = config.fields(&format!("spec.nodeName={node}"));
    }
    let stream = watcher::watcher(api, config).default_backoff();
    let mut stream = std::pin::pin!(stream);
    let mut expire = tokio::time::interval(EXPIRE_EVERY);
    expire.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Skip);
    let mut listing: HashSet<Arc<str>> = HashSet::new();
    loop {
        let event = tokio::select! {
            () = shutdown.wait() => return,
            _ = expire.tick() => {
                cache.expire();
                continue;
            }
            e = stream.next() => e,
        };
        let Some(event) = event else { return };
        match event {
            Ok(Event::Init) => listing.clear(),
            Ok(Event::InitApply(pod)) => {
                if let Some(m) = PodMeta::from_pod(&pod, &*annotations) {
                    listing.insert(Arc::clone(&m.uid));
                    cache.apply(m);
                }
            }
            Ok(Event::InitDone) => {
                cache.resync(&listing);
                listing.clear();
                cache.set_connected(true);
                if !cache.is_ready() {
                    let (live, _) = cache.counts();
                    info!(pods = live, node = ?scope.node, "kubernetes: pod cache ready");
                }
                cache.set_ready();
            }
            Ok(Event::Apply(pod)) => {
                cache.set_connected(true);
                if let Some(m) = PodMeta::from_pod(&pod, &*annotations) {
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
                warn("pod watch failed", &e);
            }
        }
    }
}
