//! `outputs.remote_write`: metrics to Prometheus (or Mimir, Thanos, VictoriaMetrics, ...)
//! with the remote-write 1.0 protocol: a protobuf `WriteRequest` (hand-written `prost`
//! messages), snappy block compression, the three required headers.
//!
//! - `proto.rs`: the messages and their field numbers;
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
pub mod proto;
#[cfg(test)]
mod tests;

use std::sync::Arc;

use async_trait::async_trait;
use gleaner_api::{
    Accepts, Batch, BatchLimits, BuildContext, ComponentMetrics, ConfigError, EncodeError,
    EncodeReport, Output, OutputDescriptor, OutputError, Payload, PluginConfig, SendReport,
};

use config::RemoteWriteConfig;

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
    let raw: RemoteWriteConfig = cfg.parse()?;
    let settings = raw.validate(cfg)?;
    Ok(Box::new(RemoteWriteOutput {
        metadata: settings.metadata,
        limits: BatchLimits {
            max_events: settings.max_samples,
            max_bytes: settings.max_bytes,
        },
        client: client::Client::new(&settings),
        metrics: Arc::clone(&cx.metrics),
    }))
}

/// The running output.
struct RemoteWriteOutput {
    metadata: bool,
    limits: BatchLimits,
    client: client::Client,
    metrics: Arc<ComponentMetrics>,
}

#[async_trait]
impl Output for RemoteWriteOutput {
    fn encode(&self, batch: &Batch, buf: &mut Vec<u8>) -> Result<EncodeReport, EncodeError> {
        match batch {
            Batch::Metrics(m) => {
                let skipped = encode::encode(m, self.metadata, buf).record(&self.metrics);
                Ok(EncodeReport { skipped })
            }
            Batch::Logs(_) => Err(EncodeError(
                "remote_write takes metrics only; route logs elsewhere with `match`".to_owned(),
            )),
        }
    }

    async fn send(&mut self, payload: Payload) -> Result<SendReport, OutputError> {
        self.client.write(&payload).await
    }

    fn batch_limits(&self) -> BatchLimits {
        self.limits
    }
}
