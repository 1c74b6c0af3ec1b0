//! `inputs.statsd`: a statsd and DogStatsD server (UDP or TCP) that aggregates what
//! applications push and ships the aggregate once per interval, like Telegraf's
//! `inputs.statsd` (same option names, measurement and field names, `metric_type` tag).
//!
//! Flow: the socket tasks (`listen.rs`) parse each packet as it arrives into the shared
//! [`Aggregator`] (`aggregate.rs`: parse → key → fold); on every tick the run loop takes the
//! interval's series out under the lock and builds the metrics on a blocking thread, then
//! sends them as one batch. On shutdown the sockets stop and the last partial interval is
//! flushed. In once mode (`--once`, `--test`) the input returns at once: a server has
//! nothing to gather.
//!
//! Malformed lines are counted (`malformed`) and never stop the input; values of new series
//! beyond `max_series` are counted (`max_series`); DogStatsD events and service checks are
//! counted (`unsupported`).
//!
//! Modules: `config.rs` (options, validation), `parse.rs` (a line), `series.rs` (names and
//! the series key), `stats.rs` (timing statistics), `aggregate.rs`, `listen.rs` (sockets).

mod aggregate;
mod config;
mod listen;
mod parse;
mod series;
mod stats;

#[cfg(test)]
mod tests;

use std::sync::{Arc, Mutex, PoisonError};

use async_trait::async_trait;
use gleaner_api::{
    Batch, BuildContext, ConfigError, Input, InputContext, InputDescriptor, PluginConfig,
    PluginError, RunMode, now_ns,
};
use tokio::net::{TcpListener, UdpSocket};
use tokio::task::JoinSet;

pub use aggregate::{Aggregator, Drained, Outcome};
use config::{Protocol, Settings};
use listen::{Shared, Stats};

/// Registry entry.
pub const DESCRIPTOR: InputDescriptor = InputDescriptor {
    name: "statsd",
    summary: "statsd/DogStatsD server (UDP or TCP): counters, gauges, sets, timings with \
              percentiles, aggregated per interval",
    sample: SAMPLE,
    build,
};

const SAMPLE: &str = r#"[[inputs.statsd]]
## Address to listen on; ":8125" is every IPv4 address.
service_address = ":8125"
## "udp" or "tcp" (newline-framed lines).
# protocol = "udp"
## TCP connections served at once; more are closed at once.
# max_tcp_connections = 250
# tcp_keep_alive = false
# tcp_keep_alive_period = "2h"
## Close a TCP connection that sends nothing for this long, so idle clients cannot hold every
## slot of max_tcp_connections; "0s": never.
# tcp_idle_timeout = "2m"
## Forget each kind after every flush (false: counters keep counting, gauges keep their value).
# delete_counters = true
# delete_gauges = true
# delete_sets = true
# delete_timings = true
## Forget a kept series after this long without an update ("0s": never).
# max_ttl = "0s"
## Percentiles of timings and histograms, and samples kept per timing and interval for them.
# percentiles = [90.0]
# percentile_limit = 1000
## Replaces "." in names.
# metric_separator = "_"
## DogStatsD tags (|#k:v,k2) and container ids (|c:id).
# datadog_extensions = true
# datadog_keep_container_tag = false
## "" (names as received) or "upstream" (statsd's sanitising).
# sanitize_name_method = ""
## Replace "." with "_" and "-" with "__" in names.
# convert_names = false
# float_counters = false
## Series held at once; values of new series beyond it are dropped and counted.
# max_series = 10000
## Socket receive buffer (UDP); default: the OS's.
# read_buffer_size = "4MiB"
"#;

fn build(cfg: &PluginConfig, _cx: &BuildContext) -> Result<Box<dyn Input>, ConfigError> {
    Ok(Box::new(Statsd {
        settings: config::parse(cfg)?,
    }))
}

/// An aggregator configured by `toml` (an `[[inputs.statsd]]` table's body), for benches and
/// tests.
pub fn aggregator_from_toml(toml: &str) -> Result<Aggregator, ConfigError> {
    let cfg = PluginConfig::from_toml_str("inputs.statsd.0", toml)?;
    Ok(Aggregator::new(config::parse(&cfg)?.aggregate))
}

/// The built input.
#[derive(Debug)]
struct Statsd {
    settings: Settings,
}

/// A bound socket.
enum Socket {
    Udp(UdpSocket),
    Tcp(TcpListener),
}

