//! How many worker threads the agent's async runtime gets: half the cores it may use (at
//! least one), unless `TOKIO_WORKER_THREADS` says otherwise.
//!
//! Why not one per core (tokio's default): the heavy work runs off the workers (gzip in the
//! delivery lanes, file and chunk I/O on the blocking pool, a large scrape's parse), so the
//! workers mostly hand small batches from task to task. A second worker that finds nothing
//! to do looks for work to steal and parks again, many thousand times a second, and on an
//! idle core that search is paid in CPU. Measured on the 2-core VM, quiet, one run each
//! (`bench`, the same binary, `TOKIO_WORKER_THREADS` 1 against 2): `syslog` 1.40 against 2.50
//! CPU-s per million messages, `scrape-rw` 1.85 against 2.05 CPU-s per million samples,
//! `logs-parse` 1.63 against 1.78 CPU-s, `logs-hec` 1.10 against 1.11 CPU-s, with the same
//! or shorter wall times (docs/performance.md, *Fifth round*). "The cores it may use" is
//! `std::thread::available_parallelism`, which honours the CPU affinity and the cgroup's
//! CPU quota (a pod's CPU limit).

/// The variable tokio itself reads when a runtime is built without a worker count.
const ENV: &str = "TOKIO_WORKER_THREADS";

/// The worker threads for a machine with `cores` usable cores and `env` the value of
/// `TOKIO_WORKER_THREADS` (a positive integer wins; anything else is ignored).
pub fn worker_threads(cores: usize, env: Option<&str>) -> usize {
    if let Some(n) = env.and_then(|v| v.trim().parse::<usize>().ok())
        && n > 0
    {
        return n;
    }
    (cores / 2).max(1)
}

/// [`worker_threads`] for this process.
pub fn from_environment() -> usize {
    let cores = std::thread::available_parallelism().map_or(1, std::num::NonZeroUsize::get);
    worker_threads(cores, std::env::var(ENV).ok().as_deref())
}

#[cfg(test)]
mod tests {
    use super::worker_threads;

    #[test]
    fn half_the_cores_and_at_least_one() {
        assert_eq!(worker_threads(1, None), 1);
        assert_eq!(worker_threads(2, None), 1);
        assert_eq!(worker_threads(3, None), 1);
        assert_eq!(worker_threads(8, None), 4);
    }

    #[test]
    fn the_environment_wins_when_it_is_a_positive_count() {
        assert_eq!(worker_threads(2, Some("2")), 2);
        assert_eq!(worker_threads(8, Some(" 3 ")), 3);
        assert_eq!(worker_threads(8, Some("0")), 4);
        assert_eq!(worker_threads(8, Some("many")), 4);
    }
}
