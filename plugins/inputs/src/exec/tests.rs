//! `inputs.exec` with the scripts of `testdata/exec/`: each format, stderr, a non-zero exit,
//! garbage (counted, not fatal), and a command that hangs (its whole process group killed at
//! the timeout, grandchild included).

use std::sync::Arc;

use gleaner_api::test_util::input_context;
use gleaner_api::{
    Batch, BuildContext, ComponentMetrics, FieldValue, Metric, MetricKind, PluginConfig, RunMode,
};

use super::DESCRIPTOR;
use super::config::{self, split_words};

fn script(name: &str) -> String {
    format!("{}/testdata/exec/{name}", env!("CARGO_MANIFEST_DIR"))
}

/// Builds the input from `toml` and gathers once; every batch it sent, and its counters.
async fn gather(toml: &str) -> (Vec<Batch>, Arc<ComponentMetrics>) {
    let bcx = BuildContext::for_test("inputs.exec.0");
    let cfg = PluginConfig::from_toml_str("inputs.exec.0", toml).expect("toml");
    let input = (DESCRIPTOR.build)(&cfg, &bcx).unwrap_or_else(|e| panic!("build: {e}"));
    let (cx, mut rx, _trigger) = input_context(&bcx, RunMode::Once, 64);
    let task = tokio::spawn(input.run(cx));
    let mut out = Vec::new();
    while let Some(env) = rx.recv().await {
        out.push(env.batch);
    }
    task.await.expect("task").expect("run");
    (out, bcx.metrics)
}

fn metrics(batches: Vec<Batch>) -> Vec<Metric> {
    batches
        .into_iter()
        .flat_map(|b| match b {
            Batch::Metrics(m) => m,
            Batch::Logs(_) => panic!("logs where metrics were expected"),
        })
        .collect()
}

#[tokio::test]
async fn line_protocol_is_parsed_and_stderr_logged() {
    let (batches, m) = gather(&format!("commands = [\"{}\"]\n", script("lp.sh"))).await;
    let got = metrics(batches);
    assert_eq!(got.len(), 2);
    assert_eq!(
        got[0],
        Metric::new("example", 1_700_000_000_000_000_000)
            .with_tag("tag1", "a")
            .with_tag("tag2", "b")
            .with_field("i", FieldValue::Int(42))
            .with_field("j", FieldValue::Float(43.5))
    );
    assert_eq!(got[1].tag("tag1"), Some("c"));
    assert!(
        got[1].timestamp > 1_700_000_000_000_000_000,
        "the time it was read"
    );
    let snap = m.snapshot();
    assert_eq!(snap.errors, vec![("stderr", 1)]);
    assert_eq!(snap.events_received, 2);
}

#[tokio::test]
async fn a_hanging_command_is_killed_with_its_whole_group() {
    let dir = tempfile::tempdir().expect("tempdir");
    let pidfile = dir.path().join("grandchild.pid");
    let started = tokio::time::Instant::now();
    let (batches, m) = gather(&format!(
        "commands = [\"{} {}\"]\ntimeout = \"500ms\"\n",
        script("hang.sh"),
        pidfile.display()
    ))
    .await;
    assert!(started.elapsed() < std::time::Duration::from_secs(30));
    assert!(
        batches.is_empty(),
        "a timed-out command's output is dropped"
    );
    assert_eq!(m.snapshot().errors, vec![("timeout", 1)]);
    let pid: i32 = std::fs::read_to_string(&pidfile)
        .expect("the script wrote its grandchild's pid")
        .trim()
        .parse()
        .expect("a pid");
    // Killed: gone, or a zombie waiting for its new parent to reap it.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    loop {
        let state = std::fs::read_to_string(format!("/proc/{pid}/stat"))
            .ok()
            .and_then(|s| {
                s.rsplit(')')
                    .next()
                    .and_then(|r| r.split_whitespace().next())
                    .map(str::to_owned)
            });
        match state.as_deref() {
            None | Some("Z" | "X") => break,
            Some(s) => assert!(
                std::time::Instant::now() < deadline,
                "the grandchild {pid} is still running (state {s})"
            ),
        }
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
}

#[tokio::test]
async fn garbage_is_counted_and_the_good_lines_kept() {
    let (batches, m) = gather(&format!("commands = [\"{}\"]\n", script("garbage.sh"))).await;
    let got = metrics(batches);
    assert_eq!(
        got.iter().map(|m| m.timestamp).collect::<Vec<_>>(),
        vec![1, 2]
    );
    assert_eq!(m.dropped_count("malformed"), 2);
}

#[tokio::test]
async fn a_failing_command_is_dropped_unless_ignore_error() {
    let toml = format!("commands = [\"{}\"]\n", script("fail.sh"));
    let (batches, m) = gather(&toml).await;
    assert!(batches.is_empty());
    assert_eq!(m.snapshot().errors, vec![("exit_status", 1)]);
    let (batches, _) = gather(&format!("{toml}ignore_error = true\n")).await;
    assert_eq!(metrics(batches).len(), 1);
}

