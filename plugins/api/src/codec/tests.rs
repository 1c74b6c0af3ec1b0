use super::*;
use proptest::prelude::*;

use crate::event::Key;

fn field_value() -> impl Strategy<Value = FieldValue> {
    prop_oneof![
        any::<f64>()
            .prop_filter("NaN != NaN", |f| !f.is_nan())
            .prop_map(FieldValue::Float),
        any::<i64>().prop_map(FieldValue::Int),
        any::<u64>().prop_map(FieldValue::UInt),
        any::<bool>().prop_map(FieldValue::Bool),
        ".{0,40}".prop_map(FieldValue::string),
    ]
}

fn metric() -> impl Strategy<Value = Metric> {
    (
        ".{0,12}",
        proptest::collection::vec((".{0,8}", ".{0,8}"), 0..5),
        proptest::collection::vec((".{0,8}", field_value()), 0..5),
        any::<i64>(),
        0u8..5,
    )
        .prop_map(|(measurement, tags, fields, timestamp, k)| Metric {
            measurement,
            tags: tags.into(),
            fields,
            timestamp,
            kind: [
                MetricKind::Untyped,
                MetricKind::Counter,
                MetricKind::Gauge,
                MetricKind::Histogram,
                MetricKind::Summary,
            ][k as usize],
        })
}

fn log() -> impl Strategy<Value = LogRecord> {
    (
        any::<i64>(),
        0u8..3,
        proptest::collection::vec(any::<u8>(), 0..64),
        proptest::collection::vec((".{0,8}", field_value()), 0..4),
    )
        .prop_map(|(timestamp, s, body, attributes)| LogRecord {
            timestamp,
            stream: [Stream::Unknown, Stream::Stdout, Stream::Stderr][s as usize],
            body,
            attributes: keyed(attributes).into(),
        })
}

/// Generated pairs as attributes.
fn keyed(pairs: Vec<(String, FieldValue)>) -> Vec<crate::event::Attribute> {
    pairs
        .into_iter()
        .map(|(k, v)| (crate::event::Key::from(k), v))
        .collect()
}

/// Log records drawing their attributes from a pool of three lists, each record with the
/// list shared (as the tail makes them), as its own copy, or shared plus an own flag: runs
/// of equal lists in every form, which version 2 writes once.
fn logs_with_repeats() -> impl Strategy<Value = Vec<LogRecord>> {
    (
        proptest::collection::vec(
            proptest::collection::vec((".{0,8}", field_value()), 0..4),
            3,
        ),
        proptest::collection::vec((log(), 0usize..3, 0u8..3), 0..12),
    )
        .prop_map(|(pool, records)| {
            let pool: Vec<SharedAttributes> =
                pool.into_iter().map(|l| Arc::from(keyed(l))).collect();
            records
                .into_iter()
                .map(|(r, i, form)| {
                    let list = Arc::clone(&pool[i]);
                    let attributes = match form {
                        0 => Attributes::from_shared(list),
                        1 => Attributes::from(list.to_vec()),
                        _ => {
                            let mut a = Attributes::from_shared(list);
                            a.push("partial", FieldValue::Bool(true));
                            a
                        }
                    };
                    LogRecord { attributes, ..r }
                })
                .collect()
        })
}

/// Metrics drawing their tags from a pool of three sets, each metric with the set shared (as
/// a scrape makes them) or as its own copy: repeats in every form, which version 3 writes
/// once per shared set.
fn metrics_with_shared_sets() -> impl Strategy<Value = Vec<Metric>> {
    (
        proptest::collection::vec(proptest::collection::vec((".{0,8}", ".{0,8}"), 0..4), 3),
        proptest::collection::vec((metric(), 0usize..3, any::<bool>()), 0..12),
    )
        .prop_map(|(pool, picks)| {
            let pool: Vec<Tags> = pool.into_iter().map(Tags::from).collect();
            picks
                .into_iter()
                .map(|(mut m, i, shared)| {
                    m.tags = if shared {
                        pool[i].clone()
                    } else {
                        Tags::from(pool[i].to_vec())
                    };
                    m
                })
                .collect()
        })
}

fn batch() -> impl Strategy<Value = Batch> {
    prop_oneof![
        proptest::collection::vec(metric(), 0..8).prop_map(Batch::Metrics),
        metrics_with_shared_sets().prop_map(Batch::Metrics),
        proptest::collection::vec(log(), 0..8).prop_map(Batch::Logs),
        logs_with_repeats().prop_map(Batch::Logs),
    ]
}

proptest! {
    #[test]
    fn round_trip(b in batch()) {
        let mut buf = Vec::new();
        encode_batch(&b, &mut buf);
        prop_assert_eq!(decode_batch(&buf), Ok(b));
    }

    #[test]
    fn garbage_never_panics(bytes in proptest::collection::vec(any::<u8>(), 0..256)) {
        drop(decode_batch(&bytes));
    }

    #[test]
    fn truncation_is_an_error(b in batch(), cut in any::<prop::sample::Index>()) {
        let mut buf = Vec::new();
        encode_batch(&b, &mut buf);
        let cut = cut.index(buf.len());
        prop_assert!(decode_batch(&buf[..cut]).is_err());
    }

    #[test]
    fn bit_flips_never_panic(b in batch(), at in any::<prop::sample::Index>(), bit in 0u8..8) {
        let mut buf = Vec::new();
        encode_batch(&b, &mut buf);
        let i = at.index(buf.len());
        buf[i] ^= 1 << bit;
        drop(decode_batch(&buf));
    }
}

