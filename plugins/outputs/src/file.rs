//! `outputs.file`: appends every batch to a file (metrics as line protocol, logs as JSON
//! lines, from [`crate::json_lines`]), with size-based rotation and an optional fsync on
//! flush.
//!
//! This module owns the config, its validation and the async [`Output`] face; the blocking
//! file work (open, append, rotate, fsync) lives in `file/writer.rs` and runs on tokio's
//! blocking pool, one `spawn_blocking` per send or flush. The writer is moved into that
//! task and back; if the task is lost (the send was cancelled, or it panicked) the next call
//! starts a fresh writer, which simply reopens the file.
//!
//! Rotation by others (logrotate moving or deleting the file) is noticed at the first send
//! after each flush, see `file/writer.rs`.

mod writer;

#[cfg(test)]
mod tests;

use std::path::PathBuf;
use std::sync::Arc;

use async_trait::async_trait;
use gleaner_api::{
    Accepts, Batch, BuildContext, ByteSize, ComponentMetrics, ConfigError, EncodeError,
    EncodeReport, Output, OutputDescriptor, OutputError, Payload, PluginConfig, SendReport,
};
use serde::Deserialize;

use crate::json_lines::{MetricFormat, encode_batch};
use writer::{Settings, WriteFileError, Writer};

/// Registry entry.
pub const DESCRIPTOR: OutputDescriptor = OutputDescriptor {
    name: "file",
    summary: "Append metrics (line protocol) and logs (JSON lines) to a file, with rotation",
    sample: SAMPLE,
    accepts: Accepts::BOTH,
    supports: Accepts::BOTH,
    build,
};

const SAMPLE: &str = r#"[[outputs.file]]
## File to append to (required); its directory must exist.
path = "/var/lib/gleaner/out.log"
## Rotate before a write would make the file larger than this; 0 disables rotation.
## A payload is never split across files.
# rotate_max_bytes = "64MiB"
## Rotated files to keep: path.1 (newest) ... path.N (oldest); older ones are deleted.
# rotate_max_files = 5
## On flush, fsync the file (and its directory after a rotation) so that what was
## written survives a crash of the machine.
# fsync = false
"#;

/// Most rotated files we keep (each rotation renames them all).
const MAX_ROTATE_FILES: u32 = 1000;

/// The `[[outputs.file]]` table.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct FileConfig {
    /// File to append to; its directory must exist.
    path: PathBuf,
    /// Rotate before a write would make the file larger than this; 0 disables rotation.
    #[serde(default = "default_rotate_max_bytes")]
    rotate_max_bytes: ByteSize,
    /// Rotated files to keep (`path.1` newest ... `path.N` oldest).
    #[serde(default = "default_rotate_max_files")]
    rotate_max_files: u32,
    /// On flush, fsync the file.
    #[serde(default)]
    fsync: bool,
}

const fn default_rotate_max_bytes() -> ByteSize {
    ByteSize::mib(64)
}

const fn default_rotate_max_files() -> u32 {
    5
}

impl FileConfig {
    /// Checks what serde cannot; no I/O.
    fn validate(self, cfg: &PluginConfig) -> Result<Settings, ConfigError> {
        if self.path.as_os_str().is_empty() {
            return Err(cfg.error_at("path", "path must not be empty"));
        }
        if self.path.file_name().is_none() || self.path.as_os_str().to_string_lossy().ends_with('/')
        {
            return Err(cfg
                .error_at(
                    "path",
                    format!("path {} does not name a file", self.path.display()),
                )
                .with_hint("give a file name, as in \"/var/lib/gleaner/out.log\""));
        }
        if self.rotate_max_files == 0 || self.rotate_max_files > MAX_ROTATE_FILES {
            return Err(cfg
                .error_at(
                    "rotate_max_files",
                    format!("rotate_max_files must be between 1 and {MAX_ROTATE_FILES}"),
                )
                .with_hint("to disable rotation, set rotate_max_bytes = 0"));
        }
        Ok(Settings {
            path: self.path,
            max_bytes: self.rotate_max_bytes.get(),
            max_files: self.rotate_max_files,
            fsync: self.fsync,
        })
    }
}

fn build(cfg: &PluginConfig, cx: &BuildContext) -> Result<Box<dyn Output>, ConfigError> {
    let settings = cfg.parse::<FileConfig>()?.validate(cfg)?;
    Ok(Box::new(FileOutput {
        settings: Arc::new(settings),
        writer: None,
        metrics: Arc::clone(&cx.metrics),
    }))
}

/// The output: settings, and the writer when it is not out on the blocking pool.
struct FileOutput {
    settings: Arc<Settings>,
    /// `None` before the first send, and after a blocking task was lost.
    writer: Option<Writer>,
    metrics: Arc<ComponentMetrics>,
}

impl FileOutput {
    /// Runs `f` on the writer on tokio's blocking pool and takes the writer back.
    async fn blocking<F>(&mut self, f: F) -> Result<(), OutputError>
    where
        F: FnOnce(&mut Writer) -> Result<(), WriteFileError> + Send + 'static,
    {
        let mut writer = self
            .writer
            .take()
            .unwrap_or_else(|| Writer::new(Arc::clone(&self.settings)));
        let task = tokio::task::spawn_blocking(move || {
            let result = f(&mut writer);
            (writer, result)
        });
        match task.await {
            Ok((writer, result)) => {
                self.writer = Some(writer);
                result.map_err(|e| OutputError::retryable(e.to_string()))
            }
            Err(e) => Err(OutputError::retryable(format!(
                "file output task for {} failed: {e}",
                self.settings.path.display()
            ))),
        }
    }
}

#[async_trait]
impl Output for FileOutput {
    fn encode(&self, batch: &Batch, buf: &mut Vec<u8>) -> Result<EncodeReport, EncodeError> {
        let skipped = encode_batch(batch, MetricFormat::Influx, buf).record(&self.metrics);
        Ok(EncodeReport { skipped })
    }

    async fn send(&mut self, payload: Payload) -> Result<SendReport, OutputError> {
        let bytes = payload.bytes;
        self.blocking(move |w| w.write(&bytes)).await?;
        Ok(SendReport::ALL_ACCEPTED)
    }

    async fn flush(&mut self) -> Result<(), OutputError> {
        self.blocking(Writer::flush).await
    }
}

/// This plugin's sample check (run for every registered plugin from `src/sample_checks.rs`):
/// each option the sample shows at its default is the real default.
#[cfg(test)]
pub(crate) fn check_sample() {
    gleaner_api::test_util::sample::assert_sample_debug::<FileConfig>(
        "outputs.file.0",
        SAMPLE,
        &[],
        &[],
    );
}
