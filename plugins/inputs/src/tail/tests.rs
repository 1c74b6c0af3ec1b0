//! The input end to end in-process: files in a temp dir, batches on a channel, acks by hand.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::Duration;

use gleaner_api::test_util::input_context;
use gleaner_api::{
    Batch, BuildContext, Envelope, FieldValue, LogRecord, PluginConfig, RunMode, ShutdownTrigger,
};
use tokio::sync::mpsc;
use tokio::task::JoinHandle;

use super::DESCRIPTOR;

struct Running {
    rx: mpsc::Receiver<Envelope>,
    trigger: ShutdownTrigger,
    handle: JoinHandle<Result<(), gleaner_api::PluginError>>,
    metrics: std::sync::Arc<gleaner_api::ComponentMetrics>,
}

fn start(dir: &Path, extra: &str, mode: RunMode) -> Running {
    let toml = format!(
        "paths = [\"{0}/logs/*.log\"]\ndb = \"{0}/state/tail.db\"\nrefresh_interval = \"200ms\"\ncommit_interval = \"50ms\"\n{extra}",
        dir.display()
    );
    let cfg = PluginConfig::from_toml_str("inputs.tail.0", &toml).unwrap();
    let bcx = BuildContext::for_test("inputs.tail.0");
    let input = (DESCRIPTOR.build)(&cfg, &bcx).unwrap();
    let (cx, rx, trigger) = input_context(&bcx, mode, 4);
    Running {
        rx,
        trigger,
        metrics: std::sync::Arc::clone(&bcx.metrics),
        handle: tokio::spawn(input.run(cx)),
    }
}

impl Running {
    /// Receives records (acknowledging each batch) until `n` arrived.
    async fn take(&mut self, n: usize) -> Vec<LogRecord> {
        let mut out = Vec::new();
        let r = tokio::time::timeout(Duration::from_secs(20), async {
            while out.len() < n {
                let Some(env) = self.rx.recv().await else {
                    break;
                };
                if let Some(a) = env.ack {
                    a.ack();
                }
                if let Batch::Logs(l) = env.batch {
                    out.extend(l);
                }
            }
        })
        .await;
        assert!(
            r.is_ok(),
            "got {} of {n} records; last: {:?}",
            out.len(),
            out.last().map(|r| r.body_lossy().into_owned())
        );
        out
    }

    /// Stops the input, acknowledging what it still sends.
    async fn stop(mut self) -> Vec<LogRecord> {
        self.trigger.trigger();
        let mut rest = Vec::new();
        while let Some(env) = self.rx.recv().await {
            if let Some(a) = env.ack {
                a.ack();
            }
            if let Batch::Logs(l) = env.batch {
                rest.extend(l);
            }
        }
        self.handle.await.unwrap().unwrap();
        rest
    }
}

fn bodies(r: &[LogRecord]) -> Vec<String> {
    r.iter().map(|r| r.body_lossy().into_owned()).collect()
}

fn logs(dir: &Path) -> PathBuf {
    let p = dir.join("logs");
    std::fs::create_dir_all(&p).unwrap();
    p
}

fn append(path: &Path, text: &str) {
    let mut f = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(path)
        .unwrap();
    f.write_all(text.as_bytes()).unwrap();
}

