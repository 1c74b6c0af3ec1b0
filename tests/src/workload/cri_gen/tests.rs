//! Tests of the CRI generator: exact line counts, one id per record, determinism.

use super::{LogGen, write_files};
use crate::workload::protocols::scan_seq_ids;

#[test]
fn every_record_has_one_id_and_lines_are_exact() {
    let dir = tempfile::tempdir().expect("tempdir");
    let w = write_files(dir.path(), 5000, 3, 42);
    assert_eq!(w.lines, 5000);
    let mut ids = Vec::new();
    let mut p_lines = 0;
    for f in &w.files {
        let text = std::fs::read(f).expect("read");
        p_lines += text
            .split(|&b| b == b'\n')
            .filter(|l| l.split(|&b| b == b' ').nth(2) == Some(b"P"))
            .count();
        scan_seq_ids(&text, &mut ids);
    }
    ids.sort_unstable();
    assert_eq!(ids, (0..w.events).collect::<Vec<_>>());
    assert!(p_lines > 0);
    let again = write_files(tempfile::tempdir().expect("tempdir").path(), 5000, 3, 42);
    assert_eq!((again.events, again.bytes), (w.events, w.bytes));
    assert!(LogGen::new(1).events() == 0);
}
