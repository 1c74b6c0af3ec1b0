//! Delivery: one worker task per output that takes events from the output's buffer, builds
//! requests within the output's limits, sends with retries, and flushes.

mod backoff;
mod dead_letter;
mod ledger;
mod plan;
mod request;
mod worker;

pub use worker::OutputWorker;
