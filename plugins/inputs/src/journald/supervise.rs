//! The supervisor: starts journalctl at the right place, takes the reader's batches into the
//! pipeline with acknowledgement tokens, commits the acknowledged cursor every
//! `commit_interval`, and restarts a child that exits, with backoff. Where there is no
//! journal to read (no directory mounted) or no journalctl, it says so once, counts it, and
//! idles, checking again every [`MAX_BACKOFF`]: never a crash loop.
//!
//! A restarted child resumes after the last entry handed to the pipeline (in memory), not
//! after the last committed one, so an exit does not duplicate what is in flight; a restart
//! of the agent resumes after the last committed one. A cursor journalctl refuses ("Failed
//! to seek to cursor": another journal, or a damaged value) is dropped, counted
//! (`cursor_invalid`), and the journal is read from its start.

use std::future::Future;
use std::pin::Pin;
use std::process::Child;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use gleaner_api::random::{seed_from_clock, xorshift64};
use gleaner_api::{Acknowledgements, Batch, EventSender, PipelineClosed, RunMode, Shutdown};
use gleaner_api::{ComponentMetrics, PluginError};
use tokio::sync::mpsc;
use tokio::time::Instant;

use super::child::{self, Start};
use super::config::Settings;
use super::cursor_db::CursorDb;
use super::reader::{End, Out, Reader};
use super::record::Builder;
use super::stats::Stats;
use super::watermark::Watermark;

/// First restart delay; doubled per quick exit up to [`MAX_BACKOFF`].
const MIN_BACKOFF: Duration = Duration::from_secs(1);

/// Longest restart delay, and the period of the checks for a journal or a journalctl.
pub(crate) const MAX_BACKOFF: Duration = Duration::from_secs(60);

/// A child that ran this long resets the backoff.
const HEALTHY_RUN: Duration = Duration::from_secs(60);

/// How long outstanding acknowledgements may take at the stop.
const GRACE: Duration = Duration::from_secs(5);

type Sending = Pin<Box<dyn Future<Output = Result<(), PipelineClosed>> + Send>>;

/// The restart delay after `failures` quick exits in a row: doubling from [`MIN_BACKOFF`],
/// at most [`MAX_BACKOFF`], minus up to a fifth at random (so agents restarted together
/// spread out).
pub(crate) fn backoff(failures: u32, rng: &mut u64) -> Duration {
    let base = MIN_BACKOFF
        .saturating_mul(1 << failures.min(10))
        .min(MAX_BACKOFF);
    let fifth = base / 5;
    let jitter = fifth.mul_f64((xorshift64(rng) % 1000) as f64 / 1000.0);
    base - jitter
}

/// Why pumping one child's batches stopped.
enum Stopped {
    /// The reader is done (the child's output ended).
    Ended,
    /// The input is stopping, or the pipeline closed.
    Stop,
}

/// Everything the supervisor works with.
pub(crate) struct Supervisor {
    /// The options.
    pub(crate) settings: Arc<Settings>,
    /// Figures.
    pub(crate) stats: Arc<Stats>,
    /// The input's counters.
    pub(crate) metrics: Arc<ComponentMetrics>,
    /// Into the pipeline.
    pub(crate) out: EventSender,
    /// Outcomes of sent batches.
    pub(crate) acks: Acknowledgements,
    /// The stop signal.
    pub(crate) shutdown: Shutdown,
    /// Continuous or once.
    pub(crate) mode: RunMode,
    /// The cursor database.
    pub(crate) db: Arc<Mutex<CursorDb>>,
    /// The input's id.
    pub(crate) input: String,
    /// Acknowledged cursors not yet committed.
    pub(crate) watermark: Watermark,
}

impl Supervisor {
    async fn commit(&mut self) {
        let Some(cursor) = self.watermark.take_ready() else {
            return;
        };
        let db = Arc::clone(&self.db);
        let r = tokio::task::spawn_blocking(move || {
            db.lock()
                .unwrap_or_else(PoisonError::into_inner)
                .commit(&cursor, gleaner_api::now_ns() / 1_000_000_000)
        })
        .await;
        match r {
            Ok(Ok(())) => {}
            Ok(Err(e)) => {
                self.metrics.error("cursor_commit");
                tracing::error!(input = %self.input, error = %e, "journal cursor not saved; retrying with the next one");
            }
            Err(e) => tracing::error!(input = %self.input, error = %e, "cursor commit task failed"),
        }
    }

