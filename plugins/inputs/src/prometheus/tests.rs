//! Input tests: config validation, and whole scrapes in once mode against a scripted
//! endpoint (`tests/server.rs`): mapping and target labels, formats, honor_*, keep/drop,
//! limits, failures (garbage, hang, status, size) shipping only `up` 0, auth, gzip; the
//! schedule's phases and target-set changes are in `tests/schedule.rs`, big (streamed) pages
//! in `tests/stream.rs`.

mod schedule;
mod server;
mod stream;

use std::sync::Arc;

use gleaner_api::test_util::input_context;
use gleaner_api::{
    Batch, BuildContext, ComponentMetrics, Duration, FieldValue, Metric, MetricKind, PluginConfig,
    RunMode,
};

use self::server::{Reply, Server};
use super::build_input;

const NODE: &[u8] = include_bytes!("../../testdata/prometheus/node_exporter.txt");
const TEXT: &str = "text/plain; version=0.0.4; charset=utf-8";
const OM: &str = "application/openmetrics-text; version=1.0.0; charset=utf-8";

fn context(interval_ms: u64) -> BuildContext {
    let mut cx = BuildContext::for_test("inputs.prometheus.0");
    cx.interval = Duration(std::time::Duration::from_millis(interval_ms));
    cx.metrics = ComponentMetrics::detached("prometheus");
    cx
}

fn config(toml: &str) -> PluginConfig {
    PluginConfig::from_toml_str("inputs.prometheus.0", toml).expect("toml")
}

fn build_err(toml: &str, interval_ms: u64) -> gleaner_api::ConfigError {
    match build_input(&config(toml), &context(interval_ms)) {
        Ok(_) => panic!("accepted:\n{toml}"),
        Err(e) => e,
    }
}

/// Builds from `toml` and scrapes every target once; returns the metrics and counters.
async fn once(toml: &str, interval_ms: u64) -> (Vec<Metric>, Arc<ComponentMetrics>) {
    let bcx = context(interval_ms);
    let input = build_input(&config(toml), &bcx).unwrap_or_else(|e| panic!("build: {e}"));
    let (cx, mut rx, _trigger) = input_context(&bcx, RunMode::Once, 64);
    let run = tokio::spawn(gleaner_api::Input::run(Box::new(input), cx));
    let mut out = Vec::new();
    while let Some(env) = rx.recv().await {
        if let Batch::Metrics(m) = env.batch {
            out.extend(m);
        }
    }
    run.await.expect("task").expect("run");
    (out, bcx.metrics)
}

fn value(ms: &[Metric], name: &str) -> Option<f64> {
    ms.iter().find_map(|m| match m.field(name) {
        Some(FieldValue::Float(v)) => Some(*v),
        _ => None,
    })
}

fn errors(m: &ComponentMetrics, reason: &str) -> u64 {
    m.snapshot()
        .errors
        .iter()
        .find(|(r, _)| *r == reason)
        .map_or(0, |(_, n)| *n)
}

/// Only the four synthetic series, with `up` 0.
fn assert_failed(ms: &[Metric]) {
    let names: Vec<&str> = ms.iter().map(|m| m.fields[0].0.as_str()).collect();
    assert_eq!(
        names,
        [
            "up",
            "scrape_duration_seconds",
            "scrape_samples_scraped",
            "scrape_samples_post_metric_relabeling"
        ],
        "nothing partial may ship"
    );
    assert_eq!(value(ms, "up"), Some(0.0));
}

