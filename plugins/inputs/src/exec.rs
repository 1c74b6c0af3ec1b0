//! `inputs.exec`: runs `commands` every interval (all at once) and parses what each prints
//! on standard output (`data_format`, see `exec_format`): Telegraf's `inputs.exec`, and with
//! `inputs.execd` the way to add a plugin in any language.
//!
//! Each command runs in a process group of its own, with standard input closed, within
//! `timeout` for the process to exit and its output to end; past it, the whole group
//! (grandchildren included) is killed with SIGKILL and the output is dropped (counted
//! `timeout`). A command that exits non-zero is logged and its output dropped (counted
//! `exit_status`) unless `ignore_error`. Standard error lines are logged at warn with the
//! plugin id. Output over `MAX_OUTPUT` bytes is cut off and counted. Output that does not
//! parse is counted (`malformed`) and never stops the input.

pub(crate) mod config;
#[cfg(test)]
mod tests;

use std::sync::Arc;

use async_trait::async_trait;
use gleaner_api::{
    Batch, BuildContext, ComponentMetrics, ConfigError, Input, InputContext, InputDescriptor,
    PluginConfig, PluginError, now_ns,
};
use tokio::io::AsyncReadExt;

use crate::exec_format::{FormatOptions, REASON_MALFORMED};
use crate::exec_process::{Program, kill_group, relay_stderr};
use config::Settings;

/// Registry entry.
pub const DESCRIPTOR: InputDescriptor = InputDescriptor {
    name: "exec",
    summary: "runs commands every interval and parses their output (influx, prometheus, json, lines)",
    sample: SAMPLE,
    build,
};

const SAMPLE: &str = r#"[[inputs.exec]]
## Command lines, each split into words as a shell would (not run through a shell; write
## ["sh", "-c", "..."] style lines as "sh -c '...'"). All run at once, every interval.
commands = ["/usr/local/bin/check.sh --flag"]
## Time for each command to exit and end its output; then its process group is killed.
# timeout = "5s"
## Extra environment variables.
# environment = ["KEY=value"]
## Parse the output of a command that exits non-zero too.
# ignore_error = false
## What the commands print: "influx" (line protocol), "prometheus" (text exposition),
## "json" (objects) or "lines" (each line a log record).
# data_format = "influx"
## For "json": the key naming the measurement (default "exec"), keys that become tags, and
## the time's key and format ("unix", "unix_ms", "unix_us", "unix_ns", "rfc3339").
# json_name_key = "name"
# tag_keys = ["host"]
# json_time_key = "time"
# json_time_format = "unix"
"#;

/// Standard output kept per command run.
pub(crate) const MAX_OUTPUT: u64 = 16 * 1024 * 1024;

fn build(cfg: &PluginConfig, _cx: &BuildContext) -> Result<Box<dyn Input>, ConfigError> {
    Ok(Box::new(Exec {
        settings: Arc::new(config::parse(cfg)?),
    }))
}

/// The built input.
#[derive(Debug)]
struct Exec {
    settings: Arc<Settings>,
}

#[async_trait]
impl Input for Exec {
    async fn run(self: Box<Self>, mut cx: InputContext) -> Result<(), PluginError> {
        while cx.ticker.tick().await {
            let mut runs = tokio::task::JoinSet::new();
            for (i, p) in self.settings.programs.iter().enumerate() {
                let (settings, id, metrics) = (
                    Arc::clone(&self.settings),
                    Arc::clone(&cx.id),
                    Arc::clone(&cx.metrics),
                );
                let p = p.clone();
                runs.spawn(async move { (i, run(&p, &settings, id, &metrics).await) });
            }
            // Sent in command order, whatever order they finish in.
            let mut batches: Vec<(usize, Batch)> = runs
                .join_all()
                .await
                .into_iter()
                .filter_map(|(i, b)| Some((i, b?)))
                .collect();
            batches.sort_by_key(|(i, _)| *i);
            for (_, batch) in batches {
                if !batch.is_empty() && cx.out.send(batch).await.is_err() {
                    return Ok(()); // the agent is stopping
                }
            }
        }
        Ok(())
    }
}

/// Runs one command once; its events, if any.
async fn run(
    p: &Program,
    settings: &Settings,
    input: Arc<str>,
    metrics: &Arc<ComponentMetrics>,
) -> Option<Batch> {
    let command: Arc<str> = Arc::from(p.display());
    let mut child = match p.spawn(false) {
        Ok(c) => c,
        Err(e) => {
            metrics.error("spawn");
            tracing::warn!(input = %input, command = %command, error = %e, "cannot start the command");
            return None;
        }
    };
    let pid = child.id();
    let stderr = child.stderr.take().map(|s| {
        relay_stderr(
            s,
            Arc::clone(&input),
            Arc::clone(&command),
            Arc::clone(metrics),
        )
    });
    let mut out = Vec::new();
    let finished = {
        let stdout = child.stdout.take();
        let work = async {
            if let Some(s) = stdout {
                s.take(MAX_OUTPUT).read_to_end(&mut out).await?;
            }
            child.wait().await
        };
        tokio::time::timeout(settings.timeout, work).await
    };
    // Whatever happened, nothing of the group may outlive this run past a timeout; a group
    // left behind by a command that exited normally is the command's business.
    let status = match finished {
        Err(_) => {
            kill_group(pid);
            let _reaped = child.wait().await;
            metrics.error("timeout");
            tracing::warn!(input = %input, command = %command, timeout = ?settings.timeout, "command timed out: its process group was killed and its output dropped");
            None
        }
        Ok(Err(e)) => {
            kill_group(pid);
            metrics.error("read_output");
            tracing::warn!(input = %input, command = %command, error = %e, "cannot read the command's output");
            None
        }
        Ok(Ok(status)) => Some(status),
    };
    if let Some(task) = stderr {
        // The group is gone or the command closed its stderr: this ends soon.
        let _done = tokio::time::timeout(std::time::Duration::from_secs(1), task).await;
    }
    let status = status?;
    if out.len() as u64 >= MAX_OUTPUT {
        metrics.error("output_too_large");
        tracing::warn!(input = %input, command = %command, limit = MAX_OUTPUT, "command output cut off at the limit");
    }
    if !status.success() {
        metrics.error("exit_status");
        tracing::warn!(input = %input, command = %command, %status, "command failed");
        if !settings.ignore_error {
            return None;
        }
    }
    metrics.received(0, out.len() as u64);
    Some(parse(&settings.format, &out, &input, &command, metrics))
}

/// Parses one command's output, counting what does not parse.
fn parse(
    format: &FormatOptions,
    out: &[u8],
    input: &str,
    command: &str,
    metrics: &ComponentMetrics,
) -> Batch {
    let parsed = format.parse_output(out, now_ns());
    metrics.received(parsed.batch.len() as u64, 0);
    if parsed.errors > 0 {
        metrics.dropped(REASON_MALFORMED, parsed.errors as u64);
        tracing::warn!(input = %input, command = %command, malformed = parsed.errors, first = parsed.first_error.as_deref().unwrap_or(""), "command output did not parse");
    }
    parsed.batch
}

/// The sample check listed in `sample_checks.rs`.
#[cfg(test)]
pub(crate) fn check_sample() {
    tests::sample_parses_and_equals_the_defaults();
}
