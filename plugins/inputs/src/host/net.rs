//! `net`: `/proc/net/dev` per interface (tag `interface`, filtered by the `interfaces` /
//! `exclude_interfaces` globs), counter fields (u64) `bytes_recv`, `packets_recv`,
//! `err_in`, `drop_in`, `bytes_sent`, `packets_sent`, `err_out`, `drop_out`. Read under the
//! host root, these are the counters of the network namespace that `/proc` belongs to: the
//! host's only when the agent's pod uses `hostNetwork`.

use gleaner_api::{FieldValue, Metric, MetricKind};

use super::root::NameFilter;

/// Field ← column of the numbers after `iface:`.
const FIELDS: [(&str, usize); 8] = [
    ("bytes_recv", 0),
    ("packets_recv", 1),
    ("err_in", 2),
    ("drop_in", 3),
    ("bytes_sent", 8),
    ("packets_sent", 9),
    ("err_out", 10),
    ("drop_out", 11),
];

/// One counter metric per allowed interface.
pub(crate) fn collect(text: &str, filter: &NameFilter, ts: i64, out: &mut Vec<Metric>) {
    for line in text.lines() {
        let Some((iface, rest)) = line.split_once(':') else {
            continue;
        };
        let iface = iface.trim();
        if iface.contains('|') || !filter.allows(iface) {
            continue;
        }
        let v: Vec<u64> = rest
            .split_ascii_whitespace()
            .map(|c| c.parse().unwrap_or(0))
            .collect();
        if v.len() < 16 {
            continue;
        }
        let mut m = Metric::new("net", ts)
            .with_kind(MetricKind::Counter)
            .with_tag("interface", iface);
        for (field, col) in FIELDS {
            m.fields.push((field.to_owned(), FieldValue::UInt(v[col])));
        }
        out.push(m);
    }
}
