//! `inputs.kubernetes_events`: Kubernetes Events (`events.k8s.io/v1`) as log records, for
//! the standalone poller. One watch per scope (the whole cluster, or each listed namespace)
//! through the shared gleaner-kube client and its watcher loop (list from the watch cache,
//! watch with bookmarks, re-list on 410 Gone, backoff); one record per occurrence: a new
//! event, or a count that grew (`series.count`, or `deprecatedCount` of an event written
//! through core/v1); the same event seen again unchanged (a re-list) sends nothing.
//!
//! No resend after a restart or a 410: what was sent is remembered (recent uids with their
//! counts, and per scope a resource-version watermark; `seen.rs`) in the input's SQLite
//! database (`state.rs`), and each change to that memory is committed only after the batch
//! it came with, and every batch before, was acknowledged by the outputs' buffers
//! (`pending.rs`). A crash between a delivery and its commit sends those events once more
//! (at-least-once). On its very first start the input sends every event the API server
//! still holds (an hour of them by default, `--event-ttl`).
//!
//! The regarding pod's workload (`k8s.workload_kind`, `k8s.workload`) comes from the pod
//! cache of the whole cluster when another plugin runs one (`filters.kubernetes` with
//! `scope = "cluster"`); this input starts none (it needs no pod RBAC), so with the shipped
//! standalone config the workload is omitted. Events about a pod carry `k8s.namespace`,
//! `k8s.pod` and `k8s.pod_uid`, the keys `filters.kubernetes` looks pods up by.
//!
//! `shard` reuses the prometheus input's jump consistent hashing (`prometheus/shard.rs`),
//! by event uid. `--once` sends nothing (a watch has no single gather).
//!
//! Modules: `config.rs`, `record.rs` (event to record), `seen.rs` (what is a new
//! occurrence), `pending.rs` (commits waiting for acknowledgements), `state.rs` (SQLite),
//! `stats.rs`.

mod config;
mod pending;
mod record;
mod seen;
mod state;
mod stats;

#[cfg(test)]
mod tests;

use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use gleaner_api::{
    Batch, BuildContext, ConfigError, Input, InputContext, InputDescriptor, LogRecord,
    PluginConfig, PluginError, RunMode,
};
use gleaner_kube::{EventChange, EventMeta, Hub, PodCache, PodScope};
use tokio::sync::mpsc;
use tokio::time::Instant;

use config::Settings;
use pending::Pending;
use seen::{Commit, Seen, Verdict};
use stats::Stats;

/// Registry entry.
pub const DESCRIPTOR: InputDescriptor = InputDescriptor {
    name: "kubernetes_events",
    summary: "Kubernetes Events (events.k8s.io/v1), cluster-wide or per namespace: one record \
              per occurrence, never resent after a restart or a re-list",
    sample: config::SAMPLE,
    build,
};

/// How long the outcomes of batches in flight may take at shutdown.
const GRACE: Duration = Duration::from_secs(5);

fn build(cfg: &PluginConfig, cx: &BuildContext) -> Result<Box<dyn Input>, ConfigError> {
    let settings = config::parse(cfg, cx)?;
    Ok(Box::new(KubernetesEvents {
        settings,
        hub: Hub::shared(&cx.shared, &cx.shutdown),
    }))
}

/// The built input.
struct KubernetesEvents {
    settings: Settings,
    hub: Arc<Hub>,
}

#[async_trait]
impl Input for KubernetesEvents {
    async fn run(self: Box<Self>, cx: InputContext) -> Result<(), PluginError> {
        if cx.mode == RunMode::Once {
            return Ok(());
        }
        let s = self.settings;
        let (path, remember) = (s.db.clone(), s.remember);
        let (db, loaded) = tokio::task::spawn_blocking(move || {
            let db = state::StateDb::open(&path, remember)?;
            let loaded = db.load();
            Ok::<_, state::StateDbError>((db, loaded))
        })
        .await
        .map_err(|e| PluginError::with_source("state database task failed", e))?
        .map_err(|e| PluginError::with_source("cannot open the state database", e))?;
        let loaded = loaded.unwrap_or_else(|e| {
            tracing::error!(error = %e, "cannot read the state database: starting empty");
            state::Loaded::default()
        });
        let seen = Seen::new(loaded.uids, loaded.watermarks, s.remember);
        tracing::info!(input = %cx.id, remembered = seen.len(), scopes = s.scopes.len(),
            "kubernetes events: watching");
        let (rx, watch_stats) =
            self.hub
                .watch_events(&s.client, &s.scopes, s.batch_size.saturating_mul(2));
        let stats = Arc::new(Stats::new(watch_stats));
        cx.metrics.set_plugin_stats(Arc::clone(&stats) as _);
        let (db_tx, db_thread) = state::spawn(db, Arc::clone(&stats))
            .map_err(|e| PluginError::with_source("cannot start the state database thread", e))?;
        let mut run = Run {
            hub: self.hub,
            settings: s,
            seen,
            pending: Pending::default(),
            pods: None,
            records: Vec::new(),
            commits: Vec::new(),
            stats,
            db: db_tx,
            last_warn: None,
        };
        run.run(cx, rx).await;
        drop(run);
        if tokio::task::spawn_blocking(move || db_thread.join())
            .await
            .is_err()
        {
            tracing::error!("kubernetes events state database thread failed");
        }
        Ok(())
    }
}

