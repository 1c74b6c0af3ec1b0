//! Sealed chunks that cannot be read back: which read errors concern the chunk (a vanished
//! file is skipped at once; another error on [`UNREADABLE_TRIES`] reads in a row moves it
//! aside) and which do not (out of descriptors or memory: retried without end), and skipping
//! one: its entry removed, its undelivered events counted as discarded, the gauges corrected.

use std::sync::Arc;

use tracing::error;

use super::store::{ChunkMeta, ReadChunkError};
use super::{Inner, lock};

/// Failed reads of one chunk, a second apart, before it is moved aside as unreadable.
pub const UNREADABLE_TRIES: u32 = 5;

impl Inner {
    /// Counts a failed read of chunk `seq`; returns how many in a row failed in a way that
    /// concerns the chunk (0 for errors that do not: they are retried without end).
    pub(super) fn failed_read(&self, seq: u64, e: &ReadChunkError) -> u32 {
        let ReadChunkError::Io { source, .. } = e else {
            return 0;
        };
        if transient(source) {
            return 0;
        }
        let mut f = lock(&self.read_failures);
        if f.0 != seq {
            *f = (seq, 0);
        }
        f.1 += 1;
        f.1
    }

    /// Gives up on a sealed chunk that cannot be read: moves it aside when it is still
    /// there (else just forgets it), counts its undelivered events under `reason`.
    pub(super) async fn skip(
        self: &Arc<Self>,
        meta: &ChunkMeta,
        reason: &'static str,
        error: &(dyn std::fmt::Display + Sync),
    ) {
        let inner = Arc::clone(self);
        let m = meta.clone();
        let sent = self.sent(meta);
        let done = tokio::task::spawn_blocking(move || {
            let mut s = lock(&inner.store);
            // Either way the entry is gone, even when the file could not be moved.
            let moved = if reason == "chunk_missing" {
                s.remove(m.seq).map(|_| None)
            } else {
                s.quarantine(m.seq).map(|q| q.map(|(_, to)| to))
            };
            drop(s);
            inner.publish_gauges();
            moved
        })
        .await;
        let moved = match done {
            Ok(r) => r,
            Err(e) => {
                error!(output = %self.id, error = %e, "chunk skip task failed");
                return;
            }
        };
        *lock(&self.read_failures) = (0, 0);
        let lost = meta.events.saturating_sub(sent);
        self.metrics.error(reason);
        self.metrics.dropped(reason, lost);
        let chunk = meta.path.display();
        match moved {
            Ok(Some(to)) => {
                error!(output = %self.id, %chunk, moved_to = %to.display(), events = lost, error = %error, "unreadable chunk moved aside; its events are lost")
            }
            Ok(None) => {
                error!(output = %self.id, %chunk, events = lost, error = %error, "chunk gone from the buffer directory; its events are lost, delivery goes on with the next")
            }
            Err(e) => {
                error!(output = %self.id, %chunk, events = lost, error = %error, cleanup = %e, "unreadable chunk skipped (it could not be moved aside); its events are lost")
            }
        }
        self.space.notify_waiters();
    }
}

/// Read errors that say nothing about the chunk: out of descriptors, memory or buffers, or
/// interrupted (Linux numbers).
fn transient(e: &std::io::Error) -> bool {
    const EINTR: i32 = 4;
    const EAGAIN: i32 = 11;
    const ENOMEM: i32 = 12;
    const ENFILE: i32 = 23;
    const EMFILE: i32 = 24;
    const ENOBUFS: i32 = 105;
    matches!(
        e.raw_os_error(),
        Some(EINTR | EAGAIN | ENOMEM | ENFILE | EMFILE | ENOBUFS)
    ) || matches!(
        e.kind(),
        std::io::ErrorKind::Interrupted
            | std::io::ErrorKind::WouldBlock
            | std::io::ErrorKind::OutOfMemory
    )
}
