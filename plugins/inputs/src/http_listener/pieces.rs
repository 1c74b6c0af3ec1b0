//! A write body cut into pieces and parsed piece by piece: at most `max_lines` lines (and
//! about [`PIECE_BYTES`]) at a time, so what a request holds parsed is bounded by the
//! pipeline's event budget instead of growing with the body (a 28 MB body of short lines
//! parsed whole held 4,000,000 metrics, about 2.5 GB).
//!
//! [`Splitter`] takes the body's bytes as they come (frames of a plain body as they arrive,
//! blocks of a gzip body as they are decompressed by [`GzipPieces`]) and hands out complete
//! pieces; only what is not yet handed out is kept. [`check_gzip`] first reads a gzip body
//! through without keeping anything, so a body that is too large or corrupt is refused before
//! any piece of it is delivered.

use std::io::{Cursor, Read};

use gleaner_api::Metric;
use gleaner_api::line_protocol::{LineError, ParseOutput, Precision, parse_lines};

use super::body::GunzipError;
use super::cut::Cutter;

/// A piece also ends at the first line end past this many bytes, however few lines it has.
pub(crate) const PIECE_BYTES: usize = 1024 * 1024;
/// How much is decompressed at a time.
const GZIP_BLOCK: usize = 64 * 1024;

/// One parsed piece of a body.
#[derive(Debug, Default)]
pub(crate) struct Piece {
    /// The metrics of its valid lines.
    pub(crate) metrics: Vec<Metric>,
    /// Its bad lines, numbered within the whole body.
    pub(crate) errors: Vec<LineError>,
}

/// The bytes of one piece, not yet parsed.
#[derive(Debug)]
pub(crate) struct RawPiece {
    /// The body's line number of its first line.
    pub(crate) first_line: usize,
    /// Its lines.
    pub(crate) bytes: Vec<u8>,
}

impl RawPiece {
    /// Parses the piece; lines without a timestamp get `now`.
    pub(crate) fn parse(&self, precision: Precision, now: i64) -> Piece {
        let ParseOutput {
            metrics,
            mut errors,
        } = parse_lines(&self.bytes, precision, now);
        for e in &mut errors {
            e.line += self.first_line - 1;
        }
        Piece { metrics, errors }
    }
}

/// Cuts a body fed to it in order into pieces at the parser's line ends.
#[derive(Debug)]
pub(crate) struct Splitter {
    buf: Vec<u8>,
    /// Where the next piece starts in `buf`.
    start: usize,
    /// How far the cutter has scanned in `buf`.
    scanned: usize,
    /// Line ends found in the piece so far.
    lines: usize,
    first_line: usize,
    cutter: Cutter,
    max_lines: usize,
}

impl Splitter {
    pub(crate) fn new(max_lines: usize) -> Self {
        Splitter {
            buf: Vec::new(),
            start: 0,
            scanned: 0,
            lines: 0,
            first_line: 1,
            cutter: Cutter::new(),
            max_lines: max_lines.max(1),
        }
    }

    /// Appends the body's next bytes.
    pub(crate) fn push(&mut self, data: &[u8]) {
        // What was handed out is dropped once it is at least half the buffer: each byte is
        // moved at most about once.
        if self.start > 0 && self.start * 2 >= self.buf.len() {
            self.buf.drain(..self.start);
            self.scanned -= self.start;
            self.start = 0;
        }
        self.buf.extend_from_slice(data);
    }

    /// The next complete piece; at the end of the body (`eof`) also what is left.
    pub(crate) fn next(&mut self, eof: bool) -> Option<RawPiece> {
        let scan = self.cutter.scan(
            &self.buf[self.scanned..],
            self.max_lines - self.lines,
            (self.start + PIECE_BYTES).saturating_sub(self.scanned),
        );
        self.scanned += scan.consumed;
        self.lines += scan.lines;
        if !(scan.at_line_end || (eof && self.scanned > self.start)) {
            return None;
        }
        let piece = RawPiece {
            first_line: self.first_line,
            bytes: self.buf[self.start..self.scanned].to_vec(),
        };
        self.start = self.scanned;
        self.lines = 0;
        self.first_line = self.cutter.newlines() + 1;
        Some(piece)
    }
}

/// A gzip body (checked with [`check_gzip`] first) decompressed and cut a block at a time;
/// owned, so each step can run on the blocking pool.
pub(crate) struct GzipPieces {
    decoder: flate2::read::MultiGzDecoder<Cursor<Vec<u8>>>,
    splitter: Splitter,
    eof: bool,
}

impl std::fmt::Debug for GzipPieces {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("GzipPieces")
            .field("splitter", &self.splitter)
            .finish_non_exhaustive()
    }
}

impl GzipPieces {
    pub(crate) fn new(compressed: Vec<u8>, max_lines: usize) -> Self {
        GzipPieces {
            decoder: flate2::read::MultiGzDecoder::new(Cursor::new(compressed)),
            splitter: Splitter::new(max_lines),
            eof: false,
        }
    }

    /// The next piece; `None` after the last.
    pub(crate) fn next_piece(&mut self) -> Option<Result<RawPiece, GunzipError>> {
        let mut block = vec![0; GZIP_BLOCK];
        loop {
            if let Some(p) = self.splitter.next(self.eof) {
                return Some(Ok(p));
            }
            if self.eof {
                return None;
            }
            match self.decoder.read(&mut block) {
                Ok(0) => self.eof = true,
                Ok(n) => self.splitter.push(&block[..n]),
                Err(e) => return Some(Err(GunzipError::Invalid(e))),
            }
        }
    }
}

/// Reads a gzip body through without keeping it: its decompressed size, or why it is refused
/// (larger than `limit` decompressed, or not valid gzip).
pub(crate) fn check_gzip(compressed: &[u8], limit: u64) -> Result<u64, GunzipError> {
    let decoder = flate2::read::MultiGzDecoder::new(compressed);
    let n = std::io::copy(
        &mut decoder.take(limit.saturating_add(1)),
        &mut std::io::sink(),
    )
    .map_err(GunzipError::Invalid)?;
    if n > limit {
        return Err(GunzipError::TooLarge { limit });
    }
    Ok(n)
}

#[cfg(test)]
mod tests;
