//! The shell of every HTTP output (influxdb, remote_write, splunk_hec, and the ones to come):
//! what is the same whatever the protocol, so that an HTTP output is only its config, its
//! encoder and its judgement of the answers.
//!
//! - `options.rs`: the keys every HTTP output takes (`timeout`, the events-per-request key,
//!   `batch_max_bytes`, `content_encoding` and its `compression_level` where the protocol
//!   lets the user choose, `concurrency` where requests may arrive out of order, `headers`,
//!   `ca_file`, `cert_file`, `key_file`, `insecure_skip_verify`), parsed apart
//!   from the output's own keys and validated once, with each output's defaults;
//! - `auth.rs`: the `Authorization` header: basic auth, or a token with its scheme (`Bearer`,
//!   `Splunk`, `Token`) given inline or in a file re-read when it changes, and the checks of
//!   the keys that configure them;
//! - `sender.rs`: one POST: the client made on first use, the output's headers, the
//!   authorization, the body's encoding, and the transport errors turned into retryable
//!   errors named for the output;
//! - this file: [`HttpOutput`], the [`Output`] that joins an [`HttpProtocol`] (the output's
//!   encoder and exchange) with the [`Sender`] and the batch limits.
//!
//! A new HTTP output writes a config struct with its own keys only, a `build` that calls
//! [`HttpOptions::parse`] and [`HttpOutput::boxed`], an encoder, and an
//! [`HttpProtocol::send`] that posts through the [`Sender`] and maps each answer to an
//! [`OutputError`] kind.

mod auth;
mod options;
mod sender;
#[cfg(test)]
mod tests;

use std::sync::Arc;

use async_trait::async_trait;
use gleaner_api::{
    Batch, BatchLimits, BuildContext, ComponentMetrics, EncodeError, EncodeReport, Output,
    OutputError, Payload, SendReport,
};

pub(crate) use auth::{Auth, bearer_or_basic, token_source};
pub(crate) use options::{DEFAULT_CONCURRENCY, HttpDefaults, HttpOptions};
pub(crate) use sender::{Body, Sender};

/// What an HTTP output adds to the shell.
#[async_trait]
pub(crate) trait HttpProtocol: Send + 'static {
    /// Encodes a batch into `buf` (pure); returns the events skipped, already counted in
    /// `metrics` under the output's reason.
    fn encode(
        &self,
        batch: &Batch,
        buf: &mut Vec<u8>,
        metrics: &ComponentMetrics,
    ) -> Result<usize, EncodeError>;

    /// Delivers one payload through `http`, judging the answers. Its bytes are already in
    /// the output's content encoding ([`Sender::wire_body`] makes them a request body).
    async fn send(
        &mut self,
        http: &mut Sender,
        payload: &Payload,
    ) -> Result<SendReport, OutputError>;

    /// Bytes at the start of a payload that are not part of the request body (a header of
    /// the output's own, such as OTLP's signal byte): [`Output::prepare`] compresses only
    /// what follows them and keeps them in front.
    fn wire_prefix(&self) -> usize {
        0
    }

    /// Another instance for one more request in flight (the state of a request in progress
    /// left behind); `None` when the protocol sends one request at a time.
    fn fork(&self) -> Option<Self>
    where
        Self: Sized,
    {
        None
    }
}

/// An HTTP output: a protocol, the sender it posts through, and its batch limits.
pub(crate) struct HttpOutput<P> {
    protocol: P,
    http: Sender,
    limits: BatchLimits,
    metrics: Arc<ComponentMetrics>,
    /// Requests in flight at once (`concurrency`).
    concurrency: usize,
}

impl<P: HttpProtocol> HttpOutput<P> {
    /// The running output, ready for the engine.
    pub(crate) fn boxed(
        protocol: P,
        name: &'static str,
        options: &HttpOptions,
        auth: Auth,
        cx: &BuildContext,
    ) -> Box<dyn Output> {
        Box::new(HttpOutput {
            protocol,
            http: Sender::new(name, options, auth),
            limits: options.limits,
            metrics: Arc::clone(&cx.metrics),
            concurrency: options.concurrency,
        })
    }
}

#[async_trait]
impl<P: HttpProtocol> Output for HttpOutput<P> {
    fn encode(&self, batch: &Batch, buf: &mut Vec<u8>) -> Result<EncodeReport, EncodeError> {
        let skipped = self.protocol.encode(batch, buf, &self.metrics)?;
        Ok(EncodeReport { skipped })
    }

    async fn send(&mut self, payload: Payload) -> Result<SendReport, OutputError> {
        match self.prepare(&payload).await {
            Some(wire) => self.send_prepared(wire).await,
            None => self.send_prepared(payload).await,
        }
    }

    /// The body gzipped once, when the output gzips: the request holds only that.
    async fn prepare(&mut self, payload: &Payload) -> Option<Payload> {
        let keep = self.protocol.wire_prefix().min(payload.bytes.len());
        let gz = self.http.compress(&payload.bytes.slice(keep..)).await?;
        let bytes = if keep == 0 {
            gz
        } else {
            let mut v = Vec::with_capacity(keep + gz.len());
            v.extend_from_slice(&payload.bytes[..keep]);
            v.extend_from_slice(&gz);
            v.into()
        };
        Some(Payload {
            bytes,
            events: payload.events,
        })
    }

    async fn send_prepared(&mut self, payload: Payload) -> Result<SendReport, OutputError> {
        self.protocol.send(&mut self.http, &payload).await
    }

    fn batch_limits(&self) -> BatchLimits {
        self.limits
    }

    fn concurrency(&self) -> usize {
        self.concurrency
    }

    fn fork(&self) -> Option<Box<dyn Output>> {
        let protocol = self.protocol.fork()?;
        Some(Box::new(HttpOutput {
            protocol,
            http: self.http.clone(),
            limits: self.limits,
            metrics: Arc::clone(&self.metrics),
            concurrency: self.concurrency,
        }))
    }
}
