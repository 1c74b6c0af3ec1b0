//! Bodies of log records already written to a disk buffer, handed back to the inputs that
//! make records. A record's body is allocated by the input that reads its line and, on the
//! way through a disk buffer, freed by the buffer's writer once the record is in a chunk:
//! a malloc on one thread and a free on another, per line. Here the writer leaves the
//! bodies instead ([`give_back`]) and an input takes them a batch at a time ([`take`]) to
//! copy its next lines into.
//!
//! Bounded: at most [`MAX_BODIES`] bodies of at most [`MAX_BODY`] bytes each are kept, so
//! the pool never holds more than 2 MiB; what does not fit is freed as before. Only
//! memory passes through: a taken body is cleared before it is written.

use std::sync::{Mutex, PoisonError};

use super::LogRecord;

/// Bodies kept at most (two of the tail's batches).
pub const MAX_BODIES: usize = 2048;

/// A body whose allocation is larger than this is freed, not kept.
pub const MAX_BODY: usize = 1024;

static SPARES: Mutex<Vec<Vec<u8>>> = Mutex::new(Vec::new());

/// Keeps the bodies of `logs` (their records are left with empty bodies), as many as there
/// is room for; call it when the records are no longer read, before they are dropped.
pub fn give_back(logs: &mut [LogRecord]) {
    let mut spares = SPARES.lock().unwrap_or_else(PoisonError::into_inner);
    if spares.len() >= MAX_BODIES {
        return;
    }
    if spares.capacity() == 0 {
        spares.reserve_exact(MAX_BODIES);
    }
    for r in logs {
        if spares.len() >= MAX_BODIES {
            break;
        }
        let cap = r.body.capacity();
        if cap > 0 && cap <= MAX_BODY {
            spares.push(std::mem::take(&mut r.body));
        }
    }
}

/// Moves up to `n` kept bodies into `into` (not cleared: the caller clears each before use).
pub fn take(into: &mut Vec<Vec<u8>>, n: usize) {
    let mut spares = SPARES.lock().unwrap_or_else(PoisonError::into_inner);
    let from = spares.len().saturating_sub(n);
    into.extend(spares.drain(from..));
}

/// A body holding `content`: a kept one refilled when `spares` has one, else a new one.
pub fn body_from(spares: &mut Vec<Vec<u8>>, content: &[u8]) -> Vec<u8> {
    match spares.pop() {
        Some(mut b) => {
            b.clear();
            b.extend_from_slice(content);
            b
        }
        None => content.to_vec(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::event::Stream;

    /// One test touches the process-wide pool, so nothing else races it.
    #[test]
    fn bodies_go_round_bounded_and_come_back_with_only_their_new_content() {
        let mut drained = Vec::new();
        take(&mut drained, usize::MAX);
        let record = |len: usize| LogRecord::new(0, vec![b'x'; len], Stream::Stdout);
        let mut logs: Vec<LogRecord> = (0..MAX_BODIES + 10)
            .map(|i| record(if i % 2 == 0 { 10 } else { MAX_BODY + 1 }))
            .collect();
        give_back(&mut logs);
        // The small bodies went to the pool; the large ones stayed with their records.
        assert!(logs.iter().step_by(2).all(|r| r.body.is_empty()));
        assert!(
            logs.iter()
                .skip(1)
                .step_by(2)
                .all(|r| r.body.len() == MAX_BODY + 1)
        );
        let mut more: Vec<LogRecord> = (0..MAX_BODIES).map(|_| record(10)).collect();
        give_back(&mut more);
        let kept = more.iter().filter(|r| r.body.is_empty()).count();
        let mut spares = Vec::new();
        take(&mut spares, usize::MAX);
        assert_eq!(spares.len(), MAX_BODIES, "never more than MAX_BODIES");
        assert_eq!(kept + (MAX_BODIES + 10).div_ceil(2), MAX_BODIES);

        let mut few = Vec::new();
        give_back(&mut [record(5), record(7)]);
        take(&mut few, 1);
        assert_eq!(few.len(), 1);
        let b = body_from(&mut few, b"new line");
        assert_eq!(
            b, b"new line",
            "a kept body holds only what was written into it"
        );
        assert!(few.is_empty());
        assert_eq!(body_from(&mut few, b"fresh"), b"fresh");
        take(&mut drained, usize::MAX);
    }
}
