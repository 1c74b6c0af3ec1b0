//! Protobuf wire primitives for the hand-written OTLP log codecs (`outputs.otlp` writes a
//! request straight from log records, `inputs.otlp` reads one straight into them): varints,
//! length-delimited fields, and a reader of (field number, value) pairs that skips what it
//! does not know as protobuf requires (groups included). Encodings follow
//! <https://protobuf.dev/programming-guides/encoding/>; the owned messages of `proto.rs`,
//! encoded by prost, are the reference both codecs are tested against byte for byte.

/// Wire type of a varint.
pub const VARINT: u8 = 0;
/// Wire type of a fixed 64-bit value.
pub const I64: u8 = 1;
/// Wire type of a length-delimited value.
pub const LEN: u8 = 2;
/// Wire type of a fixed 32-bit value.
pub const I32: u8 = 5;

/// The one-byte key of field `number` (< 16) with wire type `wire`.
pub const fn key(number: u8, wire: u8) -> u8 {
    number << 3 | wire
}

/// Bytes a varint of `v` takes.
pub const fn varint_len(v: u64) -> usize {
    // 1 byte per 7 bits; 0 still takes one byte.
    (64 - (v | 1).leading_zeros() as usize).div_ceil(7)
}

/// Appends `v` as a varint.
pub fn put_varint(buf: &mut Vec<u8>, mut v: u64) {
    while v >= 0x80 {
        buf.push((v as u8) | 0x80);
        v >>= 7;
    }
    buf.push(v as u8);
}

/// Bytes a length-delimited field of `len` bytes takes with its one-byte key.
pub const fn nested_len(len: usize) -> usize {
    1 + varint_len(len as u64) + len
}

/// Appends the key and length of a length-delimited field (its bytes follow).
pub fn put_len(buf: &mut Vec<u8>, key: u8, len: usize) {
    buf.push(key);
    put_varint(buf, len as u64);
}

/// Appends a length-delimited field.
pub fn put_bytes(buf: &mut Vec<u8>, key: u8, bytes: &[u8]) {
    put_len(buf, key, bytes.len());
    buf.extend_from_slice(bytes);
}

/// Bytes a proto3 string or bytes field takes (0 when empty: left out).
pub const fn str_len(s: &[u8]) -> usize {
    if s.is_empty() { 0 } else { nested_len(s.len()) }
}

/// Appends a proto3 string or bytes field unless it is empty.
pub fn put_str(buf: &mut Vec<u8>, key: u8, s: &[u8]) {
    if !s.is_empty() {
        put_bytes(buf, key, s);
    }
}

/// A malformed message.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum WireError {
    /// The message ends inside a value.
    #[error("truncated message")]
    Truncated,
    /// A varint longer than ten bytes.
    #[error("invalid varint")]
    Varint,
    /// Wire type 6 or 7, field number 0, or an unmatched end of group.
    #[error("invalid key {0}")]
    Key(u64),
    /// Groups nested deeper than protobuf's recursion limit.
    #[error("groups nested too deeply")]
    Depth,
    /// A string field that is not UTF-8.
    #[error("invalid string value: data is not UTF-8 encoded")]
    Utf8,
    /// A value of the wrong wire type for a known field.
    #[error("field {field}: wire type {wire} where {expected} was expected")]
    WireType {
        /// The field number.
        field: u32,
        /// The wire type found.
        wire: u8,
        /// The wire type the field has.
        expected: u8,
    },
}

/// One field's value.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Value<'a> {
    /// Wire type 0.
    Varint(u64),
    /// Wire type 1.
    I64(u64),
    /// Wire type 2.
    Len(&'a [u8]),
    /// Wire type 5.
    I32(u32),
}

impl<'a> Value<'a> {
    fn wire(&self) -> u8 {
        match self {
            Value::Varint(_) => VARINT,
            Value::I64(_) => I64,
            Value::Len(_) => LEN,
            Value::I32(_) => I32,
        }
    }

    fn expect(&self, field: u32, expected: u8) -> WireError {
        WireError::WireType {
            field,
            wire: self.wire(),
            expected,
        }
    }

    /// The value of a varint field.
    pub fn varint(self, field: u32) -> Result<u64, WireError> {
        match self {
            Value::Varint(v) => Ok(v),
            other => Err(other.expect(field, VARINT)),
        }
    }

