//! One output's chunk files on disk, driven synchronously: recovery at open, append, group
//! sync, seal, read, remove, quarantine and drop-oldest. The async [`super::disk`] wrapper
//! calls it from blocking threads; the model test drives it directly.
//!
//! Files are `<dir>/<seq, 20 digits>.chunk`, `seq` increasing. Durability (with
//! [`BufferSync::Batch`]): a new chunk's header is fsynced and so is the directory before any
//! frame is acknowledged; [`ChunkStore::sync`] fdatasyncs the active chunk (one call covers
//! every frame appended since the last); sealing writes the footer and fsyncs. Removing a
//! delivered chunk needs no fsync: a removal lost in a crash only delivers the chunk again.
//! Delivery progress is one record for the whole directory ([`super::progress`]); the store
//! only reads the `<seq>.sent` files an earlier build left, at open, and deletes each with
//! its chunk.
//!
//! Over 400 lines on purpose: recovery, append, group sync, seal, read, remove, quarantine and
//! drop-oldest all keep one in-memory index of the chunks and its invariants; split, each part
//! would have to re-check the others' assumptions.

use std::collections::{BTreeMap, VecDeque};
use std::fs::{self, File, OpenOptions};
use std::io::{self, Write as _};
use std::path::{Path, PathBuf};

use gleaner_api::Batch;
use gleaner_api::codec::{ChunkDecoder, ChunkEncoder};

use super::format::{self, ScanEnd};
use crate::config::BufferSync;

/// Store settings.
#[derive(Debug, Clone, Copy)]
pub struct StoreConfig {
    /// Seal the active chunk once it reaches this many bytes.
    pub chunk_size: u64,
    /// fsync policy.
    pub sync: BufferSync,
}

/// A chunk on disk.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChunkMeta {
    /// Sequence number (order of delivery).
    pub seq: u64,
    /// File path.
    pub path: PathBuf,
    /// File size.
    pub bytes: u64,
    /// Events in it.
    pub events: u64,
    /// Creation time (ns since the epoch).
    pub created_ns: i64,
}

struct Active {
    meta: ChunkMeta,
    file: File,
    records: u32,
}

/// What recovery found at open.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Recovery {
    /// Chunks kept for delivery.
    pub chunks: usize,
    /// Events in them.
    pub events: u64,
    /// Bytes of torn last frames cut away.
    pub torn_bytes: u64,
    /// Chunks moved aside: (new path, reason).
    pub quarantined: Vec<(PathBuf, String)>,
}

/// A failed store operation, with the file it concerns.
#[derive(Debug, thiserror::Error)]
#[error("{op} {path}: {source}")]
pub struct StoreError {
    /// What was being done.
    pub op: &'static str,
    /// The file or directory.
    pub path: String,
    /// The cause.
    #[source]
    pub source: io::Error,
}

fn err(op: &'static str, path: &Path) -> impl FnOnce(io::Error) -> StoreError + use<> {
    let path = path.display().to_string();
    move |source| StoreError { op, path, source }
}

/// Why a sealed chunk could not be read back.
#[derive(Debug, thiserror::Error)]
pub enum ReadChunkError {
    /// The file could not be read.
    #[error("read {path}: {source}")]
    Io {
        /// The chunk.
        path: String,
        /// The cause.
        #[source]
        source: io::Error,
    },
    /// The bytes are damaged.
    #[error("chunk {path} is corrupt: {reason}")]
    Corrupt {
        /// The chunk.
        path: String,
        /// What is wrong.
        reason: String,
    },
}

/// A sealed chunk read and verified (every checksum), decoded one frame at a time so a
/// delivery holds the chunk's bytes, not all of its events at once. Its frames are decoded
/// in order by one decoder: a frame may refer to attribute lists an earlier frame of the
/// chunk wrote (see `gleaner_api::codec`).
#[derive(Debug)]
pub struct ChunkReader {
    bytes: Vec<u8>,
    frames: std::vec::IntoIter<std::ops::Range<usize>>,
    decoder: ChunkDecoder,
}

impl ChunkReader {
    /// Reads `path` and verifies it is a sealed, undamaged chunk.
    pub fn open(path: &Path) -> Result<ChunkReader, ReadChunkError> {
        Self::open_with(path, Vec::new())
    }

