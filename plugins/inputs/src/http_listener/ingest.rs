//! A write body into the pipeline in pieces of at most [`PIECE_EVENTS`] lines (fewer when the
//! pipeline's event budget is smaller), each sent as its own batch with its own
//! acknowledgement token as soon as it is parsed, so a request holds one parsed piece at a
//! time and the pipeline's budget bounds the rest. The answer waits for the outcome of every
//! piece: 204 only when each was taken by every output.
//!
//! A plain body is cut as it arrives, frame by frame: what a request holds of it is the
//! piece being cut, not the body. Its pieces go out while the rest is still being read, so a
//! body that then fails (cut short, too slow, larger than `max_body_size` without a
//! `Content-Length`) has had its first pieces delivered. A gzip body is read whole (it is
//! small), checked whole, then decompressed and cut a block at a time; nothing of a gzip body
//! that is corrupt or too large once decompressed is delivered.
//!
//! Large pieces and every gzip step run on the blocking pool, one task per piece, so a
//! request waiting for room in the pipeline holds no thread.

use gleaner_api::line_protocol::{LineError, Precision};
use gleaner_api::{AckStatus, Batch, Metric, now_ns};
use http_body_util::BodyExt;
use hyper::body::Incoming;
use tokio::sync::oneshot;
use tokio::time::Instant;

use gleaner_api::listener::http::body::{self, ReadBodyError};

use super::body::GunzipError;
use super::handler::Shared;
use super::pieces::{self, GzipPieces, Piece, RawPiece, Splitter};

/// Pieces larger than this are parsed on the blocking pool.
pub(crate) const BLOCKING_THRESHOLD: usize = 256 * 1024;
/// Lines per piece at most (the tail input's batch size).
pub(crate) const PIECE_EVENTS: usize = 1_000;

/// A request's body, as the handler hands it over.
#[derive(Debug)]
pub(crate) enum Body {
    /// Plain line protocol, still to be read.
    Plain(Incoming),
    /// A gzip body, read whole (compressed).
    Gzip(Vec<u8>),
}

/// What became of a body whose pieces were all taken.
#[derive(Debug, Default)]
pub(crate) struct Report {
    /// Valid lines, delivered.
    pub(crate) good: usize,
    /// Malformed lines, dropped.
    pub(crate) bad: usize,
    /// The first malformed line.
    pub(crate) first_error: Option<LineError>,
}

/// Why a body was not (entirely) taken.
#[derive(Debug)]
pub(crate) enum Refusal {
    /// Invalid gzip, or larger than the limit once decompressed: nothing was sent.
    Gzip(GunzipError),
    /// A plain body could not be read to its end: its first pieces may have been sent.
    Read(ReadBodyError),
    /// The pipeline stayed full for `write_timeout` (some pieces may have been taken).
    Full,
    /// A piece was not taken (shutting down, or an output refused it).
    NotTaken,
    /// Parsing failed unexpectedly (a blocking task panicked).
    Internal(String),
}

/// One request's progress.
struct Ingest<'a> {
    shared: &'a Shared,
    precision: Precision,
    now: i64,
    report: Report,
    outcomes: Vec<oneshot::Receiver<AckStatus>>,
}

/// Parses `body` in pieces and sends them, then waits for every piece's outcome. `hold` (the
/// body's share of the listener's body memory) is let go once the last piece is parsed.
pub(crate) async fn ingest<H: Send + 'static>(
    shared: &Shared,
    body: Body,
    precision: Precision,
    hold: H,
) -> Result<Report, Refusal> {
    let mut run = Ingest {
        shared,
        precision,
        now: now_ns(),
        report: Report::default(),
        outcomes: Vec::new(),
    };
    let max_lines = PIECE_EVENTS.min(shared.out.max_batch_events());
    match body {
        Body::Plain(incoming) => run.plain(incoming, max_lines).await?,
        Body::Gzip(raw) => run.gzip(raw, max_lines).await?,
    }
    drop(hold);
    let deadline = Instant::now() + shared.settings.write_timeout;
    for outcome in run.outcomes {
        match tokio::time::timeout_at(deadline, outcome).await {
            Ok(Ok(AckStatus::Delivered)) => {}
            Ok(_) => return Err(Refusal::NotTaken),
            // Taken but not yet safe everywhere: it may still be delivered (at-least-once).
            Err(_) => return Err(Refusal::Full),
        }
    }
    Ok(run.report)
}

