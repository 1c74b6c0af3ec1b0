//! `inputs.journald`: reads the systemd journal of the node (the host's `/var/log/journal`
//! and `/run/log/journal` mounted into the DaemonSet, or `journal_directory`) or of the
//! local machine, one log record per entry, and remembers in SQLite the cursor of the last
//! entry the outputs acknowledged, so a restart or a crash loses nothing.
//!
//! Approach: `journalctl -o export --follow` as a supervised child process (Vector's way),
//! not sd-journal through a crate (Fluent Bit's way, in C). Why:
//! - no C library linked into the agent and no `unsafe`: the workspace forbids it, and the
//!   maintained Rust bindings (`systemd`, `sd-journal`) link libsystemd through FFI;
//! - the journal's file format, compression (zstd, lz4, xz), sealing and the merging of many
//!   files stay journalctl's job, which systemd keeps in step with journald;
//! - the export format is lossless (binary values included) and documented, and its parser
//!   here is small, bounded and tested on damaged input;
//! - a crash of the reader (a corrupt journal file) is a child's exit, restarted with
//!   backoff, never the agent's.
//!
//! The cost: the image carries journalctl and the libraries it needs (the Dockerfile copies
//! them in), and journalctl's own CPU (it formats each entry; the bench reports it apart).
//! The flags and why each is there are in `journald/child.rs`.
//!
//! Modules: `config.rs` (options), `matches.rs` (journal match syntax), `child.rs`
//! (journalctl's arguments and process), `export.rs` (the export-format parser),
//! `record.rs` (entry to record), `reader.rs` (the reading thread), `supervise.rs`
//! (batches, acknowledgements, commits, restarts), `watermark.rs`, `cursor_db.rs`,
//! `stats.rs`.

mod child;
mod config;
mod cursor_db;
mod export;
mod matches;
mod reader;
mod record;
mod stats;
mod supervise;
mod watermark;

#[cfg(test)]
mod tests;

use std::sync::{Arc, Mutex};

use async_trait::async_trait;
use gleaner_api::{
    BuildContext, ConfigError, Input, InputContext, InputDescriptor, PluginConfig, PluginError,
};

use child::Start;
use config::Settings;
use cursor_db::{CursorDb, Opened};
use stats::Stats;

/// Registry entry.
pub const DESCRIPTOR: InputDescriptor = InputDescriptor {
    name: "journald",
    summary: "reads the systemd journal (journalctl -o export) with the cursor committed after \
              delivery",
    sample: SAMPLE,
    build,
};

const SAMPLE: &str = r#"[[inputs.journald]]
## A directory of journal files (the host's journal mounted into a container); default: the
## system journal (/var/log/journal and /run/log/journal).
# journal_directory = "/var/log/journal"
## Only these systemd units (a name without a dot gets ".service").
# units = ["kubelet.service", "containerd.service"]
## Journal match terms given to journalctl: FIELD=value, "+" between alternatives.
# include_matches = ["PRIORITY=3", "+", "_TRANSPORT=kernel"]
## Entries matching these terms (same syntax) are skipped and counted.
# exclude_matches = ["SYSLOG_IDENTIFIER=systemd-journald"]
## At the very first start (no cursor saved) read only entries written from now on; else
## the whole journal is read. Later starts resume after the saved cursor.
# since_now = false
## Entries per batch at most (a smaller one is sent once journalctl has had nothing more
## to say for a few milliseconds; a batch waits at most about 10 ms).
# batch_size = 1000
## The journalctl program: a name looked up in PATH, or a path.
# journalctl_path = "journalctl"
## Values that are not UTF-8: "base64" (lossless, named in journald.base64) or "replace"
## (U+FFFD, flagged invalid_utf8).
# binary = "base64"
## More journal fields kept as attributes, by their journal names.
# fields = ["_COMM", "_EXE"]
## Largest entry kept; a longer value is cut and the record flagged truncated.
# max_entry_bytes = "1MiB"
## Cursor database (SQLite). Default: <agent.data_dir>/journald/<input id>.db; one of the two
## must be set.
db = "/var/lib/gleaner/journald/node.db"
## How often the acknowledged cursor is written.
# commit_interval = "1s"
"#;