    /// [`Self::open`], reading into `buf` (cleared first) so a caller can reuse one
    /// allocation for every chunk.
    pub fn open_with(path: &Path, mut buf: Vec<u8>) -> Result<ChunkReader, ReadChunkError> {
        use std::io::Read as _;
        buf.clear();
        let read = fs::File::open(path).and_then(|mut f| {
            // Chunks seal a little past `chunk_size`, each a little bigger or smaller than the
            // last: size the buffer from the file (plus room for the next one) rather than let
            // `read_to_end` double it past what `recycle` keeps.
            let len = usize::try_from(f.metadata()?.len()).unwrap_or(usize::MAX);
            if buf.capacity() < len {
                buf = Vec::with_capacity(len.saturating_add(len / 8));
            }
            f.read_to_end(&mut buf)
        });
        read.map_err(|source| ReadChunkError::Io {
            path: path.display().to_string(),
            source,
        })?;
        let bytes = buf;
        let corrupt = |reason: String| ReadChunkError::Corrupt {
            path: path.display().to_string(),
            reason,
        };
        let scan = format::scan(&bytes).map_err(|e| corrupt(e.to_string()))?;
        match scan.end {
            ScanEnd::Sealed { .. } => {}
            ScanEnd::Corrupt { offset, reason } => {
                return Err(corrupt(format!("{reason} at byte {offset}")));
            }
            ScanEnd::Open | ScanEnd::Torn { .. } => return Err(corrupt("not sealed".to_owned())),
        }
        Ok(ChunkReader {
            bytes,
            frames: scan.payloads.into_iter(),
            decoder: ChunkDecoder::new(),
        })
    }

    /// Takes back a batch of this chunk once it is delivered: its records' memory serves the
    /// frames decoded next ([`ChunkDecoder::recycle`]).
    pub fn recycle(&mut self, batch: Batch) {
        self.decoder.recycle(batch);
    }

    /// Gives back the read buffer, for the next chunk.
    pub fn into_buffer(self) -> Vec<u8> {
        self.bytes
    }

    /// The next batch. A frame whose checksum held but which does not decode (written by an
    /// incompatible build) is an error for that frame only; the reader goes on after it.
    pub fn next_batch(&mut self) -> Option<Result<Batch, gleaner_api::codec::DecodeError>> {
        let r = self.frames.next()?;
        Some(self.decoder.decode(&self.bytes[r]))
    }
}

/// Events `start..start + len` of a sealed chunk, counted from its first event over the
/// frames that decode (as a delivery counts them), as one batch; `Ok(None)` when the chunk
/// holds fewer. Every checksum is verified, as for a delivery.
pub fn read_events(path: &Path, start: u64, len: usize) -> Result<Option<Batch>, ReadChunkError> {
    let mut reader = ChunkReader::open(path)?;
    let mut skip = start;
    let mut out: Option<Batch> = None;
    let mut want = len;
    while want > 0 {
        let Some(next) = reader.next_batch() else {
            return Ok(None);
        };
        // A frame that does not decode was skipped by the delivery too: not counted.
        let Ok(mut b) = next else { continue };
        let n = b.len() as u64;
        if skip >= n {
            skip -= n;
            continue;
        }
        let from = usize::try_from(skip).unwrap_or(usize::MAX);
        skip = 0;
        b = match b {
            Batch::Metrics(mut m) => {
                let mut m = m.split_off(from.min(m.len()));
                m.truncate(want);
                Batch::Metrics(m)
            }
            Batch::Logs(mut l) => {
                let mut l = l.split_off(from.min(l.len()));
                l.truncate(want);
                Batch::Logs(l)
            }
        };
        want -= b.len();
        out = Some(match (out, b) {
            (None, b) => b,
            (Some(Batch::Metrics(mut a)), Batch::Metrics(b)) => {
                a.extend(b);
                Batch::Metrics(a)
            }
            (Some(Batch::Logs(mut a)), Batch::Logs(b)) => {
                a.extend(b);
                Batch::Logs(a)
            }
            // A request is of one kind; a range across kinds is not one of its.
            (Some(_), _) => return Ok(None),
        });
    }
    Ok(out)
}

/// Reads and decodes every batch of a sealed chunk, verifying every checksum.
pub fn read_chunk(path: &Path) -> Result<Vec<Batch>, ReadChunkError> {
    let mut reader = ChunkReader::open(path)?;
    let mut out = Vec::new();
    while let Some(b) = reader.next_batch() {
        out.push(b.map_err(|e| ReadChunkError::Corrupt {
            path: path.display().to_string(),
            reason: e.to_string(),
        })?);
    }
    Ok(out)
}

