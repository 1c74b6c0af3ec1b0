//! Running the scrapes: the union of every [`TargetSource`]'s latest set, filtered to this
//! replica's shard, one task per target keyed by identity (started when a target appears,
//! aborted when it goes), each on its own schedule: first at a phase of the interval taken
//! from the target's hash and the wall clock, like Prometheus, so a thousand targets spread
//! over the interval instead of firing at once, and so the same target is scraped at the
//! same phase by whichever replica owns it. A semaphore bounds the scrapes in flight
//! (`max_concurrent_scrapes`). In once mode every target is scraped once, concurrently.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use gleaner_api::http_client::{ClientSettings, LazyClient};
use gleaner_api::{Batch, ComponentMetrics, EventSender, InputContext, Metric, RunMode, now_ns};
use tokio::sync::{Mutex, Semaphore, mpsc};
use tokio::task::JoinHandle;

use super::config::Settings;
use super::scrape;
use super::series::SeriesCache;
use super::target::{Target, TargetSource};

/// What every target task shares.
struct Shared {
    settings: Arc<Settings>,
    client: Mutex<LazyClient>,
    permits: Semaphore,
    out: EventSender,
    metrics: Arc<ComponentMetrics>,
}

/// How long after `now_wall_ns` a target of hash `hash` first scrapes: the delay to the next
/// instant whose phase within `interval` is `hash mod interval`.
pub(super) fn first_delay(hash: u64, interval: Duration, now_wall_ns: i64) -> Duration {
    let period = u64::try_from(interval.as_nanos())
        .unwrap_or(u64::MAX)
        .max(1);
    let phase = hash % period;
    let now = u64::try_from(now_wall_ns).unwrap_or(0) % period;
    Duration::from_nanos((phase + period - now) % period)
}

/// Runs until shutdown (or one round in once mode).
pub(super) async fn run(
    settings: Arc<Settings>,
    sources: Vec<Box<dyn TargetSource>>,
    cx: InputContext,
) {
    let shared = Arc::new(Shared {
        client: Mutex::new(LazyClient::new(ClientSettings {
            timeout: settings.timeout,
            tls: settings.tls.clone(),
            idle_per_host: gleaner_api::http_client::DEFAULT_IDLE_PER_HOST,
        })),
        permits: Semaphore::new(settings.max_concurrent),
        out: cx.out.clone(),
        metrics: Arc::clone(&cx.metrics),
        settings,
    });
    // Each source forwards its sets, tagged with its index.
    let (tx, mut rx) = mpsc::channel::<(usize, Vec<Target>)>(4);
    let n_sources = sources.len();
    let mut forwarders = Vec::with_capacity(n_sources);
    for (i, mut source) in sources.into_iter().enumerate() {
        let tx = tx.clone();
        forwarders.push(tokio::spawn(async move {
            while let Some(set) = source.next().await {
                if tx.send((i, set)).await.is_err() {
                    return;
                }
            }
        }));
    }
    drop(tx);
    let mut sets: Vec<Option<Vec<Target>>> = vec![None; n_sources];
    let mut running: HashMap<String, JoinHandle<()>> = HashMap::new();
    if cx.mode == RunMode::Once {
        // Each source's first set, then one round.
        while sets.iter().any(Option::is_none) {
            match rx.recv().await {
                Some((i, set)) => sets[i] = Some(set),
                None => break,
            }
        }
        let round: Vec<JoinHandle<()>> = wanted(&shared.settings, &sets)
            .into_values()
            .map(|t| tokio::spawn(scrape_once(Arc::clone(&shared), t)))
            .collect();
        for h in round {
            if h.await.is_err() {
                shared.metrics.error("scrape_task");
            }
        }
    } else {
        loop {
            tokio::select! {
                () = cx.shutdown.wait() => break,
                update = rx.recv() => {
                    let Some((i, set)) = update else {
                        // Every source ended: the last sets stay until shutdown.
                        cx.shutdown.wait().await;
                        break;
                    };
                    sets[i] = Some(set);
                    let mut want = wanted(&shared.settings, &sets);
                    running.retain(|id, task| {
                        let keep = want.remove(id).is_some();
                        if !keep {
                            task.abort();
                        }
                        keep
                    });
                    for (id, target) in want {
                        let task = tokio::spawn(target_loop(Arc::clone(&shared), target));
                        running.insert(id, task);
                    }
                }
            }
        }
    }
    for (_, task) in running {
        task.abort();
    }
    for f in forwarders {
        f.abort();
    }
    // The ticker is not used: each target has its own schedule.
    drop(cx.ticker);
}

/// The targets this replica scrapes, by identity.
fn wanted(settings: &Settings, sets: &[Option<Vec<Target>>]) -> HashMap<String, Target> {
    sets.iter()
        .flatten()
        .flatten()
        .filter(|t| settings.shard.is_none_or(|s| s.owns(t.hash())))
        .map(|t| (t.identity().to_owned(), t.clone()))
        .collect()
}

/// One target's loop: first at its phase, then every interval (missed ticks skipped).
async fn target_loop(shared: Arc<Shared>, target: Target) {
    let interval = shared.settings.interval;
    let delay = first_delay(target.hash(), interval, now_ns());
    let mut ticks = tokio::time::interval_at(tokio::time::Instant::now() + delay, interval);
    ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Skip);
    let mut auth = shared.settings.auth.clone();
    let cache = Arc::new(std::sync::Mutex::new(SeriesCache::new(target.labels())));
    loop {
        ticks.tick().await;
        if !scrape_and_send(&shared, &target, &cache, &mut auth).await {
            return;
        }
    }
}

/// Metrics per batch sent on: a big page goes down the pipeline in pieces, so the buffer
/// writes, and delivery decodes, a slice at a time rather than the whole page at once (the
/// `scrape-rw` bench, 10,000 series a second, peaked at 28–36 MiB with one batch per scrape).
const SEND_BATCH: usize = 1000;

async fn scrape_once(shared: Arc<Shared>, target: Target) {
    let mut auth = shared.settings.auth.clone();
    let cache = Arc::new(std::sync::Mutex::new(SeriesCache::new(target.labels())));
    scrape_and_send(&shared, &target, &cache, &mut auth).await;
}

/// One scrape under a permit, then its batches; `false` when the pipeline is gone. The
/// permit is held until a streamed page is all sent, so `max_concurrent_scrapes` also
/// bounds the pages held in memory.
async fn scrape_and_send(
    shared: &Shared,
    target: &Target,
    cache: &Arc<std::sync::Mutex<SeriesCache>>,
    auth: &mut super::config::Auth,
) -> bool {
    let Ok(_permit) = shared.permits.acquire().await else {
        return false;
    };
    let client = scrape::client(&shared.client).await;
    let outcome = scrape::scrape(&shared.settings, client, auth, target, cache, SEND_BATCH).await;
    if let Some(e) = &outcome.error {
        shared.metrics.error(e.reason());
        tracing::warn!(target_url = %target.url, error = %e, "scrape failed");
    }
    if let Some(mut stream) = outcome.stream {
        while let Some(batch) = stream.recv().await {
            if shared.out.send(Batch::Metrics(batch)).await.is_err() {
                return false;
            }
        }
    }
    let mut metrics = outcome.metrics.into_iter();
    loop {
        let batch: Vec<Metric> = metrics.by_ref().take(SEND_BATCH).collect();
        if batch.is_empty() {
            return true;
        }
        if shared.out.send(Batch::Metrics(batch)).await.is_err() {
            return false;
        }
    }
}
