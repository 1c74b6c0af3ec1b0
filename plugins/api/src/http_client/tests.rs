//! Unit tests of the shared HTTP client helpers, and of the client against a local server.

use std::io::Read as _;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, SystemTime};

use http::HeaderMap;

use super::*;

fn headers(retry_after: &str) -> HeaderMap {
    let mut h = HeaderMap::new();
    h.insert(
        http::header::RETRY_AFTER,
        retry_after.parse().expect("header value"),
    );
    h
}

#[test]
fn retry_after_seconds_and_dates() {
    let now = SystemTime::UNIX_EPOCH + Duration::from_secs(784_111_777); // 1994-11-06T08:49:37Z
    assert_eq!(
        retry_after(&headers("7"), now),
        Some(Duration::from_secs(7))
    );
    assert_eq!(
        retry_after(&headers("Sun, 06 Nov 1994 08:50:07 GMT"), now),
        Some(Duration::from_secs(30))
    );
    // A date in the past means "now".
    assert_eq!(
        retry_after(&headers("Sun, 06 Nov 1994 08:00:00 GMT"), now),
        Some(Duration::ZERO)
    );
    // Capped.
    assert_eq!(retry_after(&headers("86400"), now), Some(MAX_RETRY_AFTER));
    for bad in ["soon", "-1", "1.5", "Sun, 06 Nov 1994 25:00:00 GMT", ""] {
        assert_eq!(retry_after(&headers(bad), now), None, "{bad:?}");
    }
    assert_eq!(retry_after(&HeaderMap::new(), now), None);
}

#[test]
fn http_dates_match_the_calendar() {
    let t = parse_http_date("Thu, 01 Jan 1970 00:00:00 GMT").expect("epoch");
    assert_eq!(t, SystemTime::UNIX_EPOCH);
    let t = parse_http_date("Tue, 29 Feb 2028 12:00:01 GMT").expect("leap day");
    assert_eq!(
        t.duration_since(SystemTime::UNIX_EPOCH)
            .expect("after epoch"),
        Duration::from_secs(1_835_438_401)
    );
}

#[test]
fn query_values_are_percent_encoded() {
    let mut q = String::new();
    push_query(&mut q, "db", "my db/ü&x=1");
    push_query(&mut q, "precision", "ns");
    assert_eq!(q, "db=my%20db%2F%C3%BC%26x%3D1&precision=ns");
}

fn gunzip(z: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    let mut d = flate2::read::GzDecoder::new(z);
    d.read_to_end(&mut out).expect("gunzip");
    assert!(d.header().is_some(), "a gzip header");
    out
}

#[test]
fn gzip_round_trips() {
    let data = b"cpu usage=1 1\n".repeat(10_000);
    let z = gzip(&data);
    assert!(z.len() < data.len() / 10);
    assert_eq!(gunzip(&z), data);
}

/// Deflate states are shared by every thread and only a few are kept: gzipping on eight
/// threads, one after the other, leaves at most `KEPT_STATES` (a state per thread kept one
/// per thread that ever gzipped, about 400 KiB each); and a gzipped body holds no more
/// room than an eighth of its length (the output buffer was sized for a ratio of 8 and
/// kept whatever a body did not use: 128 KiB for a 1 MiB body that compressed to 3 KiB).
#[test]
fn gzip_keeps_few_states_and_no_spare_room() {
    let data = b"GET /api/v1/items 200 12ms\n".repeat(40_000);
    for _ in 0..8 {
        let d = data.clone();
        let z = std::thread::spawn(move || gzip(&d))
            .join()
            .expect("gzip thread");
        assert_eq!(gunzip(&z), data);
        assert!(
            z.capacity() <= z.len() + z.len() / 8,
            "{} bytes held for a {}-byte body",
            z.capacity(),
            z.len()
        );
    }
    assert!(
        gzip::kept_states() <= 2,
        "{} states kept",
        gzip::kept_states()
    );
}

/// The deflate state is reused: bodies of every size, one after another, each
/// come out as one whole gzip member (checked by CRC and length on the way back).
#[test]
fn gzip_reuses_its_state_across_bodies() {
    let mut seed = 7_u64;
    let noise: Vec<u8> = (0..3_000_000)
        .map(|_| {
            seed = seed.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(1);
            (seed >> 56) as u8
        })
        .collect();
    for data in [
        &b""[..],
        b"x",
        &noise[..100_000],
        b"same line\n",
        &noise[..],
        &noise[17..1_000],
    ] {
        assert_eq!(gunzip(&gzip(data)), data, "{} bytes", data.len());
    }
}

