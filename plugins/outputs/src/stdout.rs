//! `outputs.stdout`: prints every batch to standard output, metrics as line protocol (or
//! JSON) and logs as JSON lines, using the shared encoders of [`crate::json_lines`]. Meant for
//! debugging, `--test`-like pipelines, and containers whose stdout is collected elsewhere.
//!
//! Errors: a broken pipe is permanent (see `write_error`); any other write error is
//! retryable.

#[cfg(test)]
mod tests;

use std::io;
use std::sync::Arc;

use async_trait::async_trait;
use gleaner_api::{
    Accepts, Batch, BuildContext, ComponentMetrics, ConfigError, EncodeError, EncodeReport, Output,
    OutputDescriptor, OutputError, Payload, PluginConfig, SendReport,
};
use serde::Deserialize;
use tokio::io::{AsyncWrite, AsyncWriteExt};

use crate::json_lines::{MetricFormat, encode_batch};

/// Registry entry.
pub const DESCRIPTOR: OutputDescriptor = OutputDescriptor {
    name: "stdout",
    summary: "Print metrics (line protocol or JSON) and logs (JSON lines) to standard output",
    sample: SAMPLE,
    accepts: Accepts::BOTH,
    supports: Accepts::BOTH,
    build,
};

const SAMPLE: &str = r#"[[outputs.stdout]]
## Format of metrics: "influx" (line protocol) or "json" (one JSON object per line).
## Logs are always JSON lines.
# format = "influx"
"#;

/// The `[[outputs.stdout]]` table.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields, default)]
struct StdoutConfig {
    /// Format of metrics: "influx" (line protocol) or "json". Logs are always JSON lines.
    format: MetricFormat,
}

fn build(cfg: &PluginConfig, cx: &BuildContext) -> Result<Box<dyn Output>, ConfigError> {
    let config: StdoutConfig = cfg.parse()?;
    Ok(Box::new(StdoutOutput::new(
        config.format,
        Arc::clone(&cx.metrics),
        tokio::io::stdout(),
    )))
}

/// Writes payloads to `W` (the process's stdout outside tests).
struct StdoutOutput<W> {
    format: MetricFormat,
    metrics: Arc<ComponentMetrics>,
    out: W,
}

impl<W> StdoutOutput<W> {
    fn new(format: MetricFormat, metrics: Arc<ComponentMetrics>, out: W) -> Self {
        StdoutOutput {
            format,
            metrics,
            out,
        }
    }
}

#[async_trait]
impl<W: AsyncWrite + Unpin + Send> Output for StdoutOutput<W> {
    fn encode(&self, batch: &Batch, buf: &mut Vec<u8>) -> Result<EncodeReport, EncodeError> {
        let skipped = encode_batch(batch, self.format, buf).record(&self.metrics);
        Ok(EncodeReport { skipped })
    }

    async fn send(&mut self, payload: Payload) -> Result<SendReport, OutputError> {
        self.out
            .write_all(&payload.bytes)
            .await
            .map_err(|e| write_error(&e))?;
        Ok(SendReport::ALL_ACCEPTED)
    }

    async fn flush(&mut self) -> Result<(), OutputError> {
        self.out.flush().await.map_err(|e| write_error(&e))
    }
}

/// Classifies a stdout write error.
///
/// A broken pipe (EPIPE; Rust ignores SIGPIPE, so the write fails instead of killing us)
/// means the reader of our stdout has exited: it never comes back for this process, so a
/// retry could only wait forever and hold the output's buffer full behind it. It is
/// permanent: the payload is dropped and counted. Anything else (a full disk behind a
/// redirect, EAGAIN on a non-blocking pipe) may clear up, so it is retryable.
fn write_error(e: &io::Error) -> OutputError {
    let message = format!("cannot write to stdout: {e}");
    if e.kind() == io::ErrorKind::BrokenPipe {
        OutputError::permanent(message)
    } else {
        OutputError::retryable(message)
    }
}

/// This plugin's sample check (run for every registered plugin from `src/sample_checks.rs`):
/// each option the sample shows at its default is the real default.
#[cfg(test)]
pub(crate) fn check_sample() {
    gleaner_api::test_util::sample::assert_sample_debug::<StdoutConfig>(
        "outputs.stdout.0",
        SAMPLE,
        &[],
        &[],
    );
    gleaner_api::test_util::sample::assert_default::<StdoutConfig>("outputs.stdout.0");
}