#[test]
fn nan_survives_as_bits() {
    let b = Batch::Metrics(vec![
        Metric::new("m", 1).with_field("f", FieldValue::Float(f64::NAN)),
    ]);
    let mut buf = Vec::new();
    encode_batch(&b, &mut buf);
    let Ok(Batch::Metrics(m)) = decode_batch(&buf) else {
        panic!("decode failed")
    };
    assert!(matches!(m[0].fields[0].1, FieldValue::Float(f) if f.is_nan()));
}

#[test]
fn huge_count_is_rejected_without_allocating() {
    // version 1, metrics, count = u64::MAX as varint
    let bytes = [
        1u8, 1, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01,
    ];
    assert!(matches!(
        decode_batch(&bytes),
        Err(DecodeError::Truncated { .. })
    ));
}

#[test]
fn unknown_version_is_named() {
    assert_eq!(
        decode_batch(&[9, 1, 0]),
        Err(DecodeError::UnsupportedVersion { version: 9 })
    );
}

#[test]
fn trailing_bytes_are_an_error() {
    let mut buf = Vec::new();
    encode_batch(&Batch::Logs(vec![]), &mut buf);
    buf.push(0);
    assert_eq!(
        decode_batch(&buf),
        Err(DecodeError::TrailingBytes { extra: 1 })
    );
}

#[test]
fn records_with_the_same_attributes_share_one_decoded_list() {
    let file = |f: &str| vec![("file".into(), FieldValue::String(f.into()))];
    let rec = |attrs: Vec<crate::event::Attribute>| LogRecord {
        attributes: attrs.into(),
        ..LogRecord::new(1, "x", Stream::Stdout)
    };
    let mut flagged = file("/a.log");
    flagged.push(("partial".into(), FieldValue::Bool(true)));
    let batch = Batch::Logs(vec![
        rec(file("/a.log")),
        rec(file("/a.log")),
        rec(flagged),
        rec(file("/b.log")),
        rec(file("/b.log")),
        rec(Vec::new()),
    ]);
    let mut bytes = Vec::new();
    encode_batch(&batch, &mut bytes);
    let decoded = decode_batch(&bytes).expect("decodes");
    assert_eq!(decoded, batch);
    let Batch::Logs(logs) = decoded else {
        panic!("logs")
    };
    let list = |i: usize| logs[i].attributes.shared_arc().expect("shared list");
    assert!(Arc::ptr_eq(list(0), list(1)));
    assert!(!Arc::ptr_eq(list(1), list(2)));
    assert_eq!(list(2).len(), 2);
    assert!(Arc::ptr_eq(list(3), list(4)));
    assert!(!Arc::ptr_eq(list(0), list(3)));
    assert!(logs[5].attributes.is_empty());
}

/// Version 1 as documented: every record writes `varint(nattrs)` and its pairs.
fn encode_v1_logs(logs: &[LogRecord]) -> Vec<u8> {
    let mut out = vec![FORMAT_V1, KIND_LOGS];
    put_varint(&mut out, logs.len() as u64);
    for l in logs {
        out.extend_from_slice(&l.timestamp.to_le_bytes());
        out.push(stream_byte(l.stream));
        put_varint(&mut out, l.body.len() as u64);
        out.extend_from_slice(&l.body);
        put_varint(&mut out, l.attributes.len() as u64);
        for (k, v) in &l.attributes {
            put_pair(&mut out, k, v);
        }
    }
    out
}

proptest! {
    #[test]
    fn version_1_chunks_still_decode(logs in logs_with_repeats()) {
        prop_assert_eq!(decode_batch(&encode_v1_logs(&logs)), Ok(Batch::Logs(logs)));
    }
}

/// A metric batch as versions 1 and 2 wrote it: every metric its own tags.
fn encode_v2_metrics(version: u8, metrics: &[Metric]) -> Vec<u8> {
    let mut out = vec![version, KIND_METRICS];
    put_varint(&mut out, metrics.len() as u64);
    for m in metrics {
        put_str(&mut out, &m.measurement);
        put_varint(&mut out, m.tags.len() as u64);
        for (k, v) in &m.tags {
            put_str(&mut out, k);
            put_str(&mut out, v);
        }
        put_pairs(&mut out, &m.fields);
        out.extend_from_slice(&m.timestamp.to_le_bytes());
        out.push(metric_kind_byte(m.kind));
    }
    out
}

proptest! {
    #[test]
    fn version_1_and_2_metric_batches_still_decode(ms in metrics_with_shared_sets()) {
        for version in [FORMAT_V1, FORMAT_V2] {
            let bytes = encode_v2_metrics(version, &ms);
            prop_assert_eq!(decode_batch(&bytes), Ok(Batch::Metrics(ms.clone())));
        }
    }
}

#[test]
fn version_2_metric_bytes_from_the_previous_build_decode() {
    // `cpu,host=a idle=0.5 7` as the build before version 3 wrote it.
    let bytes = [
        2, 1, 1, 3, b'c', b'p', b'u', 1, 4, b'h', b'o', b's', b't', 1, b'a', 1, 4, b'i', b'd',
        b'l', b'e', 0, 0, 0, 0, 0, 0, 0, 0xe0, 0x3f, 7, 0, 0, 0, 0, 0, 0, 0, 0,
    ];
    let want = Metric::new("cpu", 7)
        .with_tag("host", "a")
        .with_field("idle", FieldValue::Float(0.5));
    assert_eq!(decode_batch(&bytes), Ok(Batch::Metrics(vec![want])));
}

