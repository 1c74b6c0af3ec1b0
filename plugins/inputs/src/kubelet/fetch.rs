//! One request to a kubelet: `GET <url>/stats/summary` with `Authorization: Bearer <token>`
//! (the token file re-read whenever it changes: projected service-account tokens rotate
//! about hourly), through the shared HTTPS client, the whole body read up to a limit.
//! Every way it can fail is a [`GatherError`] with a counter reason.

use bytes::Bytes;
use gleaner_api::http_client::{
    self, BuildClientError, LazyClient, ReadSecretError, RequestError, SecretSource,
};
use http_body_util::Full;

/// What failed in one gather; [`GatherError::reason`] names its error counter.
#[derive(Debug, thiserror::Error)]
pub(crate) enum GatherError {
    /// The HTTPS client could not be made (a bad `ca_file`).
    #[error("kubelet client: {0}")]
    Client(#[from] BuildClientError),
    /// The bearer token file could not be read.
    #[error("kubelet token: {0}")]
    Token(#[from] ReadSecretError),
    /// The token is not a valid header value (a control character).
    #[error("kubelet token: the token file holds characters a header cannot carry")]
    BadToken,
    /// No answer, a timeout, or a body over the limit.
    #[error("kubelet request: {0}")]
    Request(#[from] RequestError),
    /// An answer other than 200 (401: the token is refused; 403: RBAC lacks nodes/stats).
    #[error("{url}: HTTP {status}: {body}")]
    Status {
        /// The request URL.
        url: String,
        /// The status code.
        status: u16,
        /// The start of the body.
        body: String,
    },
    /// The body is not a Summary.
    #[error("{url}: invalid /stats/summary JSON: {source}")]
    Parse {
        /// The request URL.
        url: String,
        /// The parser's error.
        source: serde_json::Error,
    },
}

impl GatherError {
    /// The reason label of the input's error counter.
    pub(crate) fn reason(&self) -> &'static str {
        match self {
            GatherError::Client(_) => "kubelet_client",
            GatherError::Token(_) | GatherError::BadToken => "kubelet_token",
            GatherError::Request(RequestError::Timeout { .. }) => "kubelet_timeout",
            GatherError::Request(RequestError::TooLarge { .. }) => "kubelet_too_large",
            GatherError::Request(_) => "kubelet_request",
            GatherError::Status { status: 401, .. } => "kubelet_unauthorized",
            GatherError::Status { status: 403, .. } => "kubelet_forbidden",
            GatherError::Status { .. } => "kubelet_status",
            GatherError::Parse { .. } => "kubelet_parse",
        }
    }
}

/// A kubelet to poll.
#[derive(Debug)]
pub(crate) struct Target {
    pub(crate) client: LazyClient,
    /// `<url>/stats/summary`.
    pub(crate) uri: http::Uri,
    /// `None`: no `Authorization` header.
    pub(crate) token: Option<SecretSource>,
    /// Largest body accepted.
    pub(crate) max_body: usize,
}

impl Target {
    /// The request URL, for logs.
    pub(crate) fn url(&self) -> String {
        http_client::display_url(&self.uri)
    }

    /// Fetches the summary's bytes.
    pub(crate) async fn fetch(&mut self) -> Result<Bytes, GatherError> {
        let mut req = http::Request::get(self.uri.clone())
            .header(http::header::ACCEPT, "application/json")
            .header(http::header::USER_AGENT, http_client::USER_AGENT);
        if let Some(token) = &mut self.token {
            let token = token.current().await?;
            let value = http_client::sensitive_header(&format!("Bearer {}", token.expose()))
                .ok_or(GatherError::BadToken)?;
            req = req.header(http::header::AUTHORIZATION, value);
        }
        let req = req
            .body(Full::new(Bytes::new()))
            .expect("a GET of a checked URI with valid headers is a valid request");
        let client = self.client.get()?;
        let resp = client.send_with_limit(req, self.max_body).await?;
        if resp.status != http::StatusCode::OK {
            return Err(GatherError::Status {
                url: self.url(),
                status: resp.status.as_u16(),
                body: resp.body_excerpt(),
            });
        }
        Ok(resp.body)
    }
}
