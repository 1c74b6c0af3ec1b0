//! Owner resolution: the one GET per ReplicaSet or Job that owns a pod in the cache, made
//! when the first such pod appears (never per record, never a cluster-wide ReplicaSet watch,
//! never by cutting the hash off a name, which is wrong for bare ReplicaSets and truncated
//! names). A ReplicaSet owned by a Deployment resolves to the Deployment, a Job owned by a
//! CronJob to the CronJob; otherwise to itself. A 404 (already gone) resolves to itself;
//! other failures are retried with backoff (5 s doubling to 5 min) while a pod still needs
//! the answer. Metadata-only GETs (`PartialObjectMetadata`) keep the answers small.

use std::cmp::Reverse;
use std::collections::BinaryHeap;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Duration;

use gleaner_api::Shutdown;
use k8s_openapi::api::apps::v1::ReplicaSet;
use k8s_openapi::api::batch::v1::Job;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
use kube::Api;
use tokio::sync::mpsc;
use tokio::time::Instant;
use tracing::debug;

use crate::client::ClientCell;
use crate::meta::Workload;
use crate::store::{OwnerRequest, PodCache};

const RETRY_FIRST: Duration = Duration::from_secs(5);
const RETRY_MAX: Duration = Duration::from_secs(300);

struct Retry {
    at: Instant,
    delay: Duration,
    seq: u64,
    req: OwnerRequest,
}

impl PartialEq for Retry {
    fn eq(&self, other: &Self) -> bool {
        (self.at, self.seq) == (other.at, other.seq)
    }
}
impl Eq for Retry {}
impl PartialOrd for Retry {
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}
impl Ord for Retry {
    fn cmp(&self, other: &Self) -> std::cmp::Ordering {
        (self.at, self.seq).cmp(&(other.at, other.seq))
    }
}

/// The top owner named by `meta`'s controlling owner reference, else `(kind, name)` itself.
pub(crate) fn top_owner(kind: &str, name: &str, meta: &ObjectMeta) -> Workload {
    let owners = meta.owner_references.as_deref().unwrap_or_default();
    let controller = owners
        .iter()
        .find(|o| o.controller == Some(true))
        .or_else(|| owners.first());
    match controller {
        Some(o) => Workload {
            kind: o.kind.as_str().into(),
            name: o.name.as_str().into(),
        },
        None => Workload {
            kind: kind.into(),
            name: name.into(),
        },
    }
}

enum Outcome {
    Resolved(Workload),
    Failed(String),
}

async fn fetch(client: &kube::Client, req: &OwnerRequest) -> Outcome {
    let (kind, name) = (&*req.owner.kind, &*req.owner.name);
    let meta = match kind {
        "ReplicaSet" => Api::<ReplicaSet>::namespaced(client.clone(), &req.namespace)
            .get_metadata_opt(name)
            .await
            .map(|m| m.map(|m| m.metadata)),
        _ => Api::<Job>::namespaced(client.clone(), &req.namespace)
            .get_metadata_opt(name)
            .await
            .map(|m| m.map(|m| m.metadata)),
    };
    match meta {
        Ok(Some(meta)) => Outcome::Resolved(top_owner(kind, name, &meta)),
        Ok(None) => Outcome::Resolved(Workload {
            kind: kind.into(),
            name: name.into(),
        }),
        Err(e) => Outcome::Failed(e.to_string()),
    }
}

pub(crate) async fn run_owner_resolver(
    client: Arc<ClientCell>,
    cache: Arc<PodCache>,
    mut requests: mpsc::UnboundedReceiver<OwnerRequest>,
    shutdown: Shutdown,
) {
    let mut retries: BinaryHeap<Reverse<Retry>> = BinaryHeap::new();
    let mut seq = 0_u64;
    loop {
        let next_retry = retries.peek().map(|Reverse(r)| r.at);
        let (req, delay) = tokio::select! {
            () = shutdown.wait() => return,
            r = requests.recv() => match r {
                Some(r) => (r, RETRY_FIRST),
                None => return,
            },
            () = sleep_until(next_retry) => match retries.pop() {
                Some(Reverse(r)) => (r.req, (r.delay * 2).min(RETRY_MAX)),
                None => continue,
            },
        };
        if !cache.owner_wanted(&req.owner.uid) {
            continue;
        }
        let outcome = match client.get().await {
            Ok(c) => {
                cache.stats.owner_gets.fetch_add(1, Ordering::Relaxed);
                fetch(&c, &req).await
            }
            Err(e) => Outcome::Failed(e.to_string()),
        };
        match outcome {
            Outcome::Resolved(w) => cache.resolve_owner(&req.owner.uid, w),
            Outcome::Failed(e) => {
                cache.stats.owner_get_errors.fetch_add(1, Ordering::Relaxed);
                debug!(error = %e, kind = %req.owner.kind, name = %req.owner.name,
                    "kubernetes: owner lookup failed; retrying later");
                seq += 1;
                retries.push(Reverse(Retry {
                    at: Instant::now() + delay,
                    delay,
                    seq,
                    req,
                }));
            }
        }
    }
}

async fn sleep_until(at: Option<Instant>) {
    match at {
        Some(at) => tokio::time::sleep_until(at).await,
        None => std::future::pending().await,
    }
}

#[cfg(test)]
mod tests {
    use k8s_openapi::apimachinery::pkg::apis::meta::v1::OwnerReference;

    use super::*;

    fn owned_by(kind: &str, name: &str, controller: Option<bool>) -> ObjectMeta {
        ObjectMeta {
            owner_references: Some(vec![OwnerReference {
                api_version: "apps/v1".into(),
                kind: kind.into(),
                name: name.into(),
                uid: "u".into(),
                controller,
                block_owner_deletion: None,
            }]),
            ..ObjectMeta::default()
        }
    }

    #[test]
    fn replica_set_resolves_to_its_deployment_or_itself() {
        let w = top_owner(
            "ReplicaSet",
            "web-7d9f",
            &owned_by("Deployment", "web", Some(true)),
        );
        assert_eq!((&*w.kind, &*w.name), ("Deployment", "web"));
        let bare = top_owner("ReplicaSet", "web-7d9f", &ObjectMeta::default());
        assert_eq!((&*bare.kind, &*bare.name), ("ReplicaSet", "web-7d9f"));
        let cron = top_owner("Job", "backup-29000", &owned_by("CronJob", "backup", None));
        assert_eq!((&*cron.kind, &*cron.name), ("CronJob", "backup"));
    }
}
