//! The async side of the tail input: takes the reader's batches, registers each with the
//! watermark and sends it with an acknowledgement token, receives the outcomes, and every
//! `commit_interval` hands the newly acknowledged offsets to the database thread in one
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
}

impl Pump {
    fn lock(&self) -> std::sync::MutexGuard<'_, Watermark> {
        self.watermark
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
    }

    fn commit(&self) {
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
        let mut tick = tokio::time::interval(self.commit_interval);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        let mut stopping: Option<Instant> = None;
        let mut closed = false;
        loop {
            let grace = stopping.map_or_else(|| Instant::now() + GRACE, |s| s + GRACE);
            tokio::select! {
                biased;
                Some(ack) = self.acks.recv() => self.lock().settle(ack),
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