#[test]
fn timeout_must_not_exceed_the_interval_and_unset_is_clamped_to_it() {
    let e = build_err("urls = [\"http://a:1/m\"]\ntimeout = \"11s\"", 10_000);
    assert_eq!(e.key.as_deref(), Some("inputs.prometheus.0.timeout"));
    assert!(e.message.contains("not longer than the interval"), "{e}");
    assert!(e.message.contains("timeout (11s)"), "{e}");
    let short =
        build_input(&config("urls = [\"http://a:1/m\"]"), &context(5_000)).expect("default");
    assert_eq!(
        short.settings.timeout,
        std::time::Duration::from_secs(5),
        "clamped to a short interval"
    );
    let long =
        build_input(&config("urls = [\"http://a:1/m\"]"), &context(60_000)).expect("default");
    assert_eq!(long.settings.timeout, std::time::Duration::from_secs(10));
    let equal = build_input(
        &config("urls = [\"http://a:1/m\"]\ntimeout = \"5s\""),
        &context(5_000),
    )
    .expect("a timeout equal to the interval");
    assert_eq!(equal.settings.timeout, std::time::Duration::from_secs(5));
}

#[test]
fn config_errors_name_the_key() {
    for (toml, key) in [
        ("urls = [\"ftp://a/m\"]", "urls"),
        ("urlz = []", "urlz"),
        ("shard = { index = 3, total = 3 }", "shard"),
        ("labels = { job = \"x\" }", "labels"),
        ("max_concurrent_scrapes = 0", "max_concurrent_scrapes"),
        ("password = \"p\"", "password"),
        ("bearer_token_file = \"/t\"\nusername = \"u\"", "username"),
        ("fallback_format = \"json\"", "fallback_format"),
    ] {
        let e = build_err(toml, 60_000);
        let shown = format!("{} {}", e.key.clone().unwrap_or_default(), e);
        assert!(shown.contains(key), "{toml}: {shown}");
    }
}

#[test]
fn the_sample_builds() {
    let sample = super::SAMPLE
        .replace("${SHARD_INDEX}", "0")
        .replace("${POD_NAME}", "gleaner-poller-0")
        .replace("${SHARD_TOTAL}", "1");
    let sample = sample.replace("# shard =", "shard =");
    let table = sample
        .trim_start_matches("[[inputs.prometheus]]\n")
        .replace("interval = \"15s\"\n", "");
    assert!(build_input(&config(&table), &context(60_000)).is_ok());
}

#[tokio::test]
async fn a_text_page_becomes_one_metric_per_sample_with_target_labels() {
    let server = Server::start(Reply::Page {
        content_type: TEXT,
        body: NODE.to_vec(),
        gzip: false,
    })
    .await;
    let (ms, counters) = once(
        &format!(
            "urls = [\"{}\"]\njob = \"node\"\nlabels = {{ team = \"infra\" }}",
            server.url
        ),
        60_000,
    )
    .await;
    let samples = NODE
        .split(|&b| b == b'\n')
        .filter(|l| !l.is_empty() && l[0] != b'#')
        .count();
    assert_eq!(ms.len(), samples + 4);
    let instance = server
        .url
        .trim_start_matches("http://")
        .trim_end_matches("/metrics");
    for m in &ms {
        assert_eq!(m.measurement, "prometheus");
        assert_eq!(m.fields.len(), 1);
        assert_eq!(m.tag("job"), Some("node"));
        assert_eq!(m.tag("instance"), Some(instance));
        assert_eq!(m.tag("team"), Some("infra"));
    }
    let cpu = ms
        .iter()
        .find(|m| m.fields[0].0 == "node_cpu_seconds_total" && m.tag("mode") == Some("idle"))
        .expect("cpu idle");
    assert_eq!(cpu.kind, MetricKind::Counter);
    assert_eq!(value(&ms, "up"), Some(1.0));
    assert_eq!(value(&ms, "scrape_samples_scraped"), Some(samples as f64));
    assert_eq!(errors(&counters, "scrape_parse"), 0);
    let head = server.requests()[0].to_ascii_lowercase();
    assert!(
        head.contains("application/openmetrics-text;version=1.0.0;q=0.5"),
        "{head}"
    );
    assert!(head.contains("accept-encoding: gzip\r\n"), "{head}");
    assert!(
        head.contains("x-prometheus-scrape-timeout-seconds: 10\r\n"),
        "{head}"
    );
}

