//! Turning buffered batches into requests: consecutive batches of one kind are joined up to
//! `max_events`; a batch larger than that is cut. Order is kept.

use gleaner_api::Batch;

/// Joins and cuts `batches` into requests of at most `max_events` events (at least 1).
pub(crate) fn plan_requests(batches: Vec<Batch>, max_events: usize) -> Vec<Batch> {
    let max = max_events.max(1);
    let mut out: Vec<Batch> = Vec::new();
    for b in batches {
        let mut b = b;
        loop {
            if b.is_empty() {
                break;
            }
            let room = match out.last() {
                Some(last) if last.kind() == b.kind() && last.len() < max => max - last.len(),
                _ => 0,
            };
            if room == 0 {
                if b.len() <= max {
                    out.push(b);
                    break;
                }
                let rest = cut(&mut b, max);
                out.push(b);
                b = rest;
                continue;
            }
            let take = room.min(b.len());
            let rest = cut(&mut b, take);
            if let Some(last) = out.last_mut() {
                append(last, b);
            }
            b = rest;
        }
    }
    out
}

/// Keeps the first `n` events in `b`, returns the rest.
fn cut(b: &mut Batch, n: usize) -> Batch {
    match b {
        Batch::Metrics(v) => Batch::Metrics(v.split_off(n.min(v.len()))),
        Batch::Logs(v) => Batch::Logs(v.split_off(n.min(v.len()))),
    }
}

fn append(into: &mut Batch, from: Batch) {
    match (into, from) {
        (Batch::Metrics(a), Batch::Metrics(b)) => a.extend(b),
        (Batch::Logs(a), Batch::Logs(b)) => a.extend(b),
        // Kinds are checked by the caller.
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use gleaner_api::{LogRecord, Metric, Stream};

    fn logs(ids: std::ops::Range<i64>) -> Batch {
        Batch::Logs(
            ids.map(|i| LogRecord::new(i, "x", Stream::Stdout))
                .collect(),
        )
    }

    fn flat(v: &[Batch]) -> Vec<i64> {
        v.iter()
            .flat_map(|b| match b {
                Batch::Logs(l) => l.iter().map(|r| r.timestamp).collect::<Vec<_>>(),
                Batch::Metrics(m) => m.iter().map(|r| r.timestamp).collect(),
            })
            .collect()
    }

    #[test]
    fn joins_cuts_and_keeps_order() {
        let input = vec![
            logs(0..3),
            logs(3..4),
            logs(4..15),
            Batch::Metrics(vec![Metric::new("m", 15)]),
            logs(16..18),
        ];
        let out = plan_requests(input, 5);
        assert_eq!(
            out.iter().map(Batch::len).collect::<Vec<_>>(),
            vec![5, 5, 5, 1, 2]
        );
        assert_eq!(out[3].kind(), gleaner_api::EventKind::Metrics);
        assert_eq!(flat(&out), (0..18).collect::<Vec<_>>());
    }
}
