//! `dead_letter = true`: batches a destination rejected for good are kept, in the buffer's
//! chunk format, under `<data_dir>/dead/<output-id>/`, one sealed chunk per rejected request,
//! so an operator can inspect or replay them. Writing is best effort: a failure is logged and
//! counted, never blocks delivery.

use std::path::PathBuf;

use gleaner_api::{Batch, PluginId};
use tracing::{error, warn};

use crate::buffer::store::{ChunkStore, StoreConfig};
use crate::config::BufferSync;

/// The dead-letter directory of one output.
pub(crate) struct DeadLetter {
    dir: PathBuf,
    id: PluginId,
}

impl DeadLetter {
    pub(crate) fn new(dir: PathBuf, id: PluginId) -> Self {
        DeadLetter { dir, id }
    }

    /// Keeps `batch` as one sealed chunk.
    pub(crate) async fn keep(&mut self, batch: Batch) {
        let dir = self.dir.clone();
        let events = batch.len();
        let res = tokio::task::spawn_blocking(move || {
            let cfg = StoreConfig {
                chunk_size: u64::MAX,
                sync: BufferSync::Batch,
            };
            let corrupt = dir.join("corrupt");
            let (mut store, _) = ChunkStore::open(&dir, &corrupt, cfg)?;
            store.append(&batch)?;
            store.seal()
        })
        .await;
        match res {
            Ok(Ok(())) => {
                warn!(output = %self.id, events, dir = %self.dir.display(), "rejected events kept as dead letters")
            }
            Ok(Err(e)) => error!(output = %self.id, error = %e, "cannot keep dead letters"),
            Err(e) => error!(output = %self.id, error = %e, "dead-letter task failed"),
        }
    }
}
