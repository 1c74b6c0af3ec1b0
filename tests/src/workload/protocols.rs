//! What the counting receivers read out of a request body, as fast as a byte scan allows:
//! the `sq=<n>` sequence ids of log records (in Splunk HEC JSON or line protocol, whatever
//! the escaping around them), and the series and timestamps of a Prometheus remote-write
//! request (protobuf `prometheus.WriteRequest`, remote write 1.0; decoded by hand, field
//! numbers from prometheus/prompb/types.proto and remote.proto).

/// Appends every `sq=<digits>` id found in `body` to `out`.
pub fn scan_seq_ids(body: &[u8], out: &mut Vec<u64>) {
    let mut i = 0;
    let finder = memchr::memmem::Finder::new(b"sq=");
    while let Some(p) = finder.find(&body[i..]) {
        let mut j = i + p + 3;
        let mut n: u64 = 0;
        let start = j;
        while j < body.len() && body[j].is_ascii_digit() {
            n = n.wrapping_mul(10).wrapping_add(u64::from(body[j] - b'0'));
            j += 1;
        }
        if j > start {
            out.push(n);
        }
        i = j;
    }
}

/// One time series of a write request: labels (in the request's order) and samples
/// (value, timestamp in ms).
#[derive(Debug, Default)]
pub struct Series<'a> {
    /// Label names and values.
    pub labels: Vec<(&'a [u8], &'a [u8])>,
    /// Samples.
    pub samples: Vec<(f64, i64)>,
}

impl Series<'_> {
    /// The `__name__` label's value.
    pub fn name(&self) -> &[u8] {
        self.labels
            .iter()
            .find(|(k, _)| *k == b"__name__")
            .map_or(&b""[..], |(_, v)| v)
    }
}

/// Calls `f` for each series of a decoded (snappy-inflated) `WriteRequest`.
pub fn each_series<'a>(buf: &'a [u8], mut f: impl FnMut(&Series<'a>)) -> Result<(), String> {
    let mut series = Series::default();
    walk(buf, |field, v| {
        if let (1, Value::Len(ts)) = (field, v) {
            series.labels.clear();
            series.samples.clear();
            walk(ts, |field, v| {
                match (field, v) {
                    (1, Value::Len(label)) => {
                        let (mut name, mut value) = (&b""[..], &b""[..]);
                        walk(label, |field, v| {
                            match (field, v) {
                                (1, Value::Len(s)) => name = s,
                                (2, Value::Len(s)) => value = s,
                                _ => {}
                            }
                            Ok(())
                        })?;
                        series.labels.push((name, value));
                    }
                    (2, Value::Len(sample)) => {
                        let (mut value, mut ts) = (0.0, 0);
                        walk(sample, |field, v| {
                            match (field, v) {
                                (1, Value::Fixed64(bits)) => value = f64::from_bits(bits),
                                (2, Value::Varint(n)) => ts = n as i64,
                                _ => {}
                            }
                            Ok(())
                        })?;
                        series.samples.push((value, ts));
                    }
                    _ => {}
                }
                Ok(())
            })?;
            f(&series);
        }
        Ok(())
    })
}

enum Value<'a> {
    Varint(u64),
    Fixed64(u64),
    Len(&'a [u8]),
    Fixed32,
}

fn varint(buf: &[u8], pos: &mut usize) -> Result<u64, String> {
    let mut n = 0u64;
    for shift in (0..64).step_by(7) {
        let b = *buf.get(*pos).ok_or("truncated varint")?;
        *pos += 1;
        n |= u64::from(b & 0x7f) << shift;
        if b & 0x80 == 0 {
            return Ok(n);
        }
    }
    Err("varint too long".into())
}

fn walk<'a>(
    buf: &'a [u8],
    mut f: impl FnMut(u64, Value<'a>) -> Result<(), String>,
) -> Result<(), String> {
    let mut pos = 0;
    while pos < buf.len() {
        let key = varint(buf, &mut pos)?;
        let value = match key & 7 {
            0 => Value::Varint(varint(buf, &mut pos)?),
            1 => {
                let b = buf.get(pos..pos + 8).ok_or("truncated fixed64")?;
                pos += 8;
                Value::Fixed64(u64::from_le_bytes(b.try_into().map_err(|_| "fixed64")?))
            }
            2 => {
                let n = usize::try_from(varint(buf, &mut pos)?).map_err(|_| "length")?;
                let b = buf.get(pos..pos + n).ok_or("truncated field")?;
                pos += n;
                Value::Len(b)
            }
            5 => {
                pos += 4;
                Value::Fixed32
            }
            w => return Err(format!("wire type {w}")),
        };
        f(key >> 3, value)?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::{each_series, scan_seq_ids};

    #[test]
    fn finds_ids_in_any_escaping() {
        let mut ids = Vec::new();
        scan_seq_ids(
            br#"{"event":"a sq=12 b"}{"event":"{\"msg\":\"sq=7 x\"}"}sq=,sq=3"#,
            &mut ids,
        );
        assert_eq!(ids, vec![12, 7, 3]);
    }

    #[test]
    fn decodes_a_write_request() {
        // WriteRequest{timeseries:[{labels:[{__name__,"up"}], samples:[{1.5, 1000}]}]}
        let label = [&[0x0a, 8][..], b"__name__", &[0x12, 2], b"up"].concat();
        let mut sample = vec![0x09];
        sample.extend_from_slice(&1.5f64.to_le_bytes());
        sample.extend_from_slice(&[0x10, 0xe8, 0x07]);
        let ts = [
            &[0x0a, label.len() as u8][..],
            &label,
            &[0x12, sample.len() as u8],
            &sample,
        ]
        .concat();
        let req = [&[0x0a, ts.len() as u8][..], &ts].concat();
        let mut seen = Vec::new();
        each_series(&req, |s| seen.push((s.name().to_vec(), s.samples.clone()))).expect("decode");
        assert_eq!(seen, vec![(b"up".to_vec(), vec![(1.5, 1000)])]);
    }
}
