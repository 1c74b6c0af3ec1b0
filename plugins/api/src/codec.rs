//! The buffer's binary encoding of a [`Batch`]: compact, versioned, and safe to decode from
//! untrusted bytes.
//!
//! Layout (all integers little-endian; `varint` is LEB128, `zigzag` maps signed to unsigned):
//!
//! ```text
//! batch   := version:u8 (=4) kind:u8 (3 metrics | 2 logs | 1 metrics, still read) count:varint event*
//! metric  := str(measurement) tagset varint(nfields) (str value)* timestamp:i64 metric_kind:u8
//! tagset  := varint(0) varint(index)          the batch's index-th tag set written before
//!          | varint(len + 1) packed           a new set as its layout (`Tags::packed`,
//!                                             `len` bytes), the batch's next index
//! tagset1 := varint(0) varint(index)          (kind 1) a set written before
//!          | varint(ntags + 1) (str str)*     (kind 1) a new set, string by string
//! log     := timestamp:i64 stream:u8 bytes(body) attrs
//! attrs   := varint(0)                        the previous record's attributes again
//!          | varint(1) varint(index) own      the batch's index-th shared list written before
//!          | varint(2) varint(n) (str value)* own   a new shared list, the batch's next index
//!          | varint(3) own                    no shared list, only the record's own
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
//! Metrics of one series share one [`Tags`] set, and a batch often holds a series more than
//! once (several scrapes, or `up` and the other synthetic series of a target), so version 3
//! writes each shared set once per batch and refers back to it by index; the decoder hands
//! every metric of a set the same shared [`Tags`]. Versions 1 and 2 wrote every metric's
//! tags (`varint(ntags) (str str)*`) and are still read.
//!
//! Metrics batches of kind 3 write a new set as its layout, whole (one copy each way: the
//! decoder checks the layout in one walk and one UTF-8 check, `Tags::from_packed`, instead
//! of reading and assembling twice as many strings); kind 1 batches (string by string)
//! are still read. The kind, not the version, tells them apart, so log frames are untouched.
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
    MetricKind, SharedAttributes, Stream, Tags, TagsBuilder,
};

/// The format version written by [`encode_batch`].
pub const FORMAT_VERSION: u8 = 4;

/// The first version, still read.
const FORMAT_V1: u8 = 1;

/// The version with each metric's own tags and shared log attributes, still read.
const FORMAT_V2: u8 = 2;

/// The version with shared tag sets and whole log attribute lists, still read.
const FORMAT_V3: u8 = 3;

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

/// Appends the encoding of `batch` to `out`.
pub fn encode_batch(batch: &Batch, out: &mut Vec<u8>) {
    out.push(FORMAT_VERSION);
    match batch {
        Batch::Metrics(metrics) => {
            out.push(KIND_METRICS_PACKED);
            put_varint(out, metrics.len() as u64);
            // Each shared set written, by identity (the batch keeps the sets alive), and the
            // index it has in the batch.
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
            // Each shared list written, by address (the batch keeps the lists alive), and
            // its index in the batch; the last one looked up, which the next record of a
            // file usually repeats.
            let mut lists: HashMap<usize, u64> = HashMap::new();
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
                        let id = Arc::as_ptr(list).cast::<()>() as usize;
                        let seen = match last_list {
                            Some((l, index)) if l == id => Some(index),
                            _ => lists.get(&id).copied(),
                        };
                        if let Some(index) = seen {
                            put_varint(out, 1);
                            put_varint(out, index);
                            last_list = Some((id, index));
                        } else {
                            let index = lists.len() as u64;
                            lists.insert(id, index);
                            last_list = Some((id, index));
                            new_list = true;
                            put_varint(out, 2);
                            put_varint(out, list.len() as u64);
                            for (k, v) in list.iter() {
                                put_pair(out, k, v);
                            }
                        }
                    }
                    None => put_varint(out, 3),
                }
                let own = l.attributes.own_part();
                put_varint(out, own.len() as u64);
                for (k, v) in own {
                    put_pair(out, k, v);
                }
                // Equal to what the previous record wrote (its own list again, or the same
                // shared list and equal own ones): the repeat marker. Not for a new shared
                // list, which the decoder must add to its table.
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
}

