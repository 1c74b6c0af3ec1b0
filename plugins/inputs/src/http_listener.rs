//! `inputs.http_listener`: an InfluxDB-compatible write endpoint. Telegraf, InfluxDB client
//! libraries and anything else that speaks line protocol over HTTP can write to it.
//!
//! Routes: `POST /write` (v1: `db`, `rp`, `precision` = n|ns|u|us|ms|s|m|h, `u`/`p`),
//! `POST /api/v2/write` (`org`, `bucket`, `precision` = ns|us|ms|s), `GET|HEAD /ping`.
//! Database, retention policy, org and bucket are accepted and ignored.
//!
//! A request's body is parsed and sent in pieces of at most 1,000 lines (fewer when
//! `agent.max_in_flight_events` is smaller), each a batch with its own acknowledgement token,
//! and the answer waits for every outcome: 204 only once every output has taken every piece,
//! 503 when one was not taken (so the client retries), 400 naming the first bad line when
//! some lines were malformed (the valid ones are still delivered). A full pipeline makes the
//! answer wait, which is how backpressure reaches the client. A plain body is cut as it
//! arrives (a request holds about two pieces of it, not the body); a gzip body is held whole,
//! compressed. What the bodies being read hold totals at most `max_body_size`; a request
//! that finds no room within `read_timeout` gets 503 + Retry-After. So memory is bounded by
//! `max_body_size` plus the pipeline's event budget, however large or many the writes (a
//! 28 MB write of 4,000,000 short lines peaks at about 40 MiB; it took 3.1 GB).
//!
//! Modules: `config.rs` (options, validation), `server.rs` (accept loop, graceful shutdown),
//! `handler.rs` (routing and answers), `body.rs` (gzip errors; the body memory and reading
//! within limits are `gleaner_api::listener::http::body`'s, routing acknowledgements
//! `gleaner_api::listener::acks`'), `ingest.rs` (parsing and sending in pieces), `pieces.rs`
//! (a body, plain or gzip, as parsed pieces), `cut.rs` (where a body may be cut), `auth.rs`,
//! `query.rs`.

mod auth;
pub(crate) mod body;
mod config;
mod cut;
mod handler;
mod ingest;
mod pieces;
mod query;
mod server;

use std::sync::Arc;

use async_trait::async_trait;
use gleaner_api::{
    BuildContext, ConfigError, Input, InputContext, InputDescriptor, PluginConfig, PluginError,
    RunMode,
};
use tokio::net::TcpListener;

use config::Settings;
use gleaner_api::listener::acks;
use gleaner_api::listener::http::body::BodyMemory;
use handler::Shared;

/// Registry entry.
pub const DESCRIPTOR: InputDescriptor = InputDescriptor {
    name: "http_listener",
    summary: "InfluxDB-compatible HTTP write endpoint (line protocol on /write and /api/v2/write)",
    sample: SAMPLE,
    build,
};

const SAMPLE: &str = r#"[[inputs.http_listener]]
## Address to listen on (host:port, host an IP address).
listen = "127.0.0.1:8186"
## Largest accepted request body, after gzip decompression; larger requests get 413. Also
## the memory for the bodies of all writes being read at once (a plain body is cut as it
## arrives and holds about 2 MiB; a gzip body holds its compressed size): a write that finds
## no room within read_timeout gets 503 + Retry-After.
# max_body_size = "32MiB"
## Time allowed to receive a request's headers (also how long an idle connection stays open),
## then its body (waiting for room to hold it included), and for a client to start reading
## its answer.
# read_timeout = "10s"
## Time a write may wait for every output to take its points; then 503 + Retry-After (the
## points may still be delivered, so a retrying client can cause duplicates).
# write_timeout = "10s"
## Require HTTP Basic authentication (also accepted as the v1 `u`/`p` query parameters or
## an `Authorization: Token username:password` header). Set both, or neither.
# basic_username = "telegraf"
# basic_password = "${HTTP_LISTENER_PASSWORD}"
"#;

fn build(cfg: &PluginConfig, _cx: &BuildContext) -> Result<Box<dyn Input>, ConfigError> {
    Ok(Box::new(HttpListener {
        settings: config::parse(cfg)?,
    }))
}

/// The built input.
#[derive(Debug)]
struct HttpListener {
    settings: Settings,
}

#[async_trait]
impl Input for HttpListener {
    async fn run(self: Box<Self>, cx: InputContext) -> Result<(), PluginError> {
        if cx.mode == RunMode::Once {
            return Ok(());
        }
        let addr = self.settings.listen;
        let listener = TcpListener::bind(addr)
            .await
            .map_err(|e| PluginError::with_source(format!("cannot listen on {addr}"), e))?;
        tracing::info!(input = %cx.id, address = %addr, "http_listener listening");
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
    let shared = Arc::new(Shared {
        bodies: BodyMemory::new(settings.max_body_size),
        settings,
        out,
        metrics,
        acks: registry,
    });
    server::serve(listener, shared, shutdown).await;
    // Every handler is gone with its connection, so the dispatcher's registry is closed.
    dispatcher
        .await
        .map_err(|e| PluginError::with_source("http_listener acknowledgement task failed", e))
}

#[cfg(test)]
mod tests;

/// This plugin's sample check (run for every registered plugin from `src/sample_checks.rs`):
/// each option the sample shows at its default is the real default.
#[cfg(test)]
pub(crate) fn check_sample() {
    gleaner_api::test_util::sample::assert_sample::<config::HttpListenerConfig>(
        "inputs.http_listener.0",
        DESCRIPTOR.sample,
        &["basic_username", "basic_password"],
        &[("HTTP_LISTENER_PASSWORD", "secret")],
    );
}
