//! `gleaner`: the engine behind the binary: config, registry, pipeline, telemetry.

pub mod config;
