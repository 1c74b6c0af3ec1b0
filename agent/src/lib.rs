//! `gleaner`: the engine behind the binary: config, registry, pipeline, delivery, telemetry,
//! the run loop and the sample config.

pub mod buffer;
pub mod config;
pub mod delivery;
pub mod import;
pub mod malloc_tuning;
pub mod pipeline;
pub mod registry;
pub mod run;
pub mod runtime_threads;
pub mod sample;
pub mod tap;
pub mod telemetry;
pub mod top;