#[test]
fn urls_are_checked() {
    assert!(parse_url("http://127.0.0.1:8086").is_ok());
    assert!(parse_url("https://splunk:8088/").is_ok());
    assert!(parse_url("ftp://x").is_err());
    assert!(parse_url("localhost:8086").is_err());
    assert!(parse_url("not a url").is_err());
    let base = parse_url("https://h:1/prefix/").expect("url");
    assert_eq!(join_path(&base, "/write"), "/prefix/write");
    let u = with_path(&base, "/prefix/write", "db=x");
    assert_eq!(u.to_string(), "https://h:1/prefix/write?db=x");
}

#[test]
fn excerpts_are_cut() {
    let long = "é".repeat(600);
    let e = excerpt(long.as_bytes());
    assert_eq!(e.chars().count(), 513);
    assert_eq!(excerpt(b"  {\"error\":\"x\"}\n"), "{\"error\":\"x\"}");
}

#[test]
fn tls_settings_need_both_cert_and_key() {
    let mut t = TlsSettings {
        cert_file: Some("c.pem".into()),
        ..TlsSettings::default()
    };
    assert!(t.validate().is_err());
    t.key_file = Some("k.pem".into());
    assert!(t.validate().is_ok());
}

#[test]
fn a_missing_ca_file_is_a_build_error() {
    let settings = ClientSettings {
        timeout: Duration::from_secs(1),
        idle_per_host: DEFAULT_IDLE_PER_HOST,
        tls: TlsSettings {
            ca_file: Some("/nonexistent/ca.pem".into()),
            ..TlsSettings::default()
        },
    };
    let err = HttpClient::new(&settings).expect_err("missing file");
    assert!(err.to_string().contains("/nonexistent/ca.pem"), "{err}");
}

#[tokio::test]
async fn secret_files_are_reread_when_changed() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("token");
    std::fs::write(&path, "first\n").expect("write");
    let mut s = SecretSource::file(&path);
    assert_eq!(s.current().await.expect("read").expose(), "first");
    // The same watcher tells this test and the secret: once the test hears of the change,
    // so has the secret.
    let mut heard = crate::file_watch::FileWatch::global().watch(&path);
    assert!(heard.is_live());
    std::fs::write(&path, "second-token\n").expect("write");
    let wait = Duration::from_secs(10);
    tokio::time::timeout(wait, async {
        while s.current().await.expect("read").expose() != "second-token" {
            heard.changed().await;
        }
    })
    .await
    .expect("the new token is read after the watcher's event");
    std::fs::remove_file(&path).expect("rm");
    let err = tokio::time::timeout(wait, async {
        loop {
            match s.current().await {
                Err(e) => break e,
                Ok(_) => heard.changed().await,
            }
        }
    })
    .await
    .expect("the removal is seen");
    assert!(!format!("{err:?}").contains("second-token"));
}

#[tokio::test]
async fn an_unwatched_secret_file_is_checked_on_use() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("token");
    std::fs::write(&path, "first\n").expect("write");
    let mut s = SecretSource::File {
        path: path.clone(),
        cached: None,
        watched: Some(crate::file_watch::Watched::dead()),
    };
    assert_eq!(s.current().await.expect("read").expose(), "first");
    std::fs::write(&path, "second-token\n").expect("write");
    assert_eq!(s.current().await.expect("read").expose(), "second-token");
}

#[tokio::test]
async fn timeouts_and_refused_connections_are_errors() {
    // A listener that accepts and never answers.
    let l = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let addr = l.local_addr().expect("addr");
    let hold = tokio::spawn(async move {
        let mut held = Vec::new();
        while let Ok((s, _)) = l.accept().await {
            held.push(s);
        }
    });
    let client = HttpClient::new(&ClientSettings {
        timeout: Duration::from_millis(200),
        idle_per_host: DEFAULT_IDLE_PER_HOST,
        tls: TlsSettings::default(),
    })
    .expect("client");
    let req = |a: &str| {
        http::Request::post(format!("http://{a}/write"))
            .body(Full::new(Bytes::from_static(b"x")))
            .expect("request")
    };
    let err = client
        .send(req(&addr.to_string()))
        .await
        .expect_err("timeout");
    assert!(matches!(err, RequestError::Timeout { .. }), "{err}");
    hold.abort();
    // A port nobody listens on.
    let free = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let port = free.local_addr().expect("addr").port();
    drop(free);
    let err = client
        .send(req(&format!("127.0.0.1:{port}")))
        .await
        .expect_err("refused");
    assert!(matches!(err, RequestError::Transport { .. }), "{err}");
    assert!(err.to_string().contains("127.0.0.1"), "{err}");
}

