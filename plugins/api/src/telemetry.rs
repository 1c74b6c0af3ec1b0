//! The agent's own counters: one [`ComponentMetrics`] per plugin instance, kept in the shared
//! [`Telemetry`] registry that `/metrics` and `inputs.internal` read.
//!
//! Counters are plain atomics so the hot path pays one relaxed add. Drops and errors are
//! counted under a reason (`"malformed"`, `"queue_full"`, ...); reasons are `&'static str`
//! so the set stays small and known at compile time.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};

/// What kind of component a set of counters belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum ComponentKind {
    /// An input plugin.
    Input,
    /// A filter plugin.
    Filter,
    /// An output plugin.
    Output,
}

impl ComponentKind {
    /// `input`, `filter` or `output`.
    pub const fn as_str(self) -> &'static str {
        match self {
            ComponentKind::Input => "input",
            ComponentKind::Filter => "filter",
            ComponentKind::Output => "output",
        }
    }
}

/// Whether a plugin figure only grows or goes up and down.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StatKind {
    /// Monotonic; its name ends in `_total`.
    Counter,
    /// Current value.
    Gauge,
}

/// One figure a plugin exposes beyond the standard counters (files open, lag bytes, ...).
#[derive(Debug, Clone, PartialEq)]
pub struct PluginStat {
    /// Snake-case name; `/metrics` shows it as `gleaner_<plugin>_<name>`.
    pub name: &'static str,
    /// Counter or gauge.
    pub kind: StatKind,
    /// One line of help.
    pub help: &'static str,
    /// Its value now.
    pub value: f64,
}

/// A plugin's own figures, read when `/metrics` or `inputs.internal` asks (pull: nothing on
/// the plugin's hot path).
pub trait PluginStats: Send + Sync + std::fmt::Debug {
    /// The figures now.
    fn stats(&self) -> Vec<PluginStat>;
}

