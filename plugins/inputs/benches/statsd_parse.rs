//! `inputs.statsd` throughput: packets (and lines) per second folded into the aggregate, on
//! DogStatsD-style packets of 10 lines (counters with a sample rate, gauges, timings, sets,
//! 3 tags each) over 1,000 series, as clients send them; and the cost of one flush of those
//! series (percentiles included). No socket: this is the parse + aggregate path the receive
//! loop runs per datagram. Printed first: allocations per packet for series already known
//! (the steady state within an interval) and per line when every series is new (the first
//! packets after a flush), counted by a wrapping global allocator (`stats_alloc`).
//!
//! `cargo bench -p gleaner-inputs --bench statsd_parse`

use std::alloc::System;
use std::hint::black_box;

use criterion::{BatchSize, Criterion, Throughput, criterion_group, criterion_main};
use gleaner_inputs::statsd::aggregator_from_toml;
use stats_alloc::{INSTRUMENTED_SYSTEM, Region, StatsAlloc};

#[global_allocator]
static GLOBAL: &StatsAlloc<System> = &INSTRUMENTED_SYSTEM;

const LINES_PER_PACKET: usize = 10;

/// 100 packets of 10 lines: 1,000 distinct series.
fn packets() -> Vec<Vec<u8>> {
    (0..100)
        .map(|p| {
            let mut s = String::new();
            for l in 0..LINES_PER_PACKET {
                let i = p * LINES_PER_PACKET + l;
                let line = match i % 4 {
                    0 => format!("app.requests.count:1|c|@0.5|#env:prod,service:api,route:r{i}"),
                    1 => format!(
                        "app.queue.depth:{}|g|#env:prod,service:api,queue:q{i}",
                        i * 3
                    ),
                    2 => format!(
                        "app.request.latency:{}.{}|ms|#env:prod,service:api,route:r{i}",
                        i % 250,
                        i % 10
                    ),
                    _ => format!(
                        "app.users.unique:user{}|s|#env:prod,service:api,page:p{i}",
                        i * 7
                    ),
                };
                s.push_str(&line);
                s.push('\n');
            }
            s.into_bytes()
        })
        .collect()
}

/// Allocations per packet with known series, and per line with new series.
fn report(packets: &[Vec<u8>]) {
    let mut agg = aggregator_from_toml("").expect("default config");
    // Warm up: every series exists, timing reservoirs and set tables have grown.
    for _ in 0..2_000 {
        for p in packets {
            agg.ingest(p);
        }
    }
    let rounds = 100;
    let region = Region::new(GLOBAL);
    for _ in 0..rounds {
        for p in packets {
            black_box(agg.ingest(p));
        }
    }
    let known = region.change().allocations as f64 / (rounds * packets.len()) as f64;
    drop(agg.flush(0, tokio::time::Instant::now()));
    let region = Region::new(GLOBAL);
    for p in packets {
        black_box(agg.ingest(p));
    }
    let new = region.change().allocations as f64 / (packets.len() * LINES_PER_PACKET) as f64;
    println!(
        "statsd allocations: {known:.3} per packet of known series, {new:.1} per line of a new series"
    );
}

fn bench(c: &mut Criterion) {
    let packets = packets();
    report(&packets);
    let bytes: usize = packets.iter().map(Vec::len).sum();
    let mut g = c.benchmark_group("statsd");
    g.throughput(Throughput::Elements(packets.len() as u64));
    g.bench_function("ingest_packets_10_lines", |b| {
        let mut agg = aggregator_from_toml("").expect("default config");
        b.iter(|| {
            for p in &packets {
                black_box(agg.ingest(p));
            }
        });
    });
    g.throughput(Throughput::Bytes(bytes as u64));
    g.bench_function("ingest_bytes", |b| {
        let mut agg = aggregator_from_toml("").expect("default config");
        b.iter(|| {
            for p in &packets {
                black_box(agg.ingest(p));
            }
        });
    });
    g.throughput(Throughput::Elements(1_000));
    g.bench_function("flush_1000_series", |b| {
        let now = tokio::time::Instant::now();
        b.iter_batched(
            || {
                let mut agg = aggregator_from_toml("").expect("default config");
                for _ in 0..10 {
                    for p in &packets {
                        agg.ingest(p);
                    }
                }
                agg
            },
            |mut agg| black_box(agg.flush(0, now)),
            BatchSize::SmallInput,
        );
    });
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
