//! A parsed [`Summary`] to metrics, with the measurement, tag and field names of Telegraf's
//! `inputs.kubernetes` (plugins/inputs/kubernetes/kubernetes.go): `kubernetes_node`,
//! `kubernetes_system_container`, `kubernetes_pod_container`, `kubernetes_pod_volume` and
//! `kubernetes_pod_network`. Pure: no I/O.
//!
//! Where we differ from Telegraf, on purpose:
//! - A value the kubelet did not report is omitted, never written as 0 (Telegraf reads into
//!   plain `int64`s, so a missing `availableBytes` becomes a false 0). A metric left with no
//!   field at all is not emitted.
//! - The timestamp is the sample's own `time` (the first present of the metric's blocks,
//!   e.g. `cpu.time`, then `memory.time`, ...); the gather time only when none has one.
//!   Telegraf stamps everything with the gather time, although the kubelet's stats may be
//!   up to its housekeeping interval old.
//! - Pod labels are not copied into tags (Telegraf's default `label_exclude = ["*"]`), and
//!   `image`/`version` tags (from the kubelet's `/pods`) are not added.
//! - Kinds: `kubernetes_pod_network` is all counters, `kubernetes_pod_volume` all gauges; the
//!   measurements mixing both (cpu nanocores with cumulative core-nanoseconds, page faults
//!   with memory bytes) are untyped.
//!
//! Fields are integers (`i`), as Telegraf writes them, so existing InfluxDB series keep their
//! field types.

use gleaner_api::{FieldValue, Metric, MetricKind};

use super::summary::{ContainerStats, CpuStats, FsStats, MemoryStats, NetworkStats, Summary};
use super::time::rfc3339_ns;

/// Appends the metrics of `summary`; `now` stamps blocks without a `time`.
pub(crate) fn metrics(summary: &Summary, now: i64, out: &mut Vec<Metric>) {
    let node = &summary.node;
    let node_name = node.node_name.as_deref().filter(|n| !n.is_empty());

    let mut m = metric(
        "kubernetes_node",
        MetricKind::Untyped,
        &[("node_name", node_name)],
    );
    cpu(&mut m, node.cpu.as_ref());
    memory(&mut m, node.memory.as_ref(), true);
    network(&mut m, "network_", node.network.as_ref());
    fs(&mut m, "fs_", node.fs.as_ref(), true);
    let image_fs = node.runtime.as_ref().and_then(|r| r.image_fs.as_ref());
    fs(&mut m, "runtime_image_fs_", image_fs, true);
    let times = [
        node.cpu.as_ref().and_then(|c| c.time.as_deref()),
        node.memory.as_ref().and_then(|c| c.time.as_deref()),
        node.network.as_ref().and_then(|c| c.time.as_deref()),
        node.fs.as_ref().and_then(|c| c.time.as_deref()),
    ];
    push(out, m, &times, now);

    for c in node.system_containers.iter().flatten() {
        let tags = [
            ("container_name", c.name.as_deref()),
            ("node_name", node_name),
        ];
        let m = metric("kubernetes_system_container", MetricKind::Untyped, &tags);
        // Telegraf's system containers have no `*_used_bytes`.
        container(m, c, false, now, out);
    }

    for pod in summary.pods.iter().flatten() {
        let name = pod.pod_ref.name.as_deref();
        let namespace = pod.pod_ref.namespace.as_deref();
        for c in pod.containers.iter().flatten() {
            let tags = [
                ("container_name", c.name.as_deref()),
                ("namespace", namespace),
                ("node_name", node_name),
                ("pod_name", name),
            ];
            let m = metric("kubernetes_pod_container", MetricKind::Untyped, &tags);
            container(m, c, true, now, out);
        }
        for v in pod.volume.iter().flatten() {
            let tags = [
                ("namespace", namespace),
                ("node_name", node_name),
                ("pod_name", name),
                ("volume_name", v.name.as_deref()),
            ];
            let mut m = metric("kubernetes_pod_volume", MetricKind::Gauge, &tags);
            int(&mut m, "available_bytes", v.available_bytes);
            int(&mut m, "capacity_bytes", v.capacity_bytes);
            int(&mut m, "used_bytes", v.used_bytes);
            push(out, m, &[v.time.as_deref()], now);
        }
        let tags = [
            ("namespace", namespace),
            ("node_name", node_name),
            ("pod_name", name),
        ];
        let mut m = metric("kubernetes_pod_network", MetricKind::Counter, &tags);
        network(&mut m, "", pod.network.as_ref());
        push(
            out,
            m,
            &[pod.network.as_ref().and_then(|n| n.time.as_deref())],
            now,
        );
    }
}

