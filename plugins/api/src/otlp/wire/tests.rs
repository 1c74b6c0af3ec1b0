use super::*;

#[test]
fn varints_round_trip_at_every_length() {
    for v in [
        0u64,
        1,
        127,
        128,
        16_383,
        16_384,
        u64::from(u32::MAX),
        u64::MAX,
    ] {
        let mut buf = Vec::new();
        put_varint(&mut buf, v);
        assert_eq!(buf.len(), varint_len(v), "{v}");
        let mut with_key = vec![key(1, VARINT)];
        with_key.extend_from_slice(&buf);
        let mut r = Reader::new(&with_key);
        assert_eq!(r.next_field(), Ok(Some((1, Value::Varint(v)))));
        assert_eq!(r.next_field(), Ok(None));
    }
}

#[test]
fn unknown_groups_are_skipped_and_bad_keys_refused() {
    // field 3 start group { field 1 varint 5 } end group, then field 2 bytes "ab"
    let msg = [3 << 3 | 3, 1 << 3, 5, 3 << 3 | 4, 2 << 3 | 2, 2, b'a', b'b'];
    let mut r = Reader::new(&msg);
    assert_eq!(r.next_field(), Ok(Some((2, Value::Len(b"ab")))));
    assert_eq!(r.next_field(), Ok(None));
    for bad in [
        &[0u8, 1][..],
        &[1 << 3 | 6],
        &[1 << 3 | 4],
        &[1 << 3 | 2, 5, b'a'],
    ] {
        assert!(Reader::new(bad).next_field().is_err(), "{bad:?}");
    }
    let eleven = [
        1 << 3,
        0xff,
        0xff,
        0xff,
        0xff,
        0xff,
        0xff,
        0xff,
        0xff,
        0xff,
        0x02,
    ];
    assert_eq!(Reader::new(&eleven).next_field(), Err(WireError::Varint));
}

#[test]
fn typed_accessors_check_the_wire_type() {
    assert_eq!(Value::Varint(3).varint(1), Ok(3));
    assert!(Value::Varint(3).fixed64(1).is_err());
    assert_eq!(Value::Len(b"x").string(1), Ok("x"));
    assert_eq!(Value::Len(&[0xff]).string(1), Err(WireError::Utf8));
}
