//! A metrics endpoint for the `inputs.prometheus` end-to-end tests (plain HTTP/1.1 on
//! 127.0.0.1, one thread per connection; the formats are in docs/protocols.md): it serves a
//! fixed page with a content type, garbage, or never answers. Also an independent reference
//! reader of exposition text (series name, labels, value as written) to compare what the
//! agent shipped with a direct scrape, and a generator of large pages.

use std::collections::BTreeMap;
use std::io::{Read, Write};
use std::net::TcpListener;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

/// What the endpoint answers.
#[derive(Debug, Clone)]
pub enum Page {
    /// 200 with this `Content-Type` and body.
    Body(&'static str, String),
    /// Reads the request, never answers (until the test ends).
    Hang,
}

/// A running endpoint; stops accepting when dropped.
pub struct Exposition {
    /// `http://127.0.0.1:<port>/metrics`.
    pub url: String,
    /// `127.0.0.1:<port>`.
    pub addr: String,
    page: Arc<Mutex<Page>>,
    requests: Arc<AtomicUsize>,
}

impl Exposition {
    /// Starts serving `page`.
    ///
    /// # Panics
    /// When it cannot bind.
    pub fn start(page: Page) -> Exposition {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
        let addr = listener.local_addr().expect("addr").to_string();
        let page = Arc::new(Mutex::new(page));
        let requests = Arc::new(AtomicUsize::new(0));
        let (p, n) = (Arc::clone(&page), Arc::clone(&requests));
        std::thread::spawn(move || {
            for conn in listener.incoming() {
                let Ok(mut sock) = conn else { return };
                let (p, n) = (Arc::clone(&p), Arc::clone(&n));
                std::thread::spawn(move || {
                    let mut head = Vec::new();
                    let mut buf = [0u8; 4096];
                    while !head.windows(4).any(|w| w == b"\r\n\r\n") {
                        match sock.read(&mut buf) {
                            Ok(0) | Err(_) => return,
                            Ok(k) => head.extend_from_slice(&buf[..k]),
                        }
                    }
                    n.fetch_add(1, Ordering::SeqCst);
                    let page = p.lock().expect("lock").clone();
                    match page {
                        Page::Hang => {
                            // Hold the connection open without answering.
                            let _ignored = sock.read(&mut buf);
                            std::thread::sleep(std::time::Duration::from_secs(600));
                        }
                        Page::Body(ct, body) => {
                            let head = format!(
                                "HTTP/1.1 200 OK\r\nContent-Type: {ct}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
                                body.len()
                            );
                            let _sent = sock.write_all(head.as_bytes()).is_ok()
                                && sock.write_all(body.as_bytes()).is_ok();
                        }
                    }
                });
            }
        });
        Exposition {
            url: format!("http://{addr}/metrics"),
            addr,
            page,
            requests,
        }
    }

    /// Requests answered (or hung) so far.
    pub fn requests(&self) -> usize {
        self.requests.load(Ordering::SeqCst)
    }

    /// Changes the page.
    pub fn set(&self, page: Page) {
        *self.page.lock().expect("lock") = page;
    }
}

/// The `Accept` header `inputs.prometheus` sends (so a direct scrape gets the same format).
pub const ACCEPT: &str = "application/openmetrics-text;version=1.0.0;q=0.5,\
application/openmetrics-text;version=0.0.1;q=0.4,text/plain;version=0.0.4;q=0.3,*/*;q=0.2";

/// A series: name and labels (empty values left out).
pub type SeriesKey = (String, BTreeMap<String, String>);

/// Reads every sample line of a text 0.0.4 or OpenMetrics page: series → value as written.
/// Independent of the agent's parser, and only as strict as the tests need.
///
/// # Panics
/// On a line it cannot read.
pub fn read_page(page: &str) -> BTreeMap<SeriesKey, String> {
    let mut out = BTreeMap::new();
    for line in page.lines() {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let name_end = line.find(['{', ' ']).unwrap_or(line.len());
        let name = line[..name_end].to_owned();
        let mut rest = &line[name_end..];
        let mut labels = BTreeMap::new();
        if let Some(r) = rest.strip_prefix('{') {
            rest = r;
            loop {
                rest = rest.trim_start_matches([' ', ',']);
                if let Some(r) = rest.strip_prefix('}') {
                    rest = r;
                    break;
                }
                let eq = rest
                    .find('=')
                    .unwrap_or_else(|| panic!("no `=` in {line:?}"));
                let lname = rest[..eq].trim().to_owned();
                let mut chars = rest[eq + 1..]
                    .trim_start()
                    .strip_prefix('"')
                    .expect("quote")
                    .char_indices();
                let mut value = String::new();
                let body = rest[eq + 1..].trim_start();
                let end = loop {
                    match chars.next() {
                        Some((i, '"')) => break i,
                        Some((_, '\\')) => match chars.next() {
                            Some((_, 'n')) => value.push('\n'),
                            Some((_, c @ ('\\' | '"'))) => value.push(c),
                            Some((_, c)) => {
                                value.push('\\');
                                value.push(c);
                            }
                            None => panic!("unterminated value in {line:?}"),
                        },
                        Some((_, c)) => value.push(c),
                        None => panic!("unterminated value in {line:?}"),
                    }
                };
                rest = &body[end + 2..];
                if !value.is_empty() {
                    labels.insert(lname, value);
                }
            }
        }
        let value = rest.split_whitespace().next().expect("value").to_owned();
        out.insert((name, labels), value);
    }
    out
}

/// A text 0.0.4 page of `families` × `per_family` series (3 labels each; counters and
/// gauges alternate).
pub fn generated_page(families: usize, per_family: usize) -> String {
    let mut s = String::with_capacity(families * per_family * 90);
    for f in 0..families {
        let kind = if f % 2 == 0 { "counter" } else { "gauge" };
        s.push_str(&format!(
            "# HELP app_metric_{f} Generated family {f}.\n# TYPE app_metric_{f} {kind}\n"
        ));
        for i in 0..per_family {
            s.push_str(&format!(
                "app_metric_{f}{{namespace=\"ns-{}\",pod=\"pod-{f}-{i}\",container=\"app\"}} {}\n",
                i % 7,
                (f * 1000 + i) as f64 * 1.5
            ));
        }
    }
    s
}

/// Series names of a page that can only grow (counters, histogram buckets/count/sum, summary
/// count/sum, by its `# TYPE` lines): equal in two reads means unchanged in between.
pub fn monotonic_names(page: &str) -> std::collections::BTreeSet<String> {
    let mut out = std::collections::BTreeSet::new();
    for line in page.lines() {
        let mut parts = line.split_whitespace();
        if parts.next() != Some("#") || parts.next() != Some("TYPE") {
            continue;
        }
        let (Some(name), Some(kind)) = (parts.next(), parts.next()) else {
            continue;
        };
        let suffixes: &[&str] = match kind {
            "counter" => &["", "_total"],
            "histogram" => &["_bucket", "_count", "_sum"],
            "summary" => &["_count", "_sum"],
            _ => &[],
        };
        out.extend(suffixes.iter().map(|s| format!("{name}{s}")));
    }
    out
}
