//! `gleaner tap` against a running agent with `agent.tap = true` while line protocol flows
//! through `inputs.http_listener` and a `filters.modify` into `outputs.file`: what tap prints
//! for the input and for the filter is what the output received; with `agent.tap` off the
//! client is told so.

use std::process::Command;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use gleaner_e2e::{Agent, free_port, gleaner_bin, http};
use serde_json::Value;

fn config(listen: &str, tap: bool) -> String {
    format!(
        r#"[agent]
http_listen = "{{telemetry}}"
flush_interval = "100ms"
omit_hostname = true
tap = {tap}

[[inputs.http_listener]]
listen = "{listen}"

[[filters.modify]]
set = {{ team = "payments" }}

[[outputs.file]]
path = "{{dir}}/out.lp"
"#
    )
}

/// Posts `tapload,src=e2e v=<n>i` points, numbered from 0, until dropped.
struct Load {
    stop: Arc<AtomicBool>,
    writer: Option<std::thread::JoinHandle<()>>,
}

impl Load {
    fn start(listen: String) -> Load {
        let stop = Arc::new(AtomicBool::new(false));
        let flag = Arc::clone(&stop);
        let writer = std::thread::spawn(move || {
            let mut n = 0u64;
            while !flag.load(Ordering::Relaxed) {
                let body: String = (n..n + 10)
                    .map(|i| format!("tapload,src=e2e v={i}i\n"))
                    .collect();
                if http(&listen, "POST", "/write", &[], body.as_bytes())
                    .is_ok_and(|r| r.status == 204)
                {
                    n += 10;
                }
                // Pacing of the load, not a synchronisation.
                std::thread::sleep(Duration::from_millis(20));
            }
        });
        Load {
            stop,
            writer: Some(writer),
        }
    }
}

impl Drop for Load {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(w) = self.writer.take() {
            w.join().expect("load thread");
        }
    }
}

fn tap(agent: &Agent, components: &str) -> (i32, Vec<Value>, String) {
    let out = Command::new(gleaner_bin())
        .args([
            "tap",
            components,
            "--url",
            &format!("http://{}", agent.telemetry_addr),
            "--once",
            "--wait",
            "3s",
            "--limit",
            "20",
        ])
        .output()
        .expect("run gleaner tap");
    let lines = String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{e}: {l}")))
        .collect();
    (
        out.status.code().unwrap_or(-1),
        lines,
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// `v` of a tapped point.
fn value(event: &Value) -> i64 {
    event["event"]["fields"]["v"]
        .as_i64()
        .unwrap_or_else(|| panic!("no v in {event}"))
}

#[test]
fn tap_shows_what_passes_an_input_and_a_filter() {
    let listen = format!("127.0.0.1:{}", free_port());
    let agent = Agent::start(&config(&listen, true));
    let _load = Load::start(listen);

    let (code, at_input, err) = tap(&agent, "inputs.http_listener.*");
    assert_eq!(code, 0, "{err}");
    assert_eq!(at_input.len(), 20, "{at_input:?}");
    for e in &at_input {
        assert_eq!(e["component"], "inputs.http_listener.0", "{e}");
        assert_eq!(e["event"]["name"], "tapload", "{e}");
        assert!(
            e["event"]["tags"].get("team").is_none(),
            "before the filter: {e}"
        );
    }

    let (code, at_filter, err) = tap(&agent, "filters.*");
    assert_eq!(code, 0, "{err}");
    assert!(!at_filter.is_empty(), "{err}");
    for e in &at_filter {
        assert_eq!(e["component"], "filters.modify.0", "{e}");
        assert_eq!(e["event"]["tags"]["team"], "payments", "{e}");
    }

    // Every point tapped, at the input or after the filter, reaches the file as the filter left it.
    let wanted: Vec<i64> = at_input.iter().chain(&at_filter).map(value).collect();
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let file = std::fs::read_to_string(agent.path("out.lp")).unwrap_or_default();
        let missing: Vec<i64> = wanted
            .iter()
            .copied()
            .filter(|v| {
                !file.lines().any(|l| {
                    l.starts_with("tapload,src=e2e,team=payments ")
                        && l.contains(&format!(" v={v}i "))
                })
            })
            .collect();
        if missing.is_empty() {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "tapped points not in the output: {missing:?}"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
}

#[test]
fn tap_prints_metrics_as_line_protocol_on_request() {
    let listen = format!("127.0.0.1:{}", free_port());
    let agent = Agent::start(&config(&listen, true));
    let _load = Load::start(listen);
    let out = Command::new(gleaner_bin())
        .args([
            "tap",
            "filters.*",
            "--url",
            &format!("http://{}", agent.telemetry_addr),
        ])
        .args([
            "--once", "--wait", "3s", "--limit", "5", "--format", "influx",
        ])
        .output()
        .expect("run gleaner tap");
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines.len(), 5, "{text}");
    assert!(
        lines
            .iter()
            .all(|l| l.starts_with("tapload,src=e2e,team=payments v=")),
        "{text}"
    );
}

#[test]
fn tap_is_refused_while_agent_tap_is_off() {
    let listen = format!("127.0.0.1:{}", free_port());
    let agent = Agent::start(&config(&listen, false));
    let (code, lines, err) = tap(&agent, "inputs.*");
    assert_eq!(code, 1);
    assert!(lines.is_empty());
    assert!(
        err.contains("404") && err.contains("agent.tap = true"),
        "{err}"
    );
}
