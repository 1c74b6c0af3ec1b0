//! The hub: nothing is taken while no client waits; a client gets the events of the
//! components it named, up to its limit; off and busy are refused.

use std::time::Duration;

use gleaner_api::glob::Glob;
use gleaner_api::{Batch, FieldValue, LogRecord, Metric, Stream};

use super::{MAX_CLIENTS, TapHub, TapRefused};

fn logs(n: usize) -> Batch {
    Batch::Logs(
        (0..n)
            .map(|i| LogRecord::new(i as i64, format!("line {i}"), Stream::Stdout))
            .collect(),
    )
}

/// Until `n` clients are registered (the spawned requests have run up to their wait).
async fn waiting_clients(hub: &TapHub, n: usize) {
    while hub.waiting.load(std::sync::atomic::Ordering::Relaxed) < n {
        tokio::task::yield_now().await;
    }
}

#[tokio::test(start_paused = true)]
async fn a_client_gets_the_named_components_events_up_to_its_limit() {
    let hub: &'static TapHub = Box::leak(Box::default());
    hub.set_enabled(true);
    hub.observe("inputs.tail.0", &logs(5)); // nobody waits: nothing kept
    let waiting = tokio::spawn(hub.collect(
        vec![Glob::new("inputs.tail.*")],
        3,
        Duration::from_secs(1),
        false,
    ));
    waiting_clients(hub, 1).await;
    hub.observe("filters.select.0", &logs(2)); // not named
    hub.observe("inputs.tail.0", &logs(2));
    let metric = Metric::new("cpu", 7).with_field("usage", FieldValue::Float(1.5));
    hub.observe(
        "inputs.tail.1",
        &Batch::Metrics(vec![metric.clone(), metric]),
    );
    let lines = waiting.await.expect("join").expect("collected");
    assert_eq!(lines.len(), 3, "{lines:?}");
    assert!(
        lines[0].starts_with("{\"component\":\"inputs.tail.0\",\"event\":{"),
        "{}",
        lines[0]
    );
    assert!(
        lines[0].contains("line 0") && lines[1].contains("line 1"),
        "{lines:?}"
    );
    assert!(
        lines[2].starts_with("{\"component\":\"inputs.tail.1\""),
        "{}",
        lines[2]
    );
    assert!(lines.iter().all(|l| l.ends_with("}\n")));
    assert_eq!(hub.waiting.load(std::sync::atomic::Ordering::Relaxed), 0);
}

#[tokio::test(start_paused = true)]
async fn off_and_busy_are_refused() {
    let hub: &'static TapHub = Box::leak(Box::default());
    let r = hub
        .collect(vec![Glob::new("*")], 1, Duration::from_millis(10), false)
        .await;
    assert_eq!(r, Err(TapRefused::Off));
    hub.set_enabled(true);
    let mut waiting = Vec::new();
    for _ in 0..MAX_CLIENTS {
        waiting.push(tokio::spawn(hub.collect(
            vec![Glob::new("*")],
            1,
            Duration::from_secs(1),
            false,
        )));
    }
    waiting_clients(hub, MAX_CLIENTS).await;
    let r = hub
        .collect(vec![Glob::new("*")], 1, Duration::from_millis(10), false)
        .await;
    assert_eq!(r, Err(TapRefused::Busy));
    for w in waiting {
        assert_eq!(w.await.expect("join"), Ok(Vec::new()));
    }
}

#[tokio::test(start_paused = true)]
async fn a_request_holds_at_most_max_bytes_of_events() {
    let hub: &'static TapHub = Box::leak(Box::default());
    hub.set_enabled(true);
    let waiting =
        tokio::spawn(hub.collect(vec![Glob::new("*")], 1_000, Duration::from_secs(1), false));
    waiting_clients(hub, 1).await;
    let big = "x".repeat(1 << 20);
    let batch = Batch::Logs(
        (0..10)
            .map(|i| LogRecord::new(i, big.clone(), Stream::Stdout))
            .collect(),
    );
    hub.observe("inputs.tail.0", &batch);
    hub.observe("inputs.tail.0", &batch);
    let lines = waiting.await.expect("join").expect("collected");
    let bytes: usize = lines.iter().map(String::len).sum();
    assert!(bytes <= super::MAX_BYTES, "{bytes}");
    assert_eq!(
        lines.len(),
        3,
        "three 1 MiB lines fit in 4 MiB, a fourth does not"
    );
}