#[test]
fn a_shared_tag_set_is_written_once_and_decoded_shared() {
    let series = Tags::from_unsorted(vec![
        ("instance".into(), "node-1:9100".into()),
        ("job".into(), "node".into()),
        ("mode".into(), "idle".into()),
    ]);
    let other = Tags::from_unsorted(vec![("job".into(), "other".into())]);
    let ms: Vec<Metric> = (0..10)
        .map(|i| {
            let mut m = Metric::new("prometheus", i).with_field("x", FieldValue::Float(1.0));
            m.tags = if i % 2 == 0 {
                series.clone()
            } else {
                other.clone()
            };
            m
        })
        .collect();
    let b = Batch::Metrics(ms.clone());
    let mut v3 = Vec::new();
    encode_batch(&b, &mut v3);
    let v2 = encode_v2_metrics(FORMAT_V2, &ms);
    // 8 repeats of 2 bytes (marker, index) instead of 8 copies of the tag lists.
    assert!(v3.len() + 150 < v2.len(), "{} vs {}", v3.len(), v2.len());
    let Ok(Batch::Metrics(back)) = decode_batch(&v3) else {
        panic!("decodes")
    };
    assert_eq!(back, ms);
    assert!(Tags::ptr_eq(&back[0].tags, &back[8].tags));
    assert!(Tags::ptr_eq(&back[1].tags, &back[9].tags));
    assert!(!Tags::ptr_eq(&back[0].tags, &back[1].tags));
}

#[test]
fn a_tag_set_reference_out_of_range_is_an_error() {
    // One metric whose tag set refers to set 0 of a batch that has none.
    let bytes = [FORMAT_VERSION, KIND_METRICS, 1, 1, b'm', 0, 0];
    assert_eq!(
        decode_batch(&bytes),
        Err(DecodeError::Invalid {
            what: "tag set reference",
            offset: 5
        })
    );
}

#[test]
fn a_run_of_equal_attributes_is_written_once() {
    let file: SharedAttributes = Arc::from(vec![
        (
            "file".into(),
            FieldValue::String("/var/log/pods/shop_web-1_0a1b/app/0.log".into()),
        ),
        ("k8s.pod".into(), FieldValue::String("web-1".into())),
    ]);
    let rec = |own: bool| LogRecord {
        attributes: if own {
            Attributes::from(file.to_vec())
        } else {
            Attributes::from_shared(Arc::clone(&file))
        },
        ..LogRecord::new(1, "GET / 200", Stream::Stdout)
    };
    for own in [false, true] {
        let one = {
            let mut buf = Vec::new();
            encode_batch(&Batch::Logs(vec![rec(own)]), &mut buf);
            buf.len()
        };
        let batch = Batch::Logs((0..100).map(|_| rec(own)).collect());
        let mut buf = Vec::new();
        encode_batch(&batch, &mut buf);
        // Each further record costs its timestamp, stream, body and a one-byte marker.
        let per_record = 8 + 1 + 1 + "GET / 200".len() + 1;
        assert_eq!(buf.len(), one + 99 * per_record, "own lists: {own}");
        assert_eq!(decode_batch(&buf), Ok(batch));
    }
    let one = {
        let mut buf = Vec::new();
        encode_batch(&Batch::Logs(vec![rec(false)]), &mut buf);
        buf.len()
    };
    let v1 = encode_v1_logs(&(0..100).map(|_| rec(false)).collect::<Vec<_>>());
    assert!(
        v1.len() > 3 * (one + 99 * 20),
        "version 1 repeats the list: {} bytes",
        v1.len()
    );
}

/// The start of a log batch of `count` records: version 4, or version 5 with `base` 0.
fn log_batch_start(version: u8, count: u8) -> Vec<u8> {
    let mut bytes = vec![version, KIND_LOGS, count];
    if version >= FORMAT_VERSION {
        bytes.push(0);
    }
    bytes
}

#[test]
fn a_repeat_marker_with_nothing_before_is_an_error() {
    for version in [FORMAT_V4, FORMAT_VERSION] {
        let mut bytes = log_batch_start(version, 1);
        bytes.extend_from_slice(&0_i64.to_le_bytes());
        bytes.extend_from_slice(&[1, 0, 0]);
        assert!(matches!(
            decode_batch(&bytes),
            Err(DecodeError::Invalid { .. })
        ));
    }
}

/// One batch of `series` metrics, series `from..from + series`, each its own tag set.
fn series_batch(from: usize, series: usize) -> Vec<u8> {
    let ms: Vec<Metric> = (from..from + series)
        .map(|i| {
            Metric::new("prometheus", 1)
                .with_tag("instance", "node-1:9100")
                .with_tag("series", i.to_string())
                .with_field("x", FieldValue::Float(1.0))
        })
        .collect();
    let mut buf = Vec::new();
    encode_batch(&Batch::Metrics(ms), &mut buf);
    buf
}

fn tags_of(b: Result<Batch, DecodeError>) -> Vec<Tags> {
    match b {
        Ok(Batch::Metrics(ms)) => ms.into_iter().map(|m| m.tags).collect(),
        other => panic!("{other:?}"),
    }
}

#[test]
fn decoded_sets_live_no_longer_than_their_batch() {
    // A set is shared within its batch only: the reader keeps no set from one batch (or
    // chunk) to the next, so delivered metrics take their sets with them.
    let first = tags_of(decode_batch(&series_batch(0, 100)));
    let again = tags_of(decode_batch(&series_batch(0, 100)));
    assert_eq!(first, again);
    for (a, b) in first.iter().zip(&again) {
        assert!(!Tags::ptr_eq(a, b));
        assert_eq!(a.holders(), 1);
    }
}

/// Version 2 and 3 as documented: a list equal to the previous record's is the marker 0,
/// any other is written whole (shared and own parts together).
fn encode_v3_logs(logs: &[LogRecord]) -> Vec<u8> {
    let mut out = vec![FORMAT_V3, KIND_LOGS];
    put_varint(&mut out, logs.len() as u64);
    let mut prev: Option<&LogRecord> = None;
    for l in logs {
        out.extend_from_slice(&l.timestamp.to_le_bytes());
        out.push(stream_byte(l.stream));
        put_varint(&mut out, l.body.len() as u64);
        out.extend_from_slice(&l.body);
        if prev.is_some_and(|p| p.attributes == l.attributes) {
            out.push(0);
        } else {
            put_varint(&mut out, l.attributes.len() as u64 + 1);
            for (k, v) in &l.attributes {
                put_pair(&mut out, k, v);
            }
        }
        prev = Some(l);
    }
    out
}

