//! The buffer's binary encoding of a [`Batch`]: compact, versioned, and safe to decode from
//! untrusted bytes.
//!
//! Layout (all integers little-endian; `varint` is LEB128, `zigzag` maps signed to unsigned):
//!
//! ```text
//! batch   := version:u8 (=5) kind:u8 (3 metrics | 2 logs | 1 metrics, still read) count:varint
//!            [base:varint] event*   (base: logs only, version 5)
//! metric  := str(measurement) tagset varint(nfields) (str value)* timestamp:i64 metric_kind:u8
//! tagset  := varint(0) varint(index)          the batch's index-th tag set written before
//!          | varint(len + 1) packed           a new set as its layout (`Tags::packed`,
//!                                             `len` bytes), the batch's next index
//! tagset1 := varint(0) varint(index)          (kind 1) a set written before
//!          | varint(ntags + 1) (str str)*     (kind 1) a new set, string by string
//! log     := timestamp:i64 stream:u8 bytes(body) attrs
//! attrs   := varint(0)                        the previous record's attributes again
//!          | varint(1) varint(index) own      the chunk's index-th shared list written before
//!          | varint(2) varint(n) (str value)* own   a new shared list, the chunk's next index
//!          | varint(3) own                    no shared list, only the record's own
//!          | varint(4) varint(n) (str value)* own   a shared list not indexed (one record's)
//! own     := varint(n) (str value)*
//! value   := 0 f64 | 1 zigzag-varint | 2 varint | 3 u8(bool) | 4 str
//! str     := varint(len) utf8-bytes          bytes := varint(len) bytes
//! ```
//!
//! Records of one file carry the same attributes (path, pod identity), so version 2 writes
//! them once per run of records, which halves a log chunk. Version 1 (`attrs :=
//! varint(nattrs) (str value)*`, every record its own) is still read: chunks written before
//! an upgrade are delivered by the new build.
//!
//! Version 4 keeps a record's two parts apart: its shared list (a file's path and pod, a
//! syslog sender's header) is written once per batch and referred back to by index, and only
//! the record's own attributes (a parsed JSON line's members, a message's structured data)
//! are written per record. Version 2 and 3 wrote any list that differed from the previous
//! record's whole (`attrs := varint(0) | varint(nattrs + 1) (str value)*`), so records with
//! own attributes paid for their source's list again, in the chunk and in the decoder; they
//! are still read.
//!
//! Version 5 indexes shared lists per chunk instead of per batch: a buffer chunk holds many
//! small batches (one per read of a connection, per file poll), and a sender's or a file's
//! list came again in nearly every one of them (the `syslog` bench wrote and decoded 0.4 to
//! 0.7 whole header lists per message). A [`ChunkEncoder`] keeps the lists the chunk's frames
//! wrote (holding each, so no other list can take its address) and a [`ChunkDecoder`] reads
//! the chunk's frames in order with the same table. Each log batch starts with `base`, the
//! number of lists the chunk's frames before it wrote: a decoder that missed some (a frame
//! that did not decode) knows which indexes it lacks and fails only the records that refer to
//! them, never giving a record another list. Form 4 is a list only its record holds (nothing
//! can refer to it again) or one past [`MAX_CHUNK_LISTS`]. A frame encoded alone
//! ([`encode_batch`]) has `base` 0 and decodes alone ([`decode_batch`]). Version 4 frames
//! (indexes per batch) are still read.
//!
//! Metrics of one series share one [`Tags`] set, and a batch often holds a series more than
//! once (several scrapes, or `up` and the other synthetic series of a target), so version 3
//! writes each shared set once per batch and refers back to it by index; the decoder hands
//! every metric of a set the same shared [`Tags`]. Versions 1 and 2 wrote every metric's
//! tags (`varint(ntags) (str str)*`) and are still read.
//!
//! Metrics batches of kind 3 (written by version 5) write a new set as its layout, whole (one
//! copy each way: the decoder checks the layout in one walk and one UTF-8 check,
//! `Tags::from_packed`, instead of reading and assembling twice as many strings); kind 1
//! batches (string by string, versions 1 to 4) are still read.
//!
//! Framing (length, CRC32) belongs to the buffer, not to this module. Decoding never panics and
//! never pre-allocates more than the input could hold: every length is checked against the
//! bytes that remain.
//!
//! Over 400 lines on purpose: the encoder and the decoder of one versioned format side by side,
//! so each field's write and read are checked against each other in one place.

use std::sync::Arc;

use std::collections::HashMap;
use std::hash::BuildHasherDefault;

use crate::event::{
    AddressHasher, Attribute, Attributes, Batch, FieldValue, KeyCache, LogRecord, Metric,
    MetricKind, SharedAttributes, Stream, Tags, TagsBuilder, Text,
};

/// The format version written by [`encode_batch`] and [`ChunkEncoder`].
pub const FORMAT_VERSION: u8 = 5;

/// Most shared lists a chunk indexes (version 5); a list past them is written whole where it
/// appears. Bounds what a [`ChunkEncoder`] holds and what a [`ChunkDecoder`] accepts.
pub const MAX_CHUNK_LISTS: usize = 4096;

