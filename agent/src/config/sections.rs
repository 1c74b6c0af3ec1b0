//! Plugin tables: `[[inputs.<name>]]`, `[[filters.<name>]]` and `[[outputs.<name>]]` become
//! [`PluginSection`]s.
//!
//! [`collect`] checks the shape (a table of arrays of tables) of one file's `inputs`, `filters`
//! or `outputs`; [`build`] then takes every collected table in merge order (file, then position
//! in the file), gives it its index per (kind, name) and its id (`alias`, else
//! `inputs.tail.0`), checks every string for `${VAR}` errors, and splits off the shared keys:
//! `alias` and the selectors (`namepass`, `tagdrop`, ...: all), `interval` and
//! `collection_jitter` (inputs), `match` (filters, outputs) and `buffer` (outputs). The
//! plugin's own keys are not checked here: its `build` parses [`PluginSection::config`], which
//! no longer holds the shared keys. Plugin names are checked by the registry.

use std::collections::{BTreeSet, HashMap};
use std::ops::Range;
use std::path::Path;
use std::sync::Arc;

use gleaner_api::config::PathSeg;
use gleaner_api::selector::Selectors;
use gleaner_api::{ComponentKind, ConfigError, Duration, PluginConfig};
use toml::Spanned;
use toml::de::{DeTable, DeValue};

use super::load::Found;
use super::values::{Lookup, deserialize_table, deserialize_value, join, substitute_table};
use super::{BufferConfig, BufferKind, PluginSection, SourceFile};

/// The top-level key of a kind's tables.
pub(crate) const fn kinds_key(kind: ComponentKind) -> &'static str {
    match kind {
        ComponentKind::Input => "inputs",
        ComponentKind::Filter => "filters",
        ComponentKind::Output => "outputs",
    }
}

/// The keys the engine takes out of a plugin table of this kind, besides the selectors
/// ([`Selectors::KEYS`]), which every kind takes.
pub(crate) const fn shared_keys(kind: ComponentKind) -> &'static [&'static str] {
    match kind {
        ComponentKind::Input => &["alias", "interval", "collection_jitter"],
        ComponentKind::Filter => &["alias", "match"],
        ComponentKind::Output => &["alias", "match", "buffer", "kinds"],
    }
}

/// Every key the engine takes out of a plugin table of this kind, selectors included.
pub(crate) fn engine_keys(kind: ComponentKind) -> impl Iterator<Item = &'static str> {
    shared_keys(kind).iter().chain(Selectors::KEYS).copied()
}

/// One plugin table as found in a file, before validation.
pub(crate) struct RawSection<'a> {
    file: usize,
    kind: ComponentKind,
    name: String,
    /// Index in this file's array `[[<kinds>.<name>]]`.
    index_in_file: usize,
    table: Spanned<DeTable<'a>>,
}

/// Checks the shape of one file's `inputs`, `filters` or `outputs` value and collects its
/// plugin tables.
pub(crate) fn collect<'a>(
    file: usize,
    kind: ComponentKind,
    value: &Spanned<DeValue<'a>>,
    out: &mut Vec<RawSection<'a>>,
    found: &mut Found,
) {
    let kinds = kinds_key(kind);
    let DeValue::Table(plugins) = value.get_ref() else {
        found.push(
            file,
            ConfigError::new(format!(
                "expected a table of plugin arrays, found {}",
                value.get_ref().type_str()
            ))
            .with_span(value.span())
            .with_key(kinds)
            .with_hint(format!("write each plugin as [[{kinds}.<name>]]")),
        );
        return;
    };
    for (name, v) in plugins.iter() {
        let key = join(kinds, name.get_ref());
        let hint = format!("use [[{key}]] (an array of tables)");
        match v.get_ref() {
            DeValue::Array(items) => {
                for (i, item) in items.iter().enumerate() {
                    match item.get_ref() {
                        DeValue::Table(t) => out.push(RawSection {
                            file,
                            kind,
                            name: name.get_ref().to_string(),
                            index_in_file: i,
                            table: Spanned::new(item.span(), t.clone()),
                        }),
                        other => found.push(
                            file,
                            ConfigError::new(format!(
                                "expected a plugin table, found {}",
                                other.type_str()
                            ))
                            .with_span(item.span())
                            .with_key(format!("{key}.{i}"))
                            .with_hint(hint.clone()),
                        ),
                    }
                }
            }
            DeValue::Table(_) => found.push(
                file,
                ConfigError::new(format!("`[{key}]` is a single table"))
                    .with_span(v.span())
                    .with_key(key.clone())
                    .with_hint(hint),
            ),
            other => found.push(
                file,
                ConfigError::new(format!(
                    "expected an array of tables, found {}",
                    other.type_str()
                ))
                .with_span(v.span())
                .with_key(key.clone())
                .with_hint(hint),
            ),
        }
    }
}

