//! `gleaner tap`'s agent side: a sample of the events passing chosen components, served on
//! `GET /tap` of `agent.http_listen` when `agent.tap = true`, to clients on this host only.
//!
//! A request names components by globs (`components=inputs.tail.*,filters.*`) and waits up to
//! `wait` (at most 10 s) for at most `limit` events (at most 1,000, and at most
//! [`MAX_BYTES`] of them); the router shows each
//! batch to the hub after an input (with the agent's tags), after each filter and as each
//! output takes it. While no client waits, that costs one atomic load per batch and stage;
//! while one does, each event taken is written as a JSON line (`component`, then the event as
//! `outputs.file` writes it; with `format=influx`, a metric as its line of line protocol), and the pipeline never waits for a client: past its limit, a
//! client's share is simply not taken. At most [`MAX_CLIENTS`] clients wait at once.
//!
//! There is one hub per process, as there is one set of telemetry counters: the router and
//! the endpoint find it through [`hub`], and a reload only switches it on or off.

mod client;
pub mod endpoint;
#[cfg(test)]
mod tests;

use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Mutex, OnceLock};
use std::time::Duration;

use gleaner_api::Batch;
use gleaner_api::glob::Glob;
use gleaner_outputs::json_lines::{MetricFormat, encode_batch, encode_log, encode_metric_json};

pub use client::{TapOptions, run_client};

/// Clients waiting at once, at most.
pub const MAX_CLIENTS: usize = 4;
/// Events per request, at most.
pub const MAX_LIMIT: usize = 1_000;
/// Longest wait of a request.
pub const MAX_WAIT: Duration = Duration::from_secs(10);
/// Bytes of events one request holds, at most: a client asking for 1,000 events of 1 MiB log
/// lines gets those that fit in 4 MiB, so four clients hold at most 16 MiB.
pub const MAX_BYTES: usize = 4 << 20;

/// One waiting client.
struct Waiter {
    id: u64,
    globs: Vec<Glob>,
    /// Metrics as line protocol instead of JSON.
    influx: bool,
    lines: Vec<String>,
    /// Events still wanted.
    room: usize,
    /// Bytes still allowed ([`MAX_BYTES`] at first).
    bytes_left: usize,
}

/// The process's tap: who waits, for what.
#[derive(Default)]
pub struct TapHub {
    enabled: AtomicBool,
    waiting: AtomicUsize,
    next_id: AtomicU64,
    waiters: Mutex<Vec<Waiter>>,
}

/// Why a tap request is refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TapRefused {
    #[error("tap is off: set agent.tap = true")]
    Off,
    #[error("{MAX_CLIENTS} tap clients are already waiting")]
    Busy,
}

/// The process's hub.
pub fn hub() -> &'static TapHub {
    static HUB: OnceLock<TapHub> = OnceLock::new();
    HUB.get_or_init(TapHub::default)
}

impl TapHub {
    /// Switches `/tap` on or off (the config's `agent.tap`, at start and on each reload).
    pub fn set_enabled(&self, on: bool) {
        self.enabled.store(on, Ordering::Relaxed);
    }

    pub fn enabled(&self) -> bool {
        self.enabled.load(Ordering::Relaxed)
    }

    /// Shows a batch passing `component` to the waiting clients that asked for it.
    pub fn observe(&self, component: &str, batch: &Batch) {
        if self.waiting.load(Ordering::Relaxed) == 0 {
            return;
        }
        let Ok(mut waiters) = self.waiters.lock() else {
            return;
        };
        for w in waiters.iter_mut() {
            if w.room == 0 || !w.globs.iter().any(|g| g.matches(component)) {
                continue;
            }
            for i in 0..w.room.min(batch.len()) {
                let l = line(component, batch, i, w.influx);
                if l.len() > w.bytes_left {
                    // Full by size: this request takes nothing more.
                    w.room = 0;
                    break;
                }
                w.bytes_left -= l.len();
                w.lines.push(l);
                w.room -= 1;
            }
        }
    }

    /// Waits up to `wait` for at most `limit` events of the components `globs` match; the
    /// lines taken, each a JSON object with a newline.
    pub async fn collect(
        &self,
        globs: Vec<Glob>,
        limit: usize,
        wait: Duration,
        influx: bool,
    ) -> Result<Vec<String>, TapRefused> {
        if !self.enabled() {
            return Err(TapRefused::Off);
        }
        let id = self.next_id.fetch_add(1, Ordering::Relaxed);
        {
            let mut waiters = self.waiters.lock().map_err(|_| TapRefused::Busy)?;
            if waiters.len() >= MAX_CLIENTS {
                return Err(TapRefused::Busy);
            }
            waiters.push(Waiter {
                id,
                globs,
                influx,
                lines: Vec::new(),
                room: limit.clamp(1, MAX_LIMIT),
                bytes_left: MAX_BYTES,
            });
            self.waiting.fetch_add(1, Ordering::Relaxed);
        }
        let deadline = tokio::time::Instant::now() + wait.min(MAX_WAIT);
        // Polls its own slot: the pipeline never wakes (or waits for) a client.
        loop {
            tokio::time::sleep(Duration::from_millis(50)).await;
            let full = self
                .waiters
                .lock()
                .ok()
                .and_then(|w| w.iter().find(|w| w.id == id).map(|w| w.room == 0))
                .unwrap_or(true);
            if full || tokio::time::Instant::now() >= deadline {
                break;
            }
        }
        let mut waiters = self.waiters.lock().map_err(|_| TapRefused::Busy)?;
        let at = waiters.iter().position(|w| w.id == id);
        self.waiting.fetch_sub(1, Ordering::Relaxed);
        Ok(at.map(|i| waiters.swap_remove(i).lines).unwrap_or_default())
    }
}

/// Event `i` of `batch` as `{"component":"...","event":{...}}` and a newline; with `influx`, a
/// metric as its line of line protocol instead.
fn line(component: &str, batch: &Batch, i: usize, influx: bool) -> String {
    let mut event = Vec::new();
    if let (true, Batch::Metrics(metrics)) = (influx, batch) {
        let one = Batch::Metrics(vec![metrics[i].clone()]);
        encode_batch(&one, MetricFormat::Influx, &mut event);
        return String::from_utf8_lossy(&event).into_owned();
    }
    match batch {
        Batch::Logs(records) => encode_log(&records[i], &mut event),
        Batch::Metrics(metrics) => {
            encode_metric_json(&metrics[i], &mut event);
        }
    }
    while event.last() == Some(&b'\n') {
        event.pop();
    }
    let component = component.replace('\\', "\\\\").replace('"', "\\\"");
    format!(
        "{{\"component\":\"{component}\",\"event\":{}}}\n",
        String::from_utf8_lossy(&event)
    )
}
