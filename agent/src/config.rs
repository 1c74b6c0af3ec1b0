//! The agent's config: loading TOML files (one file or a directory of `*.toml` merged in name
//! order), `${VAR}` substitution in string values, the `[agent]` table, and one
//! [`PluginSection`] per `[[inputs.X]]`, `[[filters.X]]` and `[[outputs.X]]` table with its
//! stable id and shared keys split off. Errors are located as `file:line:col: key: message
//! (hint)`.

mod load;
mod locate;
mod sections;
#[cfg(test)]
mod tests;
mod values;
pub mod watch;

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::Arc;

use gleaner_api::{ByteSize, ComponentKind, Duration, PluginConfig};
use serde::Deserialize;

pub use load::{Partial, UNKNOWN_DATA_DIR, load, load_partial};
pub use locate::{ConfigErrors, LocatedError, SourceFile};
pub(crate) use sections::engine_keys;

/// The `[agent]` table.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct AgentConfig {
    /// Default gather interval of inputs.
    pub interval: Duration,
    /// Default random delay in `[0, collection_jitter)` before each gather (0: none).
    pub collection_jitter: Duration,
    /// How often outputs flush, and the age at which a disk chunk seals. 250ms keeps a
    /// line's write-to-receipt p99 under 500 ms at 20,000 lines/s (the `latency` bench: 1s
    /// gave 770 ms, the 2MiB chunks filling in about half a second).
    pub flush_interval: Duration,
    /// Where buffers and offset databases live; none (or an empty string) means memory only.
    pub data_dir: Option<PathBuf>,
    /// Host name added as the `host` tag; empty: `NODE_NAME`, else the system host name.
    pub hostname: String,
    /// Address of `/metrics` and `/health`; empty string disables the listener.
    pub http_listen: String,
    /// Time allowed to drain and flush on SIGTERM.
    pub shutdown_timeout: Duration,
    /// Tags added to every metric (an event's own tag wins).
    pub tags: BTreeMap<String, String>,
    /// Do not add the `host` tag to metrics.
    pub omit_hostname: bool,
    /// Capacity, in batches, of the pipeline channel and of each memory output queue.
    pub queue_batches: usize,
    /// Events in flight between the inputs and the output buffers, at most (bounds memory:
    /// an input waits, or a listener answers 503, when they are all taken).
    pub max_in_flight_events: usize,
    /// Reload when the config file (or a file of the config directory) changes, as on
    /// SIGHUP (also `--watch-config`).
    pub watch_config: bool,
    /// Serve `/tap` on `http_listen` to clients on this host only (`gleaner tap`): a sample
    /// of the events passing chosen components.
    pub tap: bool,
}

impl Default for AgentConfig {
    fn default() -> Self {
        AgentConfig {
            interval: Duration::from_secs(10),
            collection_jitter: Duration::from_secs(0),
            flush_interval: Duration::from_millis(250),
            data_dir: None,
            hostname: String::new(),
            http_listen: "127.0.0.1:8686".to_owned(),
            shutdown_timeout: Duration::from_secs(30),
            tags: BTreeMap::new(),
            omit_hostname: false,
            queue_batches: 64,
            max_in_flight_events: 4_096,
            watch_config: false,
            tap: false,
        }
    }
}

/// `[outputs.X.buffer]`: where events wait for their destination, and how delivery retries.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct BufferConfig {
    /// `memory` or `disk` (default disk when `agent.data_dir` is set).
    #[serde(rename = "type")]
    pub kind: BufferKind,
    /// Upper bound of buffered bytes.
    pub max_bytes: ByteSize,
    /// What to do when full.
    pub when_full: WhenFull,
    /// Disk: seal a chunk at this size.
    pub chunk_size: ByteSize,
    /// Disk: `batch` acknowledges after fsync (group commit); `none` never fsyncs.
    pub sync: BufferSync,
    /// First retry delay of a failed send (then doubling; each delay drawn in [d/2, d]).
    pub retry_initial_backoff: Duration,
    /// Longest retry delay.
    pub retry_max_backoff: Duration,
    /// Keep events a destination rejected for good under `<data_dir>/dead/<output-id>/`.
    pub dead_letter: bool,
}