proptest! {
    #[test]
    fn version_3_log_chunks_still_decode(logs in logs_with_repeats()) {
        prop_assert_eq!(decode_batch(&encode_v3_logs(&logs)), Ok(Batch::Logs(logs)));
    }

    #[test]
    fn shared_lists_with_own_attributes_round_trip(logs in logs_with_repeats()) {
        let batch = Batch::Logs(logs);
        let mut buf = Vec::new();
        encode_batch(&batch, &mut buf);
        prop_assert_eq!(decode_batch(&buf), Ok(batch));
    }
}

#[test]
fn a_shared_list_is_written_once_per_batch_beside_each_record_own_attributes() {
    let file = |f: &str| -> SharedAttributes {
        Arc::from(vec![
            ("file".into(), FieldValue::String(f.into())),
            ("k8s.pod".into(), FieldValue::String("web-1".into())),
        ])
    };
    let (a, b) = (file("/var/log/pods/a/0.log"), file("/var/log/pods/b/0.log"));
    // Records of two files interleaved, each with a parsed member of its own.
    let rec = |list: &SharedAttributes, n: i64| {
        let mut attributes = Attributes::from_shared(Arc::clone(list));
        attributes.push("log.n", FieldValue::Int(n));
        LogRecord {
            attributes,
            ..LogRecord::new(n, "{}", Stream::Stdout)
        }
    };
    let logs: Vec<LogRecord> = (0..100)
        .map(|n| rec(if n % 2 == 0 { &a } else { &b }, n))
        .collect();
    let batch = Batch::Logs(logs);
    let mut v4 = Vec::new();
    encode_batch(&batch, &mut v4);
    let v3 = encode_v3_logs(match &batch {
        Batch::Logs(l) => l,
        Batch::Metrics(_) => unreachable!(),
    });
    // Each record after the first two: timestamp (8), stream (1), body (3), a reference
    // (form, index: 2) and its one own pair (count 1, "log.n" 6, type 1, value 1-2), at most
    // 24 bytes, instead of the whole list; the two lists once each.
    assert!(v4.len() <= 3 + 100 * 24 + 2 * 60, "{} bytes", v4.len());
    assert!(
        v4.len() * 2 < v3.len(),
        "v4 {} bytes, v3 {}",
        v4.len(),
        v3.len()
    );
    let decoded = decode_batch(&v4).expect("decodes");
    assert_eq!(decoded, batch);
    let Batch::Logs(logs) = decoded else {
        panic!("logs")
    };
    let list = |i: usize| logs[i].attributes.shared_arc().expect("shared list");
    assert!(
        Arc::ptr_eq(list(0), list(98)),
        "one decoded list per source"
    );
    assert!(Arc::ptr_eq(list(1), list(99)));
    assert!(!Arc::ptr_eq(list(0), list(1)));
    assert_eq!(logs[7].attributes.own_part().len(), 1);
}

#[test]
fn a_list_reference_out_of_range_is_an_error() {
    for version in [FORMAT_V4, FORMAT_VERSION] {
        let mut bytes = log_batch_start(version, 1);
        bytes.extend_from_slice(&0_i64.to_le_bytes());
        // stream, empty body, form 1 (reference) to index 0 of an empty table, no own pairs.
        bytes.extend_from_slice(&[1, 0, 1, 0, 0]);
        assert!(matches!(
            decode_batch(&bytes),
            Err(DecodeError::Invalid {
                what: "attribute list reference",
                ..
            })
        ));
        let mut bytes = log_batch_start(version, 1);
        bytes.extend_from_slice(&0_i64.to_le_bytes());
        bytes.extend_from_slice(&[1, 0, 9, 0]);
        assert!(matches!(
            decode_batch(&bytes),
            Err(DecodeError::Invalid {
                what: "attributes form",
                ..
            })
        ));
    }
    // Form 4 (a list not indexed) is version 5's.
    let mut bytes = log_batch_start(FORMAT_V4, 1);
    bytes.extend_from_slice(&0_i64.to_le_bytes());
    bytes.extend_from_slice(&[1, 0, 4, 0, 0]);
    assert!(matches!(
        decode_batch(&bytes),
        Err(DecodeError::Invalid {
            what: "attributes form",
            ..
        })
    ));
}

/// Version 4 as the build before version 5 wrote it: shared lists indexed per batch, every
/// list written with form 2 the first time the batch holds it.
fn encode_v4_logs(logs: &[LogRecord]) -> Vec<u8> {
    let mut out = vec![FORMAT_V4, KIND_LOGS];
    put_varint(&mut out, logs.len() as u64);
    let mut lists: Vec<&SharedAttributes> = Vec::new();
    for l in logs {
        out.extend_from_slice(&l.timestamp.to_le_bytes());
        out.push(stream_byte(l.stream));
        put_varint(&mut out, l.body.len() as u64);
        out.extend_from_slice(&l.body);
        match l.attributes.shared_arc() {
            Some(list) => match lists.iter().position(|x| Arc::ptr_eq(x, list)) {
                Some(i) => {
                    put_varint(&mut out, 1);
                    put_varint(&mut out, i as u64);
                }
                None => {
                    lists.push(list);
                    put_varint(&mut out, 2);
                    put_attribute_list(&mut out, list);
                }
            },
            None => put_varint(&mut out, 3),
        }
        put_attribute_list(&mut out, l.attributes.own_part());
    }
    out
}

