//! `inputs.prometheus` end to end: the binary scrapes a real node_exporter and a real
//! Prometheus's own `/metrics` and writes them through `outputs.remote_write` into that
//! Prometheus; the stored series are those of a direct scrape of the same targets (names and
//! label sets identical; values equal for counters, histogram and summary counts and sums,
//! and info series that two direct reads, before and after, agree on). Failing targets (one
//! that hangs past the timeout, one that serves garbage, one over `sample_limit`) ship `up`
//! 0 and nothing else, and count their error. A page of 250,000 series (20 MB) is scraped
//! whole with the agent's peak RSS (VmHWM) bounded by a few times the page, not its metrics.

use std::collections::{BTreeMap, BTreeSet};
use std::time::{Duration, Instant};

use gleaner_e2e::exposition::{
    ACCEPT, Exposition, Page, SeriesKey, generated_page, monotonic_names, read_page,
};
use gleaner_e2e::peers::{Peer, encode_query_value};
use gleaner_e2e::{Agent, http};
use serde_json::Value;

/// The synthetic series the input adds per target.
const SYNTHETIC: [&str; 4] = [
    "up",
    "scrape_duration_seconds",
    "scrape_samples_scraped",
    "scrape_samples_post_metric_relabeling",
];

/// A direct scrape with the agent's `Accept`: series → value as written, and the names of
/// the series that only grow.
fn direct(addr: &str) -> (BTreeMap<SeriesKey, String>, BTreeSet<String>) {
    let r = http(addr, "GET", "/metrics", &[("Accept", ACCEPT)], b"").expect("direct scrape");
    assert_eq!(r.status, 200);
    (read_page(&r.body), monotonic_names(&r.body))
}

/// Latest value of every series of `job` in Prometheus, keyed without `job`/`instance`.
fn stored(prom: &Peer, job: &str, instance: &str) -> BTreeMap<SeriesKey, String> {
    let q = encode_query_value(&format!("{{job=\"{job}\"}}"));
    let r = prom.get(&format!("/api/v1/query?query={q}"));
    assert_eq!(r.status, 200, "{}", r.body);
    let v: Value = serde_json::from_str(&r.body).expect("json");
    let mut out = BTreeMap::new();
    for s in v["data"]["result"].as_array().into_iter().flatten() {
        let mut labels: BTreeMap<String, String> = s["metric"]
            .as_object()
            .expect("metric")
            .iter()
            .map(|(k, v)| (k.clone(), v.as_str().expect("label").to_owned()))
            .collect();
        let name = labels.remove("__name__").expect("name");
        assert_eq!(labels.remove("job").as_deref(), Some(job));
        assert_eq!(labels.remove("instance").as_deref(), Some(instance));
        out.insert(
            (name, labels),
            s["value"][1].as_str().expect("value").to_owned(),
        );
    }
    out
}

/// The value of an instant query with one result (`up{...}`, `timestamp(up{...})`).
fn scalar(prom: &Peer, query: &str) -> Option<f64> {
    let r = prom.get(&format!(
        "/api/v1/query?query={}",
        encode_query_value(query)
    ));
    let v: Value = serde_json::from_str(&r.body).ok()?;
    let s = v["data"]["result"].as_array()?.first()?.clone();
    s["value"][1].as_str()?.parse().ok()
}

/// `up` of `job` and the time (seconds) of that sample, if stored.
fn up(prom: &Peer, job: &str) -> Option<(f64, f64)> {
    let value = scalar(prom, &format!("up{{job=\"{job}\"}}"))?;
    let at = scalar(prom, &format!("timestamp(up{{job=\"{job}\"}})"))?;
    Some((value, at))
}

fn wait_until(what: &str, mut f: impl FnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(60);
    while !f() {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(100));
    }
}

fn same_value(a: &str, b: &str) -> bool {
    match (a.parse::<f64>(), b.parse::<f64>()) {
        (Ok(x), Ok(y)) => x == y || (x.is_nan() && y.is_nan()),
        _ => a == b,
    }
}

