//! The journalctl child: its arguments (pure, tested), starting it with its output piped,
//! a thread that logs what it writes on stderr (keeping the last line for the restart
//! decision), and the one-shot lookup of the journal's newest cursor (`since_now`).
//!
//! Arguments, and why:
//! - `-o export`: the only lossless format (binary values, every field).
//! - `--merge`: with `--follow`, journalctl 250 and later otherwise shows the newest boot
//!   only, and seeks a cursor of an older boot within that boot: after a reboot the unread
//!   end of the previous boot was skipped (checked here against journalctl 252). With
//!   `--merge` every journal file under the directories is read, so a container needs no
//!   `/etc/machine-id` of the host either.
//! - `--cursor=<c>` rather than `--after-cursor`: when the entry of `c` is gone (vacuumed),
//!   `--after-cursor` skips the oldest entry that remains; with `--cursor` the reader drops
//!   the first entry only when it is the cursor's own, and counts a gap otherwise.
//! - `--no-tail` when starting from the head (follow mode otherwise starts 10 entries
//!   before the end); `--lines=0` never (`since_now` saves the newest cursor instead, so
//!   that "from now" holds across a restart before the first acknowledgement).
//! - `--output-fields`: only the fields the input reads (journalctl always adds `__CURSOR`,
//!   the timestamps and `_BOOT_ID`), less to write and to parse.
//!
//! The stdout pipe is widened from Linux's 64 KiB to [`PIPE_SIZE`]: with the default, every
//! read returned at most 64 KiB (about 190 entries), so each became a batch of its own and
//! journalctl, the reader thread and the pipeline woke each other for every one of them;
//! the wakeups cost about a fifth of the agent's CPU in the `journald` bench.

use std::ffi::OsString;
use std::io::BufRead as _;
use std::path::Path;
use std::process::{Child, ChildStdout, Command, Stdio};
use std::sync::{Arc, Mutex, PoisonError};

use super::config::Settings;

/// Where the child starts reading.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Start {
    /// The oldest entry.
    Head,
    /// The entry of this cursor (dropped by the reader when it is that entry) or the first
    /// after where it was.
    Cursor(String),
}

/// The fields journalctl is asked for.
pub(crate) fn output_fields(s: &Settings) -> String {
    let mut f: Vec<&str> = vec![
        "MESSAGE",
        "PRIORITY",
        "_SYSTEMD_UNIT",
        "SYSLOG_IDENTIFIER",
        "_PID",
        "_HOSTNAME",
        "_TRANSPORT",
    ];
    f.extend(s.fields.iter().map(String::as_str));
    f.extend(s.exclude.fields());
    f.sort_unstable();
    f.dedup();
    f.join(",")
}

/// journalctl's arguments.
pub(crate) fn args(s: &Settings, start: &Start, follow: bool) -> Vec<OsString> {
    let mut a: Vec<OsString> = vec!["-o".into(), "export".into(), "--merge".into()];
    a.push("--no-pager".into());
    if follow {
        a.push("--follow".into());
    }
    if let Some(dir) = &s.directory {
        let mut d = OsString::from("--directory=");
        d.push(dir);
        a.push(d);
    }
    match start {
        Start::Head => a.push("--no-tail".into()),
        Start::Cursor(c) => {
            a.push(format!("--cursor={c}").into());
            a.push("--no-tail".into());
        }
    }
    a.push(format!("--output-fields={}", output_fields(s)).into());
    a.extend(s.include.args().into_iter().map(OsString::from));
    a
}

/// The last line the child wrote on stderr, shared with its logging thread.
pub(crate) type LastError = Arc<Mutex<String>>;

/// Capacity asked for journalctl's stdout pipe: 1 MiB, the default `fs.pipe-max-size` that
/// an unprivileged process may ask for (kernel memory, charged to the agent's cgroup).
pub(crate) const PIPE_SIZE: usize = 1 << 20;

/// Widens the pipe (see the module doc); where the kernel refuses, it keeps its size.
pub(crate) fn widen_pipe(out: &ChildStdout) -> Option<usize> {
    match rustix::pipe::fcntl_setpipe_size(out, PIPE_SIZE) {
        Ok(n) => Some(n),
        Err(e) => {
            tracing::debug!(error = %e, "journalctl's pipe keeps its size");
            None
        }
    }
}

