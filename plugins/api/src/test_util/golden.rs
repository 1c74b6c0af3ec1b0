//! Golden files: a test's output compared with a file under a crate's `testdata/`, failing
//! with a line diff; with `GOLDEN_UPDATE=1` in the environment the file is written instead
//! (review the diff before committing it).

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

/// `<crate_dir>/testdata/<name>`; pass `env!("CARGO_MANIFEST_DIR")` as `crate_dir`.
pub fn testdata(crate_dir: &str, name: &str) -> PathBuf {
    Path::new(crate_dir).join("testdata").join(name)
}

/// Compares `actual` with the golden file `testdata/<name>` of the crate at `crate_dir`.
///
/// # Panics
/// When they differ (with the lines that differ, `-` golden, `+` actual), or when the file
/// cannot be read or written: this is a test helper.
pub fn assert_golden(crate_dir: &str, name: &str, actual: &[u8]) {
    let path = testdata(crate_dir, name);
    if std::env::var_os("GOLDEN_UPDATE").is_some() {
        std::fs::write(&path, actual).expect("write golden");
        return;
    }
    let expected = std::fs::read_to_string(&path).unwrap_or_else(|e| {
        panic!(
            "golden {}: {e} (GOLDEN_UPDATE=1 creates it)",
            path.display()
        )
    });
    if let Some(diff) = diff(&expected, &String::from_utf8_lossy(actual)) {
        panic!("output differs from golden {name} (- golden, + actual):\n{diff}");
    }
}

/// The lines where `actual` differs from `expected` (`  ` same, `- ` golden, `+ ` actual),
/// or `None` when they are the same text.
fn diff(expected: &str, actual: &str) -> Option<String> {
    if actual == expected {
        return None;
    }
    let mut msg = String::new();
    let (a, e): (Vec<_>, Vec<_>) = (actual.lines().collect(), expected.lines().collect());
    for i in 0..a.len().max(e.len()) {
        match (e.get(i), a.get(i)) {
            (Some(x), Some(y)) if x == y => writeln!(msg, "  {x}"),
            (x, y) => {
                let minus = x.map_or(Ok(()), |x| writeln!(msg, "- {x}"));
                minus.and(y.map_or(Ok(()), |y| writeln!(msg, "+ {y}")))
            }
        }
        .expect("write to a String");
    }
    if msg.lines().all(|l| l.starts_with("  ")) {
        // Same lines, different line ends (a missing final newline).
        msg.push_str("(the line ends differ)\n");
    }
    Some(msg)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_diff_marks_changed_missing_and_added_lines() {
        assert_eq!(diff("a\nb\n", "a\nb\n"), None);
        assert_eq!(
            diff("a\nb\nc\n", "a\nx\nc\nd\n").as_deref(),
            Some("  a\n- b\n+ x\n  c\n+ d\n")
        );
        assert_eq!(
            diff("a\n", "a").as_deref(),
            Some("  a\n(the line ends differ)\n")
        );
    }

    #[test]
    fn a_differing_output_fails_and_the_same_passes() {
        let dir = tempfile::tempdir().expect("tempdir");
        std::fs::create_dir(dir.path().join("testdata")).expect("mkdir");
        std::fs::write(dir.path().join("testdata/x.txt"), "one\n").expect("write");
        let crate_dir = dir.path().to_str().expect("utf8");
        assert_golden(crate_dir, "x.txt", b"one\n");
        let r = std::panic::catch_unwind(|| assert_golden(crate_dir, "x.txt", b"two\n"));
        assert!(r.is_err(), "a different output passed");
    }
}
