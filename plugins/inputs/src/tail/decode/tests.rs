use std::time::{Duration, Instant};

use gleaner_api::{FieldValue, LogRecord, Stream};

use super::{Counts, DecodeOpts, Decoder, FileAttrs, PARTIAL_FLUSH_AFTER, Sink, detect};
use crate::tail::config::{Encoding, Format};
use crate::tail::multiline::{Multiline, Preset};

struct Run {
    d: Decoder,
    out: Vec<LogRecord>,
    counts: Counts,
    attrs: FileAttrs,
    max: usize,
    ml: Option<Multiline>,
    encoding: Encoding,
    off: u64,
    now: Instant,
}

impl Run {
    fn new(format: Format) -> Self {
        Run {
            d: Decoder::new(format),
            out: Vec::new(),
            counts: Counts::default(),
            attrs: FileAttrs {
                attrs: vec![("file".into(), FieldValue::String("/f.log".into()))].into(),
            },
            max: 1 << 20,
            ml: None,
            encoding: Encoding::Keep,
            off: 0,
            now: Instant::now(),
        }
    }

    fn feed(&mut self, lines: &[&[u8]]) {
        for l in lines {
            let mut sink = Sink {
                out: &mut self.out,
                attrs: &self.attrs,
                encoding: self.encoding,
                counts: &mut self.counts,
            };
            let opts = DecodeOpts {
                max_line_bytes: self.max,
                multiline: self.ml.as_ref(),
            };
            self.d
                .line(l, self.off, false, 7, self.now, opts, &mut sink);
            self.off += l.len() as u64 + 1;
        }
    }

    fn expire(&mut self, after: Duration) {
        let mut sink = Sink {
            out: &mut self.out,
            attrs: &self.attrs,
            encoding: self.encoding,
            counts: &mut self.counts,
        };
        let opts = DecodeOpts {
            max_line_bytes: self.max,
            multiline: self.ml.as_ref(),
        };
        self.d.flush_expired(self.now + after, opts, &mut sink);
    }

    fn bodies(&self) -> Vec<String> {
        self.out
            .iter()
            .map(|r| r.body_lossy().into_owned())
            .collect()
    }
}

fn flag(r: &LogRecord, k: &str) -> bool {
    r.attribute(k) == Some(&FieldValue::Bool(true))
}

fn fixture(name: &str) -> Vec<u8> {
    std::fs::read(format!(
        "{}/testdata/tail/{name}",
        env!("CARGO_MANIFEST_DIR")
    ))
    .unwrap()
}

fn lines(b: &[u8]) -> Vec<&[u8]> {
    b.split(|&c| c == b'\n').filter(|l| !l.is_empty()).collect()
}

#[test]
fn cri_pieces_merge_per_stream() {
    let mut r = Run::new(Format::Cri);
    r.feed(&[
        b"2024-01-01T00:00:00.1Z stdout P one ",
        b"2024-01-01T00:00:00.2Z stderr F err line",
        b"2024-01-01T00:00:00.3Z stdout P two ",
    ]);
    assert_eq!(r.bodies(), ["err line"]);
    assert_eq!(r.d.pending_start(), Some(0), "the first piece is held");
    r.feed(&[b"2024-01-01T00:00:00.4Z stdout F three"]);
    assert_eq!(r.bodies(), ["err line", "one two three"]);
    assert_eq!(r.out[1].stream, Stream::Stdout);
    assert_eq!(
        r.out[1].timestamp, 1_704_067_200_100_000_000,
        "first piece's time"
    );
    assert_eq!(r.d.pending_start(), None);
    assert_eq!(
        r.out[0].attribute("file"),
        Some(&FieldValue::String("/f.log".into()))
    );
}