/// The first version, still read.
const FORMAT_V1: u8 = 1;

/// The version with each metric's own tags and shared log attributes, still read.
const FORMAT_V2: u8 = 2;

/// The version with shared tag sets and whole log attribute lists, still read.
const FORMAT_V3: u8 = 3;

/// The version with shared log lists indexed per batch, still read.
const FORMAT_V4: u8 = 4;

/// Metrics with tag sets string by string (written before kind 3), still read.
const KIND_METRICS: u8 = 1;
const KIND_LOGS: u8 = 2;
/// Metrics with tag sets as their layout.
const KIND_METRICS_PACKED: u8 = 3;

/// Why bytes could not be decoded into a [`Batch`].
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DecodeError {
    /// The input ended inside a value.
    #[error("batch truncated at byte {offset}")]
    Truncated {
        /// Byte offset where more input was needed.
        offset: usize,
    },
    /// The version byte is not one this build reads.
    #[error("unsupported batch format version {version}")]
    UnsupportedVersion {
        /// The version found.
        version: u8,
    },
    /// A tag byte, varint or string is invalid.
    #[error("invalid {what} at byte {offset}")]
    Invalid {
        /// What was being read.
        what: &'static str,
        /// Byte offset of the bad value.
        offset: usize,
    },
    /// Bytes remained after the last event.
    #[error("{extra} trailing bytes after the batch")]
    TrailingBytes {
        /// How many bytes remained.
        extra: usize,
    },
}

/// Appends the encoding of `batch` to `out`, as a frame that decodes alone (its shared lists
/// indexed for this batch only).
pub fn encode_batch(batch: &Batch, out: &mut Vec<u8>) {
    ChunkEncoder::default().encode(batch, out);
}

/// The shared log attribute lists the frames of one chunk wrote, so a later frame of the
/// chunk refers back to them by index (version 5, see the module doc). Each indexed list is
/// held (an `Arc` clone) until [`ChunkEncoder::reset`], so no other list can take its address
/// meanwhile; at most [`MAX_CHUNK_LISTS`] are.
#[derive(Debug, Default)]
pub struct ChunkEncoder {
    /// Indexed lists by address, with their index.
    index: HashMap<usize, u64, BuildHasherDefault<AddressHasher>>,
    /// The indexed lists, by index.
    kept: Vec<SharedAttributes>,
    /// Lists of the frames known written ([`ChunkEncoder::commit`]); those after them were
    /// indexed by the frame being written.
    committed: usize,
}

impl ChunkEncoder {
    /// An encoder for a new chunk.
    pub fn new() -> Self {
        Self::default()
    }

    /// Appends the encoding of `batch` to `out`, referring to the lists of the frames
    /// committed before it. Lists of an encoding not committed are forgotten first.
    pub fn encode(&mut self, batch: &Batch, out: &mut Vec<u8>) {
        self.rollback();
        out.push(FORMAT_VERSION);
        match batch {
            Batch::Metrics(metrics) => {
                out.push(KIND_METRICS_PACKED);
                put_varint(out, metrics.len() as u64);
                // Each shared set written, by identity (the batch keeps the sets alive), and
                // the index it has in the batch.
                let mut sets = SetIndex::default();
                for m in metrics {
                    put_str(out, &m.measurement);
                    put_tags(out, &m.tags, &mut sets);
                    put_pairs(out, &m.fields);
                    out.extend_from_slice(&m.timestamp.to_le_bytes());
                    out.push(metric_kind_byte(m.kind));
                }
            }
            Batch::Logs(logs) => {
                out.push(KIND_LOGS);
                put_varint(out, logs.len() as u64);
                put_varint(out, self.kept.len() as u64);
                self.put_logs(logs, out);
            }
        }
    }

    /// The last encoding is in the chunk: its lists may be referred to from now on.
    pub fn commit(&mut self) {
        self.committed = self.kept.len();
    }

    /// The last encoding was not written: forgets the lists it indexed.
    pub fn rollback(&mut self) {
        for list in self.kept.drain(self.committed..) {
            self.index.remove(&list_address(&list));
        }
    }

    /// A new chunk: nothing indexed, nothing held.
    pub fn reset(&mut self) {
        self.index.clear();
        self.kept.clear();
        self.committed = 0;
    }