#[tokio::test]
async fn openmetrics_pages_use_second_timestamps_and_honor_timestamps() {
    let page = "# TYPE a counter\na_total{x=\"1\"} 5 1700000000.5\n# TYPE g gauge\ng 2\n# EOF\n";
    let server = Server::start(Reply::Page {
        content_type: OM,
        body: page.into(),
        gzip: false,
    })
    .await;
    let (ms, _) = once(&format!("urls = [\"{}\"]", server.url), 60_000).await;
    let a = ms
        .iter()
        .find(|m| m.field("a_total").is_some())
        .expect("a_total");
    assert_eq!(a.timestamp, 1_700_000_000_500_000_000);
    let g = ms.iter().find(|m| m.field("g").is_some()).expect("g");
    assert_eq!(g.timestamp % 1_000_000, 0, "scrape time in whole ms");
    assert_eq!(g.kind, MetricKind::Gauge);
    let (ms, _) = once(
        &format!("urls = [\"{}\"]\nhonor_timestamps = false", server.url),
        60_000,
    )
    .await;
    let a = ms
        .iter()
        .find(|m| m.field("a_total").is_some())
        .expect("a_total");
    assert!(
        a.timestamp > 1_750_000_000_000_000_000,
        "scrape time, not the page's"
    );
    // The same page sent as text is rejected (OpenMetrics seconds are not 0.0.4 ms).
    server.set(Reply::Page {
        content_type: TEXT,
        body: page.into(),
        gzip: false,
    });
    let (ms, c) = once(&format!("urls = [\"{}\"]", server.url), 60_000).await;
    assert_failed(&ms);
    assert_eq!(errors(&c, "scrape_parse"), 1);
}

#[tokio::test]
async fn honor_labels_decides_clashes_like_prometheus() {
    let page = "m{job=\"page\",instance=\"p:1\",exported_job=\"x\",a=\"\"} 1\n";
    let server = Server::start(Reply::Page {
        content_type: TEXT,
        body: page.into(),
        gzip: false,
    })
    .await;
    let (ms, _) = once(&format!("urls = [\"{}\"]\njob = \"j\"", server.url), 60_000).await;
    let m = ms.iter().find(|m| m.field("m").is_some()).expect("m");
    assert_eq!(m.tag("job"), Some("j"));
    assert_eq!(m.tag("exported_exported_job"), Some("page"));
    assert_eq!(m.tag("exported_job"), Some("x"));
    assert_eq!(m.tag("exported_instance"), Some("p:1"));
    assert_eq!(m.tag("a"), None, "empty labels are absent");
    let (ms, _) = once(
        &format!(
            "urls = [\"{}\"]\njob = \"j\"\nhonor_labels = true",
            server.url
        ),
        60_000,
    )
    .await;
    let m = ms.iter().find(|m| m.field("m").is_some()).expect("m");
    assert_eq!(m.tag("job"), Some("page"));
    assert_eq!(m.tag("instance"), Some("p:1"));
    let up = ms.iter().find(|m| m.field("up").is_some()).expect("up");
    assert_eq!(
        up.tag("job"),
        Some("j"),
        "synthetic series keep the target labels"
    );
}

#[tokio::test]
async fn keep_and_drop_filter_names_before_the_limit() {
    let server = Server::start(Reply::Page {
        content_type: TEXT,
        body: NODE.to_vec(),
        gzip: true,
    })
    .await;
    let toml = format!(
        "urls = [\"{}\"]\nkeep = [\"node_cpu_*\", \"node_load*\"]\ndrop = [\"node_load15\"]\nsample_limit = 200",
        server.url
    );
    let (ms, c) = once(&toml, 60_000).await;
    assert_eq!(
        value(&ms, "up"),
        Some(1.0),
        "gzip page, within the limit after keep/drop"
    );
    assert!(ms.iter().any(|m| m.field("node_load1").is_some()));
    assert!(ms.iter().all(|m| m.field("node_load15").is_none()));
    let names: Vec<&str> = ms[..ms.len() - 4]
        .iter()
        .map(|m| m.fields[0].0.as_str())
        .collect();
    assert!(
        names
            .iter()
            .all(|n| n.starts_with("node_cpu_") || n.starts_with("node_load"))
    );
    assert_eq!(
        value(&ms, "scrape_samples_post_metric_relabeling"),
        Some(names.len() as f64)
    );
    assert_eq!(errors(&c, "sample_limit"), 0);
}