#[test]
fn node_exporter_and_prometheus_arrive_in_prometheus_as_scraped() {
    let prom = Peer::prometheus();
    let node = Peer::node_exporter();
    let config = format!(
        r#"[agent]
omit_hostname = true
interval = "2s"
flush_interval = "100ms"
http_listen = "{{telemetry}}"

[[inputs.prometheus]]
urls = ["http://{node}/metrics"]
job = "node"

[[inputs.prometheus]]
urls = ["http://{prom}/metrics"]
job = "prom"

[[outputs.remote_write]]
url = "http://{prom}/api/v1/write"
"#,
        node = node.addr,
        prom = prom.addr
    );
    let mut agent = Agent::start(&config);
    wait_until("both targets up in Prometheus", || {
        up(&prom, "node").is_some_and(|(v, _)| v == 1.0)
            && up(&prom, "prom").is_some_and(|(v, _)| v == 1.0)
    });
    // A, then one more agent scrape of each target, then stop the agent (it flushes), then B:
    // the last stored sample of every series was scraped between A and B.
    let (node_a, prom_a) = (direct(&node.addr), direct(&prom.addr));
    let since = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .expect("clock")
        .as_secs_f64();
    wait_until("a scrape after the direct one", || {
        up(&prom, "node").is_some_and(|(_, t)| t > since)
            && up(&prom, "prom").is_some_and(|(_, t)| t > since)
    });
    agent.signal("TERM");
    assert!(
        agent.wait_exit(Duration::from_secs(30)).success(),
        "{}",
        agent.stderr()
    );
    let (node_b, prom_b) = (direct(&node.addr), direct(&prom.addr));

    for (job, target, (a, monotonic), (b, _)) in [
        ("node", &node, node_a, node_b),
        ("prom", &prom, prom_a, prom_b),
    ] {
        let mut got = stored(&prom, job, &target.addr);
        for name in SYNTHETIC {
            assert!(got.keys().any(|(n, _)| n == name), "{job}: {name} missing");
            got.retain(|(n, _), _| n != name);
        }
        let (ka, kb, kg): (BTreeSet<_>, BTreeSet<_>, BTreeSet<_>) =
            (a.keys().collect(), b.keys().collect(), got.keys().collect());
        // Series only appear over time (a new handler label, a new write): A ⊆ stored ⊆ B;
        // node_exporter's set is stable, so for it the three are equal.
        let missing: Vec<_> = ka.difference(&kg).collect();
        assert!(
            missing.is_empty(),
            "{job}: scraped but not stored: {missing:?}"
        );
        let extra: Vec<_> = kg.difference(&kb).collect();
        assert!(
            extra.is_empty(),
            "{job}: stored but never scraped: {extra:?}"
        );
        if ka == kb {
            assert_eq!(kg, ka, "{job}: series sets differ");
        }
        let mut compared = 0;
        for (key, va) in &a {
            // Equal before and after means unchanged in between only for what can only
            // grow (a gauge or a quantile may move and come back), and for `*_info`.
            let steady = monotonic.contains(&key.0) || key.0.ends_with("_info");
            if steady && b.get(key).is_some_and(|vb| same_value(va, vb)) {
                let stored = &got[key];
                assert!(
                    same_value(va, stored),
                    "{job} {key:?}: scraped {va}, stored {stored}"
                );
                compared += 1;
            }
        }
        assert!(
            compared > 50,
            "{job}: only {compared} stable series compared"
        );
        assert!(got.len() > 100, "{job}: only {} series", got.len());
    }
}

/// The error counter of `input` for `reason` on the agent's `/metrics`.
fn error_count(metrics: &str, input: &str, reason: &str) -> u64 {
    let prefix = format!("gleaner_component_errors_total{{component_id=\"{input}\",");
    metrics
        .lines()
        .filter(|l| l.starts_with(&prefix) && l.contains(&format!("reason=\"{reason}\"}}")))
        .filter_map(|l| l.rsplit(' ').next()?.parse().ok())
        .next()
        .unwrap_or(0)
}

