//! The acknowledgement ledger of one output: which requests are in flight for which
//! delivery, and how far each delivery's progress may be recorded.
//!
//! With `concurrency` above 1 requests finish in any order, but a delivery's progress (a
//! disk chunk's progress record, its removal) may only count the requests that finished
//! *and* every request issued before them: a later request finishing first must not move
//! progress past an earlier one still in flight or being retried, or a crash would skip the
//! earlier one's events. So every request gets a ticket, in issue order; a finished ticket
//! waits in the ledger until every ticket before it has finished, and only then is its count
//! added to its delivery's progress ([`Ledger::release`]). A delivery is done once it gives
//! no more requests and its last ticket is released; deliveries are done in the order they
//! were opened.

use std::collections::VecDeque;

/// One delivery taken from the buffer, with its progress.
#[derive(Debug)]
struct Open<D> {
    /// Serial number of the delivery (tickets name it).
    serial: u64,
    /// The delivery itself, handed back when done.
    delivery: D,
    /// Its buffer key (the disk chunk), given back with its progress.
    key: Option<u64>,
    /// Events finished in order so far (what was delivered before a restart included).
    finished: u64,
    /// No more requests will be issued for it.
    exhausted: bool,
}

/// One request issued.
#[derive(Debug)]
struct Ticket {
    id: u64,
    serial: u64,
    /// Events the request carries.
    events: u64,
    /// Events accepted or rejected for good, once the request finished.
    finished: Option<u64>,
}

/// What a release lets the worker record.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Released<D> {
    /// The first `events` events of the delivery keyed `key` are finished (it is not done).
    Progress {
        /// The delivery's buffer key.
        key: Option<u64>,
        /// Events finished, in order.
        events: u64,
    },
    /// Every event of this delivery is finished.
    Done(D),
}

/// Deliveries in hand and the requests issued for them, in order.
#[derive(Debug)]
pub(crate) struct Ledger<D> {
    open: VecDeque<Open<D>>,
    tickets: VecDeque<Ticket>,
    next_serial: u64,
    next_ticket: u64,
}

impl<D> Default for Ledger<D> {
    fn default() -> Self {
        Ledger {
            open: VecDeque::new(),
            tickets: VecDeque::new(),
            next_serial: 0,
            next_ticket: 0,
        }
    }
}

impl<D> Ledger<D> {
    /// Takes a delivery in hand; the requests issued from now on are its, until the next
    /// `open`. `sent_before` is what an earlier run delivered of it.
    pub(crate) fn open(&mut self, delivery: D, key: Option<u64>, sent_before: u64) {
        if let Some(last) = self.open.back_mut() {
            last.exhausted = true;
        }
        self.open.push_back(Open {
            serial: self.next_serial,
            delivery,
            key,
            finished: sent_before,
            exhausted: false,
        });
        self.next_serial += 1;
    }

    /// The delivery requests are issued from (the last opened, unless exhausted).
    pub(crate) fn current_mut(&mut self) -> Option<&mut D> {
        self.open
            .back_mut()
            .filter(|o| !o.exhausted)
            .map(|o| &mut o.delivery)
    }

    /// The current delivery gives no more requests.
    pub(crate) fn exhaust(&mut self) {
        if let Some(last) = self.open.back_mut() {
            last.exhausted = true;
        }
    }

    /// Issues a ticket for a request of `events` events of the current delivery.
    ///
    /// # Panics
    /// When no delivery is open (a worker bug).
    pub(crate) fn issue(&mut self, events: u64) -> u64 {
        let serial = self
            .open
            .back()
            .map(|o| o.serial)
            .expect("a ticket is issued for an open delivery");
        let id = self.next_ticket;
        self.next_ticket += 1;
        self.tickets.push_back(Ticket {
            id,
            serial,
            events,
            finished: None,
        });
        id
    }

    /// The request of `ticket` finished: `events` of its events are accepted or rejected
    /// for good. Unknown tickets are ignored.
    pub(crate) fn finish(&mut self, ticket: u64, events: u64) {
        if let Some(t) = self.tickets.iter_mut().find(|t| t.id == ticket) {
            t.finished = Some(events);
        }
    }

    /// Tickets issued and not yet released (finished or not).
    pub(crate) fn unreleased(&self) -> usize {
        self.tickets.len()
    }

    /// Deliveries in hand.
    pub(crate) fn deliveries(&self) -> usize {
        self.open.len()
    }

    /// Events of the requests issued and not finished (what an abort abandons of them),
    /// but for ticket `except`.
    pub(crate) fn unfinished_events(&self, except: Option<u64>) -> u64 {
        self.tickets
            .iter()
            .filter(|t| t.finished.is_none() && Some(t.id) != except)
            .map(|t| t.events)
            .sum()
    }

    /// Moves the finished tickets at the front into their deliveries' progress, in order,
    /// and hands back each delivery that is done; stops at the first ticket still in flight.
    pub(crate) fn release(&mut self) -> Vec<Released<D>> {
        let mut advanced: Vec<u64> = Vec::new();
        while let Some(t) = self.tickets.front() {
            let Some(done) = t.finished else { break };
            let serial = t.serial;
            self.tickets.pop_front();
            if let Some(o) = self.open.iter_mut().find(|o| o.serial == serial) {
                o.finished += done;
                if advanced.last() != Some(&serial) {
                    advanced.push(serial);
                }
            }
        }
        let mut out = Vec::new();
        // Front deliveries with nothing more to come are done, in order.
        while let Some(front) = self.open.front() {
            let pending = self.tickets.iter().any(|t| t.serial == front.serial);
            if !front.exhausted || pending {
                break;
            }
            if let Some(o) = self.open.pop_front() {
                advanced.retain(|s| *s != o.serial);
                out.push(Released::Done(o.delivery));
            }
        }
        // A delivery done in this release reports no progress at all. The done ones come
        // first: a disk buffer keeps one progress record, so it moves on to the next chunk
        // only once the chunk before is removed (a crash in between re-sends the next
        // chunk's first events, never the whole of the one before).
        let progress = advanced.into_iter().filter_map(|s| {
            self.open
                .iter()
                .find(|o| o.serial == s)
                .map(|o| Released::Progress {
                    key: o.key,
                    events: o.finished,
                })
        });
        out.extend(progress);
        out
    }
}

#[cfg(test)]
mod tests;
