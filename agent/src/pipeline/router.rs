//! The router task: takes every input's batches, adds the agent's tags, runs the filters in
//! config order, and pushes each batch into the queue of every output whose route matches,
//! then settles the batch's acknowledgement. A batch an output's queue no longer takes (its
//! worker stopped at the shutdown timeout) is counted under `shutdown_timeout`.
//!
//! Routing: an output with `match` takes batches from inputs whose id matches one of its
//! globs; without `match` it takes batches from every input. Either way it takes only the
//! event kinds its descriptor accepts. Route lists are cached per input id.
//!
//! Selectors (`namepass`, `tagdrop`, ...; `selectors.rs` applies them) run here too, each
//! where Telegraf runs it: an input's as its batch arrives (`tagpass` before the agent's
//! tags are added, `taginclude` after), a filter's just before the filter (the metrics it
//! does not select go around it), an output's on the output's own copy. Where none is
//! configured the cost is one empty-map check per batch and one `None` per stage.
//!
//! A reload changes the router in place ([`RouterUpdate`], applied between two batches): new
//! routes and agent tags, and a filter chain in which unchanged filters are the running ones
//! (with their state) and changed or added ones are new.

use std::collections::HashMap;
use std::sync::Arc;

use gleaner_api::selector::Selectors;
use gleaner_api::{
    Accepts, Batch, ComponentMetrics, Envelope, EventKind, Filter, Metric, TagsMemo,
};
use tokio::sync::{mpsc, oneshot};

use super::selectors;
use crate::buffer::OutputBuffer;
use gleaner_api::glob::Glob;

/// One output as the router sees it.
pub struct Route {
    /// Globs on input ids; `None` takes every input.
    pub globs: Option<Vec<Glob>>,
    /// Kinds the output takes.
    pub accepts: Accepts,
    /// Its buffer.
    pub buffer: OutputBuffer,
    /// Its selectors: which metrics it takes, with which fields and tags.
    pub selectors: Option<Arc<Selectors>>,
    /// Its counters (`events_received`).
    pub metrics: Arc<ComponentMetrics>,
}

/// One filter in the chain.
pub struct FilterStage {
    /// The filter.
    pub filter: Box<dyn Filter>,
    /// Globs on input ids; `None` applies to every input.
    pub globs: Option<Vec<Glob>>,
    /// Its selectors: which metrics it sees (the others go around it; logs too).
    pub selectors: Option<Arc<Selectors>>,
    /// Its counters.
    pub metrics: Arc<ComponentMetrics>,
}

/// Tags every metric gets unless it already has them.
#[derive(Debug, Clone, Default)]
pub struct Enrich {
    /// `(key, value)` pairs, `host` included unless omitted.
    pub tags: Vec<(String, String)>,
}

impl Enrich {
    /// Adds the tags to `m`; a tag set shared by many metrics (a scraped series) is edited
    /// once, through `memo`, and the metrics share the result.
    fn apply(&self, m: &mut Metric, memo: &mut TagsMemo) {
        if self.tags.is_empty() {
            return;
        }
        memo.apply(&mut m.tags, |tags| {
            for (k, v) in &self.tags {
                tags.insert_if_absent(k, v);
            }
        });
    }
}

fn matches(globs: Option<&[Glob]>, input: &str) -> bool {
    globs.is_none_or(|gs| gs.iter().any(|g| g.matches(input)))
}

/// One place of the filter chain after a reload.
pub enum FilterSlot {
    /// The running filter at this index of the old chain.
    Keep(usize),
    /// A filter built by the reload.
    New(FilterStage),
}

/// A reload's new router setup.
pub struct RouterUpdate {
    /// The filter chain, in order.
    pub filters: Vec<FilterSlot>,
    /// Every output.
    pub routes: Vec<Route>,
    /// Agent tags.
    pub enrich: Enrich,
    /// Each input's counters.
    pub inputs: HashMap<Arc<str>, Arc<ComponentMetrics>>,
    /// The selectors of the inputs that have some.
    pub input_selectors: HashMap<Arc<str>, Arc<Selectors>>,
    /// Answered once the update is in effect (no batch goes by the old routes after it).
    pub applied: oneshot::Sender<()>,
}

/// The router's state.
pub struct Router {
    /// Filters in order.
    pub filters: Vec<FilterStage>,
    /// Outputs.
    pub routes: Vec<Route>,
    /// Agent tags.
    pub enrich: Enrich,
    /// Each input's counters, for unrouted drops.
    pub inputs: HashMap<Arc<str>, Arc<ComponentMetrics>>,
    /// The selectors of the inputs that have some.
    input_selectors: HashMap<Arc<str>, Arc<Selectors>>,
    cache: HashMap<(Arc<str>, EventKind), Vec<usize>>,
    /// Shared tag sets with the agent tags added (forgotten on reload, when they change).
    enriched: TagsMemo,
}

impl Router {
    /// A router over these stages.
    pub fn new(
        filters: Vec<FilterStage>,
        routes: Vec<Route>,
        enrich: Enrich,
        inputs: HashMap<Arc<str>, Arc<ComponentMetrics>>,
    ) -> Self {
        Router {
            filters,
            routes,
            enrich,
            inputs,
            input_selectors: HashMap::new(),
            cache: HashMap::new(),
            enriched: TagsMemo::new(),
        }
    }

