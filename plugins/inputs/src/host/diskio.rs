//! `diskio`: `/proc/diskstats` (parsed by `procfs`'s `DiskStats`) per block device (tag `name`, filtered by the `devices` /
//! `exclude_devices` globs). Counter fields (u64): `reads`, `writes`, `read_bytes`,
//! `write_bytes` (sectors × 512), `read_time`, `write_time`, `io_time`, `weighted_io_time`
//! (ms), `merged_reads`, `merged_writes`; and `iops_in_progress` in a separate gauge metric
//! of the same measurement and tags (it is instantaneous, not monotonic).

use gleaner_api::{FieldValue, Metric, MetricKind};
use procfs::DiskStats;

use super::root::NameFilter;

/// Two metrics (counters, then the in-flight gauge) per allowed device.
pub(crate) fn collect(stats: &DiskStats, filter: &NameFilter, ts: i64, out: &mut Vec<Metric>) {
    for d in &stats.0 {
        if !filter.allows(&d.name) {
            continue;
        }
        let counters = [
            ("reads", d.reads),
            ("merged_reads", d.merged),
            ("read_bytes", d.sectors_read.saturating_mul(512)),
            ("read_time", d.time_reading),
            ("writes", d.writes),
            ("merged_writes", d.writes_merged),
            ("write_bytes", d.sectors_written.saturating_mul(512)),
            ("write_time", d.time_writing),
            ("io_time", d.time_in_progress),
            ("weighted_io_time", d.weighted_time_in_progress),
        ];
        let mut m = Metric::new("diskio", ts)
            .with_kind(MetricKind::Counter)
            .with_tag("name", d.name.as_str());
        for (field, v) in counters {
            m.fields.push((field.to_owned(), FieldValue::UInt(v)));
        }
        out.push(m);
        out.push(
            Metric::new("diskio", ts)
                .with_kind(MetricKind::Gauge)
                .with_tag("name", d.name.as_str())
                .with_field("iops_in_progress", FieldValue::UInt(d.in_progress)),
        );
    }
}
