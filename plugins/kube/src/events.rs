//! Kubernetes Events (`events.k8s.io/v1`), for the `kubernetes_events` input: the fields a
//! log record needs ([`EventMeta`]) and one watch per scope (the cluster, or one namespace)
//! through the shared watcher loop (list from the watch cache, watch with bookmarks, re-list
//! on 410 Gone, back off on errors), handed on as [`EventChange`]s over a bounded channel:
//! while the input cannot take more, the watch stream is not read.
//!
//! Events written through the older core/v1 API (the kubelet's recorder still does) appear
//! here with `deprecatedCount`, `deprecatedFirstTimestamp`, `deprecatedLastTimestamp` and
//! `deprecatedSource` instead of `series`, `eventTime` and `reportingController`; both
//! shapes give the same [`EventMeta`].
//!
//! RBAC: `list` and `watch` on `events` (`events.k8s.io`), cluster-wide or in each watched
//! namespace.

use std::sync::Arc;
use std::sync::atomic::Ordering;

use gleaner_api::Shutdown;
use k8s_openapi::api::events::v1::Event;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{MicroTime, Time};
use kube::Api;
use kube::runtime::watcher;
use tokio::sync::mpsc;
use tracing::debug;

use crate::client::{ClientCell, ClientError};
use crate::store::CacheStats;
use crate::watcher_loop::{self, Watch, WatchSink};

/// The object an event is about (`regarding`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ObjectRef {
    /// `kind` (`Pod`, `Node`, `Deployment`, ...).
    pub kind: Option<Box<str>>,
    /// `namespace` (none for cluster-scoped objects).
    pub namespace: Option<Box<str>>,
    /// `name`.
    pub name: Option<Box<str>>,
    /// `uid`.
    pub uid: Option<Box<str>>,
    /// `fieldPath` (`spec.containers{app}`).
    pub field_path: Option<Box<str>>,
}

/// One Event, as the input needs it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct EventMeta {
    /// `metadata.uid`.
    pub uid: Box<str>,
    /// `metadata.namespace`.
    pub namespace: Box<str>,
    /// `metadata.name`.
    pub name: Box<str>,
    /// `metadata.resourceVersion` when it is a whole number (it is, from etcd; the API calls
    /// it opaque, so a version that is not is kept as `None` and never compared).
    pub resource_version: Option<u64>,
    /// `reason` (`BackOff`, `Scheduled`).
    pub reason: Option<Box<str>>,
    /// `type` (`Normal`, `Warning`).
    pub event_type: Option<Box<str>>,
    /// `note`: the human-readable message.
    pub note: Option<Box<str>>,
    /// `action` (`Binding`, `Pulling`).
    pub action: Option<Box<str>>,
    /// `regarding`.
    pub regarding: ObjectRef,
    /// `reportingController`, else `deprecatedSource.component`.
    pub reporting_controller: Option<Box<str>>,
    /// `reportingInstance`, else `deprecatedSource.host`.
    pub reporting_instance: Option<Box<str>>,
    /// Occurrences so far: `series.count`, else `deprecatedCount`, else 1.
    pub count: u32,
    /// `eventTime` (first observed), in ns since the epoch.
    pub event_time: Option<i64>,
    /// `series.lastObservedTime`, else `deprecatedLastTimestamp`, in ns.
    pub last_observed: Option<i64>,
    /// `deprecatedFirstTimestamp`, else `metadata.creationTimestamp`, in ns.
    pub first_seen: Option<i64>,
}

fn micro_ns(t: &MicroTime) -> Option<i64> {
    i64::try_from(t.0.as_nanosecond()).ok()
}

fn time_ns(t: &Time) -> Option<i64> {
    i64::try_from(t.0.as_nanosecond()).ok()
}

fn text(s: Option<&String>) -> Option<Box<str>> {
    s.filter(|s| !s.is_empty()).map(|s| s.as_str().into())
}

impl EventMeta {
    /// The fields of `e`; `None` without a uid (the API always sets one).
    pub fn from_event(e: &Event) -> Option<EventMeta> {
        let m = &e.metadata;
        let source = e.deprecated_source.as_ref();
        let regarding = e
            .regarding
            .as_ref()
            .map(|r| ObjectRef {
                kind: text(r.kind.as_ref()),
                namespace: text(r.namespace.as_ref()),
                name: text(r.name.as_ref()),
                uid: text(r.uid.as_ref()),
                field_path: text(r.field_path.as_ref()),
            })
            .unwrap_or_default();
        let count = match (&e.series, e.deprecated_count) {
            (Some(s), _) => s.count,
            (None, Some(c)) => c,
            (None, None) => 1,
        };
        Some(EventMeta {
            uid: text(m.uid.as_ref())?,
            namespace: text(m.namespace.as_ref()).unwrap_or_default(),
            name: text(m.name.as_ref()).unwrap_or_default(),
            resource_version: m.resource_version.as_deref().and_then(|v| v.parse().ok()),
            reason: text(e.reason.as_ref()),
            event_type: text(e.type_.as_ref()),
            note: text(e.note.as_ref()),
            action: text(e.action.as_ref()),
            regarding,
            reporting_controller: text(e.reporting_controller.as_ref())
                .or_else(|| text(source.and_then(|s| s.component.as_ref()))),
            reporting_instance: text(e.reporting_instance.as_ref())
                .or_else(|| text(source.and_then(|s| s.host.as_ref()))),
            count: u32::try_from(count.max(1)).unwrap_or(1),
            event_time: e.event_time.as_ref().and_then(micro_ns),
            last_observed: e
                .series
                .as_ref()
                .and_then(|s| micro_ns(&s.last_observed_time))
                .or_else(|| e.deprecated_last_timestamp.as_ref().and_then(time_ns)),
            first_seen: e
                .deprecated_first_timestamp
                .as_ref()
                .and_then(time_ns)
                .or_else(|| m.creation_timestamp.as_ref().and_then(time_ns)),
        })
    }

