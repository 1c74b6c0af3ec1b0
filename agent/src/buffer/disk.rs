//! The disk buffer of one output: the router's pushes go through a bounded channel to a
//! writer task that appends them to the [`ChunkStore`] and fsyncs once per group (group
//! commit), then settles their acknowledgement tokens. Chunks seal at `chunk_size` or when
//! the active chunk is `flush_interval` old; the delivery worker reads sealed chunks in order
//! and removes each once every event in it was accepted or rejected for good.
//!
//! Full buffer (`max_bytes`): `block` makes `push` wait until a delivered chunk is removed
//! (backpressure up to the inputs); `drop_oldest` deletes whole oldest chunks, counting their
//! events under `drop_oldest`, even the one being delivered (its worker stops retrying it).
//! A write error (disk full, I/O error) is retried every second with the group held, so its
//! acknowledgements wait and nothing is lost; the error is logged and counted.
//!
//! A sealed chunk that cannot be read back does not stop delivery: one that vanished (deleted
//! by hand) is skipped at once, one that stays unreadable (permissions, I/O errors) for
//! [`UNREADABLE_TRIES`] tries is moved aside; either way its events (less those delivered
//! before, per the progress recorded) are counted as discarded under `chunk_missing` or
//! `chunk_unreadable`, the gauges are corrected, and the next chunk goes. Errors that say
//! nothing about the chunk (out of descriptors or memory) are retried for as long as they last.
//!
//! Over 400 lines on purpose: the writer task's group commit, sealing by size or age and the
//! settling of acknowledgement tokens are one state machine over one channel.

use std::path::Path;
use std::sync::atomic::Ordering;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use gleaner_api::{AckToken, Batch, ComponentMetrics, now_ns};
use tokio::sync::{Notify, mpsc};
use tracing::{error, info, warn};

use super::memory::QueueClosed;
use super::progress::Progress;
use super::store::{
    self, ChunkMeta, ChunkReader, ChunkStore, ReadChunkError, Recovery, StoreConfig, StoreError,
};
use crate::config::WhenFull;

/// Disk buffer settings.
#[derive(Debug, Clone, Copy)]
pub struct DiskConfig {
    /// Store settings (chunk size, fsync policy).
    pub store: StoreConfig,
    /// Upper bound of bytes on disk.
    pub max_bytes: u64,
    /// Full-buffer policy.
    pub when_full: WhenFull,
    /// Seal the active chunk when it is this old.
    pub flush_interval: Duration,
}

struct WriteReq {
    batch: Batch,
    ack: Option<AckToken>,
    /// Its share of the writer's event budget, given back once written.
    permit: tokio::sync::OwnedSemaphorePermit,
}

/// Events waiting for the writer, at most (bounds the memory of a slow disk).
const WRITER_BUDGET: u32 = 4_096;

pub use unreadable::UNREADABLE_TRIES;

#[derive(Default)]
struct Flags {
    input_closed: bool,
    writer_done: bool,
}

struct Inner {
    id: String,
    store: Mutex<ChunkStore>,
    /// How far the chunk being delivered got (one record for the buffer).
    progress: Progress,
    flags: Mutex<Flags>,
    tx: Mutex<Option<mpsc::Sender<WriteReq>>>,
    writer_budget: Arc<tokio::sync::Semaphore>,
    /// The read buffer of the last delivered chunk, reused for the next one.
    spare: Mutex<Option<Vec<u8>>>,
    /// A chunk read started by a `next` that was dropped before it finished (the worker
    /// races `next` against its flush timer): the next call takes it over.
    reading: Mutex<Option<(u64, ChunkRead)>>,
    /// The last chunk handed to the worker: `next` hands out the first sealed chunk after
    /// it, so a worker with requests of one chunk in flight can start on the next.
    handed: Mutex<Option<u64>>,
    /// Consecutive failed reads of the front chunk: (seq, count).
    read_failures: Mutex<(u64, u32)>,
    /// Space was freed, or the buffer closed.
    space: Notify,
    /// A chunk was sealed, or the writer finished.
    ready: Notify,
    /// Settings; a reload changes them in place ([`DiskBuffer::reconfigure`]).
    cfg: Mutex<DiskConfig>,
    metrics: Arc<ComponentMetrics>,
}

/// A chunk being read and verified on the blocking pool.
type ChunkRead = tokio::task::JoinHandle<Result<ChunkReader, ReadChunkError>>;

