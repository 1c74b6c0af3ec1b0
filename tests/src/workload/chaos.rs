//! Chaos runs: the `logs-hec` and `logs-rotate` workloads while a seeded schedule of faults
//! hits the agent and its destination, ending with the verdict lost = 0 (every sequence id
//! generated was received) and the duplicates counted. Faults, in a seeded order with seeded
//! pauses between them:
//! - `kill -9` of the agent at a random moment, down for a random while, then restarted;
//! - the same with the tail offset database deleted while the agent is stopped (`logs-hec`
//!   only; with `read_from_head` everything is read again: duplicates, never loss);
//! - a receiver outage (connections dropped), a 503 storm (`Retry-After: 1`), a receiver that
//!   takes each request slowly;
//! - a long outage while the disk buffer is small (`max_bytes`, `when_full = "block"`): the
//!   buffer fills and pushes back on the tail input; its peak `gleaner_buffer_bytes` is kept.
//!
//! Used by `bench --chaos` (release binary, full size) and `tests/e2e/chaos.rs` (short).

use std::time::{Duration, Instant};

use super::cri_gen::write_files;
use super::receiver::{Mode, Protocol, Receiver};
use super::rng::Rng;
use super::rotate::{RotateConfig, Writer};
use super::scenario::{STALL, metric_sum, stop_agent, tail_hec_config, wait_delivered};
use crate::{Agent, http};

/// What to run and how hard to hit it.
#[derive(Debug, Clone)]
pub struct ChaosOpts {
    /// Seed of the workload and of the schedule.
    pub seed: u64,
    /// `logs-hec`: CRI lines written before the start.
    pub lines: u64,
    /// `logs-rotate`: the writer (its `duration` is the chaos window).
    pub rotate: RotateConfig,
    /// `kill -9`s (besides the one that deletes the offset database).
    pub kills: usize,
    /// Pause before each fault, ms (random in the range).
    pub pause_ms: (u64, u64),
    /// Length of an outage, 503 storm or slow spell, and of a kill's downtime, ms.
    pub fault_ms: (u64, u64),
    /// The disk buffer's `max_bytes` (its `chunk_size` is 1MiB).
    pub max_bytes: &'static str,
    /// Length of the outage that fills the buffer, ms.
    pub fill_ms: u64,
}