#[tokio::test]
async fn over_sample_limit_the_scrape_fails_whole() {
    let server = Server::start(Reply::Page {
        content_type: TEXT,
        body: NODE.to_vec(),
        gzip: false,
    })
    .await;
    let (ms, c) = once(
        &format!("urls = [\"{}\"]\nsample_limit = 100", server.url),
        60_000,
    )
    .await;
    assert_failed(&ms);
    assert!(value(&ms, "scrape_samples_scraped").is_some_and(|v| v > 100.0));
    assert_eq!(errors(&c, "sample_limit"), 1);
}

#[tokio::test]
async fn over_label_limit_the_scrape_fails_whole() {
    let page = "a{x=\"1\"} 1\nb{x=\"1\",y=\"2\",z=\"3\"} 1\n";
    let server = Server::start(Reply::Page {
        content_type: TEXT,
        body: page.into(),
        gzip: false,
    })
    .await;
    // a: __name__, x, instance, job = 4; b has 6.
    let (ms, c) = once(
        &format!("urls = [\"{}\"]\nlabel_limit = 5", server.url),
        60_000,
    )
    .await;
    assert_failed(&ms);
    assert_eq!(errors(&c, "label_limit"), 1);
    let (ms, _) = once(
        &format!("urls = [\"{}\"]\nlabel_limit = 6", server.url),
        60_000,
    )
    .await;
    assert_eq!(value(&ms, "up"), Some(1.0));
}

#[tokio::test]
async fn garbage_ships_nothing_partial() {
    let mut page = NODE.to_vec();
    page.extend_from_slice(b"this is { not a sample\n");
    let server = Server::start(Reply::Page {
        content_type: TEXT,
        body: page,
        gzip: false,
    })
    .await;
    let (ms, c) = once(&format!("urls = [\"{}\"]", server.url), 60_000).await;
    assert_failed(&ms);
    assert_eq!(errors(&c, "scrape_parse"), 1);
}

#[tokio::test]
async fn a_hanging_target_times_out_with_up_0() {
    let server = Server::start(Reply::Hang).await;
    let t = std::time::Instant::now();
    let (ms, c) = once(
        &format!("urls = [\"{}\"]\ntimeout = \"300ms\"", server.url),
        1_000,
    )
    .await;
    assert!(t.elapsed() < std::time::Duration::from_secs(5));
    assert_failed(&ms);
    assert!(value(&ms, "scrape_duration_seconds").is_some_and(|d| d >= 0.29));
    assert_eq!(errors(&c, "scrape_timeout"), 1);
}

#[tokio::test]
async fn status_size_and_connection_failures_count_their_reason() {
    let server = Server::start(Reply::Status(503)).await;
    let (ms, c) = once(&format!("urls = [\"{}\"]", server.url), 60_000).await;
    assert_failed(&ms);
    assert_eq!(errors(&c, "scrape_status"), 1);
    server.set(Reply::Page {
        content_type: TEXT,
        body: NODE.to_vec(),
        gzip: false,
    });
    let (ms, c) = once(
        &format!("urls = [\"{}\"]\nbody_size_limit = \"16KiB\"", server.url),
        60_000,
    )
    .await;
    assert_failed(&ms);
    assert_eq!(errors(&c, "body_size_limit"), 1);
    server.set(Reply::Page {
        content_type: TEXT,
        body: NODE.to_vec(),
        gzip: true,
    });
    let (ms, c) = once(
        &format!("urls = [\"{}\"]\nbody_size_limit = \"16KiB\"", server.url),
        60_000,
    )
    .await;
    assert_failed(&ms);
    assert_eq!(errors(&c, "scrape_gzip"), 1, "inflated size is limited too");
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .expect("bind")
        .local_addr()
        .expect("addr")
        .port();
    let (ms, c) = once(
        &format!("urls = [\"http://127.0.0.1:{port}/metrics\"]"),
        60_000,
    )
    .await;
    assert_failed(&ms);
    assert_eq!(errors(&c, "scrape_transport"), 1);
}