proptest! {
    #[test]
    fn version_4_log_chunks_still_decode(logs in logs_with_repeats()) {
        prop_assert_eq!(decode_batch(&encode_v4_logs(&logs)), Ok(Batch::Logs(logs)));
    }

    #[test]
    fn the_frames_of_a_chunk_round_trip_in_order(
        frames in proptest::collection::vec(logs_with_repeats(), 1..5),
        metrics_between in any::<bool>(),
    ) {
        // One pool per frame: join them so that later frames reuse earlier frames' lists.
        let pool: Vec<LogRecord> = frames.iter().flatten().cloned().collect();
        let batches: Vec<Batch> = frames
            .iter()
            .enumerate()
            .map(|(i, f)| Batch::Logs(f.iter().chain(pool.iter().skip(i)).cloned().collect()))
            .collect();
        let mut enc = ChunkEncoder::new();
        let mut dec = ChunkDecoder::new();
        for b in &batches {
            let mut buf = Vec::new();
            enc.encode(b, &mut buf);
            enc.commit();
            prop_assert_eq!(&dec.decode(&buf).expect("decodes in order"), b);
            if metrics_between {
                let m = Batch::Metrics(vec![Metric::new("m", 1).with_field("x", FieldValue::Int(1))]);
                buf.clear();
                enc.encode(&m, &mut buf);
                enc.commit();
                prop_assert_eq!(dec.decode(&buf), Ok(m));
            }
        }
    }
}

/// Records of `hosts` senders, `n` each, interleaved: each sender's header a list shared by
/// its records (as the syslog input's cache makes them), a pid of its own per record.
fn sender_records(hosts: usize, n: usize, lists: &[SharedAttributes]) -> Batch {
    Batch::Logs(
        (0..hosts * n)
            .map(|i| {
                let mut attributes = Attributes::from_shared(Arc::clone(&lists[i % hosts]));
                attributes.push(
                    Key::from_static("syslog.proc_id"),
                    FieldValue::String((1000 + i).to_string().into()),
                );
                LogRecord {
                    attributes,
                    ..LogRecord::new(i as i64, "GET /healthz", Stream::Unknown)
                }
            })
            .collect(),
    )
}

fn header(host: usize) -> SharedAttributes {
    Arc::from(vec![
        (
            Key::from_static("syslog.hostname"),
            FieldValue::String(format!("node-{host}").into()),
        ),
        (
            Key::from_static("syslog.app_name"),
            FieldValue::String("nginx".into()),
        ),
    ])
}

#[test]
fn a_chunk_writes_each_shared_list_once_and_its_decoder_shares_it_across_frames() {
    let lists: Vec<SharedAttributes> = (0..8).map(header).collect();
    let mut enc = ChunkEncoder::new();
    let mut dec = ChunkDecoder::new();
    let mut frames = Vec::new();
    for _ in 0..3 {
        let batch = sender_records(8, 4, &lists);
        let mut buf = Vec::new();
        enc.encode(&batch, &mut buf);
        enc.commit();
        frames.push((buf, batch));
    }
    // The later frames refer to the first frame's lists: no list is written again.
    let alone = {
        let mut buf = Vec::new();
        encode_batch(&frames[1].1, &mut buf);
        buf.len()
    };
    assert!(
        frames[1].0.len() + 8 * 20 < alone,
        "{} bytes in the chunk, {alone} alone",
        frames[1].0.len()
    );
    assert_eq!(frames[1].0.len(), frames[2].0.len());
    let mut decoded = Vec::new();
    for (bytes, batch) in &frames {
        let b = dec.decode(bytes).expect("decodes in order");
        assert_eq!(&b, batch);
        let Batch::Logs(logs) = b else { panic!("logs") };
        decoded.push(logs);
    }
    let list = |f: usize, i: usize| decoded[f][i].attributes.shared_arc().expect("shared");
    assert!(Arc::ptr_eq(list(0, 3), list(2, 3)), "one list per chunk");
    assert!(!Arc::ptr_eq(list(0, 3), list(0, 4)));
    // Alone, a later frame's references have nothing to refer to: an error, never another
    // list.
    assert!(matches!(
        decode_batch(&frames[1].0),
        Err(DecodeError::Invalid {
            what: "attribute list reference",
            ..
        })
    ));
    // A new chunk starts over.
    enc.reset();
    let mut buf = Vec::new();
    enc.encode(&frames[0].1, &mut buf);
    assert_eq!(buf, frames[0].0);
}

#[test]
fn a_frame_that_does_not_decode_fails_only_the_records_that_need_its_lists() {
    let lists: Vec<SharedAttributes> = (0..4).map(header).collect();
    let mut enc = ChunkEncoder::new();
    let mut frame = |batch: &Batch| {
        let mut buf = Vec::new();
        enc.encode(batch, &mut buf);
        enc.commit();
        buf
    };
    let first = frame(&sender_records(2, 2, &lists[..2]));
    let mut second = frame(&sender_records(2, 2, &lists[2..]));
    // Refers to the second frame's lists, then to the first frame's only.
    let third = frame(&sender_records(4, 1, &lists));
    let fourth_batch = sender_records(2, 1, &lists[..2]);
    let fourth = frame(&fourth_batch);
    // Damage the second frame so it does not decode (its last byte: a cut own list).
    second.pop();
    let mut dec = ChunkDecoder::new();
    assert!(dec.decode(&first).is_ok());
    assert!(dec.decode(&second).is_err());
    assert!(matches!(
        dec.decode(&third),
        Err(DecodeError::Invalid {
            what: "attribute list reference",
            ..
        })
    ));
    assert_eq!(dec.decode(&fourth), Ok(fourth_batch));
}

