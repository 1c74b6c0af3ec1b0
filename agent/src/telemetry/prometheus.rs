//! Renders the telemetry snapshot as Prometheus text exposition format 0.0.4.
//!
//! Names follow Vector's component spec: `gleaner_component_received_events_total`,
//! `..._sent_events_total`, `..._discarded_events_total{reason}`, `..._errors_total{reason}`,
//! with labels `component_id`, `component_kind`, `plugin`.

use std::fmt::Write as _;

use gleaner_api::{ComponentSnapshot, PluginStat, StatKind};

/// The Content-Type of text format 0.0.4 (Prometheus 3 rejects a missing or bare one).
pub const CONTENT_TYPE: &str = "text/plain; version=0.0.4; charset=utf-8";

/// Agent-level values rendered beside the component counters.
#[derive(Debug, Clone, Default)]
pub struct AgentStats {
    /// Seconds since start.
    pub uptime_seconds: f64,
    /// Successful reloads.
    pub reloads_ok: u64,
    /// Rejected reloads.
    pub reloads_failed: u64,
}

fn escape(v: &str, out: &mut String) {
    for c in v.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '"' => out.push_str("\\\""),
            '\n' => out.push_str("\\n"),
            c => out.push(c),
        }
    }
}

fn labels(c: &ComponentSnapshot, extra: Option<(&str, &str)>) -> String {
    let mut s = String::from("{component_id=\"");
    escape(&c.id, &mut s);
    s.push_str("\",component_kind=\"");
    s.push_str(c.kind.as_str());
    s.push_str("\",plugin=\"");
    escape(c.plugin, &mut s);
    s.push('"');
    if let Some((k, v)) = extra {
        s.push(',');
        s.push_str(k);
        s.push_str("=\"");
        escape(v, &mut s);
        s.push('"');
    }
    s.push('}');
    s
}

type Family = (&'static str, &'static str, fn(&ComponentSnapshot) -> u64);
type OutputFamily = (
    &'static str,
    &'static str,
    &'static str,
    fn(&ComponentSnapshot) -> String,
);

/// A plugin figure's first definition and its samples (labels, value).
type StatFamily<'a> = (&'a PluginStat, Vec<(String, f64)>);

/// Each plugin's own figures as `gleaner_<plugin>_<name>`, one family per name.
fn render_plugin_stats(out: &mut String, components: &[ComponentSnapshot]) -> std::fmt::Result {
    let mut families: std::collections::BTreeMap<String, StatFamily<'_>> =
        std::collections::BTreeMap::new();
    for c in components {
        for st in &c.plugin_stats {
            let name = format!("gleaner_{}_{}", c.plugin, st.name);
            families
                .entry(name)
                .or_insert_with(|| (st, Vec::new()))
                .1
                .push((labels(c, None), st.value));
        }
    }
    for (name, (first, samples)) in families {
        let kind = match first.kind {
            StatKind::Counter => "counter",
            StatKind::Gauge => "gauge",
        };
        writeln!(out, "# HELP {name} {}", first.help)?;
        writeln!(out, "# TYPE {name} {kind}")?;
        for (l, v) in samples {
            writeln!(out, "{name}{l} {v}")?;
        }
    }
    Ok(())
}

/// The whole `/metrics` body.
pub fn render(components: &[ComponentSnapshot], agent: &AgentStats) -> String {
    let mut out = String::with_capacity(4096);
    render_into(&mut out, components, agent).expect("writing to a String cannot fail");
    out
}

