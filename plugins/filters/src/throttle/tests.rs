//! `filters.throttle` on paused time: limits per key and window, `exclude`, and the bound
//! on tracked keys.

use gleaner_api::{FieldValue, LogRecord, Stream};

use super::DESCRIPTOR;
use crate::testkit::{build, filter, k8s_records, run_logs};

fn burst(pod: &str, n: usize, level: &str) -> Vec<LogRecord> {
    (0..n)
        .map(|i| {
            LogRecord::new(i as i64, format!("line {i}"), Stream::Stdout)
                .with_attribute("k8s.pod_uid", FieldValue::String(pod.into()))
                .with_attribute("severity", FieldValue::String(level.into()))
        })
        .collect()
}

#[tokio::test(start_paused = true)]
async fn at_most_limit_per_key_and_window() {
    let (mut f, m) = filter(
        &DESCRIPTOR,
        "key = \"{k8s.pod_uid}\"\nlimit = 3\nwindow = \"1s\"\nexclude = { severity = [\"error\", \"fatal\"] }\n",
    );
    let mut batch = burst("a", 5, "info");
    batch.extend(burst("b", 2, "info"));
    batch.extend(burst("a", 2, "error"));
    let out = run_logs(f.as_mut(), batch);
    let count = |pod: &str| {
        out.iter()
            .filter(|r| r.attribute("k8s.pod_uid") == Some(&FieldValue::String(pod.into())))
            .count()
    };
    assert_eq!(count("a"), 3 + 2, "3 within the limit, 2 errors excluded");
    assert_eq!(count("b"), 2);
    assert_eq!(m.dropped_count("throttled"), 2);
    tokio::time::advance(std::time::Duration::from_millis(500)).await;
    assert_eq!(
        run_logs(f.as_mut(), burst("a", 2, "info")).len(),
        0,
        "same window"
    );
    tokio::time::advance(std::time::Duration::from_millis(500)).await;
    assert_eq!(
        run_logs(f.as_mut(), burst("a", 4, "info")).len(),
        3,
        "a new window"
    );
}

#[tokio::test(start_paused = true)]
async fn one_key_by_default_over_the_fixture() {
    let (mut f, _) = filter(&DESCRIPTOR, "limit = 4\n");
    assert_eq!(run_logs(f.as_mut(), k8s_records()).len(), 4);
    let (mut f, _) = filter(&DESCRIPTOR, "limit = 1\nkey = \"{k8s.namespace}\"\n");
    assert_eq!(
        run_logs(f.as_mut(), k8s_records()).len(),
        5,
        "one per namespace"
    );
}

#[tokio::test(start_paused = true)]
async fn tracked_keys_are_bounded_and_ended_windows_make_room() {
    let (mut f, m) = filter(
        &DESCRIPTOR,
        "key = \"{k8s.pod_uid}\"\nlimit = 1\nmax_keys = 2\n",
    );
    let mut batch = burst("a", 1, "info");
    batch.extend(burst("b", 1, "info"));
    batch.extend(burst("c", 1, "info"));
    batch.extend(burst("d", 1, "info"));
    // a and b are tracked; c and d share the overflow limit (1).
    assert_eq!(run_logs(f.as_mut(), batch).len(), 3);
    assert_eq!(m.dropped_count("throttled_overflow"), 1);
    tokio::time::advance(std::time::Duration::from_secs(1)).await;
    // Windows ended: a sweep forgets a and b, so new keys are tracked again.
    let mut batch = burst("e", 1, "info");
    batch.extend(burst("f", 1, "info"));
    assert_eq!(run_logs(f.as_mut(), batch).len(), 2);
    assert_eq!(m.dropped_count("throttled_overflow"), 1);
}

#[test]
fn config_errors() {
    for (toml, key) in [
        ("limit = 0\n", "filters.throttle.0.limit"),
        ("window = \"0s\"\n", "filters.throttle.0.window"),
        ("key = \"{pod\"\n", "filters.throttle.0.key"),
        ("max_keys = 0\n", "filters.throttle.0.max_keys"),
        (
            "exclude = { severity = \"/[/\" }\n",
            "filters.throttle.0.exclude.severity",
        ),
        ("rate = 5\n", "filters.throttle.0.rate"),
    ] {
        let e = build(&DESCRIPTOR, toml)
            .err()
            .unwrap_or_else(|| panic!("{toml} builds"));
        assert_eq!(e.key.as_deref(), Some(key), "{toml}: {e}");
    }
}
