//! `kernel`: `boot_time` (`btime`), `context_switches` (`ctxt`), `processes_forked`
//! (`processes`) from `/proc/stat` as `procfs`'s `KernelStats` parses it, and `interrupts`,
//! the first column of its `intr` line, which `KernelStats` does not keep (so it is read from
//! the same text here); `disk_pages_in`/`disk_pages_out` (`pgpgin`/`pgpgout`) from
//! `/proc/vmstat` (`procfs`'s `VmStat`) when readable; `entropy_avail` when
//! `/proc/sys/kernel/random/entropy_avail` (one number) is readable. One counter metric of
//! unsigned integers (Telegraf also reports them all as counters).

use gleaner_api::{FieldValue, Metric, MetricKind};
use procfs::{KernelStats, VmStat};

use super::swap::vmstat_value;

/// The `kernel` metric from the parsed `/proc/stat` and its text.
pub(crate) fn collect(
    stats: &KernelStats,
    stat: &str,
    vmstat: Option<&VmStat>,
    entropy: Option<&str>,
    ts: i64,
) -> Metric {
    let mut m = Metric::new("kernel", ts).with_kind(MetricKind::Counter);
    let intr = stat
        .lines()
        .find_map(|l| l.strip_prefix("intr "))
        .and_then(|rest| rest.split_ascii_whitespace().next()?.parse::<u64>().ok());
    if let Some(v) = intr {
        m.fields
            .push(("interrupts".to_owned(), FieldValue::UInt(v)));
    }
    for (field, v) in [
        ("context_switches", stats.ctxt),
        ("boot_time", stats.btime),
        ("processes_forked", stats.processes),
    ] {
        m.fields.push((field.to_owned(), FieldValue::UInt(v)));
    }
    if let Some(vm) = vmstat {
        for (field, key) in [("disk_pages_in", "pgpgin"), ("disk_pages_out", "pgpgout")] {
            if let Some(v) = vmstat_value(vm, key) {
                m.fields.push((field.to_owned(), FieldValue::UInt(v)));
            }
        }
    }
    if let Some(Ok(v)) = entropy.map(|e| e.trim().parse::<u64>()) {
        m.fields
            .push(("entropy_avail".to_owned(), FieldValue::UInt(v)));
    }
    m
}