    fn put_logs(&mut self, logs: &[LogRecord], out: &mut Vec<u8>) {
        // The last list looked up, which the next record of a source usually repeats.
        let mut last_list: Option<(usize, u64)> = None;
        // Where the previous record's attributes were written, and it.
        let mut prev: Option<(std::ops::Range<usize>, &LogRecord)> = None;
        for l in logs {
            out.extend_from_slice(&l.timestamp.to_le_bytes());
            out.push(stream_byte(l.stream));
            put_varint(out, l.body.len() as u64);
            out.extend_from_slice(&l.body);
            if let Some((_, p)) = &prev
                && same_shared_list(&p.attributes, &l.attributes)
            {
                out.push(0);
                continue;
            }
            let start = out.len();
            let mut new_list = false;
            match l.attributes.shared_arc() {
                Some(list) => {
                    let id = list_address(list);
                    let seen = match last_list {
                        Some((l, index)) if l == id => Some(index),
                        _ => self.index.get(&id).copied(),
                    };
                    if let Some(index) = seen {
                        put_varint(out, 1);
                        put_varint(out, index);
                        last_list = Some((id, index));
                    } else if Arc::strong_count(list) > 1 && self.kept.len() < MAX_CHUNK_LISTS {
                        // Held elsewhere too (other records, the source's cache): it may
                        // come again, in this batch or a later one.
                        let index = self.kept.len() as u64;
                        self.index.insert(id, index);
                        self.kept.push(Arc::clone(list));
                        last_list = Some((id, index));
                        new_list = true;
                        put_varint(out, 2);
                        put_attribute_list(out, list);
                    } else {
                        put_varint(out, 4);
                        put_attribute_list(out, list);
                    }
                }
                None => put_varint(out, 3),
            }
            put_attribute_list(out, l.attributes.own_part());
            // Equal to what the previous record wrote (its own list again, or the same
            // shared list and equal own ones): the repeat marker. Not for a new indexed list,
            // which the decoder must add to its table.
            if !new_list
                && let Some((range, _)) = &prev
                && out[range.clone()] == out[start..]
            {
                out.truncate(start);
                out.push(0);
                continue;
            }
            prev = Some((start..out.len(), l));
        }
    }
}

/// A shared list's identity while it is held.
fn list_address(list: &SharedAttributes) -> usize {
    Arc::as_ptr(list).cast::<()>() as usize
}

fn put_attribute_list(out: &mut Vec<u8>, list: &[Attribute]) {
    put_varint(out, list.len() as u64);
    for (k, v) in list {
        put_pair(out, k, v);
    }
}

/// Decodes one whole batch; the input must hold exactly one. A version 5 log batch that
/// refers to lists of frames before it in its chunk does not decode alone: see
/// [`ChunkDecoder`].
pub fn decode_batch(bytes: &[u8]) -> Result<Batch, DecodeError> {
    ChunkDecoder::default().decode(bytes)
}

/// Decodes the frames of one chunk, in order (see [`ChunkEncoder`]): it keeps the shared
/// lists the chunk's frames wrote, by index, and the attribute names read so far.
#[derive(Debug, Default)]
pub struct ChunkDecoder {
    /// The chunk's lists by index; `None` for those of a frame that did not decode.
    lists: Vec<Option<SharedAttributes>>,
    /// Attribute names decoded so far: a name that repeats is shared, not allocated again.
    keys: KeyCache,
    /// Bodies of records already delivered ([`Self::recycle`]), refilled by the next frames'
    /// records instead of a fresh allocation each (and a free on another thread later).
    spare_bodies: Vec<Vec<u8>>,
    /// Own attribute lists of delivered records, likewise: the next records' own attributes
    /// are written into them, strings into the strings in their place.
    spare_owns: Vec<Vec<Attribute>>,
}

/// The bytes the string values of `list` hold.
fn strings_capacity(list: &[Attribute]) -> usize {
    list.iter()
        .map(|(_, v)| match v {
            FieldValue::String(s) => s.capacity(),
            _ => 0,
        })
        .sum()
}

/// Bodies [`ChunkDecoder::recycle`] keeps at most: a request's worth of records.
const MAX_SPARE_BODIES: usize = 4096;

/// A body whose allocation is larger than this is freed, not kept for reuse; so is an own
/// list whose strings hold more than this.
const MAX_SPARE_BODY: usize = 8 * 1024;

impl ChunkDecoder {
    /// Takes back the records of a batch this decoder (or any) produced once they are
    /// delivered: their bodies' allocations are refilled by the records decoded next, up to
    /// a request's worth (4,096 records, no body larger than 8 KiB), and so
    /// are their own attribute lists; the rest of each record is dropped here.
    pub fn recycle(&mut self, batch: Batch) {
        let Batch::Logs(logs) = batch else { return };
        for mut r in logs {
            if self.spare_bodies.len() >= MAX_SPARE_BODIES {
                break;
            }
            if r.body.capacity() <= MAX_SPARE_BODY {
                self.spare_bodies.push(r.body);
            }
            let own = std::mem::take(r.attributes.own_mut());
            if own.capacity() > 0
                && self.spare_owns.len() < MAX_SPARE_BODIES
                && strings_capacity(&own) <= MAX_SPARE_BODY
            {
                self.spare_owns.push(own);
            }
        }
    }

    /// A decoder for a chunk's first frame.
    pub fn new() -> Self {
        Self::default()
    }

    /// Decodes the chunk's next frame, which must hold exactly one batch.
    pub fn decode(&mut self, bytes: &[u8]) -> Result<Batch, DecodeError> {
        let mut r = Reader {
            buf: bytes,
            pos: 0,
            keys: std::mem::take(&mut self.keys),
            spare_bodies: std::mem::take(&mut self.spare_bodies),
            spare_owns: std::mem::take(&mut self.spare_owns),
        };
        let result = self.decode_with(&mut r);
        self.keys = r.keys;
        self.spare_bodies = r.spare_bodies;
        self.spare_owns = r.spare_owns;
        result
    }

