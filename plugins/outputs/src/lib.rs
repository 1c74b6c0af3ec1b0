//! `gleaner-outputs`: every output plugin, one module each, and the [`OUTPUTS`] registry list.
//! List order is the order of `sample-config` and of the README table.

mod altered;
mod attr_glob;
pub mod file;
pub mod http;
use gleaner_api::http_client;
mod http_output;
pub mod influxdb;
mod json;
pub mod json_lines;
pub mod otlp;
pub mod remote_write;
#[cfg(test)]
mod sample_checks;
pub mod splunk_hec;
pub mod stdout;
#[cfg(test)]
mod test_server;

use gleaner_api::OutputDescriptor;

/// Every output plugin.
pub static OUTPUTS: &[OutputDescriptor] = &[
    stdout::DESCRIPTOR,
    file::DESCRIPTOR,
    influxdb::DESCRIPTOR,
    remote_write::DESCRIPTOR,
    splunk_hec::DESCRIPTOR,
    http::DESCRIPTOR,
    otlp::DESCRIPTOR,
];