/// Decodes one whole batch; the input must hold exactly one.
pub fn decode_batch(bytes: &[u8]) -> Result<Batch, DecodeError> {
    decode(bytes)
}

fn decode(bytes: &[u8]) -> Result<Batch, DecodeError> {
    let mut r = Reader {
        buf: bytes,
        pos: 0,
        keys: KeyCache::new(),
    };
    let version = r.u8()?;
    if !matches!(version, FORMAT_V1 | FORMAT_V2 | FORMAT_V3 | FORMAT_VERSION) {
        return Err(DecodeError::UnsupportedVersion { version });
    }
    let kind_at = r.pos;
    let kind = r.u8()?;
    let count = r.len()?;
    let batch = match kind {
        KIND_METRICS | KIND_METRICS_PACKED => {
            let mut metrics = Vec::with_capacity(count);
            let mut sets = SetTable::default();
            let packed = kind == KIND_METRICS_PACKED;
            if packed && version != FORMAT_VERSION {
                return Err(DecodeError::Invalid {
                    what: "batch kind",
                    offset: kind_at,
                });
            }
            for _ in 0..count {
                metrics.push(r.metric(version, packed, &mut sets)?);
            }
            Batch::Metrics(metrics)
        }
        KIND_LOGS => {
            let mut logs = Vec::with_capacity(count);
            let mut last = LastAttributes::default();
            let mut lists: Vec<SharedAttributes> = Vec::new();
            for _ in 0..count {
                let log = r.log(version, &mut last, &mut lists, logs.last())?;
                logs.push(log);
            }
            Batch::Logs(logs)
        }
        _ => {
            return Err(DecodeError::Invalid {
                what: "batch kind",
                offset: kind_at,
            });
        }
    };
    let extra = bytes.len() - r.pos;
    if extra != 0 {
        return Err(DecodeError::TrailingBytes { extra });
    }
    Ok(batch)
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
}

impl<'a> Reader<'a> {
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

    fn varint(&mut self) -> Result<u64, DecodeError> {
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
            4 => FieldValue::String(self.string()?),
            _ => {
                return Err(DecodeError::Invalid {
                    what: "value type",
                    offset: at,
                });
            }
        })
    }

    /// Version 4 attributes: a shared list from the batch's table (or a new one for it), then
    /// the record's own. A record with only its own list gets it as a shared list, so the
    /// records that repeat it (the marker) share it instead of copying it.
    fn v4_attributes(
        &mut self,
        lists: &mut Vec<SharedAttributes>,
        previous: Option<&LogRecord>,
    ) -> Result<Attributes, DecodeError> {
        let at = self.pos;
        let shared = match self.varint()? {
            0 => {
                return previous
                    .map(|p| p.attributes.clone())
                    .ok_or(DecodeError::Invalid {
                        what: "repeat of attributes with no record before",
                        offset: at,
                    });
            }
            1 => {
                let index = self.varint()?;
                let list = usize::try_from(index).ok().and_then(|i| lists.get(i));
                Some(Arc::clone(list.ok_or(DecodeError::Invalid {
                    what: "attribute list reference",
                    offset: at,
                })?))
            }
            2 => {
                let list: SharedAttributes = Arc::from(self.attribute_pairs()?);
                lists.push(Arc::clone(&list));
                Some(list)
            }
            3 => None,
            _ => {
                return Err(DecodeError::Invalid {
                    what: "attributes form",
                    offset: at,
                });
            }
        };
        let own = self.attribute_pairs()?;
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
                let remaining = (self.buf.len() - self.pos) as u64;
                if n - 1 > remaining {
                    return Err(DecodeError::Truncated { offset: at });
                }
                // n - 1 <= remaining <= usize::MAX, so the cast is lossless.
                let bytes = self.take((n - 1) as usize)?;
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
                let remaining = (self.buf.len() - self.pos) as u64;
                if n - 1 > remaining {
                    return Err(DecodeError::Truncated { offset: at });
                }
                // n - 1 <= remaining <= usize::MAX, so the cast is lossless.
                let tags = self.tags_n_checked((n - 1) as usize, table)?;
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
        lists: &mut Vec<SharedAttributes>,
        previous: Option<&LogRecord>,
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
        let body = self.bytes()?.to_vec();
        if version >= FORMAT_VERSION {
            let attributes = self.v4_attributes(lists, previous)?;
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
