//! `inputs.execd` configuration: the table's own keys (the data format keys are
//! `exec_format`'s), validated into [`Settings`] with no I/O.

use gleaner_api::{ConfigError, Duration, PluginConfig};
use serde::Deserialize;

use crate::exec::config::environment;
use crate::exec_format::{FormatOptions, KEYS};
use crate::exec_process::Program;

/// How the program is told to gather, each interval.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
pub(crate) enum Signal {
    /// Not at all: the program prints on its own schedule.
    #[default]
    #[serde(rename = "none")]
    None,
    /// A newline on its standard input.
    #[serde(rename = "STDIN")]
    Stdin,
}

/// `[[inputs.execd]]`'s own keys as written.
#[derive(Debug, PartialEq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub(crate) struct ExecdConfig {
    /// The program and its arguments, each its own string.
    command: Vec<String>,
    /// Extra environment variables, `"KEY=value"`.
    environment: Vec<String>,
    /// `"none"` or `"STDIN"`.
    signal: Signal,
    /// Wait before restarting a program that exited; doubled while it keeps exiting within a
    /// minute, up to 5 minutes.
    restart_delay: Duration,
}

/// Default of `restart_delay` (Telegraf's).
pub(crate) const DEFAULT_RESTART_DELAY: Duration = Duration::from_secs(10);

impl Default for ExecdConfig {
    fn default() -> Self {
        ExecdConfig {
            command: Vec::new(),
            environment: Vec::new(),
            signal: Signal::None,
            restart_delay: DEFAULT_RESTART_DELAY,
        }
    }
}

/// The validated configuration.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Settings {
    pub(crate) program: Program,
    pub(crate) signal: Signal,
    pub(crate) restart_delay: std::time::Duration,
    pub(crate) format: FormatOptions,
}

impl ExecdConfig {
    /// The table's own keys (without the format's).
    pub(crate) fn own(cfg: &PluginConfig) -> Result<ExecdConfig, ConfigError> {
        cfg.without(&KEYS)
            .parse()
            .map_err(|e| e.with_more_keys(&KEYS))
    }
}

/// Parses and validates the table.
pub(crate) fn parse(cfg: &PluginConfig) -> Result<Settings, ConfigError> {
    let raw = ExecdConfig::own(cfg)?;
    let format = FormatOptions::parse(cfg, "execd")?;
    if raw.command.first().is_none_or(String::is_empty) {
        return Err(cfg
            .error_at("command", "`command` is empty: nothing to run")
            .with_hint("command = [\"/usr/local/bin/plugin\", \"--flag\"]"));
    }
    Ok(Settings {
        program: Program {
            argv: raw.command,
            env: environment(cfg, &raw.environment)?,
        },
        signal: raw.signal,
        restart_delay: raw.restart_delay.get(),
        format,
    })
}
