//! A write body parsed piece by piece: at most `max_lines` lines (and about [`PIECE_BYTES`])
//! at a time, so what a request holds parsed is bounded by the pipeline's event budget
//! instead of growing with the body (a 28 MB body of short lines parsed whole held 4,000,000
//! metrics, about 2.5 GB).
//!
//! A gzip body is decompressed as it is cut, a block at a time; only the compressed body and
//! the current piece are in memory. [`check_gzip`] first reads it through once without
//! keeping anything, so a body that is too large or corrupt is refused before any piece of
//! it is delivered.

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

/// Where the body's bytes come from.
enum Source {
    Plain {
        body: Vec<u8>,
        pos: usize,
    },
    Gzip {
        decoder: flate2::read::MultiGzDecoder<Cursor<Vec<u8>>>,
        /// Decompressed bytes not yet handed out.
        buf: Vec<u8>,
        /// How much of `buf` the cutter has scanned.
        scanned: usize,
        eof: bool,
    },
}

/// A body to parse in pieces; owned, so each step can run on the blocking pool.
pub(crate) struct Pieces {
    source: Source,
    cutter: Cutter,
    max_lines: usize,
    precision: Precision,
    now: i64,
}

impl std::fmt::Debug for Pieces {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Pieces")
            .field("max_lines", &self.max_lines)
            .finish_non_exhaustive()
    }
}

impl Pieces {
    /// Pieces of a plain body.
    pub(crate) fn plain(body: Vec<u8>, max_lines: usize, precision: Precision, now: i64) -> Self {
        Pieces {
            source: Source::Plain { body, pos: 0 },
            cutter: Cutter::new(),
            max_lines: max_lines.max(1),
            precision,
            now,
        }
    }

    /// Pieces of a gzip body (checked with [`check_gzip`] first).
    pub(crate) fn gzip(
        compressed: Vec<u8>,
        max_lines: usize,
        precision: Precision,
        now: i64,
    ) -> Self {
        Pieces {
            source: Source::Gzip {
                decoder: flate2::read::MultiGzDecoder::new(Cursor::new(compressed)),
                buf: Vec::new(),
                scanned: 0,
                eof: false,
            },
            cutter: Cutter::new(),
            max_lines: max_lines.max(1),
            precision,
            now,
        }
    }

    /// The next piece, parsed; `None` after the last.
    pub(crate) fn next_piece(&mut self) -> Option<Result<Piece, GunzipError>> {
        let first_line = self.cutter.newlines() + 1;
        let (precision, now) = (self.precision, self.now);
        let parse = |bytes: &[u8]| {
            let ParseOutput {
                metrics,
                mut errors,
            } = parse_lines(bytes, precision, now);
            for e in &mut errors {
                e.line += first_line - 1;
            }
            Piece { metrics, errors }
        };
        match &mut self.source {
            Source::Plain { body, pos } => {
                if *pos >= body.len() {
                    return None;
                }
                let rest = &body[*pos..];
                let scan = self.cutter.scan(rest, self.max_lines, PIECE_BYTES);
                *pos += scan.consumed;
                Some(Ok(parse(&rest[..scan.consumed])))
            }
            Source::Gzip {
                decoder,
                buf,
                scanned,
                eof,
            } => {
                let mut lines = 0;
                loop {
                    let scan = self.cutter.scan(
                        &buf[*scanned..],
                        self.max_lines - lines,
                        PIECE_BYTES.saturating_sub(*scanned),
                    );
                    *scanned += scan.consumed;
                    lines += scan.lines;
                    if scan.at_line_end || (*eof && *scanned > 0) {
                        let piece = parse(&buf[..*scanned]);
                        // What is left is less than a block: moving it is cheap.
                        buf.drain(..*scanned);
                        *scanned = 0;
                        return Some(Ok(piece));
                    }
                    if *eof {
                        return None;
                    }
                    let have = buf.len();
                    buf.resize(have + GZIP_BLOCK, 0);
                    match decoder.read(&mut buf[have..]) {
                        Ok(0) => {
                            buf.truncate(have);
                            *eof = true;
                        }
                        Ok(n) => buf.truncate(have + n),
                        Err(e) => {
                            buf.truncate(have);
                            return Some(Err(GunzipError::Invalid(e)));
                        }
                    }
                }
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
