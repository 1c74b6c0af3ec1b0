//! Memory bounds of a write: a body goes into the pipeline in pieces, never as one batch,
//! and the bodies held at once are bounded by `max_body_size`.

use std::fmt::Write as _;

use super::*;

/// Receives the next batch without acknowledging it.
async fn next_envelope(rx: &mut mpsc::Receiver<Envelope>) -> Envelope {
    tokio::time::timeout(WAIT, rx.recv())
        .await
        .expect("a batch")
        .expect("open")
}

#[tokio::test]
async fn a_large_body_goes_in_pieces_and_is_answered_once_every_piece_is_taken() {
    let mut h = start(&format!("{LISTEN}max_body_size = \"1MiB\"\n")).await;
    let body: String = (0..20_000).map(|i| format!("cpu n={i}i {i}\n")).collect();
    assert!(body.len() > ingest::BLOCKING_THRESHOLD);
    let pending = post(h.addr, "/write", &[], body);
    let (mut seen, mut tokens) = (0i64, Vec::new());
    while seen < 20_000 {
        let env = next_envelope(&mut h.rx).await;
        let Batch::Metrics(m) = &env.batch else {
            panic!("metrics expected")
        };
        assert!(m.len() <= 1_000, "a batch of {} lines", m.len());
        assert_eq!(m[0].timestamp, seen, "pieces out of order");
        seen += m.len() as i64;
        tokens.push(env.ack.expect("a token per piece"));
    }
    assert_eq!(seen, 20_000);
    // Every piece is in the pipeline, none taken yet: no answer.
    let last = tokens.pop().expect("pieces");
    for t in tokens {
        t.ack();
    }
    tokio::task::yield_now().await;
    assert!(
        !pending.is_finished(),
        "answered before the last piece was taken"
    );
    last.ack();
    assert_eq!(answer(pending).await.status, StatusCode::NO_CONTENT);
    stop(h).await;
}

#[tokio::test]
async fn bad_lines_in_later_pieces_are_named_by_their_line_in_the_body() {
    let mut h = start(LISTEN).await;
    let mut body = String::new();
    for i in 1..=5_000 {
        if i == 2_500 || i == 4_000 {
            body.push_str("broken\n");
        } else {
            writeln!(body, "m n={i}i {i}").expect("write to a string");
        }
    }
    let gz = gzip(body.as_bytes());
    let pending = post(h.addr, "/write", &[("content-encoding", "gzip")], gz);
    let mut got = 0;
    while got < 4_998 {
        got += take(&mut h.rx).await.len();
    }
    let a = answer(pending).await;
    assert_eq!(a.status, StatusCode::BAD_REQUEST);
    assert!(a.error().contains("(line 2500); dropped=2"), "{}", a.body);
    assert_eq!(h.metrics.dropped_count("malformed"), 2);
    stop(h).await;
}

#[tokio::test]
async fn bodies_held_at_once_total_at_most_max_body_size() {
    let mut h = start(&format!(
        "{LISTEN}max_body_size = \"64KiB\"\nread_timeout = \"300ms\"\n"
    ))
    .await;
    let line = "m v=1i 1\n";
    let lines = 40 * 1024 / line.len();
    let body = line.repeat(lines);
    // The first write's pieces fill the pipeline (capacity 4, nobody reading): it waits with
    // its last piece unsent, so it still holds its 40 KiB.
    let first = post(h.addr, "/write", &[], body.clone());
    let deadline = tokio::time::Instant::now() + WAIT;
    while h.metrics.snapshot().events_sent < 4_000 {
        assert!(
            tokio::time::Instant::now() < deadline,
            "the first write never filled the pipeline"
        );
        tokio::task::yield_now().await;
    }
    // A second 40 KiB does not fit beside it: 503 + Retry-After once read_timeout passed,
    // and nothing of it read.
    let a = answer(post(h.addr, "/write", &[], body.clone())).await;
    assert_eq!(a.status, StatusCode::SERVICE_UNAVAILABLE, "{}", a.body);
    assert_eq!(a.headers["retry-after"], "1");
    assert!(a.error().contains("request bodies"), "{}", a.body);
    assert_eq!(h.metrics.snapshot().events_received, lines as u64);
    // The first is taken and answered; then there is room again.
    let mut got = 0;
    while got < lines {
        got += take(&mut h.rx).await.len();
    }
    assert_eq!(answer(first).await.status, StatusCode::NO_CONTENT);
    let again = post(h.addr, "/write", &[], body);
    let mut got = 0;
    while got < lines {
        got += take(&mut h.rx).await.len();
    }
    assert_eq!(answer(again).await.status, StatusCode::NO_CONTENT);
    stop(h).await;
}

#[tokio::test]
async fn a_plain_body_is_cut_as_it_arrives() {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let mut h = start(LISTEN).await;
    let body: String = (0..4_000).map(|i| format!("m n={i}i {i}\n")).collect();
    let mut client = TcpStream::connect(h.addr).await.unwrap();
    let head = format!(
        "POST /write HTTP/1.1\r\nhost: x\r\ncontent-length: {}\r\n\r\n",
        body.len()
    );
    client.write_all(head.as_bytes()).await.unwrap();
    // The first half: its pieces go out while the rest has not been sent.
    let half = body.len() / 2;
    client.write_all(&body.as_bytes()[..half]).await.unwrap();
    let first = take(&mut h.rx).await;
    assert_eq!(first.len(), 1_000);
    assert_eq!(first[0].timestamp, 0);
    client.write_all(&body.as_bytes()[half..]).await.unwrap();
    let mut got = first.len();
    while got < 4_000 {
        got += take(&mut h.rx).await.len();
    }
    let mut answer = vec![0; 12];
    client.read_exact(&mut answer).await.unwrap();
    assert_eq!(&answer, b"HTTP/1.1 204");
    stop(h).await;
}
