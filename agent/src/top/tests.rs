//! `top`'s parsing, rates, order and rendering, on two captured pages two seconds apart.

use std::time::{Duration, Instant};

use super::snapshot::Snapshot;
use super::table::{Style, render, rows};

const PAGE_1: &[u8] = include_bytes!("../../testdata/top/metrics-1.txt");
const PAGE_2: &[u8] = include_bytes!("../../testdata/top/metrics-2.txt");

fn pair() -> (Snapshot, Snapshot) {
    let t0 = Instant::now();
    let a = Snapshot::parse(PAGE_1, t0).expect("page 1");
    let b = Snapshot::parse(PAGE_2, t0 + Duration::from_secs(2)).expect("page 2");
    (a, b)
}

#[test]
fn a_page_gives_each_components_counters() {
    let (a, _) = pair();
    assert_eq!(a.components.len(), 4);
    let out = &a.components["outputs.splunk_hec.0"];
    assert_eq!(
        (out.kind.as_str(), out.plugin.as_str()),
        ("output", "splunk_hec")
    );
    assert_eq!((out.received, out.sent, out.errors), (1000.0, 800.0, 2.0));
    assert_eq!(
        (out.queue_events, out.buffer_bytes),
        (Some(200.0), Some(2048.0))
    );
    assert_eq!(a.components["inputs.tail.0"].lag_bytes, Some(5_242_880.0));
    assert_eq!(a.version.as_deref(), Some("0.1.0"));
    assert_eq!(a.uptime_seconds, Some(61.5));
}

#[test]
fn rates_are_per_second_and_rows_sorted_by_kind_then_rate() {
    let (a, b) = pair();
    let r = rows(&a, &b);
    let ids: Vec<&str> = r.iter().map(|r| r.id.as_str()).collect();
    assert_eq!(
        ids,
        [
            "inputs.tail.0",
            "inputs.internal.0",
            "filters.select.0",
            "outputs.splunk_hec.0"
        ]
    );
    assert_eq!(r[0].out_per_s, 1000.0);
    assert_eq!(r[1].out_per_s, 0.0);
    assert_eq!((r[2].in_per_s, r[2].out_per_s), (1000.0, 900.0));
    assert_eq!((r[2].drops, r[2].drops_total), (200.0, 300.0));
    assert_eq!((r[3].errors, r[3].errors_total), (0.0, 2.0));
}

#[test]
fn a_restarted_agent_does_not_show_negative_rates() {
    let (a, b) = pair();
    let r = rows(
        &b,
        &Snapshot {
            at: b.at + Duration::from_secs(1),
            ..a
        },
    );
    assert!(
        r.iter()
            .all(|r| r.in_per_s >= 0.0 && r.out_per_s >= 0.0 && r.drops >= 0.0)
    );
}

#[test]
fn plain_rendering_has_no_escapes_and_aligned_columns() {
    let (a, b) = pair();
    let text = render(
        "http://127.0.0.1:8686",
        &a,
        &b,
        Style {
            color: false,
            redraw: false,
        },
    );
    assert!(!text.contains('\x1b'), "{text:?}");
    let lines: Vec<&str> = text.lines().collect();
    assert!(
        lines[0].starts_with(
            "gleaner top  http://127.0.0.1:8686  rates over 2.0s  version 0.1.0  up 1m03s"
        ),
        "{text}"
    );
    assert!(lines[2].starts_with("COMPONENT"), "{text}");
    let tail = lines
        .iter()
        .find(|l| l.starts_with("inputs.tail.0"))
        .expect("tail row");
    assert!(tail.contains("1000") && tail.contains("5.0 MiB"), "{tail}");
    let select = lines
        .iter()
        .find(|l| l.starts_with("filters.select.0"))
        .expect("select row");
    assert!(select.contains("200 (300)"), "{select}");
    // Right-aligned numbers: every row's OUT/s column ends where the header's does.
    let end = lines[2].find("OUT/s").expect("header") + "OUT/s".len();
    for l in &lines[3..7] {
        assert_ne!(l.as_bytes()[end - 1], b' ', "{l:?} not aligned at {end}");
    }
}

#[test]
fn terminal_rendering_redraws_and_colours_drops_and_errors() {
    let (a, b) = pair();
    let text = render(
        "u",
        &a,
        &b,
        Style {
            color: true,
            redraw: true,
        },
    );
    assert!(text.starts_with("\x1b[H\x1b[2J"));
    let select = text
        .lines()
        .find(|l| l.starts_with("filters.select.0"))
        .expect("row");
    assert!(select.contains("\x1b[31m"), "drops not red: {select:?}");
    let hec = text
        .lines()
        .find(|l| l.starts_with("outputs.splunk_hec.0"))
        .expect("row");
    assert!(
        !hec.contains("\x1b[33m"),
        "no new errors, no colour: {hec:?}"
    );
}

#[test]
fn a_page_that_is_not_gleaners_is_refused() {
    let e = Snapshot::parse(b"node_load1 0.5\n", Instant::now()).expect_err("not ours");
    assert!(e.contains("no gleaner_"), "{e}");
    assert!(Snapshot::parse(b"gleaner_x{ 1\n", Instant::now()).is_err());
}
