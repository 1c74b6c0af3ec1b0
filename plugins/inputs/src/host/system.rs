//! `system`: `load1`, `load5`, `load15` from `/proc/loadavg`, `n_users` and
//! `n_unique_users` from utmp (see `utmp.rs`; absent when the host has no utmp file),
//! `n_cpus` (the `cpuN` lines of `/proc/stat`) and `uptime` (whole seconds,
//! `/proc/uptime`), one gauge metric.

use gleaner_api::{FieldValue, Metric, MetricKind};

use super::utmp::Users;

/// The `system` metric; `None` when `/proc/loadavg` is malformed.
pub(crate) fn collect(
    loadavg: &str,
    uptime: Option<&str>,
    users: Option<Users>,
    stat: &str,
    ts: i64,
) -> Option<Metric> {
    let mut cols = loadavg.split_ascii_whitespace();
    let mut load = [0f64; 3];
    for slot in &mut load {
        *slot = cols.next()?.parse().ok()?;
    }
    let n_cpus = stat
        .lines()
        .filter(|l| l.starts_with("cpu") && l.as_bytes().get(3).is_some_and(u8::is_ascii_digit))
        .count();
    let mut m = Metric::new("system", ts)
        .with_kind(MetricKind::Gauge)
        .with_field("load1", FieldValue::Float(load[0]))
        .with_field("load5", FieldValue::Float(load[1]))
        .with_field("load15", FieldValue::Float(load[2]));
    if let Some(u) = users {
        m.fields
            .push(("n_users".to_owned(), FieldValue::Int(u.sessions)));
        m.fields
            .push(("n_unique_users".to_owned(), FieldValue::Int(u.unique)));
    }
    m.fields
        .push(("n_cpus".to_owned(), FieldValue::Int(n_cpus as i64)));
    let up = uptime
        .and_then(|u| u.split_ascii_whitespace().next())
        .and_then(|s| s.parse::<f64>().ok());
    if let Some(up) = up {
        m.fields
            .push(("uptime".to_owned(), FieldValue::UInt(up as u64)));
    }
    Some(m)
}
