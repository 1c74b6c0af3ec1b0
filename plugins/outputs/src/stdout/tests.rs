//! Tests of `outputs.stdout`: config, encoding through the shared encoders, and how writes
//! and write errors are handled (against in-memory writers, not the real stdout).

use std::io;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use gleaner_api::{
    Batch, BuildContext, ComponentMetrics, FieldValue, LogRecord, Metric, Output, OutputErrorKind,
    Payload, PluginConfig, Stream,
};
use tokio::io::{AsyncWrite, BufWriter};

use super::{DESCRIPTOR, StdoutOutput};
use crate::json_lines::MetricFormat;

fn build(
    toml: &str,
) -> (
    Result<Box<dyn Output>, gleaner_api::ConfigError>,
    BuildContext,
) {
    let bcx = BuildContext::for_test("outputs.stdout.0");
    let cfg = PluginConfig::from_toml_str("outputs.stdout.0", toml).unwrap();
    ((DESCRIPTOR.build)(&cfg, &bcx), bcx)
}

fn metrics_batch() -> Batch {
    Batch::Metrics(vec![
        Metric::new("cpu", 1_700_000_000_000_000_000)
            .with_tag("host", "a")
            .with_field("usage_idle", FieldValue::Float(99.5))
            .with_field("bad", FieldValue::Float(f64::NAN)),
        Metric::new("empty", 0).with_field("x", FieldValue::Float(f64::INFINITY)),
    ])
}

#[test]
fn descriptor_and_sample() {
    assert_eq!(DESCRIPTOR.name, "stdout");
    assert_eq!(DESCRIPTOR.accepts, gleaner_api::Accepts::BOTH);
    assert!(DESCRIPTOR.sample.starts_with("[[outputs.stdout]]\n"));
    // The sample parses as TOML and builds, with and without its options uncommented.
    let sample_table = DESCRIPTOR.sample.replace("[[outputs.stdout]]\n", "");
    assert!(build(&sample_table).0.is_ok());
    let uncommented = sample_table.replace("# format", "format");
    assert!(build(&uncommented).0.is_ok());
    assert!(build("").0.is_ok());
}

#[test]
fn unknown_key_and_bad_format_are_located() {
    let err = build("formt = \"json\"\n").0.err().unwrap();
    assert_eq!(err.key.as_deref(), Some("outputs.stdout.0.formt"));
    assert_eq!(err.hint.as_deref(), Some("did you mean `format`?"));
    let text = "format = \"xml\"\n";
    let err = build(text).0.err().unwrap();
    assert_eq!(err.key.as_deref(), Some("outputs.stdout.0.format"));
    assert_eq!(&text[err.span.clone().unwrap()], "\"xml\"");
    assert!(err.message.contains("unknown variant"), "{}", err.message);
    assert_eq!(err.hint.as_deref(), Some("valid values: influx, json"));
}

#[test]
fn json_format_encodes_metrics_and_counts_drops() {
    let (out, bcx) = build("format = \"json\"\n");
    let out = out.unwrap();
    let mut buf = Vec::new();
    out.encode(&metrics_batch(), &mut buf).unwrap();
    assert_eq!(
        String::from_utf8(buf).unwrap(),
        "{\"timestamp\":\"2023-11-14T22:13:20.000000000Z\",\"name\":\"cpu\",\"kind\":\"untyped\",\
         \"tags\":{\"host\":\"a\"},\"fields\":{\"usage_idle\":99.5}}\n"
    );
    assert_eq!(bcx.metrics.dropped_count("nan_or_inf_field"), 2);
    assert_eq!(bcx.metrics.dropped_count("no_fields"), 1);
}

/// Depends on `gleaner_api::line_protocol::encode_metric` following the Telegraf rules.
#[test]
fn influx_format_encodes_line_protocol() {
    let (out, bcx) = build("format = \"influx\"\n");
    let mut buf = Vec::new();
    out.unwrap().encode(&metrics_batch(), &mut buf).unwrap();
    assert_eq!(
        String::from_utf8(buf).unwrap(),
        "cpu,host=a usage_idle=99.5 1700000000000000000\n"
    );
    assert_eq!(bcx.metrics.dropped_count("nan_or_inf_field"), 2);
    assert_eq!(bcx.metrics.dropped_count("no_fields"), 1);
}

#[test]
fn logs_are_json_lines() {
    let (out, _bcx) = build("format = \"influx\"\n");
    let batch = Batch::Logs(vec![LogRecord::new(0, "hi", Stream::Stderr)]);
    let mut buf = Vec::new();
    out.unwrap().encode(&batch, &mut buf).unwrap();
    assert_eq!(
        buf,
        &b"{\"timestamp\":\"1970-01-01T00:00:00.000000000Z\",\"stream\":\"stderr\",\
          \"message\":\"hi\"}\n"[..]
    );
}

fn output<W>(out: W) -> (StdoutOutput<W>, Arc<ComponentMetrics>) {
    let metrics = ComponentMetrics::detached("stdout");
    (
        StdoutOutput::new(MetricFormat::Influx, Arc::clone(&metrics), out),
        metrics,
    )
}

fn payload(bytes: &[u8], events: usize) -> Payload {
    Payload {
        bytes: bytes.to_vec().into(),
        events,
    }
}

#[tokio::test]
async fn send_writes_exact_bytes_counts_and_flush_flushes() {
    let (mut out, metrics) = output(BufWriter::new(Vec::new()));
    out.send(payload(b"a 1\nb 2\n", 2)).await.unwrap();
    out.send(payload(b"c 3\n", 1)).await.unwrap();
    assert!(out.out.get_ref().is_empty(), "still buffered before flush");
    out.flush().await.unwrap();
    assert_eq!(out.out.get_ref().as_slice(), b"a 1\nb 2\nc 3\n");
    // Sent events are counted by the delivery worker, not by the output.
    assert_eq!(metrics.snapshot().events_sent, 0);
}

/// A writer whose every write fails with one error kind.
struct Failing(io::ErrorKind);

impl AsyncWrite for Failing {
    fn poll_write(self: Pin<&mut Self>, _: &mut Context<'_>, _: &[u8]) -> Poll<io::Result<usize>> {
        Poll::Ready(Err(io::Error::from(self.0)))
    }
    fn poll_flush(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<io::Result<()>> {
        Poll::Ready(Err(io::Error::from(self.0)))
    }
    fn poll_shutdown(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<io::Result<()>> {
        Poll::Ready(Ok(()))
    }
}

#[tokio::test]
async fn broken_pipe_is_permanent_other_errors_retryable() {
    let (mut out, metrics) = output(Failing(io::ErrorKind::BrokenPipe));
    let err = out.send(payload(b"x\n", 1)).await.unwrap_err();
    assert_eq!(err.kind, OutputErrorKind::Permanent);
    assert!(
        err.message.starts_with("cannot write to stdout: "),
        "{}",
        err.message
    );
    assert_eq!(
        out.flush().await.unwrap_err().kind,
        OutputErrorKind::Permanent
    );
    assert_eq!(metrics.snapshot().events_sent, 0);

    let (mut out, _) = output(Failing(io::ErrorKind::StorageFull));
    assert_eq!(
        out.send(payload(b"x\n", 1)).await.unwrap_err().kind,
        OutputErrorKind::Retryable
    );
}

#[tokio::test]
async fn real_stdout_takes_an_empty_payload() {
    let (out, bcx) = build("");
    let mut out = out.unwrap();
    out.send(payload(b"", 0)).await.unwrap();
    out.flush().await.unwrap();
    assert_eq!(bcx.metrics.snapshot().dropped, vec![]);
}
