//! [`load`]: one TOML file, or a directory whose `*.toml` files are merged in file-name order,
//! into a [`Config`].
//!
//! Each file is read and parsed once, with spans (`toml::de::DeTable`). The top level takes
//! `agent`, `inputs`, `filters` and `outputs` only. `[agent]` is checked file by file, one key
//! at a time (so every bad key is reported, each in its own file), after `${VAR}`
//! substitution; the files' `[agent]` tables are then merged key by key, a later file
//! replacing a whole top-level key (`tags` included) of an earlier one. Plugin tables go to
//! [`super::sections`]. Every error found is returned, sorted by file, then position; a file
//! that does not parse is reported and skipped, and the other files are still checked.
//!
//! [`load_partial`] also returns the config as far as it could be read, so that `check` can
//! build its plugins and report their errors in the same run. A key whose value had an error
//! is unknown, so it takes the value that hides no other error: an `agent.data_dir` that
//! could not be read (or a file that did not parse, which might have set it) becomes a
//! placeholder path, so plugins that need a data directory do not also complain, and a bad
//! `agent.interval` becomes very long, so no timeout or jitter is reported as longer than it.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use gleaner_api::config::did_you_mean;
use gleaner_api::{ComponentKind, ConfigError};
use toml::Spanned;
use toml::de::{DeTable, DeValue};

use super::sections::{self, AgentFacts, RawSection};
use super::values::{Lookup, deserialize_table, substitute_table};
use super::{AgentConfig, Config, ConfigErrors, LocatedError, SourceFile};

/// The top-level keys of a config file.
const TOP_LEVEL: [&str; 4] = ["agent", "inputs", "filters", "outputs"];

/// Loads a file or a directory of `*.toml` files (names starting with `.` are skipped), with
/// `${VAR}` taken from the process environment.
pub fn load(path: &Path) -> Result<Config, ConfigErrors> {
    load_with_env(path, &|name| std::env::var(name).ok())
}

/// A config as far as it could be read, and every error found while reading it (in file
/// order, then position). With errors, the config is good only for finding more errors.
#[derive(Debug)]
pub struct Partial {
    /// What could be read; see the module doc for the values of keys that had errors.
    pub config: Config,
    /// Every error, empty when the config is valid.
    pub errors: Vec<LocatedError>,
}

/// Like [`load`], but returns what could be read with the errors; fails only when there is
/// nothing to read (a missing path, an empty directory).
pub fn load_partial(path: &Path) -> Result<Partial, ConfigErrors> {
    partial_with_env(path, &|name| std::env::var(name).ok())
}

/// What `agent.data_dir` reads as while its own value has an error (never used to run).
pub const UNKNOWN_DATA_DIR: &str = "<agent.data_dir has an error>";

/// Errors found so far, each with the index of its file.
#[derive(Default)]
pub(crate) struct Found(Vec<(usize, ConfigError)>);

impl Found {
    /// Records an error in file `file`.
    pub(crate) fn push(&mut self, file: usize, error: ConfigError) {
        self.0.push((file, error));
    }

    /// Located errors, sorted by file, then position.
    fn locate(mut self, files: &[Arc<SourceFile>]) -> Vec<LocatedError> {
        self.0
            .sort_by_key(|(file, e)| (*file, e.span.as_ref().map_or(0, |s| s.start)));
        self.0
            .into_iter()
            .filter_map(|(file, e)| files.get(file).map(|f| f.locate(e)))
            .collect()
    }
}

/// [`load`] with an injectable environment (tests).
pub(crate) fn load_with_env(path: &Path, lookup: Lookup<'_>) -> Result<Config, ConfigErrors> {
    let partial = partial_with_env(path, lookup)?;
    if partial.errors.is_empty() {
        Ok(partial.config)
    } else {
        Err(ConfigErrors(partial.errors))
    }
}