    /// Sets the selectors of inputs (by input id).
    #[must_use]
    pub fn with_input_selectors(mut self, selectors: HashMap<Arc<str>, Arc<Selectors>>) -> Self {
        self.input_selectors = selectors;
        self
    }

    /// Runs until every sender is gone, then closes every output queue. Updates from
    /// `updates` are applied between batches.
    pub async fn run(
        mut self,
        mut rx: mpsc::Receiver<Envelope>,
        mut updates: mpsc::Receiver<RouterUpdate>,
    ) {
        let mut updating = true;
        loop {
            tokio::select! {
                biased;
                u = updates.recv(), if updating => match u {
                    Some(u) => self.apply(u),
                    None => updating = false,
                },
                env = rx.recv() => match env {
                    Some(env) => self.handle(env).await,
                    None => break,
                },
            }
        }
        for r in &self.routes {
            r.buffer.close();
        }
    }

    /// Takes a reload's setup; filters left out of the new chain are dropped.
    fn apply(&mut self, u: RouterUpdate) {
        let mut old: Vec<Option<FilterStage>> = self.filters.drain(..).map(Some).collect();
        self.filters = u
            .filters
            .into_iter()
            .filter_map(|slot| match slot {
                FilterSlot::Keep(i) => old.get_mut(i).and_then(Option::take),
                FilterSlot::New(f) => Some(f),
            })
            .collect();
        self.routes = u.routes;
        self.enrich = u.enrich;
        self.enriched = TagsMemo::new();
        self.inputs = u.inputs;
        self.input_selectors = u.input_selectors;
        self.cache.clear();
        // The reloader may have stopped waiting; nothing to tell then.
        let _answered = u.applied.send(());
    }

    fn targets(&mut self, input: &Arc<str>, kind: EventKind) -> Vec<usize> {
        let routes = &self.routes;
        self.cache
            .entry((Arc::clone(input), kind))
            .or_insert_with(|| {
                routes
                    .iter()
                    .enumerate()
                    .filter(|(_, r)| r.accepts.takes(kind) && matches(r.globs.as_deref(), input))
                    .map(|(i, _)| i)
                    .collect()
            })
            .clone()
    }

    async fn handle(&mut self, env: Envelope) {
        // The permit (this batch's share of the in-flight budget) is held until every
        // buffer has taken the batch.
        let Envelope {
            input,
            mut batch,
            ack,
            permit: _permit,
        } = env;
        if let Batch::Metrics(ms) = &mut batch {
            let own = match self.input_selectors.is_empty() {
                true => None,
                false => self.input_selectors.get(&input),
            };
            let (enrich, memo) = (&self.enrich, &mut self.enriched);
            match own {
                None => ms.iter_mut().for_each(|m| enrich.apply(m, memo)),
                Some(s) => {
                    let drops = s.apply(ms, |m| enrich.apply(m, memo));
                    if let Some(counters) = self.inputs.get(&input) {
                        selectors::count(counters, &drops);
                    }
                }
            }
            memo.sweep();
        }
        let tap = crate::tap::hub();
        tap.observe(&input, &batch);
        for stage in &mut self.filters {
            if batch.is_empty() {
                break;
            }
            if !matches(stage.globs.as_deref(), &input) {
                continue;
            }
            match (&stage.selectors, &mut batch) {
                (None, _) => {
                    stage.metrics.received(batch.len() as u64, 0);
                    stage.filter.process(&mut batch);
                    stage.metrics.sent(batch.len() as u64, 0);
                }
                (Some(s), Batch::Metrics(ms)) => {
                    selectors::process_selected(s, stage.filter.as_mut(), &stage.metrics, ms);
                }
                // Selectors choose metrics: a filter with selectors lets logs go around it.
                (Some(_), Batch::Logs(_)) => {}
            }
            tap.observe(&stage.metrics.id, &batch);
        }
        if batch.is_empty() {
            if let Some(a) = ack {
                a.ack();
            }
            return;
        }
        let targets = self.targets(&input, batch.kind());
        if targets.is_empty() {
            if let Some(m) = self.inputs.get(&input) {
                m.dropped("unrouted", batch.len() as u64);
            }
            if let Some(a) = ack {
                a.ack();
            }
            return;
        }
        // Each destination gets its own share of the token and settles it once the batch is
        // safe in its buffer; the router's own share settles now.
        let last = targets.len() - 1;
        let mut batch = Some(batch);
        for (n, &i) in targets.iter().enumerate() {
            let b = if n == last {
                batch.take()
            } else {
                batch.clone()
            };
            let Some(b) = b else { break };
            let route = &self.routes[i];
            route.metrics.received(b.len() as u64, 0);
            let b = match (&route.selectors, b) {
                (Some(s), Batch::Metrics(mut ms)) => {
                    selectors::count(&route.metrics, &s.apply(&mut ms, |_| {}));
                    Batch::Metrics(ms)
                }
                (_, b) => b,
            };
            if b.is_empty() {
                // Nothing for this output: it takes no share of the acknowledgement.
                continue;
            }
            let n = b.len() as u64;
            tap.observe(&route.metrics.id, &b);
            if route.buffer.push(b, ack.clone()).await.is_err() {
                // The output's worker stopped at the shutdown timeout and closed its queue.
                // The clone was dropped unsettled: the batch counts as failed for the input.
                route.metrics.dropped("shutdown_timeout", n);
            }
        }
        if let Some(a) = ack {
            a.ack();
        }
    }
}

#[cfg(test)]
mod tests;
