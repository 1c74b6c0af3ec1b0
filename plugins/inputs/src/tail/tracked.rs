//! One followed file: its identity, descriptor, read position and decoder, and reading a
//! chunk of it into records.
//!
//! The read position is always the end of the last complete line consumed; an incomplete
//! last line stays in the file and is read again once its newline is there, so no file has
//! a buffer of its own. A line longer than a chunk is read on alone into the shared long-line
//! buffer, up to `max_line_bytes`: past that it is cut, flagged, and the rest of it skipped.

use std::fs::File;
use std::os::unix::fs::FileExt;
use std::path::Path;
use std::sync::Arc;
use std::time::Instant;

use super::batch::Emit;
use super::config::Format;
use super::decode::{Decoder, FileAttrs};
use super::file::{FileKey, Fingerprint};
use super::k8s;

/// Bytes read from a file per turn.
pub(crate) const CHUNK: usize = 256 * 1024;

/// Where a file stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Life {
    /// At its path.
    Live,
    /// Renamed away (or replaced) at `since`: drained, then closed.
    Rotated {
        /// When it was noticed.
        since: Instant,
    },
    /// Deleted at `since`: drained, then closed.
    Deleted {
        /// When it was noticed.
        since: Instant,
    },
}

/// What one read did.
#[derive(Debug)]
pub(crate) enum ReadResult {
    /// A full chunk: there may be more right away.
    More,
    /// At the end of what is written.
    Eof,
    /// The file is shorter than the read position (copytruncate).
    Truncated,
    /// A read error.
    Error(std::io::Error),
}

/// A followed file.
#[derive(Debug)]
pub(crate) struct Tracked {
    /// (device, inode).
    pub(crate) key: FileKey,
    /// Fingerprint of its first bytes.
    pub(crate) fp: Fingerprint,
    /// Its current (or last known) path, shared with `by_path`, offset commits and the
    /// database's rows (one copy per file).
    pub(crate) path: Arc<Path>,
    /// Attributes of its records.
    pub(crate) attrs: FileAttrs,
    /// The descriptor; `None` while closed to respect `max_open_files`.
    pub(crate) file: Option<File>,
    /// End of the last complete line consumed.
    pub(crate) pos: u64,
    /// Largest size seen.
    pub(crate) size: u64,
    /// Live, rotated or deleted.
    pub(crate) life: Life,
    /// LRU clock of the last read.
    pub(crate) last_active: u64,
    /// When the file last grew.
    pub(crate) last_growth: Instant,
    /// Since when it has unread bytes.
    pub(crate) behind_since: Option<Instant>,
    /// Its decoder.
    pub(crate) decoder: Decoder,
    /// Skipping the rest of a line cut at `max_line_bytes`.
    pub(crate) skipping: bool,
    /// In the reader's ready queue.
    pub(crate) queued: bool,
    /// Read to its end at the last try.
    pub(crate) eof: bool,
    /// The offset last registered with a batch.
    pub(crate) registered: u64,
    /// Listed for the next batch's offsets.
    pub(crate) touched: bool,
}

/// A file just opened and checked, before it is followed.
#[derive(Debug)]
pub(crate) struct OpenedFile {
    /// Where it was found (or where it is now, for a rotated file).
    pub(crate) path: Arc<Path>,
    /// The descriptor.
    pub(crate) file: File,
    /// (device, inode).
    pub(crate) key: FileKey,
    /// Fingerprint of its first bytes.
    pub(crate) fp: Fingerprint,
    /// Its size when opened.
    pub(crate) size: u64,
}

impl Tracked {
    /// A file followed from `pos` on, in `life`; its records are decoded as `format` says.
    /// Behind (queued by the caller) when `pos` is before its end. The LRU clock is the file
    /// table's to set.
    pub(crate) fn new(opened: OpenedFile, pos: u64, life: Life, format: Format) -> Self {
        let OpenedFile {
            path,
            file,
            key,
            fp,
            size,
        } = opened;
        let now = Instant::now();
        Tracked {
            key,
            fp,
            attrs: k8s::attrs_for(&path),
            path,
            file: Some(file),
            pos,
            size,
            life,
            last_active: 0,
            last_growth: now,
            behind_since: (size > pos).then_some(now),
            decoder: Decoder::new(format),
            skipping: false,
            queued: false,
            eof: size <= pos,
            registered: pos,
            touched: false,
        }
    }

    /// How far the file is consumed without anything held back: the start of the earliest
    /// held piece or message, else the read position.
    pub(crate) fn safe_offset(&self) -> u64 {
        self.decoder
            .pending_start()
            .map_or(self.pos, |p| p.min(self.pos))
    }

