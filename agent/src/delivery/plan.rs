//! Turning buffered batches into requests, as they are read: consecutive batches of one kind
//! are joined up to `max_events`; a batch larger than that is cut. Order is kept, and at most
//! one request (plus what is carried over) is decoded at a time.

use gleaner_api::Batch;

/// Builds requests of at most `max_events` events from a stream of batches.
#[derive(Debug)]
pub(crate) struct Planner {
    max: usize,
    carry: Option<Batch>,
}

impl Planner {
    pub(crate) fn new(max_events: usize) -> Self {
        Planner {
            max: max_events.max(1),
            carry: None,
        }
    }

    /// Changes the request size from the next request on (the worker learns what fits).
    pub(crate) fn set_max(&mut self, max_events: usize) {
        self.max = max_events.max(1);
    }

    /// The next request, pulling batches from `next` as needed; `None` when both are empty.
    pub(crate) fn next_request(
        &mut self,
        mut next: impl FnMut() -> Option<Batch>,
    ) -> Option<Batch> {
        let mut req = self.carry.take();
        loop {
            if let Some(r) = &mut req
                && r.len() >= self.max
            {
                let rest = cut(r, self.max);
                if !rest.is_empty() {
                    self.carry = Some(rest);
                }
                return req;
            }
            let Some(b) = next() else {
                return req.filter(|r| !r.is_empty());
            };
            if b.is_empty() {
                continue;
            }
            match &mut req {
                None => req = Some(b),
                Some(r) if r.kind() == b.kind() => append(r, b),
                Some(_) => {
                    self.carry = Some(b);
                    return req;
                }
            }
        }
    }

    /// Events taken from the stream but not yet handed out.
    pub(crate) fn carried(&self) -> usize {
        self.carry.as_ref().map_or(0, Batch::len)
    }
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
        let mut input = vec![
            logs(0..3),
            logs(3..4),
            logs(4..15),
            Batch::Metrics(vec![Metric::new("m", 15)]),
            logs(16..18),
        ]
        .into_iter();
        let mut p = Planner::new(5);
        let mut out = Vec::new();
        while let Some(r) = p.next_request(|| input.next()) {
            out.push(r);
        }
        assert_eq!(
            out.iter().map(Batch::len).collect::<Vec<_>>(),
            vec![5, 5, 5, 1, 2]
        );
        assert_eq!(out[3].kind(), gleaner_api::EventKind::Metrics);
        assert_eq!(flat(&out), (0..18).collect::<Vec<_>>());
        assert_eq!(p.carried(), 0);
    }
}
