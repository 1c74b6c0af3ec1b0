//! `GET /tap?components=<globs>&limit=<n>&wait_ms=<ms>&format=json|influx` on the telemetry
//! listener: 403 to a
//! client that is not on this host, 404 while `agent.tap` is off, 429 when
//! [`super::MAX_CLIENTS`] clients already wait, 400 without components; else 200 with the
//! events taken, one JSON line each (`application/x-ndjson`).

use std::net::SocketAddr;
use std::time::Duration;

use bytes::Bytes;
use gleaner_api::glob::Glob;
use http_body_util::Full;
use hyper::{Response, StatusCode};

use super::{TapRefused, hub};

fn answer(status: StatusCode, content_type: &'static str, body: String) -> Response<Full<Bytes>> {
    let mut resp = Response::new(Full::new(Bytes::from(body)));
    *resp.status_mut() = status;
    resp.headers_mut().insert(
        hyper::header::CONTENT_TYPE,
        hyper::header::HeaderValue::from_static(content_type),
    );
    resp
}

/// `%XX` and `+` undone; a bad escape is kept as written.
fn decode(s: &str) -> String {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        match b[i] {
            b'+' => out.push(b' '),
            b'%' if i + 2 < b.len() => {
                match u8::from_str_radix(std::str::from_utf8(&b[i + 1..i + 3]).unwrap_or(""), 16) {
                    Ok(v) => {
                        out.push(v);
                        i += 2;
                    }
                    Err(_) => out.push(b'%'),
                }
            }
            c => out.push(c),
        }
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// The value of `key` in a query string.
fn param(query: &str, key: &str) -> Option<String> {
    query
        .split('&')
        .filter_map(|kv| kv.split_once('='))
        .find(|(k, _)| *k == key)
        .map(|(_, v)| decode(v))
}

/// Answers one `/tap` request from `peer`.
pub async fn serve(query: Option<&str>, peer: SocketAddr) -> Response<Full<Bytes>> {
    if !peer.ip().is_loopback() {
        return answer(
            StatusCode::FORBIDDEN,
            "text/plain",
            "tap answers clients on this host only\n".into(),
        );
    }
    let query = query.unwrap_or("");
    let globs: Vec<Glob> = param(query, "components")
        .unwrap_or_default()
        .split(',')
        .map(str::trim)
        .filter(|g| !g.is_empty())
        .map(Glob::new)
        .collect();
    if globs.is_empty() {
        return answer(
            StatusCode::BAD_REQUEST,
            "text/plain",
            "name components: /tap?components=inputs.tail.*\n".into(),
        );
    }
    let limit = param(query, "limit")
        .and_then(|v| v.parse().ok())
        .unwrap_or(100);
    let wait = param(query, "wait_ms")
        .and_then(|v| v.parse().ok())
        .map_or(Duration::from_secs(1), Duration::from_millis);
    let influx = match param(query, "format").as_deref() {
        None | Some("json") => false,
        Some("influx") => true,
        Some(other) => {
            return answer(
                StatusCode::BAD_REQUEST,
                "text/plain",
                format!("format {other:?}: json or influx\n"),
            );
        }
    };
    match hub().collect(globs, limit, wait, influx).await {
        Ok(lines) => answer(StatusCode::OK, "application/x-ndjson", lines.concat()),
        Err(e @ TapRefused::Off) => answer(StatusCode::NOT_FOUND, "text/plain", format!("{e}\n")),
        Err(e @ TapRefused::Busy) => answer(
            StatusCode::TOO_MANY_REQUESTS,
            "text/plain",
            format!("{e}\n"),
        ),
    }
}