#[async_trait]
impl Input for Statsd {
    async fn run(self: Box<Self>, cx: InputContext) -> Result<(), PluginError> {
        if cx.mode == RunMode::Once {
            return Ok(());
        }
        let s = &self.settings;
        let addr = s.address.as_str();
        let socket = match s.protocol {
            Protocol::Udp => {
                let sock = UdpSocket::bind(addr).await.map_err(|e| {
                    PluginError::with_source(format!("cannot listen on udp {addr}"), e)
                })?;
                if let Some(size) = s.read_buffer_size
                    && let Err(e) = listen::set_recv_buffer(&sock, size)
                {
                    tracing::warn!(input = %cx.id, error = %e, "cannot set read_buffer_size");
                }
                Socket::Udp(sock)
            }
            Protocol::Tcp => Socket::Tcp(TcpListener::bind(addr).await.map_err(|e| {
                PluginError::with_source(format!("cannot listen on tcp {addr}"), e)
            })?),
        };
        serve(socket, self.settings, cx).await
    }
}

/// Runs the sockets and the flush loop until shutdown.
async fn serve(
    socket: Socket,
    settings: Settings,
    mut cx: InputContext,
) -> Result<(), PluginError> {
    let stats = Arc::new(Stats::default());
    cx.metrics.set_plugin_stats(Arc::clone(&stats) as _);
    let shared = Arc::new(Shared {
        agg: Mutex::new(Aggregator::new(settings.aggregate)),
        metrics: Arc::clone(&cx.metrics),
        stats,
    });
    // The ticker's first tick is immediate, with nothing aggregated yet: take it now, so
    // every flush closes a whole interval.
    let first = cx.ticker.tick().await;
    let mut tasks = JoinSet::new();
    match socket {
        Socket::Udp(sock) => {
            let local = sock.local_addr().ok();
            tracing::info!(input = %cx.id, address = ?local, "statsd listening on udp");
            tasks.spawn(listen::udp(sock, Arc::clone(&shared), cx.shutdown.clone()));
        }
        Socket::Tcp(l) => {
            let local = l.local_addr().ok();
            tracing::info!(input = %cx.id, address = ?local, "statsd listening on tcp");
            tasks.spawn(listen::tcp(
                l,
                listen::TcpOptions {
                    max: settings.max_tcp_connections,
                    keep_alive: settings.keep_alive,
                    idle_timeout: settings.idle_timeout,
                },
                Arc::clone(&shared),
                cx.shutdown.clone(),
            ));
        }
    }
    let mut open = true;
    while first && cx.ticker.tick().await {
        if !flush(&shared, &cx).await {
            open = false;
            break;
        }
    }
    if !open {
        // The pipeline is gone without a shutdown signal: nothing more can be shipped.
        tasks.abort_all();
    }
    // Shutdown: the sockets stop on the same signal; then the last partial interval goes.
    while let Some(done) = tasks.join_next().await {
        if let Err(e) = done
            && !e.is_cancelled()
        {
            tracing::error!(input = %cx.id, error = %e, "statsd socket task failed");
        }
    }
    if open {
        flush(&shared, &cx).await;
    }
    Ok(())
}

/// Sends the interval's aggregate; false when the pipeline is closed.
async fn flush(shared: &Shared, cx: &InputContext) -> bool {
    let drained = {
        let mut agg = shared.agg.lock().unwrap_or_else(PoisonError::into_inner);
        let d = agg.take(tokio::time::Instant::now());
        shared
            .stats
            .series
            .store(agg.series() as u64, std::sync::atomic::Ordering::Relaxed);
        d
    };
    if drained.is_empty() {
        return true;
    }
    let ts = now_ns();
    // Percentiles sort every reservoir: off the runtime.
    let metrics = match tokio::task::spawn_blocking(move || drained.into_metrics(ts)).await {
        Ok(m) => m,
        Err(e) => {
            tracing::error!(input = %cx.id, error = %e, "statsd flush failed");
            return true;
        }
    };
    cx.out.send(Batch::Metrics(metrics)).await.is_ok()
}

/// This plugin's sample check (run for every registered plugin from `src/sample_checks.rs`):
/// each option the sample shows at its default is the real default.
#[cfg(test)]
pub(crate) fn check_sample() {
    // Validated: an unset tcp_keep_alive_period is filled in there.
    gleaner_api::test_util::sample::assert_sample_debug_with(
        "inputs.statsd.0",
        SAMPLE,
        // Unset: the OS's buffer.
        &["read_buffer_size"],
        &[],
        &config::parse,
    );
}
