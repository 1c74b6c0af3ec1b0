//! The one watcher loop of gleaner-kube, under the pod, namespace and discovery watches: wait
//! for a client (retrying every 10 s, counting failures), then list from the API server's
//! watch cache and watch with bookmarks through kube's watcher, which re-lists on 410 Gone
//! and resumes from the last bookmark otherwise; errors back off (kube's default: 0.8 s
//! doubling to 30 s, jittered). Each watch says what it does with an event ([`WatchSink`])
//! and may hold the stream back until it can take the next one ([`WatchSink::ready`]); the
//! loop ends on the stop signal or when the stream ends. A watch covers the cluster or one
//! namespace.

use std::sync::Arc;
use std::time::Duration;

use futures_util::StreamExt as _;
use gleaner_api::Shutdown;
use kube::Api;
use kube::runtime::WatchStreamExt as _;
use kube::runtime::watcher::{self, Event};

use crate::client::{ClientCell, ClientError};
use crate::store::CacheStats;

/// What one watch does with what it sees.
pub(crate) trait WatchSink<K> {
    /// No client could be made (retried in 10 s; counted in `watch_errors`).
    fn client_failed(&mut self, e: &ClientError);

    /// One event of the watch, or its error.
    fn event(&mut self, event: Result<Event<K>, watcher::Error>);

    /// Periodic work (see [`Watch::every`]).
    fn tick(&mut self) {}

    /// Waits until the sink can take the next event; the stream is not read meanwhile, so a
    /// consumer that pushes back (a full channel to an input) slows the watch instead of
    /// growing a queue. Caches take events at once.
    async fn ready(&mut self) {}
}

/// What to watch, and how.
#[derive(Debug, Default)]
pub(crate) struct Watch {
    /// Narrows the watch (`spec.nodeName=<node>`).
    pub(crate) field_selector: Option<String>,
    /// Calls [`WatchSink::tick`] this often, when set.
    pub(crate) every: Option<Duration>,
}

/// Runs the watch of every `K` into `sink` until `shutdown`.
pub(crate) async fn run<K, S>(
    client: Arc<ClientCell>,
    watch: Watch,
    stats: &CacheStats,
    sink: S,
    shutdown: Shutdown,
) where
    K: kube::Resource<DynamicType = ()>
        + Clone
        + serde::de::DeserializeOwned
        + std::fmt::Debug
        + Send
        + 'static,
    S: WatchSink<K>,
{
    run_with(client, Api::all, watch, stats, sink, shutdown).await;
}

/// Runs the watch of the `K`s that `api` reaches (one namespace, say) into `sink` until
/// `shutdown`.
pub(crate) async fn run_with<K, S>(
    client: Arc<ClientCell>,
    api: impl FnOnce(kube::Client) -> Api<K>,
    watch: Watch,
    stats: &CacheStats,
    mut sink: S,
    shutdown: Shutdown,
) where
    K: kube::Resource<DynamicType = ()>
        + Clone
        + serde::de::DeserializeOwned
        + std::fmt::Debug
        + Send
        + 'static,
    S: WatchSink<K>,
{
    let Some(client) = client
        .wait(&shutdown, &stats.watch_errors, |e| sink.client_failed(e))
        .await
    else {
        return;
    };
    let api = api(client);
    let mut config = watcher::Config::default().any_semantic();
    // kube sends `resourceVersion=0` (a list served from the API server's watch cache, not a
    // quorum read from etcd) only for unpaged lists; the watch cache answers in one page.
    config.page_size = None;
    if let Some(fields) = &watch.field_selector {
        config = config.fields(fields);
    }
    let stream = watcher::watcher(api, config).default_backoff();
    let mut stream = std::pin::pin!(stream);
    // Without `every` the interval is never polled.
    let period = watch.every.unwrap_or(Duration::from_secs(86_400));
    let mut ticks = tokio::time::interval(period);
    ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Skip);
    loop {
        tokio::select! {
            () = shutdown.wait() => return,
            () = sink.ready() => {}
        }
        let event = tokio::select! {
            () = shutdown.wait() => return,
            _ = ticks.tick(), if watch.every.is_some() => {
                sink.tick();
                continue;
            }
            e = stream.next() => e,
        };
        let Some(event) = event else { return };
        sink.event(event);
    }
}