/// A metric with the tags that are present and not empty.
fn metric(name: &str, kind: MetricKind, tags: &[(&str, Option<&str>)]) -> Metric {
    let mut m = Metric::new(name, 0).with_kind(kind);
    m.fields.reserve(18);
    m.tags = tags
        .iter()
        .filter_map(|&(k, v)| Some((k, v.filter(|v| !v.is_empty())?)))
        .collect();
    m
}

/// Emits `m` stamped with the first parseable time of `times` (else `now`) when it has a field.
fn push(out: &mut Vec<Metric>, mut m: Metric, times: &[Option<&str>], now: i64) {
    if m.fields.is_empty() {
        return;
    }
    m.timestamp = times
        .iter()
        .flatten()
        .find_map(|t| rfc3339_ns(t))
        .unwrap_or(now);
    out.push(m);
}

fn container(mut m: Metric, c: &ContainerStats, used: bool, now: i64, out: &mut Vec<Metric>) {
    cpu(&mut m, c.cpu.as_ref());
    memory(&mut m, c.memory.as_ref(), false);
    fs(&mut m, "rootfs_", c.rootfs.as_ref(), used);
    fs(&mut m, "logsfs_", c.logs.as_ref(), used);
    let times = [
        c.cpu.as_ref().and_then(|x| x.time.as_deref()),
        c.memory.as_ref().and_then(|x| x.time.as_deref()),
        c.rootfs.as_ref().and_then(|x| x.time.as_deref()),
        c.logs.as_ref().and_then(|x| x.time.as_deref()),
    ];
    push(out, m, &times, now);
}

/// Adds an integer field when the value is present (saturating at `i64::MAX`).
fn int(m: &mut Metric, name: &str, v: Option<u64>) {
    if let Some(v) = v {
        let v = i64::try_from(v).unwrap_or(i64::MAX);
        m.fields.push((name.to_owned(), FieldValue::Int(v)));
    }
}

/// Adds `<prefix><name>`.
fn prefixed(m: &mut Metric, prefix: &str, name: &str, v: Option<u64>) {
    if v.is_some() {
        int(m, &format!("{prefix}{name}"), v);
    }
}

fn cpu(m: &mut Metric, c: Option<&CpuStats>) {
    let Some(c) = c else { return };
    int(m, "cpu_usage_nanocores", c.usage_nano_cores);
    int(m, "cpu_usage_core_nanoseconds", c.usage_core_nano_seconds);
}

fn memory(m: &mut Metric, mem: Option<&MemoryStats>, available: bool) {
    let Some(mem) = mem else { return };
    if available {
        int(m, "memory_available_bytes", mem.available_bytes);
    }
    int(m, "memory_usage_bytes", mem.usage_bytes);
    int(m, "memory_working_set_bytes", mem.working_set_bytes);
    int(m, "memory_rss_bytes", mem.rss_bytes);
    int(m, "memory_page_faults", mem.page_faults);
    int(m, "memory_major_page_faults", mem.major_page_faults);
}

fn network(m: &mut Metric, prefix: &str, n: Option<&NetworkStats>) {
    let Some(n) = n else { return };
    prefixed(m, prefix, "rx_bytes", n.rx_bytes);
    prefixed(m, prefix, "rx_errors", n.rx_errors);
    prefixed(m, prefix, "tx_bytes", n.tx_bytes);
    prefixed(m, prefix, "tx_errors", n.tx_errors);
}

fn fs(m: &mut Metric, prefix: &str, f: Option<&FsStats>, used: bool) {
    let Some(f) = f else { return };
    prefixed(m, prefix, "available_bytes", f.available_bytes);
    prefixed(m, prefix, "capacity_bytes", f.capacity_bytes);
    if used {
        prefixed(m, prefix, "used_bytes", f.used_bytes);
    }
}