/// What `build` needs to know of `[agent]`.
pub(crate) struct AgentFacts<'p> {
    /// `agent.data_dir`, when set (and not empty).
    pub(crate) data_dir: Option<&'p Path>,
    /// False when `[agent]` had errors: then `data_dir` is not trusted for error reports.
    pub(crate) valid: bool,
}

/// The plugin sections of a whole config: inputs, filters and outputs, each in merge order.
pub(crate) struct Sections {
    pub(crate) inputs: Vec<PluginSection>,
    pub(crate) filters: Vec<PluginSection>,
    pub(crate) outputs: Vec<PluginSection>,
}

/// Who holds an id first, for duplicate reports.
struct IdOwner {
    key_path: String,
    file: usize,
    span: Range<usize>,
    is_alias: bool,
}

/// Validates every collected table and builds its [`PluginSection`].
pub(crate) fn build(
    mut raws: Vec<RawSection<'_>>,
    files: &[Arc<SourceFile>],
    agent: &AgentFacts<'_>,
    lookup: Lookup<'_>,
    found: &mut Found,
) -> Sections {
    raws.sort_by_key(|r| (r.file, r.table.span().start));
    let mut counters: HashMap<(ComponentKind, String), usize> = HashMap::new();
    let mut owners: HashMap<String, IdOwner> = HashMap::new();
    let mut out = Sections {
        inputs: Vec::new(),
        filters: Vec::new(),
        outputs: Vec::new(),
    };
    for raw in raws {
        let counter = counters.entry((raw.kind, raw.name.clone())).or_insert(0);
        let index = *counter;
        *counter += 1;
        let kinds = kinds_key(raw.kind);
        let key_path = format!("{kinds}.{}.{index}", raw.name);
        let mut errors = Vec::new();
        let section = build_one(&raw, &key_path, files, agent, lookup, &mut errors);
        for e in errors {
            found.push(raw.file, e);
        }
        let Some((section, alias_span)) = section else {
            continue;
        };
        let (span, is_alias) = match alias_span {
            Some(s) => (s, true),
            None => (raw.table.span(), false),
        };
        if let Some(first) = owners.get(&section.id) {
            found.push(
                raw.file,
                duplicate_id(&section.id, &key_path, span, is_alias, first, files),
            );
            continue;
        }
        owners.insert(
            section.id.clone(),
            IdOwner {
                key_path: key_path.clone(),
                file: raw.file,
                span,
                is_alias,
            },
        );
        match raw.kind {
            ComponentKind::Input => out.inputs.push(section),
            ComponentKind::Filter => out.filters.push(section),
            ComponentKind::Output => out.outputs.push(section),
        }
    }
    out
}

/// The error for an id already taken; it names both plugins.
fn duplicate_id(
    id: &str,
    key_path: &str,
    span: Range<usize>,
    is_alias: bool,
    first: &IdOwner,
    files: &[Arc<SourceFile>],
) -> ConfigError {
    let at = match files.get(first.file) {
        Some(f) => {
            let l = f.locate(ConfigError::new("").with_span(first.span.clone()));
            format!("{}:{}:{}", l.path.display(), l.line, l.column)
        }
        None => String::from("?"),
    };
    let what = if first.is_alias {
        "the alias of"
    } else {
        "the id of"
    };
    let (key, message) = if is_alias {
        (
            join(key_path, "alias"),
            format!(
                "duplicate alias `{id}`: already {what} {} at {at}",
                first.key_path
            ),
        )
    } else {
        (
            key_path.to_owned(),
            format!("id `{id}` is already {what} {} at {at}", first.key_path),
        )
    };
    ConfigError::new(message)
        .with_span(span)
        .with_key(key)
        .with_hint("give each plugin its own alias")
}