#[test]
fn failing_targets_ship_up_0_and_nothing_partial() {
    let node = Peer::node_exporter();
    let hang = Exposition::start(Page::Hang);
    let mut garbage_page = "ok_metric 1\n".repeat(50);
    garbage_page.push_str("this is { not exposition\n");
    let garbage = Exposition::start(Page::Body("text/plain; version=0.0.4", garbage_page));
    let config = format!(
        r#"[agent]
omit_hostname = true
interval = "1s"
flush_interval = "100ms"
http_listen = "{{telemetry}}"

[[inputs.prometheus]]
alias = "hang"
urls = ["{hang}"]
job = "hang"
timeout = "300ms"

[[inputs.prometheus]]
alias = "garbage"
urls = ["{garbage}"]
job = "garbage"

[[inputs.prometheus]]
alias = "limited"
urls = ["http://{node}/metrics"]
job = "limited"
sample_limit = 20

[[outputs.file]]
path = "{{dir}}/out.lp"
"#,
        hang = hang.url,
        garbage = garbage.url,
        node = node.addr
    );
    let agent = Agent::start(&config);
    let metrics = agent.wait_metrics("an error of each kind", |m| {
        error_count(m, "hang", "scrape_timeout") >= 1
            && error_count(m, "garbage", "scrape_parse") >= 1
            && error_count(m, "limited", "sample_limit") >= 1
    });
    assert_eq!(error_count(&metrics, "limited", "scrape_parse"), 0);
    let path = agent.path("out.lp");
    let mut lines = String::new();
    wait_until("up lines of the three jobs", || {
        lines = std::fs::read_to_string(&path).unwrap_or_default();
        ["hang", "garbage", "limited"].iter().all(|j| {
            lines
                .lines()
                .any(|l| l.contains(&format!("job={j}")) && l.contains(" up=0 "))
        })
    });
    for line in lines.lines().filter(|l| !l.is_empty()) {
        assert!(line.starts_with("prometheus,"), "{line}");
        let field = line
            .split(' ')
            .nth(1)
            .and_then(|f| f.split('=').next())
            .expect("field");
        assert!(SYNTHETIC.contains(&field), "a failed scrape shipped {line}");
        if field == "up" {
            assert!(line.contains(" up=0 "), "{line}");
        }
    }
    assert!(hang.requests() >= 1 && garbage.requests() >= 1);
    assert!(lines.lines().any(|l| l.contains("job=limited")
        && l.contains("scrape_samples_scraped=")
        && !l.contains("scrape_samples_scraped=0 ")));
}

/// `VmHWM` (peak resident set) of `pid`, in KiB.
fn peak_rss_kib(pid: u32) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).expect("read status");
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .expect("VmHWM in status")
}

/// The sum of `name` over the lines that carry `label`.
fn sum_of(body: &str, name: &str, label: &str) -> f64 {
    body.lines()
        .filter(|l| l.starts_with(name) && l.contains(label))
        .filter_map(|l| l.rsplit(' ').next()?.parse::<f64>().ok())
        .sum()
}

#[test]
fn a_big_page_is_scraped_in_bounded_memory() {
    // 100 families of 2,500 series with 3 labels: 250,000 samples in about 20 MB. Turned
    // whole into metrics (about 600 bytes each) it took the agent past 170 MiB.
    let page = generated_page(100, 2_500);
    let page_mib = page.len() as f64 / (1024.0 * 1024.0);
    let target = Exposition::start(Page::Body("text/plain; version=0.0.4", page));
    let config = format!(
        r#"[agent]
omit_hostname = true
interval = "1h"
flush_interval = "100ms"
http_listen = "{{telemetry}}"
data_dir = "{{dir}}/data"

[[inputs.prometheus]]
urls = ["{url}"]
interval = "5s"
timeout = "4s"

[[outputs.file]]
path = "{{dir}}/out.lp"
"#,
        url = target.url
    );
    let agent = Agent::start(&config);
    let pid = agent.child.id();
    let before = peak_rss_kib(pid);
    // Every sample and the four synthetic series of one scrape written out.
    agent.wait_metrics("one whole scrape written", |m| {
        sum_of(
            m,
            "gleaner_component_sent_events_total",
            "component_id=\"outputs.file.0\"",
        ) >= 250_004.0
    });
    let peak = peak_rss_kib(pid) as f64 / 1024.0;
    eprintln!(
        "page {page_mib:.1} MiB: peak RSS {peak:.1} MiB (at start {:.1} MiB)",
        before as f64 / 1024.0
    );
    assert!(
        peak < 3.0 * page_mib + 40.0,
        "peak RSS {peak:.1} MiB for a {page_mib:.1} MiB page"
    );
}