    /// Waits `d` (or until the stop), still taking outcomes and committing. True on stop.
    async fn idle(&mut self, d: Duration) -> bool {
        let until = Instant::now() + d;
        let mut tick = tokio::time::interval(self.settings.commit_interval);
        loop {
            tokio::select! {
                biased;
                () = self.shutdown.wait() => return true,
                Some(ack) = self.acks.recv() => self.watermark.settle(ack),
                _ = tick.tick() => self.commit().await,
                () = tokio::time::sleep_until(until) => return false,
            }
        }
    }

    /// Takes one child's batches until its reader ends or the input stops.
    async fn pump(&mut self, rx: &mut mpsc::Receiver<Out>) -> Stopped {
        let mut sending: Option<Sending> = None;
        let mut tick = tokio::time::interval(self.settings.commit_interval);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tokio::select! {
                biased;
                () = self.shutdown.wait() => return Stopped::Stop,
                Some(ack) = self.acks.recv() => self.watermark.settle(ack),
                r = async { match sending.as_mut() { Some(f) => f.await, None => Ok(()) } },
                    if sending.is_some() =>
                {
                    sending = None;
                    if r.is_err() {
                        return Stopped::Stop;
                    }
                }
                msg = rx.recv(), if sending.is_none() => match msg {
                    Some(o) => {
                        let id = self.watermark.register(o.cursor);
                        let token = self.acks.token(id);
                        let out = self.out.clone();
                        let batch = Batch::Logs(o.records);
                        sending = Some(Box::pin(async move {
                            out.send_with_ack(batch, Some(token)).await
                        }));
                    }
                    None => return Stopped::Ended,
                },
                _ = tick.tick() => self.commit().await,
            }
        }
    }

    /// True when there is a journal to read: a `*.journal` file in the configured directory
    /// (or a directory below it, one per machine id), else in the system journal's.
    fn journal_present(&self) -> bool {
        match &self.settings.directory {
            Some(d) => has_journal_files(d),
            None => ["/var/log/journal", "/run/log/journal"]
                .iter()
                .any(|d| has_journal_files(std::path::Path::new(d))),
        }
    }

    /// Runs children until the stop (or, once, until one read to the end).
    pub(crate) async fn run(mut self, mut start: Start) -> Result<(), PluginError> {
        let once = self.mode == RunMode::Once;
        let mut rng = seed_from_clock(0x6a6f_7572);
        let mut failures = 0u32;
        let mut said_no_journal = false;
        let mut said_missing = false;
        let batch_size = self
            .settings
            .batch_size
            .min(self.out.max_batch_events())
            .max(1);
        loop {
            if !self.journal_present() {
                if !said_no_journal {
                    said_no_journal = true;
                    self.metrics.error("no_journal");
                    let dir = self.settings.directory.as_ref().map_or_else(
                        || "/var/log/journal or /run/log/journal".to_owned(),
                        |d| d.display().to_string(),
                    );
                    tracing::warn!(input = %self.input, directory = %dir, "no journal files here (is the host's journal mounted?): the journald input idles and checks again every minute");
                }
                if once || self.idle(MAX_BACKOFF).await {
                    break;
                }
                continue;
            }
            if said_no_journal {
                tracing::info!(input = %self.input, "a journal is there now: reading it");
                said_no_journal = false;
            }
            let args = child::args(&self.settings, &start, !once);
            let (mut proc, last_err) = match child::spawn(
                &self.settings.journalctl,
                &args,
                &self.input,
            ) {
                Ok(c) => c,
                Err(e) => {
                    let missing = e.kind() == std::io::ErrorKind::NotFound;
                    let what = if missing {
                        "journalctl not found: install it (Debian: systemd) or set journalctl_path"
                    } else {
                        "cannot start journalctl"
                    };
                    if !said_missing {
                        said_missing = true;
                        tracing::error!(input = %self.input, program = %self.settings.journalctl.display(), error = %e, "{what}; the journald input idles and tries again every minute");
                    }
                    self.metrics.error(if missing {
                        "journalctl_missing"
                    } else {
                        "journalctl_spawn"
                    });
                    if once {
                        return Err(PluginError::new(format!(
                            "journald: {what} ({}): {e}",
                            self.settings.journalctl.display()
                        )));
                    }
                    if self.idle(MAX_BACKOFF).await {
                        break;
                    }
                    continue;
                }
            };
            said_missing = false;
            let Some(stdout) = proc.stdout.take() else {
                return Err(PluginError::new("journald: journalctl has no stdout pipe"));
            };
            tracing::info!(input = %self.input, start = ?start, "journalctl started");
            Stats::add(&self.stats.running, 1);
            let started = Instant::now();
            let (tx, mut rx) = mpsc::channel(1);
            let reader = Reader {
                stdout,
                max_entry_bytes: self.settings.max_entry_bytes,
                builder: Builder::new(
                    self.settings.binary,
                    self.settings.fields.clone(),
                    self.settings.exclude.clone(),
                ),
                skip: match &start {
                    Start::Cursor(c) => Some(c.clone()),
                    Start::Head => None,
                },
                batch_size,
                tx,
                stats: Arc::clone(&self.stats),
                metrics: Arc::clone(&self.metrics),
                input: self.input.clone(),
            };
            let thread = std::thread::Builder::new()
                .name("gleaner-journald".to_owned())
                .spawn(move || reader.run())
                .map_err(|e| {
                    PluginError::with_source("journald: cannot start the reader thread", e)
                })?;
            let stopped = self.pump(&mut rx).await;
            if matches!(stopped, Stopped::Stop) {
                let _killed = proc.kill();
            }
            drop(rx);
            let (end, status) = tokio::task::spawn_blocking(move || {
                let end = thread.join().unwrap_or_default();
                (end, reap(&mut proc))
            })
            .await
            .map_err(|e| PluginError::with_source("journald: join task failed", e))?;
            self.stats
                .running
                .store(0, std::sync::atomic::Ordering::Relaxed);
            let End {
                last_cursor,
                entries,
            } = end;
            if let Some(c) = last_cursor {
                start = Start::Cursor(c);
            }
            if matches!(stopped, Stopped::Stop) {
                break;
            }
            let stderr = last_err
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .clone();
            if once {
                if status.is_some_and(|s| s.success()) {
                    break;
                }
                return Err(PluginError::new(format!(
                    "journald: journalctl failed ({status:?}): {stderr}"
                )));
            }
            if stderr.contains("Failed to seek to cursor") && entries == 0 {
                self.metrics.error("cursor_invalid");
                tracing::warn!(input = %self.input, cursor = ?start, "journalctl refuses the saved cursor: reading the journal from its start (duplicates, not losses)");
                start = Start::Head;
            }
            Stats::add(&self.stats.restarts, 1);
            self.metrics.error("journalctl_exited");
            if started.elapsed() >= HEALTHY_RUN {
                failures = 0;
            }
            let delay = backoff(failures, &mut rng);
            failures = failures.saturating_add(1);
            tracing::warn!(input = %self.input, status = ?status, stderr = %stderr, delay_ms = delay.as_millis() as u64, "journalctl exited; starting it again");
            if self.idle(delay).await {
                break;
            }
        }
        // Stopping: wait for what is in flight, then commit.
        let deadline = Instant::now() + GRACE;
        while !self.watermark.settled() {
            tokio::select! {
                Some(ack) = self.acks.recv() => self.watermark.settle(ack),
                () = tokio::time::sleep_until(deadline) => {
                    tracing::warn!(input = %self.input, batches = self.watermark.in_flight(), "acknowledgements still outstanding at stop: those entries will be read again");
                    break;
                }
            }
        }
        self.commit().await;
        Ok(())
    }
}

