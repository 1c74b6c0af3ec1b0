//! `inputs.statsd` throughput: packets (and lines) per second folded into the aggregate, on
//! DogStatsD-style packets of 10 lines (counters with a sample rate, gauges, timings, sets,
//! 3 tags each) over 1,000 series, as clients send them; and the cost of one flush of those
//! series (percentiles included). No socket: this is the parse + aggregate path the receive
//! loop runs per datagram.

use std::hint::black_box;

use criterion::{BatchSize, Criterion, Throughput, criterion_group, criterion_main};
use gleaner_inputs::statsd::aggregator_from_toml;

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

fn bench(c: &mut Criterion) {
    let packets = packets();
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
