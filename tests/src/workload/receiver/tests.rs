//! Tests of the counting receivers over real HTTP: ids counted from plain and gzip bodies,
//! nothing counted while a fault mode refuses.

use std::io::Write as _;

use super::{Mode, Protocol, Receiver};
use crate::http;

fn gzip(body: &[u8]) -> Vec<u8> {
    let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    e.write_all(body).expect("gzip");
    e.finish().expect("gzip")
}

#[test]
fn hec_counts_ids_of_gzip_bodies_and_refuses_in_fault_modes() {
    let rx = Receiver::start(Protocol::Hec);
    let addr = rx.addr.to_string();
    let body = gzip(br#"{"event":"sq=1 a"}{"event":{"msg":"sq=2 b"}}"#);
    let r = http(
        &addr,
        "POST",
        "/services/collector/event",
        &[("Content-Encoding", "gzip")],
        &body,
    )
    .expect("post");
    assert_eq!(
        (r.status, r.body.as_str()),
        (200, r#"{"text":"Success","code":0}"#)
    );
    rx.set_mode(Mode::Status(503));
    let r = http(&addr, "POST", "/services/collector/event", &[], b"sq=3").expect("post");
    assert_eq!((r.status, r.header("retry-after")), (503, Some("1")));
    rx.set_mode(Mode::Down);
    assert!(http(&addr, "POST", "/services/collector/event", &[], b"sq=3").is_err());
    rx.set_mode(Mode::Normal);
    let v = rx.tally.verdict(3);
    assert_eq!((v.lost, v.duplicated), (1, 0));
    assert_eq!(rx.tally.missing(3, 5), vec![0]);
}

#[test]
fn line_protocol_counts_ids() {
    let rx = Receiver::start(Protocol::LineProtocol);
    let body = b"logs,host=a message=\"sq=0 x\" 1\nlogs,host=a message=\"sq=1 y\" 2\n";
    let r = http(&rx.addr.to_string(), "POST", "/write?db=x", &[], body).expect("post");
    assert_eq!(r.status, 204);
    assert_eq!(rx.tally.verdict(2).lost, 0);
}

#[test]
fn remote_write_maps_series_and_generations_to_ids() {
    let rx = Receiver::start(Protocol::RemoteWrite {
        series: 2,
        base_ms: 1_000_000,
    });
    // Two series, generation 1 and 2 of the first, generation 1 of the second.
    let series = |name: &[u8], samples: &[i64]| {
        let label = [&[0x0a, 8][..], b"__name__", &[0x12, name.len() as u8], name].concat();
        let mut ts = [&[0x0a, label.len() as u8][..], &label].concat();
        for &t in samples {
            let mut s = vec![0x09];
            s.extend_from_slice(&1.0f64.to_le_bytes());
            s.push(0x10);
            let mut v = t as u64;
            while v >= 0x80 {
                s.push((v as u8) | 0x80);
                v >>= 7;
            }
            s.push(v as u8);
            ts.extend_from_slice(&[0x12, s.len() as u8]);
            ts.extend_from_slice(&s);
        }
        [&[0x0a, ts.len() as u8][..], &ts].concat()
    };
    let req = [
        series(b"wl_a", &[1_001_000, 1_002_000]),
        series(b"wl_b", &[1_001_000]),
        series(b"up", &[1_001_500]),
    ]
    .concat();
    let body = snap::raw::Encoder::new()
        .compress_vec(&req)
        .expect("snappy");
    let r = http(&rx.addr.to_string(), "POST", "/api/v1/write", &[], &body).expect("post");
    assert_eq!(r.status, 204);
    let v = rx.tally.verdict(4);
    assert_eq!((v.lost, v.duplicated, v.unexpected), (1, 0, 0));
    assert_eq!(rx.other_samples(), 1);
}
