//! The acknowledgement watermark: which offsets may be committed.
//!
//! The reader registers each batch before sending it, with the offset every file it touched
//! had reached when the batch was closed. Outcomes may arrive in any order; an offset becomes
//! committable only when its batch and every batch before it were delivered, so a commit
//! never covers a line whose batch is still in flight. A failed batch (the pipeline is
//! closing) stops the watermark for good: nothing after it is committed, and those lines are
//! read again after a restart.

use std::collections::{HashMap, VecDeque};

use gleaner_api::{Ack, AckStatus};

use super::file::FileKey;
use super::offsets::Commit;

#[derive(Debug)]
struct Entry {
    id: u64,
    status: Option<AckStatus>,
    offsets: Vec<Commit>,
}

/// Batches in flight and the offsets ready to commit.
#[derive(Debug, Default)]
pub(crate) struct Watermark {
    next_id: u64,
    in_flight: VecDeque<Entry>,
    ready: HashMap<FileKey, Commit>,
    /// Acknowledged prefixes of truncated files ([`Commit::ended`]): not merged per file,
    /// since the same file's current offset follows them.
    ended: Vec<Commit>,
    committed: HashMap<FileKey, u64>,
    failed: bool,
}

impl Watermark {
    /// An empty watermark.
    pub(crate) fn new() -> Self {
        Self::default()
    }

    /// Registers a batch carrying `offsets`; returns its id for the acknowledgement token.
    pub(crate) fn register(&mut self, offsets: Vec<Commit>) -> u64 {
        let id = self.next_id;
        self.next_id += 1;
        self.in_flight.push_back(Entry {
            id,
            status: None,
            offsets,
        });
        id
    }

    /// Records an outcome and advances over the delivered prefix.
    pub(crate) fn settle(&mut self, ack: Ack) {
        let Some(front) = self.in_flight.front() else {
            return;
        };
        let Some(i) = ack.id.checked_sub(front.id) else {
            return;
        };
        let Some(e) = self.in_flight.get_mut(i as usize) else {
            return;
        };
        e.status = Some(ack.status);
        while let Some(front) = self.in_flight.front() {
            match front.status {
                Some(AckStatus::Delivered) if !self.failed => {
                    let Some(e) = self.in_flight.pop_front() else {
                        break;
                    };
                    for c in e.offsets {
                        if c.ended {
                            self.ended.push(c);
                            continue;
                        }
                        self.committed.insert(c.key, c.offset);
                        self.ready.insert(c.key, c);
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

    /// Offsets ready to commit since the last call (latest per file), after the prefixes of
    /// truncated files acknowledged meanwhile. The map goes with them: after a burst over many
    /// files it would otherwise keep its largest table.
    pub(crate) fn take_ready(&mut self) -> Vec<Commit> {
        let mut out = std::mem::take(&mut self.ended);
        out.extend(std::mem::take(&mut self.ready).into_values());
        out
    }

    /// True when no batch awaits an outcome (or a failure stopped the watermark).
    pub(crate) fn settled(&self) -> bool {
        self.failed || self.in_flight.iter().all(|e| e.status.is_some())
    }

    /// Batches awaiting an outcome.
    pub(crate) fn in_flight(&self) -> usize {
        self.in_flight.len()
    }

    /// The acknowledged offset of a file, if any batch of it was delivered.
    pub(crate) fn committed(&self, key: &FileKey) -> Option<u64> {
        self.committed.get(key).copied()
    }

    /// Forgets a file that is closed for good (bounded memory over pod churn).
    pub(crate) fn forget(&mut self, key: &FileKey) {
        self.committed.remove(key);
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use gleaner_api::{Ack, AckStatus};

    use super::*;
    use crate::tail::file::Fingerprint;

    fn c(ino: u64, offset: u64) -> Commit {
        Commit {
            key: FileKey { dev: 1, ino },
            fp: Fingerprint::default(),
            path: Arc::from(std::path::Path::new("/x")),
            offset,
            ended: false,
        }
    }

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
    fn out_of_order_acks_wait_for_the_prefix() {
        let mut w = Watermark::new();
        let a = w.register(vec![c(1, 100)]);
        let b = w.register(vec![c(1, 200), c(2, 50)]);
        let d = w.register(vec![c(1, 300)]);
        w.settle(ack(b, true));
        assert!(w.take_ready().is_empty(), "batch a is still in flight");
        w.settle(ack(d, true));
        assert!(w.take_ready().is_empty());
        assert!(!w.settled());
        w.settle(ack(a, true));
        let mut ready = w.take_ready();
        ready.sort_by_key(|c| c.key);
        assert_eq!(ready, vec![c(1, 300), c(2, 50)]);
        assert!(w.settled());
        assert_eq!(w.committed(&FileKey { dev: 1, ino: 1 }), Some(300));
    }

    #[test]
    fn a_failure_stops_the_watermark() {
        let mut w = Watermark::new();
        let a = w.register(vec![c(1, 100)]);
        let b = w.register(vec![c(1, 200)]);
        let d = w.register(vec![c(1, 300)]);
        w.settle(ack(a, true));
        w.settle(ack(b, false));
        w.settle(ack(d, true));
        assert_eq!(w.take_ready(), vec![c(1, 100)]);
        assert!(w.settled());
        let e = w.register(vec![c(1, 400)]);
        w.settle(ack(e, true));
        assert!(w.take_ready().is_empty());
    }

    #[test]
    fn the_prefix_of_a_truncated_file_is_kept_beside_its_new_offset() {
        let mut w = Watermark::new();
        let a = w.register(vec![c(1, 500)]);
        let b = w.register(vec![
            Commit {
                ended: true,
                ..c(1, 900)
            },
            c(1, 40),
        ]);
        w.settle(ack(a, true));
        w.settle(ack(b, true));
        assert_eq!(
            w.take_ready(),
            vec![
                Commit {
                    ended: true,
                    ..c(1, 900)
                },
                c(1, 40)
            ],
            "the prefix first, then the file's current offset"
        );
        assert_eq!(w.committed(&FileKey { dev: 1, ino: 1 }), Some(40));
    }

    #[test]
    fn unknown_ids_are_ignored() {
        let mut w = Watermark::new();
        w.settle(ack(5, true));
        let a = w.register(vec![c(1, 1)]);
        w.settle(ack(a + 10, true));
        assert!(!w.settled());
    }
}
