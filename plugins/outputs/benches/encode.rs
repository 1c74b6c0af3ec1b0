//! Encode throughput of the outputs, through their registry descriptors (what the delivery
//! worker calls): influxdb on 1000 host-style metrics (8 fields) and 1000 Prometheus-style
//! metrics (one field each), remote_write on the same two sets (protobuf, before snappy) plus
//! the snappy step, splunk_hec on 1000 container log records, 1000 parsed records (typed
//! `log.*` attributes: the event is an object) and 1000 metrics, and the JSON lines of stdout
//! and file on the same logs and metrics (`format = "json"`). Throughput is reported in
//! events; bytes are the encoded payload.

use std::hint::black_box;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use gleaner_api::{
    Batch, BuildContext, FieldValue, LogRecord, Metric, MetricKind, Output, PluginConfig, Stream,
};

const EVENTS: usize = 1000;
const T0: i64 = 1_700_000_000_000_000_000;

fn host_metrics() -> Vec<Metric> {
    gleaner_api::test_util::events::host_metrics(EVENTS, T0)
}

fn prometheus_metrics() -> Vec<Metric> {
    (0..EVENTS)
        .map(|i| {
            Metric::new("prometheus", T0 + i as i64 * 1_000_000)
                .with_kind(MetricKind::Counter)
                .with_tag("instance", "10.0.3.17:9100")
                .with_tag("job", "node")
                .with_tag("device", format!("sda{}", i % 8))
                .with_tag("mode", "user")
                .with_field(
                    "node_disk_read_bytes_total",
                    FieldValue::Float(1e9 + i as f64),
                )
        })
        .collect()
}

fn logs() -> Vec<LogRecord> {
    (0..EVENTS)
        .map(|i| {
            let body = format!(
                "2026-11-21T04:00:{:02}.123Z INFO  [http-nio-8080-exec-{}] c.e.shop.OrderController - order {} placed by customer 4711 total=129.90 EUR items=3 latency_ms=42",
                i % 60,
                i % 32,
                100_000 + i
            );
            LogRecord::new(T0 + i as i64 * 1_000_000, body, Stream::Stdout)
                .with_attribute(
                    "file",
                    FieldValue::String(
                        "/var/log/pods/shop_web-7d9f_0b7e6a52/app/0.log".into(),
                    ),
                )
                .with_attribute("k8s.namespace", FieldValue::String("shop".into()))
                .with_attribute("k8s.pod", FieldValue::String("web-7d9f".into()))
                .with_attribute("k8s.container", FieldValue::String("app".into()))
        })
        .collect()
}

/// The same records after a `parse` filter: typed `log.*` members (strings, integers,
/// floats, a boolean), so the event is a JSON object of typed values.
fn parsed_logs() -> Vec<LogRecord> {
    logs()
        .into_iter()
        .enumerate()
        .map(|(i, r)| {
            r.with_attribute("log.level", FieldValue::String("INFO".into()))
                .with_attribute("log.order", FieldValue::Int(100_000 + i as i64))
                .with_attribute("log.total", FieldValue::Float(129.9 + i as f64 / 100.0))
                .with_attribute(
                    "log.latency_s",
                    FieldValue::Float(0.042 * (1 + i % 7) as f64),
                )
                .with_attribute("log.paid", FieldValue::Bool(i % 2 == 0))
        })
        .collect()
}

fn output(name: &str, toml: &str) -> Box<dyn Output> {
    let desc = gleaner_outputs::OUTPUTS
        .iter()
        .find(|d| d.name == name)
        .expect("output");
    let id = format!("outputs.{name}.0");
    let cfg = PluginConfig::from_toml_str(&id, toml).expect("toml");
    (desc.build)(&cfg, &BuildContext::for_test(&id)).expect("build")
}

fn bench(c: &mut Criterion) {
    let influx = output("influxdb", "url = \"http://127.0.0.1:1\"\n");
    let rw = output("remote_write", "url = \"http://127.0.0.1:1\"\n");
    let hec = output(
        "splunk_hec",
        "endpoint = \"http://127.0.0.1:1\"\ntoken = \"t\"\n",
    );
    let stdout = output("stdout", "format = \"json\"\n");
    let cases: [(&str, &dyn Output, Batch); 10] = [
        (
            "influxdb/host_metrics",
            influx.as_ref(),
            Batch::Metrics(host_metrics()),
        ),
        (
            "influxdb/prometheus_metrics",
            influx.as_ref(),
            Batch::Metrics(prometheus_metrics()),
        ),
        (
            "remote_write/host_metrics",
            rw.as_ref(),
            Batch::Metrics(host_metrics()),
        ),
        (
            "remote_write/prometheus_metrics",
            rw.as_ref(),
            Batch::Metrics(prometheus_metrics()),
        ),
        ("splunk_hec/logs", hec.as_ref(), Batch::Logs(logs())),
        (
            "splunk_hec/parsed_logs",
            hec.as_ref(),
            Batch::Logs(parsed_logs()),
        ),
        (
            "splunk_hec/host_metrics",
            hec.as_ref(),
            Batch::Metrics(host_metrics()),
        ),
        ("json_lines/logs", stdout.as_ref(), Batch::Logs(logs())),
        (
            "json_lines/parsed_logs",
            stdout.as_ref(),
            Batch::Logs(parsed_logs()),
        ),
        (
            "json_lines/host_metrics",
            stdout.as_ref(),
            Batch::Metrics(host_metrics()),
        ),
    ];
    let mut g = c.benchmark_group("encode");
    g.throughput(Throughput::Elements(EVENTS as u64));
    for (name, out, batch) in &cases {
        let mut buf = Vec::new();
        out.encode(batch, &mut buf).expect("encode");
        eprintln!("{name}: {} bytes per {EVENTS} events", buf.len());
        g.bench_function(*name, |b| {
            b.iter(|| {
                buf.clear();
                out.encode(black_box(batch), &mut buf).expect("encode");
                black_box(buf.len())
            });
        });
    }
    let mut pb = Vec::new();
    rw.encode(&Batch::Metrics(prometheus_metrics()), &mut pb)
        .expect("encode");
    g.bench_function("remote_write/snappy_prometheus_metrics", |b| {
        b.iter(|| {
            snap::raw::Encoder::new()
                .compress_vec(black_box(&pb))
                .expect("snappy")
        });
    });
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
