//! A Prometheus page of S series (counters, gauges and histograms) whose values change at
//! every scrape, served through the prometheus tests' `exposition::Exposition` (wrapped, not
//! changed): a thread watches the endpoint's request count and, after each request, puts
//! the next generation of the page in place. Generation g carries the timestamp
//! `base_ms + 1000 g` on every sample, so a remote-write receiver can tell which scrape a
//! sample came from (`receiver::Protocol::RemoteWrite`) and check that every series of
//! every scrape arrived.
//!
//! The page is swapped after the request is counted; a request that came in that very
//! instant could see the next generation (then one generation shows as lost and one as
//! duplicated). At one scrape a second the window is microseconds wide.

use std::fmt::Write as _;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread::JoinHandle;
use std::time::Duration;

use crate::exposition::{Exposition, Page};

const CONTENT_TYPE: &str = "text/plain; version=0.0.4; charset=utf-8";
const BUCKETS: &[&str] = &["0.005", "0.05", "0.25", "1", "5", "+Inf"];
/// Series per histogram: the buckets, `_sum` and `_count`.
const PER_HISTOGRAM: usize = 8;
const PER_FAMILY: usize = 50;

/// Generation `generation` of a page of (about) `series` series: 20% in histograms, the rest
/// counters and gauges, families of 50 series with three labels each.
pub fn page(series: usize, generation: u64, base_ms: i64) -> String {
    let ts = base_ms + 1000 * generation as i64;
    let histograms = series / 5 / PER_HISTOGRAM;
    let plain = series - histograms * PER_HISTOGRAM;
    let mut s = String::with_capacity(series * 90);
    let mut n = 0usize;
    let mut family = 0;
    while n < plain {
        let kind = if family % 2 == 0 { "counter" } else { "gauge" };
        let name = if kind == "counter" {
            format!("wl_requests_{family}_total")
        } else {
            format!("wl_queue_depth_{family}")
        };
        writeln!(
            s,
            "# HELP {name} Workload family {family}.\n# TYPE {name} {kind}"
        )
        .expect("write to String");
        for i in 0..PER_FAMILY.min(plain - n) {
            let v = if kind == "counter" {
                (n as u64 * 31 + generation * (n as u64 % 7 + 1)) as f64
            } else {
                (mix(n as u64, generation) % 10_000) as f64 / 10.0
            };
            writeln!(
                s,
                "{name}{{namespace=\"ns-{}\",pod=\"pod-{n}\",code=\"{}\"}} {v} {ts}",
                n % 13,
                [200, 404, 500][i % 3]
            )
            .expect("write to String");
            n += 1;
        }
        family += 1;
    }
    if histograms > 0 {
        s.push_str("# HELP wl_latency_seconds Workload latency.\n");
        s.push_str("# TYPE wl_latency_seconds histogram\n");
    }
    for h in 0..histograms {
        let labels = format!("route=\"/r{h}\",pod=\"pod-{}\"", h % 97);
        let mut cum = 0u64;
        for (b, le) in BUCKETS.iter().enumerate() {
            cum += generation * (b as u64 + 1) + mix(h as u64, b as u64) % 5;
            writeln!(
                s,
                "wl_latency_seconds_bucket{{{labels},le=\"{le}\"}} {cum} {ts}"
            )
            .expect("write to String");
        }
        let sum = cum as f64 * 0.125;
        writeln!(s, "wl_latency_seconds_sum{{{labels}}} {sum} {ts}").expect("write to String");
        writeln!(s, "wl_latency_seconds_count{{{labels}}} {cum} {ts}").expect("write to String");
    }
    s
}

fn mix(a: u64, b: u64) -> u64 {
    let mut z = a.wrapping_mul(0x9e37_79b9_7f4a_7c15) ^ b.wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z ^= z >> 29;
    z
}

/// An endpoint serving generation k of the page to its k-th request.
pub struct ChangingPage {
    /// The wrapped endpoint (`server.url` is the scrape URL).
    pub server: Arc<Exposition>,
    /// Series per page.
    pub series: usize,
    /// Timestamp of generation 0, in ms.
    pub base_ms: i64,
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<u64>>,
}

impl ChangingPage {
    /// Starts serving generation 1.
    ///
    /// # Panics
    /// When the endpoint or its thread cannot start.
    pub fn start(series: usize, base_ms: i64) -> ChangingPage {
        let server = Arc::new(Exposition::start(Page::Body(
            CONTENT_TYPE,
            page(series, 1, base_ms),
        )));
        let stop = Arc::new(AtomicBool::new(false));
        let (st, watched) = (Arc::clone(&stop), Arc::clone(&server));
        let thread = std::thread::Builder::new()
            .name("expo-pager".into())
            .spawn(move || {
                let mut set = 1u64;
                while !st.load(Ordering::SeqCst) {
                    let served = watched.requests() as u64;
                    if served >= set {
                        set = served + 1;
                        watched.set(Page::Body(CONTENT_TYPE, page(series, set, base_ms)));
                    }
                    std::thread::sleep(Duration::from_millis(2));
                }
                set
            })
            .expect("spawn pager");
        ChangingPage {
            server,
            series,
            base_ms,
            stop,
            thread: Some(thread),
        }
    }

    /// Scrapes served so far.
    pub fn served(&self) -> u64 {
        self.server.requests() as u64
    }

    /// Stops changing the page and serves an empty one from now on; returns how many
    /// generations were served (generations `1..=n`, each once).
    pub fn finish(&mut self) -> u64 {
        self.stop.store(true, Ordering::SeqCst);
        let last_set = self.thread.take().and_then(|t| t.join().ok()).unwrap_or(0);
        self.server.set(Page::Body(CONTENT_TYPE, String::new()));
        (self.server.requests() as u64).min(last_set)
    }
}

impl Drop for ChangingPage {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
    }
}
