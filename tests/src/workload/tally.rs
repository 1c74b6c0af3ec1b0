//! The receivers' ledger: how many times each sequence id arrived. Ids are dense from 0, so
//! this is one counter per id (a `u16`, saturating), grown on demand, behind one lock taken
//! once per request.

use std::sync::{Mutex, PoisonError};

/// Arrivals per id, shared between a receiver and the run that checks it.
#[derive(Debug, Default)]
pub struct Tally {
    inner: Mutex<Inner>,
}

#[derive(Debug, Default)]
struct Inner {
    counts: Vec<u16>,
    received: u64,
    distinct: u64,
}

/// The verdict over ids `0..expected`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Verdict {
    /// Ids expected.
    pub expected: u64,
    /// Ids below `expected` that never arrived.
    pub lost: u64,
    /// Arrivals beyond the first of an id.
    pub duplicated: u64,
    /// Arrivals of ids at or above `expected` (should be 0).
    pub unexpected: u64,
}

impl Tally {
    /// An empty ledger.
    pub fn new() -> Tally {
        Tally::default()
    }

    /// Records one request's ids.
    pub fn record(&self, ids: &[u64]) {
        let mut g = self.inner.lock().unwrap_or_else(PoisonError::into_inner);
        for &id in ids {
            let i = usize::try_from(id).unwrap_or(usize::MAX);
            if i >= g.counts.len() {
                // Ids beyond a few hundred million would be a receiver bug, not a workload.
                if i > 1 << 30 {
                    continue;
                }
                let n = (i + 1).next_power_of_two().max(1 << 16);
                g.counts.resize(n, 0);
            }
            if g.counts[i] == 0 {
                g.distinct += 1;
            }
            g.counts[i] = g.counts[i].saturating_add(1);
        }
        g.received += ids.len() as u64;
    }

    /// Distinct ids received so far.
    pub fn distinct(&self) -> u64 {
        self.inner
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .distinct
    }

    /// Arrivals so far, duplicates included.
    pub fn received(&self) -> u64 {
        self.inner
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .received
    }

    /// Lost and duplicated ids over `0..expected`.
    pub fn verdict(&self, expected: u64) -> Verdict {
        let g = self.inner.lock().unwrap_or_else(PoisonError::into_inner);
        let mut v = Verdict {
            expected,
            ..Verdict::default()
        };
        for (i, &c) in g.counts.iter().enumerate() {
            if (i as u64) < expected {
                if c == 0 {
                    v.lost += 1;
                } else {
                    v.duplicated += u64::from(c - 1);
                }
            } else {
                v.unexpected += u64::from(c);
            }
        }
        v.lost += expected.saturating_sub(g.counts.len() as u64);
        v
    }

    /// Up to `n` ids below `expected` that never arrived (for a report).
    pub fn missing(&self, expected: u64, n: usize) -> Vec<u64> {
        let g = self.inner.lock().unwrap_or_else(PoisonError::into_inner);
        (0..expected)
            .filter(|&i| g.counts.get(i as usize).copied().unwrap_or(0) == 0)
            .take(n)
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::Tally;

    #[test]
    fn counts_lost_and_duplicated() {
        let t = Tally::new();
        t.record(&[0, 1, 1, 3]);
        t.record(&[3, 3]);
        let v = t.verdict(5);
        assert_eq!((v.lost, v.duplicated, v.unexpected), (2, 3, 0));
        assert_eq!(t.missing(5, 10), vec![2, 4]);
        assert_eq!(t.distinct(), 3);
        assert_eq!(t.received(), 6);
    }
}
