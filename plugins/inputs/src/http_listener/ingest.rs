//! A read write body into the pipeline: parsed in pieces of at most [`PIECE_EVENTS`] lines
//! (fewer when the pipeline's event budget is smaller), each sent as its own batch with its
//! own acknowledgement token as soon as it is parsed, so a request never holds more than one
//! parsed piece and the pipeline's budget bounds the rest. The request's answer waits for the
//! outcome of every piece: 204 only when each was taken by every output.
//!
//! Large and gzip bodies are parsed on the blocking pool, one piece per task, so a request
//! waiting for room in the pipeline holds no thread.

use gleaner_api::line_protocol::{LineError, Precision};
use gleaner_api::{AckStatus, Batch, Metric, now_ns};
use tokio::sync::oneshot;
use tokio::time::Instant;

use super::body::GunzipError;
use super::handler::Shared;
use super::pieces::{self, Piece, Pieces};

/// Plain bodies larger than this are parsed on the blocking pool; gzip bodies always are.
pub(crate) const BLOCKING_THRESHOLD: usize = 256 * 1024;
/// Lines per piece at most (the tail input's batch size).
pub(crate) const PIECE_EVENTS: usize = 1_000;

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
    /// The pipeline stayed full until the deadline (some pieces may have been taken).
    Full,
    /// A piece was not taken (shutting down, or an output refused it).
    NotTaken,
    /// Parsing failed unexpectedly (a blocking task panicked).
    Internal(String),
}

/// Parses `raw` in pieces and sends them, then waits for every piece's outcome, all before
/// `deadline`. `hold` (the body's share of the listener's body memory) is let go once the
/// last piece is parsed.
pub(crate) async fn ingest<H: Send + 'static>(
    shared: &Shared,
    raw: Vec<u8>,
    gzip: bool,
    precision: Precision,
    deadline: Instant,
    hold: H,
) -> Result<Report, Refusal> {
    let limit = shared.settings.max_body_size;
    let blocking = gzip || raw.len() > BLOCKING_THRESHOLD;
    let raw = if gzip {
        let job = move || pieces::check_gzip(&raw, limit).map(|_| raw);
        match tokio::task::spawn_blocking(job).await {
            Ok(Ok(raw)) => raw,
            Ok(Err(e)) => return Err(Refusal::Gzip(e)),
            Err(e) => return Err(Refusal::Internal(e.to_string())),
        }
    } else {
        raw
    };
    shared.metrics.received(0, raw.len() as u64);
    let max_lines = PIECE_EVENTS.min(shared.out.max_batch_events());
    let now = now_ns();
    let mut pieces = Some(if gzip {
        Pieces::gzip(raw, max_lines, precision, now)
    } else {
        Pieces::plain(raw, max_lines, precision, now)
    });
    let mut report = Report::default();
    let mut outcomes = Vec::new();
    loop {
        let next = if blocking {
            let Some(mut p) = pieces.take() else { break };
            let step = move || {
                let r = p.next_piece();
                (p, r)
            };
            match tokio::task::spawn_blocking(step).await {
                Ok((p, r)) => {
                    pieces = Some(p);
                    r
                }
                Err(e) => return Err(Refusal::Internal(e.to_string())),
            }
        } else {
            pieces.as_mut().and_then(Pieces::next_piece)
        };
        let piece = match next {
            None => break,
            Some(Ok(p)) => p,
            Some(Err(e)) => return Err(Refusal::Gzip(e)),
        };
        let Piece { metrics, errors } = piece;
        let (good, bad) = (metrics.len(), errors.len());
        shared.metrics.received((good + bad) as u64, 0);
        shared.metrics.dropped("malformed", bad as u64);
        report.good += good;
        report.bad += bad;
        if report.first_error.is_none() {
            report.first_error = errors.into_iter().next();
        }
        if good > 0 {
            outcomes.push(send(shared, metrics, deadline).await?);
        }
    }
    drop(pieces);
    drop(hold);
    for outcome in outcomes {
        match tokio::time::timeout_at(deadline, outcome).await {
            Ok(Ok(AckStatus::Delivered)) => {}
            Ok(_) => return Err(Refusal::NotTaken),
            // Taken but not yet safe everywhere: it may still be delivered (at-least-once).
            Err(_) => return Err(Refusal::Full),
        }
    }
    Ok(report)
}

/// Sends one piece with its own token before `deadline`; where its outcome will arrive.
async fn send(
    shared: &Shared,
    metrics: Vec<Metric>,
    deadline: Instant,
) -> Result<oneshot::Receiver<AckStatus>, Refusal> {
    let Some((token, outcome)) = shared.acks.register().await else {
        return Err(Refusal::NotTaken);
    };
    let send = shared
        .out
        .send_with_ack(Batch::Metrics(metrics), Some(token));
    match tokio::time::timeout_at(deadline, send).await {
        Ok(Ok(())) => Ok(outcome),
        Ok(Err(_)) => Err(Refusal::NotTaken),
        // Not taken: sending a piece is cancel-safe, so this piece does not enter the
        // pipeline (the pieces before it did).
        Err(_) => Err(Refusal::Full),
    }
}