pub(crate) fn chunk_path(dir: &Path, seq: u64) -> PathBuf {
    dir.join(format!("{seq:020}.chunk"))
}

/// Where an earlier build kept a chunk's delivery progress: `<seq>.sent` next to
/// `<seq>.chunk` (now one record for the buffer, [`super::progress`]).
pub(crate) fn sent_path(chunk: &Path) -> PathBuf {
    chunk.with_extension("sent")
}

/// Marks a check word of a `<seq>.sent` file, so a torn or foreign file reads as no progress.
const SENT_CHECK: u64 = 0x676c_6561_6e65_7231;

/// Writes a `<seq>.sent` file as earlier builds did (for tests of the upgrade).
#[cfg(test)]
pub fn write_legacy_sent(chunk: &Path, events: u64) -> io::Result<()> {
    let mut b = [0u8; 16];
    b[..8].copy_from_slice(&events.to_le_bytes());
    b[8..].copy_from_slice(&(events ^ SENT_CHECK).to_le_bytes());
    fs::write(sent_path(chunk), b)
}

/// Events of `chunk` delivered before, per the `<seq>.sent` file of an earlier build (0
/// without a valid one).
pub fn read_legacy_sent(chunk: &Path) -> u64 {
    let Ok(b) = fs::read(sent_path(chunk)) else {
        return 0;
    };
    let word = |r: std::ops::Range<usize>| {
        b.get(r)
            .and_then(|s| <[u8; 8]>::try_from(s).ok())
            .map(u64::from_le_bytes)
    };
    match (b.len(), word(0..8), word(8..16)) {
        (16, Some(events), Some(check)) if events ^ SENT_CHECK == check => events,
        _ => 0,
    }
}

/// Deletes a chunk's `<seq>.sent` file, if any.
fn remove_sent(chunk: &Path) -> Result<(), StoreError> {
    let path = sent_path(chunk);
    match fs::remove_file(&path) {
        Err(e) if e.kind() != io::ErrorKind::NotFound => Err(err("remove progress", &path)(e)),
        _ => Ok(()),
    }
}

fn parse_seq(path: &Path) -> Option<u64> {
    let name = path.file_name()?.to_str()?;
    let digits = name.strip_suffix(".chunk")?;
    (digits.len() == 20).then(|| digits.parse().ok()).flatten()
}

fn sync_dir(dir: &Path) -> Result<(), StoreError> {
    File::open(dir)
        .and_then(|d| d.sync_all())
        .map_err(err("fsync directory", dir))
}

/// One output's chunks.
pub struct ChunkStore {
    dir: PathBuf,
    corrupt_dir: PathBuf,
    cfg: StoreConfig,
    active: Option<Active>,
    sealed: VecDeque<ChunkMeta>,
    next_seq: u64,
    scratch: Vec<u8>,
    /// The attribute lists the active chunk's frames wrote (reset when it is sealed).
    encoder: ChunkEncoder,
    dirty: bool,
    /// Chunks with an earlier build's `<seq>.sent` file: the events it says were delivered.
    legacy_sent: BTreeMap<u64, u64>,
}

impl ChunkStore {
    /// Opens (creating) `dir`, recovers every chunk in it: torn tails are truncated, open
    /// chunks sealed, damaged chunks moved to `corrupt_dir`.
    pub fn open(
        dir: &Path,
        corrupt_dir: &Path,
        cfg: StoreConfig,
    ) -> Result<(Self, Recovery), StoreError> {
        fs::create_dir_all(dir).map_err(err("create directory", dir))?;
        let mut found: Vec<(u64, PathBuf)> = Vec::new();
        let mut markers: Vec<PathBuf> = Vec::new();
        for entry in fs::read_dir(dir).map_err(err("list", dir))? {
            let path = entry.map_err(err("list", dir))?.path();
            if let Some(seq) = parse_seq(&path) {
                found.push((seq, path));
            } else if path.extension().is_some_and(|e| e == "sent") {
                markers.push(path);
            }
        }
        // An earlier build's progress files: read once and kept until their chunk goes;
        // deleted now when the chunk is gone (deleted just before a crash).
        let mut legacy_sent = BTreeMap::new();
        for m in markers {
            let chunk = m.with_extension("chunk");
            match found.iter().find(|(_, p)| *p == chunk) {
                Some((seq, _)) => {
                    legacy_sent.insert(*seq, read_legacy_sent(&chunk));
                }
                None => remove_sent(&chunk)?,
            }
        }
        found.sort();
        let mut store = ChunkStore {
            dir: dir.to_owned(),
            corrupt_dir: corrupt_dir.to_owned(),
            cfg,
            active: None,
            sealed: VecDeque::new(),
            next_seq: found.last().map_or(1, |(s, _)| s + 1),
            scratch: Vec::new(),
            encoder: ChunkEncoder::new(),
            dirty: false,
            legacy_sent,
        };
        let mut rec = Recovery::default();
        let newest = found.last().map(|(s, _)| *s);
        for (seq, path) in found {
            if let Some(meta) = store.recover_one(seq, &path, Some(seq) == newest, &mut rec)? {
                rec.chunks += 1;
                rec.events += meta.events;
                store.sealed.push_back(meta);
            }
        }
        Ok((store, rec))
    }

