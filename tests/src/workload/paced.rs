//! A paced writer for the `latency` workload: CRI lines at a fixed rate over M pods (each
//! pod's `0.log` in the kubelet layout), every line carrying its write time as `wt=<unix µs>`
//! and a dense sequence id as `sq=<n>`, so the receiver can tell each line's delay from the
//! write to its arrival. Lines are written every 5 ms (as many as are due), each group
//! stamped with the moment just before its `write`.

use std::fs::{File, OpenOptions};
use std::io::Write as _;
use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use super::cri_gen::make_pods;
use super::receiver::unix_micros;
use super::rng::Rng;

/// What to write.
#[derive(Debug, Clone, Copy)]
pub struct PacedConfig {
    /// Pods.
    pub pods: usize,
    /// Lines per second over all pods.
    pub lines_per_sec: u64,
    /// How long.
    pub duration: Duration,
    /// Seed of the pods' names.
    pub seed: u64,
}

/// What was written.
#[derive(Debug, Clone, Copy, Default)]
pub struct Paced {
    /// Lines (ids `0..lines`).
    pub lines: u64,
    /// Bytes.
    pub bytes: u64,
}

/// A paced writer thread.
pub struct PacedWriter {
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<Paced>>,
}

impl PacedWriter {
    /// Creates the pods under `root` and starts writing.
    ///
    /// # Panics
    /// When the pods or the thread cannot be created; the thread panics on I/O errors.
    pub fn start(root: &Path, cfg: PacedConfig) -> PacedWriter {
        let mut rng = Rng::new(cfg.seed);
        let files: Vec<File> = make_pods(root, cfg.pods, &mut rng)
            .iter()
            .map(|d| {
                OpenOptions::new()
                    .create(true)
                    .append(true)
                    .open(d.join("0.log"))
                    .expect("open 0.log")
            })
            .collect();
        let stop = Arc::new(AtomicBool::new(false));
        let st = Arc::clone(&stop);
        let thread = std::thread::Builder::new()
            .name("paced-writer".into())
            .spawn(move || run(files, cfg, &st))
            .expect("spawn writer");
        PacedWriter {
            stop,
            thread: Some(thread),
        }
    }

    /// Waits for the writer to finish its duration.
    ///
    /// # Panics
    /// When the writer thread panicked.
    pub fn join(mut self) -> Paced {
        self.thread
            .take()
            .map(|t| t.join().expect("writer thread"))
            .unwrap_or_default()
    }
}

impl Drop for PacedWriter {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
    }
}

const FILLER: &str = "GET /api/v1/orders/4711 200 12ms user=anonymous region=eu-west-1 \
trace=5f2b7c0e9d1a4b3c8e6f0a2d4c6e8f10 payload=ok";

fn run(mut files: Vec<File>, cfg: PacedConfig, stop: &AtomicBool) -> Paced {
    let mut pending: Vec<Vec<u8>> = vec![Vec::with_capacity(64 << 10); files.len()];
    let start = Instant::now();
    let mut next = 0u64;
    let mut bytes = 0u64;
    while !stop.load(Ordering::SeqCst) && start.elapsed() < cfg.duration {
        let due = (cfg.lines_per_sec as f64 * start.elapsed().as_secs_f64()) as u64;
        let wt = unix_micros();
        let secs = wt / 1_000_000;
        let micros = wt % 1_000_000;
        while next < due {
            let p = &mut pending[(next % files.len() as u64) as usize];
            // The CRI timestamp is the write time too (UTC, seconds of the day are enough
            // for the reader; the agent keeps it as the record's time).
            let _infallible = writeln!(
                p,
                "2026-11-21T{:02}:{:02}:{:02}.{micros:06}000Z stdout F wt={wt} sq={next} {FILLER}",
                secs / 3600 % 24,
                secs / 60 % 60,
                secs % 60,
            );
            next += 1;
        }
        for (f, p) in files.iter_mut().zip(&mut pending) {
            if p.is_empty() {
                continue;
            }
            f.write_all(p).expect("append 0.log");
            bytes += p.len() as u64;
            p.clear();
        }
        std::thread::sleep(Duration::from_millis(5));
    }
    Paced { lines: next, bytes }
}
