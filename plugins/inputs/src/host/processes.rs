//! `processes`: counts of processes by state from every `<root>/proc/<pid>/stat` (the state
//! letter after the last `)`), and `total_threads` summed from their `num_threads` column.
//! One gauge metric of integers: `running` (R), `sleeping` (S), `blocked` (D), `zombies`
//! (Z), `stopped` (T, t), `idle` (I), `dead` (X, x), `paging` (W), `parked` (P), `total`,
//! `total_threads`. A process that exits during the walk is skipped.
//!
//! This walk is most of a host gather's time, so it allocates nothing per process: `/proc` is
//! listed with `getdents64` into a reused buffer ([`rustix::fs::RawDir`]: no name copied),
//! each `<pid>/stat` is opened relative to the `/proc` descriptor with its path built in a
//! reused string (rustix passes short paths through a stack buffer) and read into a reused
//! byte buffer, and the line is parsed as bytes (a command name need not be UTF-8).
//!
//! This file keeps its hand-written parser instead of `procfs`'s `Stat` (which the rest of
//! `inputs.host` uses for its files): `Stat::from_read` costs 2 allocations per process (its
//! read buffer and the command name; 0 here, so a gather's 16 allocations do not grow with
//! the process count) and about 3 µs per line in the `host_gather` bench on this loaded VM,
//! against some 20 µs for a process's whole open, read and count here; and it requires the
//! 36 columns that Linux 2.6 writes, so it rejects the shorter lines of the fixtures under
//! `testdata/host/t1` that `processes_by_state` counts. We read 2 columns of the line.

use gleaner_api::{FieldValue, Metric, MetricKind};

use rustix::fs::{Mode, OFlags, RawDir};
use rustix::io::Errno;

use super::root::HostRoot;
use crate::procstat::kept::read_at;

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
    pub(crate) fn add(&mut self, stat: &[u8]) -> bool {
        let Some(close) = stat.iter().rposition(|&b| b == b')') else {
            return false;
        };
        let mut cols = stat[close + 1..]
            .split(u8::is_ascii_whitespace)
            .filter(|c| !c.is_empty());
        let Some(state) = cols.next().and_then(|s| s.first().copied()) else {
            return false;
        };
        if let Some(i) = state_index(state) {
            self.by_state[i] += 1;
        }
        self.total += 1;
        // num_threads is field 20; the state is field 3.
        self.threads += cols
            .nth(16)
            .and_then(|s| std::str::from_utf8(s).ok()?.parse().ok())
            .unwrap_or(1);
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

/// Buffers reused from gather to gather.
#[derive(Debug, Default)]
pub(crate) struct Scan {
    /// `getdents64` output.
    dir: Vec<u8>,
    /// `<pid>/stat`.
    path: String,
    /// The contents of one stat file.
    stat: Vec<u8>,
}

/// Walks `<root>/proc`; `None` when it cannot be listed.
pub(crate) fn collect(root: &HostRoot, scan: &mut Scan, ts: i64) -> Option<Metric> {
    let flags = OFlags::RDONLY | OFlags::DIRECTORY | OFlags::CLOEXEC;
    let proc = rustix::fs::open(root.join("/proc"), flags, Mode::empty()).ok()?;
    if scan.dir.capacity() == 0 {
        scan.dir.reserve(32 * 1024);
    }
    let mut counts = Counts::default();
    'listing: loop {
        let mut entries = RawDir::new(&proc, scan.dir.spare_capacity_mut());
        while let Some(entry) = entries.next() {
            let entry = match entry {
                Ok(e) => e,
                // The buffer cannot hold the next entry: grow it and go on from there.
                Err(Errno::INVAL) => {
                    let more = scan.dir.capacity() * 2;
                    scan.dir.reserve(more);
                    continue 'listing;
                }
                Err(_) => break 'listing,
            };
            let name = entry.file_name().to_bytes();
            if name.is_empty() || !name.iter().all(u8::is_ascii_digit) {
                continue;
            }
            scan.path.clear();
            // Digits only: valid UTF-8.
            scan.path.extend(name.iter().map(|&b| char::from(b)));
            scan.path.push_str("/stat");
            if read_at(&proc, &scan.path, &mut scan.stat) {
                counts.add(&scan.stat);
            }
        }
        break;
    }
    Some(counts.metric(ts))
}

#[cfg(test)]
mod tests {
    use super::Counts;

    #[test]
    fn stat_lines_are_parsed_as_bytes() {
        let mut c = Counts::default();
        // A command name that is not UTF-8 and holds ") S": the last ')' ends it.
        let mut line =
            b"42 (we\xffird) S) R 1 42 42 0 -1 4194560 100 0 0 0 1 2 0 0 20 0 7 0".to_vec();
        line.extend_from_slice(b" 100 1000 200 18446744073709551615 1 1 0 0 0 0 0 0 0 0 0 0 0\n");
        assert!(c.add(&line));
        assert!(c.add(b"7 (kworker/0:1) I 2 0 0 0 -1 69238880 0 0 0 0 0 0 0 0 20 0 1 0 5 0 0"));
        assert!(!c.add(b"garbage without a paren"));
        assert!(!c.add(b"9 (x)"));
        assert_eq!(
            (c.by_state[0], c.by_state[5], c.total, c.threads),
            (1, 1, 2, 8)
        );
    }
}
