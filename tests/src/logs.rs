//! Helpers for log pipelines end to end: write container log lines (CRI), read what
//! `outputs.file` wrote (one JSON object per line), and wait for it with a deadline.

use std::io::Write;
use std::path::Path;
use std::time::{Duration, Instant};

/// A CRI line (`<time> stdout F <msg>\n`) with a fixed timestamp.
pub fn cri(msg: &str) -> String {
    format!("2024-01-01T00:00:00.000000001Z stdout F {msg}\n")
}

/// Appends `text` to `path`, creating it (and its directory) if needed.
///
/// # Panics
/// On I/O errors.
pub fn append(path: &Path, text: &[u8]) {
    if let Some(d) = path.parent() {
        std::fs::create_dir_all(d).expect("create log dir");
    }
    let mut f = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(path)
        .expect("open log");
    f.write_all(text).expect("append log");
}

/// The value of string field `key` in a one-line JSON object (JSON escapes decoded).
pub fn json_str(line: &str, key: &str) -> Option<String> {
    let pat = format!("\"{key}\":\"");
    let start = line.find(&pat)? + pat.len();
    let mut out = String::new();
    let mut chars = line[start..].chars();
    while let Some(c) = chars.next() {
        match c {
            '"' => return Some(out),
            '\\' => match chars.next()? {
                'n' => out.push('\n'),
                't' => out.push('\t'),
                'r' => out.push('\r'),
                'b' => out.push('\u{8}'),
                'f' => out.push('\u{c}'),
                'u' => {
                    let hex: String = chars.by_ref().take(4).collect();
                    out.push(char::from_u32(u32::from_str_radix(&hex, 16).ok()?)?);
                }
                other => out.push(other),
            },
            c => out.push(c),
        }
    }
    None
}

/// True when the JSON line has `"key":true`.
pub fn json_true(line: &str, key: &str) -> bool {
    line.contains(&format!("\"{key}\":true"))
}

/// Reads `path` (JSON lines) until `pred` holds for its lines; returns them.
///
/// # Panics
/// After `deadline`, with `what` and the line count.
pub fn wait_output(
    path: &Path,
    deadline: Duration,
    what: &str,
    pred: impl Fn(&[&str]) -> bool,
) -> String {
    let end = Instant::now() + deadline;
    loop {
        let text = std::fs::read_to_string(path).unwrap_or_default();
        // Only whole lines: the writer may be mid-line.
        let whole = text.rfind('\n').map_or("", |i| &text[..=i]);
        let lines: Vec<&str> = whole.lines().collect();
        if pred(&lines) {
            return whole.to_owned();
        }
        assert!(
            Instant::now() < end,
            "timed out waiting for {what}: {} lines in {}",
            lines.len(),
            path.display()
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// Leading decimal number of a message such as `"42 padding"`.
pub fn seq_of(message: &str) -> Option<usize> {
    let digits = message.split(|c: char| !c.is_ascii_digit()).next()?;
    digits.parse().ok()
}
