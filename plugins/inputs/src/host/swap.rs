//! `swap`: `total`, `used`, `free`, `used_percent` from `/proc/meminfo` (a gauge metric) and
//! `in`, `out` in bytes from `/proc/vmstat`'s `pswpin`/`pswpout` pages (a counter metric,
//! same measurement), as Telegraf reports them (4 KiB pages, like gopsutil). Both files are
//! parsed by `procfs` (`Meminfo`, `VmStat`).

use gleaner_api::{FieldValue, Metric, MetricKind};
use procfs::{Meminfo, VmStat};

/// The page size `pswpin`/`pswpout` count in (gopsutil assumes 4096).
const PAGE: u64 = 4096;

/// The gauge metric.
pub(crate) fn collect_space(info: &Meminfo, ts: i64) -> Metric {
    let total = info.swap_total;
    let free = info.swap_free;
    let used = total.saturating_sub(free);
    let pct = if total == 0 {
        0.0
    } else {
        100.0 * used as f64 / total as f64
    };
    Metric::new("swap", ts)
        .with_kind(MetricKind::Gauge)
        .with_field("total", FieldValue::UInt(total))
        .with_field("used", FieldValue::UInt(used))
        .with_field("free", FieldValue::UInt(free))
        .with_field("used_percent", FieldValue::Float(pct))
}

/// The counter metric from `/proc/vmstat`; `None` without `pswpin`.
pub(crate) fn collect_io(vmstat: &VmStat, ts: i64) -> Option<Metric> {
    let pages_in = vmstat_value(vmstat, "pswpin")?;
    let pages_out = vmstat_value(vmstat, "pswpout").unwrap_or(0);
    Some(
        Metric::new("swap", ts)
            .with_kind(MetricKind::Counter)
            .with_field("in", FieldValue::UInt(pages_in.saturating_mul(PAGE)))
            .with_field("out", FieldValue::UInt(pages_out.saturating_mul(PAGE))),
    )
}

/// A counter of `/proc/vmstat` (they are never negative; `procfs` holds them as `i64`).
pub(crate) fn vmstat_value(vmstat: &VmStat, key: &str) -> Option<u64> {
    vmstat.0.get(key).and_then(|v| u64::try_from(*v).ok())
}
