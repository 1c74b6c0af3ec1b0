//! `processes`: counts of processes by state from every `<root>/proc/<pid>/stat` (the state
//! letter after the last `)`), and `total_threads` summed from their `num_threads` column.
//! One gauge metric of integers: `running` (R), `sleeping` (S), `blocked` (D), `zombies`
//! (Z), `stopped` (T, t), `idle` (I), `dead` (X, x), `paging` (W), `parked` (P), `total`,
//! `total_threads`. A process that exits during the walk is skipped. One read buffer is
//! reused for every process.

use gleaner_api::{FieldValue, Metric, MetricKind};

use super::root::{HostRoot, read_path};

const STATES: [&str; 9] = [
    "running", "sleeping", "blocked", "zombies", "stopped", "idle", "dead", "paging", "parked",
];

fn state_index(c: u8) -> Option<usize> {
    Some(match c {
        b'R' => 0,
        b'S' => 1,
        b'D' => 2,
        b'Z' => 3,
        b'T' | b't' => 4,
        b'I' => 5,
        b'X' | b'x' => 6,
        b'W' => 7,
        b'P' => 8,
        _ => return None,
    })
}

/// Counts so far.
#[derive(Debug, Default, PartialEq)]
pub(crate) struct Counts {
    by_state: [i64; 9],
    total: i64,
    threads: i64,
}

impl Counts {
    /// Adds one `/proc/<pid>/stat` line; false when it is malformed.
    pub(crate) fn add(&mut self, stat: &str) -> bool {
        let Some(close) = stat.rfind(')') else {
            return false;
        };
        let mut cols = stat[close + 1..].split_ascii_whitespace();
        let Some(state) = cols.next().and_then(|s| s.bytes().next()) else {
            return false;
        };
        if let Some(i) = state_index(state) {
            self.by_state[i] += 1;
        }
        self.total += 1;
        // num_threads is field 20; the state is field 3.
        self.threads += cols.nth(16).and_then(|s| s.parse().ok()).unwrap_or(1);
        true
    }

    /// The `processes` metric.
    pub(crate) fn metric(&self, ts: i64) -> Metric {
        let mut m = Metric::new("processes", ts).with_kind(MetricKind::Gauge);
        for (name, n) in STATES.iter().zip(self.by_state) {
            m.fields.push(((*name).to_owned(), FieldValue::Int(n)));
        }
        m.fields
            .push(("total".to_owned(), FieldValue::Int(self.total)));
        m.fields
            .push(("total_threads".to_owned(), FieldValue::Int(self.threads)));
        m
    }
}

/// Walks `<root>/proc`; `None` when it cannot be listed.
pub(crate) fn collect(root: &HostRoot, buf: &mut String, ts: i64) -> Option<Metric> {
    let dir = std::fs::read_dir(root.join("/proc")).ok()?;
    let mut counts = Counts::default();
    let mut path = root.join("/proc");
    for entry in dir.flatten() {
        let name = entry.file_name();
        let Some(name) = name.to_str() else { continue };
        if name.is_empty() || !name.bytes().all(|b| b.is_ascii_digit()) {
            continue;
        }
        path.push(name);
        path.push("stat");
        if read_path(&path, buf).is_some() {
            counts.add(buf);
        }
        path.pop();
        path.pop();
    }
    Some(counts.metric(ts))
}
