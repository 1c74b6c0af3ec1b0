//! [`Running::stop`]: stopping the whole pipeline in order, within `shutdown_timeout`.

use std::sync::Arc;

use gleaner_api::{ComponentMetrics, PluginId};
use tracing::{error, warn};

use super::{ABANDONED, ABORT_GRACE, Running, stop_input};

impl Running {
    /// Stops inputs, drains, flushes; gives up on whatever is left after `shutdown_timeout`.
    /// Returns true when everything drained in time.
    pub async fn stop(self) -> bool {
        let Running {
            inputs,
            outputs,
            retiring,
            router,
            updates,
            tx,
            filter_shutdown,
            config,
            ..
        } = self;
        let shutdown_timeout = config.agent.shutdown_timeout.get();
        for i in &inputs {
            i.stop.trigger();
        }
        for o in &outputs {
            o.stopping.trigger();
        }
        drop(tx);
        drop(updates);
        let deadline = tokio::time::Instant::now() + shutdown_timeout;
        // Abandoned events are counted under `shutdown_timeout` (by the workers and the
        // router) only while stopping: what is added from here on is this stop's.
        let counted: Vec<(PluginId, Arc<ComponentMetrics>, u64)> = outputs
            .iter()
            .map(|o| {
                (
                    Arc::clone(&o.id),
                    Arc::clone(&o.metrics),
                    o.metrics.dropped_count(ABANDONED),
                )
            })
            .collect();
        let mut clean = true;
        for i in inputs {
            clean &= stop_input(i, deadline).await;
        }
        // Inputs are gone, so their senders are dropped and the router drains and closes the
        // queues; the workers drain the queues. The triggers live until the end (a dropped
        // trigger reads as fired).
        let mut triggers = Vec::new();
        let mut tasks = Vec::new();
        for o in outputs {
            triggers.push((o.abort, o.stopping, o.handover));
            tasks.push((o.id, o.task));
        }
        let drain = async {
            if let Err(e) = router.await {
                error!(error = %e, "router task failed");
            }
            for (id, task) in tasks {
                if let Err(e) = task.await {
                    error!(output = %id, error = %e, "output task failed");
                }
            }
            for t in retiring {
                if let Err(e) = t.await {
                    error!(error = %e, "removed output task failed");
                }
            }
        };
        tokio::pin!(drain);
        if tokio::time::timeout_at(deadline, &mut drain).await.is_err() {
            clean = false;
            warn!("shutdown timeout reached: abandoning retries");
            for (abort, _, _) in &triggers {
                abort.trigger();
            }
            // Workers stop within a request once aborted, and count what they leave behind;
            // the router then finds their queues closed and counts what it still held.
            if tokio::time::timeout(ABORT_GRACE, &mut drain).await.is_err() {
                error!(
                    "outputs did not stop after the abort signal; their counts below may be short"
                );
            }
        }
        drop(triggers);
        filter_shutdown.trigger();
        let mut total = 0;
        for (id, metrics, before) in counted {
            let events = metrics.dropped_count(ABANDONED).saturating_sub(before);
            if events > 0 {
                total += events;
                error!(output = %id, events, "events abandoned at shutdown: not delivered within shutdown_timeout");
            }
        }
        if total > 0 {
            clean = false;
            error!(events = total, "events abandoned at shutdown, all outputs");
        }
        clean
    }
}
