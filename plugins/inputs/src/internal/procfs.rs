//! Process stats of the agent itself from `/proc/self` (Linux): CPU time and thread count
//! from `stat`, parsed by the `procfs` crate's `Stat` (clock ticks per second from
//! `procfs::ticks_per_second`, `sysconf(_SC_CLK_TCK)` without `unsafe` here), and resident
//! memory from `status` (`VmRSS`, in kB whatever the page size).
//! A file that cannot be read or parsed leaves its fields out; nothing here fails.
//!
//! `VmRSS` is the one line of `status` read by hand: `procfs`'s `Status` turns each of the
//! file's ~55 lines into an owned line, key and value in a `HashMap` (some 160 allocations
//! for one number) and fails whole when one of its 20 required keys is missing. (`stat`'s
//! `rss` column, in pages, is the same count on a live system, but the unchanged fixture of
//! `internal/tests.rs` asserts `VmRSS`.)

use std::fs;

use ::procfs::FromRead;
use ::procfs::process::Stat;

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

/// (CPU seconds, threads) from `/proc/<pid>/stat`, parsed by `procfs`'s `Stat` (which finds
/// the command name by the last `)`, so a name holding spaces and `)` is fine).
pub(super) fn parse_stat(text: &str) -> (Option<f64>, Option<u64>) {
    match Stat::from_read(text.as_bytes()) {
        Ok(s) => {
            let ticks = s.utime.saturating_add(s.stime) as f64;
            let cpu = ticks / ::procfs::ticks_per_second().max(1) as f64;
            (Some(cpu), u64::try_from(s.num_threads).ok())
        }
        Err(_) => (None, None),
    }
}

/// `VmRSS` of `/proc/<pid>/status`, in bytes (the file gives kB).
pub(super) fn parse_vm_rss(text: &str) -> Option<u64> {
    let line = text.lines().find_map(|l| l.strip_prefix("VmRSS:"))?;
    let kb = line.trim().strip_suffix("kB")?.trim().parse::<u64>().ok()?;
    kb.checked_mul(1024)
}
