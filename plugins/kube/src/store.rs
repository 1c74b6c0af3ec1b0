//! The pod cache one watch fills and every plugin reads: pods by uid (and by namespace and
//! name, newest first), deleted pods kept for a while, the resolved workload of each owner,
//! readiness of the first list, and a change feed for discovery.
//!
//! Lookups are synchronous (a read lock, no I/O): the filter calls them on the ingest path.
//! A deleted pod stays while its records keep coming, and at least `retention` after its
//! deletion or its last lookup, so the last lines of a dying pod are enriched; a pod
//! recreated with the same name has another uid and so its own entry.

use std::collections::{HashMap, VecDeque};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, PoisonError, RwLock};
use std::time::Duration;

use tokio::sync::{broadcast, mpsc, watch};
use tokio::time::Instant;

use crate::meta::{OwnerRef, PodMeta, Workload};

mod update;

/// A change to the cache, for discovery (prometheus targets).
#[derive(Debug, Clone)]
pub enum PodChange {
    /// A pod appeared or changed.
    Applied(Arc<PodMeta>),
    /// A pod is gone (deleted, or absent from a re-list).
    Deleted(Arc<PodMeta>),
    /// A re-list finished: [`PodCache::live_pods`] is now the whole set.
    Resynced,
}

/// What a lookup found.
#[derive(Debug, Clone)]
pub struct Found {
    /// The pod.
    pub pod: Arc<PodMeta>,
    /// Its top owner, once resolved (`None` while its ReplicaSet or Job is being fetched).
    pub workload: Option<Workload>,
    /// The pod was deleted and is kept for its last records.
    pub deleted: bool,
}

/// A request to resolve an owner (a ReplicaSet or Job) to its own owner.
#[derive(Debug, Clone)]
pub(crate) struct OwnerRequest {
    pub(crate) namespace: Arc<str>,
    pub(crate) owner: OwnerRef,
}

struct Entry {
    pod: Arc<PodMeta>,
    /// When it was deleted, if it was; refreshed by each lookup while deleted.
    deleted_at: Option<Instant>,
}

#[derive(Default)]
struct OwnerState {
    /// Pods (live or retained) that refer to this owner.
    refs: usize,
    /// The top owner, once fetched.
    resolved: Option<Workload>,
}

#[derive(Default)]
struct Index {
    by_uid: HashMap<Arc<str>, Entry>,
    /// `namespace/name` → uid of the newest pod of that name.
    by_name: HashMap<Box<str>, Arc<str>>,
    /// Deleted uids, oldest first (an entry may have been revived or refreshed since).
    deleted: VecDeque<Arc<str>>,
    owners: HashMap<Arc<str>, OwnerState>,
    heap_bytes: usize,
}

/// The pod cache of one watch.
pub struct PodCache {
    index: RwLock<Index>,
    retention: Duration,
    ready: watch::Sender<bool>,
    connected: AtomicBool,
    changes: broadcast::Sender<PodChange>,
    owner_requests: mpsc::UnboundedSender<OwnerRequest>,
    pub(crate) stats: Arc<CacheStats>,
}

/// Counters of one cache (exported by the plugins that use it).
#[derive(Debug, Default)]
pub struct CacheStats {
    /// Watch events applied.
    pub events: AtomicU64,
    /// Watch (re)starts: the first list and every re-list.
    pub relists: AtomicU64,
    /// Watch errors (connection refused, 5xx, 410 Gone before its re-list).
    pub watch_errors: AtomicU64,
    /// Owner GETs sent (one per ReplicaSet or Job first seen, and their retries).
    pub owner_gets: AtomicU64,
    /// Owner GETs that failed (retried later).
    pub owner_get_errors: AtomicU64,
}

impl std::fmt::Debug for PodCache {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let (live, retained) = self.counts();
        f.debug_struct("PodCache")
            .field("live", &live)
            .field("retained", &retained)
            .field("ready", &self.is_ready())
            .finish()
    }
}

fn key(namespace: &str, name: &str) -> Box<str> {
    let mut k = String::with_capacity(namespace.len() + name.len() + 1);
    k.push_str(namespace);
    k.push('/');
    k.push_str(name);
    k.into_boxed_str()
}

/// Whether resolving `owner` needs a GET (its own owner decides the workload).
fn needs_resolution(owner: &OwnerRef) -> bool {
    matches!(&*owner.kind, "ReplicaSet" | "Job")
}

impl PodCache {
    pub(crate) fn new(
        retention: Duration,
        owner_requests: mpsc::UnboundedSender<OwnerRequest>,
    ) -> PodCache {
        PodCache {
            index: RwLock::new(Index::default()),
            retention,
            ready: watch::channel(false).0,
            connected: AtomicBool::new(false),
            changes: broadcast::channel(1024).0,
            owner_requests,
            stats: Arc::new(CacheStats::default()),
        }
    }