#[test]
fn cri_fixture_and_cri_o_offsets() {
    let data = fixture("cri.log");
    let mut r = Run::new(Format::Auto);
    r.feed(&lines(&data));
    assert_eq!(
        r.bodies(),
        [
            "hello from containerd",
            "to stderr",
            "a line split by the runtime into three pieces",
            "",
            "  spaces kept  ",
        ]
    );
    let crio = fixture("crio.log");
    let mut r = Run::new(Format::Auto);
    r.feed(&lines(&crio));
    assert_eq!(r.bodies(), ["cri-o line one", "cri-o line two"]);
    assert_eq!(r.out[0].timestamp, 1_709_287_200_123_456_789);
}

#[test]
fn docker_fixture_merges_chunks() {
    let data = fixture("docker.log");
    assert_eq!(detect(lines(&data)[0]), Format::Docker);
    let mut r = Run::new(Format::Auto);
    r.feed(&lines(&data));
    assert_eq!(
        r.bodies(),
        ["plain \"quoted\" line", "a long line in two chunks", "err"]
    );
    assert_eq!(r.out[2].stream, Stream::Stderr);
}

#[test]
fn malformed_lines_pass_raw_and_flagged() {
    let mut r = Run::new(Format::Cri);
    r.feed(&[b"not a cri line", b"2024-01-01T00:00:00Z stdout F ok"]);
    assert_eq!(r.bodies(), ["not a cri line", "ok"]);
    assert!(flag(&r.out[0], "parse_error"));
    assert_eq!(r.out[0].timestamp, 7, "read time");
    assert!(!flag(&r.out[1], "parse_error"));
    assert_eq!(r.counts.parse_errors, 1);
}

#[test]
fn only_partial_pieces_flush_after_a_while_flagged() {
    let mut r = Run::new(Format::Cri);
    r.feed(&[
        b"2024-01-01T00:00:00Z stdout P a",
        b"2024-01-01T00:00:00Z stdout P b",
    ]);
    r.expire(Duration::from_millis(10));
    assert!(r.out.is_empty());
    r.expire(PARTIAL_FLUSH_AFTER);
    assert_eq!(r.bodies(), ["ab"]);
    assert!(flag(&r.out[0], "partial"));
}

#[test]
fn merged_pieces_are_capped() {
    let mut r = Run::new(Format::Cri);
    r.max = 4;
    r.feed(&[
        b"2024-01-01T00:00:00Z stdout P abc",
        b"2024-01-01T00:00:00Z stdout P def",
        b"2024-01-01T00:00:00Z stdout F ghi",
    ]);
    assert_eq!(r.bodies(), ["abcd"]);
    assert!(flag(&r.out[0], "truncated"));
}

#[test]
fn invalid_utf8_kept_or_replaced() {
    let mut r = Run::new(Format::Raw);
    r.feed(&[b"bad \xff byte"]);
    assert_eq!(r.out[0].body, b"bad \xff byte");
    assert!(flag(&r.out[0], "invalid_utf8"));
    let mut r = Run::new(Format::Raw);
    r.encoding = Encoding::Replace;
    r.feed(&[b"bad \xff byte"]);
    assert_eq!(r.out[0].body, "bad \u{fffd} byte".as_bytes());
    assert!(flag(&r.out[0], "invalid_utf8"));
    assert_eq!(r.counts.invalid_utf8, 1);
}

#[test]
fn java_trace_joined_through_cri() {
    let data = fixture("java.cri.log");
    let mut r = Run::new(Format::Cri);
    r.ml = Some(Multiline::preset(
        Preset::Java,
        Duration::from_secs(1),
        1 << 20,
    ));
    r.feed(&lines(&data));
    r.expire(Duration::from_secs(1));
    let b = r.bodies();
    assert_eq!(b.len(), 3, "{b:#?}");
    assert_eq!(b[0], "starting");
    assert!(
        b[1].starts_with(
            "Exception in thread \"main\" java.lang.IllegalStateException: boom\n\tat "
        )
    );
    assert!(b[1].contains("\nCaused by: java.io.IOException: disk\n"));
    assert!(b[1].ends_with("\t... 2 more"));
    assert_eq!(b[2], "done");
}

