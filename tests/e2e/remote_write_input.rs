//! `inputs.remote_write` end to end.
//!
//! - The round trip, in process: a `WriteRequest` decoded by the input and encoded by
//!   `outputs.remote_write` holds exactly the samples it came with (names, labels, value
//!   bits, millisecond timestamps), for generated requests (proptest) as Prometheus sends
//!   them: valid names, sorted labels, one series possibly in several entries.
//! - A real Prometheus 2.x (A) scrapes a real node_exporter every second and remote-writes
//!   to the binary's `inputs.remote_write`, which forwards through `outputs.remote_write` to
//!   a second Prometheus (B): every sample A stored up to a scrape is stored in B, same
//!   series, same timestamp, same value, and nothing else.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use gleaner_api::prompb::{Label, Sample, TimeSeries, WriteRequest};
use gleaner_api::{Batch, BuildContext, PluginConfig};
use gleaner_e2e::peers::{Peer, encode_query_value};
use gleaner_e2e::{Agent, free_port};
use proptest::prelude::*;
use prost::Message as _;
use serde_json::Value;

/// One sample with its series: sorted labels (`__name__` among them), ms, value bits.
type Flat = (Vec<(String, String)>, i64, u64);

/// The samples of a request, sorted (the order of entries and of series is not kept by the
/// encoder, which groups samples per series).
fn flatten(req: &WriteRequest) -> Vec<Flat> {
    let mut out: Vec<Flat> = req
        .timeseries
        .iter()
        .flat_map(|ts| {
            let mut labels: Vec<(String, String)> = ts
                .labels
                .iter()
                .map(|l| (l.name.clone(), l.value.clone()))
                .collect();
            labels.sort();
            ts.samples
                .iter()
                .map(move |s| (labels.clone(), s.timestamp, canonical_bits(s.value)))
        })
        .collect();
    out.sort();
    out
}

/// Bits of a value as protobuf carries them: -0.0 is the default 0 and is not written, by
/// Prometheus as by us, so it arrives as 0.0.
fn canonical_bits(v: f64) -> u64 {
    if v == 0.0 { 0 } else { v.to_bits() }
}

/// `req` through `inputs.remote_write`'s decoder and `outputs.remote_write`'s encoder.
fn through_gleaner(req: &WriteRequest) -> WriteRequest {
    let decoded = gleaner_inputs::remote_write::decode::decode(&req.encode_to_vec())
        .expect("a valid request decodes");
    let metrics: Vec<_> = decoded.pieces(1000).flatten().collect();
    let id = "outputs.remote_write.0";
    let cfg = PluginConfig::from_toml_str(id, "url = \"http://127.0.0.1:1/api/v1/write\"\n")
        .expect("toml");
    let out = (gleaner_outputs::remote_write::DESCRIPTOR.build)(&cfg, &BuildContext::for_test(id))
        .expect("build");
    let mut buf = Vec::new();
    let report = out
        .encode(&Batch::Metrics(metrics), &mut buf)
        .expect("encode");
    assert_eq!(report.skipped, 0);
    WriteRequest::decode(buf.as_slice()).expect("the output's request decodes")
}

fn name_strategy(metric: bool) -> impl Strategy<Value = String> {
    if metric {
        "[a-zA-Z_:][a-zA-Z0-9_:]{0,12}".boxed()
    } else {
        // `__`-prefixed names are reserved by Prometheus (`__name__` is added apart).
        "[a-zA-Z][a-zA-Z0-9_]{0,8}|_[a-zA-Z0-9][a-zA-Z0-9_]{0,6}".boxed()
    }
}

fn value_strategy() -> impl Strategy<Value = f64> {
    prop_oneof![
        any::<f64>(),
        Just(f64::from_bits(0x7ff0_0000_0000_0002)),
        Just(f64::INFINITY),
        Just(0.0),
        (-1000i32..1000).prop_map(f64::from),
    ]
}

/// A series as Prometheus sends one: a name, unique sorted labels with non-empty values, and
/// samples at distinct, increasing milliseconds.
fn series_strategy() -> impl Strategy<Value = TimeSeries> {
    (
        name_strategy(true),
        prop::collection::btree_map(name_strategy(false), "\\PC{1,8}", 0..5),
        prop::collection::btree_map(
            -9_000_000_000_000i64..9_000_000_000_000,
            value_strategy(),
            1..4,
        ),
    )
        .prop_map(|(name, labels, samples)| {
            let mut labels: Vec<Label> = labels
                .into_iter()
                .map(|(name, value)| Label { name, value })
                .collect();
            labels.push(Label {
                name: "__name__".to_owned(),
                value: name,
            });
            labels.sort_by(|a, b| a.name.cmp(&b.name));
            TimeSeries {
                labels,
                samples: samples
                    .into_iter()
                    .map(|(timestamp, value)| Sample { value, timestamp })
                    .collect(),
                ..TimeSeries::default()
            }
        })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]
    #[test]
    fn a_request_received_and_sent_on_comes_out_identical(
        series in prop::collection::vec(series_strategy(), 0..8),
        split in any::<bool>(),
    ) {
        // Series sharing a label set would be one series with both sample lists: keep one.
        let mut seen = std::collections::BTreeSet::new();
        let mut timeseries: Vec<TimeSeries> = series
            .into_iter()
            .filter(|ts| seen.insert(ts.labels.clone()))
            .collect();
        if split {
            // Prometheus sends each sample of a series as its own entry.
            timeseries = timeseries
                .into_iter()
                .flat_map(|ts| {
                    ts.samples.clone().into_iter().map(move |s| TimeSeries {
                        labels: ts.labels.clone(),
                        samples: vec![s],
                        ..TimeSeries::default()
                    })
                })
                .collect();
        }
        let req = WriteRequest { timeseries, metadata: vec![] };
        prop_assert_eq!(flatten(&through_gleaner(&req)), flatten(&req));
    }
}

