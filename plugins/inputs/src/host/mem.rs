//! `mem`: `/proc/meminfo` as Telegraf's fields (bytes, gauges). `used` is `total -
//! available`, as Telegraf ≥ 1.36 computes it (gopsutil v4.25.8); on a kernel without
//! `MemAvailable`, available is `free + buffers + cached`.

use gleaner_api::{FieldValue, Metric, MetricKind};

/// `/proc/meminfo` as `(key, value)`, values in bytes where the line says `kB`.
pub(crate) fn parse_meminfo(text: &str) -> Vec<(&str, u64)> {
    let mut out = Vec::with_capacity(64);
    for line in text.lines() {
        let Some((key, rest)) = line.split_once(':') else {
            continue;
        };
        let mut cols = rest.split_ascii_whitespace();
        let Some(Ok(v)) = cols.next().map(str::parse::<u64>) else {
            continue;
        };
        let v = if cols.next() == Some("kB") {
            v.saturating_mul(1024)
        } else {
            v
        };
        out.push((key.trim(), v));
    }
    out
}

/// The value of `key`.
pub(crate) fn get(info: &[(&str, u64)], key: &str) -> Option<u64> {
    info.iter().find(|(k, _)| *k == key).map(|(_, v)| *v)
}

/// Telegraf field name ← meminfo key, after the computed fields.
const PLAIN: &[(&str, &str)] = &[
    ("buffered", "Buffers"),
    ("cached", "Cached"),
    ("active", "Active"),
    ("inactive", "Inactive"),
    ("slab", "Slab"),
    ("sreclaimable", "SReclaimable"),
    ("sunreclaim", "SUnreclaim"),
    ("shared", "Shmem"),
    ("dirty", "Dirty"),
    ("write_back", "Writeback"),
    ("write_back_tmp", "WritebackTmp"),
    ("mapped", "Mapped"),
    ("page_tables", "PageTables"),
    ("commit_limit", "CommitLimit"),
    ("committed_as", "Committed_AS"),
    ("huge_pages_total", "HugePages_Total"),
    ("huge_pages_free", "HugePages_Free"),
    ("huge_page_size", "Hugepagesize"),
    ("swap_cached", "SwapCached"),
    ("swap_total", "SwapTotal"),
    ("swap_free", "SwapFree"),
    ("vmalloc_total", "VmallocTotal"),
    ("vmalloc_used", "VmallocUsed"),
    ("vmalloc_chunk", "VmallocChunk"),
];

/// The `mem` metric; `None` without `MemTotal`.
pub(crate) fn collect(info: &[(&str, u64)], ts: i64) -> Option<Metric> {
    let total = get(info, "MemTotal")?;
    let free = get(info, "MemFree").unwrap_or(0);
    let available = get(info, "MemAvailable").unwrap_or_else(|| {
        free + get(info, "Buffers").unwrap_or(0) + get(info, "Cached").unwrap_or(0)
    });
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
    for (field, key) in PLAIN {
        if let Some(v) = get(info, key) {
            m.fields.push(((*field).to_owned(), FieldValue::UInt(v)));
        }
    }
    Some(m)
}
