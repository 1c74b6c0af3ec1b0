//! One read of an agent's `/metrics`: per component, the counters and gauges `top` shows,
//! parsed with the prometheus input's own exposition parser.

use std::collections::BTreeMap;
use std::time::Instant;

use gleaner_inputs::prometheus::parse::{Format, parse};

/// What one component reported.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Counters {
    /// `input`, `filter` or `output`.
    pub kind: String,
    /// The plugin name (`tail`).
    pub plugin: String,
    pub received: f64,
    pub sent: f64,
    /// Dropped events, every reason summed.
    pub discarded: f64,
    /// Errors, every reason summed.
    pub errors: f64,
    /// Events waiting in an output's queue.
    pub queue_events: Option<f64>,
    /// Bytes waiting in an output's buffer.
    pub buffer_bytes: Option<f64>,
    /// Bytes of the followed files not yet read (tail).
    pub lag_bytes: Option<f64>,
}

/// One read of `/metrics`.
#[derive(Debug, Clone)]
pub struct Snapshot {
    pub at: Instant,
    /// By component id.
    pub components: BTreeMap<String, Counters>,
    pub version: Option<String>,
    pub uptime_seconds: Option<f64>,
}

impl Snapshot {
    /// Reads a page; a page without Gleaner's series is an error (the URL is someone else's).
    pub fn parse(page: &[u8], at: Instant) -> Result<Snapshot, String> {
        let mut snap = Snapshot {
            at,
            components: BTreeMap::new(),
            version: None,
            uptime_seconds: None,
        };
        let mut gleaner = false;
        parse(page, Format::Text, &mut |s| {
            let Some(metric) = s.name.strip_prefix("gleaner_") else {
                return;
            };
            gleaner = true;
            let label = |name: &str| {
                s.labels
                    .iter()
                    .find(|l| l.name == name)
                    .map(|l| l.value().into_owned())
            };
            match metric {
                "build_info" => snap.version = label("version"),
                "uptime_seconds" => snap.uptime_seconds = Some(s.value),
                _ => {}
            }
            let Some(id) = label("component_id") else {
                return;
            };
            let c = snap.components.entry(id).or_default();
            if c.kind.is_empty() {
                c.kind = label("component_kind").unwrap_or_default();
                c.plugin = label("plugin").unwrap_or_default();
            }
            let v = if s.value.is_finite() { s.value } else { 0.0 };
            match metric {
                "component_received_events_total" => c.received += v,
                "component_sent_events_total" => c.sent += v,
                "component_discarded_events_total" => c.discarded += v,
                "component_errors_total" => c.errors += v,
                "output_queue_events" => *c.queue_events.get_or_insert(0.0) += v,
                "buffer_bytes" => *c.buffer_bytes.get_or_insert(0.0) += v,
                "tail_lag_bytes" => *c.lag_bytes.get_or_insert(0.0) += v,
                _ => {}
            }
        })
        .map_err(|e| e.to_string())?;
        if !gleaner {
            return Err("no gleaner_* series".to_owned());
        }
        Ok(snap)
    }
}
