//! The async side of the tail input: takes the reader's batches, registers each with the
//! watermark and sends it with an acknowledgement token, receives the outcomes, and every
//! `commit_interval` (or sooner, once [`COMMIT_AFTER_BATCHES`] batches were acknowledged
//! since the last commit) hands the newly acknowledged offsets to the database thread in one
//! commit. On shutdown it stops the reader, lets the batch in flight finish (up to
//! [`GRACE`]), waits for the outstanding outcomes (up to [`GRACE`]) and commits once more.

use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, PoisonError, mpsc};
use std::time::Duration;

use gleaner_api::{Acknowledgements, Batch, EventSender, PipelineClosed, Shutdown};
use tokio::time::Instant;

use super::acks::Watermark;
use super::batch::Outgoing;
use super::discover::Wake;
use super::offsets::DbCmd;

/// How long a batch in flight, then the outstanding outcomes, may take at shutdown.
pub(crate) const GRACE: Duration = Duration::from_secs(5);

/// Acknowledged batches (of up to 1,024 lines each) that make a commit before its time:
/// a file read fast would otherwise have up to `commit_interval` of lines acknowledged but
/// not committed (100,000 at 500,000 lines/s), all read again after a kill.
pub(crate) const COMMIT_AFTER_BATCHES: usize = 16;

type Sending = Pin<Box<dyn Future<Output = Result<(), PipelineClosed>> + Send>>;

/// Everything the pump works with.
pub(crate) struct Pump {
    /// Outcomes of sent batches.
    pub(crate) acks: Acknowledgements,
    /// Into the pipeline.
    pub(crate) out: EventSender,
    /// Batches from the reader.
    pub(crate) rx: tokio::sync::mpsc::Receiver<Outgoing>,
    /// The shared watermark.
    pub(crate) watermark: Arc<Mutex<Watermark>>,
    /// The database thread.
    pub(crate) db: mpsc::Sender<DbCmd>,
    /// Commit period.
    pub(crate) commit_interval: Duration,
    /// The input's stop signal.
    pub(crate) shutdown: Shutdown,
    /// Tells the reader to stop.
    pub(crate) stop: Arc<AtomicBool>,
    /// Wakes the reader.
    pub(crate) wake: mpsc::Sender<Wake>,
    /// Outcomes settled since the last commit.
    pub(crate) settled_since_commit: usize,
}

impl Pump {
    fn lock(&self) -> std::sync::MutexGuard<'_, Watermark> {
        self.watermark
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
    }

    fn commit(&mut self) {
        self.settled_since_commit = 0;
        let ready = self.lock().take_ready();
        if !ready.is_empty() && self.db.send(DbCmd::Commit(ready)).is_err() {
            tracing::error!("offset database thread is gone: offsets are not saved");
        }
    }

    fn stop_reader(&mut self) {
        self.stop.store(true, Ordering::Release);
        drop(self.wake.send(Wake::Stop));
        self.rx.close();
    }

    /// Runs until the reader is done (or the input stops), then settles and commits.
    pub(crate) async fn run(mut self) {
        let mut sending: Option<Sending> = None;
        // The first commit one interval from now (an interval's first tick is at once, with
        // nothing acknowledged yet).
        let mut tick =
            tokio::time::interval_at(Instant::now() + self.commit_interval, self.commit_interval);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        let mut stopping: Option<Instant> = None;
        let mut closed = false;
        loop {
            let grace = stopping.map_or_else(|| Instant::now() + GRACE, |s| s + GRACE);
            tokio::select! {
                biased;
                Some(ack) = self.acks.recv() => {
                    self.lock().settle(ack);
                    self.settled_since_commit += 1;
                    if self.settled_since_commit >= COMMIT_AFTER_BATCHES {
                        self.commit();
                    }
                }
                r = async { match sending.as_mut() { Some(f) => f.await, None => Ok(()) } },
                    if sending.is_some() =>
                {
                    sending = None;
                    if r.is_err() {
                        closed = true;
                        self.stop_reader();
                    }
                }
                msg = self.rx.recv(), if sending.is_none() => match msg {
                    Some(o) if stopping.is_none() && !closed => {
                        let id = self.lock().register(o.offsets);
                        let token = self.acks.token(id);
                        let out = self.out.clone();
                        let batch = Batch::Logs(o.records);
                        sending = Some(Box::pin(async move {
                            out.send_with_ack(batch, Some(token)).await
                        }));
                    }
                    Some(_) => {} // stopping: not sent, not registered, read again later
                    None => break,
                },
                _ = tick.tick() => self.commit(),
                () = self.shutdown.wait(), if stopping.is_none() => {
                    stopping = Some(Instant::now());
                    self.stop_reader();
                }
                () = tokio::time::sleep_until(grace), if stopping.is_some() && sending.is_some() => {
                    tracing::warn!("pipeline still full at shutdown: the last batch is dropped and will be read again");
                    sending = None;
                }
            }
        }
        // The reader is done: wait for what is in flight, then commit.
        let deadline = Instant::now() + GRACE;
        while !self.lock().settled() {
            tokio::select! {
                Some(ack) = self.acks.recv() => self.lock().settle(ack),
                () = tokio::time::sleep_until(deadline) => {
                    let n = self.lock().in_flight();
                    tracing::warn!(batches = n, "acknowledgements still outstanding at stop: those lines will be read again");
                    break;
                }
            }
        }
        self.commit();
    }
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use gleaner_api::test_util::input_context;
    use gleaner_api::{BuildContext, LogRecord, RunMode, Stream};

    use super::*;
    use crate::tail::file::{FileKey, Fingerprint};
    use crate::tail::offsets::Commit;

    #[tokio::test]
    async fn a_file_read_fast_is_committed_before_commit_interval() {
        let bcx = BuildContext::for_test("inputs.tail.0");
        let (cx, mut envelopes, _trigger) = input_context(&bcx, RunMode::Continuous, 64);
        let (batches, rx) = tokio::sync::mpsc::channel(64);
        let (db, commits) = mpsc::channel();
        let (wake, _woken) = mpsc::channel();
        let pump = Pump {
            acks: cx.acks,
            out: cx.out,
            rx,
            watermark: Arc::default(),
            db,
            // Never within the test: only the count of acknowledged batches can commit.
            commit_interval: Duration::from_secs(3600),
            shutdown: cx.shutdown,
            stop: Arc::default(),
            wake,
            settled_since_commit: 0,
        };
        let running = tokio::spawn(pump.run());
        let path: Arc<Path> = Arc::from(Path::new("/var/log/a.log"));
        for n in 1..=COMMIT_AFTER_BATCHES as u64 {
            let offsets = vec![Commit {
                key: FileKey { dev: 1, ino: 2 },
                fp: Fingerprint::default(),
                path: Arc::clone(&path),
                offset: n * 100,
                ended: false,
            }];
            let records = vec![LogRecord::new(0, "line", Stream::Stdout)];
            batches
                .send(Outgoing { records, offsets })
                .await
                .expect("pump running");
            let env = envelopes.recv().await.expect("a batch");
            env.ack.expect("an acknowledgement token").ack();
        }
        let got =
            tokio::task::spawn_blocking(move || commits.recv_timeout(Duration::from_secs(20)))
                .await
                .expect("join");
        let Ok(DbCmd::Commit(entries)) = got else {
            panic!("no commit after {COMMIT_AFTER_BATCHES} acknowledged batches");
        };
        assert_eq!(entries.len(), 1);
        assert_eq!(entries[0].offset, COMMIT_AFTER_BATCHES as u64 * 100);
        drop(batches);
        running.abort();
    }
}
