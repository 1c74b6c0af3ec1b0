//! `inputs.exec` configuration: the table's own keys (the data format keys are
//! `exec_format`'s), validated into [`Settings`] with no I/O.

use gleaner_api::{ConfigError, Duration, PluginConfig};
use serde::Deserialize;

use crate::exec_format::{FormatOptions, KEYS};
use crate::exec_process::Program;

/// `[[inputs.exec]]`'s own keys as written.
#[derive(Debug, PartialEq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub(crate) struct ExecConfig {
    /// Command lines, each split into words as a shell would (quotes and backslashes), not
    /// run through a shell.
    commands: Vec<String>,
    /// Time each command may take, output included; then its process group is killed.
    timeout: Duration,
    /// Extra environment variables, `"KEY=value"`.
    environment: Vec<String>,
    /// Parse the output of a command that exits non-zero too.
    ignore_error: bool,
}

/// Default of `timeout` (Telegraf's).
pub(crate) const DEFAULT_TIMEOUT: Duration = Duration::from_secs(5);

impl Default for ExecConfig {
    fn default() -> Self {
        ExecConfig {
            commands: Vec::new(),
            timeout: DEFAULT_TIMEOUT,
            environment: Vec::new(),
            ignore_error: false,
        }
    }
}

/// The validated configuration.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Settings {
    pub(crate) programs: Vec<Program>,
    pub(crate) timeout: std::time::Duration,
    pub(crate) ignore_error: bool,
    pub(crate) format: FormatOptions,
}

impl ExecConfig {
    /// The table's own keys (without the format's).
    pub(crate) fn own(cfg: &PluginConfig) -> Result<ExecConfig, ConfigError> {
        cfg.without(&KEYS)
            .parse()
            .map_err(|e| e.with_more_keys(&KEYS))
    }
}

/// Parses and validates the table.
pub(crate) fn parse(cfg: &PluginConfig) -> Result<Settings, ConfigError> {
    let raw = ExecConfig::own(cfg)?;
    let format = FormatOptions::parse(cfg, "exec")?;
    if raw.commands.is_empty() {
        return Err(cfg
            .error_at("commands", "`commands` is empty: nothing to run")
            .with_hint("commands = [\"/usr/local/bin/check.sh --flag\"]"));
    }
    if raw.timeout.get().is_zero() {
        return Err(cfg.error_at("timeout", "timeout must be greater than 0"));
    }
    let env = environment(cfg, &raw.environment)?;
    let programs = raw
        .commands
        .iter()
        .map(|c| match split_words(c) {
            Ok(argv) if !argv.is_empty() => Ok(Program {
                argv,
                env: env.clone(),
            }),
            Ok(_) => Err(cfg.error_at("commands", "a command is empty")),
            Err(m) => Err(cfg.error_at("commands", format!("{c:?}: {m}"))),
        })
        .collect::<Result<_, _>>()?;
    Ok(Settings {
        programs,
        timeout: raw.timeout.get(),
        ignore_error: raw.ignore_error,
        format,
    })
}

/// `"KEY=value"` pairs.
pub(crate) fn environment(
    cfg: &PluginConfig,
    pairs: &[String],
) -> Result<Vec<(String, String)>, ConfigError> {
    pairs
        .iter()
        .map(|p| match p.split_once('=') {
            Some((k, v)) if !k.is_empty() => Ok((k.to_owned(), v.to_owned())),
            _ => Err(cfg.error_at("environment", format!("{p:?} is not \"KEY=value\""))),
        })
        .collect()
}

/// Splits a command line into words as a POSIX shell would, without expanding anything:
/// blanks separate words, `'...'` keeps everything, `"..."` keeps everything but `\"` and
/// `\\`, a backslash outside quotes keeps the next character.
pub(crate) fn split_words(line: &str) -> Result<Vec<String>, &'static str> {
    let mut words = Vec::new();
    let mut word: Option<String> = None;
    let mut chars = line.chars();
    while let Some(c) = chars.next() {
        match c {
            c if c.is_whitespace() => {
                if let Some(w) = word.take() {
                    words.push(w);
                }
            }
            '\'' => {
                let w = word.get_or_insert_with(String::new);
                loop {
                    match chars.next() {
                        Some('\'') => break,
                        Some(c) => w.push(c),
                        None => return Err("unterminated single quote"),
                    }
                }
            }
            '"' => {
                let w = word.get_or_insert_with(String::new);
                loop {
                    match chars.next() {
                        Some('"') => break,
                        Some('\\') => match chars.next() {
                            Some(c @ ('"' | '\\')) => w.push(c),
                            Some(c) => {
                                w.push('\\');
                                w.push(c);
                            }
                            None => return Err("unterminated double quote"),
                        },
                        Some(c) => w.push(c),
                        None => return Err("unterminated double quote"),
                    }
                }
            }
            '\\' => match chars.next() {
                Some(c) => word.get_or_insert_with(String::new).push(c),
                None => return Err("a trailing backslash"),
            },
            c => word.get_or_insert_with(String::new).push(c),
        }
    }
    words.extend(word);
    Ok(words)
}