/// Hands an unfinished read back to [`Inner::reading`] when `next` is dropped mid-read, so
/// the chunk is not read twice and its buffer not lost.
struct PendingRead<'a> {
    slot: &'a Mutex<Option<(u64, ChunkRead)>>,
    read: Option<(u64, ChunkRead)>,
}

impl Drop for PendingRead<'_> {
    fn drop(&mut self) {
        if let Some(read) = self.read.take() {
            *lock(self.slot) = Some(read);
        }
    }
}

/// One output's disk buffer.
#[derive(Clone)]
pub struct DiskBuffer {
    inner: Arc<Inner>,
}

/// A sealed chunk handed to the delivery worker.
#[derive(Debug)]
pub struct ChunkDelivery {
    /// The chunk.
    pub seq: u64,
    /// Its batches, in order, decoded on demand.
    pub reader: ChunkReader,
    /// Its first events that were delivered before a restart (see [`DiskBuffer::mark_sent`]).
    pub sent: u64,
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

impl DiskBuffer {
    /// Opens `dir` (recovering what an earlier run left) and starts the writer task.
    pub async fn open(
        id: &str,
        dir: &Path,
        corrupt_dir: &Path,
        cfg: DiskConfig,
        metrics: Arc<ComponentMetrics>,
    ) -> Result<DiskBuffer, StoreError> {
        let (d, c, sc) = (dir.to_owned(), corrupt_dir.to_owned(), cfg.store);
        let opened = tokio::task::spawn_blocking(move || {
            ChunkStore::open(&d, &c, sc).map(|(s, r)| (s, r, Progress::open(&d)))
        })
        .await;
        let (store, rec, progress) = match opened {
            Ok(r) => r?,
            Err(e) => {
                return Err(StoreError {
                    op: "open buffer",
                    path: dir.display().to_string(),
                    source: std::io::Error::other(e.to_string()),
                });
            }
        };
        report_recovery(id, dir, &rec, &metrics);
        if progress.damaged() {
            metrics.error("buffer_progress");
            warn!(output = %id, path = %progress.path().display(), "delivery progress record is damaged or unreadable; the chunk being delivered is sent again from its start");
        }
        let (tx, rx) = mpsc::channel(16);
        let inner = Arc::new(Inner {
            id: id.to_owned(),
            store: Mutex::new(store),
            progress,
            flags: Mutex::new(Flags::default()),
            tx: Mutex::new(Some(tx)),
            writer_budget: Arc::new(tokio::sync::Semaphore::new(WRITER_BUDGET as usize)),
            spare: Mutex::new(None),
            reading: Mutex::new(None),
            handed: Mutex::new(None),
            read_failures: Mutex::new((0, 0)),
            space: Notify::new(),
            ready: Notify::new(),
            cfg: Mutex::new(cfg),
            metrics,
        });
        inner.publish_gauges();
        tokio::spawn(writer(Arc::clone(&inner), rx));
        Ok(DiskBuffer { inner })
    }

    /// Takes a batch: waits while the buffer is full (`block`) or drops the oldest chunks
    /// (`drop_oldest`). The token settles once the batch is durable.
    pub async fn push(&self, batch: Batch, ack: Option<AckToken>) -> Result<(), QueueClosed> {
        let inner = &self.inner;
        loop {
            let space = inner.space.notified();
            tokio::pin!(space);
            space.as_mut().enable();
            if lock(&inner.flags).input_closed {
                return Err(QueueClosed);
            }
            let cfg = *lock(&inner.cfg);
            let over = lock(&inner.store).total_bytes() >= cfg.max_bytes;
            if !over {
                break;
            }
            if cfg.when_full == WhenFull::DropOldest {
                if inner.drop_oldest() {
                    continue;
                }
                // Only the active chunk is left: accept the overshoot of one chunk.
                break;
            }
            space.await;
        }
        let tx = lock(&inner.tx).clone();
        let Some(tx) = tx else {
            return Err(QueueClosed);
        };
        let n = u32::try_from(batch.len())
            .unwrap_or(u32::MAX)
            .clamp(1, WRITER_BUDGET);
        let permit = Arc::clone(&inner.writer_budget)
            .acquire_many_owned(n)
            .await
            .map_err(|_| QueueClosed)?;
        tx.send(WriteReq { batch, ack, permit })
            .await
            .map_err(|_| QueueClosed)
    }