/// Validates one table; on success returns the section and the span of its `alias` value.
fn build_one(
    raw: &RawSection<'_>,
    key_path: &str,
    files: &[Arc<SourceFile>],
    agent: &AgentFacts<'_>,
    lookup: Lookup<'_>,
    errors: &mut Vec<ConfigError>,
) -> Option<(PluginSection, Option<Range<usize>>)> {
    let before = errors.len();
    let mut table = raw.table.clone();
    // Checks every string of the table, the plugin's own keys included.
    let failed: BTreeSet<String> = substitute_table(table.get_mut(), key_path, lookup, errors);
    let table = table.into_inner();
    let shared = |key: &str| table.get(key).filter(|_| !failed.contains(key));

    let mut id = key_path.to_owned();
    let mut alias_span = None;
    if let Some(v) = shared("alias") {
        match alias(v, key_path) {
            Ok(a) => {
                id = a;
                alias_span = Some(v.span());
            }
            Err(e) => errors.push(e),
        }
    }
    let mut interval = None;
    if raw.kind == ComponentKind::Input
        && let Some(v) = shared("interval")
    {
        match positive_duration(v, &join(key_path, "interval")) {
            Ok(d) => interval = Some(d),
            Err(e) => errors.push(e),
        }
    }
    let mut collection_jitter = None;
    if raw.kind == ComponentKind::Input
        && let Some(v) = shared("collection_jitter")
    {
        let key = join(key_path, "collection_jitter");
        match deserialize_value::<Duration>(v.clone(), &key) {
            Ok(d) => collection_jitter = Some(d),
            Err(e) => errors.push(e),
        }
    }
    let mut match_globs = None;
    if raw.kind != ComponentKind::Input
        && let Some(v) = shared("match")
    {
        match globs(v, &join(key_path, "match")) {
            Ok(g) => match_globs = Some(g),
            Err(e) => errors.push(e),
        }
    }
    let mut event_kinds = None;
    if raw.kind == ComponentKind::Output
        && let Some(v) = shared("kinds")
    {
        match kinds_list(v, &join(key_path, "kinds")) {
            Ok(k) => event_kinds = Some(k),
            Err(e) => errors.push(e),
        }
    }
    let mut buffer = BufferConfig::default();
    if raw.kind == ComponentKind::Output {
        buffer = default_buffer(agent);
        if let Some(v) = shared("buffer") {
            match buffer_config(v, &join(key_path, "buffer"), agent) {
                Ok(b) => buffer = b,
                Err(e) => errors.push(e),
            }
        }
    }
    let selectors = match Selectors::from_table(&table, key_path) {
        Ok(s) => s.map(Arc::new),
        Err(es) => {
            errors.extend(es);
            None
        }
    };
    if errors.len() > before {
        return None;
    }
    // The table's value, shared keys included and `${VAR}` substituted, without spans: what
    // a reload compares to tell a changed component from an unchanged one.
    let value = match deserialize_table::<toml::Table>(
        Spanned::new(raw.table.span(), table.clone()),
        key_path,
    ) {
        Ok(v) => v,
        Err(e) => {
            errors.push(e);
            return None;
        }
    };
    let file = files.get(raw.file)?.clone();
    let kinds = kinds_key(raw.kind);
    let config = PluginConfig::new(
        key_path,
        file.text.clone(),
        vec![
            PathSeg::Key(kinds.to_owned()),
            PathSeg::Key(raw.name.clone()),
            PathSeg::Index(raw.index_in_file),
        ],
        engine_keys(raw.kind).map(str::to_owned).collect(),
    );
    let section = PluginSection {
        kind: raw.kind,
        name: raw.name.clone(),
        id,
        interval,
        collection_jitter,
        match_globs,
        kinds: event_kinds,
        buffer,
        selectors,
        config,
        value,
        file,
        span: raw.table.span(),
    };
    Some((section, alias_span))
}

/// `alias`: a non-empty string of `[A-Za-z0-9_.-]`.
fn alias(v: &Spanned<DeValue<'_>>, key_path: &str) -> Result<String, ConfigError> {
    let err = |message: String| {
        ConfigError::new(message)
            .with_span(v.span())
            .with_key(join(key_path, "alias"))
            .with_hint("an alias is letters, digits, `_`, `.` and `-`, like \"app-logs\"")
    };
    let DeValue::String(s) = v.get_ref() else {
        return Err(err(format!(
            "expected a string, found {}",
            v.get_ref().type_str()
        )));
    };
    if s.is_empty() {
        return Err(err("alias is empty".to_owned()));
    }
    if let Some(c) = s
        .chars()
        .find(|c| !(c.is_ascii_alphanumeric() || "_.-".contains(*c)))
    {
        return Err(err(format!("alias {s:?} contains {c:?}")));
    }
    Ok(s.to_string())
}

/// A duration greater than zero.
fn positive_duration(v: &Spanned<DeValue<'_>>, key: &str) -> Result<Duration, ConfigError> {
    let d: Duration = deserialize_value(v.clone(), key)?;
    if d.get().is_zero() {
        return Err(ConfigError::new("must be greater than zero")
            .with_span(v.span())
            .with_key(key)
            .with_hint("write a duration like \"10s\""));
    }
    Ok(d)
}

