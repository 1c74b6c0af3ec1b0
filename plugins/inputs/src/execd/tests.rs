//! `inputs.execd` with the scripts of `testdata/exec/`: a program signalled on stdin every
//! interval, one that crashes (restarted, again and again), one that prints garbage
//! (counted, not fatal), and shutdown closing the program's stdin.

use std::sync::Arc;
use std::time::Duration;

use gleaner_api::test_util::input_context;
use gleaner_api::{
    Batch, BuildContext, ComponentMetrics, Envelope, FieldValue, Metric, PluginConfig, PluginError,
    RunMode, ShutdownTrigger,
};
use tokio::sync::mpsc;
use tokio::task::JoinHandle;

use super::DESCRIPTOR;
use super::config;

const WAIT: Duration = Duration::from_secs(20);

fn script(name: &str) -> String {
    format!("{}/testdata/exec/{name}", env!("CARGO_MANIFEST_DIR"))
}

struct Running {
    rx: mpsc::Receiver<Envelope>,
    trigger: ShutdownTrigger,
    task: JoinHandle<Result<(), PluginError>>,
    metrics: Arc<ComponentMetrics>,
}

fn start(toml: &str) -> Running {
    let mut bcx = BuildContext::for_test("inputs.execd.0");
    bcx.interval = gleaner_api::Duration::from_millis(100);
    let cfg = PluginConfig::from_toml_str("inputs.execd.0", toml).expect("toml");
    let input = (DESCRIPTOR.build)(&cfg, &bcx).unwrap_or_else(|e| panic!("build: {e}"));
    let (cx, rx, trigger) = input_context(&bcx, RunMode::Continuous, 64);
    Running {
        rx,
        trigger,
        task: tokio::spawn(input.run(cx)),
        metrics: bcx.metrics,
    }
}

impl Running {
    async fn next_metrics(&mut self) -> Vec<Metric> {
        let env = tokio::time::timeout(WAIT, self.rx.recv())
            .await
            .expect("a batch in time")
            .expect("open");
        match env.batch {
            Batch::Metrics(m) => m,
            Batch::Logs(_) => panic!("logs where metrics were expected"),
        }
    }

    async fn stop(self) {
        self.trigger.trigger();
        tokio::time::timeout(WAIT, self.task)
            .await
            .expect("run returns after shutdown")
            .expect("task")
            .expect("run");
    }
}

#[tokio::test]
async fn a_newline_on_stdin_each_interval_makes_the_program_print() {
    let mut r = start(&format!(
        "command = [\"{}\"]\nsignal = \"STDIN\"\n",
        script("counter.sh")
    ));
    let mut seen = Vec::new();
    while seen.len() < 3 {
        for m in r.next_metrics().await {
            seen.push(m.field("count").cloned());
        }
    }
    assert_eq!(
        &seen[..3],
        &[
            Some(FieldValue::Int(0)),
            Some(FieldValue::Int(1)),
            Some(FieldValue::Int(2))
        ],
        "one line per signal, in order, from one process"
    );
    // Closing stdin stops the script by itself: no kill needed, no restart counted.
    r.stop().await;
}

#[tokio::test]
async fn a_crashing_program_is_restarted() {
    let dir = tempfile::tempdir().expect("tempdir");
    let starts = dir.path().join("starts");
    let mut r = start(&format!(
        "command = [\"{}\", \"{}\"]\nrestart_delay = \"50ms\"\n",
        script("crash.sh"),
        starts.display()
    ));
    for _ in 0..3 {
        let got = r.next_metrics().await;
        assert_eq!(got[0].measurement, "crashy");
    }
    let runs = std::fs::read_to_string(&starts)
        .expect("starts")
        .lines()
        .count();
    assert!(runs >= 3, "{runs} starts");
    let errors = r.metrics.snapshot().errors;
    let exited = errors
        .iter()
        .find(|(k, _)| *k == "exited")
        .map_or(0, |e| e.1);
    let stderr = errors
        .iter()
        .find(|(k, _)| *k == "stderr")
        .map_or(0, |e| e.1);
    assert!(exited >= 2, "{errors:?}");
    assert!(stderr >= 2, "{errors:?}");
    r.stop().await;
}

#[tokio::test]
async fn garbage_is_counted_and_the_program_keeps_running() {
    let mut r = start(&format!(
        "command = [\"python3\", \"{}\"]\n",
        script("noisy.py")
    ));
    let mut good = Vec::new();
    while good.len() < 3 {
        good.extend(
            r.next_metrics()
                .await
                .into_iter()
                .map(|m| m.field("n").cloned()),
        );
    }
    assert_eq!(
        good,
        vec![
            Some(FieldValue::Int(0)),
            Some(FieldValue::Int(1)),
            Some(FieldValue::Int(2))
        ]
    );
    assert_eq!(r.metrics.dropped_count("malformed"), 3);
    assert!(
        !r.metrics
            .snapshot()
            .errors
            .iter()
            .any(|(k, _)| *k == "exited"),
        "still running"
    );
    r.stop().await;
}

#[tokio::test]
async fn once_mode_runs_nothing() {
    let bcx = BuildContext::for_test("inputs.execd.0");
    let cfg = PluginConfig::from_toml_str("inputs.execd.0", "command = [\"/nonexistent\"]\n")
        .expect("toml");
    let input = (DESCRIPTOR.build)(&cfg, &bcx).expect("build");
    let (cx, _rx, _trigger) = input_context(&bcx, RunMode::Once, 1);
    tokio::time::timeout(WAIT, input.run(cx))
        .await
        .expect("returns")
        .expect("ok");
    assert!(bcx.metrics.snapshot().errors.is_empty());
}

#[test]
pub(super) fn sample_parses_and_equals_the_defaults() {
    let read = |cfg: &PluginConfig| {
        Ok((
            config::ExecdConfig::own(cfg)?,
            crate::exec_format::FormatOptions::parse(cfg, "execd")?,
        ))
    };
    gleaner_api::test_util::sample::assert_sample_with(
        "inputs.execd.0",
        DESCRIPTOR.sample,
        &["environment", "json_name_key", "tag_keys", "json_time_key"],
        &[],
        &read,
    );
    assert!(DESCRIPTOR.sample.starts_with("[[inputs.execd]]\n"));
}

#[test]
fn config_errors_name_the_key() {
    let err = |toml: &str| {
        let cfg = PluginConfig::from_toml_str("inputs.execd.0", toml).unwrap();
        config::parse(&cfg).unwrap_err()
    };
    assert_eq!(
        err("command = []\n").key.as_deref(),
        Some("inputs.execd.0.command")
    );
    assert_eq!(
        err("command = [\"x\"]\nsignal = \"SIGHUP\"\n")
            .key
            .as_deref(),
        Some("inputs.execd.0.signal")
    );
}
