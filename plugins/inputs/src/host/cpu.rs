//! `cpu`: usage percentages per CPU (`cpu0`…) and in total (`cpu-total`) from the deltas of
//! `/proc/stat`'s jiffies (parsed by `procfs`'s `KernelStats`) between two gathers, as
//! Telegraf computes them. The first gather
//! only records the counters and emits nothing. Total = user + system + nice + iowait + irq +
//! softirq + steal + idle; guest time is inside user (and guest_nice inside nice), so those
//! are reported net of it. A CPU whose total did not advance (or went back, after a hotplug)
//! emits nothing this time.

use std::collections::HashMap;

use gleaner_api::{FieldValue, Metric, MetricKind};
use procfs::{CpuTime, KernelStats};

/// Field names, in `/proc/stat` column order.
const FIELDS: [&str; 10] = [
    "usage_user",
    "usage_nice",
    "usage_system",
    "usage_idle",
    "usage_iowait",
    "usage_irq",
    "usage_softirq",
    "usage_steal",
    "usage_guest",
    "usage_guest_nice",
];

/// One CPU line's ten counters (missing columns on old kernels are 0).
pub(crate) type Times = [u64; 10];

/// The CPU lines of `/proc/stat` as `procfs` parsed them (`stats`): `("cpu-total" | "cpuN",
/// times)`. `procfs` keeps the per-CPU lines in file order without their numbers, and a host
/// with an offline CPU skips one (`cpu0`, `cpu2`), so the names are taken from the same
/// lines of `text`, the file `stats` was parsed from.
pub(crate) fn times(stats: &KernelStats, text: &str) -> Vec<(String, Times)> {
    let names = text
        .lines()
        .filter_map(|l| l.split_ascii_whitespace().next())
        .filter(|n| n.len() > 3 && n.starts_with("cpu"));
    let mut out = Vec::with_capacity(stats.cpu_time.len() + 1);
    out.push(("cpu-total".to_owned(), ticks(&stats.total)));
    for (name, t) in names.zip(&stats.cpu_time) {
        out.push((name.to_owned(), ticks(t)));
    }
    out
}

/// The ten counters of one CPU line, in `/proc/stat` column order.
fn ticks(t: &CpuTime) -> Times {
    let o = |v: Option<u64>| v.unwrap_or(0);
    [
        t.user,
        t.nice,
        t.system,
        t.idle,
        o(t.iowait),
        o(t.irq),
        o(t.softirq),
        o(t.steal),
        o(t.guest),
        o(t.guest_nice),
    ]
}

/// The previous gather's counters per CPU.
#[derive(Debug, Default)]
pub(crate) struct CpuState {
    prev: HashMap<String, Times>,
}

impl CpuState {
    /// Emits one `cpu` metric per CPU with a previous sample; remembers `now`.
    pub(crate) fn collect(
        &mut self,
        now: Vec<(String, Times)>,
        percpu: bool,
        totalcpu: bool,
        ts: i64,
        out: &mut Vec<Metric>,
    ) {
        let mut next = HashMap::with_capacity(now.len());
        for (name, t) in now {
            let is_total = name == "cpu-total";
            let wanted = if is_total { totalcpu } else { percpu };
            if wanted
                && let Some(p) = self.prev.get(&name)
                && let Some(m) = usage(&name, p, &t, ts)
            {
                out.push(m);
            }
            next.insert(name, t);
        }
        self.prev = next;
    }
}

/// Busy-and-idle total of one sample, with guest time taken out of user and nice.
fn net_times(t: &Times) -> ([f64; 10], f64) {
    let mut v = [0f64; 10];
    for (slot, x) in v.iter_mut().zip(t) {
        *slot = *x as f64;
    }
    v[0] = t[0].saturating_sub(t[8]) as f64;
    v[1] = t[1].saturating_sub(t[9]) as f64;
    let total: f64 = v[..8].iter().sum::<f64>() + v[8] + v[9];
    (v, total)
}

fn usage(name: &str, prev: &Times, now: &Times, ts: i64) -> Option<Metric> {
    let (p, pt) = net_times(prev);
    let (n, nt) = net_times(now);
    let dt = nt - pt;
    if dt <= 0.0 || now.iter().zip(prev).any(|(a, b)| a < b) {
        return None;
    }
    let mut m = Metric::new("cpu", ts)
        .with_kind(MetricKind::Gauge)
        .with_tag("cpu", name);
    for (i, f) in FIELDS.iter().enumerate() {
        m.fields.push((
            (*f).to_owned(),
            FieldValue::Float(100.0 * (n[i] - p[i]) / dt),
        ));
    }
    Some(m)
}
