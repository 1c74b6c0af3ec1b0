//! `net`: `/proc/net/dev` (parsed by `procfs`'s `InterfaceDeviceStatus`) per interface (tag `interface`, filtered by the `interfaces` /
//! `exclude_interfaces` globs), counter fields (u64) `bytes_recv`, `packets_recv`,
//! `err_in`, `drop_in`, `bytes_sent`, `packets_sent`, `err_out`, `drop_out`. Read under the
//! host root, these are the counters of the network namespace that `/proc` belongs to: the
//! host's only when the agent's pod uses `hostNetwork`.

use gleaner_api::{FieldValue, Metric, MetricKind};
use procfs::net::InterfaceDeviceStatus;

use super::root::NameFilter;

/// One counter metric per allowed interface, in the order of `text`, the file `dev` was
/// parsed from (`procfs` keeps the interfaces in a `HashMap`).
pub(crate) fn collect(
    dev: &InterfaceDeviceStatus,
    text: &str,
    filter: &NameFilter,
    ts: i64,
    out: &mut Vec<Metric>,
) {
    let names = text
        .lines()
        .filter_map(|l| Some(l.split_once(':')?.0.trim()))
        .filter(|n| !n.contains('|'));
    for name in names {
        let Some(d) = dev.0.get(name) else { continue };
        if !filter.allows(name) {
            continue;
        }
        let fields = [
            ("bytes_recv", d.recv_bytes),
            ("packets_recv", d.recv_packets),
            ("err_in", d.recv_errs),
            ("drop_in", d.recv_drop),
            ("bytes_sent", d.sent_bytes),
            ("packets_sent", d.sent_packets),
            ("err_out", d.sent_errs),
            ("drop_out", d.sent_drop),
        ];
        let mut m = Metric::new("net", ts)
            .with_kind(MetricKind::Counter)
            .with_tag("interface", name);
        for (field, v) in fields {
            m.fields.push((field.to_owned(), FieldValue::UInt(v)));
        }
        out.push(m);
    }
}
