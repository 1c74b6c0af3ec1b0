//! `inputs.tail`: follows log files, container logs above all (kubelet's
//! `/var/log/pods/<namespace>_<pod>_<uid>/<container>/<restart>.log`), and remembers in a
//! SQLite database how far each file was delivered, so no line is lost across rotation,
//! restart or crash.
//!
//! Design:
//! - One reader thread per input (`reader.rs`), whatever the number of files: discovery
//!   (glob walk plus inotify directory watches, `discover.rs`), rotation and truncation
//!   handling (`reader/`), the followed files and the open-descriptor budget (`table.rs`),
//!   reading one chunk per file in turn (`tracked.rs`) into a batch (`batch.rs`), decoding
//!   CRI, docker json-file or raw lines with partial-line merging and multi-line joining
//!   (`decode.rs`, `cri.rs`, `docker.rs`, `multiline.rs`). Blocking file I/O never runs on
//!   the runtime.
//! - The reader hands each batch, with the offset every file it touched has reached, to the
//!   async pump (`pump.rs`) through a one-slot channel: a full pipeline stops reading.
//! - An offset is committed only once its batch and every earlier batch were acknowledged
//!   (`acks.rs`); commits are batched every `commit_interval` in one transaction on the
//!   database thread (`offsets.rs`). A kill -9 at any moment loses nothing; lines sent but not
//!   yet acknowledged are read again after a restart (at-least-once).
//! - Offsets are keyed by (device, inode) and checked against a fingerprint of the file's
//!   first KiB (`file.rs`), so a reused inode starts from 0. What was acknowledged of a file
//!   before it was truncated is kept by path and fingerprint, for a copy of it (copytruncate's
//!   `<name>.1`) to start after it.
//! - A last-stop record beside the database (`last_stop.rs`) tells a lost database from a
//!   first start.
//! - Records: the runtime's timestamp (read time for raw lines), the stream, the message,
//!   and the attributes `file`, `k8s.namespace`, `k8s.pod`, `k8s.pod_uid`,
//!   `k8s.container`, `k8s.restart_count` (`k8s.rs`), plus `truncated`,
//!   `parse_error`, `partial` and `invalid_utf8` flags when they apply.
//!
//! At shutdown, pieces of a line (or a multi-line message) still waiting for their end are not
//! sent: the committed offset stays before them and they are read again at the next start.

mod acks;
mod batch;
mod config;
mod cri;
mod decode;
mod discover;
mod docker;
mod file;
mod glob;
mod k8s;
mod last_stop;
mod multiline;
mod offsets;
mod pump;
mod reader;
mod stats;
mod table;
mod timestamp;
mod tracked;

use std::sync::atomic::AtomicBool;
use std::sync::{Arc, Mutex, mpsc};
use std::time::Duration;

use async_trait::async_trait;
use gleaner_api::{
    BuildContext, ConfigError, Input, InputContext, InputDescriptor, PluginConfig, PluginError,
    RunMode,
};

use acks::Watermark;
use config::Settings;
use offsets::{OffsetDb, Opened, unix_now};
use reader::{Reader, ReaderParts};
use stats::TailStats;

/// Registry entry.
pub const DESCRIPTOR: InputDescriptor = InputDescriptor {
    name: "tail",
    summary: "follows log files (container logs: CRI, docker json-file, raw) with offsets committed after delivery",
    sample: SAMPLE,
    build,
};

const SAMPLE: &str = r#"[[inputs.tail]]
## Globs of the files to read: absolute, with `*`, `?`, `[a-z]` and `**`.
paths = ["/var/log/pods/*/*/*.log"]
## Files to leave alone: absolute globs, or file-name patterns. Compressed (`.gz`) and
## temporary (`.tmp`) files are always skipped.
# exclude_paths = []
## Line format: "cri" (containerd, CRI-O), "docker" (json-file), "raw", or "auto" (per file,
## from its first line).
# format = "auto"
## Files present at the very first start are read from their end unless this is true. Files
## that appear later, and files with a remembered offset, are always read from their offset.
# read_from_head = false
## Offset database (SQLite). Default: <agent.data_dir>/tail/<input id>.db; one of the two must
## be set.
db = "/var/lib/gleaner/tail/pods.db"
## Rescan of the globs; inotify finds new files at once, this is the fallback.
# refresh_interval = "5s"
## Longest line kept; a longer one is cut, flagged `truncated` and counted.
# max_line_bytes = "1MiB"
## Skip files not modified for this long (unset: none are skipped).
# ignore_older = "24h"
## Join multi-line messages: "java", "python", "go", or a table.
# multiline = { start = '^\d{4}-\d{2}-\d{2}', flush_after = "1s", max_bytes = "1MiB" }
## Invalid UTF-8: "keep" the bytes or "replace" them with U+FFFD; flagged `invalid_utf8`.
# encoding = "keep"
## Descriptors held at most; the least recently active files are closed and reopened.
# max_open_files = 1024
## A rotated or deleted file is kept open until read to its end, at most this long.
# rotate_wait_max = "10m"
## How often acknowledged offsets are written.
# commit_interval = "200ms"
## Offsets of files gone for longer than this are forgotten.
# db_retention = "24h"
## Symlinks are followed only into the globs' roots and the kubelet's log trees
## (/var/log/pods, /var/log/containers); a link that leads elsewhere (say /etc/shadow) is not
## read, logged and counted (errors_total{reason="symlink_refused"}). More directories here:
## with docker's json-file logs the kubelet's links lead into "/var/lib/docker/containers".
# follow_symlinks_into = []
"#;