impl Default for BufferConfig {
    fn default() -> Self {
        BufferConfig {
            kind: BufferKind::Memory,
            max_bytes: ByteSize::gib(1),
            when_full: WhenFull::Block,
            chunk_size: ByteSize::mib(2),
            sync: BufferSync::Batch,
            retry_initial_backoff: Duration::from_secs(1),
            retry_max_backoff: Duration::from_secs(60),
            dead_letter: false,
        }
    }
}

/// fsync policy of a disk buffer.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum BufferSync {
    /// Acknowledge a batch only after the bytes holding it are fsynced; one fsync covers every
    /// batch appended since the previous one.
    Batch,
    /// Never fsync: faster, but an OS crash or power loss can lose acknowledged events.
    None,
}

/// Buffer medium.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum BufferKind {
    /// In memory (lost on crash).
    Memory,
    /// On disk under `data_dir`.
    Disk,
}

/// Full-buffer policy.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum WhenFull {
    /// Push back to the inputs.
    Block,
    /// Drop the oldest events, counted.
    DropOldest,
}

/// One plugin table.
#[derive(Debug, Clone)]
pub struct PluginSection {
    /// Input, filter or output.
    pub kind: ComponentKind,
    /// Registry name (`tail`).
    pub name: String,
    /// Stable id: `alias`, else `<kinds>.<name>.<index>` (`inputs.tail.0`), index counted per
    /// (kind, name) across all files in merge order.
    pub id: String,
    /// Inputs: the `interval` key.
    pub interval: Option<Duration>,
    /// Inputs: the `collection_jitter` key.
    pub collection_jitter: Option<Duration>,
    /// Filters and outputs: the `match` key (globs on input ids), if given.
    pub match_globs: Option<Vec<String>>,
    /// Outputs: the `kinds` key (event kinds taken), if given; else the plugin's default.
    pub kinds: Option<gleaner_api::Accepts>,
    /// Outputs: the `buffer` table (defaults if absent).
    pub buffer: BufferConfig,
    /// Telegraf's selectors (`namepass`, `tagdrop`, ...), if any is given.
    pub selectors: Option<Arc<gleaner_api::selector::Selectors>>,
    /// The rest of the table, for the plugin's `build`.
    pub config: PluginConfig,
    /// The whole table's value (shared keys included, `${VAR}` substituted, no spans): the
    /// component's identity across reloads ([`PluginSection::same_table`]).
    pub value: toml::Table,
    /// The file it came from, to locate errors.
    pub file: Arc<SourceFile>,
    /// Byte span of the table's header in that file.
    pub span: std::ops::Range<usize>,
}

impl PluginSection {
    /// True when `other` is the same component with the same table: same kind, plugin and
    /// id, and equal values (whatever file, position or formatting they came from). A reload
    /// keeps such a component running.
    pub fn same_table(&self, other: &PluginSection) -> bool {
        self.kind == other.kind
            && self.name == other.name
            && self.id == other.id
            && self.value == other.value
    }
}

/// A whole loaded config.
#[derive(Debug, Clone)]
pub struct Config {
    /// `[agent]`.
    pub agent: AgentConfig,
    /// Inputs in merge order.
    pub inputs: Vec<PluginSection>,
    /// Filters in merge order (the order they run).
    pub filters: Vec<PluginSection>,
    /// Outputs in merge order.
    pub outputs: Vec<PluginSection>,
    /// Every file read, in merge order.
    pub files: Vec<Arc<SourceFile>>,
}

/// Sorts errors into file order (by position in `files`; errors about a file not in it, such
/// as one that could not be read, first), then line and column.
pub fn sort_errors(errors: &mut [LocatedError], files: &[Arc<SourceFile>]) {
    errors.sort_by_key(|e| {
        (
            files.iter().position(|f| f.path == e.path),
            e.line,
            e.column,
        )
    });
}