    /// The value of a fixed 64-bit field.
    pub fn fixed64(self, field: u32) -> Result<u64, WireError> {
        match self {
            Value::I64(v) => Ok(v),
            other => Err(other.expect(field, I64)),
        }
    }

    /// The value of a fixed 32-bit field.
    pub fn fixed32(self, field: u32) -> Result<u32, WireError> {
        match self {
            Value::I32(v) => Ok(v),
            other => Err(other.expect(field, I32)),
        }
    }

    /// The bytes of a length-delimited field.
    pub fn bytes(self, field: u32) -> Result<&'a [u8], WireError> {
        match self {
            Value::Len(b) => Ok(b),
            other => Err(other.expect(field, LEN)),
        }
    }

    /// The text of a string field.
    pub fn string(self, field: u32) -> Result<&'a str, WireError> {
        std::str::from_utf8(self.bytes(field)?).map_err(|_| WireError::Utf8)
    }
}

/// protobuf's recursion limit (prost's too).
const MAX_DEPTH: u32 = 100;

/// Reads the fields of one message in order.
#[derive(Debug, Clone)]
pub struct Reader<'a> {
    rest: &'a [u8],
}

impl<'a> Reader<'a> {
    /// A reader of the message `bytes`.
    pub const fn new(bytes: &'a [u8]) -> Self {
        Reader { rest: bytes }
    }

    fn varint(&mut self) -> Result<u64, WireError> {
        let mut v = 0u64;
        for (i, &b) in self.rest.iter().enumerate().take(10) {
            v |= u64::from(b & 0x7f) << (7 * i);
            if b < 0x80 {
                if i == 9 && b > 1 {
                    return Err(WireError::Varint);
                }
                self.rest = &self.rest[i + 1..];
                return Ok(v);
            }
        }
        Err(if self.rest.len() < 10 {
            WireError::Truncated
        } else {
            WireError::Varint
        })
    }

    fn take(&mut self, n: usize) -> Result<&'a [u8], WireError> {
        if self.rest.len() < n {
            return Err(WireError::Truncated);
        }
        let (head, rest) = self.rest.split_at(n);
        self.rest = rest;
        Ok(head)
    }

    fn key(&mut self) -> Result<(u32, u8), WireError> {
        let k = self.varint()?;
        let wire = (k & 7) as u8;
        let field = k >> 3;
        if field == 0 || field > u64::from(u32::MAX >> 3) || wire > I32 {
            return Err(WireError::Key(k));
        }
        Ok((field as u32, wire))
    }

    /// Skips a group whose start key was just read (up to its end key).
    fn skip_group(&mut self, field: u32, depth: u32) -> Result<(), WireError> {
        if depth >= MAX_DEPTH {
            return Err(WireError::Depth);
        }
        loop {
            if self.rest.is_empty() {
                return Err(WireError::Truncated);
            }
            let (f, wire) = self.key()?;
            match wire {
                3 => self.skip_group(f, depth + 1)?,
                4 if f == field => return Ok(()),
                4 => return Err(WireError::Key(u64::from(f) << 3 | 4)),
                _ => {
                    self.value(wire)?;
                }
            }
        }
    }

    fn value(&mut self, wire: u8) -> Result<Value<'a>, WireError> {
        Ok(match wire {
            VARINT => Value::Varint(self.varint()?),
            I64 => {
                let b = self.take(8)?;
                Value::I64(u64::from_le_bytes(
                    b.try_into().map_err(|_| WireError::Truncated)?,
                ))
            }
            LEN => {
                let n = self.varint()?;
                let n = usize::try_from(n).map_err(|_| WireError::Truncated)?;
                Value::Len(self.take(n)?)
            }
            _ => {
                let b = self.take(4)?;
                Value::I32(u32::from_le_bytes(
                    b.try_into().map_err(|_| WireError::Truncated)?,
                ))
            }
        })
    }

    /// The next field (groups, which no OTLP field is, are skipped), or `None` at the end.
    ///
    /// # Errors
    /// When the message is malformed.
    pub fn next_field(&mut self) -> Result<Option<(u32, Value<'a>)>, WireError> {
        loop {
            if self.rest.is_empty() {
                return Ok(None);
            }
            let (field, wire) = self.key()?;
            match wire {
                3 => self.skip_group(field, 1)?,
                4 => return Err(WireError::Key(u64::from(field) << 3 | 4)),
                _ => return Ok(Some((field, self.value(wire)?))),
            }
        }
    }
}

#[cfg(test)]
mod tests;
