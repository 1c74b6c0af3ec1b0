//! The agent's cost, read from `/proc/<pid>`: CPU seconds (utime + stime of every thread,
//! from `stat`, at USER_HZ = 100 as on every Linux ABI we run on), peak and current resident
//! memory (`VmHWM`, `VmRSS` from `status`).

/// One reading.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct ProcStats {
    /// User + system CPU seconds so far.
    pub cpu_s: f64,
    /// Peak resident set, KiB.
    pub hwm_kib: u64,
    /// Current resident set, KiB.
    pub rss_kib: u64,
}

const TICKS_PER_SEC: f64 = 100.0;

/// Reads `pid`'s figures; `None` when the process is gone or a file is unreadable.
pub fn read(pid: u32) -> Option<ProcStats> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // Fields after the command (which may hold spaces) start at field 3 (state).
    let rest = stat.rsplit_once(") ")?.1;
    let mut fields = rest.split(' ');
    let utime: f64 = fields.nth(11)?.parse().ok()?;
    let stime: f64 = fields.next()?.parse().ok()?;
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let kib = |key: &str| {
        status
            .lines()
            .find_map(|l| l.strip_prefix(key))
            .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
    };
    Some(ProcStats {
        cpu_s: (utime + stime) / TICKS_PER_SEC,
        hwm_kib: kib("VmHWM:")?,
        rss_kib: kib("VmRSS:")?,
    })
}

#[cfg(test)]
mod tests {
    #[test]
    fn reads_this_process() {
        let s = super::read(std::process::id()).expect("own /proc");
        assert!(s.hwm_kib >= s.rss_kib && s.rss_kib > 0);
    }
}
