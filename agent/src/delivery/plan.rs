//! Turning buffered batches into requests, as they are read: consecutive batches of one kind
//! are joined up to `max_events`; a batch larger than that is cut. Order is kept, and at most
//! one request (plus what is carried over) is decoded at a time.
//!
//! Cutting is linear: what is left of a large batch is carried as [`BatchPieces`], and each
//! request moves its events out of it once. (Cutting with `Vec::split_off` copied the whole
//! remainder into a new allocation per request, and left each request holding the capacity of
//! everything after it: a 4,000,000-event batch drained at about 6,000 events a second.)

use gleaner_api::{Batch, BatchPieces};

/// Builds requests of at most `max_events` events from a stream of batches.
#[derive(Debug)]
pub(crate) struct Planner {
    max: usize,
    carry: Option<BatchPieces>,
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
        let mut req: Option<Batch> = None;
        loop {
            let have = req.as_ref().map_or(0, Batch::len);
            if have >= self.max {
                return req;
            }
            if let Some(carry) = &mut self.carry {
                if req.as_ref().is_some_and(|r| r.kind() != carry.kind()) {
                    return req;
                }
                let piece = carry.take(self.max - have);
                if carry.is_empty() {
                    self.carry = None;
                }
                match &mut req {
                    None => req = Some(piece),
                    Some(r) => append(r, piece, self.max),
                }
                continue;
            }
            let Some(b) = next() else {
                return req.filter(|r| !r.is_empty());
            };
            if b.is_empty() {
                continue;
            }
            match &mut req {
                // The common case: a whole batch is the request, nothing is moved.
                None if b.len() <= self.max => req = Some(b),
                Some(r) if r.kind() == b.kind() && have + b.len() <= self.max => {
                    append(r, b, self.max);
                }
                Some(r) if r.kind() != b.kind() => {
                    self.carry = Some(b.into_pieces());
                    return req;
                }
                // Larger than the room left: the loop takes what fits from the carry.
                _ => self.carry = Some(b.into_pieces()),
            }
        }
    }

    /// What was taken from the stream but not yet handed out, as one batch.
    pub(crate) fn take_carried(&mut self) -> Option<Batch> {
        let mut carry = self.carry.take()?;
        let n = carry.len();
        Some(carry.take(n)).filter(|b| !b.is_empty())
    }

    /// Events taken from the stream but not yet handed out.
    pub(crate) fn carried(&self) -> usize {
        self.carry.as_ref().map_or(0, BatchPieces::len)
    }
}

/// Appends `from` to a request of at most `max` events.
fn append(into: &mut Batch, from: Batch, max: usize) {
    match (into, from) {
        (Batch::Metrics(a), Batch::Metrics(b)) => {
            grow(a, b.len(), max);
            a.extend(b);
        }
        (Batch::Logs(a), Batch::Logs(b)) => {
            grow(a, b.len(), max);
            a.extend(b);
        }
        // Kinds are checked by the caller.
        _ => {}
    }
}

/// Room for `more` events in a request of at most `max`: doubling, but never past `max`
/// (a request of 2,600 joined from batches of 1,024 held room for 4,096 events while in
/// flight).
fn grow<T>(v: &mut Vec<T>, more: usize, max: usize) {
    let need = v.len() + more;
    if need > v.capacity() {
        let want = need.max(max.min(v.len().saturating_mul(2)));
        v.reserve_exact(want - v.len());
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

    /// Event slots allocated for the requests of one large batch: linear in its events.
    /// Cutting by `split_off` allocated the whole remainder again for every request (and left
    /// each request holding it): about events² / (2 × max) slots, 50,000,000 here.
    #[test]
    fn cutting_a_large_batch_is_linear() {
        let n = 100_000;
        let mut input = vec![logs(0..n)].into_iter();
        let mut p = Planner::new(100);
        let (mut requests, mut events, mut slots) = (0usize, 0usize, 0usize);
        let mut order_kept = true;
        while let Some(r) = p.next_request(|| input.next()) {
            let Batch::Logs(v) = &r else {
                panic!("a logs batch came out as metrics")
            };
            order_kept &= v.first().is_some_and(|l| l.timestamp == events as i64);
            requests += 1;
            events += v.len();
            slots += v.capacity();
        }
        assert!(order_kept, "requests out of order");
        assert_eq!(events, n as usize);
        assert_eq!(requests, 1_000);
        assert!(
            slots <= 2 * n as usize,
            "{slots} event slots allocated to cut {n} events into requests of 100"
        );
    }

    /// A request joined from smaller batches holds room for at most its `max` events.
    #[test]
    fn a_joined_request_holds_no_room_past_its_max() {
        let mut input = (0..10)
            .map(|i| logs(i * 1_024..(i + 1) * 1_024))
            .collect::<Vec<_>>();
        input.reverse();
        let mut p = Planner::new(2_600);
        let mut events = 0;
        while let Some(r) = p.next_request(|| input.pop()) {
            let Batch::Logs(v) = &r else {
                panic!("a logs batch came out as metrics")
            };
            assert!(v.len() <= 2_600);
            assert!(
                v.capacity() <= 2_600,
                "room for {} events in a request of {}",
                v.capacity(),
                v.len()
            );
            events += v.len();
        }
        assert_eq!(events, 10 * 1_024);
    }

    #[test]
    fn a_carried_rest_is_joined_with_the_next_batch_of_its_kind() {
        let mut input = vec![
            logs(0..7),
            logs(7..9),
            Batch::Metrics(vec![Metric::new("m", 9)]),
        ]
        .into_iter();
        let mut p = Planner::new(3);
        let first = p.next_request(|| input.next()).map(|b| b.len());
        assert_eq!(first, Some(3));
        assert_eq!(p.carried(), 4);
        let mut out = Vec::new();
        while let Some(r) = p.next_request(|| input.next()) {
            out.push(r);
        }
        assert_eq!(
            out.iter().map(Batch::len).collect::<Vec<_>>(),
            vec![3, 3, 1]
        );
        assert_eq!(flat(&out), (3..10).collect::<Vec<_>>());
        assert_eq!(p.carried(), 0);
    }
}
