//! The batch builder alone: what a read adds, when the batch is full, and what a hand-off
//! carries (records, the offsets they reach, offsets of closed files), on real files.

use std::fs::File;
use std::path::Path;
use std::sync::Arc;

use gleaner_api::{BuildContext, ComponentMetrics, PluginConfig};

use super::{BatchBuilder, MAX_BATCH_RECORDS, Outgoing};
use crate::tail::config::{Format, Settings, parse};
use crate::tail::file::{FINGERPRINT_BYTES, FileKey, Fingerprint};
use crate::tail::offsets::Commit;
use crate::tail::stats::TailStats;
use crate::tail::table::FileTable;
use crate::tail::tracked::{Life, OpenedFile, ReadResult, Tracked};

fn settings(dir: &Path) -> Arc<Settings> {
    let text = format!(
        "paths = [\"{0}/*.log\"]\ndb = \"{0}/tail.db\"\nformat = \"raw\"",
        dir.display()
    );
    let cfg = PluginConfig::from_toml_str("inputs.tail.0", &text).unwrap();
    Arc::new(parse(&cfg, &BuildContext::for_test("inputs.tail.0")).unwrap())
}

struct Fixture {
    dir: tempfile::TempDir,
    builder: BatchBuilder,
    rx: tokio::sync::mpsc::Receiver<Outgoing>,
    metrics: Arc<ComponentMetrics>,
    files: FileTable,
}

fn fixture() -> Fixture {
    let dir = tempfile::tempdir().unwrap();
    let metrics = ComponentMetrics::detached("tail");
    let (tx, rx) = tokio::sync::mpsc::channel(4);
    let builder = BatchBuilder::new(
        settings(dir.path()),
        Arc::clone(&metrics),
        Arc::new(TailStats::default()),
        tx,
    );
    Fixture {
        dir,
        builder,
        rx,
        metrics,
        files: FileTable::new(10),
    }
}

impl Fixture {
    /// Writes `text` to `name` and follows it from 0.
    fn follow(&mut self, name: &str, text: impl AsRef<[u8]>) -> usize {
        let path = self.dir.path().join(name);
        std::fs::write(&path, text).unwrap();
        let file = File::open(&path).unwrap();
        let meta = file.metadata().unwrap();
        let opened = OpenedFile {
            path: Arc::from(path.as_path()),
            key: FileKey::of(&meta),
            fp: Fingerprint::read(&file, FINGERPRINT_BYTES).unwrap(),
            size: meta.len(),
            file,
        };
        self.files
            .insert(Tracked::new(opened, 0, Life::Live, Format::Raw))
    }

    fn read(&mut self, i: usize) -> ReadResult {
        let t = self.files.get_mut(i).unwrap();
        self.builder.read(t)
    }
}

fn bodies(o: &Outgoing) -> Vec<String> {
    o.records
        .iter()
        .map(|r| String::from_utf8_lossy(&r.body).into_owned())
        .collect()
}

#[test]
fn a_hand_off_carries_the_records_and_the_offset_they_reach() {
    let mut f = fixture();
    let i = f.follow("a.log", "one\ntwo\nthree\n");
    assert!(matches!(f.read(i), ReadResult::Eof));
    assert!(f.builder.pending());
    assert!(!f.builder.full());
    f.builder.touch(&mut f.files, i);
    f.builder.touch(&mut f.files, i);
    assert!(f.builder.send(&mut f.files));
    let out = f.rx.try_recv().expect("one batch");
    assert_eq!(bodies(&out), ["one", "two", "three"]);
    assert_eq!(out.offsets.len(), 1, "a file touched twice is listed once");
    assert_eq!(out.offsets[0].offset, 14);
    assert!(!out.offsets[0].ended);
    assert_eq!(f.files.get(i).unwrap().registered, 14);
    assert!(!f.builder.pending());
    assert_eq!(f.metrics.snapshot().events_received, 3);
    // Nothing new: an offset already registered is not listed again, nothing is sent.
    f.builder.touch(&mut f.files, i);
    assert!(!f.builder.pending());
    assert!(f.builder.send(&mut f.files));
    assert!(f.rx.try_recv().is_err());
}

#[test]
fn an_offset_of_a_closed_file_goes_with_the_next_hand_off_alone() {
    let mut f = fixture();
    let i = f.follow("a.log", "x\n");
    let t = f.files.get(i).unwrap();
    let commit = Commit {
        key: t.key,
        fp: t.fp,
        path: Arc::clone(&t.path),
        offset: 2,
        ended: true,
    };
    f.builder.commit(commit);
    assert!(f.builder.pending());
    assert!(f.builder.send(&mut f.files));
    let out = f.rx.try_recv().expect("offsets only");
    assert!(out.records.is_empty());
    assert_eq!(out.offsets.len(), 1);
    assert!(out.offsets[0].ended);
}

#[test]
fn a_read_stops_at_a_line_boundary_once_the_batch_is_full() {
    let mut f = fixture();
    let text: String = (0..MAX_BATCH_RECORDS + 100)
        .map(|n| format!("{n}\n"))
        .collect();
    let i = f.follow("a.log", &text);
    assert!(matches!(f.read(i), ReadResult::More));
    assert!(f.builder.full());
    f.builder.touch(&mut f.files, i);
    assert!(f.builder.send(&mut f.files));
    let out = f.rx.try_recv().unwrap();
    assert_eq!(out.records.len(), MAX_BATCH_RECORDS);
    let last = (MAX_BATCH_RECORDS - 1).to_string();
    assert_eq!(bodies(&out).last(), Some(&last));
    let end_of_last: usize = (0..MAX_BATCH_RECORDS)
        .map(|n| n.to_string().len() + 1)
        .sum();
    assert_eq!(out.offsets[0].offset, end_of_last as u64);
    assert!(!f.builder.full(), "a hand-off empties the batch");
}

#[test]
fn flagged_lines_are_counted_once() {
    let mut f = fixture();
    let i = f.follow("a.log", b"ok\n\xff\xfe\nbad \xff\n");
    f.read(i);
    assert!(f.builder.send(&mut f.files));
    assert!(f.builder.send(&mut f.files), "a second report adds nothing");
    let errors = f.metrics.snapshot().errors;
    let invalid = errors.iter().find(|(r, _)| *r == "invalid_utf8");
    assert_eq!(invalid, Some(&("invalid_utf8", 2)));
    assert_eq!(f.metrics.snapshot().events_received, 3);
}

#[test]
fn a_gone_pump_stops_the_hand_off() {
    let mut f = fixture();
    let i = f.follow("a.log", "one\n");
    f.read(i);
    drop(f.rx);
    assert!(!f.builder.send(&mut f.files));
}