    /// Recovers one chunk. Only the newest chunk can lack its footer (a chunk is created only
    /// after the one before it was sealed), so an older chunk without a valid footer is
    /// damaged and moved aside, never cut.
    fn recover_one(
        &mut self,
        seq: u64,
        path: &Path,
        newest: bool,
        rec: &mut Recovery,
    ) -> Result<Option<ChunkMeta>, StoreError> {
        let bytes = fs::read(path).map_err(err("read", path))?;
        let scan = match format::scan(&bytes) {
            Ok(s) => s,
            Err(e) => {
                rec.quarantined
                    .push((self.move_aside(path)?, e.to_string()));
                return Ok(None);
            }
        };
        let events = match scan.end {
            ScanEnd::Sealed { events } => events,
            ScanEnd::Corrupt { offset, reason } => {
                rec.quarantined
                    .push((self.move_aside(path)?, format!("{reason} at byte {offset}")));
                return Ok(None);
            }
            ScanEnd::Open | ScanEnd::Torn { .. } if !newest => {
                rec.quarantined.push((
                    self.move_aside(path)?,
                    "an older chunk without its footer (only the newest can be unsealed)"
                        .to_owned(),
                ));
                return Ok(None);
            }
            ScanEnd::Open | ScanEnd::Torn { .. } => {
                let mut events = 0u64;
                let mut decoder = ChunkDecoder::new();
                for r in &scan.payloads {
                    match decoder.decode(&bytes[r.clone()]) {
                        Ok(b) => events += b.len() as u64,
                        Err(e) => {
                            rec.quarantined
                                .push((self.move_aside(path)?, e.to_string()));
                            return Ok(None);
                        }
                    }
                }
                if scan.payloads.is_empty() {
                    // Nothing in it was ever acknowledged: remove it.
                    fs::remove_file(path).map_err(err("remove empty chunk", path))?;
                    return Ok(None);
                }
                if let ScanEnd::Torn { garbage } = scan.end {
                    rec.torn_bytes += garbage as u64;
                }
                let file = OpenOptions::new()
                    .write(true)
                    .open(path)
                    .map_err(err("open", path))?;
                file.set_len(scan.data_end as u64)
                    .map_err(err("truncate", path))?;
                let mut footer = Vec::with_capacity(format::FOOTER_LEN);
                format::write_footer(
                    &mut footer,
                    scan.payloads.len() as u32,
                    events,
                    scan.data_end as u64,
                );
                let mut file_end = file;
                use std::io::Seek as _;
                file_end
                    .seek(io::SeekFrom::End(0))
                    .map_err(err("seek", path))?;
                file_end
                    .write_all(&footer)
                    .map_err(err("write footer", path))?;
                file_end.sync_all().map_err(err("fsync", path))?;
                events
            }
        };
        let len = fs::metadata(path).map_err(err("stat", path))?.len();
        Ok(Some(ChunkMeta {
            seq,
            path: path.to_owned(),
            bytes: len,
            events,
            created_ns: scan.created_ns,
        }))
    }

    fn move_aside(&self, path: &Path) -> Result<PathBuf, StoreError> {
        fs::create_dir_all(&self.corrupt_dir)
            .map_err(err("create directory", &self.corrupt_dir))?;
        let name = path
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        let to = self
            .corrupt_dir
            .join(format!("{}-{name}", gleaner_api::now_ns()));
        fs::rename(path, &to).map_err(err("move aside", path))?;
        Ok(to)
    }