fn build(cfg: &PluginConfig, bcx: &BuildContext) -> Result<Box<dyn Input>, ConfigError> {
    let settings = config::parse(cfg, bcx)?;
    let stats = Arc::new(Stats::default());
    bcx.metrics
        .set_plugin_stats(Arc::clone(&stats) as Arc<dyn gleaner_api::PluginStats>);
    Ok(Box::new(Journald { settings, stats }))
}

/// The built input.
#[derive(Debug)]
struct Journald {
    settings: Settings,
    stats: Arc<Stats>,
}

fn unix_now() -> i64 {
    gleaner_api::now_ns() / 1_000_000_000
}

#[async_trait]
impl Input for Journald {
    async fn run(self: Box<Self>, cx: InputContext) -> Result<(), PluginError> {
        let Journald { settings, stats } = *self;
        let settings = Arc::new(settings);
        let path = settings.db.clone();
        let (db, opened, saved) = tokio::task::spawn_blocking(move || {
            let (db, opened) = CursorDb::open(&path, unix_now());
            let saved = db.cursor();
            (db, opened, saved)
        })
        .await
        .map_err(|e| PluginError::with_source("journald: cursor database task failed", e))?;
        match opened {
            Opened::Rebuilt => cx.metrics.error("cursor_db_rebuilt"),
            Opened::InMemory => cx.metrics.error("cursor_db_in_memory"),
            Opened::Existing | Opened::Created => {}
        }
        let db = Arc::new(Mutex::new(db));
        let mut start = saved.map_or(Start::Head, Start::Cursor);
        if start == Start::Head && settings.since_now {
            // The very first start: "now" is the newest entry, saved at once so a restart
            // before the first acknowledgement still starts there.
            let s = Arc::clone(&settings);
            let db2 = Arc::clone(&db);
            let found = tokio::task::spawn_blocking(move || {
                let c = child::newest_cursor(&s)?;
                if let Some(c) = &c
                    && let Err(e) = db2
                        .lock()
                        .unwrap_or_else(std::sync::PoisonError::into_inner)
                        .commit(c, unix_now())
                {
                    tracing::warn!(error = %e, "cannot save the since_now cursor");
                }
                Ok::<_, std::io::Error>(c)
            })
            .await
            .map_err(|e| PluginError::with_source("journald: since_now task failed", e))?;
            match found {
                Ok(Some(c)) => start = Start::Cursor(c),
                Ok(None) => {}
                Err(e) => {
                    tracing::warn!(input = %cx.id, error = %e, "cannot find the journal's newest entry for since_now: reading from the start")
                }
            }
        }
        tracing::info!(input = %cx.id, db = %settings.db.display(), start = ?start, "journald starting");
        let sup = supervise::Supervisor {
            settings,
            stats,
            metrics: Arc::clone(&cx.metrics),
            out: cx.out,
            acks: cx.acks,
            shutdown: cx.shutdown,
            mode: cx.mode,
            db,
            input: cx.id.to_string(),
            watermark: watermark::Watermark::default(),
        };
        let r = sup.run(start).await;
        tracing::info!(input = %cx.id, "journald stopped");
        r
    }
}

/// This plugin's sample check (run for every registered plugin from `src/sample_checks.rs`):
/// each option the sample shows at its default is the real default.
#[cfg(test)]
pub(crate) fn check_sample() {
    gleaner_api::test_util::sample::assert_sample::<config::JournaldConfig>(
        "inputs.journald.0",
        SAMPLE,
        // Examples: off, or everything, unless set.
        &[
            "journal_directory",
            "units",
            "include_matches",
            "exclude_matches",
            "fields",
        ],
        &[],
    );
}
