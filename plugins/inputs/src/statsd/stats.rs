//! Running statistics of one timing (Telegraf's `RunningStats`): count, sum, bounds, and
//! mean and population standard deviation by the shifted-data algorithm, exact over every
//! value; median and percentiles from a uniform reservoir (Algorithm R) of at most
//! `percentile_limit` samples.
//!
//! A sampled value (`|@0.1`) stands for `weight` values: the moments count it `weight`
//! times exactly (Telegraf adds it `int(1/rate)` times), the reservoir takes it at most
//! `limit` times, so a tiny rate cannot make one line cost millions of steps.
//!
//! Percentile `p` is the sorted reservoir's element at `floor(len * p / 100)` (clamped), as
//! in Telegraf; the median is the middle element, or the mean of the middle two.

/// One timing's statistics.
#[derive(Debug, Clone)]
pub(crate) struct TimerStats {
    k: f64,
    n: u64,
    ex: f64,
    ex2: f64,
    sum: f64,
    lower: f64,
    upper: f64,
    /// Values ever offered to the reservoir.
    seen: u64,
    reservoir: Vec<f64>,
}

impl TimerStats {
    /// Statistics of a first value.
    pub(crate) fn new(value: f64, weight: u64, limit: usize, rng: &mut u64) -> Self {
        let mut s = TimerStats {
            k: value,
            n: 0,
            ex: 0.0,
            ex2: 0.0,
            sum: 0.0,
            lower: value,
            upper: value,
            seen: 0,
            reservoir: Vec::new(),
        };
        s.add(value, weight, limit, rng);
        s
    }

    /// Adds `value`, standing for `weight` values.
    pub(crate) fn add(&mut self, value: f64, weight: u64, limit: usize, rng: &mut u64) {
        let w = weight as f64;
        let d = value - self.k;
        self.n = self.n.saturating_add(weight);
        self.ex += d * w;
        self.ex2 += d * d * w;
        self.sum += value * w;
        self.lower = self.lower.min(value);
        self.upper = self.upper.max(value);
        let copies = weight.min(limit as u64);
        for _ in 0..copies {
            self.seen += 1;
            if self.reservoir.len() < limit {
                self.reservoir.push(value);
            } else {
                let j = next(rng) % self.seen;
                if let Some(slot) = usize::try_from(j)
                    .ok()
                    .and_then(|j| self.reservoir.get_mut(j))
                {
                    *slot = value;
                }
            }
        }
        self.seen += weight - copies;
    }

    /// Values counted.
    pub(crate) fn count(&self) -> u64 {
        self.n
    }

    /// Sum of the values.
    pub(crate) fn sum(&self) -> f64 {
        self.sum
    }

    /// Smallest value.
    pub(crate) fn lower(&self) -> f64 {
        self.lower
    }

    /// Largest value.
    pub(crate) fn upper(&self) -> f64 {
        self.upper
    }

    /// Arithmetic mean.
    pub(crate) fn mean(&self) -> f64 {
        self.k + self.ex / self.n as f64
    }

    /// Population standard deviation.
    pub(crate) fn stddev(&self) -> f64 {
        let n = self.n as f64;
        ((self.ex2 - self.ex * self.ex / n) / n).max(0.0).sqrt()
    }

    /// Sorts the reservoir (before [`median`](Self::median) and
    /// [`percentile`](Self::percentile)).
    pub(crate) fn sort(&mut self) {
        self.reservoir.sort_unstable_by(f64::total_cmp);
    }

    /// Median of the (sorted) reservoir.
    pub(crate) fn median(&self) -> f64 {
        let r = &self.reservoir;
        let m = r.len() / 2;
        match r.len() {
            0 => 0.0,
            n if n % 2 == 0 => (r[m - 1] + r[m]) / 2.0,
            _ => r[m],
        }
    }

    /// Percentile `p` of the (sorted) reservoir.
    pub(crate) fn percentile(&self, p: f64) -> f64 {
        let r = &self.reservoir;
        let i = (r.len() as f64 * p.min(100.0) / 100.0) as usize;
        r.get(i.min(r.len().saturating_sub(1)))
            .copied()
            .unwrap_or(0.0)
    }
}

/// The agent's small random source, to pick reservoir slots.
pub(crate) use gleaner_api::random::xorshift64 as next;

#[cfg(test)]
mod tests {
    use super::*;

    fn stats(values: &[f64], limit: usize) -> TimerStats {
        let mut rng = 0x1234_5678_9abc_def1;
        let mut s = TimerStats::new(values[0], 1, limit, &mut rng);
        for v in &values[1..] {
            s.add(*v, 1, limit, &mut rng);
        }
        s.sort();
        s
    }

    #[test]
    fn matches_telegraf_timings_test() {
        // Telegraf's TestParse_Timings: 1, 11, 1, 1, 1.
        let s = stats(&[1.0, 11.0, 1.0, 1.0, 1.0], 1000);
        assert_eq!(s.count(), 5);
        assert_eq!(s.mean(), 3.0);
        assert_eq!(s.median(), 1.0);
        assert_eq!(s.stddev(), 4.0);
        assert_eq!(s.sum(), 15.0);
        assert_eq!((s.lower(), s.upper()), (1.0, 11.0));
        assert_eq!(s.percentile(90.0), 11.0);
    }

    #[test]
    fn weight_counts_exactly_and_median_averages_the_middle() {
        let mut rng = 7;
        let mut s = TimerStats::new(2.0, 10, 1000, &mut rng);
        s.add(4.0, 10, 1000, &mut rng);
        s.sort();
        assert_eq!(s.count(), 20);
        assert_eq!(s.sum(), 60.0);
        assert_eq!(s.mean(), 3.0);
        assert_eq!(s.stddev(), 1.0);
        assert_eq!(s.median(), 3.0);
    }

    #[test]
    fn reservoir_is_bounded_and_uniform_enough() {
        let values: Vec<f64> = (0..100_000).map(f64::from).collect();
        let s = stats(&values, 1000);
        assert_eq!(s.reservoir.len(), 1000);
        assert_eq!(s.count(), 100_000);
        // A uniform sample of 0..100000: its median is near 50000 (Telegraf's
        // overwrite-at-random reservoir would favour the last values).
        let m = s.median();
        assert!((40_000.0..60_000.0).contains(&m), "median {m}");
        let p90 = s.percentile(90.0);
        assert!((85_000.0..95_000.0).contains(&p90), "p90 {p90}");
    }

    #[test]
    fn a_tiny_rate_costs_at_most_limit_steps() {
        let mut rng = 3;
        let s = TimerStats::new(5.0, 1_000_000_000, 10, &mut rng);
        assert_eq!(s.count(), 1_000_000_000);
        assert_eq!(s.reservoir.len(), 10);
    }
}