    fn open_active(&mut self) -> Result<&mut Active, StoreError> {
        if self.active.is_none() {
            let seq = self.next_seq;
            self.next_seq += 1;
            let path = chunk_path(&self.dir, seq);
            let mut file = OpenOptions::new()
                .create_new(true)
                .append(true)
                .open(&path)
                .map_err(err("create chunk", &path))?;
            let created_ns = gleaner_api::now_ns();
            let mut header = Vec::with_capacity(format::HEADER_LEN);
            format::write_header(&mut header, created_ns);
            file.write_all(&header)
                .map_err(err("write header", &path))?;
            if self.cfg.sync == BufferSync::Batch {
                file.sync_all().map_err(err("fsync", &path))?;
                sync_dir(&self.dir)?;
            }
            let meta = ChunkMeta {
                seq,
                path,
                bytes: header.len() as u64,
                events: 0,
                created_ns,
            };
            self.active = Some(Active {
                meta,
                file,
                records: 0,
            });
        }
        // Set just above.
        self.active.as_mut().ok_or_else(|| StoreError {
            op: "open chunk",
            path: self.dir.display().to_string(),
            source: io::Error::other("no active chunk"),
        })
    }

    /// New chunk size and fsync policy (a reload), from the next append on.
    pub fn set_config(&mut self, cfg: StoreConfig) {
        self.cfg = cfg;
    }

    /// Appends one batch (not yet durable: call [`Self::sync`]); seals the chunk when it
    /// reaches `chunk_size`.
    pub fn append(&mut self, batch: &Batch) -> Result<(), StoreError> {
        let mut scratch = std::mem::take(&mut self.scratch);
        scratch.clear();
        scratch.extend_from_slice(&[0u8; format::FRAME_OVERHEAD]);
        self.encoder.encode(batch, &mut scratch);
        let payload_len = scratch.len() - format::FRAME_OVERHEAD;
        let crc = crc32fast::hash(&scratch[format::FRAME_OVERHEAD..]);
        scratch[..4].copy_from_slice(&(payload_len as u32).to_le_bytes());
        scratch[4..8].copy_from_slice(&crc.to_le_bytes());
        let result = self.write_frame(&scratch, batch.len() as u64);
        self.scratch = scratch;
        // Later frames of the chunk may refer to this frame's lists only once it is in it.
        match result {
            Ok(()) => self.encoder.commit(),
            Err(e) => {
                self.encoder.rollback();
                return Err(e);
            }
        }
        let full = self
            .active
            .as_ref()
            .is_some_and(|a| a.meta.bytes >= self.cfg.chunk_size);
        if full {
            self.seal()?;
        }
        Ok(())
    }

    fn write_frame(&mut self, frame: &[u8], events: u64) -> Result<(), StoreError> {
        if frame.len() - format::FRAME_OVERHEAD > format::MAX_PAYLOAD {
            return Err(StoreError {
                op: "append",
                path: self.dir.display().to_string(),
                source: io::Error::new(io::ErrorKind::InvalidInput, "batch larger than 256 MiB"),
            });
        }
        let a = self.open_active()?;
        if let Err(e) = a.file.write_all(frame) {
            // Cut a partial frame so the file stays a valid prefix.
            let keep = a.meta.bytes;
            if let Err(t) = a.file.set_len(keep) {
                tracing::error!(path = %a.meta.path.display(), error = %t, "cannot cut a partial frame");
            }
            return Err(err("append", &a.meta.path)(e));
        }
        a.meta.bytes += frame.len() as u64;
        a.meta.events += events;
        a.records += 1;
        self.dirty = true;
        Ok(())
    }

    /// Makes every appended frame durable (one fdatasync; nothing with `sync = "none"`).
    pub fn sync(&mut self) -> Result<(), StoreError> {
        if self.dirty
            && self.cfg.sync == BufferSync::Batch
            && let Some(a) = &self.active
        {
            a.file.sync_data().map_err(err("fsync", &a.meta.path))?;
        }
        self.dirty = false;
        Ok(())
    }

    /// Writes the footer of the active chunk, makes it durable and queues it for delivery.
    pub fn seal(&mut self) -> Result<(), StoreError> {
        let Some(mut a) = self.active.take() else {
            return Ok(());
        };
        let mut footer = Vec::with_capacity(format::FOOTER_LEN);
        format::write_footer(&mut footer, a.records, a.meta.events, a.meta.bytes);
        let path = a.meta.path.clone();
        let res = a
            .file
            .write_all(&footer)
            .map_err(err("write footer", &path))
            .and_then(|()| {
                if self.cfg.sync == BufferSync::Batch {
                    a.file.sync_data().map_err(err("fsync", &path))
                } else {
                    Ok(())
                }
            });
        if let Err(e) = res {
            if let Err(t) = a.file.set_len(a.meta.bytes) {
                tracing::error!(path = %path.display(), error = %t, "cannot cut a partial footer");
            }
            self.active = Some(a);
            return Err(e);
        }
        a.meta.bytes += footer.len() as u64;
        self.dirty = false;
        self.sealed.push_back(a.meta);
        // The next chunk indexes its own lists (and the sealed one's are let go of).
        self.encoder.reset();
        Ok(())
    }

