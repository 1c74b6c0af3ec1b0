//! `inputs.journald` unit tests: the sample and config errors, records made from real
//! journalctl output (`testdata/journald/entries.export`), and the input run in once mode
//! against a stand-in journalctl (a script printing a fixture): a stream cut inside a
//! binary field is counted and survived, a missing journalctl is a clear error in once mode
//! and an idle, counted state in continuous mode.

use std::os::unix::fs::PermissionsExt as _;
use std::path::Path;
use std::sync::Arc;

use gleaner_api::test_util::input_context;
use gleaner_api::{Batch, BuildContext, FieldValue, LogRecord, PluginConfig, RunMode};

use super::config::{self, Binary};
use super::export::{Next, Parser};
use super::matches::Matches;
use super::record::{Builder, Built};
use super::*;

const ENTRIES: &[u8] = include_bytes!("../../testdata/journald/entries.export");
const TRUNCATED: &[u8] = include_bytes!("../../testdata/journald/truncated_binary.export");

fn records(stream: &[u8], builder: &mut Builder) -> Vec<LogRecord> {
    let mut p = Parser::new(1 << 20);
    p.feed(stream);
    let mut out = Vec::new();
    loop {
        match p.next() {
            Next::Entry(e) => {
                if let Built::Record(r) = builder.build(&e, 42) {
                    out.push(r);
                }
            }
            Next::Malformed(e) => panic!("{e}"),
            Next::NeedMore => break,
        }
    }
    out
}

fn s(v: &str) -> FieldValue {
    FieldValue::String(v.into())
}

#[test]
fn entries_become_records_with_severity_time_and_attributes() {
    let mut b = Builder::new(Binary::Base64, vec![], Matches::default());
    let r = records(ENTRIES, &mut b);
    assert_eq!(r.len(), 5);
    assert_eq!(
        r[1].body,
        b"E1206 12:00:00.000000 1234 pod_workers.go:1298] \"Error syncing pod\" sq=1"
    );
    assert_eq!(r[1].timestamp, 1_765_000_000_001_000_000);
    let attrs: Vec<(String, FieldValue)> = r[1]
        .attributes
        .iter()
        .map(|(k, v)| (k.to_string_owned(), v.clone()))
        .collect();
    assert_eq!(
        attrs,
        vec![
            ("_SYSTEMD_UNIT".into(), s("kubelet.service")),
            ("SYSLOG_IDENTIFIER".into(), s("kubelet")),
            ("_PID".into(), s("1234")),
            ("_HOSTNAME".into(), s("node-1")),
            ("_BOOT_ID".into(), s("0123456789abcdef0123456789abcdef")),
            ("_TRANSPORT".into(), s("stdout")),
            ("severity".into(), s("err")),
        ]
    );
    assert_eq!(r[0].attribute("severity"), Some(&s("info")));
    assert_eq!(
        r[2].body,
        b"panic: boom\ngoroutine 1 [running]:\nmain.main()"
    );
    assert_eq!(r[2].attribute("severity"), Some(&s("crit")));
    assert_eq!(r[2].attribute("journald.base64"), None, "newlines are text");
    // Not UTF-8: base64 and named.
    assert_eq!(r[3].body, b"YmFkIGJ5dGVzIP/+IGhlcmU=");
    assert_eq!(r[3].attribute("journald.base64"), Some(&s("MESSAGE")));
    assert_eq!(r[4].attribute("_SYSTEMD_UNIT"), None);
    assert_eq!(r[4].attribute("_TRANSPORT"), Some(&s("kernel")));
    // Entries 3 and 4 (containerd, same values but severity) share nothing; entries of one
    // unit with the same values share one list.
    let again = records(ENTRIES, &mut b);
    assert!(Arc::ptr_eq(
        r[1].attributes.shared_arc().unwrap(),
        again[1].attributes.shared_arc().unwrap()
    ));
}

#[test]
fn replace_mode_and_extra_fields_and_excludes() {
    let exclude = Matches::parse(&["_TRANSPORT=kernel".to_owned()]).unwrap();
    let mut b = Builder::new(Binary::Replace, vec!["BLOB".to_owned()], exclude);
    let r = records(ENTRIES, &mut b);
    assert_eq!(r.len(), 4, "the kernel entry is excluded");
    assert_eq!(r[3].body_lossy(), "bad bytes \u{fffd}\u{fffd} here");
    assert_eq!(
        r[3].attribute("invalid_utf8"),
        Some(&FieldValue::Bool(true))
    );
    assert_eq!(
        r[3].attribute("BLOB"),
        Some(&s("\u{0}\u{1}\u{2}\u{fffd}")),
        "a configured field, replaced"
    );
    assert_eq!(b.flags.binary_values, 2);
}

