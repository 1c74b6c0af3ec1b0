//! The agent's own observability: the `/metrics` and `/health` HTTP endpoint, the Prometheus
//! text rendering of every component's counters, and log setup.

pub mod health;
pub mod logging;
pub mod prometheus;
pub mod server;
