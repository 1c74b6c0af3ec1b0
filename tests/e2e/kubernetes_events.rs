//! `inputs.kubernetes_events` end to end: the real binary against the fake API server
//! (`gleaner_e2e::fake_kube`, serving `events.k8s.io/v1` Events with list, watch, bookmarks
//! and 410 Gone on demand) into `outputs.file`. Each event arrives once; a restart sends
//! nothing again; a 410 Gone re-lists without duplicates; a series that grows sends one new
//! record; namespaces are watched one by one. Waits are on the output file and `/metrics`,
//! never on time alone.

use std::collections::HashMap;
use std::path::Path;
use std::time::Duration;

use gleaner_e2e::Agent;
use gleaner_e2e::fake_kube::{FakeEvent, FakeKube, Verb};
use gleaner_e2e::logs::wait_output;
use serde_json::Value;

const ID: &str = "events";

/// The agent's config: `extra` goes into the input's table, `output` after the file output's.
fn config(kubeconfig: &Path, extra: &str, output: &str) -> String {
    format!(
        r#"[agent]
http_listen = "{{telemetry}}"
flush_interval = "100ms"
data_dir = "{{dir}}/data"

[[inputs.kubernetes_events]]
alias = "{ID}"
kubeconfig = {:?}
{extra}

[[outputs.file]]
path = "{{dir}}/out.json"
{output}"#,
        kubeconfig.display().to_string()
    )
}

/// The output's records, parsed.
fn records(agent: &Agent) -> Vec<Value> {
    std::fs::read_to_string(agent.path("out.json"))
        .unwrap_or_default()
        .lines()
        .map(|l| serde_json::from_str(l).expect("a JSON line"))
        .collect()
}

/// The string attribute `key` of a record.
fn attr<'a>(v: &'a Value, key: &str) -> &'a str {
    v[key].as_str().unwrap_or_default()
}

/// Records per event uid, with the counts they carry.
fn by_uid(agent: &Agent) -> HashMap<String, Vec<i64>> {
    let mut out: HashMap<String, Vec<i64>> = HashMap::new();
    for r in records(agent) {
        out.entry(attr(&r, "k8s.event.uid").to_owned())
            .or_default()
            .push(r["k8s.event.count"].as_i64().unwrap_or(-1));
    }
    out
}

/// Waits until the output holds a record of every uid in `uids`.
fn wait_uids(agent: &Agent, uids: &[&str]) {
    wait_output(
        &agent.path("out.json"),
        Duration::from_secs(60),
        &format!("events {uids:?}"),
        |lines| {
            uids.iter()
                .all(|u| lines.iter().any(|l| l.contains(&format!("\"{u}\""))))
        },
    );
}

/// The value of the input's plugin figure `name` on `/metrics`.
fn figure(body: &str, name: &str) -> f64 {
    let metric = format!("gleaner_kubernetes_events_{name}{{");
    body.lines()
        .filter(|l| l.starts_with(&metric) && l.contains(&format!("\"{ID}\"")))
        .find_map(|l| l.rsplit(' ').next()?.parse().ok())
        .unwrap_or(0.0)
}

fn wait_figure(agent: &Agent, name: &str, at_least: f64) {
    agent.wait_metrics(&format!("{name} >= {at_least}"), |b| {
        figure(b, name) >= at_least
    });
}

fn event(uid: &str, note: &str) -> FakeEvent {
    FakeEvent::new("shop", uid, "Scheduled", note, &format!("pod-{uid}"))
}

#[test]
fn events_arrive_once_each_and_a_restart_sends_none_again() {
    let kube = FakeKube::start();
    let dir = tempfile::tempdir().expect("tempdir");
    let kubeconfig = kube.write_kubeconfig(dir.path());
    for uid in ["ev-1", "ev-2", "ev-3"] {
        kube.apply_event(event(uid, &format!("listed {uid}")));
    }
    let mut agent = Agent::start(&config(&kubeconfig, "", ""));
    wait_uids(&agent, &["ev-1", "ev-2", "ev-3"]);
    wait_figure(&agent, "lists_total", 1.0);
    for uid in ["ev-4", "ev-5"] {
        kube.apply_event(event(uid, &format!("watched {uid}")));
    }
    wait_uids(&agent, &["ev-4", "ev-5"]);
    let first = records(&agent);
    let r = first
        .iter()
        .find(|r| attr(r, "k8s.event.uid") == "ev-4")
        .expect("ev-4");
    assert_eq!(attr(r, "message"), "watched ev-4");
    assert_eq!(attr(r, "k8s.event.reason"), "Scheduled");
    assert_eq!(attr(r, "k8s.event.regarding.kind"), "Pod");
    assert_eq!(attr(r, "k8s.pod"), "pod-ev-4");
    assert_eq!(attr(r, "k8s.namespace"), "shop");
    assert_eq!(attr(r, "k8s.event.reporting_controller"), "kubelet");

    // A graceful restart: every event is listed again, none is sent again.
    agent.signal("TERM");
    assert!(agent.wait_exit(Duration::from_secs(30)).success());
    agent.restart();
    wait_figure(&agent, "lists_total", 1.0);
    // Watched after the list: its record follows every record the list could have made.
    kube.apply_event(event("ev-6", "after the restart"));
    wait_uids(&agent, &["ev-6"]);
    let seen = by_uid(&agent);
    for uid in ["ev-1", "ev-2", "ev-3", "ev-4", "ev-5", "ev-6"] {
        assert_eq!(seen.get(uid).map(Vec::len), Some(1), "{uid}: {seen:?}");
    }
    let body = agent.wait_metrics("unchanged", |b| figure(b, "unchanged_total") >= 5.0);
    assert_eq!(figure(&body, "unchanged_total"), 5.0, "the relisted five");
}

