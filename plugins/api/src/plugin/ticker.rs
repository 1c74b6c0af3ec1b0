//! [`Ticker`]: when a polling input gathers.
//!
//! Ticks fall on multiples of the interval from the first (immediate) tick. Two rules, as in
//! Telegraf's agent:
//! - **An overrun skips, it never queues.** A gather still running when the next tick is due
//!   makes that tick (and any later one already past) be skipped: the next gather starts on
//!   the next multiple of the interval, never back to back to catch up
//!   (`MissedTickBehavior::Skip`, plus dropping the one late tick tokio still hands out).
//!   [`Ticker::skipped`] counts them.
//! - **`collection_jitter`** adds a random delay in `[0, jitter)` after each tick (not in
//!   once mode), so that a fleet of agents started together does not poll a shared endpoint
//!   in the same millisecond. The engine rejects a jitter not shorter than the interval.

use std::sync::atomic::{AtomicU64, Ordering};

use tokio::time::{Instant, Interval, MissedTickBehavior};

use super::RunMode;
use crate::config_types::Duration;
use crate::shutdown::Shutdown;

/// Seeds tickers made in the same nanosecond differently.
static SEQ: AtomicU64 = AtomicU64::new(0);

/// Ticks at the gather interval; in [`RunMode::Once`] ticks once. Stops on shutdown.
#[derive(Debug)]
pub struct Ticker {
    interval: Interval,
    period: std::time::Duration,
    mode: RunMode,
    ticks: u64,
    skipped: u64,
    jitter: std::time::Duration,
    rng: u64,
    shutdown: Shutdown,
}

impl Ticker {
    /// A ticker whose first tick is immediate, with no jitter.
    pub fn new(period: Duration, mode: RunMode, shutdown: Shutdown) -> Self {
        let period = period.get().max(std::time::Duration::from_millis(1));
        let mut interval = tokio::time::interval(period);
        interval.set_missed_tick_behavior(MissedTickBehavior::Skip);
        let seq = SEQ.fetch_add(1, Ordering::Relaxed);
        let rng = crate::random::seed_from_clock(seq);
        Ticker {
            interval,
            period,
            mode,
            ticks: 0,
            skipped: 0,
            jitter: std::time::Duration::ZERO,
            rng,
            shutdown,
        }
    }

    /// Adds a random delay in `[0, jitter)` after every tick in continuous mode.
    #[must_use]
    pub fn with_jitter(mut self, jitter: Duration) -> Self {
        self.jitter = jitter.get();
        self
    }

    /// Ticks skipped so far because a gather overran the interval.
    pub fn skipped(&self) -> u64 {
        self.skipped
    }

    /// Waits for the next tick (and its jitter); `false` means stop (shutdown, or the one tick
    /// of once mode was taken).
    pub async fn tick(&mut self) -> bool {
        if self.shutdown.is_triggered() || (self.mode == RunMode::Once && self.ticks > 0) {
            return false;
        }
        let called = Instant::now();
        loop {
            let at = tokio::select! {
                biased;
                () = self.shutdown.wait() => return false,
                at = self.interval.tick() => at,
            };
            // A tick that fell due while the last gather ran: skip it (and count every
            // multiple of the period that passed), wait for the next one.
            if self.ticks > 0 && at < called {
                let late = called.duration_since(at).as_nanos() / self.period.as_nanos().max(1);
                self.skipped += u64::try_from(late).unwrap_or(u64::MAX).saturating_add(1);
                continue;
            }
            break;
        }
        self.ticks += 1;
        let delay = self.next_jitter();
        if !delay.is_zero() {
            tokio::select! {
                biased;
                () = self.shutdown.wait() => return false,
                () = tokio::time::sleep(delay) => {}
            }
        }
        true
    }