/// Counters of one plugin instance.
#[derive(Debug)]
pub struct ComponentMetrics {
    /// The instance id (`inputs.tail.0` or its alias).
    pub id: String,
    /// Input, filter or output.
    pub kind: ComponentKind,
    /// The plugin's registry name (`tail`).
    pub plugin: &'static str,
    /// Events that entered the component.
    pub events_received: AtomicU64,
    /// Events that left it (sent on, written, delivered).
    pub events_sent: AtomicU64,
    /// Batches that left it.
    pub batches_sent: AtomicU64,
    /// Bytes read (request bodies, file bytes).
    pub bytes_received: AtomicU64,
    /// Bytes written or sent.
    pub bytes_sent: AtomicU64,
    /// Events queued in front of an output.
    pub queue_depth: AtomicU64,
    /// Capacity of that queue, in events.
    pub queue_capacity: AtomicU64,
    /// Bytes an output's buffer holds (disk: chunk files).
    pub buffer_bytes: AtomicU64,
    /// Chunks an output's disk buffer holds.
    pub buffer_chunks: AtomicU64,
    /// Events an output's buffer holds.
    pub buffer_events: AtomicU64,
    /// Creation time (ns since the epoch) of the oldest buffered chunk; 0 when empty.
    pub buffer_oldest_ns: AtomicU64,
    /// Events sent again after a failed attempt.
    pub events_retried: AtomicU64,
    /// Send attempts (for the mean send latency).
    pub send_count: AtomicU64,
    /// Total time spent in send attempts, in microseconds.
    pub send_micros: AtomicU64,
    dropped: Mutex<Vec<(&'static str, u64)>>,
    errors: Mutex<Vec<(&'static str, u64)>>,
    plugin_stats: Mutex<Option<Arc<dyn PluginStats>>>,
}

/// A point-in-time copy of one component's counters.
#[derive(Debug, Clone, PartialEq)]
pub struct ComponentSnapshot {
    /// Instance id.
    pub id: String,
    /// Input, filter or output.
    pub kind: ComponentKind,
    /// Registry name.
    pub plugin: &'static str,
    /// See [`ComponentMetrics::events_received`].
    pub events_received: u64,
    /// See [`ComponentMetrics::events_sent`].
    pub events_sent: u64,
    /// See [`ComponentMetrics::batches_sent`].
    pub batches_sent: u64,
    /// See [`ComponentMetrics::bytes_received`].
    pub bytes_received: u64,
    /// See [`ComponentMetrics::bytes_sent`].
    pub bytes_sent: u64,
    /// See [`ComponentMetrics::queue_depth`].
    pub queue_depth: u64,
    /// See [`ComponentMetrics::queue_capacity`].
    pub queue_capacity: u64,
    /// See [`ComponentMetrics::buffer_bytes`].
    pub buffer_bytes: u64,
    /// See [`ComponentMetrics::buffer_chunks`].
    pub buffer_chunks: u64,
    /// See [`ComponentMetrics::buffer_events`].
    pub buffer_events: u64,
    /// See [`ComponentMetrics::buffer_oldest_ns`].
    pub buffer_oldest_ns: u64,
    /// See [`ComponentMetrics::events_retried`].
    pub events_retried: u64,
    /// See [`ComponentMetrics::send_count`].
    pub send_count: u64,
    /// See [`ComponentMetrics::send_micros`].
    pub send_micros: u64,
    /// Dropped events by reason.
    pub dropped: Vec<(&'static str, u64)>,
    /// Errors by reason.
    pub errors: Vec<(&'static str, u64)>,
    /// The plugin's own figures.
    pub plugin_stats: Vec<PluginStat>,
}

fn bump(list: &Mutex<Vec<(&'static str, u64)>>, reason: &'static str, n: u64) {
    let mut list = list.lock().unwrap_or_else(PoisonError::into_inner);
    match list.iter_mut().find(|(r, _)| *r == reason) {
        Some((_, c)) => *c += n,
        None => list.push((reason, n)),
    }
}

impl ComponentMetrics {
    /// Fresh counters (use [`Telemetry::register`] to make them visible).
    pub fn new(id: impl Into<String>, kind: ComponentKind, plugin: &'static str) -> Self {
        ComponentMetrics {
            id: id.into(),
            kind,
            plugin,
            events_received: AtomicU64::new(0),
            events_sent: AtomicU64::new(0),
            batches_sent: AtomicU64::new(0),
            bytes_received: AtomicU64::new(0),
            bytes_sent: AtomicU64::new(0),
            queue_depth: AtomicU64::new(0),
            queue_capacity: AtomicU64::new(0),
            buffer_bytes: AtomicU64::new(0),
            buffer_chunks: AtomicU64::new(0),
            buffer_events: AtomicU64::new(0),
            buffer_oldest_ns: AtomicU64::new(0),
            events_retried: AtomicU64::new(0),
            send_count: AtomicU64::new(0),
            send_micros: AtomicU64::new(0),
            dropped: Mutex::new(Vec::new()),
            errors: Mutex::new(Vec::new()),
            plugin_stats: Mutex::new(None),
        }
    }

    /// Counters registered nowhere (tests).
    pub fn detached(plugin: &'static str) -> Arc<Self> {
        Arc::new(ComponentMetrics::new(plugin, ComponentKind::Input, plugin))
    }

    /// Adds received events and bytes.
    pub fn received(&self, events: u64, bytes: u64) {
        self.events_received.fetch_add(events, Ordering::Relaxed);
        self.bytes_received.fetch_add(bytes, Ordering::Relaxed);
    }

    /// Adds one sent batch of `events` events and `bytes` bytes.
    pub fn sent(&self, events: u64, bytes: u64) {
        self.events_sent.fetch_add(events, Ordering::Relaxed);
        self.batches_sent.fetch_add(1, Ordering::Relaxed);
        self.bytes_sent.fetch_add(bytes, Ordering::Relaxed);
    }

    /// Counts `n` dropped events under `reason`.
    pub fn dropped(&self, reason: &'static str, n: u64) {
        if n > 0 {
            bump(&self.dropped, reason, n);
        }
    }

    /// Records one send attempt that took `micros` microseconds.
    pub fn send_attempt(&self, micros: u64) {
        self.send_count.fetch_add(1, Ordering::Relaxed);
        self.send_micros.fetch_add(micros, Ordering::Relaxed);
    }

    /// Counts one error under `reason`.
    pub fn error(&self, reason: &'static str) {
        bump(&self.errors, reason, 1);
    }

    /// Counts `n` errors under `reason`.
    pub fn errors(&self, reason: &'static str, n: u64) {
        if n > 0 {
            bump(&self.errors, reason, n);
        }
    }

    /// Registers the plugin's own figures (replacing any earlier provider).
    pub fn set_plugin_stats(&self, stats: Arc<dyn PluginStats>) {
        *self
            .plugin_stats
            .lock()
            .unwrap_or_else(PoisonError::into_inner) = Some(stats);
    }

    /// Dropped events under `reason` so far.
    pub fn dropped_count(&self, reason: &str) -> u64 {
        let list = self.dropped.lock().unwrap_or_else(PoisonError::into_inner);
        list.iter()
            .find(|(r, _)| *r == reason)
            .map_or(0, |(_, c)| *c)
    }

    /// A copy of every counter.
    pub fn snapshot(&self) -> ComponentSnapshot {
        let get = |a: &AtomicU64| a.load(Ordering::Relaxed);
        let copy = |m: &Mutex<Vec<(&'static str, u64)>>| {
            m.lock().unwrap_or_else(PoisonError::into_inner).clone()
        };
        ComponentSnapshot {
            id: self.id.clone(),
            kind: self.kind,
            plugin: self.plugin,
            events_received: get(&self.events_received),
            events_sent: get(&self.events_sent),
            batches_sent: get(&self.batches_sent),
            bytes_received: get(&self.bytes_received),
            bytes_sent: get(&self.bytes_sent),
            queue_depth: get(&self.queue_depth),
            queue_capacity: get(&self.queue_capacity),
            buffer_bytes: get(&self.buffer_bytes),
            buffer_chunks: get(&self.buffer_chunks),
            buffer_events: get(&self.buffer_events),
            buffer_oldest_ns: get(&self.buffer_oldest_ns),
            events_retried: get(&self.events_retried),
            send_count: get(&self.send_count),
            send_micros: get(&self.send_micros),
            dropped: copy(&self.dropped),
            errors: copy(&self.errors),
            plugin_stats: self
                .plugin_stats
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .as_ref()
                .map(|p| p.stats())
                .unwrap_or_default(),
        }
    }
}

/// The registry of every component's counters; cheap to clone.
///
/// Registering the same (kind, id, plugin) again returns the existing counters, so a config
/// reload keeps the totals of instances that did not change.
#[derive(Debug, Clone, Default)]
pub struct Telemetry {
    components: Arc<Mutex<Vec<Arc<ComponentMetrics>>>>,
}

impl Telemetry {
    /// An empty registry.
    pub fn new() -> Self {
        Self::default()
    }

    /// The counters for a component, created on first use.
    pub fn register(
        &self,
        id: &str,
        kind: ComponentKind,
        plugin: &'static str,
    ) -> Arc<ComponentMetrics> {
        let mut list = self
            .components
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        if let Some(c) = list
            .iter()
            .find(|c| c.id == id && c.kind == kind && c.plugin == plugin)
        {
            return Arc::clone(c);
        }
        let c = Arc::new(ComponentMetrics::new(id, kind, plugin));
        list.push(Arc::clone(&c));
        c
    }

    /// Drops components not in `keep` (after a reload).
    pub fn retain(&self, keep: &[Arc<ComponentMetrics>]) {
        let mut list = self
            .components
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        list.retain(|c| keep.iter().any(|k| Arc::ptr_eq(k, c)));
    }

    /// Snapshots of every component, sorted by kind then id.
    pub fn snapshot(&self) -> Vec<ComponentSnapshot> {
        let list = self
            .components
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        let mut out: Vec<_> = list.iter().map(|c| c.snapshot()).collect();
        drop(list);
        out.sort_by(|a, b| (a.kind, &a.id).cmp(&(b.kind, &b.id)));
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn register_is_idempotent_and_counts() {
        let t = Telemetry::new();
        let a = t.register("inputs.x.0", ComponentKind::Input, "x");
        let b = t.register("inputs.x.0", ComponentKind::Input, "x");
        assert!(Arc::ptr_eq(&a, &b));
        a.received(3, 10);
        a.dropped("malformed", 2);
        a.dropped("malformed", 1);
        a.dropped("other", 0);
        let s = t.snapshot();
        assert_eq!(s.len(), 1);
        assert_eq!(s[0].events_received, 3);
        assert_eq!(s[0].dropped, vec![("malformed", 3)]);
    }
}
