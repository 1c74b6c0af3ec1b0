//! `gleaner-inputs`: every input plugin, one module each, and the [`INPUTS`] registry list.
//! List order is the order of `sample-config` and of the README table.

pub mod exec;
mod exec_format;
mod exec_process;
pub mod execd;
pub mod host;
pub mod http_listener;
pub mod internal;
pub mod journald;
pub mod kubelet;
pub mod kubernetes_events;
pub mod otlp;
pub mod procstat;
pub mod prometheus;
pub mod remote_write;
#[cfg(test)]
mod sample_checks;
pub mod statsd;
pub mod syslog;
pub mod tail;
pub mod temp;

use gleaner_api::InputDescriptor;

/// Every input plugin.
pub static INPUTS: &[InputDescriptor] = &[
    internal::DESCRIPTOR,
    http_listener::DESCRIPTOR,
    remote_write::DESCRIPTOR,
    tail::DESCRIPTOR,
    host::DESCRIPTOR,
    kubelet::DESCRIPTOR,
    prometheus::DESCRIPTOR,
    statsd::DESCRIPTOR,
    syslog::DESCRIPTOR,
    kubernetes_events::DESCRIPTOR,
    exec::DESCRIPTOR,
    execd::DESCRIPTOR,
    journald::DESCRIPTOR,
    otlp::DESCRIPTOR,
    procstat::DESCRIPTOR,
    temp::DESCRIPTOR,
];
