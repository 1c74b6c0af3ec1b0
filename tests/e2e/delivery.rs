//! Delivery with `concurrency`: the agent keeps several requests in flight against a slow
//! receiver and still delivers every event exactly once; with `concurrency = 1`, never more
//! than one. The receiver holds each request until four were in flight at once (`Gather`),
//! so the test waits on its counters, not on time: an agent sending one at a time stalls it.

use std::time::Duration;

use gleaner_e2e::Agent;
use gleaner_e2e::workload::cri_gen::write_files;
use gleaner_e2e::workload::receiver::{Mode, Protocol, Receiver};
use gleaner_e2e::workload::scenario::{TOKEN, stop_agent, wait_delivered};

/// tail → disk buffer → splunk_hec, 500 events per request, `concurrency` given.
fn config(root: &std::path::Path, url: &str, concurrency: usize) -> String {
    format!(
        r#"[agent]
http_listen = "{{telemetry}}"
data_dir = "{{dir}}"
hostname = "e2e-node"

[[inputs.tail]]
paths = ["{}/*/*/*.log"]
format = "cri"
read_from_head = true

[[outputs.splunk_hec]]
endpoint = "{url}"
token = "{TOKEN}"
batch_max_events = 500
concurrency = {concurrency}
[outputs.splunk_hec.buffer]
type = "disk"
"#,
        root.display()
    )
}

fn run(mode: Mode, concurrency: usize) -> (Receiver, u64) {
    let root = tempfile::tempdir().expect("tempdir");
    let w = write_files(root.path(), 20_000, 4, 22);
    let rx = Receiver::start(Protocol::Hec);
    rx.set_mode(mode);
    let mut agent = Agent::start(&config(root.path(), &rx.url(), concurrency));
    let done = wait_delivered(&rx.tally, w.events, Duration::from_secs(30));
    stop_agent(&mut agent);
    assert!(
        done,
        "stalled at {} of {} events, at most {} requests in flight; agent log:\n{}",
        rx.tally.distinct(),
        w.events,
        rx.max_in_flight(),
        agent.stderr()
    );
    let v = rx.tally.verdict(w.events);
    assert_eq!(
        (v.lost, v.duplicated, v.unexpected),
        (0, 0, 0),
        "every event exactly once"
    );
    (rx, w.events)
}

#[test]
fn a_slow_receiver_gets_four_requests_at_once_and_every_event_once() {
    let (rx, events) = run(Mode::Gather(4), 4);
    assert_eq!(rx.max_in_flight(), 4, "concurrency = 4 is the limit");
    // 500 events per request at most.
    assert!(rx.requests() >= events / 500, "{} requests", rx.requests());
}

#[test]
fn concurrency_one_sends_one_request_at_a_time() {
    let (rx, _) = run(Mode::Slow(Duration::from_millis(5)), 1);
    assert_eq!(rx.max_in_flight(), 1);
}