/// Starts journalctl with stdout and stderr piped (stdout widened); a thread logs its
/// stderr.
pub(crate) fn spawn(
    program: &Path,
    args: &[OsString],
    input: &str,
) -> std::io::Result<(Child, LastError)> {
    let mut child = Command::new(program)
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .env("SYSTEMD_COLORS", "0")
        .spawn()?;
    if let Some(out) = &child.stdout {
        widen_pipe(out);
    }
    let last: LastError = Arc::default();
    if let Some(err) = child.stderr.take() {
        let last = Arc::clone(&last);
        let input = input.to_owned();
        let spawned = std::thread::Builder::new()
            .name("gleaner-journalctl-err".to_owned())
            .spawn(move || {
                for line in std::io::BufReader::new(err).lines() {
                    let Ok(line) = line else { break };
                    let line: String = line.chars().take(1000).collect();
                    tracing::warn!(input = %input, message = %line, "journalctl");
                    *last.lock().unwrap_or_else(PoisonError::into_inner) = line;
                }
            });
        if let Err(e) = spawned {
            tracing::warn!(error = %e, "cannot start the thread reading journalctl's errors");
        }
    }
    Ok((child, last))
}

/// The newest entry's cursor among what the input would read (`since_now`): `Ok(None)` for
/// an empty journal.
pub(crate) fn newest_cursor(s: &Settings) -> std::io::Result<Option<String>> {
    let mut a: Vec<OsString> = vec![
        "-o".into(),
        "export".into(),
        "--merge".into(),
        "--no-pager".into(),
        "--lines=1".into(),
        "--output-fields=PRIORITY".into(),
    ];
    if let Some(dir) = &s.directory {
        let mut d = OsString::from("--directory=");
        d.push(dir);
        a.push(d);
    }
    a.extend(s.include.args().into_iter().map(OsString::from));
    let out = Command::new(&s.journalctl)
        .args(&a)
        .stdin(Stdio::null())
        .stderr(Stdio::null())
        .output()?;
    Ok(out
        .stdout
        .split(|&b| b == b'\n')
        .filter_map(|l| l.strip_prefix(b"__CURSOR="))
        .next_back()
        .and_then(|c| std::str::from_utf8(c).ok())
        .map(str::to_owned))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::journald::config;
    use gleaner_api::{BuildContext, PluginConfig};

    fn settings(toml: &str) -> Settings {
        let cfg = PluginConfig::from_toml_str("inputs.journald.0", toml).unwrap();
        let mut bcx = BuildContext::for_test("inputs.journald.0");
        bcx.data_dir = Some("/tmp/x".into());
        config::parse(&cfg, &bcx).unwrap()
    }

    fn strs(a: &[OsString]) -> Vec<String> {
        a.iter().map(|s| s.to_string_lossy().into_owned()).collect()
    }

    #[test]
    fn arguments_follow_from_the_options() {
        let s = settings(
            r#"journal_directory = "/host/var/log/journal"
units = ["kubelet", "containerd.service"]
exclude_matches = ["PRIORITY=7"]
fields = ["_COMM"]"#,
        );
        let a = strs(&args(&s, &Start::Cursor("s=1;i=2".into()), true));
        assert_eq!(
            a,
            vec![
                "-o",
                "export",
                "--merge",
                "--no-pager",
                "--follow",
                "--directory=/host/var/log/journal",
                "--cursor=s=1;i=2",
                "--no-tail",
                "--output-fields=MESSAGE,PRIORITY,SYSLOG_IDENTIFIER,_COMM,_HOSTNAME,_PID,_SYSTEMD_UNIT,_TRANSPORT",
                "_SYSTEMD_UNIT=kubelet.service",
                "_SYSTEMD_UNIT=containerd.service",
            ]
        );
        let a = strs(&args(&settings(""), &Start::Head, false));
        assert_eq!(
            a[..5],
            ["-o", "export", "--merge", "--no-pager", "--no-tail"]
        );
    }
}
