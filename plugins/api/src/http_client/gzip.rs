//! Gzip request bodies (RFC 1952) at a chosen deflate level, with deflate states kept (a few,
//! shared by every thread) and reset between bodies instead of allocated and zeroed for each
//! request (about 300 KiB each).
//!
//! The default is level 1: on HEC batches of container logs the body comes out about 12%
//! larger than at level 6, for a fraction of the CPU (compression was over half of the
//! agent's CPU on the `logs-hec` workload at level 6). Level 0 writes stored blocks (gzip
//! framing, no compression: for a receiver that insists on gzip when CPU matters more than
//! bytes); 2 to 9 trade CPU for size (see docs/performance.md, "Third round").

use bytes::Bytes;

/// The level bodies are gzipped at unless an output says otherwise.
pub const DEFAULT_GZIP_LEVEL: u32 = 1;

/// The highest deflate level (0 is the lowest: stored, no compression).
pub const MAX_GZIP_LEVEL: u32 = 9;

/// Bodies at least this large are gzipped on a blocking thread (about 0.5 ms of work).
const GZIP_INLINE_LIMIT: usize = 64 * 1024;

/// Gzips `data` at [`DEFAULT_GZIP_LEVEL`].
pub fn gzip(data: &[u8]) -> Vec<u8> {
    gzip_level(data, DEFAULT_GZIP_LEVEL)
}

/// Bytes deflate writes per call, into a buffer zeroed once per state: flate2 zero-fills
/// the spare capacity of the `Vec` it is given on every call, which for a body-sized
/// output cost more than the copy out of this buffer.
const SCRATCH: usize = 64 * 1024;

/// Deflate states kept for reuse when no body is being gzipped, at most (each about
/// 400 KiB with its scratch).
const KEPT_STATES: usize = 2;

/// A deflate state at one level, and its output scratch.
struct Deflater {
    level: u32,
    c: flate2::Compress,
    scratch: Vec<u8>,
}

/// The deflate states not in use, shared by every thread: as many exist as bodies are
/// gzipped at once (one per output that compresses, as the delivery worker gzips each
/// request in turn), not one per thread that ever gzipped one, as with a state per thread
/// on the blocking pool (whose threads come and go).
static IDLE: std::sync::Mutex<Vec<Deflater>> = std::sync::Mutex::new(Vec::new());

/// Gzips `data` at deflate `level` (0 to 9; above 9 is taken as 9).
pub fn gzip_level(data: &[u8], level: u32) -> Vec<u8> {
    let level = level.min(MAX_GZIP_LEVEL);
    let kept = {
        let mut idle = IDLE
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        idle.iter()
            .position(|d| d.level == level)
            .map(|i| idle.swap_remove(i))
    };
    let mut d = match kept {
        Some(mut d) => {
            d.c.reset();
            d
        }
        None => Deflater {
            level,
            c: flate2::Compress::new(flate2::Compression::new(level), false),
            scratch: vec![0; SCRATCH],
        },
    };
    let out = gzip_with(&mut d.c, &mut d.scratch, level, data);
    let mut idle = IDLE
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    if idle.len() < KEPT_STATES {
        idle.push(d);
    }
    out
}

/// Deflate states kept for reuse now.
#[cfg(test)]
pub(super) fn kept_states() -> usize {
    IDLE.lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
        .len()
}

/// One gzip member: the 10-byte header (no name, no time; XFL 4 for the fastest level, 2
/// for the best, as flate2 writes it; OS 255 "unknown"), raw deflate from `c` (through
/// `scratch`), CRC-32 and length.
fn gzip_with(c: &mut flate2::Compress, scratch: &mut [u8], level: u32, data: &[u8]) -> Vec<u8> {
    let xfl = match level {
        1 => 4,
        MAX_GZIP_LEVEL => 2,
        _ => 0,
    };
    // Stored blocks add 5 bytes per 64 KiB; logs compress about 8 times at level 1.
    let room = if level == 0 {
        data.len() + data.len() / 8192 + 64
    } else {
        data.len() / 8 + 64
    };
    let mut out = Vec::with_capacity(room);
    out.extend_from_slice(&[0x1f, 0x8b, 8, 0, 0, 0, 0, 0, xfl, 255]);
    let start_in = c.total_in();
    loop {
        let done = usize::try_from(c.total_in() - start_in).unwrap_or(data.len());
        let before = c.total_out();
        // Compressing into memory fails only on a corrupt stream state, which `reset` excludes.
        let status = c
            .compress(
                data.get(done..).unwrap_or_default(),
                scratch,
                flate2::FlushCompress::Finish,
            )
            .unwrap_or_else(|e| panic!("deflate into memory failed: {e}"));
        let wrote = usize::try_from(c.total_out() - before).unwrap_or(scratch.len());
        out.extend_from_slice(&scratch[..wrote.min(scratch.len())]);
        if status == flate2::Status::StreamEnd {
            break;
        }
    }
    out.extend_from_slice(&crc32fast::hash(data).to_le_bytes());
    // ISIZE is the input length modulo 2^32 (RFC 1952 §2.3.1).
    out.extend_from_slice(&(data.len() as u32).to_le_bytes());
    // A request holds its gzipped body while in flight: not the room a doubling left over.
    if out.capacity() - out.len() > out.len() / 8 {
        out.shrink_to_fit();
    }
    out
}

/// Gzips `data` at `level`, on a blocking thread when it is large.
pub async fn gzip_async(data: Bytes, level: u32) -> Bytes {
    if data.len() < GZIP_INLINE_LIMIT {
        return Bytes::from(gzip_level(&data, level));
    }
    let copy = data.clone();
    match tokio::task::spawn_blocking(move || gzip_level(&copy, level)).await {
        Ok(v) => Bytes::from(v),
        // The blocking pool is gone (runtime shutting down): do it here.
        Err(_) => Bytes::from(gzip_level(&data, level)),
    }
}