#[test]
fn a_series_of_node_exporter_comes_out_as_it_went_in() {
    let req = WriteRequest {
        timeseries: vec![TimeSeries {
            labels: [
                ("__name__", "node_cpu_seconds_total"),
                ("cpu", "0"),
                ("instance", "127.0.0.1:9100"),
                ("job", "node"),
                ("mode", "idle"),
            ]
            .iter()
            .map(|(n, v)| Label {
                name: (*n).to_owned(),
                value: (*v).to_owned(),
            })
            .collect(),
            samples: vec![
                Sample {
                    value: 12345.67,
                    timestamp: 1_700_000_000_123,
                },
                Sample {
                    value: f64::from_bits(0x7ff0_0000_0000_0002),
                    timestamp: 1_700_000_001_123,
                },
            ],
            ..TimeSeries::default()
        }],
        metadata: vec![],
    };
    // Not just the same samples: the same message, byte for byte.
    assert_eq!(through_gleaner(&req).encode_to_vec(), req.encode_to_vec());
}

// ---------------------------------------------------------------- Prometheus → Gleaner → Prometheus

/// Every sample of `{job="node"}` in `prom` at or before `until` (seconds, as Prometheus
/// prints them): series (labels with `__name__`) → [(timestamp, value)].
fn samples(prom: &Peer, until: &str) -> BTreeMap<BTreeMap<String, String>, Vec<(String, String)>> {
    let q = encode_query_value("{job=\"node\"}[10m]");
    let r = prom.get(&format!("/api/v1/query?query={q}&time={until}"));
    assert_eq!(r.status, 200, "{}", r.body);
    let v: Value = serde_json::from_str(&r.body).expect("json");
    let mut out = BTreeMap::new();
    for s in v["data"]["result"].as_array().into_iter().flatten() {
        let labels: BTreeMap<String, String> = s["metric"]
            .as_object()
            .expect("metric")
            .iter()
            .map(|(k, v)| (k.clone(), v.as_str().expect("label").to_owned()))
            .collect();
        let points = s["values"]
            .as_array()
            .expect("values")
            .iter()
            .map(|p| (p[0].to_string(), p[1].as_str().expect("value").to_owned()))
            .collect();
        out.insert(labels, points);
    }
    out
}

/// The timestamps of the scrapes of `up{job="node"}` stored in `prom` so far.
fn scrapes(prom: &Peer) -> Vec<String> {
    let q = encode_query_value("up{job=\"node\"}[10m]");
    let r = prom.get(&format!("/api/v1/query?query={q}"));
    let v: Value = serde_json::from_str(&r.body).unwrap_or(Value::Null);
    v["data"]["result"][0]["values"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|p| p[0].to_string())
        .collect()
}

#[test]
fn prometheus_forwards_node_exporter_through_gleaner_unchanged() {
    let node = Peer::node_exporter();
    let sink = Peer::prometheus();
    let listen = format!("127.0.0.1:{}", free_port());
    let config = format!(
        r#"[agent]
omit_hostname = true
flush_interval = "100ms"
http_listen = "{{telemetry}}"
data_dir = "{{dir}}/data"

[[inputs.remote_write]]
listen = "{listen}"

[[outputs.remote_write]]
url = "http://{sink}/api/v1/write"
"#,
        sink = sink.addr
    );
    let agent = Agent::start(&config);
    let source = Peer::prometheus_with_config(&format!(
        r#"global:
  scrape_interval: 1s
scrape_configs:
  - job_name: node
    static_configs:
      - targets: ["{node}"]
remote_write:
  - url: http://{listen}/api/v1/write
    queue_config:
      batch_send_deadline: 500ms
      min_backoff: 100ms
      max_backoff: 1s
"#,
        node = node.addr
    ));

    // Three scrapes stored in the source; the samples up to the third are fixed from then on.
    let deadline = Instant::now() + Duration::from_secs(60);
    let until = loop {
        let s = scrapes(&source);
        if s.len() >= 3 {
            break s[2].clone();
        }
        assert!(
            Instant::now() < deadline,
            "node_exporter not scraped: {s:?}\n{}",
            source.log()
        );
        std::thread::sleep(Duration::from_millis(200));
    };
    let want = samples(&source, &until);
    let total: usize = want.values().map(Vec::len).sum();
    assert!(want.len() > 100, "only {} series scraped", want.len());
    assert!(
        total >= 3 * want.len(),
        "{total} samples of {} series",
        want.len()
    );

    // The sink catches up (the forwarding is asynchronous): wait until it holds them all.
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let got = samples(&sink, &until);
        if got == want {
            break;
        }
        if Instant::now() > deadline {
            let missing: Vec<_> = want
                .iter()
                .filter(|(k, v)| got.get(*k) != Some(v))
                .take(5)
                .collect();
            let extra: Vec<_> = got
                .iter()
                .filter(|(k, v)| want.get(*k) != Some(v))
                .take(5)
                .collect();
            panic!(
                "{} of {} series differ; first missing or different: {missing:#?}\nfirst extra or different: {extra:#?}\nagent:\n{}",
                want.iter().filter(|(k, v)| got.get(*k) != Some(v)).count(),
                want.len(),
                agent.stderr()
            );
        }
        std::thread::sleep(Duration::from_millis(200));
    }
    // The receiver counted what it took.
    agent.wait_metrics("remote_write's received samples", |m| {
        m.lines().any(|l| {
            l.starts_with(
                "gleaner_component_received_events_total{component_id=\"inputs.remote_write",
            ) && l.rsplit(' ').next().and_then(|n| n.parse::<usize>().ok()) >= Some(total)
        })
    });
}
