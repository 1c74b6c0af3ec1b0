//! `inputs.remote_write`: a Prometheus remote write 1.0 receiver (`POST /api/v1/write`,
//! snappy-compressed protobuf `WriteRequest`), so a Prometheus, a Grafana Agent or another
//! Gleaner can forward series into this agent's pipeline.
//!
//! Answers: 204 once every output has taken every sample of the request (its buffer holds
//! them), 400 for a body that does not decode (bad snappy, bad protobuf, a series without
//! `__name__`; nothing of it is delivered), 413 over `max_body_size`, 415 for another
//! encoding or remote write 2.0, 503 with `Retry-After` when the pipeline stays full for
//! `write_timeout` or the bodies being read fill `max_body_size` for `read_timeout`.
//!
//! The mapping from series to metrics (`decode.rs`) is the exact reverse of
//! `outputs.remote_write`: a series received and sent on comes out identical.
//!
//! Modules: `config.rs` (options, validation), `handler.rs` (routing, the write flow,
//! answers), `decode.rs` (snappy, protobuf and the mapping; pure). The accept loop, the
//! connection limits, the body memory and the acknowledgement routing are the shared
//! listener's (`gleaner_api::listener`), as for `inputs.http_listener`.

mod config;
pub mod decode;
mod handler;

use std::sync::Arc;

use async_trait::async_trait;
use gleaner_api::listener::http::body::BodyMemory;
use gleaner_api::listener::http::{HttpLimits, serve_requests};
use gleaner_api::listener::{AcceptLoop, WhenFull, acks};
use gleaner_api::{
    BuildContext, ConfigError, Input, InputContext, InputDescriptor, PluginConfig, PluginError,
    RunMode,
};
use tokio::net::TcpListener;

use config::Settings;
use handler::Shared;

/// Registry entry.
pub const DESCRIPTOR: InputDescriptor = InputDescriptor {
    name: "remote_write",
    summary: "Prometheus remote write 1.0 receiver (POST /api/v1/write, snappy protobuf)",
    sample: SAMPLE,
    build,
};

const SAMPLE: &str = r#"[[inputs.remote_write]]
## Address to listen on (host:port, host an IP address); senders post to /api/v1/write.
listen = "127.0.0.1:9201"
## Largest accepted request body, compressed and once decompressed; larger requests get
## 413. Also the memory for the bodies of all requests being read at once: a request that
## finds no room within read_timeout gets 503 + Retry-After.
# max_body_size = "16MiB"
## Time allowed to receive a request's headers (also how long an idle connection stays
## open), then its body.
# read_timeout = "10s"
## Time a request may wait for every output to take its samples; then 503 + Retry-After
## (the sender retries; samples already taken may then arrive twice).
# write_timeout = "10s"
"#;

/// Connections served at once.
const MAX_CONNECTIONS: usize = 1024;

fn build(cfg: &PluginConfig, _cx: &BuildContext) -> Result<Box<dyn Input>, ConfigError> {
    Ok(Box::new(RemoteWrite {
        settings: config::parse(cfg)?,
    }))
}

/// The built input.
#[derive(Debug)]
struct RemoteWrite {
    settings: Settings,
}

#[async_trait]
impl Input for RemoteWrite {
    async fn run(self: Box<Self>, cx: InputContext) -> Result<(), PluginError> {
        if cx.mode == RunMode::Once {
            return Ok(());
        }
        let addr = self.settings.listen;
        let listener = TcpListener::bind(addr)
            .await
            .map_err(|e| PluginError::with_source(format!("cannot listen on {addr}"), e))?;
        tracing::info!(input = %cx.id, address = %addr, "remote_write listening");
        serve_on(listener, self.settings, cx).await
    }
}

/// Serves on an already bound listener until shutdown (tests bind `127.0.0.1:0`).
async fn serve_on(
    listener: TcpListener,
    settings: Settings,
    cx: InputContext,
) -> Result<(), PluginError> {
    let InputContext {
        out,
        shutdown,
        acks,
        metrics,
        ..
    } = cx;
    let (registry, dispatcher) = acks::spawn(acks);
    let limits = HttpLimits {
        header_timeout: settings.read_timeout,
        write_stall_timeout: settings.read_timeout,
        shutdown_grace: None,
    };
    let shared = Arc::new(Shared {
        bodies: BodyMemory::new(settings.max_body_size),
        settings,
        out,
        metrics: Arc::clone(&metrics),
        acks: registry,
    });
    let accept = AcceptLoop {
        name: "remote_write",
        max_connections: MAX_CONNECTIONS,
        when_full: WhenFull::Wait,
        metrics: Some(metrics),
    };
    serve_requests(accept, listener, limits, shutdown, move |req| {
        let shared = Arc::clone(&shared);
        async move { handler::handle(&shared, req).await }
    })
    .await;
    // Every handler is gone with its connection, so the dispatcher's registry is closed.
    dispatcher
        .await
        .map_err(|e| PluginError::with_source("remote_write acknowledgement task failed", e))
}

#[cfg(test)]
mod tests;

/// The sample check listed in `sample_checks.rs`.
#[cfg(test)]
pub(crate) fn check_sample() {
    tests::sample_parses_and_equals_the_defaults();
}
