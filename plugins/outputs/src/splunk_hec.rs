//! `outputs.splunk_hec`: logs (and metrics, as HEC metric events, once the engine can route
//! metrics to a logs output) to Splunk's HTTP Event Collector: `/services/collector/event` with newline-separated JSON events, gzip by
//! default, `Authorization: Splunk <token>`.
//!
//! - `config.rs`: the table and its validation;
//! - `encode.rs`: pure event encoding (log events, multi-measure metric events);
//! - `client.rs`: the request, HEC's answer codes, resending after a per-event rejection;
//! - `ack.rs`: indexer acknowledgement (`ack = true`): a channel GUID on every request, `ackId`s
//!   polled at `/services/collector/ack`, a request delivered only once acknowledged and sent
//!   again after `ack_timeout`.
//!
//! Without `ack`, a 200 means HEC accepted the events for processing, not that they were
//! indexed.

mod ack;
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
use config::HecConfig;

/// Registry entry.
pub const DESCRIPTOR: OutputDescriptor = OutputDescriptor {
    name: "splunk_hec",
    summary: "Splunk HTTP Event Collector: log events and multi-measure metric events, gzip",
    sample: SAMPLE,
    accepts: Accepts::LOGS,
    supports: Accepts::BOTH,
    build,
};

const SAMPLE: &str = r#"[[outputs.splunk_hec]]
## Base URL of the collector; /services/collector/event is appended.
endpoint = "https://127.0.0.1:8088"
## The HEC token, or `token_file` (re-read when it changes). Never logged.
token = "${SPLUNK_HEC_TOKEN:-00000000-0000-0000-0000-000000000000}"
# token_file = "/var/run/secrets/splunk/hec-token"
## Envelope keys (unset: Splunk's defaults for the token; `source` defaults to the file).
# index = "main"
# source = "gleaner"
# sourcetype = "kube:container"
## Host: default the agent's host name; "" leaves it to Splunk.
# host = ""
## Log attributes sent as indexed fields (globs; "stream" selects stdout/stderr).
# fields = ["k8s.*"]
## "gzip" or "identity".
# content_encoding = "gzip"
## gzip level: 0 (stored) to 9 (smallest, slowest); 1 costs the least CPU that compresses.
# compression_level = 1
# timeout = "30s"
## Request size: events and uncompressed bytes.
# batch_max_events = 10000
# batch_max_bytes = "1MiB"
## Requests in flight at once (1 to 64); acknowledgements stay in order, so buffer progress
## never passes a request still in flight. Each holds its body as sent (gzipped or not) in memory.
# concurrency = 16
## Extra HTTP headers.
# headers = { "X-Team" = "a" }
## TLS: extra CA certificates, client certificate, or no verification (Splunk's default
## certificate is self-signed).
# ca_file = "/etc/ssl/splunk-ca.pem"
# cert_file = "/etc/ssl/client.pem"
# key_file = "/etc/ssl/client-key.pem"
# insecure_skip_verify = false
## Indexer acknowledgement (the token must have it enabled): a batch counts as delivered
## only when HEC acknowledges it, and is sent again (possibly duplicated) when no
## acknowledgement comes within `ack_timeout`.
# ack = false
# ack_timeout = "60s"
# ack_poll_interval = "1s"
## The X-Splunk-Request-Channel GUID; default: a random one per output, kept while it runs.
# channel = "0f8c2e4a-1b2c-4d5e-8f90-a1b2c3d4e5f6"
"#;

fn build(cfg: &PluginConfig, cx: &BuildContext) -> Result<Box<dyn Output>, ConfigError> {
    let settings = HecConfig::load(cfg, &cx.hostname)?;
    let protocol = Hec {
        encoder: encode::Encoder {
            envelope: settings.envelope.clone(),
            fields: settings.fields.clone(),
        },
        client: client::Client::new(&settings, std::sync::Arc::clone(&cx.metrics)),
    };
    let auth = client::auth(&settings);
    Ok(HttpOutput::boxed(
        protocol,
        "splunk_hec",
        &settings.http,
        auth,
        cx,
    ))
}

/// What the HTTP shell runs: HEC JSON events, resends after rejections, acknowledgements.
struct Hec {
    encoder: encode::Encoder,
    client: client::Client,
}

#[async_trait]
impl HttpProtocol for Hec {
    fn encode(
        &self,
        batch: &Batch,
        buf: &mut Vec<u8>,
        metrics: &ComponentMetrics,
    ) -> Result<usize, EncodeError> {
        Ok(self.encoder.encode(batch, buf).record(metrics))
    }

    async fn send(
        &mut self,
        http: &mut Sender,
        payload: &Payload,
    ) -> Result<SendReport, OutputError> {
        self.client.write(http, payload).await
    }

    fn fork(&self) -> Option<Self> {
        Some(Hec {
            encoder: self.encoder.clone(),
            client: self.client.fork(),
        })
    }
}

/// This plugin's sample check (run for every registered plugin from `src/sample_checks.rs`):
/// each option the sample shows at its default is the real default.
#[cfg(test)]
pub(crate) fn check_sample() {
    // The own keys parse into the output's struct, the shared ones (timeout, batch limits,
    // TLS, ...) through the shell, validated, so that an unset key and one written at its
    // default compare equal.
    let read = |cfg: &gleaner_api::PluginConfig| {
        Ok((
            crate::http_output::HttpOptions::own_keys::<config::HecConfig>(
                cfg,
                &config::HTTP_DEFAULTS,
            )?,
            crate::http_output::HttpOptions::parse(cfg, &config::HTTP_DEFAULTS)?,
        ))
    };
    gleaner_api::test_util::sample::assert_sample_with(
        "outputs.splunk_hec.0",
        DESCRIPTOR.sample,
        // Options without a default, shown with an example value.
        &[
            "token_file",
            "index",
            "source",
            "sourcetype",
            "host",
            "headers",
            "ca_file",
            "cert_file",
            "key_file",
            "channel",
        ],
        &[],
        &read,
    );
}
