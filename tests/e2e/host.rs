//! `inputs.host` against the real `prometheus-node-exporter` on this machine: scrape
//! node_exporter, gather with `gleaner --test`, scrape again, and compare memory total
//! (exact), the size of `/` (within 0.01 %), the CPU count (exact) and each interface's byte
//! counters (node_exporter's two reads bracket ours: traffic in between cannot break it).
//! Also: `collection_jitter` not shorter than the interval fails `gleaner check`.

use std::collections::BTreeMap;

use gleaner_e2e::peers::Peer;
use gleaner_e2e::run_cli;

/// One exposition sample: name, labels, value.
type Sample = (String, BTreeMap<String, String>, f64);

/// Minimal text-format parser: `name{k="v",...} value`, comments skipped (node_exporter's
/// label values here hold no escaped quotes or commas).
fn exposition(text: &str) -> Vec<Sample> {
    let mut out = Vec::new();
    for line in text
        .lines()
        .filter(|l| !l.starts_with('#') && !l.is_empty())
    {
        let Some((series, value)) = line.rsplit_once(' ') else {
            continue;
        };
        let Ok(value) = value.parse::<f64>() else {
            continue;
        };
        let (name, labels) = match series.split_once('{') {
            Some((n, rest)) => (n, rest.trim_end_matches('}')),
            None => (series, ""),
        };
        let labels = labels
            .split("\",")
            .filter_map(|kv| {
                let (k, v) = kv.split_once("=\"")?;
                Some((k.to_owned(), v.trim_end_matches('"').to_owned()))
            })
            .collect();
        out.push((name.to_owned(), labels, value));
    }
    out
}

fn value(samples: &[Sample], name: &str, label: Option<(&str, &str)>) -> Option<f64> {
    samples
        .iter()
        .find(|(n, l, _)| n == name && label.is_none_or(|(k, v)| l.get(k).is_some_and(|x| x == v)))
        .map(|s| s.2)
}

/// One line of line protocol: measurement, tags, integer fields.
struct Line {
    measurement: String,
    tags: BTreeMap<String, String>,
    fields: BTreeMap<String, f64>,
}

fn line_protocol(text: &str) -> Vec<Line> {
    text.lines()
        .filter_map(|l| {
            let mut parts = l.split(' ');
            let (head, fields) = (parts.next()?, parts.next()?);
            let mut head = head.split(',');
            let measurement = head.next()?.to_owned();
            let tags = head
                .filter_map(|kv| kv.split_once('='))
                .map(|(k, v)| (k.to_owned(), v.to_owned()))
                .collect();
            let fields = fields
                .split(',')
                .filter_map(|kv| kv.split_once('='))
                .filter_map(|(k, v)| {
                    Some((k.to_owned(), v.trim_end_matches(['i', 'u']).parse().ok()?))
                })
                .collect();
            Some(Line {
                measurement,
                tags,
                fields,
            })
        })
        .collect()
}

fn scrape(peer: &Peer) -> Vec<Sample> {
    let r = peer.get("/metrics");
    assert_eq!(r.status, 200, "{}", peer.log());
    exposition(&r.body)
}

#[test]
fn host_gather_agrees_with_node_exporter() {
    let peer = Peer::node_exporter();
    let dir = tempfile::tempdir().expect("tempdir");
    let cfg = dir.path().join("host.toml");
    std::fs::write(
        &cfg,
        format!(
            "[agent]\nomit_hostname = true\nhttp_listen = \"\"\n\
             [[inputs.host]]\ncollect = [\"mem\", \"disk\", \"net\", \"system\"]\n\
             ignore_fs = []\nmount_points = [\"/\"]\n\
             [[outputs.file]]\npath = \"{}/unused.lp\"\n",
            dir.path().display()
        ),
    )
    .expect("config");

    let before = scrape(&peer);
    let (code, out, err) = run_cli(&["--config", cfg.to_str().expect("utf-8"), "--test"]);
    let after = scrape(&peer);
    assert_eq!(code, 0, "{err}");
    let ours = line_protocol(&out);
    let one = |m: &str| {
        ours.iter()
            .find(|l| l.measurement == m)
            .unwrap_or_else(|| panic!("no {m} line in:\n{out}"))
    };

    // Memory: MemTotal, exact (it does not move).
    let mem_total = one("mem").fields["total"];
    assert_eq!(
        Some(mem_total),
        value(&after, "node_memory_MemTotal_bytes", None)
    );

    // The size of /: both are statfs blocks times the block size.
    let root = ours
        .iter()
        .find(|l| l.measurement == "disk" && l.tags.get("path").is_some_and(|p| p == "/"))
        .unwrap_or_else(|| panic!("no disk line for /:\n{out}"));
    let size = value(
        &after,
        "node_filesystem_size_bytes",
        Some(("mountpoint", "/")),
    )
    .expect("node_exporter reports /");
    let total = root.fields["total"];
    assert!(
        (total - size).abs() <= size * 1e-4,
        "disk total {total} vs node_exporter {size}"
    );

    // CPUs: node_exporter has one idle series per CPU.
    let cpus = after
        .iter()
        .filter(|(n, l, _)| {
            n == "node_cpu_seconds_total" && l.get("mode").is_some_and(|m| m == "idle")
        })
        .count() as f64;
    assert!(cpus >= 1.0);
    assert_eq!(one("system").fields["n_cpus"], cpus);

    // Network: for every interface, node_exporter's read before ours <= ours <= its read after.
    let ifaces: Vec<&Line> = ours.iter().filter(|l| l.measurement == "net").collect();
    assert!(!ifaces.is_empty(), "no net lines:\n{out}");
    for l in &ifaces {
        let name = l.tags["interface"].as_str();
        for (ours_field, theirs) in [
            ("bytes_recv", "node_network_receive_bytes_total"),
            ("bytes_sent", "node_network_transmit_bytes_total"),
        ] {
            let lo = value(&before, theirs, Some(("device", name)))
                .unwrap_or_else(|| panic!("node_exporter lacks {theirs} for {name}"));
            let hi = value(&after, theirs, Some(("device", name))).expect("after");
            let v = l.fields[ours_field];
            assert!(
                lo <= v && v <= hi,
                "{name} {ours_field}: {lo} <= {v} <= {hi} fails"
            );
        }
    }
    let theirs = after
        .iter()
        .filter(|(n, _, _)| n == "node_network_receive_bytes_total")
        .count();
    assert_eq!(
        ifaces.len(),
        theirs,
        "the same interfaces (lo excluded by both)"
    );
}

#[test]
fn collection_jitter_must_be_shorter_than_the_interval() {
    let dir = tempfile::tempdir().expect("tempdir");
    let cfg = dir.path().join("jitter.toml");
    std::fs::write(
        &cfg,
        "[agent]\ninterval = \"10s\"\ncollection_jitter = \"2s\"\n[[inputs.host]]\n\
         [[inputs.host]]\ninterval = \"2s\"\n[[outputs.stdout]]\n",
    )
    .expect("config");
    let (code, out, err) = run_cli(&["check", "--config", cfg.to_str().expect("utf-8")]);
    assert_eq!(code, 2, "{out}{err}");
    assert!(
        err.contains(":5:1: inputs.host.1.collection_jitter: collection_jitter (2s) must be shorter than the interval (2s)"),
        "{err}"
    );
    assert!(
        !err.contains("inputs.host.0"),
        "the first input is fine: {err}"
    );
}
