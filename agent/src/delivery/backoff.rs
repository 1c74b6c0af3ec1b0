//! Exponential backoff with full jitter for retried sends.

use std::time::Duration;

/// Retry delays: `base * 2^attempt`, capped, with jitter in `[d/2, d]`.
#[derive(Debug, Clone)]
pub(crate) struct Backoff {
    base: Duration,
    cap: Duration,
    attempt: u32,
    seed: u64,
}

impl Backoff {
    /// A backoff from `base` up to `cap`.
    pub(crate) fn new(base: Duration, cap: Duration) -> Self {
        let seed = gleaner_api::now_ns().unsigned_abs() | 1;
        Backoff {
            base,
            cap,
            attempt: 0,
            seed,
        }
    }

    /// The next delay.
    pub(crate) fn next_delay(&mut self) -> Duration {
        let exp = self.base.saturating_mul(1u32 << self.attempt.min(20));
        self.attempt = self.attempt.saturating_add(1);
        let d = exp.min(self.cap);
        // xorshift64: cheap jitter, no dependency.
        self.seed ^= self.seed << 13;
        self.seed ^= self.seed >> 7;
        self.seed ^= self.seed << 17;
        let frac = (self.seed % 1000) as u32;
        d / 2 + (d / 2) * frac / 1000
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn grows_and_caps() {
        let mut b = Backoff::new(Duration::from_millis(100), Duration::from_secs(1));
        let d0 = b.next_delay();
        assert!(d0 >= Duration::from_millis(50) && d0 <= Duration::from_millis(100));
        for _ in 0..10 {
            assert!(b.next_delay() <= Duration::from_secs(1));
        }
        let d = b.next_delay();
        assert!(d >= Duration::from_millis(500), "{d:?}");
    }
}