    /// Creation time of the active chunk, if it holds anything.
    pub fn active_created_ns(&self) -> Option<i64> {
        self.active
            .as_ref()
            .filter(|a| a.records > 0)
            .map(|a| a.meta.created_ns)
    }

    /// The oldest sealed chunk.
    pub fn front(&self) -> Option<&ChunkMeta> {
        self.sealed.front()
    }

    /// The oldest sealed chunk after `seq` (the oldest of all for `None`).
    pub fn first_after(&self, seq: Option<u64>) -> Option<&ChunkMeta> {
        match seq {
            None => self.sealed.front(),
            Some(s) => self.sealed.iter().find(|c| c.seq > s),
        }
    }

    /// The sealed chunk `seq`, while it is buffered.
    pub fn sealed_chunk(&self, seq: u64) -> Option<&ChunkMeta> {
        self.sealed.iter().find(|c| c.seq == seq)
    }

    /// Removes a delivered chunk (file and entry).
    pub fn remove(&mut self, seq: u64) -> Result<Option<ChunkMeta>, StoreError> {
        let Some(i) = self.sealed.iter().position(|c| c.seq == seq) else {
            return Ok(None);
        };
        let meta = self.sealed.remove(i);
        if let Some(m) = &meta {
            match fs::remove_file(&m.path) {
                Ok(()) => {}
                Err(e) if e.kind() == io::ErrorKind::NotFound => {}
                Err(e) => return Err(err("remove chunk", &m.path)(e)),
            }
            self.forget_legacy_sent(m)?;
        }
        Ok(meta)
    }

    /// Events of chunk `seq` delivered before per an earlier build's `<seq>.sent` file (0
    /// without one).
    pub fn legacy_sent(&self, seq: u64) -> u64 {
        self.legacy_sent.get(&seq).copied().unwrap_or(0)
    }

    fn forget_legacy_sent(&mut self, chunk: &ChunkMeta) -> Result<(), StoreError> {
        if self.legacy_sent.remove(&chunk.seq).is_some() {
            remove_sent(&chunk.path)?;
        }
        Ok(())
    }

    /// Moves a sealed chunk that failed to read to the corrupt directory.
    pub fn quarantine(&mut self, seq: u64) -> Result<Option<(ChunkMeta, PathBuf)>, StoreError> {
        let Some(i) = self.sealed.iter().position(|c| c.seq == seq) else {
            return Ok(None);
        };
        let Some(meta) = self.sealed.remove(i) else {
            return Ok(None);
        };
        let to = self.move_aside(&meta.path)?;
        self.forget_legacy_sent(&meta)?;
        Ok(Some((meta, to)))
    }

    /// Deletes the oldest sealed chunk (for `when_full = "drop_oldest"`).
    pub fn drop_oldest(&mut self) -> Result<Option<ChunkMeta>, StoreError> {
        match self.sealed.front().map(|c| c.seq) {
            Some(seq) => self.remove(seq),
            None => Ok(None),
        }
    }

    /// Bytes of every chunk, the active one included.
    pub fn total_bytes(&self) -> u64 {
        self.sealed.iter().map(|c| c.bytes).sum::<u64>()
            + self.active.as_ref().map_or(0, |a| a.meta.bytes)
    }

    /// Events in every chunk.
    pub fn total_events(&self) -> u64 {
        self.sealed.iter().map(|c| c.events).sum::<u64>()
            + self.active.as_ref().map_or(0, |a| a.meta.events)
    }

    /// Number of chunks, the active one included.
    pub fn chunk_count(&self) -> usize {
        self.sealed.len() + usize::from(self.active.is_some())
    }

    /// Creation time of the oldest chunk.
    pub fn oldest_created_ns(&self) -> Option<i64> {
        self.sealed
            .front()
            .map(|c| c.created_ns)
            .or_else(|| self.active.as_ref().map(|a| a.meta.created_ns))
    }

    /// Sealed chunks waiting.
    pub fn sealed_len(&self) -> usize {
        self.sealed.len()
    }
}

#[cfg(test)]
mod tests;
