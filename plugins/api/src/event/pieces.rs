//! Cutting a batch into smaller ones in order, in linear time: [`Batch::into_pieces`].
//!
//! The rest of the batch is held as an iterator and each piece moves its events out once, in
//! one allocation of the piece's size. (`Vec::split_off` from the front copies the whole
//! remainder per piece: quadratic, and each piece kept the capacity of everything after it.)

use super::{Batch, EventKind, LogRecord, Metric};

/// What is left of a batch being cut into pieces.
#[derive(Debug)]
pub enum BatchPieces {
    /// Metrics not yet handed out.
    Metrics(std::vec::IntoIter<Metric>),
    /// Log records not yet handed out.
    Logs(std::vec::IntoIter<LogRecord>),
}

impl Batch {
    /// This batch as pieces to take from the front with [`BatchPieces::take`].
    pub fn into_pieces(self) -> BatchPieces {
        match self {
            Batch::Metrics(v) => BatchPieces::Metrics(v.into_iter()),
            Batch::Logs(v) => BatchPieces::Logs(v.into_iter()),
        }
    }
}

impl BatchPieces {
    /// Events left.
    pub fn len(&self) -> usize {
        match self {
            BatchPieces::Metrics(it) => it.len(),
            BatchPieces::Logs(it) => it.len(),
        }
    }

    /// True when every event was handed out.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The kind of the events.
    pub fn kind(&self) -> EventKind {
        match self {
            BatchPieces::Metrics(_) => EventKind::Metrics,
            BatchPieces::Logs(_) => EventKind::Logs,
        }
    }

    /// The next `n` events (fewer at the end; empty once all were taken).
    pub fn take(&mut self, n: usize) -> Batch {
        match self {
            BatchPieces::Metrics(it) => Batch::Metrics(it.by_ref().take(n).collect()),
            BatchPieces::Logs(it) => Batch::Logs(it.by_ref().take(n).collect()),
        }
    }
}