#[test]
fn lists_of_an_encoding_not_committed_are_written_again() {
    let lists: Vec<SharedAttributes> = (0..2).map(header).collect();
    let batch = sender_records(2, 2, &lists);
    let mut enc = ChunkEncoder::new();
    let mut lost = Vec::new();
    enc.encode(&batch, &mut lost);
    // Not committed (the write failed): the retry defines the lists again.
    let mut retry = Vec::new();
    enc.encode(&batch, &mut retry);
    assert_eq!(retry, lost);
    enc.commit();
    assert_eq!(decode_batch(&retry), Ok(batch.clone()));
    enc.rollback();
    let mut next = Vec::new();
    enc.encode(&batch, &mut next);
    assert!(next.len() < retry.len(), "committed lists are referred to");
}

#[test]
fn a_list_only_its_record_holds_is_written_whole_and_not_held() {
    let list = header(1);
    let mut attributes = Attributes::from_shared(Arc::clone(&list));
    attributes.push("n", FieldValue::Int(1));
    let batch = Batch::Logs(vec![LogRecord {
        attributes,
        ..LogRecord::new(1, "x", Stream::Unknown)
    }]);
    drop(list);
    let mut enc = ChunkEncoder::new();
    let mut buf = Vec::new();
    enc.encode(&batch, &mut buf);
    enc.commit();
    let Batch::Logs(logs) = &batch else {
        panic!("logs")
    };
    let held = logs[0].attributes.shared_arc().expect("shared");
    assert_eq!(Arc::strong_count(held), 1, "the encoder holds nothing");
    assert_eq!(decode_batch(&buf), Ok(batch.clone()));
}

#[test]
fn a_list_count_out_of_range_is_an_error() {
    for base in [MAX_CHUNK_LISTS as u64 + 1, u64::MAX] {
        let mut bytes = vec![FORMAT_VERSION, KIND_LOGS, 0];
        put_varint(&mut bytes, base);
        assert!(matches!(
            decode_batch(&bytes),
            Err(DecodeError::Invalid {
                what: "attribute list count",
                ..
            })
        ));
    }
    // Fewer lists than the decoder read already: not the chunk's next frame.
    let lists: Vec<SharedAttributes> = (0..2).map(header).collect();
    let mut enc = ChunkEncoder::new();
    let mut buf = Vec::new();
    enc.encode(&sender_records(2, 2, &lists), &mut buf);
    let mut dec = ChunkDecoder::new();
    assert!(dec.decode(&buf).is_ok());
    assert!(matches!(
        dec.decode(&buf),
        Err(DecodeError::Invalid {
            what: "attribute list count",
            ..
        })
    ));
}

/// A version 4 batch of one metric `m` with no fields whose tag set is `pairs` as given.
fn one_metric_with_tags(pairs: &[(&[u8], &[u8])]) -> Vec<u8> {
    let mut out = vec![FORMAT_VERSION, KIND_METRICS, 1, 1, b'm'];
    put_varint(&mut out, pairs.len() as u64 + 1);
    for (k, v) in pairs {
        for s in [k, v] {
            put_varint(&mut out, s.len() as u64);
            out.extend_from_slice(s);
        }
    }
    out.push(0);
    out.extend_from_slice(&7i64.to_le_bytes());
    out.push(2);
    out
}

#[test]
fn a_set_out_of_order_or_with_a_repeated_key_decodes_sorted_with_the_last_value() {
    // This build writes sets in order (read in one copy); any other input is still a set.
    let bytes = one_metric_with_tags(&[(b"z", b"1"), (b"a", b"x"), (b"z", b"2")]);
    let tags = tags_of(decode_batch(&bytes));
    assert_eq!(
        tags[0],
        [
            ("a".to_owned(), "x".to_owned()),
            ("z".to_owned(), "2".to_owned())
        ]
    );
    let sorted = one_metric_with_tags(&[(b"a", b"x"), (b"z", b"2")]);
    assert_eq!(tags_of(decode_batch(&sorted)), tags);
}

#[test]
fn a_character_split_between_a_key_and_its_value_is_an_error() {
    // "é" is C3 A9: the two strings together are UTF-8, each alone is not.
    let bytes = one_metric_with_tags(&[(b"a\xc3", b"\xa9")]);
    assert_eq!(
        decode_batch(&bytes),
        Err(DecodeError::Invalid {
            what: "utf-8 string",
            offset: 6
        })
    );
    let bad = one_metric_with_tags(&[(b"a", b"ok"), (b"b", b"\xff")]);
    assert_eq!(
        decode_batch(&bad),
        Err(DecodeError::Invalid {
            what: "utf-8 string",
            offset: 13
        })
    );
}

#[test]
fn own_values_like_the_previous_record_round_trip_whatever_their_types() {
    let own = |pairs: Vec<(&'static str, FieldValue)>| LogRecord {
        attributes: Attributes::from(
            pairs
                .into_iter()
                .map(|(k, v)| (Key::from_static(k), v))
                .collect::<Vec<_>>(),
        ),
        ..LogRecord::new(1, "m", Stream::Unknown)
    };
    let s = |v: &str| FieldValue::String(v.into());
    let logs = vec![
        own(vec![("a", s("x")), ("b", FieldValue::Int(1))]),
        own(vec![("a", s("x")), ("b", s("y")), ("c", s(""))]),
        own(vec![
            ("a", FieldValue::Int(5)),
            ("b", s("y")),
            ("c", s("é")),
        ]),
        own(vec![("b", s("y")), ("a", s("y"))]),
        own(vec![
            ("b", s("y")),
            ("a", s("yy")),
            ("c", FieldValue::Bool(true)),
        ]),
    ];
    let mut shared_head = Vec::new();
    for l in &logs {
        let mut a = Attributes::from_shared(header(1));
        for (k, v) in l.attributes.iter() {
            a.push(k.clone(), v.clone());
        }
        shared_head.push(LogRecord {
            attributes: a,
            ..l.clone()
        });
    }
    for batch in [Batch::Logs(logs), Batch::Logs(shared_head)] {
        let mut buf = Vec::new();
        encode_batch(&batch, &mut buf);
        assert_eq!(decode_batch(&buf), Ok(batch));
    }
}

