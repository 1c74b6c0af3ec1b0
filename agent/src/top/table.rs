//! The table `top` prints: rows from two snapshots (rates over the time between them), sorted,
//! padded into columns, coloured when the output is a terminal.

use super::snapshot::{Counters, Snapshot};

/// How the table is written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Style {
    /// ANSI colours.
    pub color: bool,
    /// Clear the screen and draw from its top (a live terminal view).
    pub redraw: bool,
}

/// One component's line.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Row {
    pub id: String,
    pub kind: String,
    pub plugin: String,
    pub in_per_s: f64,
    pub out_per_s: f64,
    pub drops: f64,
    pub drops_total: f64,
    pub errors: f64,
    pub errors_total: f64,
    pub queue_events: Option<f64>,
    pub buffer_bytes: Option<f64>,
    pub lag_bytes: Option<f64>,
}

/// Growth of a counter between two reads (a restarted agent's counter starts again from 0).
fn delta(now: f64, before: f64) -> f64 {
    if now >= before { now - before } else { now }
}

/// The rows, sorted: inputs, filters, outputs; busiest first within each; then by id.
pub(crate) fn rows(before: &Snapshot, now: &Snapshot) -> Vec<Row> {
    let secs = now.at.duration_since(before.at).as_secs_f64().max(1e-3);
    let empty = Counters::default();
    let mut rows: Vec<Row> = now
        .components
        .iter()
        .map(|(id, c)| {
            let b = before.components.get(id).unwrap_or(&empty);
            Row {
                id: id.clone(),
                kind: c.kind.clone(),
                plugin: c.plugin.clone(),
                in_per_s: delta(c.received, b.received) / secs,
                out_per_s: delta(c.sent, b.sent) / secs,
                drops: delta(c.discarded, b.discarded),
                drops_total: c.discarded,
                errors: delta(c.errors, b.errors),
                errors_total: c.errors,
                queue_events: c.queue_events,
                buffer_bytes: c.buffer_bytes,
                lag_bytes: c.lag_bytes,
            }
        })
        .collect();
    let rank = |k: &str| match k {
        "input" => 0,
        "filter" => 1,
        "output" => 2,
        _ => 3,
    };
    rows.sort_by(|a, b| {
        rank(&a.kind)
            .cmp(&rank(&b.kind))
            .then(b.out_per_s.total_cmp(&a.out_per_s))
            .then_with(|| a.id.cmp(&b.id))
    });
    rows
}

/// `12`, `1.2k`, `3.4M`.
fn count(v: f64) -> String {
    let a = v.abs();
    if a >= 1e9 {
        format!("{:.1}G", v / 1e9)
    } else if a >= 1e6 {
        format!("{:.1}M", v / 1e6)
    } else if a >= 1e4 {
        format!("{:.1}k", v / 1e3)
    } else if a >= 100.0 || v.fract() == 0.0 {
        format!("{v:.0}")
    } else {
        format!("{v:.1}")
    }
}

fn bytes(v: Option<f64>) -> String {
    let Some(v) = v else { return "-".to_owned() };
    const UNITS: [&str; 5] = ["B", "KiB", "MiB", "GiB", "TiB"];
    let mut x = v;
    let mut unit = 0;
    while x >= 1024.0 && unit < UNITS.len() - 1 {
        x /= 1024.0;
        unit += 1;
    }
    if unit == 0 {
        format!("{x:.0} B")
    } else {
        format!("{x:.1} {}", UNITS[unit])
    }
}

fn uptime(secs: f64) -> String {
    let s = secs.max(0.0) as u64;
    match s {
        0..60 => format!("{s}s"),
        60..3600 => format!("{}m{:02}s", s / 60, s % 60),
        _ => format!("{}h{:02}m", s / 3600, (s % 3600) / 60),
    }
}

const HEADERS: [&str; 9] = [
    "COMPONENT",
    "PLUGIN",
    "IN/s",
    "OUT/s",
    "DROPS",
    "ERRORS",
    "QUEUE",
    "BUFFER",
    "LAG",
];

/// The whole screen (or block, when piped).
pub(crate) fn render(url: &str, before: &Snapshot, now: &Snapshot, style: Style) -> String {
    let rows = rows(before, now);
    let cells: Vec<[String; 9]> = rows
        .iter()
        .map(|r| {
            [
                r.id.clone(),
                r.plugin.clone(),
                count(r.in_per_s),
                count(r.out_per_s),
                format!("{} ({})", count(r.drops), count(r.drops_total)),
                format!("{} ({})", count(r.errors), count(r.errors_total)),
                r.queue_events.map_or_else(|| "-".to_owned(), count),
                bytes(r.buffer_bytes),
                bytes(r.lag_bytes),
            ]
        })
        .collect();
    let mut widths = HEADERS.map(str::len);
    for c in &cells {
        for (w, cell) in widths.iter_mut().zip(c) {
            *w = (*w).max(cell.chars().count());
        }
    }
    let paint = |text: String, code: &str, on: bool| {
        if style.color && on {
            format!("\x1b[{code}m{text}\x1b[0m")
        } else {
            text
        }
    };
    let line = |cells: [String; 9], colors: [Option<&str>; 9]| {
        let mut out = String::new();
        for (i, (cell, w)) in cells.into_iter().zip(widths).enumerate() {
            if i > 0 {
                out.push_str("  ");
            }
            // Text columns left, numbers right.
            let padded = if i < 2 {
                format!("{cell:<w$}")
            } else {
                format!("{cell:>w$}")
            };
            out.push_str(&match colors[i] {
                Some(code) => paint(padded, code, true),
                None => padded,
            });
        }
        out.trim_end().to_owned()
    };

    let mut out = String::new();
    if style.redraw {
        out.push_str("\x1b[H\x1b[2J");
    }
    let secs = now.at.duration_since(before.at).as_secs_f64();
    let mut title = format!("gleaner top  {url}  rates over {secs:.1}s");
    if let Some(v) = &now.version {
        title.push_str(&format!("  version {v}"));
    }
    if let Some(u) = now.uptime_seconds {
        title.push_str(&format!("  up {}", uptime(u)));
    }
    out.push_str(&paint(title, "1", true));
    out.push_str("\n\n");
    out.push_str(&line(HEADERS.map(str::to_owned), [Some("1"); 9]));
    out.push('\n');
    for (r, c) in rows.iter().zip(cells) {
        let mut colors = [None; 9];
        if r.drops > 0.0 {
            colors[4] = Some("31");
        }
        if r.errors > 0.0 {
            colors[5] = Some("33");
        }
        out.push_str(&line(c, colors));
        out.push('\n');
    }
    if rows.is_empty() {
        out.push_str("(no components)\n");
    }
    if !style.redraw {
        out.push('\n');
    }
    out
}