#[test]
fn base64_matches_rfc4648() {
    for (plain, enc) in [
        ("", ""),
        ("f", "Zg=="),
        ("fo", "Zm8="),
        ("foo", "Zm9v"),
        ("foob", "Zm9vYg=="),
        ("fooba", "Zm9vYmE="),
        ("foobar", "Zm9vYmFy"),
    ] {
        assert_eq!(base64(plain.as_bytes()), enc);
    }
    let h = basic_auth("user", "pa:ss").expect("header");
    assert_eq!(h.to_str().expect("ascii"), "Basic dXNlcjpwYTpzcw==");
    assert!(h.is_sensitive());
    assert!(sensitive_header("bad\nvalue").is_none());
}

/// Reads a request's head (a bodiless request: up to its blank line); false once the
/// client has gone.
async fn read_request_head(s: &mut tokio::net::TcpStream) -> bool {
    use tokio::io::AsyncReadExt as _;
    let mut head = Vec::new();
    let mut byte = [0u8; 1];
    while !head.ends_with(b"\r\n\r\n") {
        if s.read(&mut byte).await.unwrap_or(0) == 0 {
            return false;
        }
        head.push(byte[0]);
    }
    true
}

/// A one-shot HTTP/1.1 server answering every request with `body` (200, Content-Length).
async fn serve_body(body: Vec<u8>) -> std::net::SocketAddr {
    use tokio::io::AsyncWriteExt as _;
    let l = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let addr = l.local_addr().expect("addr");
    tokio::spawn(async move {
        while let Ok((mut s, _)) = l.accept().await {
            let body = body.clone();
            tokio::spawn(async move {
                if !read_request_head(&mut s).await {
                    return;
                }
                let resp = format!("HTTP/1.1 200 OK\r\nContent-Length: {}\r\n\r\n", body.len());
                // The client may hang up early (over its limit): ignore write errors.
                if s.write_all(resp.as_bytes()).await.is_ok() {
                    drop(s.write_all(&body).await);
                }
            });
        }
    });
    addr
}

#[tokio::test]
async fn send_with_limit_reads_large_bodies_whole_and_refuses_larger_ones() {
    let body: Vec<u8> = (0..3 * MAX_RESPONSE_BODY + 17)
        .map(|i| (i % 251) as u8)
        .collect();
    let addr = serve_body(body.clone()).await;
    let client = HttpClient::new(&ClientSettings {
        timeout: Duration::from_secs(10),
        idle_per_host: DEFAULT_IDLE_PER_HOST,
        tls: TlsSettings::default(),
    })
    .expect("client");
    let get = || {
        http::Request::get(format!("http://{addr}/stats/summary"))
            .body(Full::new(Bytes::new()))
            .expect("request")
    };
    // Whole, at the exact limit and above it.
    for limit in [body.len(), body.len() + 1, 64 * 1024 * 1024] {
        let r = client.send_with_limit(get(), limit).await.expect("answer");
        assert_eq!(r.status, StatusCode::OK);
        assert_eq!(r.body.len(), body.len(), "limit {limit}");
        assert!(r.body[..] == body[..]);
    }
    // One byte over: an error naming the limit, not a truncated body.
    let err = client
        .send_with_limit(get(), body.len() - 1)
        .await
        .expect_err("too large");
    assert!(
        matches!(err, RequestError::TooLarge { limit, .. } if limit == body.len() - 1),
        "{err}"
    );
    assert!(err.to_string().contains("/stats/summary"), "{err}");
    // Plain `send` still cuts at MAX_RESPONSE_BODY.
    let r = client.send(get()).await.expect("answer");
    assert_eq!(r.body.len(), MAX_RESPONSE_BODY);
    assert!(r.body[..] == body[..MAX_RESPONSE_BODY]);
}