/// [`load_partial`] with an injectable environment.
pub(crate) fn partial_with_env(path: &Path, lookup: Lookup<'_>) -> Result<Partial, ConfigErrors> {
    let mut unreadable = Vec::new();
    let mut files = Vec::new();
    for p in config_paths(path)? {
        match SourceFile::read(&p) {
            Ok(f) => files.push(Arc::new(f)),
            Err(e) => unreadable.extend(e.0),
        }
    }
    let mut found = Found::default();
    let docs: Vec<Option<Spanned<DeTable<'_>>>> = files
        .iter()
        .enumerate()
        .map(|(i, f)| match DeTable::parse(&f.text) {
            Ok(doc) => Some(doc),
            Err(e) => {
                found.push(i, ConfigError::from_toml(&e));
                None
            }
        })
        .collect();

    let mut agent_tables = Vec::new();
    let mut raws: Vec<RawSection<'_>> = Vec::new();
    for (i, doc) in docs.iter().enumerate() {
        let Some(doc) = doc else { continue };
        let mut entries: Vec<_> = doc.get_ref().iter().collect();
        entries.sort_by_key(|(k, _)| k.span().start);
        for (k, v) in entries {
            match &**k.get_ref() {
                "agent" => {
                    if let Some(t) = agent_table(i, v, lookup, &mut found) {
                        agent_tables.push((i, t));
                    }
                }
                "inputs" => sections::collect(i, ComponentKind::Input, v, &mut raws, &mut found),
                "filters" => sections::collect(i, ComponentKind::Filter, v, &mut raws, &mut found),
                "outputs" => sections::collect(i, ComponentKind::Output, v, &mut raws, &mut found),
                other => found.push(i, unknown_top_level(other, k.span())),
            }
        }
    }

    let mut agent = merge_agent(agent_tables, &mut found);
    let all_parsed = docs.iter().all(Option::is_some);
    let agent_error = |key: &str| {
        !all_parsed
            || found.0.iter().any(|(_, e)| {
                e.key.as_deref().is_some_and(|k| {
                    k == "agent" || k.strip_prefix("agent.").is_some_and(|k| k == key)
                })
            })
    };
    // A file that did not parse, or a bad agent key, may hide the real `data_dir`.
    let agent_valid = all_parsed
        && !found.0.iter().any(|(_, e)| {
            e.key
                .as_deref()
                .is_some_and(|k| k == "agent" || k.starts_with("agent."))
        });
    let unknown_data_dir = agent.data_dir.is_none() && agent_error("data_dir");
    let unknown_interval = agent_error("interval");
    let facts = AgentFacts {
        data_dir: agent.data_dir.as_deref(),
        valid: agent_valid,
    };
    let sections = sections::build(raws, &files, &facts, lookup, &mut found);
    if unknown_data_dir {
        agent.data_dir = Some(PathBuf::from(UNKNOWN_DATA_DIR));
    }
    if unknown_interval {
        agent.interval = gleaner_api::Duration::from_secs(100 * 365 * 86_400);
    }
    unreadable.extend(found.locate(&files));
    Ok(Partial {
        config: Config {
            agent,
            inputs: sections.inputs,
            filters: sections.filters,
            outputs: sections.outputs,
            files,
        },
        errors: unreadable,
    })
}

/// The files to read: `path` itself, or the `*.toml` files of directory `path`, sorted by
/// name.
pub(crate) fn config_paths(path: &Path) -> Result<Vec<PathBuf>, ConfigErrors> {
    let fail = |message: String| LocatedError::unlocated(path, ConfigError::new(message));
    let meta = std::fs::metadata(path).map_err(|e| fail(format!("cannot read config: {e}")))?;
    if !meta.is_dir() {
        return Ok(vec![path.to_owned()]);
    }
    let entries =
        std::fs::read_dir(path).map_err(|e| fail(format!("cannot list config directory: {e}")))?;
    let mut names = Vec::new();
    for entry in entries {
        let entry = entry.map_err(|e| fail(format!("cannot list config directory: {e}")))?;
        let name = entry.file_name();
        let p = entry.path();
        let is_toml =
            p.extension().is_some_and(|x| x == "toml") && !name.to_string_lossy().starts_with('.');
        // Follows symlinks (ConfigMap mounts are symlinks); a dangling one is reported on read.
        if is_toml && std::fs::metadata(&p).map_or(true, |m| !m.is_dir()) {
            names.push(name);
        }
    }
    if names.is_empty() {
        return Err(fail("no *.toml files in config directory".to_owned()).into());
    }
    names.sort();
    Ok(names.into_iter().map(|n| path.join(n)).collect())
}