/// A chaos run's outcome.
#[derive(Debug, Clone, Default)]
pub struct ChaosResult {
    /// `logs-hec` or `logs-rotate`.
    pub workload: String,
    /// Sequence ids generated.
    pub events: u64,
    /// Wall seconds of the whole run.
    pub secs: f64,
    /// Ids never received.
    pub lost: u64,
    /// Arrivals beyond the first.
    pub duplicated: u64,
    /// Duplicates by the fault they followed (arrivals beyond the first from the fault's
    /// start to the next fault's, or to the end), summed per kind of fault, in order of
    /// first occurrence; `start` for those before the first fault. The kill that deletes the
    /// offset database is credited first with its re-read (every id received before it
    /// comes again), taken from its window and the ones after it.
    pub dup_by_fault: Vec<(&'static str, u64)>,
    /// Each fault's kind, the duplicates received when it started, and what it is expected
    /// to send again (the ids received before a kill that deletes the offsets; else 0).
    marks: Vec<(&'static str, u64, u64)>,
    /// The faults, in order, with their start time.
    pub faults: Vec<String>,
    /// Largest `gleaner_buffer_bytes` seen while the buffer was filling.
    pub peak_buffer_bytes: f64,
    /// Up to 10 lost ids (to look for in the agent's logs).
    pub missing: Vec<u64>,
    /// The agent's stderr, when something was lost.
    pub agent_log: String,
}

impl ChaosResult {
    /// The verdict: nothing lost.
    pub fn passed(&self) -> bool {
        self.lost == 0
    }
}

#[derive(Debug, Clone, Copy)]
enum Fault {
    Kill,
    KillDeleteOffsets,
    Outage,
    Storm,
    Slow,
    Fill,
}

impl Fault {
    fn label(self) -> &'static str {
        match self {
            Fault::Kill => "kill",
            Fault::KillDeleteOffsets => "kill, offsets deleted",
            Fault::Outage => "outage",
            Fault::Storm => "503 storm",
            Fault::Slow => "slow receiver",
            Fault::Fill => "full buffer",
        }
    }
}

/// Arrivals beyond the first so far.
fn dups(rx: &Receiver) -> u64 {
    rx.tally.received().saturating_sub(rx.tally.distinct())
}

/// Sums the duplicates between marks per fault kind (see [`ChaosResult::dup_by_fault`]).
fn attribute(marks: &[(&'static str, u64, u64)], end: u64) -> Vec<(&'static str, u64)> {
    let mut out: Vec<(&'static str, u64)> = Vec::new();
    let mut add = |label: &'static str, d: u64| match out.iter_mut().find(|(l, _)| *l == label) {
        Some(e) => e.1 += d,
        None => out.push((label, d)),
    };
    // A re-read still owed to a fault: (its label, what is left of it).
    let mut owed: Option<(&'static str, u64)> = None;
    for (i, &(label, at, rereads)) in marks.iter().enumerate() {
        let next = marks.get(i + 1).map_or(end, |m| m.1);
        let mut d = next.saturating_sub(at);
        if rereads > 0 {
            owed = Some((label, owed.map_or(0, |o| o.1) + rereads));
        }
        if let Some((l, left)) = owed.as_mut() {
            let take = d.min(*left);
            add(l, take);
            *left -= take;
            d -= take;
        }
        add(label, d);
    }
    out
}

fn buffer_extra(o: &ChaosOpts) -> String {
    format!(
        "max_bytes = \"{}\"\nchunk_size = \"1MiB\"\nwhen_full = \"block\"\n\
         retry_initial_backoff = \"200ms\"\nretry_max_backoff = \"2s\"\n",
        o.max_bytes
    )
}

/// `logs-hec` under chaos.
///
/// # Panics
/// When the workload or the agent cannot be set up.
pub fn logs_hec(o: &ChaosOpts) -> ChaosResult {
    let root = tempfile::tempdir().expect("tempdir for logs");
    let w = write_files(root.path(), o.lines, 10, o.seed);
    let rx = Receiver::start(Protocol::Hec);
    let t0 = Instant::now();
    let mut agent = Agent::start(&tail_hec_config(root.path(), &rx.url(), &buffer_extra(o)));
    let mut r = ChaosResult {
        workload: "logs-hec".into(),
        events: w.events,
        ..ChaosResult::default()
    };
    let mut plan = vec![Fault::KillDeleteOffsets];
    plan.extend(std::iter::repeat_n(Fault::Kill, o.kills));
    plan.extend([Fault::Outage, Fault::Storm, Fault::Slow, Fault::Fill]);
    let mut rng = Rng::new(o.seed ^ 0xc4a0_5eed);
    shuffle(&mut plan, &mut rng);
    for f in plan {
        let pause = rng.range(o.pause_ms.0, o.pause_ms.1);
        std::thread::sleep(Duration::from_millis(pause));
        apply(f, o, &mut rng, &mut agent, &rx, t0, &mut r);
    }
    finish(&mut agent, &rx, t0, &mut r);
    r
}

/// `logs-rotate` under chaos: the faults fall while the writer writes and rotates.
///
/// # Panics
/// When the workload or the agent cannot be set up.
pub fn logs_rotate(o: &ChaosOpts) -> ChaosResult {
    let root = tempfile::tempdir().expect("tempdir for logs");
    let rx = Receiver::start(Protocol::Hec);
    let t0 = Instant::now();
    let mut agent = Agent::start(&tail_hec_config(root.path(), &rx.url(), &buffer_extra(o)));
    let mut r = ChaosResult {
        workload: "logs-rotate".into(),
        ..ChaosResult::default()
    };
    let writer = Writer::start(root.path(), o.rotate.clone());
    let end = Instant::now() + o.rotate.duration;
    let mut rng = Rng::new(o.seed ^ 0x0707_a7e5);
    let kinds = [
        Fault::Kill,
        Fault::Outage,
        Fault::Storm,
        Fault::Slow,
        Fault::Fill,
    ];
    let mut plan: Vec<Fault> = std::iter::repeat_n(Fault::Kill, o.kills).collect();
    plan.extend(&kinds[1..]);
    shuffle(&mut plan, &mut rng);
    for f in plan {
        let pause = rng.range(o.pause_ms.0, o.pause_ms.1);
        std::thread::sleep(Duration::from_millis(pause));
        if Instant::now() >= end {
            r.faults
                .push(format!("{f:?} skipped: the writer had finished"));
            continue;
        }
        apply(f, o, &mut rng, &mut agent, &rx, t0, &mut r);
    }
    let wrote = writer.join();
    r.events = wrote.events;
    r.faults.push(format!(
        "writer: {} records, {} bytes, {} rotations",
        wrote.events, wrote.bytes, wrote.rotations
    ));
    finish(&mut agent, &rx, t0, &mut r);
    r
}

fn shuffle<T>(v: &mut [T], rng: &mut Rng) {
    for i in (1..v.len()).rev() {
        let j = rng.below(i as u64 + 1) as usize;
        v.swap(i, j);
    }
}

fn apply(
    f: Fault,
    o: &ChaosOpts,
    rng: &mut Rng,
    agent: &mut Agent,
    rx: &Receiver,
    t0: Instant,
    r: &mut ChaosResult,
) {
    let len = match f {
        Fault::Fill => Duration::from_millis(o.fill_ms),
        _ => Duration::from_millis(rng.range(o.fault_ms.0, o.fault_ms.1)),
    };
    let at = t0.elapsed().as_secs_f64();
    let got = rx.tally.distinct();
    if r.marks.is_empty() {
        r.marks.push(("start", 0, 0));
    }
    let rereads = if matches!(f, Fault::KillDeleteOffsets) {
        got
    } else {
        0
    };
    r.marks.push((f.label(), dups(rx), rereads));
    r.faults
        .push(format!("t={at:.1}s {f:?} for {len:?} ({got} ids received)"));
    match f {
        Fault::Kill | Fault::KillDeleteOffsets => {
            agent.kill9();
            if matches!(f, Fault::KillDeleteOffsets) {
                std::fs::remove_dir_all(agent.path("tail")).expect("delete the offset db");
            }
            std::thread::sleep(len);
            agent.restart();
        }
        Fault::Outage | Fault::Storm | Fault::Slow => {
            rx.set_mode(match f {
                Fault::Outage => Mode::Down,
                Fault::Storm => Mode::Status(503),
                _ => Mode::Slow(Duration::from_millis(400)),
            });
            std::thread::sleep(len);
            rx.set_mode(Mode::Normal);
        }
        Fault::Fill => {
            rx.set_mode(Mode::Down);
            let end = Instant::now() + len;
            while Instant::now() < end {
                if let Ok(page) = http(&agent.telemetry_addr, "GET", "/metrics", &[], b"")
                    && let Some(b) = metric_sum(&page.body, "gleaner_buffer_bytes")
                {
                    r.peak_buffer_bytes = r.peak_buffer_bytes.max(b);
                }
                std::thread::sleep(Duration::from_millis(100));
            }
            rx.set_mode(Mode::Normal);
        }
    }
}

fn finish(agent: &mut Agent, rx: &Receiver, t0: Instant, r: &mut ChaosResult) {
    rx.set_mode(Mode::Normal);
    let done = wait_delivered(&rx.tally, r.events, STALL);
    // Late duplicates (a chunk in flight at a kill) come shortly after; then stop cleanly.
    std::thread::sleep(Duration::from_secs(1));
    stop_agent(agent);
    r.secs = t0.elapsed().as_secs_f64();
    let v = rx.tally.verdict(r.events);
    r.lost = v.lost;
    r.duplicated = v.duplicated + v.unexpected;
    r.dup_by_fault = attribute(&r.marks, dups(rx));
    if !done || v.lost > 0 {
        r.missing = rx.tally.missing(r.events, 10);
        r.agent_log = agent.stderr();
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn duplicates_go_to_the_fault_they_followed() {
        let marks = [
            ("start", 0, 0),
            ("kill", 0, 0),
            ("outage", 10, 0),
            ("kill", 12, 0),
        ];
        assert_eq!(
            super::attribute(&marks, 40),
            vec![("start", 0), ("kill", 38), ("outage", 2)]
        );
        // The offsets-deleting kill is owed the 25 ids received before it, from its window
        // (10) and the next (15); the rest of that window (5) is the storm's.
        let marks = [
            ("start", 0, 0),
            ("deleted", 0, 25),
            ("storm", 10, 0),
            ("kill", 30, 0),
        ];
        assert_eq!(
            super::attribute(&marks, 34),
            vec![("start", 0), ("deleted", 25), ("storm", 5), ("kill", 4)]
        );
    }
}
