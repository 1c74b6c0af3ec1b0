//! `inputs.otlp`: an OpenTelemetry OTLP/HTTP receiver (`POST /v1/logs`, `POST /v1/metrics`;
//! protobuf or JSON bodies, gzip or not) on `127.0.0.1:4318` by default. Applications and
//! SDKs, or a Collector's `otlphttp` exporter, push to it. gRPC (4317) is not served (tonic
//! would be a large addition to the build; the OpenTelemetry SDKs all speak HTTP too).
//!
//! A request is answered once its events are in every output's buffer (200, with a partial
//! success naming what it had to reject), or 503 + Retry-After when the buffers stay full
//! (see `handler.rs`). The mapping from OTLP to records and metrics is `decode.rs`'s, with the
//! keys of `gleaner_api::otlp`; `outputs.otlp` is its inverse.
//!
//! Modules: `config.rs`, `handler.rs` (one request), `decode.rs` (proto → events;
//! `decode/wire.rs` reads protobuf logs requests straight from their bytes),
//! `json.rs` (OTLP/JSON → proto). The accept loop and connection limits are the shared
//! listener's; request bodies and acknowledgements are handled as in `inputs.http_listener`.

mod config;
mod decode;
mod handler;
mod json;
#[cfg(test)]
mod tests;

use std::sync::Arc;

use async_trait::async_trait;
use gleaner_api::listener::http::{HttpLimits, serve_requests};
use gleaner_api::listener::{AcceptLoop, WhenFull};
use gleaner_api::{
    BuildContext, ConfigError, Input, InputContext, InputDescriptor, PluginConfig, PluginError,
    RunMode,
};
use tokio::net::TcpListener;

use config::Settings;
use handler::Shared;

/// Registry entry.
pub const DESCRIPTOR: InputDescriptor = InputDescriptor {
    name: "otlp",
    summary: "OpenTelemetry OTLP/HTTP receiver (logs and metrics; protobuf or JSON) on /v1/logs and /v1/metrics",
    sample: SAMPLE,
    build,
};

const SAMPLE: &str = r#"[[inputs.otlp]]
## Address to listen on (host:port, host an IP address): OTLP/HTTP /v1/logs and /v1/metrics.
listen = "127.0.0.1:4318"
## Largest accepted request body, after gzip decompression (larger: 413); also the memory
## for all the bodies being read at once.
# max_body_size = "16MiB"
## Time to receive a request's headers, then its body.
# read_timeout = "10s"
## Time a request may wait for every output's buffer to take its events; then 503 with
## Retry-After, and the sender retries.
# write_timeout = "10s"
"#;

/// Connections served at once.
const MAX_CONNECTIONS: usize = 1024;

/// This plugin's sample check (run for every registered plugin from `src/sample_checks.rs`):
/// each option the sample shows at its default is the real default.
#[cfg(test)]
pub(crate) fn check_sample() {
    gleaner_api::test_util::sample::assert_sample::<config::OtlpConfig>(
        "inputs.otlp.0",
        DESCRIPTOR.sample,
        &[],
        &[],
    );
}

fn build(cfg: &PluginConfig, _cx: &BuildContext) -> Result<Box<dyn Input>, ConfigError> {
    Ok(Box::new(OtlpInput {
        settings: config::parse(cfg)?,
    }))
}

/// The built input.
#[derive(Debug)]
struct OtlpInput {
    settings: Settings,
}

#[async_trait]
impl Input for OtlpInput {
    async fn run(self: Box<Self>, cx: InputContext) -> Result<(), PluginError> {
        if cx.mode == RunMode::Once {
            return Ok(());
        }
        let addr = self.settings.listen;
        let listener = TcpListener::bind(addr)
            .await
            .map_err(|e| PluginError::with_source(format!("cannot listen on {addr}"), e))?;
        tracing::info!(input = %cx.id, address = %addr, "otlp listening");
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
    let (registry, dispatcher) = gleaner_api::listener::acks::spawn(acks);
    let shared = Arc::new(Shared {
        bodies: gleaner_api::listener::http::body::BodyMemory::new(settings.max_body_size),
        settings,
        out,
        metrics,
        acks: registry,
    });
    let limits = HttpLimits {
        header_timeout: shared.settings.read_timeout,
        write_stall_timeout: shared.settings.read_timeout,
        shutdown_grace: None,
    };
    let accept = AcceptLoop {
        name: "otlp",
        max_connections: MAX_CONNECTIONS,
        when_full: WhenFull::Wait,
        metrics: Some(Arc::clone(&shared.metrics)),
    };
    serve_requests(accept, listener, limits, shutdown, move |req| {
        let shared = Arc::clone(&shared);
        async move { handler::handle(&shared, req).await }
    })
    .await;
    dispatcher
        .await
        .map_err(|e| PluginError::with_source("otlp acknowledgement task failed", e))
}
