//! Where events wait for their destination: one buffer per output, in memory
//! ([`memory::OutputQueue`]) or on disk ([`disk::DiskBuffer`], chunk files under
//! `<data_dir>/buffer/<output-id>/`). The router pushes batches with their acknowledgement
//! tokens; the delivery worker takes [`Delivery`]s and reports them done.
//!
//! Acknowledgement: a memory buffer settles a batch's token when it is queued; a disk buffer
//! when the bytes holding it are fsynced (`sync = "batch"`, group commit) or written
//! (`sync = "none"`).

pub mod disk;
pub mod format;
pub mod memory;
pub mod progress;
pub mod store;

use std::sync::Arc;

use gleaner_api::{AckToken, Batch};

use disk::DiskBuffer;
use memory::{OutputQueue, QueueClosed};

/// One output's buffer.
#[derive(Clone)]
pub enum OutputBuffer {
    /// In memory: fast, lost on a crash.
    Memory(Arc<OutputQueue>),
    /// Chunk files: survives crashes and restarts.
    Disk(DiskBuffer),
}

/// What the delivery worker takes from a buffer in one go: a queued batch, or a disk chunk
/// decoded one frame at a time.
#[derive(Debug)]
pub struct Delivery {
    source: DeliverySource,
    /// The chunk it comes from (disk).
    pub chunk: Option<u64>,
    /// Events of the chunk delivered before a restart: [`Delivery::next_batch`] skips them,
    /// and progress counts on from there.
    pub sent_before: u64,
    /// Events still to skip.
    skip: u64,
}

#[derive(Debug)]
enum DeliverySource {
    Batch(Option<Batch>),
    Chunk(store::ChunkReader),
}

impl Delivery {
    /// The next batch; `Err` for a chunk frame that does not decode (counted and skipped by
    /// the worker).
    pub fn next_batch(&mut self) -> Option<Result<Batch, gleaner_api::codec::DecodeError>> {
        match &mut self.source {
            DeliverySource::Batch(b) => b.take().map(Ok),
            DeliverySource::Chunk(r) => loop {
                let batch = match r.next_batch()? {
                    Ok(b) => b,
                    Err(e) => return Some(Err(e)),
                };
                let n = batch.len() as u64;
                if self.skip == 0 {
                    return Some(Ok(batch));
                }
                if n <= self.skip {
                    self.skip -= n;
                    continue;
                }
                let rest = skip_events(batch, self.skip);
                self.skip = 0;
                return Some(Ok(rest));
            },
        }
    }

    /// Takes back a batch of this delivery once it is encoded and no longer needed: a
    /// chunk's decoder reuses its records' memory for the next ones; a memory delivery
    /// drops it.
    pub fn recycle(&mut self, batch: Batch) {
        if let DeliverySource::Chunk(r) = &mut self.source {
            r.recycle(batch);
        }
    }

    /// The batch of a memory delivery not yet taken (a chunk's events stay on disk).
    pub fn take_volatile(&mut self) -> Option<Batch> {
        match &mut self.source {
            DeliverySource::Batch(b) => b.take(),
            DeliverySource::Chunk(_) => None,
        }
    }

    /// Events not yet taken from a memory delivery (a chunk's stay on disk).
    pub fn volatile_events(&self) -> usize {
        match &self.source {
            DeliverySource::Batch(b) => b.as_ref().map_or(0, Batch::len),
            DeliverySource::Chunk(_) => 0,
        }
    }
}

/// `batch` without its first `n` events (`n` < its length).
fn skip_events(batch: Batch, n: u64) -> Batch {
    let n = usize::try_from(n).unwrap_or(usize::MAX);
    match batch {
        Batch::Metrics(mut m) => Batch::Metrics(m.split_off(n.min(m.len()))),
        Batch::Logs(mut l) => Batch::Logs(l.split_off(n.min(l.len()))),
    }
}

impl OutputBuffer {
    /// Takes a batch; its token (a clone per output) settles when the batch is safe here.
    pub async fn push(&self, batch: Batch, ack: Option<AckToken>) -> Result<(), QueueClosed> {
        match self {
            OutputBuffer::Memory(q) => {
                q.push(batch).await?;
                if let Some(a) = ack {
                    a.ack();
                }
                Ok(())
            }
            OutputBuffer::Disk(d) => d.push(batch, ack).await,
        }
    }

    /// No more pushes; the worker drains what is left.
    pub fn close(&self) {
        match self {
            OutputBuffer::Memory(q) => q.close(),
            OutputBuffer::Disk(d) => d.close(),
        }
    }

    /// The next events to deliver; `None` once closed and drained.
    pub async fn next(&self) -> Option<Delivery> {
        match self {
            OutputBuffer::Memory(q) => q.pop().await.map(|b| Delivery {
                source: DeliverySource::Batch(Some(b)),
                chunk: None,
                sent_before: 0,
                skip: 0,
            }),
            OutputBuffer::Disk(d) => d.next().await.map(|c| Delivery {
                source: DeliverySource::Chunk(c.reader),
                chunk: Some(c.seq),
                sent_before: c.sent,
                skip: c.sent,
            }),
        }
    }

    /// False once the delivery was dropped from the buffer (`drop_oldest`): stop retrying it.
    pub fn holds(&self, chunk: Option<u64>) -> bool {
        match (self, chunk) {
            (OutputBuffer::Disk(b), Some(seq)) => b.holds(seq),
            _ => true,
        }
    }

    /// The first `events` events of chunk `chunk` (a delivery's [`Delivery::chunk`]) were
    /// accepted or rejected for good.
    pub async fn mark_sent(&self, chunk: Option<u64>, events: u64) {
        if let (OutputBuffer::Disk(b), Some(seq)) = (self, chunk) {
            b.mark_sent(seq, events).await;
        }
    }

    /// Every batch of `d` was taken (its requests may still be in flight): a chunk's read
    /// buffer goes back now, for the next chunk, instead of when `d` is done.
    pub fn finish_reading(&self, d: &mut Delivery) {
        if let OutputBuffer::Disk(b) = self
            && matches!(d.source, DeliverySource::Chunk(_))
            && let DeliverySource::Chunk(reader) =
                std::mem::replace(&mut d.source, DeliverySource::Batch(None))
        {
            b.recycle(reader);
        }
    }

    /// Every event of `d` was accepted or rejected for good.
    pub async fn done(&self, d: Delivery) {
        if let (OutputBuffer::Disk(b), Some(seq)) = (self, d.chunk) {
            b.done(seq).await;
            if let DeliverySource::Chunk(reader) = d.source {
                b.recycle(reader);
            }
        }
    }

    /// Events `start..start + len` of disk chunk `chunk` (counted from its first event, as
    /// its progress is), read again for a request that let go of them while in flight.
    /// `Ok(None)`: the chunk is gone (`drop_oldest` counted its events), or there is no chunk.
    pub async fn reread(
        &self,
        chunk: Option<u64>,
        start: u64,
        len: usize,
    ) -> Result<Option<Batch>, store::ReadChunkError> {
        match (self, chunk) {
            (OutputBuffer::Disk(b), Some(seq)) => b.reread(seq, start, len).await,
            _ => Ok(None),
        }
    }

    /// True when what the buffer holds survives a restart.
    pub fn is_durable(&self) -> bool {
        matches!(self, OutputBuffer::Disk(_))
    }

    /// Events still held in memory (what a memory buffer loses if the agent stops now).
    pub fn volatile_events(&self) -> usize {
        match self {
            OutputBuffer::Memory(q) => q.events(),
            OutputBuffer::Disk(_) => 0,
        }
    }
}
