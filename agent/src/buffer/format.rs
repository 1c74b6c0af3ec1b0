//! The chunk file format, pure: header, record frames and the seal footer.
//!
//! ```text
//! chunk   := header frame* footer?
//! header  := magic "GLNRCHNK" (8) | version u16 (=1) | reserved u16 | created_ns i64
//!            | crc32 of the 20 bytes before it (u32)                          = 24 bytes
//! frame   := len u32 | crc32(payload) u32 | payload (an encoded Batch, gleaner_api::codec)
//! footer  := 0xFFFF_FFFF u32 | crc32(body) u32 | body := records u32, events u64, data_end u64
//! ```
//!
//! All integers are little-endian. A chunk with a footer is sealed: nothing follows it and any
//! bad frame inside is corruption. A chunk without a footer was being written when the agent
//! stopped: an incomplete or bad *last* frame is a torn write (never acknowledged, because
//! acknowledgements follow fsync) and is truncated away; a bad frame followed by more data is
//! corruption.

/// The 8 magic bytes at the start of every chunk.
pub const MAGIC: &[u8; 8] = b"GLNRCHNK";
/// The chunk format version this build writes and reads.
pub const VERSION: u16 = 1;
/// Size of the header.
pub const HEADER_LEN: usize = 24;
/// Size of a frame's length and CRC.
pub const FRAME_OVERHEAD: usize = 8;
/// Size of the footer.
pub const FOOTER_LEN: usize = 8 + 20;
/// Largest payload a frame may carry (the length field's sentinel is the footer).
pub const MAX_PAYLOAD: usize = 256 * 1024 * 1024;

const FOOTER_MARK: u32 = u32::MAX;

/// Appends a header.
pub fn write_header(out: &mut Vec<u8>, created_ns: i64) {
    let start = out.len();
    out.extend_from_slice(MAGIC);
    out.extend_from_slice(&VERSION.to_le_bytes());
    out.extend_from_slice(&0u16.to_le_bytes());
    out.extend_from_slice(&created_ns.to_le_bytes());
    let crc = crc32fast::hash(&out[start..]);
    out.extend_from_slice(&crc.to_le_bytes());
}

/// Appends one frame around `payload`.
///
/// # Panics
/// When `payload` is larger than [`MAX_PAYLOAD`] (the buffer never builds such a batch).
pub fn write_frame(out: &mut Vec<u8>, payload: &[u8]) {
    assert!(
        payload.len() <= MAX_PAYLOAD,
        "frame payload of {} bytes",
        payload.len()
    );
    out.extend_from_slice(&(payload.len() as u32).to_le_bytes());
    out.extend_from_slice(&crc32fast::hash(payload).to_le_bytes());
    out.extend_from_slice(payload);
}

/// Appends the seal footer for a chunk of `records` frames holding `events` events, whose
/// frames end at `data_end`.
pub fn write_footer(out: &mut Vec<u8>, records: u32, events: u64, data_end: u64) {
    let mut body = [0u8; 20];
    body[..4].copy_from_slice(&records.to_le_bytes());
    body[4..12].copy_from_slice(&events.to_le_bytes());
    body[12..].copy_from_slice(&data_end.to_le_bytes());
    out.extend_from_slice(&FOOTER_MARK.to_le_bytes());
    out.extend_from_slice(&crc32fast::hash(&body).to_le_bytes());
    out.extend_from_slice(&body);
}

/// Why a chunk's header is unusable.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum HeaderError {
    /// Shorter than a header.
    #[error("chunk shorter than its header ({len} bytes)")]
    Short {
        /// Bytes present.
        len: usize,
    },
    /// Not a chunk.
    #[error("bad magic")]
    BadMagic,
    /// Written by a newer build.
    #[error("unsupported chunk version {0}")]
    Version(u16),
    /// Header bytes damaged.
    #[error("header checksum mismatch")]
    BadCrc,
}

/// Reads a header; returns the creation time.
pub fn read_header(bytes: &[u8]) -> Result<i64, HeaderError> {
    if bytes.len() < HEADER_LEN {
        return Err(HeaderError::Short { len: bytes.len() });
    }
    if &bytes[..8] != MAGIC {
        return Err(HeaderError::BadMagic);
    }
    let crc = u32::from_le_bytes([bytes[20], bytes[21], bytes[22], bytes[23]]);
    if crc32fast::hash(&bytes[..20]) != crc {
        return Err(HeaderError::BadCrc);
    }
    let version = u16::from_le_bytes([bytes[8], bytes[9]]);
    if version != VERSION {
        return Err(HeaderError::Version(version));
    }
    let mut ts = [0u8; 8];
    ts.copy_from_slice(&bytes[12..20]);
    Ok(i64::from_le_bytes(ts))
}

/// What a scan of a whole chunk found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Scan {
    /// Creation time from the header.
    pub created_ns: i64,
    /// Byte ranges of each valid frame's payload, in order.
    pub payloads: Vec<std::ops::Range<usize>>,
    /// End of the last valid frame.
    pub data_end: usize,
    /// How the chunk ends.
    pub end: ScanEnd,
}

