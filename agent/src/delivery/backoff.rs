//! Retry delays for failed sends: exponential, capped, with *equal jitter*. The n-th delay
//! (from 0) is drawn uniformly from `[d/2, d]`, where `d = min(base * 2^n, cap)` and `base`
//! and `cap` are the buffer's `retry_initial_backoff` and `retry_max_backoff`. A server's
//! `Retry-After` is not handled here: the worker uses it instead of a drawn delay.
//!
//! Why equal jitter rather than full jitter (uniform in `[0, d]`):
//! - A floor. Every retry waits at least half its nominal delay, so `retry_initial_backoff`
//!   keeps its meaning (the first retry comes between half of it and all of it, never at
//!   once), and a destination that is down gets fewer attempts: at the cap, one every `3d/4`
//!   on average instead of every `d/2`, a third fewer requests and warnings per agent.
//! - Still a spread. Agents that failed together (the DaemonSet's agents of every node behind
//!   one HEC or Prometheus that comes back up) spread their retries over half of each window,
//!   which is what breaks their lockstep. Full jitter spreads them over the whole window and
//!   does less total work when many clients compete for one resource (the comparison in
//!   Marc Brooker's "Exponential Backoff And Jitter", AWS Architecture Blog, 2015), at the
//!   price of retries that come almost immediately after a failure.
//!
//! The random source is the agent's xorshift64 (`gleaner_api::random`), seeded from the
//! clock in production and by the caller in tests, so the distribution is tested
//! deterministically.

use std::time::Duration;

/// Retry delays: `base * 2^attempt`, capped at `cap`, each drawn from `[d/2, d]`.
#[derive(Debug, Clone)]
pub(crate) struct Backoff {
    base: Duration,
    cap: Duration,
    attempt: u32,
    state: u64,
}

impl Backoff {
    /// A backoff from `base` up to `cap`, seeded from the clock.
    pub(crate) fn new(base: Duration, cap: Duration) -> Self {
        Self::with_seed(base, cap, gleaner_api::random::seed_from_clock(0))
    }

    /// A backoff whose draws are fixed by `seed` (tests).
    pub(crate) fn with_seed(base: Duration, cap: Duration, seed: u64) -> Self {
        Backoff {
            base,
            cap,
            attempt: 0,
            state: gleaner_api::random::seed(seed),
        }
    }

    /// The next delay.
    pub(crate) fn next_delay(&mut self) -> Duration {
        let nominal = self
            .base
            .saturating_mul(1u32 << self.attempt.min(20))
            .min(self.cap);
        self.attempt = self.attempt.saturating_add(1);
        let low = nominal / 2;
        let span = nominal.saturating_sub(low);
        // Uniform in [0, span]: the random word r scaled to span + 1 steps of a nanosecond,
        // (r * steps) >> 64, computed in two halves of `steps` so that no cap, however large,
        // overflows 128 bits.
        let steps = span.as_nanos() + 1;
        let r = u128::from(self.next_u64());
        let extra = r * (steps >> 64) + ((r * (steps & u128::from(u64::MAX))) >> 64);
        let extra = Duration::new(
            u64::try_from(extra / 1_000_000_000).unwrap_or(u64::MAX),
            u32::try_from(extra % 1_000_000_000).unwrap_or(0),
        );
        low.saturating_add(extra).min(nominal)
    }

    fn next_u64(&mut self) -> u64 {
        gleaner_api::random::xorshift64(&mut self.state)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const MS: Duration = Duration::from_millis(1);

    #[test]
    fn doubles_from_the_base_up_to_the_cap() {
        let mut b = Backoff::with_seed(100 * MS, Duration::from_secs(1), 7);
        for attempt in 0..12u32 {
            let nominal = (100 * MS * 2u32.pow(attempt)).min(Duration::from_secs(1));
            let d = b.next_delay();
            assert!(
                d >= nominal / 2 && d <= nominal,
                "attempt {attempt}: {d:?} outside [{:?}, {nominal:?}]",
                nominal / 2
            );
        }
    }

    /// 20,000 draws at the cap: every one within [d/2, d], spread evenly over that range
    /// (ten equal bins within 10% of their share), centred on 3d/4, reaching both ends. The
    /// seed fixes the draws, so the test gives the same answer on every run.
    #[test]
    fn draws_are_uniform_over_the_upper_half_of_the_nominal_delay() {
        let d = Duration::from_secs(1);
        let mut b = Backoff::with_seed(d, d, 0x9e37_79b9_7f4a_7c15);
        const DRAWS: u32 = 20_000;
        const BINS: usize = 10;
        let mut bins = [0u32; BINS];
        let (mut min, mut max, mut sum) = (d, Duration::ZERO, Duration::ZERO);
        for _ in 0..DRAWS {
            let x = b.next_delay();
            assert!(x >= d / 2 && x <= d, "{x:?} outside [{:?}, {d:?}]", d / 2);
            let pos = (x - d / 2).as_secs_f64() / (d / 2).as_secs_f64();
            bins[((pos * BINS as f64) as usize).min(BINS - 1)] += 1;
            min = min.min(x);
            max = max.max(x);
            sum += x;
        }
        let share = DRAWS / BINS as u32;
        for (i, n) in bins.iter().enumerate() {
            assert!(
                n.abs_diff(share) <= share / 10,
                "bin {i} holds {n} of {DRAWS} draws (expected about {share}): {bins:?}"
            );
        }
        let mean = sum / DRAWS;
        assert!(
            mean.abs_diff(d * 3 / 4) <= 5 * MS,
            "mean {mean:?}, expected about {:?}",
            d * 3 / 4
        );
        assert!(min <= d / 2 + 5 * MS, "lowest draw {min:?}");
        assert!(max >= d - 5 * MS, "highest draw {max:?}");
    }

    #[test]
    fn the_same_seed_gives_the_same_delays() {
        let draws = |seed| {
            let mut b = Backoff::with_seed(MS, Duration::from_secs(60), seed);
            (0..20).map(|_| b.next_delay()).collect::<Vec<_>>()
        };
        assert_eq!(draws(1), draws(1));
        assert_ne!(draws(1), draws(2));
    }

    /// An absurd but parseable `retry_max_backoff` must not overflow the arithmetic (the
    /// delay was once computed as `d/2 * frac`, which panics for such a `d`).
    #[test]
    fn a_huge_cap_does_not_overflow() {
        let base = Duration::from_secs(u64::MAX / 4);
        let mut b = Backoff::with_seed(base, Duration::MAX, 3);
        for _ in 0..4 {
            let d = b.next_delay();
            assert!(d >= base / 2, "{d:?}");
        }
        let mut at_max = Backoff::with_seed(Duration::MAX, Duration::MAX, 5);
        let d = at_max.next_delay();
        assert!(d >= Duration::MAX / 2, "{d:?}");
    }
}
