//! [`Running::reload`]: applying a new config to a running pipeline by difference (the
//! rules are in the parent module's doc). Outputs first (kept, handed over, opened), then the
//! filter chain, then the inputs that stop; the router takes the new setup; removed outputs
//! retire in the background; new inputs start last.

use std::collections::{HashMap, HashSet};
use std::sync::Arc;

use gleaner_api::ComponentMetrics;
use tokio::sync::oneshot;
use tracing::{error, warn};

use super::{
    Facts, ReloadSummary, Running, RunningFilter, RunningInput, RunningOutput, buffer_dir, enrich,
    retire_output, spawn_input, spawn_output, stop_input,
};
use crate::buffer::OutputBuffer;
use crate::buffer::disk::DiskConfig;
use crate::buffer::store::StoreConfig;
use crate::config::{Config, ConfigErrors, PluginSection};
use crate::pipeline::router::{FilterSlot, RouterUpdate};
use crate::pipeline::{Parts, build_parts, open_buffer, resolve_hostname};

impl Running {
    /// Applies `config` by difference (see the module doc). On a build error nothing
    /// changes and the errors are returned; a buffer that cannot be opened leaves that output
    /// out (logged) and the rest applied.
    pub async fn reload(&mut self, config: Config) -> Result<ReloadSummary, ConfigErrors> {
        let hostname = resolve_hostname(&config.agent.hostname);
        let facts = Facts::of(&config.agent, &hostname);
        let same_facts = facts == self.facts;
        let running = |s: &PluginSection| -> bool {
            same_facts
                && (self.inputs.iter().any(|i| i.section.same_table(s))
                    || self.filters.iter().any(|f| f.section.same_table(s))
                    || self
                        .outputs
                        .iter()
                        .any(|o| o.section.as_ref().is_some_and(|x| x.same_table(s))))
        };
        let unchanged: HashSet<String> = config
            .inputs
            .iter()
            .chain(&config.filters)
            .chain(&config.outputs)
            .filter(|s| running(s))
            .map(|s| s.id.clone())
            .collect();
        let keeps = |s: &PluginSection| unchanged.contains(&s.id);
        let built = build_parts(
            &config,
            &hostname,
            &self.telemetry,
            &self.shared,
            &self.services,
            &keeps,
        );
        let Parts {
            inputs,
            filters,
            outputs,
        } = match built {
            Ok(p) => p,
            Err(e) => {
                self.telemetry.retain(&self.component_metrics());
                return Err(e);
            }
        };
        let mut summary = ReloadSummary {
            unchanged: unchanged.len(),
            ..ReloadSummary::default()
        };
        let known = |id: &str| {
            self.inputs.iter().any(|i| *i.id == *id)
                || self.filters.iter().any(|f| f.section.id == id)
                || self.outputs.iter().any(|o| *o.id == *id)
        };
        for s in config
            .inputs
            .iter()
            .chain(&config.filters)
            .chain(&config.outputs)
            .filter(|s| !keeps(s))
        {
            if known(&s.id) {
                summary.changed += 1;
            } else {
                summary.added += 1;
            }
        }
        let agent = config.agent.clone();
        let timeout = agent.shutdown_timeout.get();

        // Outputs: keep, hand over, add; the rest retire after the router let go of them.
        let mut old_outputs: Vec<Option<RunningOutput>> =
            self.outputs.drain(..).map(Some).collect();
        let mut built_outputs = outputs.into_iter();
        let mut new_outputs = Vec::new();
        let mut moves: Vec<(OutputBuffer, OutputBuffer)> = Vec::new();
        let mut leave: Vec<OutputBuffer> = Vec::new();
        for s in &config.outputs {
            let old_at = old_outputs
                .iter()
                .position(|o| o.as_ref().is_some_and(|o| *o.id == *s.id));
            if keeps(s) {
                if let Some(o) = old_at.and_then(|at| old_outputs[at].take()) {
                    new_outputs.push(o);
                }
                continue;
            }
            let Some(b) = built_outputs.next() else {
                break;
            };
            let old = old_at.and_then(|at| old_outputs[at].take());
            let new_dir = buffer_dir(&b, &agent);
            let reuse = old.as_ref().is_some_and(|o| match (&o.buffer, &new_dir) {
                (OutputBuffer::Memory(_), None) => true,
                (OutputBuffer::Disk(_), Some(dir)) => o.buffer_dir.as_ref() == Some(dir),
                _ => false,
            });
            // A buffer of another type (or place) is opened before the old output is
            // touched: if it cannot be, the old output keeps running.
            let opened = if reuse {
                None
            } else {
                match open_buffer(&b, &agent).await {
                    Ok(nb) => Some(nb),
                    Err(e) => {
                        error!(error = %e, "output not reloaded: its new buffer cannot be opened");
                        if let Some(o) = old {
                            new_outputs.push(o);
                        }
                        continue;
                    }
                }
            };
            let buffer = match (old, opened) {
                (Some(old), opened) => {
                    old.handover.trigger();
                    let mut task = old.task;
                    if let Err(e) = (&mut task).await {
                        error!(output = %old.id, error = %e, "output task failed");
                    }
                    match (opened, &old.buffer) {
                        (Some(nb), OutputBuffer::Memory(_)) => {
                            moves.push((old.buffer.clone(), nb.clone()));
                            nb
                        }
                        (Some(nb), OutputBuffer::Disk(_)) => {
                            warn!(output = %old.id, "buffer moved off disk: its chunks stay there, delivered once the output's buffer is on disk again");
                            leave.push(old.buffer.clone());
                            nb
                        }
                        (None, OutputBuffer::Memory(q)) => {
                            q.reconfigure(
                                agent.queue_batches,
                                b.buffer.max_bytes.get(),
                                b.buffer.when_full,
                            );
                            old.buffer.clone()
                        }
                        (None, OutputBuffer::Disk(d)) => {
                            d.reconfigure(DiskConfig {
                                store: StoreConfig {
                                    chunk_size: b.buffer.chunk_size.get().max(1),
                                    sync: b.buffer.sync,
                                },
                                max_bytes: b.buffer.max_bytes.get(),
                                when_full: b.buffer.when_full,
                                flush_interval: agent.flush_interval.get(),
                            });
                            old.buffer.clone()
                        }
                    }
                }
                (None, Some(nb)) => nb,
                (None, None) => continue,
            };
            new_outputs.push(spawn_output(b, buffer, &agent));
        }
        let removed: Vec<RunningOutput> = old_outputs.into_iter().flatten().collect();
        summary.removed += removed.len();

        // Filters: running ones where unchanged, new builds elsewhere.
        let mut old_filters: Vec<Option<RunningFilter>> =
            self.filters.drain(..).map(Some).collect();
        let mut built_filters = filters.into_iter();
        let mut slots = Vec::new();
        let mut new_filters = Vec::new();
        for s in &config.filters {
            let at = old_filters
                .iter()
                .position(|f| f.as_ref().is_some_and(|f| f.section.same_table(s)));
            match at.filter(|_| keeps(s)) {
                Some(at) => {
                    if let Some(f) = old_filters[at].take() {
                        new_filters.push(f);
                        slots.push(FilterSlot::Keep(at));
                    }
                }
                None => {
                    let Some(mut f) = built_filters.next() else {
                        break;
                    };
                    f.filter.start(self.mode).await;
                    new_filters.push(RunningFilter {
                        section: s.clone(),
                        metrics: Arc::clone(&f.metrics),
                    });
                    slots.push(FilterSlot::New(f));
                }
            }
        }
        summary.removed += old_filters.iter().flatten().count();

        // Inputs: changed and removed ones stop first (a listener frees its address).
        let deadline = tokio::time::Instant::now() + timeout;
        let mut old_inputs: Vec<Option<RunningInput>> = self.inputs.drain(..).map(Some).collect();
        let mut new_inputs = Vec::new();
        for s in &config.inputs {
            if keeps(s)
                && let Some(at) = old_inputs
                    .iter()
                    .position(|i| i.as_ref().is_some_and(|i| i.section.same_table(s)))
                && let Some(i) = old_inputs[at].take()
            {
                new_inputs.push(i);
            }
        }
        let stopping: Vec<RunningInput> = old_inputs.into_iter().flatten().collect();
        summary.removed += stopping
            .iter()
            .filter(|i| !config.inputs.iter().any(|s| s.id == *i.id))
            .count();
        for i in stopping {
            stop_input(i, deadline).await;
        }

        // The router takes the new setup; after that no batch goes to a removed buffer.
        let mut input_metrics: HashMap<Arc<str>, Arc<ComponentMetrics>> = new_inputs
            .iter()
            .map(|i| (Arc::clone(&i.id), Arc::clone(&i.metrics)))
            .collect();
        for i in &inputs {
            input_metrics.insert(Arc::clone(&i.id), Arc::clone(&i.metrics));
        }
        let input_selectors = new_inputs
            .iter()
            .map(|i| (&i.id, &i.selectors))
            .chain(inputs.iter().map(|i| (&i.id, &i.selectors)))
            .filter_map(|(id, s)| Some((Arc::clone(id), Arc::clone(s.as_ref()?))))
            .collect();
        let (applied, applied_rx) = oneshot::channel();
        let update = RouterUpdate {
            filters: slots,
            routes: new_outputs.iter().map(RunningOutput::route).collect(),
            enrich: enrich(&agent, &hostname),
            inputs: input_metrics,
            input_selectors,
            applied,
        };
        if self.updates.send(update).await.is_ok() {
            tokio::pin!(applied_rx);
            // The router may be waiting for room in a removed output's full buffer.
            if tokio::time::timeout(timeout, &mut applied_rx)
                .await
                .is_err()
            {
                warn!("the router is blocked on a removed output; closing its buffer");
                for o in &removed {
                    o.buffer.close();
                }
                let _applied = applied_rx.await;
            }
        }
        for (from, to) in moves {
            if let OutputBuffer::Memory(q) = &from {
                let batches = q.close_and_take();
                for b in batches {
                    if to.push(b, None).await.is_err() {
                        error!("cannot move a batch into the reloaded output's buffer");
                    }
                }
            }
        }
        for b in leave {
            b.close();
        }
        for o in removed {
            self.retiring.push(tokio::spawn(retire_output(o, timeout)));
        }
        self.retiring.retain(|t| !t.is_finished());

        if let Some(tx) = &self.tx {
            for i in inputs {
                new_inputs.push(spawn_input(
                    i,
                    tx,
                    &self.budget,
                    self.budget_total,
                    self.mode,
                ));
            }
        }
        // Config order, as at start.
        new_inputs.sort_by_key(|i| config.inputs.iter().position(|s| s.id == *i.id));
        self.inputs = new_inputs;
        self.filters = new_filters;
        self.outputs = new_outputs;
        if agent.queue_batches != self.config.agent.queue_batches
            || agent.max_in_flight_events != self.config.agent.max_in_flight_events
        {
            warn!(
                "agent.queue_batches and agent.max_in_flight_events size the pipeline channel: a change takes effect at the next restart (memory queues take the new size now)"
            );
        }
        self.config = config;
        self.facts = facts;
        self.telemetry.retain(&self.component_metrics());
        Ok(summary)
    }
}
