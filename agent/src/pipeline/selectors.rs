//! The router's side of the selectors ([`gleaner_api::selector`]): counting what they drop on
//! the component whose selectors dropped it, and running a filter on only the metrics its
//! selectors choose.

use gleaner_api::selector::{Drops, Rejection, Selectors};
use gleaner_api::{Batch, ComponentMetrics, Filter, Metric};

/// Counts selector drops on a component, each under its reason (`selector_namedrop`, ...).
pub(crate) fn count(metrics: &ComponentMetrics, drops: &Drops) {
    for (reason, n) in drops.nonzero() {
        metrics.dropped(reason, n);
    }
}

/// Runs `filter` on the metrics `selectors` choose, trimmed by them (a metric left without
/// fields is dropped and counted on the filter), as Telegraf runs a processor; the others go
/// around it untouched. Order is kept: the filter sees each run of consecutive chosen
/// metrics as one batch, so a filter that keeps every metric it is given changes nothing
/// else about the batch.
pub(crate) fn process_selected(
    selectors: &Selectors,
    filter: &mut dyn Filter,
    counters: &ComponentMetrics,
    ms: &mut Vec<Metric>,
) {
    let mut out = Vec::with_capacity(ms.len());
    let mut run: Vec<Metric> = Vec::new();
    let mut drops = Drops::default();
    let (mut received, mut sent) = (0u64, 0u64);
    let mut flush = |run: &mut Vec<Metric>, out: &mut Vec<Metric>| {
        if run.is_empty() {
            return;
        }
        let mut b = Batch::Metrics(std::mem::take(run));
        filter.process(&mut b);
        sent += b.len() as u64;
        if let Batch::Metrics(v) = b {
            out.extend(v);
        }
    };
    for mut m in ms.drain(..) {
        if selectors.select(&m).is_err() {
            flush(&mut run, &mut out);
            out.push(m);
            continue;
        }
        received += 1;
        match selectors.modify(&mut m) {
            Ok(()) => run.push(m),
            Err(why) => drops.add(why),
        }
    }
    flush(&mut run, &mut out);
    *ms = out;
    counters.received(received, 0);
    count(counters, &drops);
    counters.sent(sent, 0);
    debug_assert_eq!(drops.total(), drops.get(Rejection::NoFields));
}

#[cfg(test)]
mod tests {
    use super::*;
    use gleaner_api::FieldValue;

    /// Renames every metric it sees to `seen_<name>` and drops `gone`.
    struct Mark;
    impl Filter for Mark {
        fn process(&mut self, batch: &mut Batch) {
            if let Batch::Metrics(v) = batch {
                v.retain(|m| m.measurement != "gone");
                for m in v {
                    m.measurement = format!("seen_{}", m.measurement);
                }
            }
        }
    }

    fn m(name: &str, fields: &[&str]) -> Metric {
        fields.iter().fold(Metric::new(name, 1), |m, f| {
            m.with_field(*f, FieldValue::Int(1))
        })
    }

    #[test]
    fn only_chosen_metrics_reach_the_filter_trimmed_and_in_order() {
        let t = toml::de::DeTable::parse("namepass = [\"a*\", \"gone\"]\nfieldexclude = [\"x\"]\n")
            .expect("toml");
        let s = Selectors::from_table(t.get_ref(), "filters.f.0")
            .expect("valid")
            .expect("some");
        let counters = ComponentMetrics::detached("f");
        let mut ms = vec![
            m("a1", &["x", "y"]),
            m("b", &["x"]),
            m("a2", &["x"]),
            m("gone", &["y"]),
            m("a3", &["y"]),
            m("c", &["y"]),
        ];
        process_selected(&s, &mut Mark, &counters, &mut ms);
        let got: Vec<(&str, Vec<&str>)> = ms
            .iter()
            .map(|m| {
                (
                    m.measurement.as_str(),
                    m.fields.iter().map(|(k, _)| k.as_str()).collect(),
                )
            })
            .collect();
        assert_eq!(
            got,
            [
                ("seen_a1", vec!["y"]),
                ("b", vec!["x"]),
                ("seen_a3", vec!["y"]),
                ("c", vec!["y"]),
            ]
        );
        assert_eq!(counters.dropped_count("selector_no_fields"), 1);
        let snap = counters.snapshot();
        assert_eq!(snap.events_received, 4);
        assert_eq!(snap.events_sent, 2);
    }
}