#[tokio::test]
async fn bearer_token_file_and_basic_auth_are_sent() {
    let server = Server::start(Reply::Page {
        content_type: TEXT,
        body: "a 1\n".into(),
        gzip: false,
    })
    .await;
    let dir = tempfile::tempdir().expect("tempdir");
    let token = dir.path().join("token");
    std::fs::write(&token, "s3cret\n").expect("write");
    let (ms, _) = once(
        &format!(
            "urls = [\"{}\"]\nbearer_token_file = \"{}\"",
            server.url,
            token.display()
        ),
        60_000,
    )
    .await;
    assert_eq!(value(&ms, "up"), Some(1.0));
    let head = server.requests()[0].to_ascii_lowercase();
    assert!(head.contains("authorization: bearer s3cret\r\n"), "{head}");
    let (_, _) = once(
        &format!(
            "urls = [\"{}\"]\nusername = \"u\"\npassword = \"p\"",
            server.url
        ),
        60_000,
    )
    .await;
    let head = server.requests()[1].to_ascii_lowercase();
    assert!(head.contains("authorization: basic dtpw\r\n"), "{head}");
}

#[tokio::test]
async fn several_targets_are_scraped_in_one_round() {
    let a = Server::start(Reply::Page {
        content_type: TEXT,
        body: "a 1\n".into(),
        gzip: false,
    })
    .await;
    let b = Server::start(Reply::Hang).await;
    let (ms, _) = once(
        &format!(
            "urls = [\"{}\", \"{}\"]\ntimeout = \"200ms\"\nmax_concurrent_scrapes = 1",
            a.url, b.url
        ),
        1_000,
    )
    .await;
    let ups: Vec<(String, f64)> = ms
        .iter()
        .filter_map(|m| {
            Some((
                m.tag("instance")?.to_owned(),
                match m.field("up")? {
                    FieldValue::Float(v) => *v,
                    _ => return None,
                },
            ))
        })
        .collect();
    assert_eq!(ups.len(), 2);
    assert!(
        ups.contains(&(
            a.url
                .trim_start_matches("http://")
                .trim_end_matches("/metrics")
                .to_owned(),
            1.0
        ))
    );
    assert!(
        ups.contains(&(
            b.url
                .trim_start_matches("http://")
                .trim_end_matches("/metrics")
                .to_owned(),
            0.0
        ))
    );
}

/// A page bigger than one batch goes down the pipeline in slices, every sample once.
#[tokio::test]
async fn a_big_page_is_sent_in_slices() {
    let body: String = (0..2_500).map(|i| format!("series_{i} {i}\n")).collect();
    let server = Server::start(Reply::Page {
        content_type: TEXT,
        body: body.into_bytes(),
        gzip: false,
    })
    .await;
    let bcx = context(60_000);
    let toml = format!("urls = [\"{}\"]", server.url);
    let input = build_input(&config(&toml), &bcx).unwrap_or_else(|e| panic!("build: {e}"));
    let (cx, mut rx, _trigger) = input_context(&bcx, RunMode::Once, 64);
    let run = tokio::spawn(gleaner_api::Input::run(Box::new(input), cx));
    let (mut sizes, mut names) = (Vec::new(), std::collections::BTreeSet::new());
    while let Some(env) = rx.recv().await {
        if let Batch::Metrics(m) = env.batch {
            sizes.push(m.len());
            names.extend(m.into_iter().map(|m| m.fields[0].0.clone()));
        }
    }
    run.await.expect("task").expect("run");
    assert_eq!(
        sizes,
        [1000, 1000, 504],
        "2,500 samples and 4 synthetic series"
    );
    assert_eq!(names.len(), 2_504);
    assert!(names.contains("series_2499") && names.contains("up"));
}
