//! The HTTP outputs against real or faithful receivers: `outputs.influxdb` against a real
//! InfluxDB 1.x, `outputs.remote_write` against a real Prometheus 2.x, `outputs.splunk_hec`
//! against the fake HEC of `gleaner_e2e::fake_hec`, `outputs.http` against the receiver of
//! `gleaner_e2e::fake_http`. Each output is built through its registry
//! descriptor and driven through `encode` + `send` (what the delivery worker does), and once
//! through the real binary (`inputs.http_listener` → output).

mod http;
mod influxdb;
mod remote_write;
mod splunk_hec;

use std::sync::Arc;

use gleaner_api::{
    Batch, BuildContext, ComponentMetrics, Output, OutputError, Payload, PluginConfig, SendReport,
};

/// Builds output `name` from `toml`, with counters the test can read.
fn build_output(name: &str, toml: &str) -> (Box<dyn Output>, Arc<ComponentMetrics>) {
    let desc = gleaner_outputs::OUTPUTS
        .iter()
        .find(|d| d.name == name)
        .unwrap_or_else(|| panic!("no output {name}"));
    let id = format!("outputs.{name}.0");
    let mut cx = BuildContext::for_test(&id);
    cx.metrics = ComponentMetrics::detached(desc.name);
    let cfg = PluginConfig::from_toml_str(&id, toml).expect("toml");
    let out = (desc.build)(&cfg, &cx).unwrap_or_else(|e| panic!("build {name}: {e}"));
    (out, cx.metrics)
}

/// A runtime for driving an output from a plain `#[test]`.
fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime")
}

/// Encodes `batch` and sends it once, as the delivery worker does.
fn deliver(
    rt: &tokio::runtime::Runtime,
    out: &mut dyn Output,
    batch: &Batch,
) -> Result<SendReport, OutputError> {
    let mut buf = Vec::new();
    out.encode(batch, &mut buf).expect("encode");
    let payload = Payload {
        bytes: buf.into(),
        events: batch.len(),
    };
    rt.block_on(out.send(payload))
}

/// Polls `f` until it returns `Some`, for up to 30 s.
fn wait_for<T>(what: &str, mut f: impl FnMut() -> Option<T>) -> T {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    loop {
        if let Some(v) = f() {
            return v;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "timed out waiting for {what}"
        );
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
}