    fn decode_with(&mut self, r: &mut Reader<'_>) -> Result<Batch, DecodeError> {
        let version = r.u8()?;
        if !matches!(
            version,
            FORMAT_V1 | FORMAT_V2 | FORMAT_V3 | FORMAT_V4 | FORMAT_VERSION
        ) {
            return Err(DecodeError::UnsupportedVersion { version });
        }
        let kind_at = r.pos;
        let kind = r.u8()?;
        let count = r.len()?;
        let batch = match kind {
            KIND_METRICS | KIND_METRICS_PACKED => {
                let packed = kind == KIND_METRICS_PACKED;
                if packed && version != FORMAT_VERSION {
                    return Err(DecodeError::Invalid {
                        what: "batch kind",
                        offset: kind_at,
                    });
                }
                let mut metrics = Vec::with_capacity(count);
                let mut sets = SetTable::default();
                for _ in 0..count {
                    metrics.push(r.metric(version, packed, &mut sets)?);
                }
                Batch::Metrics(metrics)
            }
            KIND_LOGS if version >= FORMAT_VERSION => {
                let at = r.pos;
                let base = usize::try_from(r.varint()?)
                    .ok()
                    .filter(|b| (self.lists.len()..=MAX_CHUNK_LISTS).contains(b))
                    .ok_or(DecodeError::Invalid {
                        what: "attribute list count",
                        offset: at,
                    })?;
                // Lists of frames that did not decode are missing: a record referring to
                // one fails, the others keep their indexes.
                self.lists.resize(base, None);
                let logs = r.logs(version, count, &mut self.lists).and_then(|logs| {
                    r.finished()?;
                    Ok(logs)
                });
                // A frame that does not decode adds no list (its records are not delivered).
                return logs
                    .map(Batch::Logs)
                    .inspect_err(|_| self.lists.truncate(base));
            }
            KIND_LOGS => Batch::Logs(r.logs(version, count, &mut Vec::new())?),
            _ => {
                return Err(DecodeError::Invalid {
                    what: "batch kind",
                    offset: kind_at,
                });
            }
        };
        r.finished()?;
        Ok(batch)
    }
}

/// The tag sets a batch's decoding has read, by index, and the builder that makes them.
#[derive(Default)]
struct SetTable {
    sets: Vec<Tags>,
    builder: TagsBuilder,
    /// Where the strings of the set being read lie in the input.
    strings: Vec<std::ops::Range<usize>>,
}

/// The tag sets a batch's encoding wrote: how many (each new non-empty set is the next
/// index, as the decoder counts them), and those that may come again by identity.
#[derive(Default)]
struct SetIndex {
    written: u64,
    shared: HashMap<usize, u64, BuildHasherDefault<AddressHasher>>,
    last: Option<(usize, u64)>,
}

/// A metric's tag set: a back reference when the batch wrote this shared set before. A set
/// only its metric holds cannot come again, so it is not looked up or remembered.
fn put_tags(out: &mut Vec<u8>, tags: &Tags, sets: &mut SetIndex) {
    let id = tags.id();
    if id != 0 {
        let seen = match sets.last {
            Some((l, index)) if l == id => Some(index),
            _ if tags.holders() > 1 => sets.shared.get(&id).copied(),
            _ => None,
        };
        if let Some(index) = seen {
            out.push(0);
            put_varint(out, index);
            sets.last = Some((id, index));
            return;
        }
        let index = sets.written;
        sets.written += 1;
        if tags.holders() > 1 {
            sets.shared.insert(id, index);
            sets.last = Some((id, index));
        }
    }
    let packed = tags.packed();
    put_varint(out, packed.len() as u64 + 1);
    out.extend_from_slice(packed.as_bytes());
}

fn metric_kind_byte(kind: MetricKind) -> u8 {
    match kind {
        MetricKind::Untyped => 0,
        MetricKind::Counter => 1,
        MetricKind::Gauge => 2,
        MetricKind::Histogram => 3,
        MetricKind::Summary => 4,
    }
}

fn stream_byte(stream: Stream) -> u8 {
    match stream {
        Stream::Unknown => 0,
        Stream::Stdout => 1,
        Stream::Stderr => 2,
    }
}

fn put_varint(out: &mut Vec<u8>, mut v: u64) {
    while v >= 0x80 {
        out.push((v as u8) | 0x80);
        v >>= 7;
    }
    out.push(v as u8);
}

fn put_str(out: &mut Vec<u8>, s: &str) {
    put_varint(out, s.len() as u64);
    out.extend_from_slice(s.as_bytes());
}

/// True when `b` is `a`'s shared list again (the tail's records of one file).
fn same_shared_list(a: &Attributes, b: &Attributes) -> bool {
    match (a.shared_arc(), b.shared_arc()) {
        (Some(x), Some(y)) => {
            Arc::ptr_eq(x, y) && a.own_part().is_empty() && b.own_part().is_empty()
        }
        _ => false,
    }
}

fn put_pairs(out: &mut Vec<u8>, pairs: &[(String, FieldValue)]) {
    put_varint(out, pairs.len() as u64);
    for (k, v) in pairs {
        put_pair(out, k, v);
    }
}

