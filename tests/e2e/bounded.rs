//! Honest at shutdown (issue 16, item 4), through the binary: `inputs.http_listener` →
//! memory buffers → an `outputs.influxdb` whose destination is down, and `outputs.file`.
//!
//! - SIGTERM with the destination down: the log names, per output, exactly how many events
//!   were abandoned, the request being retried included (it was left out: 9,500 of 10,000
//!   logged, or nothing at all for one 10,000-line write).

use std::time::{Duration, Instant};

use gleaner_e2e::{Agent, free_port, http};

/// The sum of a counter's samples whose labels contain `labels`.
fn counter(body: &str, name: &str, labels: &str) -> u64 {
    body.lines()
        .filter(|l| l.starts_with(name) && l.contains(labels))
        .filter_map(|l| l.rsplit(' ').next()?.parse::<f64>().ok())
        .sum::<f64>() as u64
}

/// POSTs until the answer is not a connection error (the listener may not be bound yet).
fn post(listen: &str, body: &[u8]) -> gleaner_e2e::HttpResponse {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        match http(listen, "POST", "/write", &[], body) {
            Ok(r) => return r,
            Err(e) => assert!(Instant::now() < deadline, "cannot post: {e}"),
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

fn down_config(listen: &str, down: u16) -> String {
    format!(
        r#"[agent]
omit_hostname = true
http_listen = "{{telemetry}}"
flush_interval = "100ms"
shutdown_timeout = "2s"

[[inputs.http_listener]]
listen = "{listen}"

[[outputs.influxdb]]
alias = "down"
url = "http://127.0.0.1:{down}"
database = "test"
timeout = "1s"
[outputs.influxdb.buffer]
type = "memory"
retry_initial_backoff = "100ms"
retry_max_backoff = "200ms"

[[outputs.file]]
alias = "up"
path = "{{dir}}/out.lp"
[outputs.file.buffer]
type = "memory"
"#
    )
}

/// The `events=` of the agent's "events abandoned at shutdown" line for `output`.
fn abandoned(stderr: &str, output: &str) -> Option<u64> {
    stderr
        .lines()
        .filter(|l| l.contains("events abandoned at shutdown") && l.contains(output))
        .find_map(|l| {
            l.split_whitespace()
                .find_map(|w| w.strip_prefix("events=")?.parse().ok())
        })
}

/// Starts an agent whose influxdb destination is down, writes `writes` bodies of `lines`
/// lines, waits until the output is retrying, stops it with SIGTERM; returns its log.
fn stop_while_retrying(writes: usize, lines: usize) -> String {
    let listen = format!("127.0.0.1:{}", free_port());
    let mut agent = Agent::start(&down_config(&listen, free_port()));
    for w in 0..writes {
        let body: String = (0..lines).map(|i| format!("m w={w}i,n={i}i\n")).collect();
        let r = post(&listen, body.as_bytes());
        assert_eq!(r.status, 204, "{}", r.body);
    }
    let total = (writes * lines) as u64;
    agent.wait_metrics("the file output has every event", |m| {
        counter(
            m,
            "gleaner_component_sent_events_total",
            "component_id=\"up\"",
        ) >= total
    });
    agent.wait_metrics("the influxdb output retrying", |m| {
        counter(
            m,
            "gleaner_output_retried_events_total",
            "component_id=\"down\"",
        ) > 0
    });
    agent.signal("TERM");
    let status = agent.wait_exit(Duration::from_secs(30));
    assert!(status.success(), "exit {status}:\n{}", agent.stderr());
    agent.stderr()
}

#[test]
fn sigterm_logs_every_abandoned_event_of_many_writes() {
    let log = stop_while_retrying(20, 500);
    assert_eq!(abandoned(&log, "output=down"), Some(10_000), "{log}");
    assert_eq!(abandoned(&log, "output=up"), None, "{log}");
}

#[test]
fn sigterm_logs_every_abandoned_event_of_one_large_write() {
    let log = stop_while_retrying(1, 10_000);
    assert_eq!(abandoned(&log, "output=down"), Some(10_000), "{log}");
}