    /// The pod with `uid`, live or retained.
    pub fn by_uid(&self, uid: &str) -> Option<Found> {
        self.find(|ix| ix.by_uid.get_key_value(uid).map(|(k, _)| Arc::clone(k)))
    }

    /// The newest pod named `name` in `namespace`, live or retained.
    pub fn by_name(&self, namespace: &str, name: &str) -> Option<Found> {
        let k = key(namespace, name);
        self.find(|ix| ix.by_name.get(&k).cloned())
    }

    fn find(&self, uid: impl FnOnce(&Index) -> Option<Arc<str>>) -> Option<Found> {
        let (found, refresh) = {
            let ix = self.index.read().unwrap_or_else(PoisonError::into_inner);
            let uid = uid(&ix)?;
            let e = ix.by_uid.get(&uid)?;
            let workload = workload_of(&ix, &e.pod);
            let deleted = e.deleted_at.is_some();
            let found = Found {
                pod: Arc::clone(&e.pod),
                workload,
                deleted,
            };
            // A retained pod whose records still come is kept longer: refresh at most once
            // a second so the write lock stays rare.
            let stale = e
                .deleted_at
                .is_some_and(|t| t.elapsed() > Duration::from_secs(1));
            (found, stale.then_some(uid))
        };
        if let Some(uid) = refresh {
            let mut ix = self.index.write().unwrap_or_else(PoisonError::into_inner);
            if let Some(e) = ix.by_uid.get_mut(&uid)
                && e.deleted_at.is_some()
            {
                e.deleted_at = Some(Instant::now());
            }
        }
        Some(found)
    }

    /// Every live (not deleted) pod.
    pub fn live_pods(&self) -> Vec<Arc<PodMeta>> {
        let ix = self.index.read().unwrap_or_else(PoisonError::into_inner);
        ix.by_uid
            .values()
            .filter(|e| e.deleted_at.is_none())
            .map(|e| Arc::clone(&e.pod))
            .collect()
    }

    /// Subscribes to changes from now on (call [`PodCache::live_pods`] after subscribing).
    pub fn subscribe(&self) -> broadcast::Receiver<PodChange> {
        self.changes.subscribe()
    }

    /// Whether the first list has completed.
    pub fn is_ready(&self) -> bool {
        *self.ready.borrow()
    }

    /// Waits until the first list completes, at most `timeout`; returns whether it did.
    pub async fn wait_ready(&self, timeout: Duration) -> bool {
        let mut rx = self.ready.subscribe();
        tokio::time::timeout(timeout, rx.wait_for(|r| *r))
            .await
            .is_ok_and(|r| r.is_ok())
    }

    /// Whether the watch is currently connected and current.
    pub fn is_connected(&self) -> bool {
        self.connected.load(Ordering::Relaxed)
    }

    /// Pods cached (live, retained).
    pub fn counts(&self) -> (usize, usize) {
        let ix = self.index.read().unwrap_or_else(PoisonError::into_inner);
        let retained = ix
            .by_uid
            .values()
            .filter(|e| e.deleted_at.is_some())
            .count();
        (ix.by_uid.len() - retained, retained)
    }

    /// Approximate heap bytes of the cached pods.
    pub fn heap_bytes(&self) -> usize {
        self.index
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .heap_bytes
    }

    /// The counters.
    pub fn stats(&self) -> &CacheStats {
        &self.stats
    }

    pub(crate) fn set_connected(&self, up: bool) {
        self.connected.store(up, Ordering::Relaxed);
    }

    pub(crate) fn set_ready(&self) {
        self.ready.send_replace(true);
    }

    /// Owners held (for the memory figures).
    pub fn owners_cached(&self) -> usize {
        self.index
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .owners
            .len()
    }
}

fn workload_of(ix: &Index, pod: &PodMeta) -> Option<Workload> {
    match &pod.owner {
        None => Some(Workload {
            kind: "Pod".into(),
            name: (*pod.name).into(),
        }),
        Some(o) => ix.owners.get(&o.uid).and_then(|st| st.resolved.clone()),
    }
}

/// Filling a cache by hand, for plugin unit tests (no API server).
#[cfg(feature = "test-util")]
impl PodCache {
    /// A cache no watch feeds; owner lookups it asks for go nowhere.
    pub fn detached(retention: Duration) -> PodCache {
        PodCache::new(retention, mpsc::unbounded_channel().0)
    }

    /// As if the watch reported `pod` added or changed.
    pub fn insert(&self, pod: PodMeta) {
        self.apply(pod);
    }

    /// As if the watch reported the pod with `uid` deleted.
    pub fn remove(&self, uid: &str) {
        self.delete(uid);
    }

    /// As if the owner lookup for `owner_uid` answered `top`.
    pub fn set_workload(&self, owner_uid: &str, top: Workload) {
        self.resolve_owner(owner_uid, top);
    }

    /// As if the first list completed.
    pub fn mark_ready(&self) {
        self.set_connected(true);
        self.set_ready();
    }
}