/// The running input.
struct Run {
    hub: Arc<Hub>,
    settings: Settings,
    seen: Seen,
    pending: Pending,
    /// The cluster-wide pod cache, once another plugin has started it.
    pods: Option<Arc<PodCache>>,
    records: Vec<LogRecord>,
    commits: Vec<Commit>,
    stats: Arc<Stats>,
    db: std::sync::mpsc::Sender<Vec<Commit>>,
    last_warn: Option<Instant>,
}

/// The database key of a scope: `""` for the cluster.
fn scope_key(scope: Option<&Arc<str>>) -> &str {
    scope.map_or("", |s| s)
}

impl Run {
    async fn run(&mut self, mut cx: InputContext, mut rx: mpsc::Receiver<EventChange>) {
        loop {
            tokio::select! {
                biased;
                Some(ack) = cx.acks.recv() => {
                    self.pending.settle(ack);
                    self.commit();
                }
                () = cx.shutdown.wait() => break,
                change = rx.recv() => {
                    let Some(change) = change else { break };
                    self.handle(change);
                    while self.records.len() < self.settings.batch_size {
                        match rx.try_recv() {
                            Ok(c) => self.handle(c),
                            Err(_) => break,
                        }
                    }
                    if !self.flush(&mut cx).await {
                        break;
                    }
                }
            }
        }
        // Wait for what is in flight, then commit.
        let deadline = Instant::now() + GRACE;
        while !self.pending.settled() {
            tokio::select! {
                Some(ack) = cx.acks.recv() => self.pending.settle(ack),
                () = tokio::time::sleep_until(deadline) => {
                    tracing::warn!(batches = self.pending.in_flight(),
                        "kubernetes events: acknowledgements outstanding at stop; those events will be sent again");
                    break;
                }
            }
        }
        self.commit();
    }

    /// Hands the released commits to the database thread.
    fn commit(&mut self) {
        let ready = self.pending.take_ready();
        if !ready.is_empty() && self.db.send(ready).is_err() {
            tracing::error!(
                "kubernetes events state database thread is gone: nothing is remembered"
            );
        }
    }

    /// The scope `e` belongs to.
    fn scope_of(&self, e: &EventMeta) -> Box<str> {
        match self.settings.scopes.as_slice() {
            [None] => "".into(),
            _ => e.namespace.clone(),
        }
    }

    fn handle(&mut self, change: EventChange) {
        match change {
            EventChange::Relist { scope } => self.seen.begin_list(scope_key(scope.as_ref())),
            EventChange::ListDone { scope } => {
                self.seen
                    .end_list(scope_key(scope.as_ref()), &mut self.commits);
                Stats::bump(&self.stats.lists);
            }
            EventChange::Listed(e) | EventChange::Changed(e) => self.event(&e),
            EventChange::Deleted { uid } => self.seen.forget(&uid, &mut self.commits),
            EventChange::Failed(why) => {
                let now = Instant::now();
                if self
                    .last_warn
                    .is_none_or(|t| now.duration_since(t) >= Duration::from_secs(60))
                {
                    self.last_warn = Some(now);
                    tracing::warn!(error = %why, "kubernetes events: watch failed; retrying with backoff");
                } else {
                    tracing::debug!(error = %why, "kubernetes events: watch failed");
                }
            }
        }
    }

    fn event(&mut self, e: &EventMeta) {
        if let Some(shard) = &self.settings.shard {
            let bucket = crate::prometheus::shard::jump(
                crate::prometheus::shard::identity_hash(&e.uid),
                shard.total,
            );
            if bucket != shard.index {
                Stats::bump(&self.stats.other_shard);
                return;
            }
        }
        let scope = self.scope_of(e);
        match self.seen.observe(&scope, e, &mut self.commits) {
            Verdict::Send => {
                if self.pods.is_none() {
                    self.pods = self
                        .hub
                        .running_pods(&self.settings.client, &PodScope::default());
                }
                let workload = self.pods.as_ref().and_then(|p| record::workload_of(p, e));
                self.records.push(record::to_record(
                    e,
                    gleaner_api::now_ns(),
                    workload.as_ref(),
                ));
            }
            Verdict::Known => Stats::bump(&self.stats.unchanged),
            Verdict::BelowWatermark => Stats::bump(&self.stats.below_watermark),
        }
        self.stats.set_remembered(self.seen.len());
    }

    /// Sends the records gathered (with their commits); commits without records wait only
    /// for the batches before them. False when the pipeline is gone or the input stops.
    async fn flush(&mut self, cx: &mut InputContext) -> bool {
        let commits = std::mem::take(&mut self.commits);
        if self.records.is_empty() {
            self.pending.register_settled(commits);
            self.commit();
            return true;
        }
        let records = std::mem::take(&mut self.records);
        let n = records.len() as u64;
        cx.metrics.received(n, 0);
        let id = self.pending.register(commits);
        let token = cx.acks.token(id);
        tokio::select! {
            r = cx.out.send_with_ack(Batch::Logs(records), Some(token)) => r.is_ok(),
            // Not taken: the token fails and nothing after it is committed.
            () = cx.shutdown.wait() => false,
        }
    }
}

/// This plugin's sample check (run for every registered plugin from `src/sample_checks.rs`):
/// each option the sample shows at its default is the real default.
#[cfg(test)]
pub(crate) fn check_sample() {
    gleaner_api::test_util::sample::assert_sample::<config::KubernetesEventsConfig>(
        "inputs.kubernetes_events.0",
        DESCRIPTOR.sample,
        &["kubeconfig", "shard"],
        &[
            ("SHARD_INDEX", "0"),
            ("SHARD_TOTAL", "2"),
            ("POD_NAME", "gleaner-poller-0"),
        ],
    );
}