/// The error for a top-level key other than those of [`TOP_LEVEL`].
fn unknown_top_level(key: &str, span: std::ops::Range<usize>) -> ConfigError {
    let hint = match did_you_mean(key, &TOP_LEVEL) {
        Some(best) => format!("did you mean `{best}`?"),
        None => format!("valid keys: {}", TOP_LEVEL.join(", ")),
    };
    ConfigError::new("unknown top-level key")
        .with_span(span)
        .with_key(key)
        .with_hint(hint)
}

/// One file's `[agent]`, substituted and checked key by key; keys with errors are dropped
/// (their errors recorded) so that the merge sees only good values.
fn agent_table<'a>(
    file: usize,
    v: &Spanned<DeValue<'a>>,
    lookup: Lookup<'_>,
    found: &mut Found,
) -> Option<DeTable<'a>> {
    let DeValue::Table(t) = v.get_ref() else {
        found.push(
            file,
            ConfigError::new(format!(
                "expected a table, found {}",
                v.get_ref().type_str()
            ))
            .with_span(v.span())
            .with_key("agent")
            .with_hint("write the [agent] table"),
        );
        return None;
    };
    let mut table = t.clone();
    let mut errors = Vec::new();
    let failed = substitute_table(&mut table, "agent", lookup, &mut errors);
    for key in &failed {
        table.remove(key.as_str());
    }
    let mut good = DeTable::new();
    for (k, v) in table {
        let mut one = DeTable::new();
        one.insert(k.clone(), v.clone());
        let span = k.span().start..v.span().end;
        let checked = deserialize_table::<AgentConfig>(Spanned::new(span, one), "agent")
            .and_then(|a| positive_intervals(&a, &k, &v));
        match checked {
            Ok(()) => {
                good.insert(k, v);
            }
            Err(e) => errors.push(e),
        }
    }
    for e in errors {
        found.push(file, e);
    }
    Some(good)
}

/// `agent.interval` and `agent.flush_interval` must not be zero (a zero tick never ends).
fn positive_intervals(
    agent: &AgentConfig,
    key: &Spanned<std::borrow::Cow<'_, str>>,
    value: &Spanned<DeValue<'_>>,
) -> Result<(), ConfigError> {
    let zero = match &**key.get_ref() {
        "interval" => agent.interval.get().is_zero(),
        "flush_interval" => agent.flush_interval.get().is_zero(),
        _ => false,
    };
    if zero {
        return Err(ConfigError::new("must be greater than zero")
            .with_span(value.span())
            .with_key(format!("agent.{}", key.get_ref()))
            .with_hint("write a duration like \"10s\""));
    }
    Ok(())
}

/// Merges the files' checked `[agent]` tables, later files replacing earlier ones key by key.
fn merge_agent(tables: Vec<(usize, DeTable<'_>)>, found: &mut Found) -> AgentConfig {
    let mut merged = DeTable::new();
    let mut origin: BTreeMap<String, usize> = BTreeMap::new();
    for (file, table) in tables {
        for (k, v) in table {
            origin.insert(k.get_ref().to_string(), file);
            // Remove first: a map keeps the old key (and its span) when a key is re-inserted.
            merged.remove(&**k.get_ref());
            merged.insert(k, v);
        }
    }
    let mut agent = match deserialize_table::<AgentConfig>(Spanned::new(0..0, merged), "agent") {
        Ok(a) => a,
        Err(e) => {
            // Unexpected: every key was checked alone; report it in the key's file.
            let key = e.key.as_deref().unwrap_or("agent");
            let first = key.strip_prefix("agent.").and_then(|k| k.split('.').next());
            let file = first.and_then(|k| origin.get(k)).copied().unwrap_or(0);
            found.push(file, e);
            AgentConfig::default()
        }
    };
    if agent
        .data_dir
        .as_ref()
        .is_some_and(|d| d.as_os_str().is_empty())
    {
        agent.data_dir = None;
    }
    agent
}
