//! One `inputs.host` gather of this machine's `/proc`: time per gather (criterion), and
//! allocations per gather counted by a wrapping global allocator (`stats_alloc`: the
//! workspace forbids `unsafe`, so the `GlobalAlloc` impl lives in that crate). Printed first:
//! allocations and bytes per gather with every collector, and for `processes` alone per
//! process, so a per-pid allocation shows up as a number, not a feeling.
//!
//! `cargo bench -p gleaner-inputs --bench host_gather`

use std::alloc::System;
use std::hint::black_box;

use criterion::Criterion;
use gleaner_inputs::host::HostGather;
use stats_alloc::{INSTRUMENTED_SYSTEM, Region, StatsAlloc};

#[global_allocator]
static GLOBAL: &StatsAlloc<System> = &INSTRUMENTED_SYSTEM;

const ALL: &str = "";
const PROCESSES: &str = "collect = [\"processes\"]\n";

/// Processes now, as the collector sees them.
fn pids() -> usize {
    std::fs::read_dir("/proc")
        .map(|d| {
            d.flatten()
                .filter(|e| {
                    e.file_name()
                        .to_str()
                        .is_some_and(|n| n.bytes().all(|b| b.is_ascii_digit()))
                })
                .count()
        })
        .unwrap_or(0)
}

/// Mean allocations, allocated bytes and metrics per gather over `rounds`, after two
/// warm-up gathers (CPU deltas start on the second; read buffers reach their size).
fn allocations(toml: &str, rounds: usize) -> (f64, f64, usize) {
    let mut g = HostGather::from_toml(toml).expect("config");
    drop(g.gather());
    drop(g.gather());
    let mut metrics = 0;
    let region = Region::new(GLOBAL);
    for _ in 0..rounds {
        let m = g.gather();
        metrics = m.len();
        drop(black_box(m));
    }
    let s = region.change();
    assert!(g.errors().is_empty(), "errors: {:?}", g.errors());
    let n = rounds as f64;
    (
        s.allocations as f64 / n,
        s.bytes_allocated as f64 / n,
        metrics,
    )
}

fn report() {
    let (allocs, bytes, metrics) = allocations(ALL, 50);
    let fields: usize = HostGather::from_toml(ALL)
        .map(|mut g| {
            drop(g.gather());
            g.gather()
                .iter()
                .map(|m| m.fields.len() + m.tags.len())
                .sum()
        })
        .unwrap_or(0);
    println!(
        "host gather, every collector: {allocs:.0} allocations ({bytes:.0} bytes) per gather, \
         {metrics} metrics with {fields} fields and tags"
    );
    // Per collector, to see which file's parser allocates what (`/proc/stat` is read for
    // cpu, system and kernel alike; `/proc/vmstat` for swap and kernel).
    let per: Vec<String> = [
        "cpu", "mem", "swap", "disk", "diskio", "net", "system", "kernel",
    ]
    .iter()
    .map(|c| {
        let (a, b, _) = allocations(&format!("collect = [\"{c}\"]\n"), 20);
        format!("{c} {a:.0} ({b:.0} B)")
    })
    .collect();
    println!("per collector alone: {}", per.join(", "));
    let before = pids();
    let (allocs, bytes, _) = allocations(PROCESSES, 50);
    let after = pids();
    let p = (before + after) as f64 / 2.0;
    println!(
        "processes alone: {allocs:.1} allocations ({bytes:.0} bytes) per gather for ~{p:.0} \
         processes = {:.3} per process",
        allocs / p.max(1.0)
    );
}

/// What `procfs`'s own `/proc/<pid>/stat` parser would cost per process in the
/// `processes` walk (which keeps its hand-written, allocation-free one: see
/// `src/host/processes.rs`): allocations per parse of this process's stat line.
fn procfs_stat_allocations(line: &[u8]) -> f64 {
    use procfs::FromRead;
    let rounds = 1000;
    let region = Region::new(GLOBAL);
    for _ in 0..rounds {
        drop(black_box(procfs::process::Stat::from_read(black_box(line))));
    }
    region.change().allocations as f64 / rounds as f64
}

fn main() {
    report();
    let line = std::fs::read("/proc/self/stat").expect("/proc/self/stat");
    println!(
        "procfs Stat::from_read of one /proc/<pid>/stat line: {:.1} allocations",
        procfs_stat_allocations(&line)
    );
    let mut c = Criterion::default().configure_from_args();
    c.bench_function("host gather (every collector, live /proc)", |b| {
        let mut g = HostGather::from_toml(ALL).expect("config");
        b.iter(|| black_box(g.gather()));
    });
    c.bench_function("host gather (processes only)", |b| {
        let mut g = HostGather::from_toml(PROCESSES).expect("config");
        b.iter(|| black_box(g.gather()));
    });
    c.bench_function("procfs Stat::from_read (one /proc/<pid>/stat line)", |b| {
        use procfs::FromRead;
        b.iter(|| black_box(procfs::process::Stat::from_read(black_box(&line[..])).is_ok()));
    });
    c.final_summary();
}