/// `kinds`: a non-empty array of "metrics" and "logs".
fn kinds_list(v: &Spanned<DeValue<'_>>, key: &str) -> Result<gleaner_api::Accepts, ConfigError> {
    let hint = "write kinds = [\"metrics\"], [\"logs\"] or [\"metrics\", \"logs\"]";
    let bad = |span: Range<usize>, msg: String| {
        ConfigError::new(msg)
            .with_span(span)
            .with_key(key)
            .with_hint(hint)
    };
    let DeValue::Array(items) = v.get_ref() else {
        return Err(bad(
            v.span(),
            format!("expected an array, found {}", v.get_ref().type_str()),
        ));
    };
    let mut kinds = gleaner_api::Accepts {
        metrics: false,
        logs: false,
    };
    for item in items.iter() {
        match item.get_ref().as_str() {
            Some("metrics") => kinds.metrics = true,
            Some("logs") => kinds.logs = true,
            Some(other) => {
                let mut e = bad(item.span(), format!("unknown event kind {other:?}"));
                if let Some(best) = gleaner_api::config::did_you_mean(other, &["metrics", "logs"]) {
                    e = e.with_hint(format!("did you mean `{best}`?"));
                }
                return Err(e);
            }
            None => {
                return Err(bad(
                    item.span(),
                    format!("expected a string, found {}", item.get_ref().type_str()),
                ));
            }
        }
    }
    if !kinds.metrics && !kinds.logs {
        return Err(bad(v.span(), "empty kinds list".to_owned()));
    }
    Ok(kinds)
}

/// `match`: a glob or an array of globs, none empty.
fn globs(v: &Spanned<DeValue<'_>>, key: &str) -> Result<Vec<String>, ConfigError> {
    let hint = "write a glob on input ids, like \"inputs.tail.*\", or an array of them";
    let one = |item: &Spanned<DeValue<'_>>, key: &str| match item.get_ref() {
        DeValue::String(s) if !s.is_empty() => Ok(s.to_string()),
        DeValue::String(_) => Err(ConfigError::new("empty glob")
            .with_span(item.span())
            .with_key(key)
            .with_hint(hint)),
        other => Err(ConfigError::new(format!(
            "expected a string or an array of strings, found {}",
            other.type_str()
        ))
        .with_span(item.span())
        .with_key(key)
        .with_hint(hint)),
    };
    match v.get_ref() {
        DeValue::Array(items) if items.is_empty() => Err(ConfigError::new("empty match list")
            .with_span(v.span())
            .with_key(key)
            .with_hint("remove `match` to take the default events, or list globs")),
        DeValue::Array(items) => items
            .iter()
            .enumerate()
            .map(|(i, item)| one(item, &format!("{key}.{i}")))
            .collect(),
        _ => one(v, key).map(|g| vec![g]),
    }
}

/// The buffer of an output without a `buffer` table: on disk when there is a data directory.
fn default_buffer(agent: &AgentFacts<'_>) -> BufferConfig {
    let mut b = BufferConfig::default();
    if agent.data_dir.is_some() {
        b.kind = BufferKind::Disk;
    }
    b
}

/// `buffer`: a table into [`BufferConfig`]; `type` defaults to `disk` when there is a data
/// directory, and `disk` needs one.
fn buffer_config(
    v: &Spanned<DeValue<'_>>,
    key: &str,
    agent: &AgentFacts<'_>,
) -> Result<BufferConfig, ConfigError> {
    let DeValue::Table(t) = v.get_ref() else {
        return Err(ConfigError::new(format!(
            "expected a table, found {}",
            v.get_ref().type_str()
        ))
        .with_span(v.span())
        .with_key(key)
        .with_hint("write the [outputs.<name>.buffer] table after its [[outputs.<name>]]"));
    };
    let given_type = t.get("type").map(Spanned::span);
    let mut b: BufferConfig = deserialize_table(Spanned::new(v.span(), t.clone()), key)?;
    match given_type {
        None if agent.data_dir.is_some() => b.kind = BufferKind::Disk,
        Some(span) if b.kind == BufferKind::Disk && agent.data_dir.is_none() && agent.valid => {
            return Err(ConfigError::new("a disk buffer needs a data directory")
                .with_span(span)
                .with_key(join(key, "type"))
                .with_hint("set agent.data_dir"));
        }
        _ => {}
    }
    if b.dead_letter && agent.data_dir.is_none() && agent.valid {
        let span = t.get("dead_letter").map_or(v.span(), Spanned::span);
        return Err(
            ConfigError::new("dead letters are kept under the data directory")
                .with_span(span)
                .with_key(join(key, "dead_letter"))
                .with_hint("set agent.data_dir"),
        );
    }
    if b.retry_initial_backoff.get().is_zero() || b.retry_max_backoff < b.retry_initial_backoff {
        let span = t
            .get("retry_initial_backoff")
            .map_or(v.span(), Spanned::span);
        return Err(ConfigError::new(format!(
            "retry_initial_backoff ({}) must be above zero and at most retry_max_backoff ({})",
            b.retry_initial_backoff, b.retry_max_backoff
        ))
        .with_span(span)
        .with_key(join(key, "retry_initial_backoff"))
        .with_hint("for example retry_initial_backoff = \"1s\", retry_max_backoff = \"60s\""));
    }
    Ok(b)
}