/// True when `dir` or one of its subdirectories holds a `*.journal` (or `*.journal~`) file.
fn has_journal_files(dir: &std::path::Path) -> bool {
    let is_journal = |n: &std::ffi::OsStr| {
        let n = n.to_string_lossy();
        n.ends_with(".journal") || n.ends_with(".journal~")
    };
    let Ok(entries) = std::fs::read_dir(dir) else {
        return false;
    };
    entries.flatten().any(|e| {
        if is_journal(&e.file_name()) {
            return true;
        }
        e.file_type().is_ok_and(|t| t.is_dir())
            && std::fs::read_dir(e.path())
                .is_ok_and(|mut sub| sub.any(|f| f.is_ok_and(|f| is_journal(&f.file_name()))))
    })
}

/// Waits for the child's exit (killing it if it lingers after closing its output).
fn reap(proc: &mut Child) -> Option<std::process::ExitStatus> {
    for _ in 0..100 {
        match proc.try_wait() {
            Ok(Some(s)) => return Some(s),
            Ok(None) => std::thread::sleep(Duration::from_millis(50)),
            Err(_) => return None,
        }
    }
    let _killed = proc.kill();
    proc.wait().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_to_a_minute_with_a_fifth_of_jitter() {
        let mut rng = 1;
        for (n, base) in [(0, 1), (1, 2), (2, 4), (5, 32), (6, 60), (30, 60)] {
            for _ in 0..50 {
                let d = backoff(n, &mut rng);
                let base = Duration::from_secs(base);
                assert!(d <= base && d >= base - base / 5, "{n}: {d:?}");
            }
        }
    }
}
