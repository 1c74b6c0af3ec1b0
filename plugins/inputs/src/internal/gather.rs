//! Turns component snapshots and process stats into the metrics of `inputs.internal`
//! (names and fields are listed in the module doc of `internal.rs`). Pure.

use std::time::Duration;

use gleaner_api::{ComponentSnapshot, FieldValue, Metric, MetricKind};

use super::procfs::ProcessStats;

/// Appends `internal_component` and its `internal_dropped` metrics for every component.
pub(super) fn component_metrics(
    snapshots: &[ComponentSnapshot],
    host: &str,
    ts: i64,
    out: &mut Vec<Metric>,
) {
    for s in snapshots {
        let sum = |list: &[(&'static str, u64)]| list.iter().map(|(_, n)| n).sum::<u64>();
        let base = with_host(
            Metric::new("internal_component", ts)
                .with_kind(MetricKind::Counter)
                .with_tag("component_id", s.id.as_str())
                .with_tag("component_kind", s.kind.as_str())
                .with_tag("plugin", s.plugin),
            host,
        );
        let mut dropped_base = base.clone();
        dropped_base.measurement = "internal_dropped".to_owned();
        out.push(
            base.with_field("events_received", FieldValue::UInt(s.events_received))
                .with_field("events_sent", FieldValue::UInt(s.events_sent))
                .with_field("batches_sent", FieldValue::UInt(s.batches_sent))
                .with_field("bytes_received", FieldValue::UInt(s.bytes_received))
                .with_field("bytes_sent", FieldValue::UInt(s.bytes_sent))
                .with_field("errors", FieldValue::UInt(sum(&s.errors)))
                .with_field("dropped", FieldValue::UInt(sum(&s.dropped)))
                .with_field("queue_depth", FieldValue::UInt(s.queue_depth)),
        );
        for (reason, n) in &s.dropped {
            out.push(
                dropped_base
                    .clone()
                    .with_tag("reason", *reason)
                    .with_field("events", FieldValue::UInt(*n)),
            );
        }
    }
}

/// The `internal_agent` metric: uptime, and the process stats that could be read.
pub(super) fn agent_metric(
    host: &str,
    ts: i64,
    uptime: Duration,
    process: Option<&ProcessStats>,
) -> Metric {
    let mut m = with_host(
        Metric::new("internal_agent", ts).with_kind(MetricKind::Gauge),
        host,
    );
    m = m.with_field("uptime_seconds", FieldValue::Float(uptime.as_secs_f64()));
    if let Some(p) = process {
        if let Some(v) = p.rss_bytes {
            m = m.with_field("mem_rss_bytes", FieldValue::UInt(v));
        }
        if let Some(v) = p.cpu_seconds {
            m = m.with_field("cpu_seconds", FieldValue::Float(v));
        }
        if let Some(v) = p.num_threads {
            m = m.with_field("num_threads", FieldValue::UInt(v));
        }
    }
    m
}

/// Adds the `host` tag, unless the host name is empty (line protocol has no empty tags).
fn with_host(m: Metric, host: &str) -> Metric {
    if host.is_empty() {
        m
    } else {
        m.with_tag("host", host)
    }
}
