//! Child processes of `inputs.exec` and `inputs.execd`: started in a process group of their
//! own (so a timeout or a stop kills the whole group, grandchildren included), with
//! standard output and error piped; standard error relayed line by line to the agent's log
//! at warn with the plugin id; lines read within a length limit so a program cannot make
//! the agent hold an unbounded line.

use std::sync::Arc;

use gleaner_api::ComponentMetrics;
use tokio::io::{AsyncBufRead, AsyncBufReadExt, BufReader};
use tokio::process::{Child, ChildStderr, Command};

/// Longest line kept (stdout line of execd, stderr line); longer ones are cut off (stderr)
/// or left out and counted (stdout).
pub(crate) const MAX_LINE: usize = 1024 * 1024;

/// What to run: a program, its arguments, extra environment variables.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Program {
    pub(crate) argv: Vec<String>,
    pub(crate) env: Vec<(String, String)>,
}

impl Program {
    /// The command line as configured, for logs.
    pub(crate) fn display(&self) -> String {
        self.argv.join(" ")
    }

    /// Starts it in a new process group; stdin piped when `stdin` (execd's signal), else
    /// `/dev/null`.
    pub(crate) fn spawn(&self, stdin: bool) -> std::io::Result<Child> {
        let (program, args) = self.argv.split_first().ok_or_else(|| {
            std::io::Error::new(std::io::ErrorKind::InvalidInput, "empty command")
        })?;
        let mut cmd = Command::new(program);
        cmd.args(args)
            .envs(self.env.iter().map(|(k, v)| (k, v)))
            .stdin(if stdin {
                std::process::Stdio::piped()
            } else {
                std::process::Stdio::null()
            })
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .process_group(0)
            .kill_on_drop(true);
        cmd.spawn()
    }
}

/// Kills the process group whose leader had `pid` (the child and everything it started that
/// stayed in the group), leader reaped or not. A group already gone is not an error.
pub(crate) fn kill_group(pid: Option<u32>) {
    let Some(pid) = pid
        .and_then(|id| i32::try_from(id).ok())
        .and_then(rustix::process::Pid::from_raw)
    else {
        return;
    };
    if let Err(e) = rustix::process::kill_process_group(pid, rustix::process::Signal::KILL)
        && e != rustix::io::Errno::SRCH
    {
        tracing::warn!(pid = pid.as_raw_nonzero().get(), error = %e, "cannot kill a process group");
    }
}

/// Logs every line of `stderr` at warn with the plugin id, counted as `stderr` errors, until
/// it closes.
pub(crate) fn relay_stderr(
    stderr: ChildStderr,
    input: Arc<str>,
    command: Arc<str>,
    metrics: Arc<ComponentMetrics>,
) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        let mut reader = BufReader::new(stderr);
        let mut line = Vec::new();
        loop {
            match read_line(&mut reader, &mut line).await {
                Ok(Line::Eof) | Err(_) => return,
                Ok(Line::Complete | Line::TooLong) => {
                    metrics.error("stderr");
                    let text = String::from_utf8_lossy(&line);
                    tracing::warn!(input = %input, command = %command, "{}", text.trim_end());
                }
            }
        }
    })
}

/// What [`read_line`] read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Line {
    /// A line (without its `\n`) is in the buffer.
    Complete,
    /// A line longer than [`MAX_LINE`]: its first [`MAX_LINE`] bytes are in the buffer, the
    /// rest was read and discarded.
    TooLong,
    /// The stream ended (a last line without `\n` is returned as `Complete` first).
    Eof,
}

/// Reads one line into `buf` (cleared first), keeping at most [`MAX_LINE`] bytes of it.
pub(crate) async fn read_line<R: AsyncBufRead + Unpin>(
    reader: &mut R,
    buf: &mut Vec<u8>,
) -> std::io::Result<Line> {
    buf.clear();
    let mut too_long = false;
    loop {
        let chunk = reader.fill_buf().await?;
        if chunk.is_empty() {
            return Ok(if buf.is_empty() && !too_long {
                Line::Eof
            } else if too_long {
                Line::TooLong
            } else {
                Line::Complete
            });
        }
        let (take, done) = match memchr::memchr(b'\n', chunk) {
            Some(i) => (i, true),
            None => (chunk.len(), false),
        };
        let room = MAX_LINE.saturating_sub(buf.len());
        if take > room {
            too_long = true;
        }
        buf.extend_from_slice(&chunk[..take.min(room)]);
        reader.consume(if done { take + 1 } else { take });
        if done {
            if buf.last() == Some(&b'\r') {
                buf.pop();
            }
            return Ok(if too_long {
                Line::TooLong
            } else {
                Line::Complete
            });
        }
    }
}