fn numbered(from: usize, to: usize) -> String {
    (from..to).map(|i| format!("line {i}\n")).collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn first_start_reads_from_the_end_later_files_from_the_head() {
    let dir = tempfile::tempdir().unwrap();
    let a = logs(dir.path()).join("a.log");
    append(&a, "old 1\nold 2\n");
    let mut r = start(dir.path(), "format = \"raw\"", RunMode::Continuous);
    // Wait until the input has seen a.log, then append: only the new line comes.
    tokio::time::sleep(Duration::from_millis(300)).await;
    append(&a, "new 1\n");
    let b = logs(dir.path()).join("b.log");
    append(&b, "b 1\nb 2\n");
    let mut got = bodies(&r.take(3).await);
    got.sort();
    assert_eq!(got, ["b 1", "b 2", "new 1"]);
    assert!(r.stop().await.is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn read_from_head_attributes_and_timestamps() {
    let dir = tempfile::tempdir().unwrap();
    let pod = dir.path().join("logs");
    std::fs::create_dir_all(&pod).unwrap();
    append(
        &pod.join("0.log"),
        "2024-01-01T00:00:00Z stdout F hi\n2024-01-01T00:00:01Z stderr F there\n",
    );
    let mut r = start(dir.path(), "read_from_head = true", RunMode::Continuous);
    let got = r.take(2).await;
    assert_eq!(bodies(&got), ["hi", "there"]);
    assert_eq!(got[0].timestamp, 1_704_067_200_000_000_000);
    let file = pod.join("0.log").display().to_string();
    assert_eq!(
        got[0].attribute("file"),
        Some(&FieldValue::String(file.into()))
    );
    r.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn offsets_are_committed_only_after_acknowledgement() {
    let dir = tempfile::tempdir().unwrap();
    let a = logs(dir.path()).join("a.log");
    append(&a, &numbered(0, 100));
    // Run 1: receive everything but acknowledge nothing (drop the tokens unsettled = failed).
    let mut r = start(dir.path(), "read_from_head = true", RunMode::Continuous);
    let mut n = 0;
    while n < 100 {
        let env = r.rx.recv().await.unwrap();
        n += env.batch.len();
        if let Some(a) = env.ack {
            a.fail();
        }
    }
    r.trigger.trigger();
    while r.rx.recv().await.is_some() {}
    r.handle.await.unwrap().unwrap();
    // Run 2: everything again, acknowledged.
    let mut r = start(dir.path(), "read_from_head = true", RunMode::Continuous);
    assert_eq!(
        bodies(&r.take(100).await),
        numbered(0, 100).lines().collect::<Vec<_>>()
    );
    r.stop().await;
    // Run 3: nothing again; only new lines.
    append(&a, "after\n");
    let mut r = start(dir.path(), "read_from_head = true", RunMode::Continuous);
    assert_eq!(bodies(&r.take(1).await), ["after"]);
    assert!(r.stop().await.is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rename_rotation_delivers_every_line_once() {
    let dir = tempfile::tempdir().unwrap();
    let a = logs(dir.path()).join("a.log");
    append(&a, "ready\n");
    let mut r = start(dir.path(), "read_from_head = true", RunMode::Continuous);
    assert_eq!(bodies(&r.take(1).await), ["ready"]);
    let writer = {
        let a = a.clone();
        std::thread::spawn(move || {
            for round in 0..5 {
                append(&a, &numbered(round * 1000, round * 1000 + 1000));
                let rotated = a.with_extension(format!("log.{round}"));
                std::fs::rename(&a, rotated).unwrap();
                append(&a, "");
            }
        })
    };
    let got = r.take(5000).await;
    writer.join().unwrap();
    let mut nums: Vec<usize> = got
        .iter()
        .map(|r| r.body_lossy()[5..].parse().unwrap())
        .collect();
    nums.sort_unstable();
    assert_eq!(
        nums,
        (0..5000).collect::<Vec<_>>(),
        "each line exactly once"
    );
    assert!(r.stop().await.is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn copytruncate_reads_again_from_zero() {
    let dir = tempfile::tempdir().unwrap();
    let a = logs(dir.path()).join("a.log");
    append(&a, "one\ntwo\n");
    let mut r = start(dir.path(), "read_from_head = true", RunMode::Continuous);
    assert_eq!(bodies(&r.take(2).await), ["one", "two"]);
    std::fs::copy(&a, dir.path().join("a.log.1")).unwrap();
    std::fs::OpenOptions::new()
        .write(true)
        .open(&a)
        .unwrap()
        .set_len(0)
        .unwrap();
    append(&a, "three\n");
    assert_eq!(bodies(&r.take(1).await), ["three"]);
    r.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn long_lines_are_cut_and_reading_goes_on() {
    let dir = tempfile::tempdir().unwrap();
    let a = logs(dir.path()).join("a.log");
    let long = "x".repeat(600 * 1024);
    append(&a, &format!("short\n{long}\nafter\n"));
    let mut r = start(
        dir.path(),
        "read_from_head = true\nformat = \"raw\"\nmax_line_bytes = \"100KiB\"",
        RunMode::Continuous,
    );
    let got = r.take(3).await;
    assert_eq!(got[0].body, b"short");
    assert_eq!(got[1].body.len(), 100 * 1024);
    assert_eq!(got[1].attribute("truncated"), Some(&FieldValue::Bool(true)));
    assert_eq!(got[2].body, b"after");
    r.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_line_longer_than_a_chunk_is_kept_whole() {
    let dir = tempfile::tempdir().unwrap();
    let a = logs(dir.path()).join("a.log");
    let long = "y".repeat(700 * 1024);
    append(&a, &format!("{long}\nafter\n"));
    let mut r = start(
        dir.path(),
        "read_from_head = true\nformat = \"raw\"",
        RunMode::Continuous,
    );
    let got = r.take(2).await;
    assert_eq!(got[0].body.len(), 700 * 1024);
    assert_eq!(got[0].attribute("truncated"), None);
    assert_eq!(got[1].body, b"after");
    r.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn deleted_file_is_drained() {
    let dir = tempfile::tempdir().unwrap();
    let a = logs(dir.path()).join("a.log");
    append(&a, &numbered(0, 20000));
    let mut r = start(
        dir.path(),
        "read_from_head = true\nformat = \"raw\"",
        RunMode::Continuous,
    );
    let first = r.take(1).await;
    std::fs::remove_file(&a).unwrap();
    let rest = r.take(20000 - first.len()).await;
    assert_eq!(first.len() + rest.len(), 20000);
    r.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn once_mode_reads_what_is_there_and_returns() {
    let dir = tempfile::tempdir().unwrap();
    append(&logs(dir.path()).join("a.log"), &numbered(0, 10));
    let mut r = start(dir.path(), "read_from_head = true", RunMode::Once);
    let got = r.take(10).await;
    assert_eq!(got.len(), 10);
    tokio::time::timeout(Duration::from_secs(20), r.handle)
        .await
        .unwrap()
        .unwrap()
        .unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_full_pipeline_pauses_reading() {
    let dir = tempfile::tempdir().unwrap();
    let a = logs(dir.path()).join("a.log");
    append(&a, &numbered(0, 200_000));
    let mut r = start(
        dir.path(),
        "read_from_head = true\nformat = \"raw\"",
        RunMode::Continuous,
    );
    // Take nothing for a moment: at most the channel (4) + the pump slot + one batch in hand
    // can be read ahead (measured before anything is taken, so the reader cannot refill).
    tokio::time::sleep(Duration::from_millis(300)).await;
    let read = r.metrics.snapshot().events_received;
    assert!(read > 0, "nothing was read");
    assert!(read <= 8 * 1024, "read ahead {read} lines");
    let all = r.take(200_000).await;
    assert_eq!(all.len(), 200_000);
    r.stop().await;
}