fn put_pair(out: &mut Vec<u8>, k: &str, v: &FieldValue) {
    put_str(out, k);
    match v {
        FieldValue::Float(f) => {
            out.push(0);
            out.extend_from_slice(&f.to_le_bytes());
        }
        FieldValue::Int(i) => {
            out.push(1);
            put_varint(out, ((i << 1) ^ (i >> 63)) as u64);
        }
        FieldValue::UInt(u) => {
            out.push(2);
            put_varint(out, *u);
        }
        FieldValue::Bool(b) => {
            out.push(3);
            out.push(u8::from(*b));
        }
        FieldValue::String(s) => {
            out.push(4);
            put_str(out, s);
        }
    }
}

/// A copy of `a` for a record that repeats it; without own attributes (a file's plain
/// lines), only the shared list's count moves.
fn same_attributes(a: &Attributes) -> Attributes {
    match a.shared_arc() {
        Some(list) if a.own_part().is_empty() => Attributes::from_shared(Arc::clone(list)),
        _ => a.clone(),
    }
}

/// The attributes of the previous record (and, in version 1, their encoding): records of one
/// source repeat the same attributes, so they share one decoded list.
#[derive(Default)]
struct LastAttributes<'a> {
    bytes: &'a [u8],
    shared: Option<SharedAttributes>,
}

struct Reader<'a> {
    buf: &'a [u8],
    pos: usize,
    /// Attribute names decoded so far: a name that repeats is shared, not allocated again.
    keys: KeyCache,
    /// Allocations for bodies (see [`ChunkDecoder::recycle`]).
    spare_bodies: Vec<Vec<u8>>,
    /// Own attribute lists of delivered records, their strings refilled in place.
    spare_owns: Vec<Vec<Attribute>>,
}

impl<'a> Reader<'a> {
    /// No bytes may follow the batch.
    fn finished(&self) -> Result<(), DecodeError> {
        match self.buf.len() - self.pos {
            0 => Ok(()),
            extra => Err(DecodeError::TrailingBytes { extra }),
        }
    }

    /// `count` log records; `lists` is the table of shared lists (the chunk's for version 5,
    /// the batch's before).
    fn logs(
        &mut self,
        version: u8,
        count: usize,
        lists: &mut Vec<Option<SharedAttributes>>,
    ) -> Result<Vec<LogRecord>, DecodeError> {
        let mut logs: Vec<LogRecord> = Vec::with_capacity(count);
        let mut last = LastAttributes::default();
        // The last record with own attributes: a parser's records alternate with lines it
        // did not parse (no own attributes), and the next parsed one repeats its names.
        let mut with_own: Option<usize> = None;
        for _ in 0..count {
            let like = with_own
                .and_then(|i| logs.get(i))
                .map_or(&[][..], |l| l.attributes.own_part());
            let log = self.log(version, &mut last, lists, logs.last(), like)?;
            if !log.attributes.own_part().is_empty() {
                with_own = Some(logs.len());
            }
            logs.push(log);
        }
        Ok(logs)
    }

