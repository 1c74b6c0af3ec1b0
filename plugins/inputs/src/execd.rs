//! `inputs.execd`: supervises one long-running program and parses what it prints on
//! standard output (`data_format`, see `exec_format`), Telegraf's `inputs.execd`.
//!
//! - **Signal.** With `signal = "STDIN"` a newline is written to the program's standard
//!   input at every interval (the first at start): the program gathers and prints then.
//!   With `"none"` it prints on its own schedule.
//! - **Output.** Read line by line as it comes (a line over 1 MiB is left out and counted
//!   `line_too_long`): each line is a line-protocol line, a JSON document or a log record; a
//!   Prometheus page ends at an empty line or `# EOF` (or when the program exits). Events
//!   are sent as soon as the program stops writing (or every 1,000); a full pipeline stops
//!   the reading, so the program blocks on its own output rather than the agent holding it.
//!   Output that does not parse is counted (`malformed`) and never fatal.
//! - **Restart.** A program that exits (or cannot start) is logged with its status, counted
//!   (`exited`), its leftover process group killed, and started again after
//!   `restart_delay`, doubled while it keeps exiting within a minute of its start, up to 5
//!   minutes; a run of a minute or more resets it.
//! - **Stop.** On shutdown its standard input is closed (the program's cue to exit, as in
//!   Telegraf), and after 5 s its process group is killed.
//! - Standard error lines are logged at warn with the plugin id. In `--once` mode the input
//!   does nothing (a service input, as in Telegraf).

mod config;
#[cfg(test)]
mod tests;

use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use gleaner_api::{
    Batch, BuildContext, ComponentMetrics, ConfigError, EventSender, Input, InputContext,
    InputDescriptor, LogRecord, Metric, PluginConfig, PluginError, RunMode, now_ns,
};
use tokio::io::{AsyncWriteExt, BufReader};
use tokio::process::ChildStdout;
use tokio::time::Instant;

use crate::exec_format::{FormatOptions, Kind, REASON_MALFORMED};
use crate::exec_process::{Line, kill_group, read_line, relay_stderr};
use config::{Settings, Signal};

/// Registry entry.
pub const DESCRIPTOR: InputDescriptor = InputDescriptor {
    name: "execd",
    summary: "supervises a long-running program (restarted with backoff) and parses its output",
    sample: SAMPLE,
    build,
};

const SAMPLE: &str = r##"[[inputs.execd]]
## The program and its arguments, each its own string.
command = ["/usr/local/bin/plugin", "--flag"]
## Extra environment variables.
# environment = ["KEY=value"]
## "STDIN": a newline on the program's standard input every interval (it gathers then);
## "none": the program prints on its own schedule.
# signal = "none"
## Wait before restarting a program that exited; doubled while it keeps exiting within a
## minute of its start, up to 5 minutes.
# restart_delay = "10s"
## What the program prints: "influx" (line protocol, a line at a time), "prometheus" (text
## exposition, each page ended by an empty line or "# EOF"), "json" (a document per line)
## or "lines" (each line a log record).
# data_format = "influx"
## For "json": the key naming the measurement (default "execd"), keys that become tags, and
## the time's key and format ("unix", "unix_ms", "unix_us", "unix_ns", "rfc3339").
# json_name_key = "name"
# tag_keys = ["host"]
# json_time_key = "time"
# json_time_format = "unix"
"##;

/// Longest wait between restarts.
const MAX_RESTART_DELAY: Duration = Duration::from_secs(300);
/// A run this long resets the restart delay.
const STABLE_RUN: Duration = Duration::from_secs(60);
/// Time a stopping program has to exit once its stdin is closed.
const STOP_GRACE: Duration = Duration::from_secs(5);
/// Events per batch at most.
const BATCH_EVENTS: usize = 1_000;
/// Largest Prometheus page held.
const MAX_PAGE: usize = 16 * 1024 * 1024;

fn build(cfg: &PluginConfig, _cx: &BuildContext) -> Result<Box<dyn Input>, ConfigError> {
    Ok(Box::new(Execd {
        settings: Arc::new(config::parse(cfg)?),
    }))
}

/// The built input.
#[derive(Debug)]
struct Execd {
    settings: Arc<Settings>,
}

/// How one run of the program ended.
enum Ended {
    /// The agent is stopping.
    Shutdown,
    /// The program exited or could not start.
    Exited,
}

#[async_trait]
impl Input for Execd {
    async fn run(self: Box<Self>, mut cx: InputContext) -> Result<(), PluginError> {
        if cx.mode == RunMode::Once {
            return Ok(());
        }
        let settings = self.settings;
        let mut delay = settings.restart_delay;
        loop {
            let started = Instant::now();
            if let Ended::Shutdown = run_once(&settings, &mut cx).await {
                return Ok(());
            }
            if started.elapsed() >= STABLE_RUN {
                delay = settings.restart_delay;
            }
            tracing::info!(input = %cx.id, restart_in = ?delay, "restarting the program");
            tokio::select! {
                () = cx.shutdown.wait() => return Ok(()),
                () = tokio::time::sleep(delay) => {}
            }
            delay = (delay * 2).min(MAX_RESTART_DELAY.max(settings.restart_delay));
        }
    }
}

