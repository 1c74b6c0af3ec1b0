//! `diskio`: `/proc/diskstats` per block device (tag `name`, filtered by the `devices` /
//! `exclude_devices` globs). Counter fields (u64): `reads`, `writes`, `read_bytes`,
//! `write_bytes` (sectors × 512), `read_time`, `write_time`, `io_time`, `weighted_io_time`
//! (ms), `merged_reads`, `merged_writes`; and `iops_in_progress` in a separate gauge metric
//! of the same measurement and tags (it is instantaneous, not monotonic).

use gleaner_api::{FieldValue, Metric, MetricKind};

use super::root::NameFilter;

/// Counter fields ← zero-based column of a diskstats line (after major, minor, name).
const COUNTERS: [(&str, usize, u64); 10] = [
    ("reads", 0, 1),
    ("merged_reads", 1, 1),
    ("read_bytes", 2, 512),
    ("read_time", 3, 1),
    ("writes", 4, 1),
    ("merged_writes", 5, 1),
    ("write_bytes", 6, 512),
    ("write_time", 7, 1),
    ("io_time", 9, 1),
    ("weighted_io_time", 10, 1),
];

/// Two metrics (counters, then the in-flight gauge) per allowed device.
pub(crate) fn collect(text: &str, filter: &NameFilter, ts: i64, out: &mut Vec<Metric>) {
    for line in text.lines() {
        let mut cols = line.split_ascii_whitespace().skip(2);
        let Some(name) = cols.next() else { continue };
        if !filter.allows(name) {
            continue;
        }
        let v: Vec<u64> = cols.map(|c| c.parse().unwrap_or(0)).collect();
        if v.len() < 11 {
            continue;
        }
        let mut m = Metric::new("diskio", ts)
            .with_kind(MetricKind::Counter)
            .with_tag("name", name);
        for (field, col, mul) in COUNTERS {
            m.fields.push((
                field.to_owned(),
                FieldValue::UInt(v[col].saturating_mul(mul)),
            ));
        }
        out.push(m);
        out.push(
            Metric::new("diskio", ts)
                .with_kind(MetricKind::Gauge)
                .with_tag("name", name)
                .with_field("iops_in_progress", FieldValue::UInt(v[8])),
        );
    }
}
