//! Process stats of the agent itself from `/proc/self` (Linux): resident memory from
//! `status` (`VmRSS`, in kB whatever the page size), CPU time and thread count from `stat`.
//! A file that cannot be read or parsed leaves its fields out; nothing here fails.

use std::fs;

/// Clock ticks per second of `utime`/`stime` in `/proc/<pid>/stat` (`USER_HZ`). It is 100 on
/// every Linux architecture we build for, whatever the kernel's `CONFIG_HZ`; reading it with
/// `sysconf(_SC_CLK_TCK)` would need `libc` and `unsafe`, which the workspace forbids.
const CLK_TCK: f64 = 100.0;

/// What could be read about the process.
#[derive(Debug, Clone, Default, PartialEq)]
pub(super) struct ProcessStats {
    /// Resident set size, bytes.
    pub(super) rss_bytes: Option<u64>,
    /// User plus system CPU time, seconds.
    pub(super) cpu_seconds: Option<f64>,
    /// Threads of the process.
    pub(super) num_threads: Option<u64>,
}

/// Reads `/proc/self/stat` and `/proc/self/status`; on other systems every field is `None`.
pub(super) fn read_self() -> ProcessStats {
    let stat = fs::read_to_string("/proc/self/stat").ok();
    let status = fs::read_to_string("/proc/self/status").ok();
    parse(stat.as_deref(), status.as_deref())
}

/// Combines the two files' contents (either may be missing).
pub(super) fn parse(stat: Option<&str>, status: Option<&str>) -> ProcessStats {
    let (cpu_seconds, num_threads) = stat.map(parse_stat).unwrap_or_default();
    ProcessStats {
        rss_bytes: status.and_then(parse_vm_rss),
        cpu_seconds,
        num_threads,
    }
}

/// (CPU seconds, threads) from `/proc/<pid>/stat`.
///
/// The second field, the command name in parentheses, may itself hold spaces and `)`, so the
/// fields are counted from the last `)`: the next one is field 3 (`state`), which makes
/// `utime` field 14, `stime` 15 and `num_threads` 20 (proc(5)).
pub(super) fn parse_stat(text: &str) -> (Option<f64>, Option<u64>) {
    let Some((_, rest)) = text.rsplit_once(')') else {
        return (None, None);
    };
    let fields: Vec<&str> = rest.split_ascii_whitespace().collect();
    let field = |n: usize| fields.get(n - 3).and_then(|f| f.parse::<u64>().ok());
    let cpu = match (field(14), field(15)) {
        (Some(utime), Some(stime)) => Some(utime.saturating_add(stime) as f64 / CLK_TCK),
        _ => None,
    };
    (cpu, field(20))
}

/// `VmRSS` of `/proc/<pid>/status`, in bytes (the file gives kB).
pub(super) fn parse_vm_rss(text: &str) -> Option<u64> {
    let line = text.lines().find_map(|l| l.strip_prefix("VmRSS:"))?;
    let kb = line.trim().strip_suffix("kB")?.trim().parse::<u64>().ok()?;
    kb.checked_mul(1024)
}