    fn take(&mut self, n: usize) -> Result<&'a [u8], DecodeError> {
        let end = self.pos.checked_add(n).filter(|&e| e <= self.buf.len());
        let end = end.ok_or(DecodeError::Truncated { offset: self.pos })?;
        let s = &self.buf[self.pos..end];
        self.pos = end;
        Ok(s)
    }

    fn u8(&mut self) -> Result<u8, DecodeError> {
        Ok(self.take(1)?[0])
    }

    fn i64(&mut self) -> Result<i64, DecodeError> {
        let b = self.take(8)?;
        let mut a = [0u8; 8];
        a.copy_from_slice(b);
        Ok(i64::from_le_bytes(a))
    }

    #[inline]
    fn varint(&mut self) -> Result<u64, DecodeError> {
        // Most varints are lengths, counts and markers below 128: one byte.
        if let Some(&b) = self.buf.get(self.pos)
            && b < 0x80
        {
            self.pos += 1;
            return Ok(u64::from(b));
        }
        self.varint_long()
    }

    /// A varint of more than one byte (or a truncated one).
    fn varint_long(&mut self) -> Result<u64, DecodeError> {
        let start = self.pos;
        let mut v: u64 = 0;
        for shift in (0..64).step_by(7) {
            let b = self.u8()?;
            if shift == 63 && b > 1 {
                return Err(DecodeError::Invalid {
                    what: "varint",
                    offset: start,
                });
            }
            v |= u64::from(b & 0x7f) << shift;
            if b & 0x80 == 0 {
                return Ok(v);
            }
        }
        Err(DecodeError::Invalid {
            what: "varint",
            offset: start,
        })
    }

    /// A count or length, bounded by the bytes that remain (every item takes at least one).
    fn len(&mut self) -> Result<usize, DecodeError> {
        let at = self.pos;
        let v = self.varint()?;
        let remaining = (self.buf.len() - self.pos) as u64;
        if v > remaining {
            return Err(DecodeError::Truncated { offset: at });
        }
        // v <= remaining <= usize::MAX, so the cast is lossless.
        Ok(v as usize)
    }

    fn bytes(&mut self) -> Result<&'a [u8], DecodeError> {
        let n = self.len()?;
        self.take(n)
    }

    fn string(&mut self) -> Result<String, DecodeError> {
        let at = self.pos;
        let b = self.bytes()?;
        std::str::from_utf8(b)
            .map(str::to_owned)
            .map_err(|_| DecodeError::Invalid {
                what: "utf-8 string",
                offset: at,
            })
    }

    fn value(&mut self) -> Result<FieldValue, DecodeError> {
        let at = self.pos;
        Ok(match self.u8()? {
            0 => FieldValue::Float(f64::from_bits(self.i64()? as u64)),
            1 => {
                let z = self.varint()?;
                FieldValue::Int(((z >> 1) as i64) ^ -((z & 1) as i64))
            }
            2 => FieldValue::UInt(self.varint()?),
            3 => match self.u8()? {
                0 => FieldValue::Bool(false),
                1 => FieldValue::Bool(true),
                _ => {
                    return Err(DecodeError::Invalid {
                        what: "bool",
                        offset: at + 1,
                    });
                }
            },
            4 => FieldValue::String(self.str_ref()?.into()),
            _ => {
                return Err(DecodeError::Invalid {
                    what: "value type",
                    offset: at,
                });
            }
        })
    }

    /// Version 4 and 5 attributes: a shared list from the table (the batch's in version 4,
    /// the chunk's in version 5), or a new one for it, then the record's own. A record with
    /// only its own list gets it as a shared list, so the records that repeat it (the marker)
    /// share it instead of copying it.
    fn shared_and_own_attributes(
        &mut self,
        version: u8,
        lists: &mut Vec<Option<SharedAttributes>>,
        previous: Option<&LogRecord>,
        like: &[Attribute],
    ) -> Result<Attributes, DecodeError> {
        let at = self.pos;
        let shared = match self.varint()? {
            0 => {
                return previous.map(|p| same_attributes(&p.attributes)).ok_or(
                    DecodeError::Invalid {
                        what: "repeat of attributes with no record before",
                        offset: at,
                    },
                );
            }
            1 => {
                let index = self.varint()?;
                let list = usize::try_from(index)
                    .ok()
                    .and_then(|i| lists.get(i))
                    .and_then(Option::as_ref);
                Some(Arc::clone(list.ok_or(DecodeError::Invalid {
                    what: "attribute list reference",
                    offset: at,
                })?))
            }
            2 => {
                if version >= FORMAT_VERSION && lists.len() >= MAX_CHUNK_LISTS {
                    return Err(DecodeError::Invalid {
                        what: "attribute list past the chunk's limit",
                        offset: at,
                    });
                }
                let list: SharedAttributes = Arc::from(self.attribute_pairs()?);
                lists.push(Some(Arc::clone(&list)));
                Some(list)
            }
            3 => None,
            4 if version >= FORMAT_VERSION => Some(Arc::from(self.attribute_pairs()?)),
            _ => {
                return Err(DecodeError::Invalid {
                    what: "attributes form",
                    offset: at,
                });
            }
        };
        let own = self.attribute_pairs_like(like)?;
        Ok(match shared {
            Some(list) => {
                let mut attributes = Attributes::from_shared(list);
                *attributes.own_mut() = own;
                attributes
            }
            None => Attributes::from_shared(Arc::from(own)),
        })
    }

    /// Version 1 attributes: a record whose encoded list is the previous one's shares it.
    fn v1_attributes(
        &mut self,
        last: &mut LastAttributes<'a>,
    ) -> Result<SharedAttributes, DecodeError> {
        let start = self.pos;
        if let Some(prev) = &last.shared
            && self.buf[start..].starts_with(last.bytes)
        {
            self.pos += last.bytes.len();
            return Ok(Arc::clone(prev));
        }
        let list: SharedAttributes = Arc::from(self.attribute_pairs()?);
        last.bytes = &self.buf[start..self.pos];
        last.shared = Some(Arc::clone(&list));
        Ok(list)
    }

    fn pairs(&mut self) -> Result<Vec<(String, FieldValue)>, DecodeError> {
        let n = self.len()?;
        self.pairs_n_checked(n)
    }

    /// `n` pairs; `n` is at most the bytes that remain (each pair takes at least one).
    fn pairs_n_checked(&mut self, n: usize) -> Result<Vec<(String, FieldValue)>, DecodeError> {
        let mut out = Vec::with_capacity(n);
        for _ in 0..n {
            let k = self.string()?;
            out.push((k, self.value()?));
        }
        Ok(out)
    }

    /// Attribute pairs: a count, then the pairs, names shared through `self.keys`.
    fn attribute_pairs(&mut self) -> Result<Vec<Attribute>, DecodeError> {
        let n = self.len()?;
        self.attribute_pairs_checked(n)
    }

    /// `n` attribute pairs, `n` read as a count plus one (version 2 attributes).
    fn attribute_pairs_n(&mut self, n: u64) -> Result<Vec<Attribute>, DecodeError> {
        let remaining = (self.buf.len() - self.pos) as u64;
        if n > remaining {
            return Err(DecodeError::Truncated { offset: self.pos });
        }
        // n <= remaining <= usize::MAX, so the cast is lossless.
        self.attribute_pairs_checked(n as usize)
    }

    /// `n` attribute pairs (`n` at most the bytes that remain).
    fn attribute_pairs_checked(&mut self, n: usize) -> Result<Vec<Attribute>, DecodeError> {
        let mut out = Vec::with_capacity(n);
        for _ in 0..n {
            let name = self.str_ref()?;
            let k = self.keys.get(name);
            out.push((k, self.value()?));
        }
        Ok(out)
    }

    /// Attribute pairs whose names and values are likely those of `like`, in order: a name
    /// or a string value equal to the one in its place there is copied from it (no UTF-8
    /// check, no lookup).
    ///
    /// The list is a delivered record's own list when one is kept ([`ChunkDecoder::recycle`]):
    /// a string value is written into the string in its place there, reusing its allocation.
    fn attribute_pairs_like(&mut self, like: &[Attribute]) -> Result<Vec<Attribute>, DecodeError> {
        let n = self.len()?;
        if n == 0 {
            return Ok(Vec::new());
        }
        let mut out = self.spare_owns.pop().unwrap_or_default();
        out.truncate(n);
        out.reserve(n - out.len());
        for i in 0..n {
            let at = self.pos;
            let name = self.bytes()?;
            let same = like.get(i);
            let k = match same {
                Some((k, _)) if k.as_bytes() == name => k.clone(),
                _ => {
                    let name = std::str::from_utf8(name).map_err(|_| DecodeError::Invalid {
                        what: "utf-8 string",
                        offset: at,
                    })?;
                    self.keys.get(name)
                }
            };
            let like_text = match same {
                Some((_, FieldValue::String(s))) => Some(s.as_str()),
                _ => None,
            };
            if let Some((slot_key, FieldValue::String(dest))) = out.get_mut(i)
                && self.string_into(like_text, dest)?
            {
                *slot_key = k;
                continue;
            }
            let v = match like_text {
                Some(s) => self.string_like(s)?,
                None => self.value()?,
            };
            match out.get_mut(i) {
                Some(slot) => *slot = (k, v),
                None => out.push((k, v)),
            }
        }
        Ok(out)
    }

    /// A string value written into `dest` (cleared first, its allocation reused; a string
    /// equal to `like` is copied from it unchecked); `Ok(false)`, with nothing read, when the
    /// next value is not a string.
    fn string_into(&mut self, like: Option<&str>, dest: &mut Text) -> Result<bool, DecodeError> {
        if self.buf.get(self.pos) != Some(&4) {
            return Ok(false);
        }
        self.pos += 1;
        let at = self.pos;
        let b = self.bytes()?;
        let text = match like {
            Some(like) if like.as_bytes() == b => like,
            _ => std::str::from_utf8(b).map_err(|_| DecodeError::Invalid {
                what: "utf-8 string",
                offset: at,
            })?,
        };
        dest.clear();
        dest.push_str(text);
        Ok(true)
    }

    /// A value; a string equal to `like` is copied from it.
    fn string_like(&mut self, like: &str) -> Result<FieldValue, DecodeError> {
        let start = self.pos;
        if self.u8()? == 4 {
            let at = self.pos;
            let b = self.bytes()?;
            if b == like.as_bytes() {
                return Ok(FieldValue::String(like.into()));
            }
            return std::str::from_utf8(b)
                .map(|s| FieldValue::String(s.into()))
                .map_err(|_| DecodeError::Invalid {
                    what: "utf-8 string",
                    offset: at,
                });
        }
        self.pos = start;
        self.value()
    }

    /// A string borrowed from the input.
    fn str_ref(&mut self) -> Result<&'a str, DecodeError> {
        let at = self.pos;
        let b = self.bytes()?;
        std::str::from_utf8(b).map_err(|_| DecodeError::Invalid {
            what: "utf-8 string",
            offset: at,
        })
    }

    /// Where the next `n` strings lie (into `spans`, cleared first), unchecked.
    fn string_spans(
        &mut self,
        n: usize,
        spans: &mut Vec<std::ops::Range<usize>>,
    ) -> Result<(), DecodeError> {
        spans.clear();
        for _ in 0..n {
            let len = self.len()?;
            let at = self.pos;
            self.take(len)?;
            spans.push(at..at + len);
        }
        Ok(())
    }

    /// `n` tags (`n` at most the bytes that remain), in any order (untrusted input), made
    /// into one set. A set this build wrote is in order: its strings are copied once into
    /// the set and checked as UTF-8 once, whole; any other is read string by string.
    fn tags_n_checked(&mut self, n: usize, table: &mut SetTable) -> Result<Tags, DecodeError> {
        let start = self.pos;
        if self.string_spans(2 * n, &mut table.strings).is_ok() {
            let buf = self.buf;
            let strings = table.strings.iter().map(|r| &buf[r.clone()]);
            if let Some(tags) = table.builder.build_sorted_raw(n, strings) {
                return Ok(tags);
            }
        }
        // Out of order, or bad: read again string by string, which names the error.
        self.pos = start;
        let builder = &mut table.builder;
        builder.clear();
        for _ in 0..n {
            let k = self.str_ref()?;
            builder.push(k, self.str_ref()?);
        }
        Ok(builder.build())
    }

    /// A tag set of a kind 3 batch: new, as its layout (and added to the batch's `sets`),
    /// or a reference to one.
    fn packed_tag_set(&mut self, table: &mut SetTable) -> Result<Tags, DecodeError> {
        let at = self.pos;
        match self.varint()? {
            0 => self.set_reference(at, table),
            n => {
                let len = self.new_set_len(n, at)?;
                let bytes = self.take(len)?;
                let tags = Tags::from_packed(bytes).ok_or(DecodeError::Invalid {
                    what: "tag set",
                    offset: at,
                })?;
                if !tags.is_empty() {
                    table.sets.push(tags.clone());
                }
                Ok(tags)
            }
        }
    }

    /// The size `n - 1` a new set's marker `n` (read at `at`, not 0) gives, checked
    /// against the bytes that remain.
    fn new_set_len(&self, n: u64, at: usize) -> Result<usize, DecodeError> {
        let remaining = (self.buf.len() - self.pos) as u64;
        if n - 1 > remaining {
            return Err(DecodeError::Truncated { offset: at });
        }
        // n - 1 <= remaining <= usize::MAX, so the cast is lossless.
        Ok((n - 1) as usize)
    }

    /// The batch's `index`-th set (a reference read at `at`).
    fn set_reference(&mut self, at: usize, table: &SetTable) -> Result<Tags, DecodeError> {
        let index = self.varint()?;
        usize::try_from(index)
            .ok()
            .and_then(|i| table.sets.get(i))
            .cloned()
            .ok_or(DecodeError::Invalid {
                what: "tag set reference",
                offset: at,
            })
    }

    /// A version 3 tag set: new (and added to the batch's `sets`) or a reference to one.
    fn tag_set(&mut self, table: &mut SetTable) -> Result<Tags, DecodeError> {
        let at = self.pos;
        match self.varint()? {
            0 => self.set_reference(at, table),
            n => {
                let len = self.new_set_len(n, at)?;
                let tags = self.tags_n_checked(len, table)?;
                if !tags.is_empty() {
                    table.sets.push(tags.clone());
                }
                Ok(tags)
            }
        }
    }

    fn metric(
        &mut self,
        version: u8,
        packed: bool,
        table: &mut SetTable,
    ) -> Result<Metric, DecodeError> {
        let measurement = self.string()?;
        let tags = if packed {
            self.packed_tag_set(table)?
        } else if version >= FORMAT_V3 {
            self.tag_set(table)?
        } else {
            let n = self.len()?;
            self.tags_n_checked(n, table)?
        };
        let fields = self.pairs()?;
        let timestamp = self.i64()?;
        let at = self.pos;
        let kind = match self.u8()? {
            0 => MetricKind::Untyped,
            1 => MetricKind::Counter,
            2 => MetricKind::Gauge,
            3 => MetricKind::Histogram,
            4 => MetricKind::Summary,
            _ => {
                return Err(DecodeError::Invalid {
                    what: "metric kind",
                    offset: at,
                });
            }
        };
        Ok(Metric {
            measurement,
            tags,
            fields,
            timestamp,
            kind,
        })
    }

    fn log(
        &mut self,
        version: u8,
        last: &mut LastAttributes<'a>,
        lists: &mut Vec<Option<SharedAttributes>>,
        previous: Option<&LogRecord>,
        like: &[Attribute],
    ) -> Result<LogRecord, DecodeError> {
        let timestamp = self.i64()?;
        let at = self.pos;
        let stream = match self.u8()? {
            0 => Stream::Unknown,
            1 => Stream::Stdout,
            2 => Stream::Stderr,
            _ => {
                return Err(DecodeError::Invalid {
                    what: "stream",
                    offset: at,
                });
            }
        };
        let bytes = self.bytes()?;
        let body = match self.spare_bodies.pop() {
            Some(mut body) => {
                body.clear();
                body.extend_from_slice(bytes);
                body
            }
            None => bytes.to_vec(),
        };
        if version >= FORMAT_V4 {
            let attributes = self.shared_and_own_attributes(version, lists, previous, like)?;
            return Ok(LogRecord {
                timestamp,
                body,
                stream,
                attributes,
            });
        }
        let shared = if version == FORMAT_V1 {
            self.v1_attributes(last)?
        } else {
            let at = self.pos;
            match self.varint()? {
                0 => last.shared.clone().ok_or(DecodeError::Invalid {
                    what: "repeat of attributes with no record before",
                    offset: at,
                })?,
                n => {
                    let list: SharedAttributes = Arc::from(self.attribute_pairs_n(n - 1)?);
                    last.shared = Some(Arc::clone(&list));
                    list
                }
            }
        };
        let attributes = Attributes::from_shared(shared);
        Ok(LogRecord {
            timestamp,
            body,
            stream,
            attributes,
        })
    }
}

#[cfg(test)]
mod tests;
