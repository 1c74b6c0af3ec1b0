//! The acknowledgement watermark of one ordered stream: each batch is registered with the
//! cursor of its last entry; outcomes may arrive in any order, and a cursor becomes
//! committable only when its batch and every batch before it were delivered. A failed batch
//! (the pipeline is closing) stops the watermark: nothing after it is committed, and those
//! entries are read again after a restart. (The tail's watermark is the same idea keyed by
//! file; the journal is one stream.)

use std::collections::VecDeque;

use gleaner_api::{Ack, AckStatus};

/// Batches in flight and the newest committable cursor.
#[derive(Debug, Default)]
pub(crate) struct Watermark {
    next_id: u64,
    in_flight: VecDeque<(u64, Option<String>, Option<AckStatus>)>,
    ready: Option<String>,
    failed: bool,
}

impl Watermark {
    /// Registers a batch whose last entry has `cursor`; returns its id.
    pub(crate) fn register(&mut self, cursor: Option<String>) -> u64 {
        let id = self.next_id;
        self.next_id += 1;
        self.in_flight.push_back((id, cursor, None));
        id
    }

    /// Records an outcome and advances over the delivered prefix.
    pub(crate) fn settle(&mut self, ack: Ack) {
        let Some(front) = self.in_flight.front() else {
            return;
        };
        let Some(i) = ack.id.checked_sub(front.0) else {
            return;
        };
        let Some(e) = self.in_flight.get_mut(i as usize) else {
            return;
        };
        e.2 = Some(ack.status);
        while let Some(front) = self.in_flight.front() {
            match front.2 {
                Some(AckStatus::Delivered) if !self.failed => {
                    if let Some((_, Some(c), _)) = self.in_flight.pop_front() {
                        self.ready = Some(c);
                    }
                }
                Some(AckStatus::Failed) => {
                    self.failed = true;
                    break;
                }
                _ => break,
            }
        }
    }

    /// The newest cursor acknowledged since the last call.
    pub(crate) fn take_ready(&mut self) -> Option<String> {
        self.ready.take()
    }

    /// True when no batch awaits an outcome (or a failure stopped the watermark).
    pub(crate) fn settled(&self) -> bool {
        self.failed || self.in_flight.iter().all(|e| e.2.is_some())
    }

    /// Batches awaiting an outcome.
    pub(crate) fn in_flight(&self) -> usize {
        self.in_flight.iter().filter(|e| e.2.is_none()).count()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ack(id: u64, ok: bool) -> Ack {
        Ack {
            id,
            status: if ok {
                AckStatus::Delivered
            } else {
                AckStatus::Failed
            },
        }
    }

    #[test]
    fn a_cursor_waits_for_every_earlier_batch() {
        let mut w = Watermark::default();
        let a = w.register(Some("a".into()));
        let b = w.register(Some("b".into()));
        let c = w.register(None);
        let d = w.register(Some("d".into()));
        w.settle(ack(b, true));
        assert_eq!(w.take_ready(), None, "a is still in flight");
        w.settle(ack(a, true));
        assert_eq!(w.take_ready().as_deref(), Some("b"));
        w.settle(ack(c, true));
        assert_eq!(
            w.take_ready(),
            None,
            "a batch without a cursor moves nothing"
        );
        assert!(!w.settled());
        w.settle(ack(d, true));
        assert_eq!(w.take_ready().as_deref(), Some("d"));
        assert!(w.settled());
    }

    #[test]
    fn a_failure_stops_the_watermark() {
        let mut w = Watermark::default();
        let a = w.register(Some("a".into()));
        let b = w.register(Some("b".into()));
        let c = w.register(Some("c".into()));
        w.settle(ack(a, true));
        w.settle(ack(b, false));
        w.settle(ack(c, true));
        assert_eq!(w.take_ready().as_deref(), Some("a"));
        assert!(w.settled());
        let d = w.register(Some("d".into()));
        w.settle(ack(d, true));
        assert_eq!(w.take_ready(), None);
    }
}
