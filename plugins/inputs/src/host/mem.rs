//! `mem`: `/proc/meminfo` (parsed by `procfs`'s `Meminfo`, values in bytes) as Telegraf's
//! fields (bytes, gauges). `used` is `total - available`, as Telegraf ≥ 1.36 computes it
//! (gopsutil v4.25.8); on a kernel without `MemAvailable`, available is `free + buffers +
//! cached`. `procfs` rejects a file without one of the lines every kernel since 2.6 writes
//! (`MemTotal`, `SwapTotal`, `VmallocChunk`, ...): then `mem` and `swap` emit nothing.

use gleaner_api::{FieldValue, Metric, MetricKind};
use procfs::Meminfo;

/// Telegraf field name and meminfo value, after the computed fields.
fn plain(i: &Meminfo) -> [(&'static str, Option<u64>); 24] {
    [
        ("buffered", Some(i.buffers)),
        ("cached", Some(i.cached)),
        ("active", Some(i.active)),
        ("inactive", Some(i.inactive)),
        ("slab", Some(i.slab)),
        ("sreclaimable", i.s_reclaimable),
        ("sunreclaim", i.s_unreclaim),
        ("shared", i.shmem),
        ("dirty", Some(i.dirty)),
        ("write_back", Some(i.writeback)),
        ("write_back_tmp", i.writeback_tmp),
        ("mapped", Some(i.mapped)),
        ("page_tables", i.page_tables),
        ("commit_limit", i.commit_limit),
        ("committed_as", Some(i.committed_as)),
        ("huge_pages_total", i.hugepages_total),
        ("huge_pages_free", i.hugepages_free),
        ("huge_page_size", i.hugepagesize),
        ("swap_cached", Some(i.swap_cached)),
        ("swap_total", Some(i.swap_total)),
        ("swap_free", Some(i.swap_free)),
        ("vmalloc_total", Some(i.vmalloc_total)),
        ("vmalloc_used", Some(i.vmalloc_used)),
        ("vmalloc_chunk", Some(i.vmalloc_chunk)),
    ]
}

/// The `mem` metric.
pub(crate) fn collect(info: &Meminfo, ts: i64) -> Metric {
    let total = info.mem_total;
    let free = info.mem_free;
    let available = info
        .mem_available
        .unwrap_or_else(|| free + info.buffers + info.cached);
    let used = total.saturating_sub(available);
    let pct = |x: u64| {
        if total == 0 {
            0.0
        } else {
            100.0 * x as f64 / total as f64
        }
    };
    let mut m = Metric::new("mem", ts)
        .with_kind(MetricKind::Gauge)
        .with_field("total", FieldValue::UInt(total))
        .with_field("available", FieldValue::UInt(available))
        .with_field("used", FieldValue::UInt(used))
        .with_field("free", FieldValue::UInt(free))
        .with_field("used_percent", FieldValue::Float(pct(used)))
        .with_field("available_percent", FieldValue::Float(pct(available)));
    for (field, v) in plain(info) {
        if let Some(v) = v {
            m.fields.push((field.to_owned(), FieldValue::UInt(v)));
        }
    }
    m
}
