//! End-to-end tests of the built `gleaner` binary (one test binary, one module per area).

mod bounded;
mod buffer;
mod chaos;
mod cli;
mod dashboards;
mod deploy;
mod host;
mod import;
mod kubelet;
mod kubernetes;
mod kubernetes_events;
mod line_protocol;
mod listeners;
mod local;
mod otlp;
mod outputs;
mod processing;
mod prometheus;
mod statsd;
mod syslog;
mod tail;
mod tls;
mod top;
