//! Tests of `outputs.file`: config validation, exact bytes on disk, rotation order, missing
//! directories, and reopening after the file was moved or deleted by someone else.

use std::fs;
use std::os::unix::fs::FileTypeExt;
use std::path::Path;

use gleaner_api::{
    Accepts, Batch, BuildContext, ConfigError, FieldValue, LogRecord, Metric, Output,
    OutputErrorKind, Payload, PluginConfig, Stream,
};

use super::DESCRIPTOR;

fn build(toml: &str) -> Result<(Box<dyn Output>, BuildContext), ConfigError> {
    let bcx = BuildContext::for_test("outputs.file.0");
    let cfg = PluginConfig::from_toml_str("outputs.file.0", toml)?;
    (DESCRIPTOR.build)(&cfg, &bcx).map(|out| (out, bcx))
}

fn file_output(path: &Path, extra: &str) -> (Box<dyn Output>, BuildContext) {
    let toml = format!("path = {:?}\n{extra}", path.display().to_string());
    build(&toml).unwrap()
}

fn payload(bytes: &[u8]) -> Payload {
    Payload {
        bytes: bytes.to_vec().into(),
        events: 1,
    }
}

fn read(path: impl AsRef<Path>) -> String {
    fs::read_to_string(path).unwrap()
}

#[test]
fn descriptor_and_sample_build() {
    assert_eq!(DESCRIPTOR.name, "file");
    assert_eq!(DESCRIPTOR.accepts, Accepts::BOTH);
    let table = DESCRIPTOR
        .sample
        .strip_prefix("[[outputs.file]]\n")
        .unwrap();
    build(table).unwrap();
    let uncommented = table
        .replace("# rotate", "rotate")
        .replace("# fsync", "fsync");
    assert!(uncommented.contains("\nfsync = false"));
    build(&uncommented).unwrap();
}

#[test]
fn invalid_configs_are_located() {
    let err = build("").err().unwrap();
    assert!(
        err.message.contains("missing field `path`"),
        "{}",
        err.message
    );

    let err = build("path = \"\"").err().unwrap();
    assert_eq!(err.key.as_deref(), Some("outputs.file.0.path"));
    assert_eq!(err.message, "path must not be empty");

    let err = build("path = \"/tmp/dir/\"").err().unwrap();
    assert_eq!(err.key.as_deref(), Some("outputs.file.0.path"));
    assert!(
        err.message.contains("does not name a file"),
        "{}",
        err.message
    );

    let text = "path = \"/tmp/x.log\"\nrotate_max_files = 0\n";
    let err = build(text).err().unwrap();
    assert_eq!(err.key.as_deref(), Some("outputs.file.0.rotate_max_files"));
    assert_eq!(&text[err.span.unwrap()], "0");
    assert!(err.hint.unwrap().contains("rotate_max_bytes = 0"));

    let err = build("path = \"/tmp/x.log\"\nrotate_max_byte = 5\n")
        .err()
        .unwrap();
    assert_eq!(err.key.as_deref(), Some("outputs.file.0.rotate_max_byte"));
    assert_eq!(
        err.hint.as_deref(),
        Some("did you mean `rotate_max_bytes`?")
    );

    let err = build("path = \"/tmp/x.log\"\nrotate_max_bytes = \"lots\"\n")
        .err()
        .unwrap();
    assert_eq!(err.key.as_deref(), Some("outputs.file.0.rotate_max_bytes"));
}

#[test]
fn build_does_no_io() {
    // The directory does not exist: build succeeds, sending fails later.
    build("path = \"/nonexistent/gleaner/x.log\"").unwrap();
}

#[test]
fn encode_uses_line_protocol_and_json_lines() {
    let (out, bcx) = build("path = \"/tmp/x.log\"").unwrap();
    let mut buf = Vec::new();
    let logs = Batch::Logs(vec![LogRecord::new(0, "hi", Stream::Stdout)]);
    out.encode(&logs, &mut buf).unwrap();
    assert_eq!(
        buf,
        &b"{\"timestamp\":\"1970-01-01T00:00:00.000000000Z\",\"stream\":\"stdout\",\
          \"message\":\"hi\"}\n"[..]
    );
    let metrics = Batch::Metrics(vec![
        Metric::new("m", 0).with_field("x", FieldValue::Float(f64::NAN)),
    ]);
    out.encode(&metrics, &mut Vec::new()).unwrap();
    assert_eq!(bcx.metrics.dropped_count("nan_or_inf_field"), 1);
    assert_eq!(bcx.metrics.dropped_count("no_fields"), 1);
}

#[tokio::test]
async fn writes_exact_bytes_appending_and_counts() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("out.log");
    fs::write(&path, "old\n").unwrap();
    let (mut out, bcx) = file_output(&path, "fsync = true\n");
    out.send(payload(b"cpu a=1 1\n")).await.unwrap();
    out.send(Payload {
        bytes: b"x\ny\n".to_vec().into(),
        events: 2,
    })
    .await
    .unwrap();
    out.flush().await.unwrap();
    assert_eq!(read(&path), "old\ncpu a=1 1\nx\ny\n");
    // Sent events are counted by the delivery worker, not by the output.
    assert_eq!(bcx.metrics.snapshot().events_sent, 0);
}