    /// No more pushes: the writer seals the active chunk and finishes.
    pub fn close(&self) {
        lock(&self.inner.flags).input_closed = true;
        lock(&self.inner.tx).take();
        self.inner.space.notify_waiters();
    }

    /// The oldest sealed chunk not yet handed out (see [`DiskBuffer::rewind`]), read and
    /// verified; `None` once closed and every chunk handed out. A damaged chunk is moved
    /// aside, counted and skipped.
    pub async fn next(&self) -> Option<ChunkDelivery> {
        let inner = &self.inner;
        loop {
            let ready = inner.ready.notified();
            tokio::pin!(ready);
            ready.as_mut().enable();
            let after = *lock(&inner.handed);
            let front = lock(&inner.store).first_after(after).cloned();
            let Some(meta) = front else {
                if lock(&inner.flags).writer_done {
                    return None;
                }
                ready.await;
                continue;
            };
            let started = lock(&inner.reading).take();
            let read = match started {
                Some((seq, read)) if seq == meta.seq => read,
                _ => {
                    let path = meta.path.clone();
                    let buf = lock(&inner.spare).take().unwrap_or_default();
                    tokio::task::spawn_blocking(move || ChunkReader::open_with(&path, buf))
                }
            };
            let mut pending = PendingRead {
                slot: &inner.reading,
                read: Some((meta.seq, read)),
            };
            let Some((_, read)) = pending.read.as_mut() else {
                continue;
            };
            let result = read.await;
            pending.read = None;
            match result {
                Ok(Ok(reader)) => {
                    let sent = inner.sent(&meta);
                    *lock(&inner.read_failures) = (0, 0);
                    *lock(&inner.handed) = Some(meta.seq);
                    return Some(ChunkDelivery {
                        seq: meta.seq,
                        reader,
                        sent,
                    });
                }
                Ok(Err(ReadChunkError::Corrupt { path, reason })) => {
                    inner.quarantine(&meta, &path, &reason)
                }
                Ok(Err(ReadChunkError::Io { source, .. }))
                    if source.kind() == std::io::ErrorKind::NotFound =>
                {
                    inner.skip(&meta, "chunk_missing", &source).await;
                }
                Ok(Err(e @ ReadChunkError::Io { .. })) => {
                    inner.metrics.error("buffer_read");
                    let tries = inner.failed_read(meta.seq, &e);
                    if tries >= UNREADABLE_TRIES {
                        inner.skip(&meta, "chunk_unreadable", &e).await;
                        continue;
                    }
                    error!(output = %inner.id, error = %e, tries, "cannot read a chunk; retrying in 1s");
                    tokio::time::sleep(Duration::from_secs(1)).await;
                }
                Err(e) => {
                    inner.metrics.error("buffer_read");
                    error!(output = %inner.id, error = %e, "chunk reader task failed; retrying in 1s");
                    tokio::time::sleep(Duration::from_secs(1)).await;
                }
            }
        }
    }

    /// True while the chunk is still buffered (not dropped by `drop_oldest`).
    pub fn holds(&self, seq: u64) -> bool {
        lock(&self.inner.store).sealed_chunk(seq).is_some()
    }

    /// Hands out chunks from the oldest again: a new worker (after a reload) starts over
    /// from what the previous one did not finish.
    pub fn rewind(&self) {
        *lock(&self.inner.handed) = None;
    }

    /// Every event of the chunk was accepted or rejected for good: remove it.
    pub async fn done(&self, seq: u64) {
        let inner = Arc::clone(&self.inner);
        let removed = tokio::task::spawn_blocking(move || {
            let r = lock(&inner.store).remove(seq);
            inner.publish_gauges();
            r
        })
        .await;
        match removed {
            Ok(Ok(_)) => {}
            Ok(Err(e)) => {
                self.inner.metrics.error("buffer_remove");
                error!(output = %self.inner.id, error = %e, "cannot remove a delivered chunk; it will be delivered again after a restart");
            }
            Err(e) => error!(output = %self.inner.id, error = %e, "chunk removal task failed"),
        }
        self.inner.space.notify_waiters();
    }

    /// Records that the first `events` events of chunk `seq` were delivered, so a restart
    /// resumes after them. A failure to record only means duplicates after a restart.
    pub async fn mark_sent(&self, seq: u64, events: u64) {
        let created = lock(&self.inner.store)
            .sealed_chunk(seq)
            .map(|c| c.created_ns);
        let Some(created_ns) = created else { return };
        let inner = Arc::clone(&self.inner);
        let written =
            tokio::task::spawn_blocking(move || inner.progress.record(seq, created_ns, events))
                .await;
        if !matches!(written, Ok(Ok(()))) {
            self.inner.metrics.error("buffer_progress");
            warn!(output = %self.inner.id, path = %self.inner.progress.path().display(), "cannot record delivery progress; a restart sends this chunk again from its start");
        }
    }