#[test]
fn after_kill_9_what_was_committed_is_not_sent_again() {
    let kube = FakeKube::start();
    let dir = tempfile::tempdir().expect("tempdir");
    let kubeconfig = kube.write_kubeconfig(dir.path());
    for uid in ["k-1", "k-2", "k-3", "k-4"] {
        kube.apply_event(event(uid, "before the crash"));
    }
    // A memory buffer: the file holds exactly what was written before the crash (a disk
    // buffer would deliver its unacknowledged tail again, the output's own at-least-once).
    let mut agent = Agent::start(&config(
        &kubeconfig,
        "",
        "[outputs.file.buffer]\ntype = \"memory\"\n",
    ));
    wait_uids(&agent, &["k-1", "k-2", "k-3", "k-4"]);
    // Acknowledged by the buffer and committed: safe from here on.
    wait_figure(&agent, "committed_total", 4.0);
    agent.kill9();
    kube.apply_event(event("k-2", "before the crash").repeated(3));
    agent.restart();
    wait_figure(&agent, "lists_total", 1.0);
    kube.apply_event(event("k-5", "after the crash"));
    wait_uids(&agent, &["k-5"]);
    let seen = by_uid(&agent);
    for uid in ["k-1", "k-3", "k-4", "k-5"] {
        assert_eq!(seen.get(uid).map(Vec::len), Some(1), "{uid}: {seen:?}");
    }
    assert_eq!(seen["k-2"], [1, 3], "its growth while down is one record");
}

#[test]
fn a_410_relists_without_duplicates_and_a_grown_series_sends_one_record() {
    let kube = FakeKube::start();
    let dir = tempfile::tempdir().expect("tempdir");
    let kubeconfig = kube.write_kubeconfig(dir.path());
    kube.apply_event(event("ev-a", "first"));
    kube.apply_event(event("ev-b", "back-off").repeated(2));
    let agent = Agent::start(&config(&kubeconfig, "", ""));
    wait_uids(&agent, &["ev-a", "ev-b"]);
    wait_figure(&agent, "lists_total", 1.0);
    kube.bookmark();

    // 410 Gone on the next watch: the history is gone and the stream ends.
    kube.expire_watches();
    // Meanwhile ev-b's series grows, ev-a changes without a new occurrence, ev-c appears.
    kube.apply_event(event("ev-b", "back-off").repeated(5));
    kube.apply_event(event("ev-a", "first"));
    kube.apply_event(event("ev-c", "new during the outage"));
    wait_figure(&agent, "lists_total", 2.0);
    wait_figure(&agent, "watch_errors_total", 1.0);
    // Watched after the re-list.
    kube.apply_event(event("ev-b", "back-off").repeated(6));
    kube.apply_event(event("ev-d", "after the re-list"));
    wait_uids(&agent, &["ev-c", "ev-d"]);
    wait_output(
        &agent.path("out.json"),
        Duration::from_secs(60),
        "ev-b count 6",
        |lines| lines.iter().any(|l| l.contains("\"k8s.event.count\":6")),
    );
    let seen = by_uid(&agent);
    assert_eq!(seen["ev-a"], [1], "{seen:?}");
    assert_eq!(seen["ev-b"], [2, 5, 6], "one record per increase: {seen:?}");
    assert_eq!(seen["ev-c"], [1]);
    assert_eq!(seen["ev-d"], [1]);
    assert!(
        kube.count(Verb::List, "/apis/events.k8s.io/v1/events") >= 2,
        "re-listed: {:?}",
        kube.requests()
    );
}

#[test]
fn listed_namespaces_are_watched_one_by_one() {
    let kube = FakeKube::start();
    let dir = tempfile::tempdir().expect("tempdir");
    let kubeconfig = kube.write_kubeconfig(dir.path());
    kube.apply_event(FakeEvent::new("a", "in-a", "Pulled", "a", "pa"));
    kube.apply_event(FakeEvent::new("b", "in-b", "Pulled", "b", "pb"));
    kube.apply_event(FakeEvent::new("c", "in-c", "Pulled", "c", "pc"));
    let agent = Agent::start(&config(&kubeconfig, "namespaces = [\"a\", \"c\"]", ""));
    wait_figure(&agent, "lists_total", 2.0);
    kube.apply_event(FakeEvent::new("b", "in-b-2", "Pulled", "b", "pb"));
    kube.apply_event(FakeEvent::new("c", "in-c-2", "Pulled", "c", "pc"));
    wait_uids(&agent, &["in-a", "in-c", "in-c-2"]);
    let seen = by_uid(&agent);
    assert!(
        !seen.contains_key("in-b") && !seen.contains_key("in-b-2"),
        "{seen:?}"
    );
    assert_eq!(kube.count(Verb::List, "/apis/events.k8s.io/v1/events"), 0);
    assert_eq!(
        kube.count(Verb::List, "/apis/events.k8s.io/v1/namespaces/a/events"),
        1
    );
    assert_eq!(
        kube.count(Verb::Watch, "/apis/events.k8s.io/v1/namespaces/c/events"),
        1
    );
}
