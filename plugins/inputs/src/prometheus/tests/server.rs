//! A scripted metrics endpoint on 127.0.0.1:0 for the scrape tests: answers every request
//! with the current [`Reply`] (a page, optionally gzipped; a status; or no answer at all)
//! and records the request heads it saw.

use std::sync::{Arc, Mutex};

use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
use tokio::net::TcpListener;

/// What the endpoint answers.
#[derive(Debug, Clone)]
pub(super) enum Reply {
    /// 200 with this content type and body.
    Page {
        content_type: &'static str,
        body: Vec<u8>,
        gzip: bool,
    },
    /// This status, empty body.
    Status(u16),
    /// Reads the request and never answers.
    Hang,
}

/// A running endpoint.
pub(super) struct Server {
    pub(super) url: String,
    reply: Arc<Mutex<Reply>>,
    requests: Arc<Mutex<Vec<String>>>,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for Server {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl Server {
    pub(super) async fn start(reply: Reply) -> Server {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let url = format!("http://{}/metrics", listener.local_addr().expect("addr"));
        let reply = Arc::new(Mutex::new(reply));
        let requests = Arc::new(Mutex::new(Vec::new()));
        let (r, q) = (Arc::clone(&reply), Arc::clone(&requests));
        let task = tokio::spawn(async move {
            loop {
                let Ok((mut sock, _)) = listener.accept().await else {
                    return;
                };
                let (r, q) = (Arc::clone(&r), Arc::clone(&q));
                tokio::spawn(async move {
                    let mut head = Vec::new();
                    let mut buf = [0u8; 1024];
                    while !head.windows(4).any(|w| w == b"\r\n\r\n") {
                        match sock.read(&mut buf).await {
                            Ok(0) | Err(_) => return,
                            Ok(n) => head.extend_from_slice(&buf[..n]),
                        }
                    }
                    q.lock()
                        .expect("lock")
                        .push(String::from_utf8_lossy(&head).into_owned());
                    let reply = r.lock().expect("lock").clone();
                    let (status, ct, body, gzip) = match reply {
                        Reply::Hang => {
                            std::future::pending::<()>().await;
                            return;
                        }
                        Reply::Status(s) => (s, "text/plain", Vec::new(), false),
                        Reply::Page {
                            content_type,
                            body,
                            gzip,
                        } => (200, content_type, body, gzip),
                    };
                    let body = if gzip {
                        gleaner_api::http_client::gzip(&body)
                    } else {
                        body
                    };
                    let mut resp = format!(
                        "HTTP/1.1 {status} X\r\nContent-Type: {ct}\r\nContent-Length: {}\r\nConnection: close\r\n",
                        body.len()
                    );
                    if gzip {
                        resp.push_str("Content-Encoding: gzip\r\n");
                    }
                    resp.push_str("\r\n");
                    let _sent = sock.write_all(resp.as_bytes()).await.is_ok()
                        && sock.write_all(&body).await.is_ok();
                    let _closed = sock.shutdown().await.is_ok();
                });
            }
        });
        Server {
            url,
            reply,
            requests,
            task,
        }
    }

    pub(super) fn set(&self, reply: Reply) {
        *self.reply.lock().expect("lock") = reply;
    }

    pub(super) fn requests(&self) -> Vec<String> {
        self.requests.lock().expect("lock").clone()
    }
}