    /// Events `start..start + len` of chunk `seq`, read again from disk (see
    /// [`store::read_events`]). `Err` when they cannot be read: `Ok(None)` when the chunk is
    /// gone (`drop_oldest` removed it and counted its events).
    pub async fn reread(
        &self,
        seq: u64,
        start: u64,
        len: usize,
    ) -> Result<Option<Batch>, ReadChunkError> {
        let path = lock(&self.inner.store)
            .sealed_chunk(seq)
            .map(|c| c.path.clone());
        let Some(path) = path else { return Ok(None) };
        let read = tokio::task::spawn_blocking(move || {
            let r = store::read_events(&path, start, len);
            (path, r)
        })
        .await;
        match read {
            Ok((path, Ok(None))) => Err(ReadChunkError::Corrupt {
                path: path.display().to_string(),
                reason: format!("it no longer holds events {start}..{}", start + len as u64),
            }),
            Ok((_, r)) => r,
            Err(e) => Err(ReadChunkError::Io {
                path: format!("chunk {seq}"),
                source: std::io::Error::other(e.to_string()),
            }),
        }
    }

    /// Keeps a delivered chunk's read buffer for the next one (unless it grew unusually big).
    pub fn recycle(&self, reader: ChunkReader) {
        let buf = reader.into_buffer();
        let chunk_size = lock(&self.inner.cfg).store.chunk_size;
        if buf.capacity() as u64 <= 2 * chunk_size.max(1 << 20) {
            *lock(&self.inner.spare) = Some(buf);
        }
    }

    /// New settings from a reload: limits and policy apply to the next push, chunk size and
    /// fsync policy to the next append; what is on disk stays.
    pub fn reconfigure(&self, cfg: DiskConfig) {
        *lock(&self.inner.cfg) = cfg;
        lock(&self.inner.store).set_config(cfg.store);
        self.inner.space.notify_waiters();
    }

    /// Chunks waiting (sealed and active).
    pub fn chunks(&self) -> usize {
        lock(&self.inner.store).chunk_count()
    }
}

fn report_recovery(id: &str, dir: &Path, rec: &Recovery, metrics: &ComponentMetrics) {
    if rec.chunks > 0 {
        info!(output = %id, dir = %dir.display(), chunks = rec.chunks, events = rec.events, "buffer recovered; delivering what an earlier run left");
    }
    if rec.torn_bytes > 0 {
        metrics.error("torn_tail");
        warn!(output = %id, bytes = rec.torn_bytes, "cut a torn last record (written but never acknowledged)");
    }
    for (to, reason) in &rec.quarantined {
        metrics.error("corrupt_chunk");
        error!(output = %id, moved_to = %to.display(), reason = %reason, "corrupt chunk moved aside");
    }
}

impl Inner {
    /// Events of a chunk delivered before (by this run or an earlier one).
    fn sent(&self, meta: &ChunkMeta) -> u64 {
        let legacy = lock(&self.store).legacy_sent(meta.seq);
        self.progress.sent(meta.seq, meta.created_ns).max(legacy)
    }

    fn publish_gauges(&self) {
        let s = lock(&self.store);
        let m = &self.metrics;
        m.buffer_bytes.store(s.total_bytes(), Ordering::Relaxed);
        m.buffer_chunks
            .store(s.chunk_count() as u64, Ordering::Relaxed);
        m.buffer_events.store(s.total_events(), Ordering::Relaxed);
        m.buffer_oldest_ns.store(
            s.oldest_created_ns().map_or(0, |t| t.max(1) as u64),
            Ordering::Relaxed,
        );
    }

    /// Deletes the oldest sealed chunk; false when there is none.
    fn drop_oldest(&self) -> bool {
        let dropped = lock(&self.store).drop_oldest();
        self.publish_gauges();
        match dropped {
            Ok(Some(meta)) => {
                self.metrics.dropped("drop_oldest", meta.events);
                warn!(output = %self.id, events = meta.events, chunk = %meta.path.display(), "buffer full: dropped the oldest chunk");
                true
            }
            Ok(None) => false,
            Err(e) => {
                self.metrics.error("buffer_remove");
                error!(output = %self.id, error = %e, "buffer full and the oldest chunk cannot be removed");
                false
            }
        }
    }