#[test]
fn python_traceback_joined() {
    let data = fixture("python.log");
    let mut r = Run::new(Format::Raw);
    r.ml = Some(Multiline::preset(
        Preset::Python,
        Duration::from_secs(1),
        1 << 20,
    ));
    r.feed(&lines(&data));
    r.expire(Duration::from_secs(1));
    let b = r.bodies();
    assert_eq!(b.len(), 3, "{b:#?}");
    assert_eq!(b[0], "INFO starting");
    assert!(b[1].starts_with("Traceback (most recent call last):\n  File"));
    assert!(b[1].ends_with("ValueError: bad value"));
    assert_eq!(b[2], "INFO after");
}

#[test]
fn go_panic_joined() {
    let data = fixture("go.log");
    let mut r = Run::new(Format::Raw);
    r.ml = Some(Multiline::preset(
        Preset::Go,
        Duration::from_secs(1),
        1 << 20,
    ));
    r.feed(&lines(&data));
    r.expire(Duration::from_secs(1));
    let b = r.bodies();
    assert_eq!(b.len(), 3, "{b:#?}");
    assert!(
        b[1].starts_with(
            "panic: boom\ngoroutine 1 [running]:\nmain.main()\n\t/app/main.go:5 +0x1d"
        )
    );
    assert_eq!(b[2], "level=info msg=restarted");
}

#[test]
fn custom_start_and_hold_until_flush() {
    let mut r = Run::new(Format::Raw);
    r.ml = Some(Multiline::start(r"^\d{4}-", Duration::from_secs(1), 1 << 20).unwrap());
    r.feed(&[b"2024-01-01 first", b"  more", b"2024-01-01 second"]);
    assert_eq!(r.bodies(), ["2024-01-01 first\n  more"]);
    assert_eq!(
        r.d.pending_start(),
        Some(24),
        "the second message is held from its start"
    );
    r.expire(Duration::from_millis(999));
    assert_eq!(r.out.len(), 1);
    r.expire(Duration::from_secs(1));
    assert_eq!(r.bodies()[1], "2024-01-01 second");
}

#[test]
fn multiline_max_bytes_splits() {
    let mut r = Run::new(Format::Raw);
    r.ml = Some(Multiline::start("^S", Duration::from_secs(1), 12).unwrap());
    r.feed(&[b"S 12345", b" 678", b" 9"]);
    r.expire(Duration::from_secs(2));
    assert_eq!(r.bodies(), ["S 12345\n 678", " 9"]);
}

#[test]
fn held_state_is_boxed_only_while_something_is_held() {
    let mut r = Run::new(Format::Cri);
    r.feed(&[b"2024-01-01T00:00:00.1Z stdout F whole"]);
    assert!(r.d.pending.is_none(), "a whole line holds nothing");
    r.feed(&[b"2024-01-01T00:00:00.2Z stdout P one "]);
    assert!(r.d.has_pending());
    r.feed(&[b"2024-01-01T00:00:00.3Z stdout F two"]);
    assert!(r.d.pending.is_none(), "freed once the line is complete");

    let mut r = Run::new(Format::Raw);
    r.ml = Some(Multiline::preset(
        Preset::Python,
        Duration::from_secs(1),
        1 << 20,
    ));
    r.feed(&[b"plain"]);
    assert!(r.d.pending.is_none(), "a line sent at once holds nothing");
    r.feed(&[b"Traceback (most recent call last):", b"  File \"x\""]);
    assert!(r.d.has_pending());
    r.feed(&[b"ValueError: x", b"next"]);
    assert!(r.d.pending.is_none(), "freed once the message is sent");
    assert_eq!(r.out.len(), 3);
    r.feed(&[b"Traceback (most recent call last):"]);
    r.expire(Duration::from_secs(1));
    assert!(r.d.pending.is_none(), "freed by the flush");
    assert_eq!(r.out.len(), 4);
}
