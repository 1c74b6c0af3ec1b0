//! Batches in flight and the commits that wait for them: a group of commits is released only
//! when its batch and every batch before it were delivered, whatever order the outcomes
//! come in. A failed batch (the pipeline is closing) stops the release for good: nothing
//! after it is committed, and those events are sent again after a restart.

use std::collections::VecDeque;

use gleaner_api::{Ack, AckStatus};

use super::seen::Commit;

#[derive(Debug)]
struct Entry {
    id: u64,
    status: Option<AckStatus>,
    commits: Vec<Commit>,
}

/// The queue of groups.
#[derive(Debug, Default)]
pub(crate) struct Pending {
    next_id: u64,
    queue: VecDeque<Entry>,
    ready: Vec<Commit>,
    failed: bool,
}

impl Pending {
    /// Registers the commits of a batch about to be sent; returns the id for its token.
    pub(crate) fn register(&mut self, commits: Vec<Commit>) -> u64 {
        let id = self.next_id;
        self.next_id += 1;
        self.queue.push_back(Entry {
            id,
            status: None,
            commits,
        });
        id
    }

    /// Registers commits that go with no batch (skipped duplicates, a finished list): they
    /// are released once every batch before them is.
    pub(crate) fn register_settled(&mut self, commits: Vec<Commit>) {
        if commits.is_empty() {
            return;
        }
        let id = self.register(commits);
        self.settle(Ack {
            id,
            status: AckStatus::Delivered,
        });
    }

    /// Records an outcome and releases the delivered prefix.
    pub(crate) fn settle(&mut self, ack: Ack) {
        let Some(front) = self.queue.front() else {
            return;
        };
        let Some(i) = ack.id.checked_sub(front.id) else {
            return;
        };
        let Some(e) = usize::try_from(i).ok().and_then(|i| self.queue.get_mut(i)) else {
            return;
        };
        e.status = Some(ack.status);
        while let Some(front) = self.queue.front() {
            match front.status {
                Some(AckStatus::Delivered) if !self.failed => {
                    if let Some(e) = self.queue.pop_front() {
                        self.ready.extend(e.commits);
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

    /// The commits released since the last call, in order.
    pub(crate) fn take_ready(&mut self) -> Vec<Commit> {
        std::mem::take(&mut self.ready)
    }

    /// True when no batch awaits an outcome (or a failure stopped the release).
    pub(crate) fn settled(&self) -> bool {
        self.failed || self.queue.iter().all(|e| e.status.is_some())
    }

    /// Batches awaiting an outcome.
    pub(crate) fn in_flight(&self) -> usize {
        self.queue.iter().filter(|e| e.status.is_none()).count()
    }
}