    /// Parses one Event object as the API writes it (JSON); `Ok(None)` without a uid.
    ///
    /// # Errors
    /// When the text is not an Event.
    pub fn from_json(json: &[u8]) -> Result<Option<EventMeta>, serde_json::Error> {
        let e: Event = serde_json::from_slice(json)?;
        Ok(EventMeta::from_event(&e))
    }

    /// When it last happened: the last observation, else its first, else its creation.
    pub fn time(&self) -> Option<i64> {
        self.last_observed.or(self.event_time).or(self.first_seen)
    }
}

/// What one event watch saw, in order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum EventChange {
    /// A list (the first, or a re-list after 410 Gone) begins in `scope`; the events up to
    /// [`EventChange::ListDone`] are every event of the scope now.
    Relist {
        /// The watched namespace, `None` for the cluster.
        scope: Option<Arc<str>>,
    },
    /// One event of the list in progress.
    Listed(EventMeta),
    /// The list of `scope` is complete; watching follows.
    ListDone {
        /// The watched namespace, `None` for the cluster.
        scope: Option<Arc<str>>,
    },
    /// An event was created or changed.
    Changed(EventMeta),
    /// An event was deleted.
    Deleted {
        /// Its uid.
        uid: Box<str>,
    },
    /// The watch failed (or no client could be made); it is retried with backoff.
    Failed(String),
}

/// Starts the watch of every event in `scope` (a namespace; `None`: the cluster) into `tx`.
pub(crate) fn spawn_event_watch(
    client: Arc<ClientCell>,
    scope: Option<Arc<str>>,
    tx: mpsc::Sender<EventChange>,
    stats: Arc<CacheStats>,
    shutdown: Shutdown,
) {
    tokio::spawn(async move {
        let sink = EventSink {
            scope: scope.clone(),
            tx,
            permit: None,
            stats: Arc::clone(&stats),
        };
        match scope {
            Some(ns) => {
                let api = move |c| Api::<Event>::namespaced(c, &ns);
                watcher_loop::run_with(client, api, Watch::default(), &stats, sink, shutdown).await;
            }
            None => {
                watcher_loop::run::<Event, _>(client, Watch::default(), &stats, sink, shutdown)
                    .await;
            }
        }
    });
}

/// Hands each change to the input, holding the watch while the channel is full.
struct EventSink {
    scope: Option<Arc<str>>,
    tx: mpsc::Sender<EventChange>,
    permit: Option<mpsc::OwnedPermit<EventChange>>,
    stats: Arc<CacheStats>,
}

impl EventSink {
    fn send(&mut self, change: EventChange) {
        match self.permit.take() {
            Some(p) => {
                p.send(change);
            }
            // Before the first `ready` (a client error while waiting for one): no wait.
            None => {
                if let Err(e) = self.tx.try_send(change) {
                    debug!(error = %e, "kubernetes events: change not handed on");
                }
            }
        }
    }
}

impl WatchSink<Event> for EventSink {
    fn client_failed(&mut self, e: &ClientError) {
        self.send(EventChange::Failed(e.to_string()));
    }

    async fn ready(&mut self) {
        if self.permit.is_none() {
            match self.tx.clone().reserve_owned().await {
                Ok(p) => self.permit = Some(p),
                // The input stopped: wait for the shutdown that stops this loop too.
                Err(_) => std::future::pending::<()>().await,
            }
        }
    }

    fn event(&mut self, event: Result<watcher::Event<Event>, watcher::Error>) {
        self.stats.events.fetch_add(1, Ordering::Relaxed);
        match &event {
            Ok(watcher::Event::InitDone) => {
                self.stats.relists.fetch_add(1, Ordering::Relaxed);
            }
            Err(_) => {
                self.stats.watch_errors.fetch_add(1, Ordering::Relaxed);
            }
            Ok(_) => {}
        }
        let change = match event {
            Ok(watcher::Event::Init) => EventChange::Relist {
                scope: self.scope.clone(),
            },
            Ok(watcher::Event::InitApply(e)) => match EventMeta::from_event(&e) {
                Some(m) => EventChange::Listed(m),
                None => return,
            },
            Ok(watcher::Event::InitDone) => EventChange::ListDone {
                scope: self.scope.clone(),
            },
            Ok(watcher::Event::Apply(e)) => match EventMeta::from_event(&e) {
                Some(m) => EventChange::Changed(m),
                None => return,
            },
            Ok(watcher::Event::Delete(e)) => match e.metadata.uid {
                Some(uid) => EventChange::Deleted { uid: uid.into() },
                None => return,
            },
            Err(e) => EventChange::Failed(e.to_string()),
        };
        self.send(change);
    }
}

#[cfg(test)]
mod tests;
