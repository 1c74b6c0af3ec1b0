//! `outputs.influxdb`: metrics (and logs, as the `logs` measurement) to InfluxDB as line
//! protocol, through the v1 `/write` API (database, retention policy, basic auth) or the v2
//! `/api/v2/write` API (org, bucket, token), gzipped by default, with URL failover.
//!
//! - `config.rs`: the table and its validation;
//! - `encode.rs`: pure line-protocol encoding (precision, uints, logs);
//! - `client.rs`: the write request and the answer → error kind table.
//!
//! A payload is whole lines, so the worker may join and split batches freely; points carry
//! explicit timestamps, so a retried write is idempotent (InfluxDB merges the same point).

mod client;
mod config;
pub(crate) mod encode;
#[cfg(test)]
mod tests;

use async_trait::async_trait;
use gleaner_api::{
    Accepts, Batch, BuildContext, ComponentMetrics, ConfigError, EncodeError, Output,
    OutputDescriptor, OutputError, Payload, PluginConfig, SendReport,
};

use crate::http_output::{HttpOutput, HttpProtocol, Sender};
use config::InfluxConfig;

/// Registry entry.
pub const DESCRIPTOR: OutputDescriptor = OutputDescriptor {
    name: "influxdb",
    summary: "InfluxDB 1.x/2.x line protocol over HTTP (v1 /write or v2 /api/v2/write), gzip, failover",
    sample: SAMPLE,
    accepts: Accepts::METRICS,
    supports: Accepts::BOTH,
    build,
};

const SAMPLE: &str = r#"[[outputs.influxdb]]
## One server, or `urls = [...]` to fail over between several.
url = "http://127.0.0.1:8086"
## "v1" (/write: database, retention_policy, username, password) or
## "v2" (/api/v2/write: org, bucket, token).
# api = "v1"
# database = "gleaner"
# retention_policy = ""
# username = "gleaner"
# password = "${INFLUX_PASSWORD}"
## Create the database when the server says it does not exist (v1).
# skip_database_creation = false
# org = "my-org"
# bucket = "gleaner"
# token = "${INFLUX_TOKEN}"
## Timestamp precision: "ns", "us", "ms", "s" (v1 also "m", "h").
# precision = "ns"
## "gzip" or "identity".
# content_encoding = "gzip"
## gzip level: 0 (stored) to 9 (smallest, slowest); 1 costs the least CPU that compresses.
# compression_level = 1
# timeout = "5s"
## Request size: points and uncompressed bytes.
# batch_max_events = 5000
# batch_max_bytes = "4MiB"
## Requests in flight at once (1 to 64); acknowledgements stay in order, so buffer progress
## never passes a request still in flight. Each holds its body as sent (gzipped or not) in memory.
# concurrency = 16
## Write unsigned integers as `123u` (InfluxDB 2.x+); else as integers clamped at 2^63-1.
# uint_support = false
## Log records become points of this measurement: field `message`, tag `stream`, attributes
## matching these globs as tags, other attributes as fields. This output takes metrics only
## unless its `kinds` says otherwise: kinds = ["metrics", "logs"] routes logs here too.
# logs_measurement = "logs"
# logs_tag_attributes = ["k8s.*"]
## Extra HTTP headers.
# headers = { "X-Tenant" = "a" }
## TLS: extra CA certificates, client certificate, or no verification at all.
# ca_file = "/etc/ssl/influx-ca.pem"
# cert_file = "/etc/ssl/client.pem"
# key_file = "/etc/ssl/client-key.pem"
# insecure_skip_verify = false
"#;

fn build(cfg: &PluginConfig, cx: &BuildContext) -> Result<Box<dyn Output>, ConfigError> {
    let settings = InfluxConfig::load(cfg)?;
    let protocol = Influx {
        encoder: encode::Encoder {
            precision: settings.precision,
            uint_support: settings.uint_support,
            logs_measurement: settings.logs_measurement.clone(),
            logs_tags: settings.logs_tags.clone(),
        },
        client: client::Client::new(&settings, std::sync::Arc::clone(&cx.metrics)),
    };
    let auth = client::auth(&settings.target);
    Ok(HttpOutput::boxed(
        protocol,
        "influxdb",
        &settings.http,
        auth,
        cx,
    ))
}

/// What the HTTP shell runs: line protocol, and writes with failover.
struct Influx {
    encoder: encode::Encoder,
    client: client::Client,
}

#[async_trait]
impl HttpProtocol for Influx {
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
        Some(Influx {
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
            crate::http_output::HttpOptions::own_keys::<config::InfluxConfig>(
                cfg,
                &config::HTTP_DEFAULTS,
            )?,
            crate::http_output::HttpOptions::parse(cfg, &config::HTTP_DEFAULTS)?,
        ))
    };
    gleaner_api::test_util::sample::assert_sample_with(
        "outputs.influxdb.0",
        DESCRIPTOR.sample,
        // Options without a default, shown with an example value.
        &[
            "username",
            "password",
            "org",
            "bucket",
            "token",
            "headers",
            "ca_file",
            "cert_file",
            "key_file",
        ],
        &[],
        &read,
    );
}
