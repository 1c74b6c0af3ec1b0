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

/// What the delivery worker takes from a buffer in one go.
#[derive(Debug)]
pub struct Delivery {
    /// Batches in order.
    pub batches: Vec<Batch>,
    /// The chunk they came from (disk).
    pub chunk: Option<u64>,
}

impl Delivery {
    /// Events in it.
    pub fn events(&self) -> usize {
        self.batches.iter().map(Batch::len).sum()
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
                batches: vec![b],
                chunk: None,
            }),
            OutputBuffer::Disk(d) => d.next().await.map(|c| Delivery {
                batches: c.batches,
                chunk: Some(c.seq),
            }),
        }
    }

    /// False once the delivery was dropped from the buffer (`drop_oldest`): stop retrying it.
    pub fn holds(&self, d: &Delivery) -> bool {
        match (self, d.chunk) {
            (OutputBuffer::Disk(b), Some(seq)) => b.holds(seq),
            _ => true,
        }
    }

    /// Every event of `d` was accepted or rejected for good.
    pub async fn done(&self, d: &Delivery) {
        if let (OutputBuffer::Disk(b), Some(seq)) = (self, d.chunk) {
            b.done(seq).await;
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
