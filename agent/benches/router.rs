//! The router's cost per batch of metrics (1,000 metrics, 3 tags and 5 fields each): the
//! agent's tags added, no filter, one memory output queue, through the router task as an
//! input's batches go. `no_selectors` is the path of every config without selectors;
//! `selectors_keep_all` adds an input and an output selector that take every metric, their
//! own cost.

use std::collections::HashMap;
use std::sync::Arc;

use criterion::{BatchSize, Criterion, Throughput, criterion_group, criterion_main};
use gleaner::buffer::OutputBuffer;
use gleaner::buffer::memory::OutputQueue;
use gleaner::config::WhenFull;
use gleaner::pipeline::router::{Enrich, Route, Router};
use gleaner_api::selector::Selectors;
use gleaner_api::{Accepts, Batch, ComponentMetrics, Envelope, FieldValue, Metric};
use tokio::sync::mpsc;

const METRICS: usize = 1_000;

fn batch() -> Batch {
    Batch::Metrics(
        (0..METRICS)
            .map(|i| {
                let mut m = Metric::new("cpu", 1_700_000_000_000_000_000 + i as i64)
                    .with_tag("cpu", format!("cpu{}", i % 8))
                    .with_tag("env", "prod")
                    .with_tag("pod", format!("web-{}", i % 50));
                for f in [
                    "usage_user",
                    "usage_system",
                    "usage_idle",
                    "usage_iowait",
                    "time_raw",
                ] {
                    m = m.with_field(f, FieldValue::Float(i as f64));
                }
                m
            })
            .collect(),
    )
}

fn selectors(text: &str) -> Option<Arc<Selectors>> {
    let t = toml::de::DeTable::parse(text).expect("toml");
    Selectors::from_table(t.get_ref(), "bench")
        .expect("valid")
        .map(Arc::new)
}

fn bench(c: &mut Criterion) {
    let rt = tokio::runtime::Builder::new_current_thread()
        .build()
        .expect("runtime");
    let mut g = c.benchmark_group("router");
    g.throughput(Throughput::Elements(METRICS as u64));
    let cases = [
        ("no_selectors", None, None),
        (
            "selectors_keep_all",
            selectors("namedrop = [\"debug_*\"]\n[tagdrop]\nenv = [\"dev*\"]\n"),
            selectors("namepass = [\"cpu*\"]\ntagexclude = [\"secret\"]\n"),
        ),
    ];
    for (name, input_sel, output_sel) in cases {
        let metrics = ComponentMetrics::detached("out");
        let queue = Arc::new(OutputQueue::new(
            16,
            u64::MAX,
            WhenFull::Block,
            metrics.clone(),
        ));
        let route = Route {
            globs: None,
            accepts: Accepts::BOTH,
            buffer: OutputBuffer::Memory(Arc::clone(&queue)),
            selectors: output_sel,
            metrics,
        };
        let enrich = Enrich {
            tags: vec![("host".into(), "node-1".into())],
        };
        let input: Arc<str> = Arc::from("inputs.bench.0");
        let mut by_input = HashMap::new();
        if let Some(s) = input_sel {
            by_input.insert(Arc::clone(&input), s);
        }
        let router =
            Router::new(vec![], vec![route], enrich, HashMap::new()).with_input_selectors(by_input);
        let (tx, rx) = mpsc::channel(4);
        // No reloads here: the update channel closes at once and is not polled again.
        let (_, updates) = mpsc::channel(1);
        rt.spawn(router.run(rx, updates));
        let template = batch();
        g.bench_function(name, |b| {
            b.iter_batched(
                || template.clone(),
                |batch| {
                    rt.block_on(async {
                        let env = Envelope {
                            input: Arc::clone(&input),
                            batch,
                            ack: None,
                            permit: None,
                        };
                        tx.send(env).await.expect("router running");
                        queue.pop().await.expect("a batch")
                    })
                },
                BatchSize::SmallInput,
            );
        });
    }
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