#[tokio::test]
async fn a_changed_ca_file_makes_the_client_again() {
    let dir = tempfile::tempdir().expect("tempdir");
    let ca = dir.path().join("ca.pem");
    let pem = std::fs::read(concat!(env!("CARGO_MANIFEST_DIR"), "/testdata/tls/ca.pem"))
        .expect("fixture");
    std::fs::write(&ca, &pem).expect("write");
    let mut lazy = LazyClient::new(ClientSettings {
        timeout: Duration::from_secs(1),
        idle_per_host: DEFAULT_IDLE_PER_HOST,
        tls: TlsSettings {
            ca_file: Some(ca.clone()),
            ..TlsSettings::default()
        },
    });
    lazy.get().expect("client");
    assert!(lazy.is_current());
    let mut heard = crate::file_watch::FileWatch::global().watch(&ca);
    let wait = Duration::from_secs(10);
    // A broken file: the running client is kept.
    std::fs::write(&ca, "not a certificate").expect("write");
    tokio::time::timeout(wait, heard.changed())
        .await
        .expect("event");
    assert!(!lazy.is_current(), "the change was heard");
    lazy.get().expect("the running client is kept");
    // Fixed: the client is made again from the new contents.
    std::fs::write(&ca, &pem).expect("write");
    tokio::time::timeout(wait, async {
        while lazy.is_current() {
            heard.changed().await;
        }
    })
    .await
    .expect("event");
    lazy.get().expect("client made again");
    assert!(lazy.is_current());
}

/// Every level makes a gzip member that round-trips; level 0 stores (no smaller than the
/// input), higher levels are no larger than level 1 on repetitive text, and the header's XFL
/// says fastest (4) at 1 and best (2) at 9.
#[test]
fn gzip_levels_trade_size_for_cpu() {
    let data: Vec<u8> = (0..20_000)
        .flat_map(|i| {
            format!(
                "{{\"time\":{i},\"event\":\"GET /api/v1/items/{}\"}}\n",
                i % 97
            )
            .into_bytes()
        })
        .collect();
    let sizes: Vec<usize> = (0..=MAX_GZIP_LEVEL)
        .map(|level| {
            let z = gzip_level(&data, level);
            assert_eq!(gunzip(&z), data, "level {level}");
            z.len()
        })
        .collect();
    assert!(sizes[0] > data.len(), "stored: {sizes:?}");
    assert!(sizes[1] < data.len() / 5, "{sizes:?}");
    assert!(sizes[9] <= sizes[1], "{sizes:?}");
    assert_eq!(gzip_level(&data, 1)[8], 4);
    assert_eq!(gzip_level(&data, 9)[8], 2);
    assert_eq!(gzip_level(&data, 42), gzip_level(&data, 9), "clamped to 9");
    assert_eq!(gzip(&data), gzip_level(&data, DEFAULT_GZIP_LEVEL));
}

/// A keep-alive HTTP/1.1 server that answers each burst of `burst` requests only once all
/// of them have arrived (so a client must have them in flight together), counting the
/// connections it accepts.
async fn serve_bursts(burst: usize) -> (std::net::SocketAddr, Arc<AtomicUsize>) {
    use tokio::io::AsyncWriteExt as _;
    let l = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let addr = l.local_addr().expect("addr");
    let accepted = Arc::new(AtomicUsize::new(0));
    let barrier = Arc::new(tokio::sync::Barrier::new(burst));
    let count = Arc::clone(&accepted);
    tokio::spawn(async move {
        while let Ok((mut s, _)) = l.accept().await {
            count.fetch_add(1, Ordering::SeqCst);
            let barrier = Arc::clone(&barrier);
            tokio::spawn(async move {
                while read_request_head(&mut s).await {
                    barrier.wait().await;
                    let resp = b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok";
                    if s.write_all(resp).await.is_err() {
                        return;
                    }
                }
            });
        }
    });
    (addr, accepted)
}

/// Sends two bursts of `burst` requests at once; the connections the server accepted.
async fn connections_for_two_bursts(burst: usize, idle_per_host: usize) -> usize {
    let (addr, accepted) = serve_bursts(burst).await;
    let client = HttpClient::new(&ClientSettings {
        timeout: Duration::from_secs(10),
        idle_per_host,
        tls: TlsSettings::default(),
    })
    .expect("client");
    for _ in 0..2 {
        let sends: Vec<_> = (0..burst)
            .map(|_| {
                let client = client.clone();
                let req = http::Request::get(format!("http://{addr}/"))
                    .body(Full::new(Bytes::new()))
                    .expect("request");
                tokio::spawn(async move { client.send(req).await })
            })
            .collect();
        for s in sends {
            let r = s.await.expect("task");
            assert_eq!(r.expect("answer").status, 200);
        }
    }
    accepted.load(Ordering::SeqCst)
}

#[tokio::test]
async fn connections_stay_open_for_as_many_requests_as_are_sent_at_once() {
    // Kept idle for the next burst: no new connection (and no new TLS handshake).
    assert_eq!(connections_for_two_bursts(6, 6).await, 6);
    // Fewer kept than sent at once: the next burst opens the others again.
    assert!(connections_for_two_bursts(6, 2).await > 6);
}