fn build(cfg: &PluginConfig, bcx: &BuildContext) -> Result<Box<dyn Input>, ConfigError> {
    let settings = config::parse(cfg, bcx)?;
    let stats = Arc::new(TailStats::default());
    bcx.metrics
        .set_plugin_stats(Arc::clone(&stats) as Arc<dyn gleaner_api::PluginStats>);
    Ok(Box::new(Tail { settings, stats }))
}

/// The built input.
#[derive(Debug)]
struct Tail {
    settings: Settings,
    stats: Arc<TailStats>,
}

fn plugin_err(what: &str, e: impl std::error::Error + Send + Sync + 'static) -> PluginError {
    PluginError::with_source(format!("tail: {what}"), e)
}

#[async_trait]
impl Input for Tail {
    async fn run(self: Box<Self>, cx: InputContext) -> Result<(), PluginError> {
        let Tail { settings, stats } = *self;
        let settings = Arc::new(settings);
        let metrics = Arc::clone(&cx.metrics);
        let path = settings.db.clone();
        let (db, opened) = tokio::task::spawn_blocking(move || OffsetDb::open(&path, unix_now()))
            .await
            .map_err(|e| plugin_err("offset database task failed", e))?;
        match opened {
            Opened::Rebuilt => metrics.error("offsets_rebuilt"),
            Opened::InMemory => metrics.error("offsets_in_memory"),
            Opened::Existing | Opened::Created => {}
        }
        tracing::info!(input = %cx.id, db = %settings.db.display(), files = db.rows().len(), "tail starting");
        let known = db.rows().clone();
        let prefixes = db.prefixes().to_vec();
        // A database without offsets, though the last-stop record says this input ran
        // before: deleted or lost while the agent was stopped.
        let never_committed = !db.started();
        let path = settings.db.clone();
        let last_stop = tokio::task::spawn_blocking(move || last_stop::read(&path))
            .await
            .map_err(|e| plugin_err("last-stop record task failed", e))?;
        let missing_since = match last_stop {
            Some(t) if never_committed => {
                metrics.error("offsets_missing");
                tracing::warn!(
                    input = %cx.id,
                    db = %settings.db.display(),
                    last_stop = t,
                    read_from_head = settings.read_from_head,
                    "offset database missing (deleted or lost while the agent was stopped) though this input ran before: lines written since the last stop are read again, never skipped"
                );
                (!settings.read_from_head).then_some(t)
            }
            _ => None,
        };
        let first_start = never_committed && missing_since.is_none();
        let retention = settings.db_retention;
        let cleanup_every = (retention / 4).clamp(Duration::from_secs(1), Duration::from_secs(600));
        let (db_tx, db_thread) = offsets::spawn(db, retention, cleanup_every, Arc::clone(&metrics))
            .map_err(|e| plugin_err("cannot start the offset database thread", e))?;

        let (wake_tx, wake_rx) = mpsc::channel();
        let (out_tx, out_rx) = tokio::sync::mpsc::channel(1);
        let watermark = Arc::new(Mutex::new(Watermark::new()));
        let stop = Arc::new(AtomicBool::new(false));
        let parts = ReaderParts {
            settings: Arc::clone(&settings),
            metrics: Arc::clone(&metrics),
            stats,
            known,
            first_start,
            missing_since,
            prefixes,
            wake_rx,
            wake_tx: wake_tx.clone(),
            out: out_tx,
            watermark: Arc::clone(&watermark),
            db: db_tx.clone(),
            stop: Arc::clone(&stop),
            once: cx.mode == RunMode::Once,
            watch: true,
        };
        let reader = std::thread::Builder::new()
            .name("gleaner-tail".to_owned())
            .spawn(move || Reader::new(parts).run())
            .map_err(|e| plugin_err("cannot start the reader thread", e))?;

        pump::Pump {
            acks: cx.acks,
            out: cx.out,
            rx: out_rx,
            watermark,
            db: db_tx,
            commit_interval: settings.commit_interval,
            shutdown: cx.shutdown,
            stop,
            wake: wake_tx,
            settled_since_commit: 0,
        }
        .run()
        .await;

        let joined = tokio::task::spawn_blocking(move || {
            let r = reader.join();
            // The reader held the last other sender: the database thread now drains and ends.
            let d = db_thread.join();
            (r.is_ok(), d.is_ok())
        })
        .await
        .map_err(|e| plugin_err("join task failed", e))?;
        if joined != (true, true) {
            return Err(PluginError::new("tail: a worker thread panicked"));
        }
        tracing::info!(input = %cx.id, "tail stopped");
        Ok(())
    }
}

#[cfg(test)]
mod tests;

/// This plugin's sample check (run for every registered plugin from `src/sample_checks.rs`):
/// each option the sample shows at its default is the real default.
#[cfg(test)]
pub(crate) fn check_sample() {
    gleaner_api::test_util::sample::assert_sample_debug::<config::TailConfig>(
        "inputs.tail.0",
        SAMPLE,
        // Off unless set.
        &["ignore_older", "multiline"],
        &[],
    );
}
