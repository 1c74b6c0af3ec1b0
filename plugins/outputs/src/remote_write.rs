//! `outputs.remote_write`: metrics to Prometheus (or Mimir, Thanos, VictoriaMetrics, ...)
//! with the remote-write 1.0 protocol: a protobuf `WriteRequest` (hand-written `prost`
//! messages), snappy block compression, the three required headers.
//!
//! - `gleaner_api::prompb` (re-exported as `proto`): the messages and their field numbers;
//! - `config.rs`: the table and its validation;
//! - `encode.rs`: pure Metric → series mapping (documented there), sorted labels, samples
//!   grouped per series in time order;
//! - `client.rs`: compression, auth, the answer → error kind table.
//!
//! Logs are not taken (`encode` refuses a log batch). Requests are sent one at a time, so
//! samples of a series reach the receiver in order. `max_samples_per_request` bounds the
//! metrics per request: exact for Prometheus-shaped metrics (one field each); a metric with
//! several fields makes one sample per field.

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
use config::RemoteWriteConfig;
pub use gleaner_api::prompb as proto;

/// Registry entry.
pub const DESCRIPTOR: OutputDescriptor = OutputDescriptor {
    name: "remote_write",
    summary: "Prometheus remote write 1.0 (protobuf + snappy) to Prometheus, Mimir, Thanos, VictoriaMetrics",
    sample: SAMPLE,
    accepts: Accepts::METRICS,
    supports: Accepts::METRICS,
    build,
};

const SAMPLE: &str = r#"[[outputs.remote_write]]
## The receiver's write endpoint (Prometheus needs --web.enable-remote-write-receiver).
url = "http://127.0.0.1:9090/api/v1/write"
# timeout = "30s"
## Metrics per request, and uncompressed bytes per request.
# max_samples_per_request = 2000
# batch_max_bytes = "4MiB"
## Send each family's TYPE as remote-write metadata.
# metadata = false
## Auth: a bearer token, a token file (re-read when it changes), or basic auth.
# bearer_token = "${REMOTE_WRITE_TOKEN}"
# bearer_token_file = "/var/run/secrets/remote-write/token"
# username = "gleaner"
# password = "${REMOTE_WRITE_PASSWORD}"
## Extra HTTP headers (e.g. a tenant); the protocol's own headers cannot be changed.
# headers = { "X-Scope-OrgID" = "team-a" }
## TLS: extra CA certificates, client certificate, or no verification at all.
# ca_file = "/etc/ssl/prometheus-ca.pem"
# cert_file = "/etc/ssl/client.pem"
# key_file = "/etc/ssl/client-key.pem"
# insecure_skip_verify = false
"#;

fn build(cfg: &PluginConfig, cx: &BuildContext) -> Result<Box<dyn Output>, ConfigError> {
    let settings = RemoteWriteConfig::load(cfg)?;
    let protocol = RemoteWrite {
        url: settings.url,
        metadata: settings.metadata,
    };
    Ok(HttpOutput::boxed(
        protocol,
        "remote_write",
        &settings.http,
        settings.auth,
        cx,
    ))
}

/// What the HTTP shell runs: one receiver, protobuf and snappy.
struct RemoteWrite {
    url: http::Uri,
    metadata: bool,
}

#[async_trait]
impl HttpProtocol for RemoteWrite {
    fn encode(
        &self,
        batch: &Batch,
        buf: &mut Vec<u8>,
        metrics: &ComponentMetrics,
    ) -> Result<usize, EncodeError> {
        match batch {
            Batch::Metrics(m) => Ok(encode::encode(m, self.metadata, buf).record(metrics)),
            Batch::Logs(_) => Err(EncodeError(
                "remote_write takes metrics only; route logs elsewhere with `match`".to_owned(),
            )),
        }
    }

    async fn send(
        &mut self,
        http: &mut Sender,
        payload: &Payload,
    ) -> Result<SendReport, OutputError> {
        client::write(http, &self.url, payload).await
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
            crate::http_output::HttpOptions::own_keys::<config::RemoteWriteConfig>(
                cfg,
                &config::HTTP_DEFAULTS,
            )?,
            crate::http_output::HttpOptions::parse(cfg, &config::HTTP_DEFAULTS)?,
        ))
    };
    gleaner_api::test_util::sample::assert_sample_with(
        "outputs.remote_write.0",
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
