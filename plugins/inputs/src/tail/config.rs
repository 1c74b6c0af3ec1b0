//! `inputs.tail` configuration: the serde struct users write, and its validation into
//! [`Settings`], with no I/O (`gleaner check` calls it).

use std::path::PathBuf;

use gleaner_api::{BuildContext, ByteSize, ConfigError, Duration, PluginConfig};
use serde::Deserialize;
use serde::de::{self, Deserializer, MapAccess, Visitor};

use super::glob::Glob;
use super::multiline::{Multiline, Preset};

/// How lines are parsed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize)]
#[serde(rename_all = "lowercase")]
pub(crate) enum Format {
    /// Container runtime interface (containerd, CRI-O): `<time> <stream> <P|F> <msg>`.
    Cri,
    /// Docker json-file: `{"log":...,"stream":...,"time":...}`.
    Docker,
    /// Lines as they are.
    Raw,
    /// Decide per file from its first line.
    #[default]
    Auto,
}

/// What to do with bytes that are not valid UTF-8.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize)]
#[serde(rename_all = "lowercase")]
pub(crate) enum Encoding {
    /// Keep the bytes as they are (outputs that need text replace them when encoding).
    #[default]
    Keep,
    /// Replace each invalid sequence by U+FFFD here.
    Replace,
}

/// `[[inputs.tail]]` as written.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub(crate) struct TailConfig {
    /// Globs of the files to read (`*`, `?`, `[a-z]`, `**`); absolute paths.
    paths: Vec<String>,
    /// Globs of files to leave alone: absolute, or a file-name pattern such as `*.gz`.
    exclude_paths: Vec<String>,
    /// `cri`, `docker`, `raw`, or `auto` (per file, from its first line).
    format: Format,
    /// Read files present at the very first start from their beginning (default: their end).
    read_from_head: bool,
    /// Offset database; default `<agent.data_dir>/tail/<input id>.db`.
    db: Option<PathBuf>,
    /// Rescan of the globs, for filesystems without inotify events.
    refresh_interval: Duration,
    /// Longest line kept; longer lines are cut, flagged `truncated` and counted.
    max_line_bytes: ByteSize,
    /// Skip files not modified for this long.
    ignore_older: Option<Duration>,
    /// Join multi-line messages: a preset (`java`, `python`, `go`) or `{ start = "regex" }`.
    multiline: Option<MultilineConfig>,
    /// Invalid UTF-8: `keep` the bytes or `replace` them; flagged `invalid_utf8` either way.
    encoding: Encoding,
    /// Descriptors held at most; the least recently active files are closed and reopened.
    max_open_files: usize,
    /// Longest time a rotated or deleted file is kept open while it still has unread data.
    rotate_wait_max: Duration,
    /// How often acknowledged offsets are written to the database (also, sooner, after
    /// every 16 acknowledged batches).
    commit_interval: Duration,
    /// Offsets of files gone for longer than this are forgotten.
    db_retention: Duration,
    /// Directories symlinks may lead into besides the globs' roots and the kubelet's log trees
    /// (`/var/log/pods`, `/var/log/containers`); absolute.
    follow_symlinks_into: Vec<PathBuf>,
}

/// Default of `refresh_interval`.
pub(crate) const DEFAULT_REFRESH_INTERVAL: Duration = Duration::from_secs(5);
/// Default of `max_line_bytes`.
pub(crate) const DEFAULT_MAX_LINE_BYTES: ByteSize = ByteSize::mib(1);
/// Default of `max_open_files`.
pub(crate) const DEFAULT_MAX_OPEN_FILES: usize = 1024;
/// Default of `rotate_wait_max`.
pub(crate) const DEFAULT_ROTATE_WAIT_MAX: Duration = Duration::from_secs(600);
/// Default of `commit_interval`: what a `kill -9` makes the input read again is about this
/// much of its reading (plus the batches not yet acknowledged), so it is short; a commit is
/// one SQLite transaction in WAL mode without fsync (`synchronous = NORMAL`), about a tenth
/// of a millisecond, and none is made while nothing new was acknowledged. At 1s, the chaos
/// run's plain kills re-read up to a second of a 300,000-lines/s read each. A fast read
/// also commits after every 16 acknowledged batches (`pump::COMMIT_AFTER_BATCHES`, at most
/// 16,384 lines), so it re-reads that much at most, whatever the rate.
pub(crate) const DEFAULT_COMMIT_INTERVAL: Duration = Duration::from_millis(200);
/// Default of `db_retention`.
pub(crate) const DEFAULT_DB_RETENTION: Duration = Duration::from_secs(24 * 3600);
/// Directories symlinks may always lead into: the kubelet's log trees.
pub(crate) const KUBELET_LOG_TREES: [&str; 2] = ["/var/log/pods", "/var/log/containers"];
/// Default of `multiline.flush_after`.
pub(crate) const DEFAULT_FLUSH_AFTER: Duration = Duration::from_secs(1);