    /// Reads one chunk (or one long line) and decodes its complete lines into `em.out`.
    pub(crate) fn read_some(
        &mut self,
        buf: &mut Vec<u8>,
        long: &mut Vec<u8>,
        em: &mut Emit<'_>,
    ) -> ReadResult {
        let Some(f) = self.file.as_ref() else {
            return ReadResult::Eof;
        };
        if buf.len() < CHUNK {
            buf.resize(CHUNK, 0);
        }
        let n = match read_at(f, &mut buf[..CHUNK], self.pos) {
            Ok(n) => n,
            Err(e) => return ReadResult::Error(e),
        };
        if n == 0 {
            match f.metadata() {
                Ok(m) if m.len() < self.pos => return ReadResult::Truncated,
                Ok(m) => self.size = m.len(),
                Err(e) => return ReadResult::Error(e),
            }
            self.eof = true;
            self.behind_since = None;
            return ReadResult::Eof;
        }
        if self.pos + n as u64 > self.size {
            self.size = self.pos + n as u64;
            self.last_growth = em.now;
        }
        em.bytes += n as u64;
        let max = em.opts.max_line_bytes;
        let data = &buf[..n];
        let mut consumed = 0;
        if self.skipping {
            match memchr::memchr(b'\n', data) {
                Some(i) => {
                    consumed = i + 1;
                    self.skipping = false;
                }
                None => {
                    self.pos += n as u64;
                    return self.after_read(n, em.now);
                }
            }
        }
        let base = consumed;
        let mut full = false;
        for i in memchr::memchr_iter(b'\n', &data[base..]) {
            if em.out.len() >= em.max_records {
                full = true;
                break;
            }
            let end = base + i;
            let line = &data[consumed..end];
            let cut = line.len() > max;
            em.line(
                &mut self.decoder,
                &self.attrs,
                &line[..line.len().min(max)],
                self.pos + consumed as u64,
                cut,
            );
            consumed = end + 1;
        }
        if full {
            // The batch is full: the rest of this chunk is read again next turn.
            self.pos += consumed as u64;
            self.eof = false;
            return ReadResult::More;
        }
        if n - consumed >= max {
            em.line(
                &mut self.decoder,
                &self.attrs,
                &data[consumed..consumed + max],
                self.pos + consumed as u64,
                true,
            );
            self.skipping = true;
            consumed = n;
        }
        self.pos += consumed as u64;
        if consumed == 0 && n == CHUNK {
            return self.read_long(long, em);
        }
        self.after_read(n, em.now)
    }

    fn after_read(&mut self, n: usize, now: Instant) -> ReadResult {
        if n == CHUNK {
            self.eof = false;
            if self.behind_since.is_none() {
                self.behind_since = Some(now);
            }
            ReadResult::More
        } else {
            self.eof = true;
            self.behind_since = None;
            ReadResult::Eof
        }
    }

    /// Reads one line longer than a chunk, up to `max_line_bytes`.
    fn read_long(&mut self, long: &mut Vec<u8>, em: &mut Emit<'_>) -> ReadResult {
        let Some(f) = self.file.as_ref() else {
            return ReadResult::Eof;
        };
        let max = em.opts.max_line_bytes;
        let start = self.pos;
        long.clear();
        let result = loop {
            let have = long.len();
            long.resize(have + CHUNK, 0);
            let n = match read_at(f, &mut long[have..], start + have as u64) {
                Ok(n) => n,
                Err(e) => break ReadResult::Error(e),
            };
            long.truncate(have + n);
            em.bytes += n as u64;
            if n == 0 {
                // The line is still being written: read it again once it is complete.
                self.eof = true;
                break ReadResult::Eof;
            }
            if start + long.len() as u64 > self.size {
                self.size = start + long.len() as u64;
                self.last_growth = em.now;
            }
            if let Some(i) = memchr::memchr(b'\n', &long[have..]) {
                let end = have + i;
                em.line(
                    &mut self.decoder,
                    &self.attrs,
                    &long[..end.min(max)],
                    start,
                    end > max,
                );
                self.pos = start + end as u64 + 1;
                break ReadResult::More;
            }
            if long.len() >= max {
                em.line(&mut self.decoder, &self.attrs, &long[..max], start, true);
                self.pos = start + long.len() as u64;
                self.skipping = true;
                break ReadResult::More;
            }
        };
        long.clear();
        if long.capacity() > 4 * CHUNK {
            *long = Vec::new();
        }
        result
    }

    /// The file is closing for good (rotated or deleted, read to its end): sends an
    /// unterminated last line and everything the decoder holds.
    pub(crate) fn drain_tail(&mut self, em: &mut Emit<'_>) {
        if let Some(f) = self.file.as_ref()
            && !self.skipping
        {
            let max = em.opts.max_line_bytes;
            let mut rest = vec![0u8; (self.size.saturating_sub(self.pos) as usize).min(max)];
            if !rest.is_empty()
                && let Ok(n) = read_at(f, &mut rest, self.pos)
                && n > 0
            {
                rest.truncate(n);
                let cut = self.size - self.pos > max as u64;
                em.line(&mut self.decoder, &self.attrs, &rest, self.pos, cut);
                self.pos += n as u64;
            }
        }
        em.flush_all(&mut self.decoder, &self.attrs);
    }

    /// Sends held pieces and messages that waited long enough (only at the file's end).
    pub(crate) fn flush_expired(&mut self, em: &mut Emit<'_>) {
        em.flush_expired(&mut self.decoder, &self.attrs);
    }

    /// Sends everything held (truncation: what was before is gone).
    pub(crate) fn flush_all(&mut self, em: &mut Emit<'_>) {
        em.flush_all(&mut self.decoder, &self.attrs);
    }
}

fn read_at(f: &File, buf: &mut [u8], at: u64) -> std::io::Result<usize> {
    loop {
        match f.read_at(buf, at) {
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            r => return r,
        }
    }
}
