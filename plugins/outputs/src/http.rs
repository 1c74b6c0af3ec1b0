//! `outputs.http`: batches POSTed to any HTTP endpoint, as NDJSON, one JSON array, or
//! InfluxDB line protocol (`format`), for receivers that have no output of their own (a
//! webhook, a log service's ingest URL, a custom collector).
//!
//! - `config.rs`: the table (url, format, auth) and its validation;
//! - `encode.rs`: pure encoding in the format (the JSON of `json_lines`, the line protocol
//!   of `outputs.influxdb`);
//! - `client.rs`: the POST and the answer → error kind table.
//!
//! Headers, gzip, TLS, timeout and the batch limits are the shared HTTP shell's
//! (`http_output`). Logs and metrics are both taken by default (narrow with `kinds`).

mod client;
mod config;
mod encode;
#[cfg(test)]
mod tests;

use async_trait::async_trait;
use gleaner_api::{
    Accepts, Batch, BuildContext, ComponentMetrics, ConfigError, EncodeError, Output,
    OutputDescriptor, OutputError, Payload, PluginConfig, SendReport,
};

use crate::http_output::{HttpOutput, HttpProtocol, Sender};
use config::{Format, HttpConfig};

/// Registry entry.
pub const DESCRIPTOR: OutputDescriptor = OutputDescriptor {
    name: "http",
    summary: "POST batches to any HTTP endpoint as NDJSON, a JSON array or line protocol",
    sample: SAMPLE,
    accepts: Accepts::BOTH,
    supports: Accepts::BOTH,
    build,
};

const SAMPLE: &str = r#"[[outputs.http]]
## Where batches are posted (POST).
url = "http://127.0.0.1:8080/ingest"
## "ndjson" (one JSON object per line), "json_array" (one JSON array) or "influx" (line
## protocol; logs as the `logs` measurement).
# format = "ndjson"
# timeout = "30s"
## Request size: events and uncompressed bytes.
# batch_max_events = 1000
# batch_max_bytes = "1MiB"
## Requests in flight at once (1 to 64); acknowledgements stay in order, so buffer progress
## never passes a request still in flight. Each holds its body as sent (gzipped or not) in memory.
# concurrency = 16
## "gzip" or "identity".
# content_encoding = "identity"
## gzip level: 0 (stored) to 9 (smallest, slowest); 1 costs the least CPU that compresses.
# compression_level = 1
## Auth: a bearer token, a token file (re-read when it changes), or basic auth.
# bearer_token = "${HTTP_OUTPUT_TOKEN}"
# bearer_token_file = "/var/run/secrets/ingest/token"
# username = "gleaner"
# password = "${HTTP_OUTPUT_PASSWORD}"
## Extra HTTP headers.
# headers = { "X-Team" = "a" }
## TLS: extra CA certificates, client certificate, or no verification at all.
# ca_file = "/etc/ssl/ingest-ca.pem"
# cert_file = "/etc/ssl/client.pem"
# key_file = "/etc/ssl/client-key.pem"
# insecure_skip_verify = false
"#;

fn build(cfg: &PluginConfig, cx: &BuildContext) -> Result<Box<dyn Output>, ConfigError> {
    let settings = HttpConfig::load(cfg)?;
    let protocol = Http {
        encoder: encode::Encoder::new(settings.format),
        url: settings.url,
        format: settings.format,
    };
    Ok(HttpOutput::boxed(
        protocol,
        "http",
        &settings.http,
        settings.auth,
        cx,
    ))
}

/// What the HTTP shell runs: one URL, one format.
#[derive(Clone)]
struct Http {
    encoder: encode::Encoder,
    url: http::Uri,
    format: Format,
}

#[async_trait]
impl HttpProtocol for Http {
    fn encode(
        &self,
        batch: &Batch,
        buf: &mut Vec<u8>,
        metrics: &ComponentMetrics,
    ) -> Result<usize, EncodeError> {
        Ok(self.encoder.encode(batch, buf, metrics))
    }

    async fn send(
        &mut self,
        http: &mut Sender,
        payload: &Payload,
    ) -> Result<SendReport, OutputError> {
        client::post(http, &self.url, self.format, payload).await
    }

    fn fork(&self) -> Option<Self> {
        Some(self.clone())
    }
}

/// The sample check listed in `sample_checks.rs`.
#[cfg(test)]
pub(crate) fn check_sample() {
    tests::sample_parses_and_equals_the_defaults();
}