impl Ingest<'_> {
    /// Reads a plain body frame by frame, sending each piece as soon as it is complete. The
    /// body may take `read_timeout` in all to arrive; time spent waiting for the pipeline
    /// does not count.
    async fn plain(&mut self, mut body: Incoming, max_lines: usize) -> Result<(), Refusal> {
        let limit = self.shared.settings.max_body_size;
        let mut reading = self.shared.settings.read_timeout;
        let mut splitter = Splitter::new(max_lines);
        let mut read = 0u64;
        let mut eof = false;
        loop {
            while let Some(raw) = splitter.next(eof) {
                self.piece(raw).await?;
            }
            if eof {
                return Ok(());
            }
            let started = Instant::now();
            let frame = tokio::time::timeout(reading, body.frame()).await;
            reading = reading.saturating_sub(started.elapsed());
            let timeout = self.shared.settings.read_timeout;
            match frame {
                Err(_) => return Err(Refusal::Read(ReadBodyError::Timeout { timeout })),
                Ok(None) => eof = true,
                Ok(Some(Err(source))) => return Err(Refusal::Read(ReadBodyError::Io { source })),
                Ok(Some(Ok(frame))) => {
                    if let Ok(data) = frame.into_data() {
                        read += data.len() as u64;
                        if read > limit {
                            body::drain(body).await;
                            return Err(Refusal::Read(ReadBodyError::TooLarge { limit }));
                        }
                        splitter.push(&data);
                    }
                }
            }
        }
    }

    /// Checks a gzip body whole, then decompresses, cuts and sends it piece by piece.
    async fn gzip(&mut self, raw: Vec<u8>, max_lines: usize) -> Result<(), Refusal> {
        let limit = self.shared.settings.max_body_size;
        let raw_len = raw.len() as u64;
        let job = move || pieces::check_gzip(&raw, limit).map(|_| raw);
        let raw = match tokio::task::spawn_blocking(job).await {
            Ok(Ok(raw)) => raw,
            Ok(Err(e)) => return Err(Refusal::Gzip(e)),
            Err(e) => return Err(Refusal::Internal(e.to_string())),
        };
        self.shared.metrics.received(0, raw_len);
        let (precision, now) = (self.precision, self.now);
        let mut pieces = Some(GzipPieces::new(raw, max_lines));
        loop {
            let Some(mut p) = pieces.take() else {
                return Ok(());
            };
            let step = move || {
                let r = p
                    .next_piece()
                    .map(|r| r.map(|raw| raw.parse(precision, now)));
                (p, r)
            };
            let parsed = match tokio::task::spawn_blocking(step).await {
                Ok((p, r)) => {
                    pieces = Some(p);
                    r
                }
                Err(e) => return Err(Refusal::Internal(e.to_string())),
            };
            match parsed {
                None => return Ok(()),
                Some(Ok(piece)) => self.send_piece(piece).await?,
                Some(Err(e)) => return Err(Refusal::Gzip(e)),
            }
        }
    }

    /// Parses a plain piece (on the blocking pool when large) and sends it.
    async fn piece(&mut self, raw: RawPiece) -> Result<(), Refusal> {
        let (precision, now) = (self.precision, self.now);
        self.shared.metrics.received(0, raw.bytes.len() as u64);
        let piece = if raw.bytes.len() > BLOCKING_THRESHOLD {
            tokio::task::spawn_blocking(move || raw.parse(precision, now))
                .await
                .map_err(|e| Refusal::Internal(e.to_string()))?
        } else {
            raw.parse(precision, now)
        };
        self.send_piece(piece).await
    }

    /// Counts a parsed piece and sends its metrics, if any.
    async fn send_piece(&mut self, piece: Piece) -> Result<(), Refusal> {
        let Piece { metrics, errors } = piece;
        let (good, bad) = (metrics.len(), errors.len());
        let m = &self.shared.metrics;
        m.received((good + bad) as u64, 0);
        m.dropped("malformed", bad as u64);
        self.report.good += good;
        self.report.bad += bad;
        if self.report.first_error.is_none() {
            self.report.first_error = errors.into_iter().next();
        }
        if good > 0 {
            let outcome = send(self.shared, metrics).await?;
            self.outcomes.push(outcome);
        }
        Ok(())
    }
}

/// Sends one piece with its own token, waiting at most `write_timeout` for room; where its
/// outcome will arrive.
async fn send(
    shared: &Shared,
    metrics: Vec<Metric>,
) -> Result<oneshot::Receiver<AckStatus>, Refusal> {
    let Some((token, outcome)) = shared.acks.register().await else {
        return Err(Refusal::NotTaken);
    };
    let send = shared
        .out
        .send_with_ack(Batch::Metrics(metrics), Some(token));
    match tokio::time::timeout(shared.settings.write_timeout, send).await {
        Ok(Ok(())) => Ok(outcome),
        Ok(Err(_)) => Err(Refusal::NotTaken),
        // Not taken: sending a piece is cancel-safe, so this piece does not enter the
        // pipeline (the pieces before it did).
        Err(_) => Err(Refusal::Full),
    }
}