/// Starts the program and serves it until it exits or the agent stops.
async fn run_once(settings: &Settings, cx: &mut InputContext) -> Ended {
    let program = &settings.program;
    let command: Arc<str> = Arc::from(program.display());
    let mut child = match program.spawn(settings.signal == Signal::Stdin) {
        Ok(c) => c,
        Err(e) => {
            cx.metrics.error("exited");
            tracing::warn!(input = %cx.id, command = %command, error = %e, "cannot start the program");
            return Ended::Exited;
        }
    };
    let pid = child.id();
    tracing::info!(input = %cx.id, command = %command, pid, "program started");
    let mut stdin = child.stdin.take();
    let stderr = child.stderr.take().map(|s| {
        relay_stderr(
            s,
            Arc::clone(&cx.id),
            Arc::clone(&command),
            Arc::clone(&cx.metrics),
        )
    });
    let reader = child.stdout.take().map(|s| {
        tokio::spawn(read_stdout(
            s,
            settings.format.clone(),
            cx.out.clone(),
            Arc::clone(&cx.metrics),
            Arc::clone(&command),
        ))
    });
    let ended = loop {
        tokio::select! {
            tick = cx.ticker.tick() => {
                if !tick {
                    // Closing stdin is the program's cue to exit.
                    drop(stdin.take());
                    if tokio::time::timeout(STOP_GRACE, child.wait()).await.is_err() {
                        tracing::warn!(input = %cx.id, command = %command, "program still running after its stdin closed; killing it");
                    }
                    break Ended::Shutdown;
                }
                if let Some(s) = stdin.as_mut() {
                    let write = async { s.write_all(b"\n").await?; s.flush().await };
                    match tokio::time::timeout(Duration::from_secs(1), write).await {
                        Ok(Ok(())) => {}
                        // Gone or not reading: its exit (if any) is seen below.
                        _ => tracing::debug!(input = %cx.id, "cannot signal the program on stdin"),
                    }
                }
            }
            status = child.wait() => {
                cx.metrics.error("exited");
                match status {
                    Ok(s) => tracing::warn!(input = %cx.id, command = %command, status = %s, "program exited"),
                    Err(e) => tracing::warn!(input = %cx.id, command = %command, error = %e, "cannot wait for the program"),
                }
                break Ended::Exited;
            }
        }
    };
    // Nothing of its group outlives it (a grandchild would hold its output open).
    kill_group(pid);
    let _reaped = child.wait().await;
    for task in [reader, stderr].into_iter().flatten() {
        // Its pipe closed with the group: the rest of its output is read, then it ends.
        let abort = task.abort_handle();
        if tokio::time::timeout(Duration::from_secs(5), task)
            .await
            .is_err()
        {
            abort.abort();
        }
    }
    ended
}

/// Events read and not yet sent.
struct Pending {
    metrics: Vec<Metric>,
    logs: Vec<LogRecord>,
}

/// Reads the program's output until it closes, sending what it parses.
async fn read_stdout(
    stdout: ChildStdout,
    format: FormatOptions,
    out: EventSender,
    metrics: Arc<ComponentMetrics>,
    command: Arc<str>,
) {
    let mut reader = BufReader::new(stdout);
    let mut line = Vec::new();
    let mut page = Vec::new();
    let mut pending = Pending {
        metrics: Vec::new(),
        logs: Vec::new(),
    };
    let mut logged = false;
    let mut take = |text: &[u8], pending: &mut Pending| {
        let parsed = format.parse_output(text, now_ns());
        if parsed.errors > 0 {
            metrics.dropped(REASON_MALFORMED, parsed.errors as u64);
            if !logged {
                // Once per run: a program printing garbage must not flood the log.
                logged = true;
                tracing::warn!(command = %command, first = parsed.first_error.as_deref().unwrap_or(""), "program output did not parse (counted as malformed; logged once per run)");
            }
        }
        metrics.received(parsed.batch.len() as u64, 0);
        match parsed.batch {
            Batch::Metrics(m) => pending.metrics.extend(m),
            Batch::Logs(l) => pending.logs.extend(l),
        }
    };
    loop {
        let read = read_line(&mut reader, &mut line).await;
        match read {
            Ok(Line::Eof) | Err(_) => break,
            Ok(Line::TooLong) => {
                metrics.dropped("line_too_long", 1);
                continue;
            }
            Ok(Line::Complete) => {}
        }
        metrics.received(0, line.len() as u64 + 1);
        if format.kind == Kind::Prometheus {
            if line.trim_ascii().is_empty() || line.as_slice() == b"# EOF" {
                take(&page, &mut pending);
                page.clear();
            } else if page.len() + line.len() < MAX_PAGE {
                page.extend_from_slice(&line);
                page.push(b'\n');
            } else {
                metrics.dropped("page_too_large", 1);
                page.clear();
            }
        } else {
            take(&line, &mut pending);
        }
        let idle = reader.buffer().is_empty();
        let full = pending.metrics.len() + pending.logs.len() >= BATCH_EVENTS;
        if (idle || full) && !flush(&out, &mut pending).await {
            return;
        }
    }
    if !page.is_empty() {
        take(&page, &mut pending);
    }
    flush(&out, &mut pending).await;
}

/// Sends what is pending; false when the pipeline is gone.
async fn flush(out: &EventSender, pending: &mut Pending) -> bool {
    for batch in [
        Batch::Metrics(std::mem::take(&mut pending.metrics)),
        Batch::Logs(std::mem::take(&mut pending.logs)),
    ] {
        if !batch.is_empty() && out.send(batch).await.is_err() {
            return false;
        }
    }
    true
}

/// The sample check listed in `sample_checks.rs`.
#[cfg(test)]
pub(crate) fn check_sample() {
    tests::sample_parses_and_equals_the_defaults();
}