impl Default for TailConfig {
    fn default() -> Self {
        TailConfig {
            paths: Vec::new(),
            exclude_paths: Vec::new(),
            format: Format::Auto,
            read_from_head: false,
            db: None,
            refresh_interval: DEFAULT_REFRESH_INTERVAL,
            max_line_bytes: DEFAULT_MAX_LINE_BYTES,
            ignore_older: None,
            multiline: None,
            encoding: Encoding::Keep,
            max_open_files: DEFAULT_MAX_OPEN_FILES,
            rotate_wait_max: DEFAULT_ROTATE_WAIT_MAX,
            commit_interval: DEFAULT_COMMIT_INTERVAL,
            db_retention: DEFAULT_DB_RETENTION,
            follow_symlinks_into: Vec::new(),
        }
    }
}

/// `multiline` as written: a preset name, or a table.
#[derive(Debug)]
pub(crate) struct MultilineConfig(MultilineTable);

/// `multiline = { ... }`.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct MultilineTable {
    /// `java`, `python` or `go`.
    preset: Option<Preset>,
    /// A line matching this regex starts a new message; others join the one before.
    start: Option<String>,
    /// A message is sent this long after its last line if no other line follows.
    flush_after: Option<Duration>,
    /// Largest joined message; a longer one is sent and a new one started.
    max_bytes: Option<ByteSize>,
}

impl<'de> Deserialize<'de> for MultilineConfig {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = MultilineConfig;
            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(
                    "a preset (\"java\", \"python\", \"go\") or a table { start = \"regex\" }",
                )
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<Self::Value, E> {
                let preset = Preset::deserialize(de::value::StrDeserializer::<E>::new(v))?;
                Ok(MultilineConfig(MultilineTable {
                    preset: Some(preset),
                    ..MultilineTable::default()
                }))
            }
            fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<Self::Value, A::Error> {
                MultilineTable::deserialize(de::value::MapAccessDeserializer::new(map))
                    .map(MultilineConfig)
            }
        }
        d.deserialize_any(V)
    }
}

/// The validated configuration the input runs with.
#[derive(Debug, Clone)]
pub(crate) struct Settings {
    /// What to read.
    pub(crate) paths: Vec<Glob>,
    /// What not to read.
    pub(crate) exclude: Vec<Glob>,
    /// Line format.
    pub(crate) format: Format,
    /// See [`TailConfig::read_from_head`].
    pub(crate) read_from_head: bool,
    /// The offset database file.
    pub(crate) db: PathBuf,
    /// Rescan period.
    pub(crate) refresh_interval: std::time::Duration,
    /// Line cap in bytes.
    pub(crate) max_line_bytes: usize,
    /// Age limit for discovery.
    pub(crate) ignore_older: Option<std::time::Duration>,
    /// Multi-line joining.
    pub(crate) multiline: Option<Multiline>,
    /// Invalid UTF-8 handling.
    pub(crate) encoding: Encoding,
    /// Descriptor bound.
    pub(crate) max_open_files: usize,
    /// Bound on keeping rotated files.
    pub(crate) rotate_wait_max: std::time::Duration,
    /// Commit period.
    pub(crate) commit_interval: std::time::Duration,
    /// How long offsets of vanished files are kept.
    pub(crate) db_retention: std::time::Duration,
    /// Where a symlink may lead: the globs' roots, the kubelet's log trees and
    /// `follow_symlinks_into`.
    pub(crate) symlink_roots: Vec<PathBuf>,
}

