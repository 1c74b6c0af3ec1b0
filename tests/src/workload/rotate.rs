//! A rotating writer: appends CRI lines (`cri_gen::LogGen`, so every record has its `sq=`
//! id) to the `0.log` of M pods at a target byte rate, and rotates each file every K bytes,
//! either as the kubelet does (rename to `0.log.<YYYYMMDD-HHMMSS>`, then a new `0.log`) or by
//! copytruncate (copy, then truncate in place). Rotated files beyond `keep` per pod are
//! deleted, oldest first (the kubelet's `containerLogMaxFiles`). Writes are batched per pod
//! every 5 ms, so the writer's own cost stays small next to the agent's.

use std::collections::VecDeque;
use std::fs::{File, OpenOptions};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use super::cri_gen::{LogGen, make_pods};
use super::rng::Rng;

/// How a file is rotated.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Rotation {
    /// Rename away, create anew (kubelet, logrotate `create`).
    Rename,
    /// Copy, then truncate in place (logrotate `copytruncate`).
    CopyTruncate,
}

/// What to write.
#[derive(Debug, Clone)]
pub struct RotateConfig {
    /// Pods (one `0.log` each).
    pub pods: usize,
    /// Target rate over all pods.
    pub bytes_per_sec: u64,
    /// Rotate a file once it holds this many bytes.
    pub rotate_bytes: u64,
    /// How.
    pub rotation: Rotation,
    /// Rotated files kept per pod.
    pub keep: usize,
    /// How long to write.
    pub duration: Duration,
    /// Seed of pods and lines.
    pub seed: u64,
}

/// What the writer wrote.
#[derive(Debug, Clone, Copy, Default)]
pub struct Wrote {
    /// Records (ids `0..events`).
    pub events: u64,
    /// Lines.
    pub lines: u64,
    /// Bytes.
    pub bytes: u64,
    /// Rotations done.
    pub rotations: u64,
}

/// A writer thread.
pub struct Writer {
    stop: Arc<AtomicBool>,
    bytes: Arc<AtomicU64>,
    thread: Option<JoinHandle<Wrote>>,
}

struct PodFile {
    path: PathBuf,
    file: File,
    size: u64,
    pending: Vec<u8>,
    rotated: VecDeque<PathBuf>,
}

impl Writer {
    /// Creates the pods under `root` and starts writing.
    ///
    /// # Panics
    /// When the pods or the thread cannot be created; the thread panics on I/O errors.
    pub fn start(root: &Path, cfg: RotateConfig) -> Writer {
        let mut rng = Rng::new(cfg.seed);
        let dirs = make_pods(root, cfg.pods, &mut rng);
        let stop = Arc::new(AtomicBool::new(false));
        let bytes = Arc::new(AtomicU64::new(0));
        let (st, progress) = (Arc::clone(&stop), Arc::clone(&bytes));
        let thread = std::thread::Builder::new()
            .name("rotating-writer".into())
            .spawn(move || run(&dirs, &cfg, &mut rng, &st, &progress))
            .expect("spawn writer");
        Writer {
            stop,
            bytes,
            thread: Some(thread),
        }
    }

    /// Bytes written so far.
    pub fn bytes(&self) -> u64 {
        self.bytes.load(Ordering::Relaxed)
    }

    /// Asks the writer to stop now (before its duration).
    pub fn stop(&self) {
        self.stop.store(true, Ordering::SeqCst);
    }

    /// Waits for the writer to finish its duration (or a `stop`).
    ///
    /// # Panics
    /// When the writer thread panicked.
    pub fn join(mut self) -> Wrote {
        self.thread
            .take()
            .map(|t| t.join().expect("writer thread"))
            .unwrap_or_default()
    }
}

impl Drop for Writer {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
    }
}

fn open(path: &Path) -> File {
    OpenOptions::new()
        .create(true)
        .append(true)
        .open(path)
        .expect("open 0.log")
}

fn run(
    dirs: &[PathBuf],
    cfg: &RotateConfig,
    rng: &mut Rng,
    stop: &AtomicBool,
    progress: &AtomicU64,
) -> Wrote {
    let mut pods: Vec<PodFile> = dirs
        .iter()
        .map(|d| {
            let path = d.join("0.log");
            PodFile {
                file: open(&path),
                path,
                size: 0,
                pending: Vec::with_capacity(1 << 20),
                rotated: VecDeque::new(),
            }
        })
        .collect();
    let mut lg = LogGen::new(rng.next_u64());
    let mut rotations = 0u64;
    let mut stamp = 0u64;
    let start = Instant::now();
    while !stop.load(Ordering::SeqCst) && start.elapsed() < cfg.duration {
        let due = (cfg.bytes_per_sec as f64 * start.elapsed().as_secs_f64()) as u64;
        while lg.bytes < due {
            let i = rng.below(pods.len() as u64) as usize;
            lg.group(&mut pods[i].pending, u64::MAX);
        }
        for p in &mut pods {
            if p.pending.is_empty() {
                continue;
            }
            p.file.write_all(&p.pending).expect("append 0.log");
            p.size += p.pending.len() as u64;
            p.pending.clear();
            if p.size >= cfg.rotate_bytes {
                stamp += 1;
                rotate(p, cfg, stamp);
                rotations += 1;
            }
        }
        progress.store(lg.bytes, Ordering::Relaxed);
        std::thread::sleep(Duration::from_millis(5));
    }
    Wrote {
        events: lg.events(),
        lines: lg.lines,
        bytes: lg.bytes,
        rotations,
    }
}

fn rotate(p: &mut PodFile, cfg: &RotateConfig, stamp: u64) {
    // Kubelet's suffix is the rotation time to the second; a counter keeps names unique.
    let s = 4 * 3600 + stamp;
    let to = p.path.with_file_name(format!(
        "0.log.20261121-{:02}{:02}{:02}",
        s / 3600 % 24,
        s / 60 % 60,
        s % 60
    ));
    match cfg.rotation {
        Rotation::Rename => {
            std::fs::rename(&p.path, &to).expect("rename 0.log");
            p.file = open(&p.path);
        }
        Rotation::CopyTruncate => {
            std::fs::copy(&p.path, &to).expect("copy 0.log");
            p.file.set_len(0).expect("truncate 0.log");
        }
    }
    p.size = 0;
    p.rotated.push_back(to);
    while p.rotated.len() > cfg.keep {
        if let Some(old) = p.rotated.pop_front() {
            std::fs::remove_file(&old).expect("remove rotated file");
        }
    }
}
