//! `outputs.otlp`: logs and metrics to an OpenTelemetry receiver (the Collector, or any
//! backend that takes OTLP) over OTLP/HTTP with protobuf bodies: `endpoint` + `/v1/logs`
//! and `/v1/metrics`. gRPC is not offered (tonic would be a large addition to the build;
//! every OTLP receiver also takes HTTP).
//!
//! - `config.rs`: the table and its validation (the shared HTTP keys: headers, auth, gzip,
//!   TLS, timeout, batch limits come from `http_output`);
//! - `logs.rs`, `metrics.rs` (with `family.rs`, histograms and summaries): pure encoding, the
//!   mapping documented there and in `gleaner_api::otlp`;
//! - `client.rs`: the POST and the answer table (retries and partial success).
//!
//! A payload is the protobuf request behind one byte naming its signal (`L` or `M`), so that
//! `send` knows the path; the byte is sliced off (no copy) before posting.

mod client;
mod config;
mod family;
mod logs;
mod metrics;
#[cfg(test)]
mod tests;

use std::sync::Arc;

use async_trait::async_trait;
use bytes::Bytes;
use gleaner_api::{
    Accepts, Batch, BuildContext, ComponentMetrics, ConfigError, EncodeError, Output,
    OutputDescriptor, OutputError, Payload, PluginConfig, SendReport,
};
use prost::Message as _;

use crate::http_output::{HttpOutput, HttpProtocol, Sender};
use crate::json_lines::REASON_NO_FIELDS;
use client::{PartialLog, Signal};
use config::OtlpConfig;

/// Drop reason for string fields of metrics (OTLP numbers cannot carry them).
const REASON_STRING_FIELD: &str = "string_field";

/// Registry entry.
pub const DESCRIPTOR: OutputDescriptor = OutputDescriptor {
    name: "otlp",
    summary: "OpenTelemetry OTLP/HTTP (protobuf) logs and metrics to a Collector or any OTLP backend",
    sample: SAMPLE,
    accepts: Accepts::BOTH,
    supports: Accepts::BOTH,
    build,
};

const SAMPLE: &str = r#"[[outputs.otlp]]
## The receiver's base URL: /v1/logs and /v1/metrics are appended (OTLP/HTTP, protobuf).
endpoint = "http://127.0.0.1:4318"
# timeout = "10s"
## Events per request, and uncompressed bytes per request.
# batch_max_events = 2000
# batch_max_bytes = "4MiB"
## "gzip" or "identity".
# content_encoding = "gzip"
## gzip level: 0 (stored) to 9 (smallest, slowest); 1 costs the least CPU that compresses.
# compression_level = 1
## Auth: a bearer token, a token file (re-read when it changes), or basic auth.
# bearer_token = "${OTLP_TOKEN}"
# bearer_token_file = "/var/run/secrets/otlp/token"
# username = "gleaner"
# password = "${OTLP_PASSWORD}"
## Extra HTTP headers (e.g. an API key).
# headers = { "X-Api-Key" = "${OTLP_API_KEY}" }
## TLS: extra CA certificates, client certificate, or no verification at all.
# ca_file = "/etc/ssl/collector-ca.pem"
# cert_file = "/etc/ssl/client.pem"
# key_file = "/etc/ssl/client-key.pem"
# insecure_skip_verify = false
"#;

/// This plugin's sample check (run for every registered plugin from `src/sample_checks.rs`):
/// each option the sample shows at its default is the real default (own keys through the
/// output's struct, the shared ones through the HTTP shell, validated).
#[cfg(test)]
pub(crate) fn check_sample() {
    let read = |cfg: &PluginConfig| {
        Ok((
            crate::http_output::HttpOptions::own_keys::<OtlpConfig>(cfg, &config::HTTP_DEFAULTS)?,
            crate::http_output::HttpOptions::parse(cfg, &config::HTTP_DEFAULTS)?,
        ))
    };
    gleaner_api::test_util::sample::assert_sample_with(
        "outputs.otlp.0",
        DESCRIPTOR.sample,
        // Options without a default, shown with an example value.
        &[
            "bearer_token",
            "bearer_token_file",
            "username",
            "password",
            "headers",
            "ca_file",
            "cert_file",
            "key_file",
        ],
        &[],
        &read,
    );
}

fn build(cfg: &PluginConfig, cx: &BuildContext) -> Result<Box<dyn Output>, ConfigError> {
    let settings = OtlpConfig::load(cfg)?;
    let protocol = Otlp {
        logs_url: settings.logs_url,
        metrics_url: settings.metrics_url,
        partial: PartialLog {
            metrics: Arc::clone(&cx.metrics),
            logged: false,
        },
    };
    Ok(HttpOutput::boxed(
        protocol,
        "otlp",
        &settings.http,
        settings.auth,
        cx,
    ))
}

/// The signal byte in front of a logs payload.
const LOGS: u8 = b'L';
/// The signal byte in front of a metrics payload.
const METRICS: u8 = b'M';

/// What the HTTP shell runs.
struct Otlp {
    logs_url: http::Uri,
    metrics_url: http::Uri,
    partial: PartialLog,
}

#[async_trait]
impl HttpProtocol for Otlp {
    /// The signal byte in front of every payload.
    fn wire_prefix(&self) -> usize {
        1
    }

    fn encode(
        &self,
        batch: &Batch,
        buf: &mut Vec<u8>,
        metrics: &ComponentMetrics,
    ) -> Result<usize, EncodeError> {
        match batch {
            Batch::Logs(records) => {
                buf.push(LOGS);
                logs::wire::encode(records, buf);
                Ok(0)
            }
            Batch::Metrics(m) => {
                let mut stats = metrics::MetricStats::default();
                let req = metrics::request(m, &mut stats);
                metrics.dropped(REASON_STRING_FIELD, stats.string_fields);
                metrics.dropped(REASON_NO_FIELDS, stats.no_fields);
                if !req.resource_metrics.is_empty() {
                    buf.push(METRICS);
                    req.encode(buf)
                        .map_err(|e| EncodeError(format!("otlp: cannot encode metrics: {e}")))?;
                }
                Ok(stats.no_fields as usize)
            }
        }
    }

    async fn send(
        &mut self,
        http: &mut Sender,
        payload: &Payload,
    ) -> Result<SendReport, OutputError> {
        let (url, signal) = match payload.bytes.first() {
            Some(&LOGS) => (&self.logs_url, Signal::Logs),
            Some(&METRICS) => (&self.metrics_url, Signal::Metrics),
            _ => {
                return Err(OutputError::permanent(
                    "otlp: a payload without its signal byte (a bug)",
                ));
            }
        };
        // The body after the signal byte is in the content encoding already.
        let body: Bytes = payload.bytes.slice(1..);
        client::export(http, url, signal, body, payload.events, &mut self.partial).await
    }
}
