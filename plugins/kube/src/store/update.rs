//! How the pod watch changes the cache: pods applied, deleted (kept, flagged), re-listed,
//! expired, and owners counted and resolved.

use std::collections::{HashSet, VecDeque};
use std::sync::atomic::Ordering;
use std::sync::{Arc, PoisonError};

use tokio::time::Instant;

use super::{Entry, Index, OwnerRequest, PodCache, PodChange, key, needs_resolution};
use crate::meta::{PodMeta, Workload};

impl PodCache {
    /// A pod was added or changed.
    pub(crate) fn apply(&self, pod: PodMeta) {
        self.stats.events.fetch_add(1, Ordering::Relaxed);
        let mut ix = self.index.write().unwrap_or_else(PoisonError::into_inner);
        if let Some(e) = ix.by_uid.get(&pod.uid)
            && e.deleted_at.is_none()
            && e.pod.resource_version == pod.resource_version
        {
            return;
        }
        let pod = Arc::new(pod);
        let old = ix.by_uid.insert(
            Arc::clone(&pod.uid),
            Entry {
                pod: Arc::clone(&pod),
                deleted_at: None,
            },
        );
        ix.heap_bytes += pod.heap_bytes();
        ix.by_name
            .insert(key(&pod.namespace, &pod.name), Arc::clone(&pod.uid));
        if let Some(o) = &pod.owner {
            let st = ix.owners.entry(Arc::clone(&o.uid)).or_default();
            st.refs += 1;
            if st.refs == 1 && st.resolved.is_none() {
                if needs_resolution(o) {
                    let _closed = self.owner_requests.send(OwnerRequest {
                        namespace: Arc::clone(&pod.namespace),
                        owner: o.clone(),
                    });
                } else {
                    st.resolved = Some(Workload {
                        kind: o.kind.clone(),
                        name: o.name.clone(),
                    });
                }
            }
        }
        // Released after the new reference is counted, so an unchanged owner keeps its
        // resolution (no second GET on every MODIFIED).
        if let Some(old) = &old {
            ix.heap_bytes = ix.heap_bytes.saturating_sub(old.pod.heap_bytes());
            release_owner(&mut ix, &old.pod);
        }
        drop(ix);
        let _no_subscribers = self.changes.send(PodChange::Applied(pod));
    }

    /// A pod was deleted: kept (flagged) for its last records.
    pub(crate) fn delete(&self, uid: &str) {
        self.stats.events.fetch_add(1, Ordering::Relaxed);
        let mut ix = self.index.write().unwrap_or_else(PoisonError::into_inner);
        let Some((uid, e)) = ix.by_uid.get_key_value(uid) else {
            return;
        };
        if e.deleted_at.is_some() {
            return;
        }
        let uid = Arc::clone(uid);
        let pod = Arc::clone(&e.pod);
        if let Some(e) = ix.by_uid.get_mut(&uid) {
            e.deleted_at = Some(Instant::now());
        }
        ix.deleted.push_back(uid);
        drop(ix);
        let _no_subscribers = self.changes.send(PodChange::Deleted(pod));
    }

    /// A re-list completed with exactly `seen` live: every other live pod was deleted while
    /// the watch was down.
    pub(crate) fn resync(&self, seen: &HashSet<Arc<str>>) {
        // Counted first: a reader that sees the re-list's deletions sees the re-list counted.
        self.stats.relists.fetch_add(1, Ordering::Relaxed);
        let gone: Vec<Arc<str>> = {
            let ix = self.index.read().unwrap_or_else(PoisonError::into_inner);
            ix.by_uid
                .iter()
                .filter(|(uid, e)| e.deleted_at.is_none() && !seen.contains(*uid))
                .map(|(uid, _)| Arc::clone(uid))
                .collect()
        };
        for uid in gone {
            self.delete(&uid);
        }
        let _no_subscribers = self.changes.send(PodChange::Resynced);
    }

    /// Drops retained pods whose retention ran out.
    pub fn expire(&self) {
        let now = Instant::now();
        let mut ix = self.index.write().unwrap_or_else(PoisonError::into_inner);
        let mut keep = VecDeque::new();
        while let Some(uid) = ix.deleted.pop_front() {
            let Some(e) = ix.by_uid.get(&uid) else {
                continue;
            };
            match e.deleted_at {
                None => {}
                Some(t) if now.duration_since(t) < self.retention => keep.push_back(uid),
                Some(_) => {
                    if let Some(e) = ix.by_uid.remove(&uid) {
                        ix.heap_bytes = ix.heap_bytes.saturating_sub(e.pod.heap_bytes());
                        let k = key(&e.pod.namespace, &e.pod.name);
                        if ix.by_name.get(&k).is_some_and(|u| *u == uid) {
                            ix.by_name.remove(&k);
                        }
                        release_owner(&mut ix, &e.pod);
                    }
                }
            }
        }
        ix.deleted = keep;
    }

    /// An owner's top owner was fetched.
    pub(crate) fn resolve_owner(&self, uid: &str, top: Workload) {
        let mut ix = self.index.write().unwrap_or_else(PoisonError::into_inner);
        if let Some(st) = ix.owners.get_mut(uid) {
            st.resolved = Some(top);
        }
    }

    /// Whether an owner is still referenced (a retry is worth it).
    pub(crate) fn owner_wanted(&self, uid: &str) -> bool {
        let ix = self.index.read().unwrap_or_else(PoisonError::into_inner);
        ix.owners
            .get(uid)
            .is_some_and(|st| st.refs > 0 && st.resolved.is_none())
    }
}

fn release_owner(ix: &mut Index, pod: &PodMeta) {
    if let Some(o) = &pod.owner
        && let Some(st) = ix.owners.get_mut(&o.uid)
    {
        st.refs = st.refs.saturating_sub(1);
        if st.refs == 0 {
            ix.owners.remove(&o.uid);
        }
    }
}