#[tokio::test]
async fn rotation_keeps_n_files_newest_first_and_never_splits() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("out.log");
    let (mut out, _) = file_output(
        &path,
        "rotate_max_bytes = 10\nrotate_max_files = 2\nfsync = true\n",
    );
    for p in ["aaaa\n", "bbbb\n", "cccc\n"] {
        out.send(payload(p.as_bytes())).await.unwrap();
    }
    // 10 bytes fit exactly; the third payload would cross, so it starts a new file.
    assert_eq!(read(&path), "cccc\n");
    assert_eq!(read(dir.path().join("out.log.1")), "aaaa\nbbbb\n");

    // Larger than the limit: alone in a fresh file, whole.
    out.send(payload(b"dddddddddddd\n")).await.unwrap();
    assert_eq!(read(&path), "dddddddddddd\n");
    assert_eq!(read(dir.path().join("out.log.1")), "cccc\n");
    assert_eq!(read(dir.path().join("out.log.2")), "aaaa\nbbbb\n");

    // The oldest is deleted past rotate_max_files.
    out.send(payload(b"e\n")).await.unwrap();
    out.flush().await.unwrap();
    assert_eq!(read(&path), "e\n");
    assert_eq!(read(dir.path().join("out.log.1")), "dddddddddddd\n");
    assert_eq!(read(dir.path().join("out.log.2")), "cccc\n");
    let mut names: Vec<_> = fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .collect();
    names.sort();
    assert_eq!(names, ["out.log", "out.log.1", "out.log.2"]);
}

#[tokio::test]
async fn zero_max_bytes_disables_rotation() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("out.log");
    let (mut out, _) = file_output(&path, "rotate_max_bytes = 0\n");
    for _ in 0..3 {
        out.send(payload(b"0123456789\n")).await.unwrap();
    }
    assert_eq!(read(&path).len(), 33);
    assert_eq!(fs::read_dir(dir.path()).unwrap().count(), 1);
}

#[tokio::test]
async fn existing_file_size_counts_toward_rotation() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("out.log");
    fs::write(&path, "12345678\n").unwrap();
    let (mut out, _) = file_output(&path, "rotate_max_bytes = 10\n");
    out.send(payload(b"ab\n")).await.unwrap();
    assert_eq!(read(&path), "ab\n");
    assert_eq!(read(dir.path().join("out.log.1")), "12345678\n");
}

#[tokio::test]
async fn missing_directory_is_retryable_and_names_the_path() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("sub").join("out.log");
    let (mut out, _) = file_output(&path, "");
    let err = out.send(payload(b"x\n")).await.unwrap_err();
    assert_eq!(err.kind, OutputErrorKind::Retryable);
    assert!(
        err.message.starts_with("cannot open output file "),
        "{}",
        err.message
    );
    assert!(
        err.message.contains(&path.display().to_string()),
        "{}",
        err.message
    );
    // Once the directory exists, the retry goes through.
    fs::create_dir(dir.path().join("sub")).unwrap();
    out.send(payload(b"x\n")).await.unwrap();
    assert_eq!(read(&path), "x\n");
}

#[tokio::test]
async fn reopens_after_external_delete_or_move_at_next_flush() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("out.log");
    let (mut out, _) = file_output(&path, "");
    out.send(payload(b"a\n")).await.unwrap();
    out.flush().await.unwrap();

    // Deleted: the next send (after a flush) writes to a new file.
    fs::remove_file(&path).unwrap();
    out.send(payload(b"b\n")).await.unwrap();
    assert_eq!(read(&path), "b\n");

    // Moved away (logrotate without copytruncate): writes follow the moved file until the
    // next flush, then go to a new file at `path`.
    let moved = dir.path().join("out.log.old");
    fs::rename(&path, &moved).unwrap();
    out.send(payload(b"c\n")).await.unwrap();
    out.flush().await.unwrap();
    out.send(payload(b"d\n")).await.unwrap();
    assert_eq!(read(&moved), "b\nc\n");
    assert_eq!(read(&path), "d\n");
}

#[tokio::test]
async fn copytruncate_refreshes_the_size() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("out.log");
    let (mut out, _) = file_output(&path, "rotate_max_bytes = 10\n");
    out.send(payload(b"1234567\n")).await.unwrap();
    out.flush().await.unwrap();
    fs::OpenOptions::new()
        .write(true)
        .open(&path)
        .unwrap()
        .set_len(0)
        .unwrap();
    // Without the refresh, 8 + 8 > 10 would rotate.
    out.send(payload(b"abcdefg\n")).await.unwrap();
    assert_eq!(read(&path), "abcdefg\n");
    assert!(fs::metadata(dir.path().join("out.log.1")).is_err());
}

#[tokio::test]
async fn a_path_that_is_not_a_regular_file_is_never_rotated() {
    // A FIFO stands in for /dev/null or a terminal: renaming it would move the node itself.
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("out.fifo");
    let made = std::process::Command::new("mkfifo")
        .arg(&path)
        .status()
        .unwrap();
    assert!(made.success());
    let reader = {
        let path = path.clone();
        std::thread::spawn(move || fs::read(path).unwrap())
    };
    let (mut out, _) = file_output(&path, "rotate_max_bytes = 10\n");
    for _ in 0..3 {
        out.send(payload(b"1234567\n")).await.unwrap();
    }
    drop(out);
    assert_eq!(reader.join().unwrap().len(), 24);
    assert!(fs::metadata(&path).unwrap().file_type().is_fifo());
    assert!(fs::metadata(dir.path().join("out.fifo.1")).is_err());
}