fn parse(toml: &str) -> Result<config::Settings, gleaner_api::ConfigError> {
    let cfg = PluginConfig::from_toml_str("inputs.journald.0", toml).unwrap();
    let mut bcx = BuildContext::for_test("inputs.journald.0");
    bcx.data_dir = Some("/var/lib/gleaner".into());
    config::parse(&cfg, &bcx)
}

#[test]
fn sample_shows_the_defaults_and_the_issue_shape_parses() {
    // Every commented option shows its default: `check_sample` (run for every plugin from
    // src/sample_checks.rs).
    assert!(DESCRIPTOR.sample.starts_with("[[inputs.journald]]\n"));
    let s = parse(
        r#"journal_directory = "/var/log/journal"   # default: the system journal
units = ["kubelet.service", "containerd.service"]"#,
    )
    .unwrap();
    assert_eq!(
        s.db,
        Path::new("/var/lib/gleaner/journald/inputs.journald.0.db")
    );
    assert_eq!(s.batch_size, 1000);
}

#[test]
fn config_errors_name_the_key() {
    for (toml, key) in [
        (r#"include_matches = ["unit=kubelet"]"#, "include_matches"),
        (r#"exclude_matches = ["+"]"#, "exclude_matches"),
        (r#"binary = "hex""#, "binary"),
        (r#"fields = ["comm"]"#, "fields"),
        ("batch_size = 0", "batch_size"),
        (r#"max_entry_bytes = "10""#, "max_entry_bytes"),
        (r#"units = ["a=b"]"#, "units"),
        ("unknown = 1", "unknown"),
    ] {
        let e = parse(toml).expect_err(toml).to_string();
        assert!(e.contains(key), "{toml}: {e}");
    }
}

/// A stand-in journalctl printing `stream` (and exiting with `code`), in `dir`.
fn fake_journalctl(dir: &Path, stream: &[u8], code: i32) -> std::path::PathBuf {
    // The input looks for journal files before it starts journalctl.
    std::fs::write(dir.join("system.journal"), b"").unwrap();
    let data = dir.join("stream.export");
    std::fs::write(&data, stream).unwrap();
    let path = dir.join("journalctl");
    std::fs::write(
        &path,
        format!("#!/bin/sh\ncat '{}'\nexit {code}\n", data.display()),
    )
    .unwrap();
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).unwrap();
    path
}

/// The journald input over `journal` with `journalctl` as its journalctl and `db` as its
/// cursor database, and the context it was built in (its metrics).
fn build_input(
    journal: &Path,
    journalctl: &Path,
    db: &Path,
) -> (Box<dyn gleaner_api::Input>, BuildContext) {
    let toml = format!(
        "journal_directory = '{}'\njournalctl_path = '{}'\ndb = '{}'\n",
        journal.display(),
        journalctl.display(),
        db.display()
    );
    let bcx = BuildContext::for_test("inputs.journald.0");
    let cfg = PluginConfig::from_toml_str("inputs.journald.0", &toml).unwrap();
    let input = (DESCRIPTOR.build)(&cfg, &bcx).unwrap();
    (input, bcx)
}

async fn run_once(
    dir: &Path,
    journalctl: &Path,
) -> (
    Result<(), gleaner_api::PluginError>,
    Vec<LogRecord>,
    gleaner_api::ComponentSnapshot,
) {
    let (input, bcx) = build_input(dir, journalctl, &dir.join("cursor.db"));
    let (cx, mut rx, _trigger) = input_context(&bcx, RunMode::Once, 16);
    let handle = tokio::spawn(input.run(cx));
    let mut out = Vec::new();
    while let Some(env) = rx.recv().await {
        if let Some(a) = env.ack {
            a.ack();
        }
        if let Batch::Logs(l) = env.batch {
            out.extend(l);
        }
    }
    let r = handle.await.unwrap();
    (r, out, bcx.metrics.snapshot())
}

fn error_count(s: &gleaner_api::ComponentSnapshot, reason: &str) -> u64 {
    s.errors
        .iter()
        .find(|(r, _)| *r == reason)
        .map_or(0, |(_, n)| *n)
}

#[tokio::test]
async fn once_mode_reads_the_stream_and_commits_the_last_cursor() {
    let dir = tempfile::tempdir().unwrap();
    let fake = fake_journalctl(dir.path(), ENTRIES, 0);
    let (r, out, _) = run_once(dir.path(), &fake).await;
    r.unwrap();
    assert_eq!(out.len(), 5);
    let (db, _) = CursorDb::open(&dir.path().join("cursor.db"), 0);
    assert!(
        db.cursor()
            .is_some_and(|c| c.starts_with("s=810bbf1e698c4ee9b2d276a69f68941f;i=5;"))
    );
}

#[tokio::test]
async fn a_stream_cut_inside_a_binary_field_is_counted_and_survived() {
    let dir = tempfile::tempdir().unwrap();
    let fake = fake_journalctl(dir.path(), TRUNCATED, 0);
    let (r, out, snap) = run_once(dir.path(), &fake).await;
    r.unwrap();
    assert_eq!(out.len(), 3, "the entries before the cut one");
    assert_eq!(error_count(&snap, "export_cut"), 1);
    let (db, _) = CursorDb::open(&dir.path().join("cursor.db"), 0);
    assert!(
        db.cursor().is_some_and(|c| c.contains(";i=3;")),
        "the cursor stays before the cut entry, which is read again"
    );
}

#[tokio::test]
async fn a_missing_journalctl_is_a_clear_error_once_and_an_idle_state_when_running() {
    let dir = tempfile::tempdir().unwrap();
    let missing = dir.path().join("no-such-journalctl");
    std::fs::write(dir.path().join("system.journal"), b"").unwrap();
    let (r, out, snap) = run_once(dir.path(), &missing).await;
    let e = r.expect_err("once mode fails").to_string();
    assert!(e.contains("journalctl not found"), "{e}");
    assert!(out.is_empty());
    assert_eq!(error_count(&snap, "journalctl_missing"), 1);

    // Continuous: counted, idles, and stops cleanly.
    let (input, bcx) = build_input(dir.path(), &missing, &dir.path().join("c2.db"));
    let (cx, _rx, trigger) = input_context(&bcx, RunMode::Continuous, 16);
    let handle = tokio::spawn(input.run(cx));
    let deadline = tokio::time::Instant::now() + std::time::Duration::from_secs(10);
    while error_count(&bcx.metrics.snapshot(), "journalctl_missing") == 0 {
        assert!(tokio::time::Instant::now() < deadline, "never counted");
        tokio::time::sleep(std::time::Duration::from_millis(10)).await;
    }
    assert!(!handle.is_finished(), "the input idles instead of ending");
    trigger.trigger();
    handle.await.unwrap().unwrap();
    assert_eq!(
        error_count(&bcx.metrics.snapshot(), "journalctl_missing"),
        1
    );
}

#[tokio::test]
async fn no_journal_directory_is_reported_and_idles() {
    for journal in ["not-mounted", "empty"] {
        no_journal_is_reported_and_idles(journal).await;
    }
}

async fn no_journal_is_reported_and_idles(journal: &str) {
    let dir = tempfile::tempdir().unwrap();
    let fake = fake_journalctl(dir.path(), ENTRIES, 0);
    std::fs::create_dir(dir.path().join("empty")).unwrap();
    let (input, bcx) = build_input(&dir.path().join(journal), &fake, &dir.path().join("c.db"));
    let (cx, mut rx, trigger) = input_context(&bcx, RunMode::Continuous, 16);
    let handle = tokio::spawn(input.run(cx));
    let deadline = tokio::time::Instant::now() + std::time::Duration::from_secs(10);
    while error_count(&bcx.metrics.snapshot(), "no_journal") == 0 {
        assert!(tokio::time::Instant::now() < deadline, "never reported");
        tokio::time::sleep(std::time::Duration::from_millis(10)).await;
    }
    assert!(rx.try_recv().is_err(), "nothing read");
    trigger.trigger();
    handle.await.unwrap().unwrap();
}

#[test]
fn journalctls_pipe_is_widened_past_the_default_64_kib() {
    let (mut child, _last) =
        super::child::spawn(Path::new("sleep"), &["30".into()], "inputs.journald.0").unwrap();
    let out = child.stdout.take().unwrap();
    let size = rustix::pipe::fcntl_getpipe_size(&out).unwrap();
    child.kill().unwrap();
    child.wait().unwrap();
    assert!(size >= super::child::PIPE_SIZE, "{size}");
}

#[tokio::test]
async fn entries_are_sent_while_journalctl_waits_for_more() {
    // A following journalctl writes what it has and waits: the reader, which lingers on a
    // drained pipe for more, must still send the batch instead of blocking in its next read.
    let dir = tempfile::tempdir().unwrap();
    let fake = fake_journalctl(dir.path(), ENTRIES, 0);
    let script = std::fs::read_to_string(&fake).unwrap();
    std::fs::write(&fake, script.replace("exit 0", "exec sleep 60")).unwrap();
    let (input, bcx) = build_input(dir.path(), &fake, &dir.path().join("c.db"));
    let (cx, mut rx, trigger) = input_context(&bcx, RunMode::Continuous, 16);
    let handle = tokio::spawn(input.run(cx));
    let mut got = 0;
    while got < 5 {
        let env = tokio::time::timeout(std::time::Duration::from_secs(20), rx.recv())
            .await
            .expect("the entries arrive while journalctl still runs")
            .unwrap();
        if let Some(a) = env.ack {
            a.ack();
        }
        got += env.batch.len();
    }
    assert_eq!(got, 5);
    trigger.trigger();
    handle.await.unwrap().unwrap();
}
