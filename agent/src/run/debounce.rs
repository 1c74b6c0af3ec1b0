//! Coalescing reload requests (SIGHUP, a watched file changing): a reload is due once no
//! request has come for [`QUIET`], and at the latest [`MAX_WAIT`] after the first one, so a
//! storm of requests (100 SIGHUPs in a second, an editor writing a file in three steps, a
//! ConfigMap update touching several links) makes one reload.

use std::time::Duration;

use tokio::time::Instant;

/// Quiet time after the last request before the reload starts.
pub const QUIET: Duration = Duration::from_millis(200);
/// Longest wait after the first request of a burst, even if requests keep coming.
pub const MAX_WAIT: Duration = Duration::from_secs(2);

/// Pending reload requests.
#[derive(Debug, Default)]
pub struct Debounce {
    /// (first request of the burst, when the reload is due).
    pending: Option<(Instant, Instant)>,
}

impl Debounce {
    /// Records a request at `now`.
    pub fn request(&mut self, now: Instant) {
        let first = self.pending.map_or(now, |(first, _)| first);
        let due = (now + QUIET).min(first + MAX_WAIT);
        self.pending = Some((first, due));
    }

    /// Completes when a reload is due; never while nothing is pending.
    pub async fn due(&self) {
        match self.pending {
            Some((_, due)) => tokio::time::sleep_until(due).await,
            None => std::future::pending().await,
        }
    }

    /// The reload starts: later requests begin a new burst.
    pub fn clear(&mut self) {
        self.pending = None;
    }

    /// True while a reload is pending.
    pub fn is_pending(&self) -> bool {
        self.pending.is_some()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test(start_paused = true)]
    async fn a_burst_makes_one_reload_after_the_quiet_time() {
        let mut d = Debounce::default();
        let start = Instant::now();
        for _ in 0..100 {
            d.request(Instant::now());
            tokio::time::advance(Duration::from_millis(10)).await;
        }
        // 100 requests over a second: due 200 ms after the last one.
        d.due().await;
        assert_eq!(Instant::now() - start, Duration::from_millis(990) + QUIET);
        d.clear();
        assert!(!d.is_pending());
    }

    #[tokio::test(start_paused = true)]
    async fn an_endless_burst_still_reloads_after_max_wait() {
        let mut d = Debounce::default();
        for _ in 0..1000 {
            d.request(Instant::now());
            tokio::time::advance(Duration::from_millis(50)).await;
        }
        let due = tokio::time::timeout(Duration::ZERO, d.due()).await;
        assert!(due.is_ok(), "due at most MAX_WAIT after the first request");
    }

    #[tokio::test(start_paused = true)]
    async fn nothing_pending_is_never_due() {
        let d = Debounce::default();
        let due = tokio::time::timeout(Duration::from_secs(3600), d.due()).await;
        assert!(due.is_err());
    }
}
