//! Delivery: one worker task per output that pops batches from the output's queue, encodes
//! them, sends with retries, and flushes on `flush_interval` and at the end.

mod backoff;
mod worker;

pub use worker::OutputWorker;
