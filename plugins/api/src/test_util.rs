//! Helpers for plugin tests (feature `test-util`): a ready [`InputContext`] wired to a
//! receiver, `run_input_once` that builds an input from TOML and gathers once, the shared
//! check of a plugin's sample config ([`sample`]), golden files ([`golden`]), and event sets
//! for benches ([`events`]).

pub mod events;
pub mod golden;
pub mod sample;

use std::sync::Arc;

use tokio::sync::mpsc;

use crate::ack::Acknowledgements;
use crate::config::PluginConfig;
use crate::event::Batch;
use crate::plugin::{
    BuildContext, Envelope, EventSender, InputContext, InputDescriptor, RunMode, Ticker,
};
use crate::shutdown::{ShutdownTrigger, shutdown_pair};

/// An input context whose batches arrive on the returned receiver (capacity `cap`).
pub fn input_context(
    bcx: &BuildContext,
    mode: RunMode,
    cap: usize,
) -> (InputContext, mpsc::Receiver<Envelope>, ShutdownTrigger) {
    let (tx, rx) = mpsc::channel(cap.max(1));
    let (trigger, shutdown) = shutdown_pair();
    let cx = InputContext {
        id: Arc::clone(&bcx.id),
        out: EventSender::new(Arc::clone(&bcx.id), tx, Arc::clone(&bcx.metrics)),
        shutdown: shutdown.clone(),
        ticker: Ticker::new(bcx.interval, mode, shutdown),
        acks: Acknowledgements::new(),
        metrics: Arc::clone(&bcx.metrics),
        mode,
    };
    (cx, rx, trigger)
}

/// Builds the input described by `toml` and runs it in once mode; returns every batch it
/// sent, acknowledging each.
///
/// # Panics
/// When the config is invalid or the input fails: this is a test helper.
pub async fn run_input_once(desc: &InputDescriptor, toml: &str) -> Vec<Batch> {
    let bcx = BuildContext::for_test(&format!("inputs.{}.0", desc.name));
    let cfg = PluginConfig::from_toml_str(&format!("inputs.{}.0", desc.name), toml)
        .expect("test config parses");
    let input = (desc.build)(&cfg, &bcx).expect("test config is valid");
    let (cx, mut rx, _trigger) = input_context(&bcx, RunMode::Once, 1024);
    let handle = tokio::spawn(input.run(cx));
    let mut out = Vec::new();
    while let Some(env) = rx.recv().await {
        if let Some(a) = env.ack {
            a.ack();
        }
        out.push(env.batch);
    }
    handle.await.expect("input task").expect("input run");
    out
}
