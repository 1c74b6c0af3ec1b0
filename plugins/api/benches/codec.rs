//! Throughput of the two encodings events go through on the hot path: the buffer's batch
//! codec (`codec::encode_batch` / `decode_batch`, on 1000 metrics and 1000 log records) and
//! line protocol (`encode_metric` / `parse_lines`, on 1000 metrics). Throughput is reported
//! in bytes of the encoded form.

use std::hint::black_box;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use gleaner_api::codec::{decode_batch, encode_batch};
use gleaner_api::line_protocol::{Precision, encode_metric, parse_lines};
use gleaner_api::test_util::events::host_metrics;
use gleaner_api::{Batch, FieldValue, LogRecord, Metric, Stream};

const EVENTS: usize = 1000;
const T0: i64 = 1_700_000_000_000_000_000;

/// `cpu` with 4 tags and 8 fields, as the host input produces it.
fn metrics() -> Vec<Metric> {
    host_metrics(EVENTS, T0)
}

/// Container log lines with ~200-byte bodies and 4 attributes, as the tail input produces.
fn logs() -> Vec<LogRecord> {
    (0..EVENTS)
        .map(|i| {
            let body = format!(
                "{{\"level\":\"info\",\"ts\":\"2024-05-01T12:00:{:02}.123Z\",\"msg\":\"request \
                 served\",\"method\":\"GET\",\"path\":\"/api/v1/items/{i}\",\"status\":200,\
                 \"duration_ms\":{},\"user_agent\":\"curl/8.5.0\"}}",
                i % 60,
                i % 97
            );
            LogRecord::new(T0 + i as i64, body, Stream::Stdout)
                .with_attribute(
                    "file",
                    FieldValue::String("/var/log/pods/default_web-7d9f_1234/web/0.log".into()),
                )
                .with_attribute("namespace", FieldValue::String("default".into()))
                .with_attribute("pod", FieldValue::String("web-7d9f8c6b5-x2k4q".into()))
                .with_attribute("container", FieldValue::String("web".into()))
        })
        .collect()
}

fn codec(c: &mut Criterion) {
    for (name, batch) in [
        ("metrics", Batch::Metrics(metrics())),
        ("logs", Batch::Logs(logs())),
    ] {
        let mut encoded = Vec::new();
        encode_batch(&batch, &mut encoded);
        let mut group = c.benchmark_group(format!("codec/{name}"));
        group.throughput(Throughput::Bytes(encoded.len() as u64));
        let mut buf = Vec::with_capacity(encoded.len());
        group.bench_function("encode_batch", |b| {
            b.iter(|| {
                buf.clear();
                encode_batch(black_box(&batch), &mut buf);
                black_box(buf.len())
            });
        });
        group.bench_function("decode_batch", |b| {
            b.iter(|| decode_batch(black_box(&encoded)).expect("bench batch decodes"));
        });
        group.finish();
    }
}

fn line_protocol(c: &mut Criterion) {
    let metrics = metrics();
    let mut encoded = Vec::new();
    for m in &metrics {
        encode_metric(m, &mut encoded);
    }
    let mut group = c.benchmark_group("line_protocol/metrics");
    group.throughput(Throughput::Bytes(encoded.len() as u64));
    let mut buf = Vec::with_capacity(encoded.len());
    group.bench_function("encode", |b| {
        b.iter(|| {
            buf.clear();
            for m in black_box(&metrics) {
                encode_metric(m, &mut buf);
            }
            black_box(buf.len())
        });
    });
    group.bench_function("parse", |b| {
        b.iter(|| {
            let out = parse_lines(black_box(&encoded), Precision::Nanoseconds, 0);
            assert_eq!(out.metrics.len(), EVENTS);
            out
        });
    });
    group.finish();
}

criterion_group!(benches, codec, line_protocol);
criterion_main!(benches);
