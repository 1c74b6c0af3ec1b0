//! `system`: `load1`, `load5`, `load15` from `/proc/loadavg` (`procfs`'s `LoadAverage`),
//! `n_users` and `n_unique_users` from utmp (see `utmp.rs`; absent when the host has no utmp
//! file), `n_cpus` (the `cpuN` lines of `/proc/stat`, as `procfs`'s `KernelStats` counts
//! them) and `uptime` (whole seconds, `/proc/uptime`, `procfs`'s `Uptime`), one gauge metric.
//!
//! `LoadAverage` holds the loads as `f32`; the kernel writes them with two decimals
//! (`0.52`), so they are rounded back to two decimals as `f64` (`0.52`, not the `f32`'s
//! `0.519999980926513671875`), the value Telegraf and node_exporter parse from the text.

use gleaner_api::{FieldValue, Metric, MetricKind};
use procfs::{LoadAverage, Uptime};

use super::utmp::Users;

/// A load the kernel wrote with two decimals, from `procfs`'s `f32`.
fn load(v: f32) -> f64 {
    (f64::from(v) * 100.0).round() / 100.0
}

/// The `system` metric.
pub(crate) fn collect(
    loadavg: &LoadAverage,
    uptime: Option<&Uptime>,
    users: Option<Users>,
    n_cpus: Option<usize>,
    ts: i64,
) -> Metric {
    let mut m = Metric::new("system", ts)
        .with_kind(MetricKind::Gauge)
        .with_field("load1", FieldValue::Float(load(loadavg.one)))
        .with_field("load5", FieldValue::Float(load(loadavg.five)))
        .with_field("load15", FieldValue::Float(load(loadavg.fifteen)));
    if let Some(u) = users {
        m.fields
            .push(("n_users".to_owned(), FieldValue::Int(u.sessions)));
        m.fields
            .push(("n_unique_users".to_owned(), FieldValue::Int(u.unique)));
    }
    m.fields.push((
        "n_cpus".to_owned(),
        FieldValue::Int(n_cpus.unwrap_or(0) as i64),
    ));
    if let Some(up) = uptime {
        m.fields
            .push(("uptime".to_owned(), FieldValue::UInt(up.uptime as u64)));
    }
    m
}