    /// A random delay in `[0, jitter)`, in whole milliseconds (`crate::random`); zero in
    /// once mode.
    fn next_jitter(&mut self) -> std::time::Duration {
        let max = u64::try_from(self.jitter.as_nanos()).unwrap_or(u64::MAX);
        if max == 0 || self.mode == RunMode::Once {
            return std::time::Duration::ZERO;
        }
        let r = crate::random::xorshift64(&mut self.rng);
        // Whole milliseconds: tokio's timer rounds a sleep up to the next one, which could
        // reach `jitter` itself.
        let ms = (r % max) / 1_000_000;
        std::time::Duration::from_millis(ms)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::shutdown::shutdown_pair;

    const S: fn(u64) -> std::time::Duration = std::time::Duration::from_secs;

    #[tokio::test(start_paused = true)]
    async fn an_overrunning_gather_skips_the_next_tick_instead_of_queuing() {
        let start = Instant::now();
        let mut t = Ticker::new(
            Duration::from_secs(10),
            RunMode::Continuous,
            Shutdown::never(),
        );
        assert!(t.tick().await);
        assert_eq!(start.elapsed(), S(0));
        // A gather shorter than the interval: the next tick is on time.
        tokio::time::sleep(S(4)).await;
        assert!(t.tick().await);
        assert_eq!(start.elapsed(), S(10));
        assert_eq!(t.skipped(), 0);
        // A 15 s gather overruns the tick at 20 s: it is skipped, the next gather is at 30 s.
        tokio::time::sleep(S(15)).await;
        assert!(t.tick().await);
        assert_eq!(start.elapsed(), S(30));
        assert_eq!(t.skipped(), 1);
        // A 25 s gather misses the ticks at 40 s and 50 s.
        tokio::time::sleep(S(25)).await;
        assert!(t.tick().await);
        assert_eq!(start.elapsed(), S(60));
        assert_eq!(t.skipped(), 3);
        // Back to short gathers: on the grid again, nothing queued.
        tokio::time::sleep(S(1)).await;
        assert!(t.tick().await);
        assert_eq!(start.elapsed(), S(70));
        assert_eq!(t.skipped(), 3);
    }

    #[tokio::test(start_paused = true)]
    async fn jitter_delays_each_gather_within_bounds() {
        let start = Instant::now();
        let mut t = Ticker::new(
            Duration::from_secs(10),
            RunMode::Continuous,
            Shutdown::never(),
        )
        .with_jitter(Duration::from_secs(3));
        let mut offsets = Vec::new();
        for k in 0..200u32 {
            assert!(t.tick().await);
            let offset = start.elapsed() - S(10) * k;
            assert!(offset < S(3), "tick {k}: offset {offset:?}");
            offsets.push(offset);
        }
        assert_eq!(t.skipped(), 0, "a jittered gather stays on its own tick");
        offsets.sort();
        offsets.dedup();
        assert!(offsets.len() > 150, "jitter looks constant: {offsets:?}");
        // Spread over the whole range, not bunched at one end.
        assert!(offsets[0] < S(1) && offsets[offsets.len() - 1] > S(2));
    }

    #[tokio::test(start_paused = true)]
    async fn once_mode_ticks_once_without_jitter() {
        let start = Instant::now();
        let mut t = Ticker::new(Duration::from_secs(10), RunMode::Once, Shutdown::never())
            .with_jitter(Duration::from_secs(5));
        assert!(t.tick().await);
        assert_eq!(start.elapsed(), S(0));
        assert!(!t.tick().await);
    }

    #[tokio::test(start_paused = true)]
    async fn shutdown_interrupts_the_jitter_delay() {
        let (trigger, sd) = shutdown_pair();
        let mut t = Ticker::new(Duration::from_secs(10), RunMode::Continuous, sd)
            .with_jitter(Duration::from_secs(9));
        t.rng = 0x2545_F491_4F6C_DD1D; // fixed draws: the first is well over 1 ms
        let mut probe = Ticker::new(
            Duration::from_secs(10),
            RunMode::Continuous,
            Shutdown::never(),
        )
        .with_jitter(Duration::from_secs(9));
        probe.rng = t.rng;
        assert!(probe.next_jitter() > std::time::Duration::from_millis(100));
        let start = Instant::now();
        let waiting = tokio::spawn(async move { t.tick().await });
        tokio::time::sleep(std::time::Duration::from_millis(1)).await;
        trigger.trigger();
        assert!(
            !waiting.await.expect("ticker task"),
            "stopped during the jitter delay"
        );
        assert_eq!(start.elapsed(), std::time::Duration::from_millis(1));
    }
}
