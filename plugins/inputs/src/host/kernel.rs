//! `kernel`: `boot_time` (`btime`), `context_switches` (`ctxt`), `interrupts` (the first
//! column of `intr`), `processes_forked` (`processes`) from `/proc/stat`, and
//! `disk_pages_in`/`disk_pages_out` (`pgpgin`/`pgpgout`) from `/proc/vmstat` when readable;
//! `entropy_avail` when `/proc/sys/kernel/random/entropy_avail` is readable. One counter
//! metric of unsigned integers (Telegraf also reports them all as counters).

use gleaner_api::{FieldValue, Metric, MetricKind};

use super::swap::vmstat_value;

/// The `kernel` metric; `None` when `/proc/stat` has none of its lines.
pub(crate) fn collect(
    stat: &str,
    vmstat: Option<&str>,
    entropy: Option<&str>,
    ts: i64,
) -> Option<Metric> {
    let mut m = Metric::new("kernel", ts).with_kind(MetricKind::Counter);
    for line in stat.lines() {
        let Some((key, rest)) = line.split_once(' ') else {
            continue;
        };
        let field = match key {
            "btime" => "boot_time",
            "ctxt" => "context_switches",
            "intr" => "interrupts",
            "processes" => "processes_forked",
            _ => continue,
        };
        if let Some(Ok(v)) = rest.split_ascii_whitespace().next().map(str::parse::<u64>) {
            m.fields.push((field.to_owned(), FieldValue::UInt(v)));
        }
    }
    if m.fields.is_empty() {
        return None;
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
    Some(m)
}
