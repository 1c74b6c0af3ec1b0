//! `inputs.journald` configuration: the serde struct users write and its validation into
//! [`Settings`], with no I/O (`gleaner check` calls it; journalctl is started in `run`).

use std::path::PathBuf;

use gleaner_api::{BuildContext, ByteSize, ConfigError, Duration, PluginConfig};
use serde::Deserialize;

use super::matches::{Matches, unit_name, valid_field_name};

/// `[[inputs.journald]]` as written.
#[derive(Debug, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub(crate) struct JournaldConfig {
    /// A directory of journal files (journalctl `--directory`), e.g. the host's
    /// `/var/log/journal` mounted into a container; default: the system journal
    /// (`/var/log/journal` and `/run/log/journal`).
    journal_directory: Option<PathBuf>,
    /// Only these systemd units (`_SYSTEMD_UNIT`; a name without a dot gets `.service`).
    units: Vec<String>,
    /// Journal match terms (`FIELD=value`, `+` between alternatives) given to journalctl.
    include_matches: Vec<String>,
    /// Entries matching these terms (same syntax) are skipped, and counted.
    exclude_matches: Vec<String>,
    /// At the very first start (no cursor saved yet) read only entries written from now on;
    /// otherwise the whole journal is read. Later starts always resume at the saved cursor.
    since_now: bool,
    /// Entries per batch at most.
    batch_size: usize,
    /// The journalctl program (a name looked up in PATH, or a path).
    journalctl_path: PathBuf,
    /// Values that are not valid UTF-8: `base64` (lossless; the record's `journald.base64`
    /// names the fields) or `replace` (U+FFFD; flagged `invalid_utf8`).
    binary: String,
    /// More journal fields to keep as attributes, by their journal names.
    fields: Vec<String>,
    /// Largest entry kept; a longer value is cut and the record flagged `truncated`.
    max_entry_bytes: ByteSize,
    /// Cursor database; default `<agent.data_dir>/journald/<input id>.db`.
    db: Option<PathBuf>,
    /// How often the acknowledged cursor is written.
    commit_interval: Duration,
}

impl Default for JournaldConfig {
    fn default() -> Self {
        JournaldConfig {
            journal_directory: None,
            units: Vec::new(),
            include_matches: Vec::new(),
            exclude_matches: Vec::new(),
            since_now: false,
            batch_size: 1000,
            journalctl_path: PathBuf::from("journalctl"),
            binary: "base64".to_owned(),
            fields: Vec::new(),
            max_entry_bytes: ByteSize::mib(1),
            db: None,
            commit_interval: Duration::from_secs(1),
        }
    }
}

/// What becomes of a value that is not valid UTF-8.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Binary {
    /// Standard base64, named in `journald.base64`.
    Base64,
    /// Invalid sequences replaced by U+FFFD, flagged `invalid_utf8`.
    Replace,
}

/// The validated configuration.
#[derive(Debug, Clone)]
pub(crate) struct Settings {
    /// `--directory`, if any.
    pub(crate) directory: Option<PathBuf>,
    /// Handed to journalctl (units merged in).
    pub(crate) include: Matches,
    /// Evaluated per entry.
    pub(crate) exclude: Matches,
    /// First start reads from now.
    pub(crate) since_now: bool,
    /// Entries per batch.
    pub(crate) batch_size: usize,
    /// journalctl.
    pub(crate) journalctl: PathBuf,
    /// Non-UTF-8 values.
    pub(crate) binary: Binary,
    /// Extra attribute fields.
    pub(crate) fields: Vec<String>,
    /// Entry size bound.
    pub(crate) max_entry_bytes: usize,
    /// Cursor database file.
    pub(crate) db: PathBuf,
    /// Commit period.
    pub(crate) commit_interval: std::time::Duration,
}

/// Parses and validates the plugin's table.
pub(crate) fn parse(cfg: &PluginConfig, bcx: &BuildContext) -> Result<Settings, ConfigError> {
    let raw: JournaldConfig = cfg.parse()?;
    validate(raw, cfg, bcx)
}

const MATCH_HINT: &str = "write terms like \"_SYSTEMD_UNIT=kubelet.service\" or \"PRIORITY=3\", \
                          with \"+\" between alternatives, as journalctl takes them";

fn validate(
    raw: JournaldConfig,
    cfg: &PluginConfig,
    bcx: &BuildContext,
) -> Result<Settings, ConfigError> {
    let mut include = Matches::parse(&raw.include_matches)
        .map_err(|e| cfg.error_at("include_matches", e).with_hint(MATCH_HINT))?;
    let exclude = Matches::parse(&raw.exclude_matches)
        .map_err(|e| cfg.error_at("exclude_matches", e).with_hint(MATCH_HINT))?;
    for u in &raw.units {
        if u.is_empty() || u.contains(['=', '\n', '/']) {
            return Err(cfg.error_at("units", format!("{u:?} is not a unit name")));
        }
    }
    let units: Vec<String> = raw.units.iter().map(|u| unit_name(u)).collect();
    include.and_units(&units);
    for f in &raw.fields {
        if !valid_field_name(f) {
            return Err(cfg
                .error_at("fields", format!("{f:?} is not a journal field name"))
                .with_hint("journal field names are A-Z, 0-9 and _, like \"_COMM\""));
        }
    }
    let binary = match raw.binary.as_str() {
        "base64" => Binary::Base64,
        "replace" => Binary::Replace,
        other => {
            return Err(cfg
                .error_at("binary", format!("unknown binary mode {other:?}"))
                .with_hint("use \"base64\" or \"replace\""));
        }
    };
    if raw.batch_size == 0 || raw.batch_size > 100_000 {
        return Err(cfg.error_at("batch_size", "batch_size must be between 1 and 100000"));
    }
    let max_entry_bytes = usize::try_from(raw.max_entry_bytes.get())
        .ok()
        .filter(|n| (1024..=64 * 1024 * 1024).contains(n))
        .ok_or_else(|| {
            cfg.error_at(
                "max_entry_bytes",
                "max_entry_bytes must be between 1KiB and 64MiB",
            )
        })?;
    if raw.journalctl_path.as_os_str().is_empty() {
        return Err(cfg.error_at("journalctl_path", "journalctl_path is empty"));
    }
    if raw.commit_interval.get().is_zero() {
        return Err(cfg.error_at("commit_interval", "commit_interval must be more than 0s"));
    }
    let db = match (raw.db, &bcx.data_dir) {
        (Some(db), _) => db,
        (None, Some(dir)) => dir
            .join("journald")
            .join(format!("{}.db", file_safe(&bcx.id))),
        (None, None) => {
            return Err(cfg
                .error_at("db", "no place for the cursor database")
                .with_hint("set agent.data_dir or db"));
        }
    };
    Ok(Settings {
        directory: raw.journal_directory,
        include,
        exclude,
        since_now: raw.since_now,
        batch_size: raw.batch_size,
        journalctl: raw.journalctl_path,
        binary,
        fields: raw.fields,
        max_entry_bytes,
        db,
        commit_interval: raw.commit_interval.get(),
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
