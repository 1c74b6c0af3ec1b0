//! One POST of an HTTP output: the client made on first use (`build` does no I/O), the
//! output's extra headers, `User-Agent`, the authorization, the body's `Content-Encoding`,
//! and every failure before an answer turned into a retryable error named for the output.
//! What the answer means is the output's to judge.

use std::sync::{Arc, Mutex, PoisonError};

use bytes::Bytes;
use gleaner_api::OutputError;
use http::{HeaderName, HeaderValue, Request, header};
use http_body_util::Full;
use tracing::error;

use super::auth::Auth;
use super::options::HttpOptions;
use crate::http_client::{LazyClient, Response, USER_AGENT, gzip_async};

/// A request body and its `Content-Encoding` (`None`: identity).
#[derive(Debug, Clone)]
pub(crate) struct Body {
    pub(crate) bytes: Bytes,
    pub(crate) encoding: Option<&'static str>,
}

impl Body {
    /// A body sent as it is.
    pub(crate) fn identity(bytes: Bytes) -> Body {
        Body {
            bytes,
            encoding: None,
        }
    }
}

/// Posts requests for one output. A clone (for a request beside this one's) shares the
/// client, made or not yet: one connection pool and one TLS configuration (root store
/// included, about 30 KiB) per output, however many requests it has in flight. (Clones made
/// before the first request, as the worker's lanes are, each made their own.)
#[derive(Clone)]
pub(crate) struct Sender {
    name: &'static str,
    http: Arc<Mutex<LazyClient>>,
    headers: Vec<(HeaderName, HeaderValue)>,
    auth: Auth,
    gzip: Option<u32>,
}

impl Sender {
    pub(crate) fn new(name: &'static str, options: &HttpOptions, auth: Auth) -> Self {
        Sender {
            name,
            http: Arc::new(Mutex::new(LazyClient::new(options.client.clone()))),
            headers: options.headers.clone(),
            auth,
            gzip: options.gzip,
        }
    }

    /// `bytes` in the configured `content_encoding`: gzipped at `compression_level` (off the
    /// runtime threads when large) or as they are.
    pub(crate) async fn encode_body(&self, bytes: Bytes) -> Body {
        match self.compress(&bytes).await {
            Some(gz) => self.wire_body(gz),
            None => Body::identity(bytes),
        }
    }

    /// `bytes` gzipped at `compression_level` when the output gzips its bodies; `None` when
    /// it sends them as they are.
    pub(crate) async fn compress(&self, bytes: &Bytes) -> Option<Bytes> {
        let level = self.gzip?;
        Some(gzip_async(bytes.clone(), level).await)
    }

    /// A body of `bytes` already in the configured `content_encoding` (what
    /// [`Sender::compress`] made, or the encoding as it is when nothing is compressed).
    pub(crate) fn wire_body(&self, bytes: Bytes) -> Body {
        Body {
            bytes,
            encoding: self.gzip.map(|_| "gzip"),
        }
    }

    /// The encoding inside a body [`Sender::wire_body`] sends: `bytes` gunzipped when the
    /// output gzips. Only for the rare paths that must look inside a sent body (a resend of
    /// part of it); an error means the bytes were not what this sender made.
    pub(crate) fn plain_body(&self, bytes: &Bytes) -> std::io::Result<Bytes> {
        use std::io::Read as _;
        if self.gzip.is_none() {
            return Ok(bytes.clone());
        }
        let mut out = Vec::with_capacity(bytes.len().saturating_mul(8));
        flate2::read::MultiGzDecoder::new(&bytes[..]).read_to_end(&mut out)?;
        Ok(out.into())
    }

    /// True when `other` posts through the same client as this sender (tests).
    #[cfg(test)]
    pub(crate) fn shares_client_with(&self, other: &Sender) -> bool {
        Arc::ptr_eq(&self.http, &other.http)
    }

    /// Posts `body` to `uri` with `content_type`, the output's headers, the authorization,
    /// and `extra` (the protocol's own headers). An error here means no answer came.
    pub(crate) async fn post(
        &mut self,
        uri: http::Uri,
        content_type: &'static str,
        body: Body,
        extra: &[(&'static str, HeaderValue)],
    ) -> Result<Response, OutputError> {
        let name = self.name;
        let auth = self.auth.header(name).await?;
        let mut req = Request::post(uri);
        for (k, v) in &self.headers {
            req = req.header(k, v.clone());
        }
        req = req
            .header(header::CONTENT_TYPE, content_type)
            .header(header::USER_AGENT, USER_AGENT);
        for (k, v) in extra {
            req = req.header(*k, v.clone());
        }
        if let Some(a) = auth {
            req = req.header(header::AUTHORIZATION, a);
        }
        if let Some(encoding) = body.encoding {
            req = req.header(header::CONTENT_ENCODING, encoding);
        }
        let req = req
            .body(Full::new(body.bytes))
            .map_err(|e| OutputError::permanent(format!("{name}: cannot build request: {e}")))?;
        // A cheap clone (the pool is shared), so the lock is not held across the send.
        let client = self
            .http
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .get()
            .cloned()
            .map_err(|e| {
                error!(error = %e, "{name}: cannot set up the http client; data is kept and retried");
                OutputError::retryable(format!("{name}: {e}"))
            })?;
        client
            .send(req)
            .await
            .map_err(|e| OutputError::retryable(format!("{name}: {e}")))
    }
}