fn render_into(
    out: &mut String,
    components: &[ComponentSnapshot],
    agent: &AgentStats,
) -> std::fmt::Result {
    let families: [Family; 5] = [
        (
            "received_events_total",
            "Events that entered the component.",
            |c| c.events_received,
        ),
        (
            "sent_events_total",
            "Events that left the component.",
            |c| c.events_sent,
        ),
        (
            "sent_batches_total",
            "Batches that left the component.",
            |c| c.batches_sent,
        ),
        (
            "received_bytes_total",
            "Bytes read by the component.",
            |c| c.bytes_received,
        ),
        (
            "sent_bytes_total",
            "Bytes written or sent by the component.",
            |c| c.bytes_sent,
        ),
    ];
    for (name, help, get) in families {
        writeln!(out, "# HELP gleaner_component_{name} {help}")?;
        writeln!(out, "# TYPE gleaner_component_{name} counter")?;
        for c in components {
            writeln!(
                out,
                "gleaner_component_{name}{} {}",
                labels(c, None),
                get(c)
            )?;
        }
    }
    writeln!(
        out,
        "# HELP gleaner_component_discarded_events_total Events dropped, by reason."
    )?;
    writeln!(
        out,
        "# TYPE gleaner_component_discarded_events_total counter"
    )?;
    for c in components {
        for (reason, n) in &c.dropped {
            writeln!(
                out,
                "gleaner_component_discarded_events_total{} {n}",
                labels(c, Some(("reason", reason)))
            )?;
        }
    }
    writeln!(
        out,
        "# HELP gleaner_component_errors_total Errors, by reason."
    )?;
    writeln!(out, "# TYPE gleaner_component_errors_total counter")?;
    for c in components {
        for (reason, n) in &c.errors {
            writeln!(
                out,
                "gleaner_component_errors_total{} {n}",
                labels(c, Some(("reason", reason)))
            )?;
        }
    }
    writeln!(
        out,
        "# HELP gleaner_output_queue_events Events waiting in an output's queue."
    )?;
    writeln!(out, "# TYPE gleaner_output_queue_events gauge")?;
    for c in components
        .iter()
        .filter(|c| c.kind == gleaner_api::ComponentKind::Output)
    {
        writeln!(
            out,
            "gleaner_output_queue_events{} {}",
            labels(c, None),
            c.queue_depth
        )?;
    }
    writeln!(
        out,
        "# HELP gleaner_output_queue_capacity_batches Capacity of an output's queue, in batches."
    )?;
    writeln!(out, "# TYPE gleaner_output_queue_capacity_batches gauge")?;
    for c in components
        .iter()
        .filter(|c| c.kind == gleaner_api::ComponentKind::Output)
    {
        writeln!(
            out,
            "gleaner_output_queue_capacity_batches{} {}",
            labels(c, None),
            c.queue_capacity
        )?;
    }
    let outputs: Vec<&ComponentSnapshot> = components
        .iter()
        .filter(|c| c.kind == gleaner_api::ComponentKind::Output)
        .collect();
    let families: [OutputFamily; 5] = [
        (
            "gleaner_buffer_bytes",
            "gauge",
            "Bytes held in an output's buffer.",
            |c| c.buffer_bytes.to_string(),
        ),
        (
            "gleaner_buffer_chunks",
            "gauge",
            "Chunk files in an output's disk buffer.",
            |c| c.buffer_chunks.to_string(),
        ),
        (
            "gleaner_buffer_events",
            "gauge",
            "Events held in an output's disk buffer.",
            |c| c.buffer_events.to_string(),
        ),
        (
            "gleaner_buffer_oldest_chunk_age_seconds",
            "gauge",
            "Age of the oldest chunk in an output's disk buffer (0 when empty).",
            |c| {
                if c.buffer_oldest_ns == 0 {
                    return "0".to_owned();
                }
                let age = gleaner_api::now_ns()
                    .saturating_sub(c.buffer_oldest_ns as i64)
                    .max(0);
                format!("{:.3}", age as f64 / 1e9)
            },
        ),
        (
            "gleaner_output_retried_events_total",
            "counter",
            "Events sent again after a failed attempt.",
            |c| c.events_retried.to_string(),
        ),
    ];
    for (name, kind, help, get) in families {
        writeln!(out, "# HELP {name} {help}")?;
        writeln!(out, "# TYPE {name} {kind}")?;
        for c in &outputs {
            writeln!(out, "{name}{} {}", labels(c, None), get(c))?;
        }
    }
    let name = "gleaner_output_send_duration_seconds";
    writeln!(out, "# HELP {name} Time spent in send attempts.")?;
    writeln!(out, "# TYPE {name} summary")?;
    for c in &outputs {
        let l = labels(c, None);
        writeln!(out, "{name}_sum{l} {:.6}", c.send_micros as f64 / 1e6)?;
        writeln!(out, "{name}_count{l} {}", c.send_count)?;
    }
    render_plugin_stats(out, components)?;
    writeln!(out, "# HELP gleaner_build_info Build information.")?;
    writeln!(out, "# TYPE gleaner_build_info gauge")?;
    writeln!(
        out,
        "gleaner_build_info{{version=\"{}\"}} 1",
        env!("CARGO_PKG_VERSION")
    )?;
    writeln!(
        out,
        "# HELP gleaner_uptime_seconds Seconds since the agent started."
    )?;
    writeln!(out, "# TYPE gleaner_uptime_seconds gauge")?;
    writeln!(out, "gleaner_uptime_seconds {:.3}", agent.uptime_seconds)?;
    writeln!(
        out,
        "# HELP gleaner_config_reloads_total Config reloads, by result."
    )?;
    writeln!(out, "# TYPE gleaner_config_reloads_total counter")?;
    writeln!(
        out,
        "gleaner_config_reloads_total{{result=\"ok\"}} {}",
        agent.reloads_ok
    )?;
    writeln!(
        out,
        "gleaner_config_reloads_total{{result=\"failed\"}} {}",
        agent.reloads_failed
    )?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use gleaner_api::{ComponentKind, ComponentMetrics};

    #[test]
    fn renders_counters_and_escapes_labels() {
        let m = ComponentMetrics::new("weird\"id", ComponentKind::Output, "file");
        m.sent(3, 30);
        m.dropped("permanent_error", 2);
        #[derive(Debug)]
        struct Lag;
        impl gleaner_api::PluginStats for Lag {
            fn stats(&self) -> Vec<PluginStat> {
                vec![PluginStat {
                    name: "lag_bytes",
                    kind: StatKind::Gauge,
                    help: "Bytes behind.",
                    value: 42.0,
                }]
            }
        }
        m.set_plugin_stats(std::sync::Arc::new(Lag));
        let body = render(&[m.snapshot()], &AgentStats::default());
        assert!(body.contains(
            "gleaner_component_sent_events_total{component_id=\"weird\\\"id\",component_kind=\"output\",plugin=\"file\"} 3\n"
        ), "{body}");
        assert!(body.contains("reason=\"permanent_error\"} 2\n"), "{body}");
        assert!(
            body.contains("# TYPE gleaner_file_lag_bytes gauge\n"),
            "{body}"
        );
        assert!(body.contains("gleaner_file_lag_bytes{component_id=\"weird\\\"id\",component_kind=\"output\",plugin=\"file\"} 42\n"), "{body}");
        // Every sample line is `name{labels} value` or `name value`.
        for line in body.lines().filter(|l| !l.starts_with('#')) {
            let value = line.rsplit(' ').next().unwrap();
            assert!(value.parse::<f64>().is_ok(), "bad sample line {line:?}");
        }
    }
}
