//! The verdict of `--once` and `--test`: after the run, the counters say whether every input
//! gathered and every output delivered. Like Telegraf's `--once` and `--test` ("input plugins
//! recorded N errors", "output plugins unable to send N metrics"), any gather error, any event
//! an output dropped, and any event left in a disk buffer for a later start make the run
//! fail (exit 1), with one line per component saying what went wrong, so the modes can gate
//! a deployment or a CI job.

use gleaner_api::{ComponentKind, ComponentSnapshot};

/// What went wrong in a one-shot run; `Display` is the message printed before exiting 1.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{}", self.render())]
pub struct OnceFailed {
    /// Gather errors by input, with their reasons: `(id, [(reason, count)])`.
    pub inputs: Vec<(String, Vec<(&'static str, u64)>)>,
    /// Events dropped by outputs, with their reasons.
    pub dropped: Vec<(String, Vec<(&'static str, u64)>)>,
    /// Events left in an output's disk buffer for the next start.
    pub left: Vec<(String, u64)>,
    /// The pipeline did not drain within `shutdown_timeout`.
    pub timed_out: bool,
}

fn reasons(list: &[(&'static str, u64)]) -> String {
    list.iter()
        .map(|(r, n)| format!("{r} x{n}"))
        .collect::<Vec<_>>()
        .join(", ")
}

fn total(list: &[(String, Vec<(&'static str, u64)>)]) -> u64 {
    list.iter()
        .flat_map(|(_, l)| l.iter().map(|(_, n)| n))
        .sum()
}

impl OnceFailed {
    fn render(&self) -> String {
        let mut parts = Vec::new();
        if !self.inputs.is_empty() {
            let n = total(&self.inputs);
            let each: Vec<String> = self
                .inputs
                .iter()
                .map(|(id, l)| format!("{id} ({})", reasons(l)))
                .collect();
            parts.push(format!(
                "input plugins recorded {n} error{}: {}",
                if n == 1 { "" } else { "s" },
                each.join("; ")
            ));
        }
        let mut lost: Vec<String> = self
            .dropped
            .iter()
            .map(|(id, l)| format!("{id} (dropped: {})", reasons(l)))
            .collect();
        lost.extend(
            self.left
                .iter()
                .map(|(id, n)| format!("{id} ({n} left in its disk buffer for the next start)")),
        );
        if !lost.is_empty() {
            let n = total(&self.dropped) + self.left.iter().map(|(_, n)| n).sum::<u64>();
            parts.push(format!(
                "output plugins could not deliver {n} event{}: {}",
                if n == 1 { "" } else { "s" },
                lost.join("; ")
            ));
        }
        if self.timed_out {
            parts.push("the run did not drain within agent.shutdown_timeout".to_owned());
        }
        parts.join("\n")
    }
}

/// Judges a finished one-shot run from its components' counters; `drained` is what
/// [`crate::pipeline::Running::stop`] returned.
pub fn verdict(components: &[ComponentSnapshot], drained: bool) -> Result<(), OnceFailed> {
    let mut failed = OnceFailed {
        inputs: Vec::new(),
        dropped: Vec::new(),
        left: Vec::new(),
        timed_out: !drained,
    };
    for c in components {
        match c.kind {
            ComponentKind::Input => {
                let errors: Vec<_> = c.errors.iter().copied().filter(|(_, n)| *n > 0).collect();
                if !errors.is_empty() {
                    failed.inputs.push((c.id.clone(), errors));
                }
            }
            ComponentKind::Output => {
                let dropped: Vec<_> = c.dropped.iter().copied().filter(|(_, n)| *n > 0).collect();
                if !dropped.is_empty() {
                    failed.dropped.push((c.id.clone(), dropped));
                }
                if c.buffer_events > 0 {
                    failed.left.push((c.id.clone(), c.buffer_events));
                }
            }
            ComponentKind::Filter => {}
        }
    }
    if failed.inputs.is_empty()
        && failed.dropped.is_empty()
        && failed.left.is_empty()
        && !failed.timed_out
    {
        Ok(())
    } else {
        Err(failed)
    }
}

#[cfg(test)]
mod tests {
    use gleaner_api::{ComponentKind, ComponentMetrics};

    use super::*;

    fn snap(id: &str, kind: ComponentKind, f: impl FnOnce(&ComponentMetrics)) -> ComponentSnapshot {
        let m = ComponentMetrics::new(id, kind, "x");
        f(&m);
        m.snapshot()
    }

    #[test]
    fn a_clean_run_passes() {
        let c = [
            snap("inputs.a", ComponentKind::Input, |m| m.received(3, 30)),
            snap("outputs.b", ComponentKind::Output, |m| {
                m.sent(3, 30);
                // A retry that then succeeded is no failure.
                m.error("retryable");
            }),
        ];
        assert_eq!(verdict(&c, true), Ok(()));
    }

    #[test]
    fn gather_errors_drops_and_leftovers_fail_with_each_named() {
        let c = [
            snap("inputs.prometheus.0", ComponentKind::Input, |m| {
                m.error("scrape_transport");
            }),
            snap("inputs.kubelet.0", ComponentKind::Input, |m| {
                m.error("kubelet_unauthorized");
            }),
            snap("filters.f", ComponentKind::Filter, |m| {
                m.dropped("excluded", 4)
            }),
            snap("outputs.influxdb.0", ComponentKind::Output, |m| {
                m.dropped("shutdown_timeout", 5);
            }),
            snap("outputs.splunk_hec.0", ComponentKind::Output, |m| {
                m.buffer_events
                    .store(7, std::sync::atomic::Ordering::Relaxed);
            }),
        ];
        let e = verdict(&c, false).unwrap_err();
        assert_eq!(
            e.to_string(),
            "input plugins recorded 2 errors: inputs.prometheus.0 (scrape_transport x1); \
             inputs.kubelet.0 (kubelet_unauthorized x1)\n\
             output plugins could not deliver 12 events: outputs.influxdb.0 (dropped: \
             shutdown_timeout x5); outputs.splunk_hec.0 (7 left in its disk buffer for the next \
             start)\n\
             the run did not drain within agent.shutdown_timeout"
        );
    }
}
