//! Journal files made offline, without systemd running, for the journald tests and bench:
//! a seeded export-format stream (systemd's "Journal Export Formats": `NAME=value` lines,
//! entries ended by a blank line) of entries from a few units, each `MESSAGE` carrying a
//! unique `sq=<n>` id, piped into `systemd-journal-remote -o <dir>/<name>.journal -`, which
//! writes real journal files (rotating them as they fill) that `journalctl --directory`
//! reads. Debian package: `systemd-journal-remote` (scripts/test.sh installs it).

use std::io::Write as _;
use std::path::Path;
use std::process::{Command, Stdio};

use super::rng::Rng;

/// The program that turns an export stream into journal files.
pub const JOURNAL_REMOTE: &str = "/lib/systemd/systemd-journal-remote";

/// What [`make_journal`] wrote.
#[derive(Debug, Clone, Copy)]
pub struct Journal {
    /// Entries (ids `first..first + entries`).
    pub entries: u64,
    /// Bytes of export stream.
    pub export_bytes: u64,
}

/// Units, identifiers and pids the entries come from.
const SOURCES: [(&str, &str, u32); 4] = [
    ("kubelet.service", "kubelet", 1234),
    ("containerd.service", "containerd", 987),
    ("kubelet.service", "kubelet", 1234),
    ("sshd.service", "sshd", 555),
];

/// Appends entries `first..first + n` to `out`; entry `i` has realtime `base_us + 10 * i`.
/// As on a node, a source writes in runs (the next entry is another source's one time in
/// five) and mostly at `info`.
pub fn export_stream(out: &mut Vec<u8>, first: u64, n: u64, base_us: u64, rng: &mut Rng) {
    let mut source = *rng.pick(&SOURCES);
    for i in first..first + n {
        if rng.chance(200) {
            source = *rng.pick(&SOURCES);
        }
        let (unit, ident, pid) = source;
        let priority = if rng.chance(900) {
            6
        } else {
            *rng.pick(&[3u8, 4, 5, 7])
        };
        let _w = write!(
            out,
            "__REALTIME_TIMESTAMP={ts}\n__MONOTONIC_TIMESTAMP={mono}\n\
             _BOOT_ID=4f1d9f5c3a2b4e6d8c7b6a5948372615\n_HOSTNAME=bench-node\n\
             _TRANSPORT=stdout\n_SYSTEMD_UNIT={unit}\nSYSLOG_IDENTIFIER={ident}\n_PID={pid}\n\
             PRIORITY={priority}\nMESSAGE=I1206 12:00:{s:02}.{us:06} {pid} server.go:{line}] \
             \"Observed a status update\" sq={i} pod=\"default/web-{pod}\" took={ms}ms\n\n",
            ts = base_us + 10 * i,
            mono = 1_000_000 + 10 * i,
            s = i % 60,
            us = rng.below(1_000_000),
            line = 100 + rng.below(900),
            pod = rng.below(50),
            ms = rng.below(2000),
        );
    }
}

/// Writes entries `first..first + n` (seeded) as journal file(s) `<dir>/<name>.journal`
/// (and the rotated ones beside it), streaming through `systemd-journal-remote`.
///
/// # Panics
/// When `systemd-journal-remote` is missing or fails: the tests need it (install the Debian
/// package `systemd-journal-remote`).
pub fn make_journal(dir: &Path, name: &str, first: u64, n: u64, seed: u64) -> Journal {
    std::fs::create_dir_all(dir).expect("journal dir");
    let mut child = Command::new(JOURNAL_REMOTE)
        .arg("-o")
        .arg(dir.join(format!("{name}.journal")))
        .arg("-")
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| {
            panic!("cannot run {JOURNAL_REMOTE} (Debian package systemd-journal-remote): {e}")
        });
    let mut stdin = child.stdin.take().expect("piped stdin");
    let mut rng = Rng::new(seed);
    // 2026-01-01; ids continue across calls, and so do their times.
    let base_us = 1_767_225_600_000_000;
    let mut buf = Vec::with_capacity(4 << 20);
    let mut bytes = 0u64;
    let mut i = first;
    while i < first + n {
        let k = (first + n - i).min(10_000);
        buf.clear();
        export_stream(&mut buf, i, k, base_us, &mut rng);
        stdin
            .write_all(&buf)
            .expect("write to systemd-journal-remote");
        bytes += buf.len() as u64;
        i += k;
    }
    drop(stdin);
    let out = child.wait_with_output().expect("systemd-journal-remote");
    assert!(
        out.status.success(),
        "systemd-journal-remote failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    Journal {
        entries: n,
        export_bytes: bytes,
    }
}

/// Pids of the children of `pid` (every thread's), from `/proc/<pid>/task/*/children`.
pub fn children(pid: u32) -> Vec<u32> {
    let mut out = Vec::new();
    let Ok(tasks) = std::fs::read_dir(format!("/proc/{pid}/task")) else {
        return out;
    };
    for t in tasks.flatten() {
        if let Ok(list) = std::fs::read_to_string(t.path().join("children")) {
            out.extend(
                list.split_whitespace()
                    .filter_map(|p| p.parse::<u32>().ok()),
            );
        }
    }
    out
}
