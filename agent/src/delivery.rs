//! Delivery: one worker task per output that takes events from the output's buffer, builds
//! requests within the output's limits, sends with retries, and flushes.

mod backoff;
mod dead_letter;
mod plan;
mod worker;

pub use worker::OutputWorker;