#[tokio::test]
async fn a_command_that_cannot_start_is_counted() {
    let (batches, m) = gather("commands = [\"/nonexistent/tool --x\"]\n").await;
    assert!(batches.is_empty());
    assert_eq!(m.snapshot().errors, vec![("spawn", 1)]);
}

#[tokio::test]
async fn prometheus_pages_keep_their_types_and_times() {
    let (batches, _) = gather(&format!(
        "commands = [\"{}\"]\ndata_format = \"prometheus\"\n",
        script("page.sh")
    ))
    .await;
    let got = metrics(batches);
    let names: Vec<(&str, MetricKind)> = got
        .iter()
        .map(|m| (m.fields[0].0.as_str(), m.kind))
        .collect();
    assert_eq!(
        names,
        vec![
            ("jobs_total", MetricKind::Counter),
            ("jobs_total", MetricKind::Counter),
            ("temperature", MetricKind::Gauge),
        ]
    );
    assert_eq!(got[0].measurement, "prometheus");
    assert_eq!(got[0].tag("queue"), Some("a"));
    assert_eq!(got[1].timestamp, 1_700_000_000_000_000_000);
}

#[tokio::test]
async fn json_objects_from_a_python_script() {
    let (batches, _) = gather(&format!(
        "commands = [\"python3 {}\"]\ndata_format = \"json\"\njson_name_key = \"name\"\ntag_keys = [\"device\"]\njson_time_key = \"ts\"\njson_time_format = \"unix_ms\"\n",
        script("report.py")
    ))
    .await;
    let got = metrics(batches);
    let t = 1_700_000_000_123_000_000;
    assert_eq!(
        got,
        vec![
            Metric::new("disk", t)
                .with_tag("device", "sda")
                .with_field("io_busy", FieldValue::Bool(true))
                .with_field("io_reads", FieldValue::Float(5.0))
                .with_field("used", FieldValue::Float(10.0)),
            Metric::new("disk", t)
                .with_tag("device", "sdb")
                .with_field("used", FieldValue::Float(20.5)),
        ]
    );
}

#[tokio::test]
async fn lines_become_log_records() {
    let (batches, _) = gather(&format!(
        "commands = [\"{}\"]\ndata_format = \"lines\"\n",
        script("garbage.sh")
    ))
    .await;
    let [Batch::Logs(logs)] = batches.as_slice() else {
        panic!("one batch of logs: {batches:?}")
    };
    let bodies: Vec<String> = logs.iter().map(|r| r.body_lossy().into_owned()).collect();
    assert_eq!(
        bodies,
        vec![
            "good v=1i 1",
            "this is not line protocol",
            "=== %%% ===",
            "good v=2i 2"
        ]
    );
}

#[test]
fn commands_split_like_a_shell() {
    assert_eq!(
        split_words(r#"sh -c 'echo "a b"; exit 0' x\ y "q\"t""#).unwrap(),
        vec!["sh", "-c", "echo \"a b\"; exit 0", "x y", "q\"t"]
    );
    assert!(split_words("'open").is_err());
}

#[test]
pub(super) fn sample_parses_and_equals_the_defaults() {
    let read = |cfg: &PluginConfig| {
        Ok((
            config::ExecConfig::own(cfg)?,
            crate::exec_format::FormatOptions::parse(cfg, "exec")?,
        ))
    };
    gleaner_api::test_util::sample::assert_sample_with(
        "inputs.exec.0",
        DESCRIPTOR.sample,
        &["environment", "json_name_key", "tag_keys", "json_time_key"],
        &[],
        &read,
    );
    assert!(DESCRIPTOR.sample.starts_with("[[inputs.exec]]\n"));
}

#[test]
fn config_errors_name_the_key() {
    let err = |toml: &str| {
        let cfg = PluginConfig::from_toml_str("inputs.exec.0", toml).unwrap();
        config::parse(&cfg).unwrap_err()
    };
    let e = err("commands = []\n");
    assert_eq!(e.key.as_deref(), Some("inputs.exec.0.commands"));
    let e = err("commands = [\"x 'y\"]\n");
    assert!(e.message.contains("unterminated"), "{e}");
    let e = err("commands = [\"x\"]\ndata_format = \"xml\"\n");
    assert_eq!(e.key.as_deref(), Some("inputs.exec.0.data_format"));
    let e = err("commands = [\"x\"]\nenvironment = [\"NOEQUALS\"]\n");
    assert_eq!(e.key.as_deref(), Some("inputs.exec.0.environment"));
    let e = err("commands = [\"x\"]\ntimout = \"1s\"\n");
    assert_eq!(e.hint.as_deref(), Some("did you mean `timeout`?"));
}