/// Records of one source as a parser leaves them: some with own attributes (a parsed line),
/// most without (a line it did not parse), all with the source's shared list.
fn parsed_and_plain(own_values: &[Option<Vec<(&'static str, FieldValue)>>]) -> Vec<LogRecord> {
    let head = header(1);
    own_values
        .iter()
        .enumerate()
        .map(|(i, own)| {
            let mut attributes = Attributes::from_shared(Arc::clone(&head));
            for (k, v) in own.iter().flatten() {
                attributes.push(Key::from_static(k), v.clone());
            }
            LogRecord {
                attributes,
                ..LogRecord::new(i as i64, format!("line {i}"), Stream::Stdout)
            }
        })
        .collect()
}

#[test]
fn own_attributes_after_records_without_round_trip_and_share_the_last_names() {
    let s = |v: &str| FieldValue::String(v.into());
    let parsed = |msg: &str, status: i64| {
        Some(vec![
            ("log.level", s("info")),
            ("log.status", FieldValue::Int(status)),
            ("message", s(msg)),
        ])
    };
    let logs = parsed_and_plain(&[
        parsed("a", 200),
        None,
        None,
        parsed("b", 404),
        None,
        // Other names, types and order than the last parsed record's.
        Some(vec![("message", FieldValue::Int(1)), ("log.level", s("é"))]),
        None,
        parsed("c", 200),
        parsed("c", 200),
    ]);
    let batch = Batch::Logs(logs);
    let mut buf = Vec::new();
    encode_batch(&batch, &mut buf);
    let decoded = decode_batch(&buf);
    assert_eq!(decoded, Ok(batch));
    let Ok(Batch::Logs(logs)) = decoded else {
        unreachable!()
    };
    // The names of a parsed record after unparsed ones are those of the last parsed one.
    let name = |i: usize, j: usize| logs[i].attributes.own_part()[j].0.as_ptr();
    assert_eq!(name(0, 0), name(3, 0));
    assert_eq!(name(3, 2), name(7, 2));
}

#[test]
fn bad_utf8_where_the_last_parsed_record_had_other_text_is_an_error() {
    let s = |v: &str| FieldValue::String(v.into());
    let logs = parsed_and_plain(&[
        Some(vec![("ab", s("xy"))]),
        None,
        Some(vec![("aX", s("xy"))]),
        None,
        Some(vec![("ab", s("xZ"))]),
    ]);
    let mut buf = Vec::new();
    encode_batch(&Batch::Logs(logs), &mut buf);
    // The second parsed record's name, and the third's value: each differs from the text
    // in its place in the last parsed record, so the decoder checks it.
    for (text, bad) in [(&b"aX"[..], &b"a\xff"[..]), (b"xZ", b"x\xff")] {
        let at = buf
            .windows(2)
            .rposition(|w| w == text)
            .expect("the text is in the encoding");
        let mut corrupt = buf.clone();
        corrupt[at..at + 2].copy_from_slice(bad);
        assert_eq!(
            decode_batch(&corrupt),
            Err(DecodeError::Invalid {
                what: "utf-8 string",
                offset: at - 1
            })
        );
    }
}

proptest! {
    /// Parsed and unparsed records in any mix round trip, and any prefix or bit flip of
    /// their encoding is an error or a batch, never a panic.
    #[test]
    fn parsed_and_plain_records_round_trip(
        owns in proptest::collection::vec(
            proptest::option::of(proptest::collection::vec(
                (prop::sample::select(vec!["a", "b", "log.level", "message"]), field_value()),
                0..4,
            )),
            0..12,
        ),
        at in any::<prop::sample::Index>(),
        bit in 0u8..8,
    ) {
        let batch = Batch::Logs(parsed_and_plain(&owns));
        let mut buf = Vec::new();
        encode_batch(&batch, &mut buf);
        prop_assert_eq!(decode_batch(&buf), Ok(batch));
        let i = at.index(buf.len());
        prop_assert!(decode_batch(&buf[..i]).is_err());
        buf[i] ^= 1 << bit;
        drop(decode_batch(&buf));
    }
}

/// A delivered batch given back to the decoder: the next frames' records are decoded into
/// its bodies' allocations and come out equal to what was encoded, longer and shorter
/// bodies alike; an oversized body is not kept, and a metrics batch is simply dropped.
#[test]
fn recycled_bodies_are_refilled_by_the_next_frames() {
    let shared: SharedAttributes = Arc::from(vec![(
        Key::from("k8s.pod"),
        FieldValue::String("web".into()),
    )]);
    let frame = |bodies: &[&[u8]]| {
        let logs: Vec<LogRecord> = bodies
            .iter()
            .enumerate()
            .map(|(i, b)| LogRecord {
                timestamp: i as i64,
                body: b.to_vec(),
                stream: Stream::Stdout,
                attributes: Attributes::from_shared(Arc::clone(&shared)),
            })
            .collect();
        Batch::Logs(logs)
    };
    let first = frame(&[b"first record", b"second, a little longer", b"third"]);
    let second = frame(&[
        b"a body longer than any of the first frame's bodies",
        b"x",
        b"",
    ]);
    let (a, b) = two_frames(&first, &second);
    let mut dec = ChunkDecoder::new();
    let got = dec.decode(&a).unwrap();
    assert_eq!(got, first);
    let Batch::Logs(ref logs) = got else {
        unreachable!()
    };
    let addresses: Vec<*const u8> = logs.iter().map(|r| r.body.as_ptr()).collect();
    dec.recycle(got);
    assert_eq!(dec.spare_bodies.len(), 3);
    let got = dec.decode(&b).unwrap();
    assert_eq!(got, second);
    let Batch::Logs(ref logs) = got else {
        unreachable!()
    };
    // The short bodies fit the kept allocations: the same memory, refilled.
    assert!(addresses.contains(&logs[1].body.as_ptr()));
    assert!(dec.spare_bodies.is_empty());

    let mut big = frame(&[b"small"]);
    if let Batch::Logs(logs) = &mut big {
        logs[0].body = vec![b'x'; MAX_SPARE_BODY + 1];
    }
    dec.recycle(big);
    dec.recycle(Batch::Metrics(vec![Metric::new("m", 0)]));
    assert!(dec.spare_bodies.is_empty());
}

/// Delivered records' own lists given back: the next frames' own attributes are written
/// into them (strings into the strings in their place) and still decode exactly, whether
/// the new list is longer or shorter, or has a number where a string was.
#[test]
fn recycled_own_lists_are_refilled_exactly() {
    let s = |v: &str| FieldValue::String(v.into());
    let shared: SharedAttributes = Arc::from(vec![(Key::from("k8s.pod"), s("web"))]);
    let record = |i: i64, own: Vec<(&'static str, FieldValue)>| {
        let mut r = LogRecord::new(i, format!("line {i}"), Stream::Stdout);
        r.attributes = Attributes::from_shared(Arc::clone(&shared));
        for (k, v) in own {
            r.attributes.push(Key::from_static(k), v);
        }
        r
    };
    let first = Batch::Logs(vec![
        record(
            0,
            vec![
                ("log.level", s("info")),
                ("log.msg", s("started")),
                ("log.user", s("ann")),
            ],
        ),
        record(1, vec![("log.level", s("warn")), ("log.msg", s("slow"))]),
        record(2, vec![]),
    ]);
    let second = Batch::Logs(vec![
        record(
            3,
            vec![
                ("log.level", s("info")),
                ("log.msg", s("a much longer message than before")),
            ],
        ),
        record(
            4,
            vec![
                ("log.level", FieldValue::Int(3)),
                ("log.msg", s("x")),
                ("log.user", s("bob")),
                ("log.extra", s("more")),
            ],
        ),
        record(5, vec![("log.msg", s("only one"))]),
    ]);
    let (a, b) = two_frames(&first, &second);
    let mut dec = ChunkDecoder::new();
    let got = dec.decode(&a).unwrap();
    assert_eq!(got, first);
    dec.recycle(got);
    assert_eq!(
        dec.spare_owns.len(),
        2,
        "the record with no own list gives none"
    );
    assert_eq!(dec.decode(&b).unwrap(), second);
    assert!(dec.spare_owns.is_empty());

    // A corrupt string in a reused slot is an error, not a panic.
    let mut dec = ChunkDecoder::new();
    let got = dec.decode(&a).unwrap();
    dec.recycle(got);
    let at = b.windows(4).position(|w| w == b"much").unwrap();
    let mut bad = b.clone();
    bad[at] = 0xff;
    assert!(matches!(
        dec.decode(&bad),
        Err(DecodeError::Invalid {
            what: "utf-8 string",
            ..
        })
    ));
}

/// Two batches encoded as consecutive frames of one chunk.
fn two_frames(first: &Batch, second: &Batch) -> (Vec<u8>, Vec<u8>) {
    let mut enc = ChunkEncoder::new();
    let (mut a, mut b) = (Vec::new(), Vec::new());
    enc.encode(first, &mut a);
    enc.commit();
    enc.encode(second, &mut b);
    enc.commit();
    (a, b)
}

/// String values on either side of `Text`'s inline length (24 bytes) decode exactly, fresh
/// and refilled into taken-back records' strings (an inline string given a longer text, a
/// heap one given a shorter).
#[test]
fn strings_at_the_inline_length_decode_exactly_fresh_and_refilled() {
    let s = |v: &str| FieldValue::String(v.into());
    let shared: SharedAttributes = Arc::from(vec![(Key::from("k8s.pod"), s("web"))]);
    let batch = |texts: &[String]| {
        Batch::Logs(
            texts
                .iter()
                .enumerate()
                .map(|(i, t)| {
                    let mut r = LogRecord::new(i as i64, "line", Stream::Stdout);
                    r.attributes = Attributes::from_shared(Arc::clone(&shared));
                    r.attributes.push(Key::from_static("log.msg"), s(t));
                    r
                })
                .collect(),
        )
    };
    let lens = [0, 1, 23, 24, 25, 40];
    let first: Vec<String> = lens.iter().map(|&n| "a".repeat(n)).collect();
    let second: Vec<String> = lens.iter().rev().map(|&n| "b".repeat(n)).collect();
    let (first, second) = (batch(&first), batch(&second));
    let (a, b) = two_frames(&first, &second);
    let mut dec = ChunkDecoder::new();
    let got = dec.decode(&a).unwrap();
    assert_eq!(got, first);
    if let Batch::Logs(logs) = &got {
        let inline = logs
            .iter()
            .filter_map(|r| match r.attribute("log.msg") {
                Some(FieldValue::String(t)) => Some(!t.is_heap_allocated()),
                _ => None,
            })
            .collect::<Vec<_>>();
        assert_eq!(inline, [true, true, true, true, false, false]);
    }
    dec.recycle(got);
    assert_eq!(dec.decode(&b).unwrap(), second);
}