/// How a scanned chunk ends.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ScanEnd {
    /// A valid footer matching the frames: complete and immutable.
    Sealed {
        /// Events recorded in the footer.
        events: u64,
    },
    /// No footer; every byte after the header is a valid frame (a chunk being written).
    Open,
    /// No footer; the bytes from `data_end` to the end are an incomplete or damaged last
    /// frame: truncate them.
    Torn {
        /// Bytes to cut.
        garbage: usize,
    },
    /// Damage that is not a torn write: move the chunk aside.
    Corrupt {
        /// Where the damage starts.
        offset: usize,
        /// What is wrong.
        reason: &'static str,
    },
}

/// True when the chunk ends with a well-formed footer: it was sealed, so damage anywhere
/// inside it is corruption, never a torn write.
fn ends_with_footer(bytes: &[u8]) -> bool {
    if bytes.len() < HEADER_LEN + FOOTER_LEN {
        return false;
    }
    let f = &bytes[bytes.len() - FOOTER_LEN..];
    let mark = u32::from_le_bytes([f[0], f[1], f[2], f[3]]);
    let crc = u32::from_le_bytes([f[4], f[5], f[6], f[7]]);
    mark == FOOTER_MARK && crc32fast::hash(&f[8..]) == crc
}

/// Scans a whole chunk. Never panics, whatever the bytes.
pub fn scan(bytes: &[u8]) -> Result<Scan, HeaderError> {
    let created_ns = read_header(bytes)?;
    let sealed = ends_with_footer(bytes);
    // A footer mark in the footer's place, even with a damaged footer: the chunk was sealed,
    // so a frame that looks cut short before it is damage, not a torn write.
    let footer_place = bytes
        .len()
        .checked_sub(FOOTER_LEN)
        .filter(|&p| p >= HEADER_LEN);
    let mark_at_end = footer_place.is_some_and(|p| bytes[p..p + 4] == FOOTER_MARK.to_le_bytes());
    let mut pos = HEADER_LEN;
    let mut payloads = Vec::new();
    // The scan stopped in a footer cut short: a torn seal, whatever bytes stand in the
    // footer's place (a payload ending in 0xFF bytes can put a footer mark there by chance).
    let mut torn_footer = false;
    let end = loop {
        let rest = &bytes[pos..];
        if rest.is_empty() {
            break ScanEnd::Open;
        }
        if rest.len() < FRAME_OVERHEAD {
            break ScanEnd::Torn {
                garbage: rest.len(),
            };
        }
        let len = u32::from_le_bytes([rest[0], rest[1], rest[2], rest[3]]);
        let crc = u32::from_le_bytes([rest[4], rest[5], rest[6], rest[7]]);
        if len == FOOTER_MARK {
            if rest.len() < FOOTER_LEN {
                torn_footer = true;
                break ScanEnd::Torn {
                    garbage: rest.len(),
                };
            }
            let body = &rest[8..FOOTER_LEN];
            let records = u32::from_le_bytes([body[0], body[1], body[2], body[3]]) as usize;
            let mut word = [0u8; 8];
            word.copy_from_slice(&body[4..12]);
            let events = u64::from_le_bytes(word);
            word.copy_from_slice(&body[12..20]);
            let data_end = u64::from_le_bytes(word);
            let ok = crc32fast::hash(body) == crc
                && records == payloads.len()
                && data_end == pos as u64
                && rest.len() == FOOTER_LEN;
            if ok {
                break ScanEnd::Sealed { events };
            }
            if rest.len() == FOOTER_LEN && crc32fast::hash(body) != crc {
                // A footer whose bytes did not all reach the disk.
                break ScanEnd::Torn {
                    garbage: rest.len(),
                };
            }
            break ScanEnd::Corrupt {
                offset: pos,
                reason: "footer does not match the frames",
            };
        }
        let len = len as usize;
        if len > MAX_PAYLOAD {
            break if pos + FRAME_OVERHEAD + len > bytes.len() {
                ScanEnd::Torn {
                    garbage: rest.len(),
                }
            } else {
                ScanEnd::Corrupt {
                    offset: pos,
                    reason: "frame length out of range",
                }
            };
        }
        let frame_end = pos + FRAME_OVERHEAD + len;
        if frame_end > bytes.len() {
            break ScanEnd::Torn {
                garbage: rest.len(),
            };
        }
        let payload = pos + FRAME_OVERHEAD..frame_end;
        if crc32fast::hash(&bytes[payload.clone()]) != crc {
            break if frame_end == bytes.len() {
                ScanEnd::Torn {
                    garbage: rest.len(),
                }
            } else {
                ScanEnd::Corrupt {
                    offset: pos,
                    reason: "frame checksum mismatch",
                }
            };
        }
        payloads.push(payload);
        pos = frame_end;
    };
    let end = match end {
        ScanEnd::Torn { .. } if mark_at_end && Some(pos) != footer_place && !torn_footer => {
            ScanEnd::Corrupt {
                offset: pos,
                reason: "damaged frame before a footer",
            }
        }
        ScanEnd::Torn { .. } | ScanEnd::Open if sealed => ScanEnd::Corrupt {
            offset: pos,
            reason: "damaged frame in a sealed chunk",
        },
        e => e,
    };
    Ok(Scan {
        created_ns,
        payloads,
        data_end: pos,
        end,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn chunk(payloads: &[Vec<u8>], sealed: bool) -> Vec<u8> {
        let mut out = Vec::new();
        write_header(&mut out, 42);
        for p in payloads {
            write_frame(&mut out, p);
        }
        if sealed {
            let end = out.len() as u64;
            write_footer(&mut out, payloads.len() as u32, 7, end);
        }
        out
    }

    #[test]
    fn a_footer_cut_short_is_torn_even_when_a_payload_ends_in_ff_bytes() {
        // The last payload's final 0xFF and the footer mark's first three bytes read as a
        // footer mark one byte before the footer's place in a prefix that cuts the footer's
        // last byte: still a torn seal (truncate it, keep both frames), not corruption (found by
        // every_prefix_scans_to_a_prefix_of_the_frames).
        let ps = vec![vec![0u8; 10], vec![0, 0, 0, 255]];
        let full = chunk(&ps, true);
        for cut in full.len() - FOOTER_LEN + 1..full.len() {
            let s = scan(&full[..cut]).expect("header");
            assert_eq!(s.payloads.len(), 2, "cut at {cut}");
            assert_eq!(
                s.end,
                ScanEnd::Torn {
                    garbage: cut - s.data_end
                },
                "cut at {cut}"
            );
        }
        assert_eq!(
            scan(&full).expect("header").end,
            ScanEnd::Sealed { events: 7 }
        );
    }

    #[test]
    fn round_trip_open_and_sealed() {
        let ps = vec![b"one".to_vec(), vec![], b"three".to_vec()];
        for sealed in [false, true] {
            let bytes = chunk(&ps, sealed);
            let s = scan(&bytes).unwrap();
            assert_eq!(s.created_ns, 42);
            let got: Vec<&[u8]> = s.payloads.iter().map(|r| &bytes[r.clone()]).collect();
            assert_eq!(got, ps.iter().map(Vec::as_slice).collect::<Vec<_>>());
            assert_eq!(
                s.end,
                if sealed {
                    ScanEnd::Sealed { events: 7 }
                } else {
                    ScanEnd::Open
                }
            );
        }
    }

    #[test]
    fn header_errors() {
        assert_eq!(scan(b"short"), Err(HeaderError::Short { len: 5 }));
        let mut b = chunk(&[], false);
        b[0] = b'X';
        assert_eq!(scan(&b), Err(HeaderError::BadMagic));
        let mut b = chunk(&[], false);
        b[13] ^= 1;
        assert_eq!(scan(&b), Err(HeaderError::BadCrc));
    }

    #[test]
    fn torn_last_frame_vs_corrupt_middle() {
        let ps = vec![b"aaaa".to_vec(), b"bbbb".to_vec()];
        let full = chunk(&ps, false);
        // cut inside the last frame
        let s = scan(&full[..full.len() - 2]).unwrap();
        assert_eq!(s.payloads.len(), 1);
        assert!(matches!(s.end, ScanEnd::Torn { garbage: 10 }));
        // damage the last frame's payload
        let mut b = full.clone();
        let n = b.len();
        b[n - 1] ^= 0xff;
        assert!(matches!(scan(&b).unwrap().end, ScanEnd::Torn { .. }));
        // damage the first frame's payload: more data follows, so corruption
        let mut b = full.clone();
        b[HEADER_LEN + FRAME_OVERHEAD] ^= 0xff;
        assert!(matches!(scan(&b).unwrap().end, ScanEnd::Corrupt { .. }));
        // damage in a sealed chunk's last frame is corruption, not a torn write
        let mut b = chunk(&ps, true);
        let last = b.len() - FOOTER_LEN - 1;
        b[last] ^= 0xff;
        assert!(matches!(scan(&b).unwrap().end, ScanEnd::Corrupt { .. }));
    }

    proptest! {
        #[test]
        fn scan_never_panics(bytes in proptest::collection::vec(any::<u8>(), 0..200)) {
            let mut b = chunk(&[], false);
            b.extend_from_slice(&bytes);
            drop(scan(&b));
        }

        #[test]
        fn every_prefix_scans_to_a_prefix_of_the_frames(
            ps in proptest::collection::vec(proptest::collection::vec(any::<u8>(), 0..20), 0..6),
            sealed in any::<bool>(),
            cut in any::<prop::sample::Index>(),
        ) {
            let full = chunk(&ps, sealed);
            let cut = HEADER_LEN + cut.index(full.len() - HEADER_LEN + 1);
            let s = scan(&full[..cut]).unwrap();
            prop_assert!(s.payloads.len() <= ps.len());
            for (r, p) in s.payloads.iter().zip(&ps) {
                prop_assert_eq!(&full[r.clone()], p.as_slice());
            }
            prop_assert!(!matches!(s.end, ScanEnd::Corrupt { .. }), "{:?}", s.end);
        }
    }
}