    fn quarantine(&self, meta: &ChunkMeta, path: &str, reason: &str) {
        self.metrics.error("corrupt_chunk");
        self.metrics.dropped("corrupt_chunk", meta.events);
        match lock(&self.store).quarantine(meta.seq) {
            Ok(Some((_, to))) => {
                error!(output = %self.id, chunk = %path, moved_to = %to.display(), reason, events = meta.events, "corrupt chunk moved aside")
            }
            Ok(None) => {}
            Err(e) => {
                error!(output = %self.id, chunk = %path, error = %e, "corrupt chunk cannot be moved aside; skipping it");
            }
        }
        self.publish_gauges();
        self.space.notify_waiters();
    }
}

/// The writer task: group commit and the seal timer.
async fn writer(inner: Arc<Inner>, mut rx: mpsc::Receiver<WriteReq>) {
    const GROUP_MAX: usize = 512;
    loop {
        let active_since = lock(&inner.store).active_created_ns();
        let seal_at = active_since.map(|t| {
            let age = Duration::from_nanos(now_ns().saturating_sub(t).max(0) as u64);
            let flush_interval = lock(&inner.cfg).flush_interval;
            tokio::time::Instant::now() + flush_interval.saturating_sub(age)
        });
        let first = tokio::select! {
            r = rx.recv() => r,
            () = async { if let Some(at) = seal_at { tokio::time::sleep_until(at).await } else { std::future::pending().await } } => {
                seal(&inner).await;
                continue;
            }
        };
        let Some(first) = first else { break };
        let mut group = vec![first];
        while group.len() < GROUP_MAX {
            match rx.try_recv() {
                Ok(r) => group.push(r),
                Err(_) => break,
            }
        }
        write_group(&inner, group).await;
    }
    seal(&inner).await;
    lock(&inner.flags).writer_done = true;
    inner.ready.notify_waiters();
}

async fn seal(inner: &Arc<Inner>) {
    let i = Arc::clone(inner);
    let res = tokio::task::spawn_blocking(move || {
        let r = lock(&i.store).seal();
        i.publish_gauges();
        r
    })
    .await;
    match res {
        Ok(Ok(())) => inner.ready.notify_waiters(),
        Ok(Err(e)) => {
            inner.metrics.error("buffer_write");
            error!(output = %inner.id, error = %e, "cannot seal a chunk; will retry");
        }
        Err(e) => error!(output = %inner.id, error = %e, "seal task failed"),
    }
}

/// Appends and syncs a group, retrying every second on errors; then settles the acks.
async fn write_group(inner: &Arc<Inner>, group: Vec<WriteReq>) {
    let mut permits = Vec::with_capacity(group.len());
    let mut batches = Vec::with_capacity(group.len());
    let mut acks = Vec::with_capacity(group.len());
    for r in group {
        batches.push(r.batch);
        acks.push(r.ack);
        permits.push(r.permit);
    }
    let batches = Arc::new(batches);
    let mut written = 0usize;
    loop {
        let (i, b) = (Arc::clone(inner), Arc::clone(&batches));
        let res = tokio::task::spawn_blocking(move || {
            let mut store = lock(&i.store);
            let mut n = written;
            let sealed_before = store.sealed_len();
            let result = (|| {
                while n < b.len() {
                    store.append(&b[n])?;
                    n += 1;
                }
                store.sync()
            })();
            let sealed = store.sealed_len() > sealed_before;
            drop(store);
            i.publish_gauges();
            (n, sealed, result)
        })
        .await;
        match res {
            Ok((_, sealed, Ok(()))) => {
                if sealed {
                    inner.ready.notify_waiters();
                }
                break;
            }
            Ok((n, _, Err(e))) => {
                written = n;
                inner.metrics.error("buffer_write");
                error!(output = %inner.id, error = %e, "cannot write to the buffer; holding the batches and retrying in 1s");
            }
            Err(e) => {
                inner.metrics.error("buffer_write");
                error!(output = %inner.id, error = %e, "buffer writer task failed; retrying in 1s");
            }
        }
        tokio::time::sleep(Duration::from_secs(1)).await;
    }
    for a in acks.into_iter().flatten() {
        a.ack();
    }
    drop(permits);
}

#[cfg(test)]
mod tests;
mod unreadable;
