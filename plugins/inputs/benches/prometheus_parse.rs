//! Parser throughput: MB/s and samples/s on a node_exporter page (captured in
//! testdata/prometheus/node_exporter.txt) and on a generated 10,000-series page, in text
//! 0.0.4 and OpenMetrics. Every sample's labels are read (unescaped) as the scraper does.
//!
//! The `adversarial_*` groups parse pages built to trip a quadratic parser (one line of many
//! escaped labels: the duplicate-label check; many families: the name-clash set) at 5,000 and
//! 50,000 repetitions. Their bytes/s must be about equal across the two sizes: a rate that
//! falls tenfold at ten times the size is a quadratic path. (This used to be a timed unit
//! test; timing belongs here, where noise is measured, not asserted.)

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use gleaner_inputs::prometheus::parse::{Format, parse};

const NODE: &[u8] = include_bytes!("../testdata/prometheus/node_exporter.txt");

/// 100 families of 100 series, 3 labels each, counters and gauges; OpenMetrics adds
/// `# EOF` and `_total` names.
fn generated(om: bool) -> Vec<u8> {
    let mut s = String::new();
    for f in 0..100 {
        let counter = f % 2 == 0;
        let family = format!("app_metric_{f}");
        s.push_str(&format!("# HELP {family} Generated family {f}.\n"));
        s.push_str(&format!(
            "# TYPE {family} {}\n",
            if counter { "counter" } else { "gauge" }
        ));
        let name = if counter && om {
            format!("{family}_total")
        } else {
            family.clone()
        };
        for i in 0..100 {
            s.push_str(&format!(
                "{name}{{namespace=\"ns-{}\",pod=\"pod-{f}-{i}\",container=\"app\"}} {}\n",
                i % 7,
                (f * 1000 + i) as f64 * 1.5
            ));
        }
    }
    if om {
        s.push_str("# EOF\n");
    }
    s.into_bytes()
}

/// Makes a page of `n` repetitions.
type PageMaker = fn(usize) -> Vec<u8>;

/// One sample with `n` labels whose values hold escapes.
fn many_labels(n: usize) -> Vec<u8> {
    let mut s = String::from("a{");
    for i in 0..n {
        s.push_str(&format!("l{i}=\"\\\\\\\"v\","));
    }
    s.push_str("z=\"\"} 1\n# EOF\n");
    s.into_bytes()
}

/// `n` counter families of one sample each.
fn many_families(n: usize) -> Vec<u8> {
    let mut s = String::new();
    for i in 0..n {
        s.push_str(&format!("# TYPE f{i} counter\nf{i}_total 1\n"));
    }
    s.push_str("# EOF\n");
    s.into_bytes()
}

fn count(page: &[u8], format: Format) -> usize {
    let mut label_bytes = 0usize;
    let n = parse(page, format, &mut |s| {
        for l in s.labels {
            label_bytes += l.value().len();
        }
    })
    .expect("valid page");
    std::hint::black_box(label_bytes);
    n
}

fn bench(c: &mut Criterion) {
    let pages = [
        ("node_exporter_text", NODE.to_vec(), Format::Text),
        ("generated_10k_text", generated(false), Format::Text),
        (
            "generated_10k_openmetrics",
            generated(true),
            Format::OpenMetrics,
        ),
    ];
    for (name, page, format) in &pages {
        let samples = count(page, *format) as u64;
        let mut g = c.benchmark_group(*name);
        g.throughput(Throughput::Bytes(page.len() as u64));
        g.bench_function("bytes", |b| b.iter(|| count(page, *format)));
        g.throughput(Throughput::Elements(samples));
        g.bench_function("samples", |b| b.iter(|| count(page, *format)));
        g.finish();
    }
    let adversarial: [(&str, PageMaker, Format); 3] = [
        ("adversarial_labels_text", many_labels, Format::Text),
        (
            "adversarial_labels_openmetrics",
            many_labels,
            Format::OpenMetrics,
        ),
        (
            "adversarial_families_openmetrics",
            many_families,
            Format::OpenMetrics,
        ),
    ];
    for (name, make, format) in adversarial {
        let mut g = c.benchmark_group(name);
        for n in [5_000usize, 50_000] {
            let page = make(n);
            g.throughput(Throughput::Bytes(page.len() as u64));
            g.bench_function(format!("{n}"), |b| b.iter(|| count(&page, format)));
        }
        g.finish();
    }
}

criterion_group!(benches, bench);
criterion_main!(benches);