/// Parses and validates the plugin's table.
pub(crate) fn parse(cfg: &PluginConfig, bcx: &BuildContext) -> Result<Settings, ConfigError> {
    let raw: TailConfig = cfg.parse()?;
    if raw.paths.is_empty() {
        return Err(cfg
            .error_at("paths", "paths is empty: nothing to read")
            .with_hint("for Kubernetes: paths = [\"/var/log/pods/*/*/*.log\"]"));
    }
    let paths = raw
        .paths
        .iter()
        .map(|p| Glob::absolute(p))
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| {
            cfg.error_at("paths", e.to_string())
                .with_hint("write absolute globs such as \"/var/log/pods/*/*/*.log\"")
        })?;
    let exclude = raw
        .exclude_paths
        .iter()
        .map(|p| Glob::exclude(p))
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| {
            cfg.error_at("exclude_paths", e.to_string())
                .with_hint("write absolute globs, or file-name patterns such as \"*.gz\"")
        })?;
    let db = match (raw.db, &bcx.data_dir) {
        (Some(db), _) => db,
        (None, Some(dir)) => dir.join("tail").join(format!("{}.db", file_safe(&bcx.id))),
        (None, None) => {
            return Err(cfg
                .error_at("db", "no place for the offset database")
                .with_hint("set agent.data_dir or db"));
        }
    };
    if let Some(p) = raw.follow_symlinks_into.iter().find(|p| !p.is_absolute()) {
        return Err(cfg
            .error_at(
                "follow_symlinks_into",
                format!("follow_symlinks_into: {} is not absolute", p.display()),
            )
            .with_hint("write absolute directories such as \"/var/lib/docker/containers\""));
    }
    let mut symlink_roots: Vec<PathBuf> = paths.iter().map(|g| g.root().to_owned()).collect();
    symlink_roots.extend(KUBELET_LOG_TREES.iter().map(PathBuf::from));
    symlink_roots.extend(raw.follow_symlinks_into);
    symlink_roots.sort();
    symlink_roots.dedup();
    let positive = |d: Duration, key: &str| {
        if d.get().is_zero() {
            Err(cfg.error_at(key, format!("{key} must be greater than 0")))
        } else {
            Ok(d.get())
        }
    };
    let refresh_interval = positive(raw.refresh_interval, "refresh_interval")?;
    let commit_interval = positive(raw.commit_interval, "commit_interval")?;
    let rotate_wait_max = positive(raw.rotate_wait_max, "rotate_wait_max")?;
    let db_retention = positive(raw.db_retention, "db_retention")?;
    let max_line_bytes = usize::try_from(raw.max_line_bytes.get()).unwrap_or(usize::MAX);
    if max_line_bytes < 16 {
        return Err(cfg
            .error_at("max_line_bytes", "max_line_bytes is too small")
            .with_hint("use at least 16 bytes; the default is 1MiB"));
    }
    if raw.max_open_files < 4 {
        return Err(cfg
            .error_at("max_open_files", "max_open_files must be at least 4")
            .with_hint("the default is 1024"));
    }
    let multiline = match raw.multiline {
        None => None,
        Some(MultilineConfig(t)) => {
            let flush_after = t.flush_after.unwrap_or(DEFAULT_FLUSH_AFTER).get();
            let max_bytes = t.max_bytes.map_or(max_line_bytes, |b| {
                usize::try_from(b.get()).unwrap_or(usize::MAX)
            });
            let m = match (t.preset, t.start) {
                (Some(p), None) => Multiline::preset(p, flush_after, max_bytes),
                (None, Some(start)) => {
                    Multiline::start(&start, flush_after, max_bytes).map_err(|e| {
                        cfg.error_at("multiline", format!("invalid multiline.start regex: {e}"))
                    })?
                }
                (Some(_), Some(_)) => {
                    return Err(cfg
                        .error_at("multiline", "multiline sets both preset and start")
                        .with_hint("use one of them"));
                }
                (None, None) => {
                    return Err(cfg
                        .error_at("multiline", "multiline needs a preset or a start regex")
                        .with_hint(
                            "multiline = \"java\", or multiline = { start = \"^\\\\d{4}-\" }",
                        ));
                }
            };
            Some(m)
        }
    };
    Ok(Settings {
        paths,
        exclude,
        format: raw.format,
        read_from_head: raw.read_from_head,
        db,
        refresh_interval,
        max_line_bytes,
        ignore_older: raw.ignore_older.map(Duration::get),
        multiline,
        encoding: raw.encoding,
        max_open_files: raw.max_open_files,
        rotate_wait_max,
        commit_interval,
        db_retention,
        symlink_roots,
    })
}

/// An id as a file name: anything but letters, digits, `.`, `-` and `_` becomes `_`.
fn file_safe(id: &str) -> String {
    id.chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_') {
                c
            } else {
                '_'
            }
        })
        .collect()
}

#[cfg(test)]
mod tests;
